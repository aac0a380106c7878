/**
 * The four-eyes proposals already decided (approved, withdrawn, rejected, lapsed), paged and filtered by the API:
 * what changed the rules, who proposed it and who decided, with the approver's reason. One list for the SoD rules
 * and the retention safeguards alike, as ProposalCard is one card for their pending ones.
 */
import { useState } from 'react';
import { useI18n } from '../i18n';
import { usePagedQuery } from '../lib/paged-query';
import { wholeList } from '../lib/pages';
import { DataTable } from './DataTable';
import { FormField } from './FormField';
import { Pager } from './Pager';
import { ProblemMessage } from './ProblemMessage';
import { personOf, who } from './ProposalCard';

export const DECIDED_STATES = ['decided', 'approved', 'withdrawn', 'rejected', 'expired'] as const;
export type DecidedState = (typeof DECIDED_STATES)[number];
const DECIDED_PAGE_SIZE = 10;

export interface DecidedProposal {
  id: string;
  state: string;
  proposedBy: { subject: string; person?: string };
  proposedAt: string;
  decidedBy?: { subject: string; person?: string } | null;
  decidedAt?: string | null;
  decisionReason?: string | null;
}

export function DecidedProposals<P extends DecidedProposal>({ idPrefix, queryKey, list, changes }: {
  /** Keeps the heading and filter ids apart when a screen shows two such lists. */
  idPrefix: string;
  queryKey: string;
  list: (state: DecidedState, limit: number, continuationToken: string | undefined) => Promise<{ items: P[]; continuationToken?: string | null }>;
  /** What a proposal changes, in the reader's words. */
  changes: (p: P) => string[];
}) {
  const { t, dateTime } = useI18n();
  const [shown, setShown] = useState<DecidedState>('decided');
  const { pages, list: decidedList } = usePagedQuery(shown, [queryKey, shown], (token) => list(shown, DECIDED_PAGE_SIZE, token));
  const decided = decidedList.data?.items ?? [];
  const heading = `${idPrefix}-decided`;
  return (
    <>
      <h3 id={heading}>{t.sod.decided}</h3>
      <div className="form-grid">
        <FormField id={`${idPrefix}-shown`} label={t.sod.show}>
          <select value={shown} onChange={(e) => setShown(e.target.value as DecidedState)}>
            {DECIDED_STATES.map((s) => (
              <option key={s} value={s}>{t.sod.decidedFilters[s]}</option>
            ))}
          </select>
        </FormField>
      </div>
      {decidedList.error ? <ProblemMessage error={decidedList.error} /> : null}
      {decidedList.data && decided.length === 0 && <p className="muted">{wholeList(pages.page, decidedList.data) ? t.sod.noneDecided : t.pageEmpty}</p>}
      {decided.length > 0 && (
        <DataTable labelledBy={heading} columns={[t.sod.changes, t.sod.state, t.sod.decidedBy]}>
          {decided.map((p) => (
            <tr key={p.id}>
              <td>{changes(p).join('; ')}<br /><span className="muted small">{t.sod.proposedBy(who(personOf(p.proposedBy)) ?? t.you, dateTime(p.proposedAt))}</span></td>
              <td><span className={`badge ${p.state === 'approved' ? 'success' : 'pending'}`}>{t.sod.states[p.state] ?? p.state}</span></td>
              <td>{p.decidedBy ? (who(personOf(p.decidedBy)) ?? t.you) : ''}{p.decidedAt && <><br /><span className="muted small">{dateTime(p.decidedAt)}</span></>}{p.decisionReason && <><br /><span className="small">{p.decisionReason}</span></>}</td>
            </tr>
          ))}
        </DataTable>
      )}
      <Pager label={t.sod.decidedPages} pages={pages} list={decidedList} />
    </>
  );
}
