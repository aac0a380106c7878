/**
 * Red team, early disposal by someone with a valid account of the tenant: what the existing sweeps
 * (retention-oracle, disposal-sweep, correction-oracle, person-rules, sod-disposal, retention-proposals) do not cover.
 */
import type { Principal } from '../../../shared/kernel/principal';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { approveDisposal } from '../../../shared/retention/approve-disposal';
import { extendRetention } from '../../../shared/retention/extend-retention';
import { sweep } from '../../../shared/retention/sweep';
import { safeguardsOf } from '../../../shared/retention/policy';
import { placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { releaseHoldEverywhere } from '../../../shared/retention/holds/release-hold-everywhere';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import type { FakeClock } from '../../support/fake-clock';
import { seedDueDocument } from '../../support/seed';

const T = 'acme';
const ann: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'tenant-admin', permissions: new Set(['retention:approve']) };
const bob: Principal = { tenantId: T, subject: 'bob', kind: 'user', person: 'bob', rightsSet: 'records', permissions: new Set(['retention:extend']) };
const budget = { maxItems: 100, maxMillis: 60_000 };

async function tenant(requireDisposalApproval: boolean): Promise<{ deps: InMemoryDeps; clock: FakeClock }> {
  const deps = inMemoryDeps();
  const policy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval, fiscalYearEndMonth: 12 };
  await deps.retention.policies.put(T, policy, '2020-01-01T00:00:00.000Z', { subject: 'ann', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null });
  return { deps, clock: deps.clock as FakeClock };
}

const stored = (deps: InMemoryDeps, id: string): ArchivedDocument => deps.catalog.documents.get(`${T}/${id}`)!;
const disposeEntries = (deps: InMemoryDeps, id: string) => deps.audit.entries.filter((e) => e.action === 'document.dispose' && e.target === id);

describe('the disposal record names only an approval that covered the disposal', () => {
  it('an approval voided by an extension is not the disposal\'s approval once the extended retention ends (approval not required)', async () => {
    const { deps, clock } = await tenant(false);
    const doc = await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
    clock.set('2024-12-01T00:00:00.000Z');
    // Ann approves the disposal at the end of 2024; Bob then keeps the document three more months.
    const { approvalId, approved } = await approveDisposal({ principal: ann, before: '2025-01-01T00:00:00.000Z', reason: 'yearly review' }, deps);
    expect(approved).toEqual([doc.id]);
    await extendRetention({ principal: bob, documentId: doc.id, retainUntil: '2025-03-01T00:00:00.000Z', reason: 'auditor asked' }, deps);
    clock.set('2025-04-01T00:00:00.000Z');
    const run = await sweep({ now: clock.now(), budget, continuation: null }, deps);
    expect(run.disposed).toEqual([`${T}/${doc.id}`]);
    const tombstone = stored(deps, doc.id);
    expect(tombstone.status).toBe('disposed');
    // Ann approved a disposal on 2025-01-01, not the one on 2025-03-01: the record must not name her approval.
    expect(tombstone.disposal?.approval).toBeUndefined();
    expect(disposeEntries(deps, doc.id).map((e) => e.detail)).toEqual(['retention-ended']);
    expect(JSON.stringify(tombstone.disposal)).not.toContain(approvalId);
  });

  it('an approval given longer than APPROVAL_LEAD_DAYS before the retain-until is not the disposal\'s approval', async () => {
    const { deps, clock } = await tenant(false);
    const doc = await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
    // Stored before the lead rule existed: given in 2022 for a 2025 retain-until (approval-lead.test.ts: it does not count).
    deps.catalog.documents.set(`${T}/${doc.id}`, { ...stored(deps, doc.id), disposalApproval: { approvalId: 'early', approvedAt: '2022-06-01T00:00:00.000Z', approvedBy: { subject: 'ann', kind: 'user', person: 'ann' }, reason: 'early', retainUntil: doc.retention.retainUntil } });
    clock.set('2025-02-01T00:00:00.000Z');
    const run = await sweep({ now: clock.now(), budget, continuation: null }, deps);
    expect(run.disposed).toEqual([`${T}/${doc.id}`]);
    expect(stored(deps, doc.id).disposal?.approval).toBeUndefined();
    expect(disposeEntries(deps, doc.id).map((e) => e.detail)).toEqual(['retention-ended']);
  });

  it('an approval that covers the disposal is still named, where approval is not required too', async () => {
    for (const required of [true, false]) {
      const { deps, clock } = await tenant(required);
      const doc = await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
      clock.set('2024-12-01T00:00:00.000Z');
      const { approvalId } = await approveDisposal({ principal: ann, before: '2025-01-01T00:00:00.000Z', reason: 'yearly review' }, deps);
      // The entry its request writes (called here without the pipeline), which the sweep looks for where approval is required.
      await deps.audit.append({ tenantId: T, at: clock.now().toISOString(), actor: { subject: ann.subject, kind: 'user' }, action: 'retention.approve', target: `approval:${approvalId}`, outcome: 'success', status: 201, requestId: `req-${approvalId}`, clientIp: null, userAgent: null });
      clock.set('2025-02-01T00:00:00.000Z');
      await sweep({ now: clock.now(), budget, continuation: null }, deps);
      expect(stored(deps, doc.id).disposal?.approval).toMatchObject({ approvalId, approvedBy: { person: 'ann' }, retainUntil: '2025-01-01T00:00:00.000Z' });
      expect(disposeEntries(deps, doc.id).map((e) => e.detail)).toEqual([`retention-ended;approval=${approvalId}`]);
    }
  });
});

describe('an approval is never given to a document an open hold by query holds', () => {
  const auditor: Principal = { tenantId: T, subject: 'dora', kind: 'user', person: 'dora', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) };
  const archivist: Principal = { tenantId: T, subject: 'eve', kind: 'user', person: 'eve', rightsSet: 'archivist', permissions: new Set(['holds:release']) };

  it('a receipt the hold has not reached yet is skipped as held, and after the release everywhere it is reviewed again', async () => {
    const { deps, clock } = await tenant(true);
    clock.set('2025-05-01T00:00:00.000Z');
    await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
    const { holdId } = await placeHoldsByQuery({ principal: auditor, reason: 'tax audit', caseReference: 'FA-2017', query: { fiscalYear: 2017 } }, deps);
    // A late scan of 2017, archived after the hold was placed; the reconciler has not reached it yet.
    const late = await seedDueDocument(deps, T, '2025-01-01T00:00:00.000Z');
    const answer = await approveDisposal({ principal: ann, before: '2025-05-01T00:00:00.000Z', reason: 'yearly review' }, deps);
    expect(answer.approved).toEqual([]);
    expect(answer.skipped).toContainEqual({ id: late.id, reason: 'legal-hold' });
    expect(stored(deps, late.id).disposalApproval).toBeUndefined();
    // Named, too.
    const named = await approveDisposal({ principal: ann, before: '2025-05-01T00:00:00.000Z', reason: 'this one', documentIds: [late.id] }, deps);
    expect(named.skipped).toEqual([{ id: late.id, reason: 'legal-hold' }]);
    await releaseHoldEverywhere({ principal: archivist, holdId, reason: 'audit closed' }, deps);
    clock.set('2025-06-01T00:00:00.000Z');
    const run = await sweep({ now: clock.now(), budget, continuation: null }, deps);
    expect(run.disposed).toEqual([]);
    // Awaiting an approval: no work for the sweep, which does not list it (timer-attacks.test.ts); it stays.
    expect(stored(deps, late.id).status).toBe('active');
  });
});
