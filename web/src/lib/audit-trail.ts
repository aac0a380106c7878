/**
 * Where a document's audit trail reads next. The API reads at most 24 months of the audit log per query, and a
 * document is kept for years: its trail is read in windows of 24 months, newest first, back to the month it was
 * archived (`createdAt`), never only the last 24 months (which left out its archiving and every act before, and
 * said "No audit entries yet" of a document archived three years ago). Pure, so the unit tests run it.
 */

/** One query's months: `from` (a date, its first millisecond in UTC) up to `to` (a date, its whole day; none: now). */
export interface AuditWindow {
  from: string;
  to?: string;
}

/** Where the next page is: a window, and the API's token within it. */
export interface AuditTrailParam {
  window: AuditWindow;
  token?: string;
}

const MONTHS = 24;
const DAY = 24 * 3600 * 1000;

/** The 24 months ending with `to`'s month (none: `now`'s), from no earlier than the day the document was archived. */
function windowUntil(createdAt: string, now: Date, to?: string): AuditWindow {
  const [y, m] = (to ?? now.toISOString()).slice(0, 7).split('-').map(Number) as [number, number];
  const start = new Date(Date.UTC(y, m - MONTHS, 1)).toISOString().slice(0, 10);
  const created = createdAt.slice(0, 10);
  return { from: created > start ? created : start, ...(to ? { to } : {}) };
}

/** The first page: the latest 24 months, or since the document was archived. */
export function firstAuditParam(createdAt: string, now: Date): AuditTrailParam {
  return { window: windowUntil(createdAt, now) };
}

/** The page after `page` (read with `param`): the rest of its window, else the 24 months before it; none once the archiving's month is read. */
export function nextAuditParam(page: { continuationToken?: string | null }, param: AuditTrailParam, createdAt: string, now: Date): AuditTrailParam | undefined {
  if (page.continuationToken) return { window: param.window, token: page.continuationToken };
  if (param.window.from <= createdAt.slice(0, 10)) return undefined;
  const to = new Date(Date.parse(`${param.window.from}T00:00:00Z`) - DAY).toISOString().slice(0, 10);
  return { window: windowUntil(createdAt, now, to) };
}
