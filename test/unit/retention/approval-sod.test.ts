import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { ArchiveError } from '../../../shared/kernel/errors';
import { approveDisposal } from '../../../shared/retention/approve-disposal';
import { safeguardsOf } from '../../../shared/retention/policy';
import { inMemoryDeps } from '../../support/in-memory';
import type { FakeClock } from '../../support/fake-clock';
import { keepManifest, seedMany } from '../../support/seed';

const T = 'acme';
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'tenant-admin', permissions: new Set<Permission>(BUILT_IN_RIGHTS_SETS['tenant-admin']) });

/** Two documents alice uploaded in 2018, due 2025-01-01, in a tenant that requires approval (uploader rule on, the default). */
async function uploadedByAlice() {
  const deps = inMemoryDeps();
  const policy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
  await deps.retention.policies.put(T, policy, '2018-01-01T00:00:00Z', { subject: 'ann', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null });
  const docs = await seedMany(deps, T, [{ metadata: {}, fiscalYear: 2017 }, { metadata: {}, fiscalYear: 2017 }]);
  for (const d of docs) {
    const doc = { ...d, createdAt: '2018-01-15T00:00:00.000Z', createdBy: { subject: 'alice', kind: 'user', person: 'alice' }, retention: { class: 'fiscal-7y', retainUntil: '2025-01-01T00:00:00.000Z' } };
    deps.catalog.documents.set(`${T}/${d.id}`, doc);
    await keepManifest(deps, doc); // whom four eyes judge the uploader by
  }
  const clock = deps.clock as FakeClock;
  clock.set('2024-12-01T00:00:00Z');
  return { deps, ids: docs.map((d) => d.id).sort() };
}

describe('the uploader rule holds for someone the uploader gave rights to after the upload', () => {
  it('a guest alice assigned approval rights after uploading is refused a named approval (403) and skipped in a bulk one', async () => {
    const { deps, ids } = await uploadedByAlice();
    await assignRightsSet(admin('alice'), 'alice-guest', 'tenant-admin', deps.clock.now(), deps);
    const named = await approveDisposal({ principal: admin('alice-guest'), before: '2025-01-01T00:00:00Z', reason: 'due', documentIds: [ids[0]!] }, deps).catch((e: unknown) => e);
    expect(named).toBeInstanceOf(ArchiveError);
    expect(named).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'uploader-approves-disposal', approverRightsGivenBy: 'alice' } });
    const bulk = await approveDisposal({ principal: admin('alice-guest'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps);
    expect(bulk.approved).toEqual([]);
    expect(bulk.skipped.map((s) => s.reason)).toEqual(['segregation-of-duties:uploader-approves-disposal', 'segregation-of-duties:uploader-approves-disposal']);
  });

  it('nor someone given rights, after the upload, by someone alice gave rights to after it (a third identity made through a second)', async () => {
    const { deps, ids } = await uploadedByAlice();
    await assignRightsSet(admin('alice'), 'alice-guest', 'tenant-admin', deps.clock.now(), deps);
    await assignRightsSet(admin('alice-guest'), 'alice-guest-2', 'tenant-admin', deps.clock.now(), deps);
    const named = await approveDisposal({ principal: admin('alice-guest-2'), before: '2025-01-01T00:00:00Z', reason: 'due', documentIds: [ids[0]!] }, deps).catch((e: unknown) => e);
    expect(named).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'uploader-approves-disposal', approverRightsGivenBy: 'alice' } });
    const bulk = await approveDisposal({ principal: admin('alice-guest-2'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps);
    expect(bulk.approved).toEqual([]);
  });

  it('someone a third person assigned approves', async () => {
    const { deps, ids } = await uploadedByAlice();
    await assignRightsSet(admin('carol'), 'bob', 'tenant-admin', deps.clock.now(), deps);
    const bulk = await approveDisposal({ principal: admin('bob'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps);
    expect(bulk.approved.sort()).toEqual(ids);
  });
});

describe('two approvals at once', () => {
  it('the document keeps the approval written first; the other request does not report it approved', async () => {
    const { deps, ids } = await uploadedByAlice();
    const [first, second] = await Promise.all([
      approveDisposal({ principal: admin('bob'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps),
      approveDisposal({ principal: admin('carol'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps),
    ]);
    expect(first.approved.sort()).toEqual(ids);
    expect(second.approved).toEqual([]);
    for (const id of ids) expect((await deps.catalog.get(T, id))!.disposalApproval).toMatchObject({ approvalId: first.approvalId, approvedBy: { subject: 'bob' } });
  });
});

describe('the chain of givers behind a named approval is followed from the earliest named upload on', () => {
  it('an approver whose rights came through ten persons in a row, all before the uploads, approves named documents; a bulk approval, which follows the chain whole, is refused at its limit', async () => {
    const { deps, ids } = await uploadedByAlice();
    const at = (i: number) => new Date(Date.parse('2017-01-01T00:00:00Z') + i * 60_000);
    for (let i = 1; i <= 10; i++) await assignRightsSet(admin(i === 1 ? 'root' : `p-${i - 1}`), `p-${i}`, 'tenant-admin', at(i), deps);
    const bulk = await approveDisposal({ principal: admin('p-10'), before: '2025-01-01T00:00:00Z', reason: 'due' }, deps);
    expect(bulk.approved).toEqual([]);
    const named = await approveDisposal({ principal: admin('p-10'), before: '2025-01-01T00:00:00Z', reason: 'due', documentIds: ids }, deps);
    expect(named.approved.sort()).toEqual(ids);
  });
});
