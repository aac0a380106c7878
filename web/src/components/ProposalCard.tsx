/**
 * One pending four-eyes proposal (a weakening of the SoD rules, a lowering of the retention safeguards): who proposed
 * it and when it lapses, what it changes, and Approve (with a reason) or Withdraw (the proposer) / Reject (anyone
 * else). The API decides who may: a refusal is shown as its sentences, never guessed here.
 */
import { useMutation } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { ProblemError } from '../api';
import { currentSession } from '../auth/session';
import { useI18n } from '../i18n';
import { useRetryWait } from '../lib/useRetryWait';
import { ConfirmDialog } from './ConfirmDialog';
import { FormField } from './FormField';
import { fieldErrors, ProblemMessage } from './ProblemMessage';

export interface PendingProposal {
  id: string;
  proposedBy: { subject: string; person?: string };
  proposedAt: string;
  expiresAt: string;
}

/** The accountable person behind a proposer or decider (an API key acts for its person). */
export const personOf = (a: { subject: string; person?: string }) => a.person ?? a.subject;
/** Someone else's name, or null for the person signed in. */
export const who = (subject: string) => (subject === currentSession()?.person.subject ? null : subject);

export function ProposalCard({ proposal: p, n, changes, approve, close, after, texts }: {
  proposal: PendingProposal;
  n: number;
  /** What it changes, in the reader's words. */
  changes: string[];
  approve: (reason: string) => Promise<unknown>;
  close: () => Promise<{ state: string }>;
  /** Once decided: the sentence saying what happened. */
  after: (sentence: string) => void;
  texts: { approved: string; withdrawn: string; rejected: string; closeText: string };
}) {
  const { t, dateTime } = useI18n();
  const [reason, setReason] = useState('');
  const [closing, setClosing] = useState(false);
  const mine = who(personOf(p.proposedBy)) === null;
  const approval = useMutation({ mutationFn: () => approve(reason.trim()), onSuccess: () => after(texts.approved) });
  const approveWait = useRetryWait(approval.error);
  const closed = useMutation({
    mutationFn: close,
    onSuccess: (done) => {
      setClosing(false);
      after(done.state === 'withdrawn' ? texts.withdrawn : texts.rejected);
    },
    onError: () => setClosing(false),
  });
  const closeWait = useRetryWait(closed.error);
  const errors = fieldErrors(approval.error instanceof ProblemError ? approval.error.problem : null, t);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    approval.mutate();
  };
  const id = `proposal-${p.id}`;
  return (
    <article className="proposal" aria-labelledby={`${id}-h`}>
      <h3 id={`${id}-h`}>{t.sod.proposal(n)}</h3>
      <p>{t.sod.proposedBy(mine ? t.you : personOf(p.proposedBy), dateTime(p.proposedAt))} {t.sod.expires(dateTime(p.expiresAt))}</p>
      <h4>{t.sod.changes}</h4>
      <ul>
        {changes.map((c) => <li key={c}>{c}</li>)}
      </ul>
      <form onSubmit={submit} className="inline-form" noValidate>
        <FormField id={`${id}-reason`} className="grow" label={t.sod.reason} hint={t.sod.reasonHint} error={errors.reason}>
          <input value={reason} maxLength={500} onChange={(e) => setReason(e.target.value)} />
        </FormField>
        <button type="submit" disabled={approval.isPending || approveWait > 0 || reason.trim() === ''}>{t.sod.approve}</button>
        <button type="button" className="secondary danger-outline" onClick={() => { closed.reset(); setClosing(true); }}>{mine ? t.sod.withdraw : t.sod.reject}</button>
      </form>
      {approval.error ? <ProblemMessage error={approval.error} ownedFields={['reason']} /> : null}
      {closed.error ? <ProblemMessage error={closed.error} /> : null}
      <ConfirmDialog open={closing} title={mine ? t.sod.withdrawTitle : t.sod.rejectTitle} confirmLabel={mine ? t.sod.withdraw : t.sod.reject} busy={closed.isPending} disabled={closeWait > 0} onConfirm={() => closed.mutate()} onCancel={() => setClosing(false)}>
        <p>{texts.closeText}</p>
      </ConfirmDialog>
    </article>
  );
}
