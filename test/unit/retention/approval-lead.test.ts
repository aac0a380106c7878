import type { Principal } from '../../../shared/kernel/principal';
import { ArchiveError } from '../../../shared/kernel/errors';
import { APPROVAL_LEAD_DAYS, disposalBlocker } from '../../../shared/kernel/retention-rules';
import { approveDisposal } from '../../../shared/retention/approve-disposal';
import { listDueDocuments } from '../../../shared/retention/list-due-documents';
import { inMemoryDeps } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';
import { keepManifest, seedMany } from '../../support/seed';
import { safeguardsOf } from '../../../shared/retention/policy';

const T = 'acme';
const approver: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'tenant-admin', permissions: new Set(['retention:approve']) };

/** Two fiscal-2017 documents (retain-until 2025-01-01) in a tenant that requires approval. */
async function dueIn2025() {
  const deps = inMemoryDeps();
  const policy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
  await deps.retention.policies.put(T, policy, '2020-01-01T00:00:00Z', { subject: 'ann', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null });
  const docs = await seedMany(deps, T, [{ metadata: {}, fiscalYear: 2017 }, { metadata: {}, fiscalYear: 2017 }]);
  for (const d of docs) {
    const doc = { ...d, retention: { class: 'fiscal-7y', retainUntil: '2025-01-01T00:00:00.000Z' } };
    deps.catalog.documents.set(`${T}/${d.id}`, doc);
    await keepManifest(deps, doc); // whom four eyes judge the uploader by
  }
  return { deps, clock: deps.clock as FakeClock, ids: docs.map((d) => d.id).sort() };
}

describe('a disposal approval covers what falls due within a year of it, no further', () => {
  it('refuses an approval reaching more than a year ahead (400 naming `before`), and approves nothing', async () => {
    const { deps, clock, ids } = await dueIn2025();
    clock.set('2022-06-01T00:00:00Z');
    const refusal = await approveDisposal({ principal: approver, before: '2030-01-01T00:00:00Z', reason: 'approve everything now' }, deps).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ArchiveError);
    expect(refusal).toMatchObject({ code: 'bad_request', extensions: { errors: [{ path: 'before' }] } });
    for (const id of ids) expect(deps.catalog.documents.get(`${T}/${id}`)!.disposalApproval).toBeUndefined();
  });

  it('an approval given more than a year before the retain-until does not count, and can be renewed when it comes closer', async () => {
    const { deps, clock, ids } = await dueIn2025();
    // An approval stored before this rule existed, given in 2022 for a 2025 retain-until.
    for (const id of ids) {
      const doc = deps.catalog.documents.get(`${T}/${id}`)!;
      deps.catalog.documents.set(`${T}/${id}`, { ...doc, disposalApproval: { approvalId: 'early', approvedAt: '2022-06-01T00:00:00.000Z', approvedBy: { subject: 'ann', kind: 'user', person: 'ann' }, reason: 'early', retainUntil: doc.retention.retainUntil } });
    }
    const at = new Date('2025-03-01T00:00:00Z');
    expect(disposalBlocker(deps.catalog.documents.get(`${T}/${ids[0]}`)!, at, true)).toBe('approval-required');
    clock.set(at);
    expect((await listDueDocuments(T, { before: at.toISOString(), limit: 10 }, deps)).items.map((i) => i.approved)).toEqual([false, false]);

    // Within the lead time, the approval is given again (not passed over as already approved) and counts.
    clock.set(new Date(new Date('2025-01-01T00:00:00Z').getTime() - (APPROVAL_LEAD_DAYS - 1) * 86_400_000));
    const renewed = await approveDisposal({ principal: approver, before: '2025-01-01T00:00:00Z', reason: 'annual review' }, deps);
    expect(renewed.approved.sort()).toEqual(ids);
    for (const id of ids) expect(disposalBlocker(deps.catalog.documents.get(`${T}/${id}`)!, at, true)).toBeNull();
  });
});
