/**
 * A proposal can be read where the 202 of its PUT says it is (`Location`). Broke: `…/proposals/{id}` had only DELETE
 * and `POST …/approve`, so a client following the Location got 405 and could not read what it was asked to approve.
 */
import { proposalRecordId, type ProposalRecord } from '../../../shared/auth/proposals';
import { uuidv7 } from '../../../shared/ids';
import type { ProposalType } from '../../../shared/ports';
import { ADMIN, ok, send, TENANT, world, type World } from '../../support/in-process';

interface Kind {
  name: string;
  type: ProposalType;
  path: string;
  action: string;
  proposer: string;
  approver: string;
  /** Proposes a weakening as `proposer`: the 202. */
  propose: (w: World) => Promise<{ json: { id: string }; headers: Record<string, string> }>;
}

const etagOf = async (w: World, path: string) => (await ok(w, { method: 'GET', path, as: 'carol' })).headers.ETag!;

const KINDS: Kind[] = [
  {
    name: 'SoD policy',
    type: 'sod-policy-proposal',
    path: 'sod-policy/proposals',
    action: 'sod-policy.proposal-read',
    proposer: 'carol',
    approver: 'bob',
    propose: async (w) => ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') }, as: 'carol' }, 202),
  },
  {
    name: 'retention policy',
    type: 'retention-policy-proposal',
    path: 'retention/policy/proposals',
    action: 'retention.policy-proposal-read',
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
      return ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as: 'rm1' }, 202);
    },
  },
];

/** The path the API answers under, stripped off a Location so it can be sent again. */
const followed = (w: World, location: string) => location.slice(`${w.deps.config.ARCHIVE_PUBLIC_BASE_PATH}/`.length);
const listed = async (w: World, k: Kind, state: string, as: string) => (await ok(w, { method: 'GET', path: `${k.path}?state=${state}`, as })).json.items as { id: string }[];

describe.each(KINDS)('GET a $name proposal', (k) => {
  it("answers it at the 202's Location as the list does, pending and once decided, audited", async () => {
    const w = world();
    const proposed = await k.propose(w);
    const path = followed(w, proposed.headers.Location!);
    expect(path).toBe(`${k.path}/${proposed.json.id}`);

    const read = await ok(w, { method: 'GET', path, as: k.approver });
    expect(read.json).toEqual(proposed.json);
    expect([read.json]).toEqual(await listed(w, k, 'pending', k.approver));
    const entry = w.deps.audit.entries.find((e) => e.requestId === read.requestId);
    expect(entry).toMatchObject({ action: k.action, outcome: 'success', status: 200, target: proposalRecordId(k.type, proposed.json.id) });

    const approved = await ok(w, { method: 'POST', path: `${path}/approve`, body: { reason: 'Agreed' }, as: k.approver });
    const after = await ok(w, { method: 'GET', path, as: k.proposer });
    expect(after.json).toEqual(approved.json);
    expect(after.json).toMatchObject({ state: 'approved', decisionReason: 'Agreed' });
    expect([after.json]).toEqual(await listed(w, k, 'approved', k.proposer));
  });

  it("answers 404 for another tenant's proposal or a made-up id, 403 to a caller without the right", async () => {
    const w = world();
    const proposed = await k.propose(w);
    // The same proposal, stored in another tenant under an id of its own.
    const genuine = w.deps.tenantRecords.records.get(`${TENANT}/${proposalRecordId(k.type, proposed.json.id)}`)!.value as ProposalRecord;
    const elsewhere = uuidv7(w.clock.now().getTime());
    const copy: ProposalRecord = { ...genuine, tenantId: 'other', id: proposalRecordId(k.type, elsewhere), proposalId: elsewhere };
    w.deps.tenantRecords.records.set(`other/${copy.id}`, { value: copy, etag: 9000 });
    const notFound = `${k.type.replace(/-/g, '_')}_not_found`;
    for (const id of [elsewhere, uuidv7(w.clock.now().getTime()), 'not-an-id']) {
      const answer = await send(w, { method: 'GET', path: `${k.path}/${id}`, as: k.approver });
      expect([answer.status, answer.json.code]).toEqual([404, notFound]);
    }
    const refused = await send(w, { method: 'GET', path: `${k.path}/${proposed.json.id}`, as: 'up' });
    expect([refused.status, refused.json.code]).toEqual([403, 'forbidden']);
  });
});
