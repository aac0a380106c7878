/**
 * Legal holds: place one on every document of a fiscal year and/or counterparty (with a reason and a
 * case reference), see the open holds, and release one. Four eyes: the person who placed a hold cannot
 * release it; that refusal is shown as a sentence beside the hold. A hold by query is live until it is
 * released everywhere (it also holds documents archived into its selection later): those are listed from
 * GET /legal-holds/by-query, one with no document yet included, each counted from the per-document list.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState, type FormEvent } from 'react';
import { api, ProblemError, unwrap } from '../api';
import { currentSession } from '../auth/session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { useAttemptKey } from '../lib/attempt-key';
import { readAllPages } from '../lib/all-pages';
import { groupHolds, mergeHolds, type Hold } from '../lib/holds';
import { Link } from '../router';
import type { ScreenProps } from '.';

export function HoldsScreen(_: ScreenProps) {
  const { t } = useI18n();
  return (
    <>
      <h1 tabIndex={-1}>{t.holds.title}</h1>
      <p className="muted lead">{t.holds.intro}</p>
      <PlaceHold />
      <OpenHolds />
    </>
  );
}

function PlaceHold() {
  const { t } = useI18n();
  const queries = useQueryClient();
  const [fiscalYear, setFiscalYear] = useState('');
  const [counterparty, setCounterparty] = useState('');
  const [reason, setReason] = useState('');
  const [caseReference, setCaseReference] = useState('');
  const attempt = useAttemptKey([fiscalYear.trim(), counterparty.trim(), reason.trim(), caseReference.trim()]);
  const place = useMutation({
    mutationFn: () =>
      unwrap(
        api().POST('/legal-holds', {
          headers: { 'Idempotency-Key': attempt.key },
          body: {
            reason: reason.trim(),
            caseReference: caseReference.trim(),
            query: { ...(fiscalYear.trim() ? { fiscalYear: Number(fiscalYear) } : {}), ...(counterparty.trim() ? { counterparty: counterparty.trim() } : {}) },
          },
        }),
      ),
    onSuccess: () => {
      attempt.next();
      setReason('');
      setCaseReference('');
      void queries.invalidateQueries({ queryKey: ['legal-holds'] });
    },
  });
  const placeWait = useRetryWait(place.error);
  const problem = place.error instanceof ProblemError ? place.error.problem : null;
  const errors = fieldErrors(problem, t);
  // "name a fiscalYear and/or a counterparty" arrives on `query`: shown under the selection.
  const selectionError = errors.query ?? errors['query.fiscalYear'] ?? errors['query.counterparty'];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    place.mutate();
  };
  const field = (id: string, label: string, value: string, set: (v: string) => void, error: string | undefined, props: { hint?: string; inputMode?: 'numeric'; maxLength?: number } = {}) => (
    <FormField id={id} label={label} hint={props.hint} error={error}>
      <input value={value} onChange={(e) => set(e.target.value)} inputMode={props.inputMode} maxLength={props.maxLength} />
    </FormField>
  );
  return (
    <section className="panel" aria-labelledby="h-place">
      <h2 id="h-place">{t.holds.place}</h2>
      <form onSubmit={submit} noValidate>
        <fieldset>
          <legend>{t.holds.which}</legend>
          <div className="form-grid">
            {field('h-fy', t.holds.fiscalYear, fiscalYear, setFiscalYear, errors['query.fiscalYear'], { inputMode: 'numeric', maxLength: 4 })}
            {field('h-cp', t.holds.counterparty, counterparty, setCounterparty, errors['query.counterparty'], { hint: t.holds.counterpartyHint })}
          </div>
          {selectionError && !errors['query.fiscalYear'] && !errors['query.counterparty'] && <p className="field-error">{t.holds.nameSelection}</p>}
        </fieldset>
        <div className="form-grid">
          {field('h-reason', t.holds.reason, reason, setReason, errors.reason, { maxLength: 500 })}
          {field('h-case', t.holds.caseReference, caseReference, setCaseReference, errors.caseReference, { hint: t.holds.caseHint, maxLength: 200 })}
        </div>
        <div className="form-actions">
          <button type="submit" disabled={place.isPending || placeWait > 0 || (!fiscalYear.trim() && !counterparty.trim())} aria-busy={place.isPending}>{t.holds.placeButton}</button>
        </div>
      </form>
      <p role="status" aria-live="polite" className="status-line">{place.data ? t.holds.placed(place.data.documents, place.data.skipped.length) : ''}</p>
      {place.error ? <ProblemMessage error={place.error} ownedFields={['reason', 'caseReference', 'query', 'query.fiscalYear', 'query.counterparty']} /> : null}
    </section>
  );
}

/** The API's largest page of held documents, and how many such pages the screen reads at most (5,000 documents). */
const HELD_PAGE_SIZE = 200;
const HELD_MAX_PAGES = 25;

