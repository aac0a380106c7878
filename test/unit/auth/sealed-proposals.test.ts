/**
 * Proposals are sealed when made (shared/auth/proposals.ts). Broke: proposal records in Cosmos DB were not, so whoever
 * could write Cosmos DB and held the right to manage the policy planted a pending proposal in another manager's name, or
 * rewrote what a genuine one proposed, and approved it alone: four eyes broken, the weakening kept as a genuine setting.
 */
import { PROPOSAL_UNSEALED, proposalRecordId, type ProposalRecord } from '../../../shared/auth/proposals';
import { uuidv7 } from '../../../shared/ids';
import type { ProposalType } from '../../../shared/ports';
import type { RecordingLogger } from '../../support/in-memory';
import { ADMIN, ok, send, TENANT, world, type World } from '../../support/in-process';
import { rotatingWorld } from '../../support/rotating-vault';

const etagOf = async (w: World, path: string) => (await ok(w, { method: 'GET', path, as: 'carol' })).headers.ETag!;

interface Kind {
  name: string;
  type: ProposalType;
  path: string;
  /** Its proposer and a second person who may approve it. */
  proposer: string;
  approver: string;
  /** Proposes a weakening as `proposer`: its id. */
  propose: (w: World) => Promise<string>;
  /** Whether the weakening applies now. */
  applied: (w: World) => Promise<boolean>;
  /** A worse change than the one proposed, written over the record's. */
  rewrite: (p: ProposalRecord) => ProposalRecord;
}

const KINDS: Kind[] = [
  {
    name: 'SoD policy',
    type: 'sod-policy-proposal',
    path: 'sod-policy/proposals',
    proposer: 'carol',
    approver: 'bob',
    propose: async (w) => (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') }, as: 'carol' }, 202)).json.id as string,
    applied: async (w) => (await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' })).json.conflicts.length === 0,
    rewrite: (p) => ({ ...p, policy: { conflicts: [], uploaderCannotApproveDisposal: false }, weakens: ['uploaderCannotApproveDisposal'] }) as ProposalRecord,
  },
  {
    name: 'retention policy',
    type: 'retention-policy-proposal',
    path: 'retention/policy/proposals',
    proposer: 'rm1',
    approver: 'rm2',
    propose: async (w) => {
      // Records managers: retention:manage without retention:approve, given before the proposal.
      await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ADMIN.filter((p) => p !== 'retention:approve') }, as: 'carol' });
      for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
      w.clock.advance(60_000);
      const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
      const etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' }, 200)).headers.ETag!;
      return (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as: 'rm1' }, 202)).json.id as string;
    },
    applied: async (w) => (await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' })).json.requireDisposalApproval === false,
    rewrite: (p) => {
      const r = p as ProposalRecord & { policy: object };
      return { ...r, policy: { ...r.policy, fiscalYearEndMonth: 6 } } as ProposalRecord;
    },
  },
];

const stored = (w: World, type: ProposalType, id: string) => w.deps.tenantRecords.records.get(`${TENANT}/${proposalRecordId(type, id)}`)!.value as ProposalRecord;
const write = (w: World, p: ProposalRecord) => w.deps.tenantRecords.records.set(`${TENANT}/${p.id}`, { value: p, etag: 9000 + w.seq++ });
const unsealedLines = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === PROPOSAL_UNSEALED);
const approve = (k: Kind, id: string, as: string) => ({ method: 'POST' as const, path: `${k.path}/${id}/approve`, body: { reason: 'Agreed' }, as });

/** A pending proposal in the proposer's name the archive never made, copied from a genuine one (its seal kept or dropped). */
function plant(w: World, k: Kind, from: ProposalRecord, keepMac: boolean): string {
  const proposalId = uuidv7(w.clock.now().getTime());
  const { mac, keyVersion: _v, ...rest } = from;
  write(w, { ...rest, id: proposalRecordId(k.type, proposalId), proposalId, state: 'pending', ...(keepMac ? { mac } : {}) });
  return proposalId;
}

