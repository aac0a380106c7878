/**
 * Seals again, as found, every policy proposal in an in-memory world's records (shared/auth/proposals.ts). For a test
 * that edits a stored proposal to stand for one from before (a proposer from before persons were kept): such a proposal
 * is from before proposals were sealed too and lapsed long since, but the rules the test judges are the ones after the seal.
 */
import { type ProposalRecord, sealProposal } from '../../shared/auth/proposals';
import { retentionProposalChange, type RetentionPolicyProposalRecord } from '../../shared/retention/policy-proposals';
import { sodProposalChange, type SodPolicyProposalRecord } from '../../shared/auth/sod-policy-proposals';
import type { InMemoryDeps } from './in-memory';

export async function resealProposals(deps: Pick<InMemoryDeps, 'tenantRecords' | 'audit'>): Promise<void> {
  for (const stored of deps.tenantRecords.records.values()) {
    const p = stored.value as ProposalRecord;
    if (p.type === 'sod-policy-proposal') stored.value = await sealProposal(p as SodPolicyProposalRecord, sodProposalChange, deps.audit.chainKeys);
    else if (p.type === 'retention-policy-proposal') stored.value = await sealProposal(p as RetentionPolicyProposalRecord, retentionProposalChange, deps.audit.chainKeys);
  }
}
