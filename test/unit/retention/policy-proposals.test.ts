/**
 * Lowering the retention safeguards needs a second person. The attack this closes: a tenant-admin (rights:manage,
 * retention:approve, retention:manage) defines a set `rm` = [retention:manage], gives it to a guest account of her own,
 * and that guest turned required disposal approval off alone, so the sweep disposed without anyone's approval.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { actor, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';
import { approveRetentionPolicyProposal, listRetentionPolicyProposals, withdrawRetentionPolicyProposal } from '../../../shared/retention/policy-proposals';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { DEFAULT_POLICY } from '../../../shared/retention/policy';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { refusal } from '../../support/refusal';

const T = 'acme';
const DAY = 24 * 3600_000;
const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'tenant-admin', permissions: new Set<Permission>(BUILT_IN_RIGHTS_SETS['tenant-admin']) };
/** Signed in with the set `rightsSet` (its permissions `permissions`), as the person `subject`. */
const person = (subject: string, rightsSet: string, permissions: Permission[]): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });
const rm = (subject: string) => person(subject, 'rm', ['retention:manage']);
const policy = (requireDisposalApproval: boolean): TTenantRetentionPolicy => ({ ...DEFAULT_POLICY, requireDisposalApproval });


/** Alice requires disposal approval, defines `rm` and gives it to her guest account; a day later the guest proposes turning approval off. */
async function guestProposes(before?: (deps: InMemoryDeps) => Promise<void>) {
  const deps = inMemoryDeps();
  const clock = deps.clock as FakeClock;
  // Alice is the tenant's admin, assigned long ago.
  await deps.tenantRecords.upsert({ id: rightsAssignmentRecordId('alice'), tenantId: T, type: 'rights-assignment', subject: 'alice', rightsSet: 'tenant-admin', assignedAt: '2024-01-01T00:00:00.000Z', assignedBy: { subject: 'root', kind: 'user' } });
  await setRetentionPolicy(alice, policy(true), deps);
  await putRightsSet(alice, 'rm', ['retention:manage'], clock.now(), deps);
  await assignRightsSet(alice, 'alice-guest', 'rm', clock.now(), deps);
  await before?.(deps);
  clock.advance(DAY);
  const outcome = await setRetentionPolicy(rm('alice-guest'), policy(false), deps);
  if (!('proposed' in outcome)) throw new Error('applied at once');
  clock.advance(3600_000);
  return { deps, clock, id: outcome.proposed.proposalId, proposal: outcome.proposed };
}

const approvalRequired = async (deps: InMemoryDeps) => (await deps.retention.policies.get(T))!.requireDisposalApproval;

it('a lowering through a guest account with retention:manage is only proposed: nothing changes, the proposal says what it lowers', async () => {
  const { deps, proposal } = await guestProposes();
  expect(proposal).toMatchObject({ state: 'pending', lowers: ['disposal-approval-off'], proposedBy: { person: 'alice-guest' }, base: { requireDisposalApproval: true }, policy: { requireDisposalApproval: false } });
  expect(proposal.expiresAt).toBe(new Date(Date.parse(proposal.proposedAt) + 7 * DAY).toISOString());
  expect(await approvalRequired(deps)).toBe(true);
  expect((await deps.retention.policies.get(T))!.safeguards!.requireDisposalApproval).toBe(true);
});

it('the admin makes a second guest after the proposal: its approval is refused, naming the admin', async () => {
  const { deps, clock, id } = await guestProposes();
  await assignRightsSet(alice, 'alice-guest-2', 'rm', clock.now(), deps);
  const refused = await refusal(approveRetentionPolicyProposal(rm('alice-guest-2'), id, 'ok', deps));
  expect([refused.code, refused.extensions]).toEqual(['segregation_of_duties', expect.objectContaining({ rule: 'retention-approver-given-by-approver', proposedBy: 'alice-guest', approverRightsGivenBy: 'alice', approverRightsGivenThrough: 'rights-assignment' })]);
  expect(await approvalRequired(deps)).toBe(true);
});

it('nor through a chain: the admin gives a helper rights:manage after the proposal, the helper makes the guest', async () => {
  const { deps, clock, id } = await guestProposes(async (d) => {
    await putRightsSet(alice, 'rm-admin', ['retention:manage', 'rights:manage'], d.clock.now(), d);
  });
  await assignRightsSet(alice, 'helper', 'rm-admin', clock.now(), deps);
  await assignRightsSet(person('helper', 'rm-admin', ['retention:manage', 'rights:manage']), 'alice-guest-3', 'rm', clock.now(), deps);
  const refused = await refusal(approveRetentionPolicyProposal(rm('alice-guest-3'), id, 'ok', deps));
  expect(refused.extensions).toMatchObject({ rule: 'retention-approver-given-by-approver', approverRightsGivenBy: 'alice' });
  expect(await approvalRequired(deps)).toBe(true);
});

