/**
 * What a person may do to one document's retention, on its screen: place a legal hold (reason and case
 * reference), release one (four eyes: the refusal is a sentence beside the hold), and extend retention
 * (never shorter: the API's refusal is shown as a sentence). Controls show only to people whose rights
 * include the permission; the API still decides.
 */
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api, ProblemError, unwrap, type ArchiveDocument } from '../api';
import { currentSession } from '../auth/session';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { FormField } from '../components/FormField';
import { fieldErrors, ProblemMessage } from '../components/ProblemMessage';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { useAttemptKey } from '../lib/attempt-key';
import { mayUse, type Permission } from '../lib/permissions';

/** Whether the signed-in person's rights include `permission` (a rights set the app does not know: yes, the API decides). */
function mayDo(permission: Permission): boolean {
  const person = currentSession()?.person;
  return person !== undefined && mayUse(person, [permission]);
}

type Hold = ArchiveDocument['holds'][number];

/** After a job: the document as the API answered it when it did (no second GET), else fetched again; its audit and the holds list too. */
function useDocumentChanged(id: string) {
  const queries = useQueryClient();
  return (updated?: ArchiveDocument) => {
    if (updated) queries.setQueryData(['document', id], updated);
    else void queries.invalidateQueries({ queryKey: ['document', id] });
    void queries.invalidateQueries({ queryKey: ['audit', id] });
    void queries.invalidateQueries({ queryKey: ['legal-holds'] });
  };
}

function TextField({ id, label, value, onChange, error, hint, maxLength, type = 'text', min, textarea = false }: {
  id: string; label: string; value: string; onChange: (v: string) => void; error?: string; hint?: string; maxLength?: number; type?: string; min?: string; textarea?: boolean;
}) {
  return (
    <FormField id={id} label={label} hint={hint} error={error}>
      {textarea ? <textarea value={value} maxLength={maxLength} rows={2} onChange={(e) => onChange(e.target.value)} /> : <input value={value} maxLength={maxLength} type={type} min={min} onChange={(e) => onChange(e.target.value)} />}
    </FormField>
  );
}

export function PlaceHold({ d }: { d: ArchiveDocument }) {
  const { t } = useI18n();
  const changed = useDocumentChanged(d.id);
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState('');
  const [caseReference, setCaseReference] = useState('');
  const attempt = useAttemptKey([d.id, reason.trim(), caseReference.trim()]);
  const place = useMutation({
    mutationFn: () => unwrap(api().POST('/documents/{id}/legal-holds', { params: { path: { id: d.id } }, body: { reason: reason.trim(), caseReference: caseReference.trim() }, headers: { 'Idempotency-Key': attempt.key } })),
    onSuccess: () => {
      attempt.next();
      setOpen(false);
      setReason('');
      setCaseReference('');
      changed();
    },
  });
  const placeWait = useRetryWait(place.error);
  if (!mayDo('holds:place') || d.status !== 'active') return null;
  const errors = fieldErrors(place.error instanceof ProblemError ? place.error.problem : null, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    place.mutate();
  };
  return (
    <div className="job">
      {!open ? (
        <button type="button" className="secondary" onClick={() => { place.reset(); setOpen(true); }} aria-expanded="false" aria-controls="place-hold-form">{t.jobs.placeHold}</button>
      ) : (
        <form id="place-hold-form" className="job-form" onSubmit={submit} noValidate aria-labelledby="h-place-hold">
          <h3 id="h-place-hold">{t.jobs.placeHold}</h3>
          <div className="form-grid">
            <TextField id="ph-reason" label={t.jobs.holdReason} value={reason} onChange={setReason} error={errors.reason} maxLength={500} />
            <TextField id="ph-case" label={t.jobs.caseReference} value={caseReference} onChange={setCaseReference} error={errors.caseReference} maxLength={200} hint={t.jobs.caseHint} />
          </div>
          {place.error ? <ProblemMessage error={place.error} ownedFields={['reason', 'caseReference']} /> : null}
          <div className="form-actions">
            <button type="submit" disabled={place.isPending || placeWait > 0} aria-busy={place.isPending}>{t.jobs.placeButton}</button>
            <button type="button" className="secondary" onClick={() => { setOpen(false); place.reset(); }}>{t.cancel}</button>
          </div>
        </form>
      )}
      <p role="status" aria-live="polite" className="status-line">{place.isSuccess && !open ? t.jobs.holdPlaced : ''}</p>
    </div>
  );
}

