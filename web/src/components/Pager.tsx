/**
 * Previous / page n / Next under a paged list. Next sends the continuation token of the page shown, so it
 * waits while that page is a placeholder (the previous query's rows, kept up while the new one loads): their
 * token belongs to another query, which the API refuses (400 invalid_query, audited, counted against the
 * person's refusal budget), or it fetches the same page again.
 */
import { useI18n } from '../i18n';
import type { Pages } from '../lib/pages';

export function Pager({ label, pages, list, always = false }: { label: string; pages: Pages; list: { data?: { continuationToken?: string | null } | undefined; isPlaceholderData: boolean }; always?: boolean }) {
  const { t } = useI18n();
  const next = list.data?.continuationToken;
  if (!always && pages.page === 0 && !next) return null;
  return (
    <nav className="pager" aria-label={label}>
      <button type="button" className="secondary" disabled={pages.page === 0} onClick={pages.previous}>{t.search.previous}</button>
      <span>{t.search.page(pages.page + 1)}</span>
      <button type="button" className="secondary" disabled={!next || list.isPlaceholderData} onClick={() => pages.next(next)}>{t.search.next}</button>
    </nav>
  );
}
