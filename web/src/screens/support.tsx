/**
 * Support access: let the archive provider's staff look in, for one ticket, with a narrow scope and an
 * end date; see the grants (the active ones, or the revoked, ended or all ones; paged); revoke one at once.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import type { paths } from '../../../cli/api/openapi-types';
import { api, ProblemError, unwrap } from '../api';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { useAttemptKey } from '../lib/attempt-key';
import { useRetryWait } from '../lib/useRetryWait';
import type { ScreenProps } from '.';
import { DataTable } from '../components/DataTable';
import { Pager } from '../components/Pager';
import { revocableState } from '../lib/revocable-state';

type Grant = paths['/support-grants']['get']['responses'][200]['content']['application/json']['items'][number];
type Scope = Grant['scope'];
type GrantState = NonNullable<NonNullable<paths['/support-grants']['get']['parameters']['query']>['state']>;
/** What the list can show, the API's `state`: the active grants first, as the API answers by default. */
const GRANT_STATES: readonly GrantState[] = ['active', 'revoked', 'expired', 'all'];
const PAGE_SIZE = 50;
const SCOPES: Scope[] = ['metadata-only', 'read-only', 'read-only-with-audit'];
const DAY = 24 * 3600 * 1000;
const inDays = (n: number) => new Date(Date.now() + n * DAY).toISOString().slice(0, 10);