it('the proposer cannot approve, signed in or through an API key of theirs; nor someone the proposer gave rights to since', async () => {
  const { deps, clock, id } = await guestProposes();
  expect((await refusal(approveRetentionPolicyProposal(rm('alice-guest'), id, 'ok', deps))).extensions).toMatchObject({ rule: 'four-eyes-retention-policy', proposedBy: 'alice-guest' });
  const viaKey: Principal = { ...rm('alice-guest'), subject: 'apikey:k1', kind: 'client', keyId: 'k1' };
  expect((await refusal(approveRetentionPolicyProposal(viaKey, id, 'ok', deps))).extensions).toMatchObject({ rule: 'four-eyes-retention-policy' });
  // The guest, given rights:manage for the purpose, makes a second identity of her own.
  await putRightsSet(alice, 'rm-admin', ['retention:manage', 'rights:manage'], clock.now(), deps);
  await assignRightsSet(alice, 'alice-guest', 'rm-admin', clock.now(), deps);
  await assignRightsSet(person('alice-guest', 'rm-admin', ['retention:manage', 'rights:manage']), 'guest-of-guest', 'rm', clock.now(), deps);
  expect((await refusal(approveRetentionPolicyProposal(rm('guest-of-guest'), id, 'ok', deps))).extensions).toMatchObject({ rule: 'four-eyes-retention-policy', approverRightsGivenBy: 'alice-guest' });
  expect(await approvalRequired(deps)).toBe(true);
});

it('a holder of retention:approve cannot approve: signed in, or holding it through an API key of theirs', async () => {
  const { deps, id } = await guestProposes(async (d) => {
    await assignRightsSet(alice, 'rita', 'rm', d.clock.now(), d);
    // Rita held the admin's rights when she minted a key with them; she is a records manager now.
    await createApiKey({ tenantId: T, name: 'old', rightsSet: 'tenant-admin', expiresAt: new Date(d.clock.now().getTime() + 90 * DAY), createdBy: actor(rm('rita')), ceiling: [...BUILT_IN_RIGHTS_SETS['tenant-admin']!], personPermissions: [...BUILT_IN_RIGHTS_SETS['tenant-admin']!], now: d.clock.now() }, d);
  });
  expect((await refusal(approveRetentionPolicyProposal(alice, id, 'ok', deps))).extensions).toMatchObject({ rule: 'approver-lowers-safeguards', lowered: ['disposal-approval-off'] });
  expect((await refusal(approveRetentionPolicyProposal(rm('rita'), id, 'ok', deps))).extensions).toMatchObject({ rule: 'approver-lowers-safeguards' });
  expect(await approvalRequired(deps)).toBe(true);
});

it('a records manager the admin appointed BEFORE the proposal approves it: it applies, and the mark follows', async () => {
  const { deps, id } = await guestProposes(async (d) => {
    await assignRightsSet(alice, 'rita', 'rm', d.clock.now(), d);
  });
  const approved = await approveRetentionPolicyProposal(rm('rita'), id, 'Approval moves to the accountant', deps);
  expect(approved).toMatchObject({ state: 'approved', decidedBy: { person: 'rita' }, decisionReason: 'Approval moves to the accountant' });
  const stored = (await deps.retention.policies.get(T))!;
  expect([stored.requireDisposalApproval, stored.safeguards!.requireDisposalApproval, stored.updatedBy!.subject]).toEqual([false, false, 'rita']);
  // Decided: a second approval, or a withdrawal, finds it closed.
  expect((await refusal(approveRetentionPolicyProposal(rm('rita'), id, 'again', deps))).code).toBe('retention_policy_proposal_closed');
  expect((await refusal(withdrawRetentionPolicyProposal(rm('alice-guest'), id, deps))).code).toBe('retention_policy_proposal_closed');
});

it('the proposal of a person holding retention:approve is still refused; a change that lowers nothing applies at once', async () => {
  const deps = inMemoryDeps();
  await setRetentionPolicy(alice, policy(true), deps);
  expect((await refusal(setRetentionPolicy(alice, policy(false), deps))).extensions).toMatchObject({ rule: 'approver-lowers-safeguards' });
  const raised = await setRetentionPolicy(rm('rita'), { ...policy(true), classes: [{ name: 'contracts-12y', years: 12 }] }, deps);
  expect(raised).toMatchObject({ applied: { policy: { classes: [{ name: 'contracts-12y', years: 12 }] } } });
});

