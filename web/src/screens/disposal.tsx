/**
 * Disposal review: the documents whose retention has ended, what still keeps each one (a legal hold, a
 * missing approval), and approving their disposal with a reason. Whoever archived a document cannot
 * approve it: the archive skips those, and the screen says so per document.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ProblemError, unwrap } from '../api';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { useAttemptKey } from '../lib/attempt-key';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList, withPageRows } from '../lib/pages';
import { Link } from '../router';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';
import { Pager } from '../components/Pager';

const PAGE_SIZE = 100;
const today = () => new Date().toISOString().slice(0, 10);

export function DisposalScreen(_: ScreenProps) {
  const { t, date } = useI18n();
  const queries = useQueryClient();
  const [before, setBefore] = useState(today);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [reason, setReason] = useState('');
  const { pages, list: due } = usePagedQuery(before, ['retention-due', before], (token) => unwrap(api().GET('/retention/due', { params: { query: { before, limit: PAGE_SIZE, continuationToken: token } } })), {
    enabled: /^\d{4}-\d{2}-\d{2}$/.test(before),
  });
  // Try again after a lost answer is answered the first approval's result, not approved a second time.
  const attempt = useAttemptKey([before, reason.trim(), [...selected].sort()]);
  const approve = useMutation({
    mutationFn: () => unwrap(api().POST('/retention/approvals', { headers: { 'Idempotency-Key': attempt.key }, body: { before, reason: reason.trim(), documentIds: [...selected] } })),
    onSuccess: () => {
      attempt.next();
      setSelected(new Set());
      void queries.invalidateQueries({ queryKey: ['retention-due'] });
    },
  });
  const approveWait = useRetryWait(approve.error);
  const errors = fieldErrors(approve.error instanceof ProblemError ? approve.error.problem : null, t);
  const items = due.data?.items ?? [];
  // The rows of the previous date or page stay up while the next loads. They are another list's, not to be
  // chosen from: approved with this date, one not due by it came back skipped, beside a list no longer shown.
  const current = !due.isPlaceholderData;
  // With pages before or after it, "all" is this page's: the approval covers the rows chosen here, not every document due.
  const whole = wholeList(pages.page, due.data);
  const approvable = items.filter((d) => !d.approved && !d.legalHold);
  const allSelected = approvable.length > 0 && approvable.every((d) => selected.has(d.id));
  const toggle = (id: string, on: boolean) => setSelected((old) => {
    const next = new Set(old);
    if (on) next.add(id);
    else next.delete(id);
    return next;
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    approve.mutate();
  };
  const result = approve.data;

  return (
    <>
      <h1 tabIndex={-1}>{t.disposal.title}</h1>
      <p className="muted lead">{t.disposal.intro}</p>
      <section className="panel" aria-labelledby="h-due">
        <h2 id="h-due">{t.disposal.due}</h2>
        <div className="inline-form">
          <FormField id="d-before" label={t.disposal.before}>
            <input type="date" value={before} onChange={(e) => { setBefore(e.target.value); setSelected(new Set()); }} />
          </FormField>
        </div>
        {due.data && <p className="hint">{due.data.requireDisposalApproval ? t.disposal.approvalRequired : t.disposal.approvalOptional}</p>}
        {due.error ? <ProblemMessage error={due.error} /> : null}
        <p role="status" aria-live="polite" className="status-line">{due.isFetching ? t.loading : due.data ? (whole ? t.disposal.count(items.length, false) : t.disposal.countOnPage(items.length)) : ''}</p>
        {items.length > 0 && (
          <DataTable caption={t.disposal.due} columns={[<input type="checkbox" aria-label={whole ? t.disposal.selectAll : t.disposal.selectAllOnPage} checked={allSelected} disabled={approvable.length === 0 || !current} onChange={(e) => setSelected((old) => withPageRows(old, approvable.map((d) => d.id), e.target.checked))} />, t.disposal.document, t.fields.kind, t.fields.fiscalYear, t.disposal.retainUntil, t.disposal.state]}>
            {items.map((d) => {
              const can = !d.approved && !d.legalHold;
              const skipped = result?.skipped.find((s) => s.id === d.id);
              return (
                <tr key={d.id}>
                  <td>{can && <input type="checkbox" aria-label={t.disposal.select(d.id)} checked={selected.has(d.id)} disabled={!current} onChange={(e) => toggle(d.id, e.target.checked)} />}</td>
                  <th scope="row"><Link href={`/documents/${encodeURIComponent(d.id)}`}><code>{d.id}</code></Link></th>
                  <td>{d.kind ? (t.kinds[d.kind] ?? d.kind) : ''}</td>
                  <td>{d.fiscalYear}</td>
                  <td>{date(d.retention.retainUntil)} <span className="muted small">({d.retention.class})</span></td>
                  <td>
                    <span className={`badge ${d.legalHold ? 'refused' : d.approved ? 'success' : 'pending'}`}>
                      {d.legalHold ? t.disposal.held : d.approved ? t.disposal.approved : d.blockedBy ? (t.disposal.blockers[d.blockedBy] ?? d.blockedBy) : t.disposal.willBeDisposed}
                    </span>
                    {skipped && <p className="field-error">{t.disposal.skipped[skipped.reason] ?? skipped.reason}</p>}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
        <Pager label={t.disposal.pages} pages={pages} list={due} />
      </section>

      <form className="panel" aria-labelledby="h-approve" onSubmit={submit} noValidate>
        <h2 id="h-approve">{t.disposal.approve}</h2>
        <p className="muted">{t.disposal.approveIntro}</p>
        <FormField id="d-reason" label={t.disposal.reason} error={errors.reason}>
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </FormField>
        <div className="form-actions spaced">
          <button type="submit" disabled={approve.isPending || approveWait > 0 || selected.size === 0 || reason.trim() === ''}>{t.disposal.approveButton(selected.size)}</button>
        </div>
        {approve.error ? <ProblemMessage error={approve.error} ownedFields={['reason']} /> : null}
        <p role="status" aria-live="polite" className="status-line">
          {result ? t.disposal.result(result.approved.length, result.skipped.length) : ''}
        </p>
      </form>
    </>
  );
}