function OpenHolds() {
  const { t, dateTime } = useI18n();
  const queries = useQueryClient();
  // Every page: the first alone left holds past it unshown and a release's "lifted from n documents" short.
  const list = useQuery({
    queryKey: ['legal-holds'],
    queryFn: () => readAllPages((token) => unwrap(api().GET('/legal-holds', { params: { query: { status: 'open', limit: HELD_PAGE_SIZE, continuationToken: token } } })), HELD_MAX_PAGES),
  });
  const partial = list.data !== undefined && !list.data.complete;
  const byQuery = useQuery({ queryKey: ['legal-holds', 'by-query'], queryFn: () => unwrap(api().GET('/legal-holds/by-query')) });
  const holds = useMemo(() => mergeHolds(groupHolds(list.data?.items ?? []), byQuery.data?.items ?? []), [list.data, byQuery.data]);
  const [releasing, setReleasing] = useState<Hold | null>(null);
  const [reason, setReason] = useState('');
  const [refusal, setRefusal] = useState<{ id: string; error: unknown } | null>(null);
  const release = useMutation({
    mutationFn: (h: Hold) => unwrap(api().DELETE('/legal-holds/{holdId}', { params: { path: { holdId: h.id } }, body: { reason: reason.trim() } })),
    onSuccess: () => {
      setReleasing(null);
      setReason('');
      void queries.invalidateQueries({ queryKey: ['legal-holds'] });
    },
    onError: (error, h) => {
      // A field error stays in the dialog; a refusal (four eyes, already released) goes beside the hold.
      const problem = error instanceof ProblemError ? error.problem : null;
      if (problem?.errors?.length) return;
      setReleasing(null);
      setRefusal({ id: h.id, error });
    },
  });
  const releaseWait = useRetryWait(release.error);
  const me = currentSession()?.person.subject;
  const dialogErrors = fieldErrors(release.error instanceof ProblemError ? release.error.problem : null, t);
  return (
    <section className="panel" aria-labelledby="h-open">
      <h2 id="h-open">{t.holds.open}</h2>
      {list.error ? <ProblemMessage error={list.error} /> : null}
      {byQuery.error ? <ProblemMessage error={byQuery.error} /> : null}
      {(list.isLoading || byQuery.isLoading) && <p role="status">{t.loading}</p>}
      {partial && <p className="warning">{t.holds.firstPart(HELD_PAGE_SIZE * HELD_MAX_PAGES)}</p>}
      {list.data && byQuery.data && holds.length === 0 && <p className="muted">{t.holds.none}</p>}
      {holds.length > 0 && (
        <ul className="hold-list">
          {holds.map((h) => (
            <li key={h.id} className="hold">
              <div className="hold-head">
                <h3>{t.holds.caseTitle(h.caseReference)}</h3>
                <button type="button" className="secondary danger-outline" onClick={() => { setRefusal(null); release.reset(); setReleasing(h); }} aria-label={t.holds.releaseNamed(h.caseReference)}>{t.holds.release}</button>
              </div>
              <dl className="facts">
                <div><dt>{t.holds.reason}</dt><dd>{h.reason}</dd></div>
                {h.query && <div><dt>{t.holds.selection}</dt><dd>{t.holds.selectionText(h.query.fiscalYear, h.query.counterparty)}</dd></div>}
                <div><dt>{t.holds.placedBy}</dt><dd>{h.placedBy.subject === me ? t.holds.byYou(h.placedBy.subject) : h.placedBy.subject}, {dateTime(h.placedAt)}</dd></div>
                <div>
                  <dt>{t.holds.documents}</dt>
                  <dd>
                    {h.documents === 0 ? t.holds.noDocumentYet : <>{t.holds.documentCount(h.documents)}:{' '}</>}
                    {h.documentIds.slice(0, 5).map((id, i) => (
                      <span key={id}>{i > 0 && ', '}<Link href={`/documents/${encodeURIComponent(id)}`} title={t.holds.documentLink(id)}><code>…{id.slice(-8)}</code></Link></span>
                    ))}
                    {h.documents > 5 && <span className="muted"> {t.holds.andMore(h.documents - Math.min(5, h.documentIds.length))}</span>}
                  </dd>
                </div>
              </dl>
              {h.query && <p className="hint">{t.holds.liveHint}</p>}
              {h.placedBy.subject === me && <p className="hint">{t.holds.ownHoldHint}</p>}
              {refusal?.id === h.id && <ProblemMessage error={refusal.error} />}
            </li>
          ))}
        </ul>
      )}
      <ConfirmDialog
        open={releasing !== null}
        title={releasing ? t.holds.releaseTitle(releasing.caseReference) : ''}
        confirmLabel={t.holds.release}
        busy={release.isPending} disabled={releaseWait > 0}
        onConfirm={() => releasing && release.mutate(releasing)}
        onCancel={() => { setReleasing(null); release.reset(); }}
      >
        <p>{releasing ? (releasing.query ? t.holds.releaseLiveText(releasing.documents) : partial ? t.holds.releaseTextAtLeast(releasing.documents) : t.holds.releaseText(releasing.documents)) : ''}</p>
        <FormField id="rel-reason" label={t.holds.releaseReason} error={dialogErrors.reason}>
          <textarea rows={3} value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </FormField>
      </ConfirmDialog>
    </section>
  );
}