it('applies only over the version it was proposed on: a change stored since is 409, and nothing is lowered', async () => {
  const { deps, id } = await guestProposes(async (d) => {
    await assignRightsSet(alice, 'rita', 'rm', d.clock.now(), d);
  });
  await setRetentionPolicy(alice, { ...policy(true), classes: [{ name: 'contracts-12y', years: 12 }] }, deps); // a raise: applies at once
  const refused = await refusal(approveRetentionPolicyProposal(rm('rita'), id, 'ok', deps));
  expect(refused.code).toBe('retention_policy_changed');
  expect((await deps.retention.policies.get(T))!).toMatchObject({ requireDisposalApproval: true, classes: [{ name: 'contracts-12y', years: 12 }] });
});

it('lapses after the same lifetime as a SoD proposal: then it can no longer be approved, and lists as expired', async () => {
  const { deps, clock, id } = await guestProposes(async (d) => {
    await assignRightsSet(alice, 'rita', 'rm', d.clock.now(), d);
  });
  expect((await listRetentionPolicyProposals(T, { state: 'pending', limit: 50 }, deps)).items.map((p) => p.proposalId)).toEqual([id]);
  clock.advance(7 * DAY);
  const refused = await refusal(approveRetentionPolicyProposal(rm('rita'), id, 'late', deps));
  expect([refused.code, refused.extensions]).toEqual(['retention_policy_proposal_closed', { state: 'expired' }]);
  expect((await listRetentionPolicyProposals(T, { state: 'pending', limit: 50 }, deps)).items).toEqual([]);
  expect((await listRetentionPolicyProposals(T, { state: 'expired', limit: 50 }, deps)).items.map((p) => p.proposalId)).toEqual([id]);
  expect(await approvalRequired(deps)).toBe(true);
});

it('the proposer withdraws it, another records manager rejects it; either way it never applies', async () => {
  const { deps, clock } = await guestProposes();
  const proposeAgain = async () => {
    const outcome = await setRetentionPolicy(rm('alice-guest'), policy(false), deps);
    if (!('proposed' in outcome)) throw new Error('applied at once');
    return outcome.proposed.proposalId;
  };
  const first = (await listRetentionPolicyProposals(T, { state: 'pending', limit: 50 }, deps)).items[0]!.proposalId;
  expect(await withdrawRetentionPolicyProposal(rm('alice-guest'), first, deps)).toMatchObject({ state: 'withdrawn', decidedBy: { person: 'alice-guest' } });
  clock.advance(1000);
  const second = await proposeAgain();
  expect(await withdrawRetentionPolicyProposal(rm('rita'), second, deps)).toMatchObject({ state: 'rejected', decidedBy: { person: 'rita' } });
  expect((await listRetentionPolicyProposals(T, { state: 'decided', limit: 50 }, deps)).items.map((p) => [p.proposalId, p.state])).toEqual([[second, 'rejected'], [first, 'withdrawn']]);
  expect((await refusal(withdrawRetentionPolicyProposal(rm('rita'), 'f'.repeat(8) + '-0000-7000-8000-000000000000', deps))).code).toBe('retention_policy_proposal_not_found');
  expect(await approvalRequired(deps)).toBe(true);
});

it('the same lowering sent twice at once by one person stores one proposal, answered to both; withdrawn, it can be proposed again', async () => {
  const { deps, id } = await guestProposes();
  await withdrawRetentionPolicyProposal(rm('alice-guest'), id, deps);
  const outcomes: string[] = [];
  const batch = deps.tenantRecords.batch.bind(deps.tenantRecords);
  deps.tenantRecords.batch = async (...args) => {
    const outcome = await batch(...args);
    outcomes.push(outcome);
    return outcome;
  };
  const [a, b] = await Promise.all([setRetentionPolicy(rm('alice-guest'), policy(false), deps), setRetentionPolicy(rm('alice-guest'), policy(false), deps)]);
  if (!('proposed' in a) || !('proposed' in b)) throw new Error('applied at once');
  expect(outcomes).toContain('conflict'); // both judged before either stored: the race happened
  expect(b.proposed.proposalId).toBe(a.proposed.proposalId);
  expect(a.proposed.proposalId).not.toBe(id);
  expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
  expect((await listRetentionPolicyProposals(T, { state: 'pending', limit: 50 }, deps)).items.map((p) => p.proposalId)).toEqual([a.proposed.proposalId]);
  expect(await approvalRequired(deps)).toBe(true);
});