describe.each(KINDS)('a $name proposal', (k) => {
  it.each([
    ['without a seal', false],
    ['with a seal copied from a genuine one', true],
  ])('planted in the proposer’s name %s is not approved, nothing applies, operators are alerted', async (_, keepMac) => {
    const w = world();
    const genuine = await k.propose(w);
    // The genuine one withdrawn: the planted copy is all that is pending.
    await ok(w, { method: 'DELETE', path: `${k.path}/${genuine}`, as: k.proposer });
    const planted = plant(w, k, stored(w, k.type, genuine), keepMac);
    const refused = await send(w, approve(k, planted, k.approver));
    expect([refused.status, refused.json.code]).toEqual([409, 'proposal_not_sealed']);
    expect(await k.applied(w)).toBe(false);
    expect(stored(w, k.type, planted).state).toBe('pending');
    expect(unsealedLines(w)).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ tenantId: TENANT, type: k.type, proposalId: planted }) })]);
    // Listed as not the archive's, so a reviewer sees it is not one to approve.
    const listed = (await ok(w, { method: 'GET', path: k.path, as: k.approver })).json.items as { id: string; notSealedByArchive?: true }[];
    expect(listed.map((p) => [p.id, p.notSealedByArchive])).toEqual([[planted, true]]);
    // Read alone, as listed.
    expect((await ok(w, { method: 'GET', path: `${k.path}/${planted}`, as: k.approver })).json).toEqual(listed[0]);
    // Closing it stays possible: a rejection only closes.
    expect((await ok(w, { method: 'DELETE', path: `${k.path}/${planted}`, as: k.approver })).json.state).toBe('rejected');
  });

  it('genuine, its change rewritten in Cosmos DB, is not approved', async () => {
    const w = world();
    const id = await k.propose(w);
    write(w, k.rewrite(stored(w, k.type, id)));
    const refused = await send(w, approve(k, id, k.approver));
    expect([refused.status, refused.json.code]).toEqual([409, 'proposal_not_sealed']);
    expect(await k.applied(w)).toBe(false);
    expect(unsealedLines(w)).toHaveLength(1);
  });

  it('genuine, is approved and applies as before', async () => {
    const w = world();
    const id = await k.propose(w);
    expect(stored(w, k.type, id).mac).toEqual(expect.any(String));
    expect((await ok(w, { method: 'GET', path: k.path, as: k.approver })).json.items).toEqual([expect.not.objectContaining({ notSealedByArchive: expect.anything() })]);
    expect((await ok(w, approve(k, id, k.approver))).json.state).toBe('approved');
    expect(await k.applied(w)).toBe(true);
    expect(unsealedLines(w)).toEqual([]);
  });

  it('genuine, sealed before a chain key rotation, is refused as superseded (propose it again), not alerted', async () => {
    const { w, rotate } = rotatingWorld();
    const id = await k.propose(w);
    rotate();
    const refused = await send(w, approve(k, id, k.approver));
    expect([refused.status, refused.json.code, refused.json.superseded]).toEqual([409, 'proposal_not_sealed', true]);
    expect(refused.json.detail).toContain('Propose it again');
    expect(await k.applied(w)).toBe(false);
    expect(unsealedLines(w)).toEqual([]);
    // Withdrawn by its proposer, it is proposed again, sealed with the current version, and approved.
    await ok(w, { method: 'DELETE', path: `${k.path}/${id}`, as: k.proposer });
    const again = k.type === 'sod-policy-proposal' ? await k.propose(w) : await proposeRetentionAgain(w);
    expect(stored(w, k.type, again).keyVersion).toBe('v2');
    expect((await ok(w, approve(k, again, k.approver))).json.state).toBe('approved');
    expect(await k.applied(w)).toBe(true);
  });
});

/** The retention lowering again (the records managers exist already). */
async function proposeRetentionAgain(w: World): Promise<string> {
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
  return (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': read.headers.ETag! }, as: 'rm1' }, 202)).json.id as string;
}