export function SupportScreen(_: ScreenProps) {
  const { t, dateTime } = useI18n();
  const queries = useQueryClient();
  // Paged and filtered by the API: a tenant's revoked and ended grants pile up, so the list no longer holds them all.
  const [shown, setShown] = useState<GrantState>('active');
  const { pages, list: grants } = usePagedQuery(shown, ['support-grants', shown], (token) => unwrap(api().GET('/support-grants', { params: { query: { state: shown, limit: PAGE_SIZE, continuationToken: token } } })));
  const { page } = pages;
  // The longest grant is the API's to say; until it has said so the form waits (a guessed limit once sent
  // grants the API refused as too long).
  const maxDays = grants.data ? Math.floor(grants.data.maxDurationSeconds / 86400) : null;
  const [ticket, setTicket] = useState('');
  const [scope, setScope] = useState<Scope>('read-only');
  const [until, setUntil] = useState(inDays(7));
  const [revoking, setRevoking] = useState<Grant | null>(null);
  const [rowError, setRowError] = useState<{ id: string; error: unknown } | null>(null);
  const refresh = () => void queries.invalidateQueries({ queryKey: ['support-grants'] });

  // Try again after a lost answer is answered the grant the first attempt gave, not a second grant.
  const attempt = useAttemptKey([ticket.trim(), scope, until]);
  /** The expiry an attempt sent first: its retries send the same (one computed anew is another request, a 422). */
  const sentExpiry = useRef<{ key: string; expiresAt: string } | null>(null);
  const grant = useMutation({
    mutationFn: () => {
      // The grant ends at the end of the chosen day (UTC), or sooner if that is beyond the maximum.
      if (sentExpiry.current?.key !== attempt.key) sentExpiry.current = { key: attempt.key, expiresAt: new Date(Math.min(new Date(`${until}T23:59:59Z`).getTime(), Date.now() + (maxDays ?? 0) * DAY - 60_000)).toISOString() };
      return unwrap(api().POST('/support-grants', { headers: { 'Idempotency-Key': attempt.key }, body: { ticket: ticket.trim(), scope, expiresAt: sentExpiry.current.expiresAt } }));
    },
    onSuccess: () => {
      attempt.next();
      setTicket('');
      refresh();
    },
  });
  const grantWait = useRetryWait(grant.error);
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api().DELETE('/support-grants/{id}', { params: { path: { id } } })),
    onSuccess: () => {
      setRevoking(null);
      refresh();
    },
    onError: (error, id) => {
      setRevoking(null);
      setRowError({ id, error });
      // Read again: a revoke whose answer was lost may have happened (the grant must not go on showing as active).
      refresh();
    },
  });
  const revokeWait = useRetryWait(revoke.error);
  const errors = fieldErrors(grant.error instanceof ProblemError ? grant.error.problem : null, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    grant.mutate();
  };
  const items = grants.data?.items ?? [];

  return (
    <>
      <h1 tabIndex={-1}>{t.support.title}</h1>
      <p className="muted lead">{t.support.intro}</p>
      <section className="panel" aria-labelledby="h-grant">
        <h2 id="h-grant">{t.support.grant}</h2>
        <form onSubmit={submit} noValidate>
          <div className="form-grid">
            <FormField id="g-ticket" label={t.support.ticket} hint={t.support.ticketHint} error={errors.ticket}>
              <input value={ticket} onChange={(e) => setTicket(e.target.value)} maxLength={100} />
            </FormField>
            <FormField id="g-until" label={t.support.until} hint={maxDays === null ? undefined : t.support.untilHint(maxDays)} error={errors.expiresAt}>
              <input type="date" value={until} min={inDays(0)} max={maxDays === null ? undefined : inDays(maxDays)} onChange={(e) => setUntil(e.target.value)} />
            </FormField>
          </div>
          <fieldset className="choices">
            <legend>{t.support.scope}</legend>
            {SCOPES.map((s) => (
              <label key={s} className="choice">
                <input type="radio" name="scope" value={s} checked={scope === s} onChange={() => setScope(s)} />
                <span>
                  <strong>{t.support.scopes[s]}</strong>
                  <br />
                  <span className="muted">{t.support.scopeText[s]}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <div className="form-actions">
            <button type="submit" disabled={maxDays === null || grant.isPending || grantWait > 0 || ticket.trim() === '' || !until}>{t.support.grantButton}</button>
          </div>
        </form>
        {grant.error ? <ProblemMessage error={grant.error} ownedFields={['ticket', 'expiresAt']} /> : null}
      </section>

      <section className="panel" aria-labelledby="h-grants">
        <h2 id="h-grants">{t.support.grants}</h2>
        <div className="form-grid">
          <FormField id="g-shown" label={t.support.show}>
            <select value={shown} onChange={(e) => setShown(e.target.value as GrantState)}>
              {GRANT_STATES.map((s) => (
                <option key={s} value={s}>{t.support.filters[s]}</option>
              ))}
            </select>
          </FormField>
        </div>
        {grants.error ? <ProblemMessage error={grants.error} /> : null}
        {grants.data && items.length === 0 && <p className="muted">{!wholeList(page, grants.data) ? t.pageEmpty : shown === 'all' ? t.support.none : t.support.noneInState}</p>}
        {items.length > 0 && (
          <DataTable caption={t.support.grants} columns={[t.support.ticket, t.support.scope, t.support.grantedBy, t.support.until, t.apiKeys.state, { label: t.apiKeys.actions, visuallyHidden: true }]}>
            {items.map((g) => {
              const state = revocableState(g);
              return (
                <tr key={g.id}>
                  <th scope="row">{g.ticket}</th>
                  <td>{t.support.scopes[g.scope] ?? g.scope}</td>
                  <td>{g.createdBy.subject}<br /><span className="muted small">{dateTime(g.createdAt)}</span></td>
                  <td>{dateTime(g.expiresAt)}</td>
                  <td>
                    <span className={`badge ${state === 'active' ? 'running' : 'refused'}`}>{t.support.states[state]}</span>
                    {g.revokedAt && <span className="muted small"> {dateTime(g.revokedAt)}</span>}
                    {state === 'keyEnded' && <span className="muted small"> {t.support.keyEnded(g.endedWithKey ?? '')}</span>}
                    {state === 'notSealed' && <> <span className="badge warning">{t.support.notSealed}</span><br /><span className="muted small">{t.support.notSealedHelp}</span></>}
                  </td>
                  <td>
                    {(state === 'active' || state === 'keyEnded' || state === 'notSealed') && <button type="button" className="secondary danger-outline" onClick={() => { setRowError(null); setRevoking(g); }} aria-label={t.support.revokeNamed(g.ticket)}>{t.support.revoke}</button>}
                    {rowError?.id === g.id && <ProblemMessage error={rowError.error} />}
                  </td>
                </tr>
              );
            })}
          </DataTable>
        )}
        <Pager label={t.support.pages} pages={pages} list={grants} />
      </section>
      <ConfirmDialog open={revoking !== null} title={revoking ? t.support.confirmTitle(revoking.ticket) : ''} confirmLabel={t.support.revoke} busy={revoke.isPending} disabled={revokeWait > 0} onConfirm={() => revoking && revoke.mutate(revoking.id)} onCancel={() => setRevoking(null)}>
        <p>{t.support.confirmText}</p>
      </ConfirmDialog>
    </>
  );
}