/** The release button of one open hold, its dialog (reason), and a refusal beside the hold. */
export function ReleaseHold({ d, hold }: { d: ArchiveDocument; hold: Hold }) {
  const { t } = useI18n();
  const changed = useDocumentChanged(d.id);
  const [dialog, setDialog] = useState(false);
  const [reason, setReason] = useState('');
  const [refusal, setRefusal] = useState<unknown>(null);
  const release = useMutation({
    mutationFn: () => unwrap(api().DELETE('/documents/{id}/legal-holds/{holdId}', { params: { path: { id: d.id, holdId: hold.id } }, body: { reason: reason.trim() } })),
    onSuccess: () => {
      setDialog(false);
      setReason('');
      changed();
    },
    onError: (error) => {
      // A field error stays in the dialog; a refusal (four eyes, already released) goes beside the hold.
      if (error instanceof ProblemError && error.problem.errors?.length) return;
      setDialog(false);
      setRefusal(error);
    },
  });
  const releaseWait = useRetryWait(release.error);
  if (!mayDo('holds:release') || hold.releasedAt) return null;
  const errors = fieldErrors(release.error instanceof ProblemError ? release.error.problem : null, t);
  return (
    <>
      <button type="button" className="secondary small-button danger-outline" onClick={() => { setRefusal(null); release.reset(); setDialog(true); }} aria-label={t.jobs.releaseNamed(hold.caseReference)}>{t.jobs.release}</button>
      {refusal ? <ProblemMessage error={refusal} /> : null}
      <ConfirmDialog
        open={dialog}
        title={t.jobs.releaseTitle(hold.caseReference)}
        confirmLabel={t.jobs.release}
        busy={release.isPending} disabled={releaseWait > 0}
        onConfirm={() => release.mutate()}
        onCancel={() => { setDialog(false); release.reset(); }}
      >
        <p>{t.jobs.releaseText}</p>
        {hold.query && <p>{t.jobs.releaseHereOnly}</p>}
        <TextField id={`rh-${hold.id}`} label={t.jobs.releaseReason} value={reason} onChange={setReason} error={errors.reason} maxLength={500} textarea />
      </ConfirmDialog>
    </>
  );
}

export function ExtendRetention({ d }: { d: ArchiveDocument }) {
  const { t, date } = useI18n();
  const changed = useDocumentChanged(d.id);
  const [open, setOpen] = useState(false);
  const [until, setUntil] = useState('');
  const [reason, setReason] = useState('');
  const extend = useMutation({
    mutationFn: () => unwrap(api().POST('/documents/{id}/retention', { params: { path: { id: d.id } }, body: { retainUntil: until, reason: reason.trim() } })),
    onSuccess: (updated) => {
      setOpen(false);
      setReason('');
      // Without documents:read the archive answers only what changed (its id and retention): read the document again.
      changed('pages' in updated ? updated : undefined);
    },
  });
  const extendWait = useRetryWait(extend.error);
  if (!mayDo('retention:extend') || d.status !== 'active') return null;
  const problem = extend.error instanceof ProblemError ? extend.error.problem : null;
  const errors = fieldErrors(problem, t);
  if (!until.trim() && problem?.code === 'bad_request' && !errors.retainUntil) errors.retainUntil = t.problem.required;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    extend.mutate();
  };
  const current = d.retention.retainUntil.slice(0, 10);
  return (
    <div className="job">
      {!open ? (
        <button type="button" className="secondary" onClick={() => { extend.reset(); setOpen(true); }} aria-expanded="false" aria-controls="extend-form">{t.jobs.extend}</button>
      ) : (
        <form id="extend-form" className="job-form" onSubmit={submit} noValidate aria-labelledby="h-extend">
          <h3 id="h-extend">{t.jobs.extend}</h3>
          <p className="hint">{t.jobs.extendIntro(date(d.retention.retainUntil))}</p>
          <div className="form-grid">
            <TextField id="ex-until" type="date" min={current} label={t.jobs.newRetainUntil} value={until} onChange={setUntil} error={errors.retainUntil} />
            <TextField id="ex-reason" label={t.jobs.extendReason} value={reason} onChange={setReason} error={errors.reason} maxLength={500} textarea />
          </div>
          {extend.error ? <ProblemMessage error={extend.error} ownedFields={['retainUntil', 'reason']} /> : null}
          {problem?.code === 'retention_shortening_refused' && <p className="hint">{t.jobs.runsUntil(date(d.retention.retainUntil))}</p>}
          <div className="form-actions">
            <button type="submit" disabled={extend.isPending || extendWait > 0} aria-busy={extend.isPending}>{t.jobs.extendButton}</button>
            <button type="button" className="secondary" onClick={() => { setOpen(false); extend.reset(); }}>{t.cancel}</button>
          </div>
        </form>
      )}
      <p role="status" aria-live="polite" className="status-line">{extend.isSuccess && !open ? t.jobs.extended(date(extend.data.retention.retainUntil)) : ''}</p>
    </div>
  );
}
