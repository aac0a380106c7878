/**
 * A keyed disposal approval whose request stopped before its answer was kept (the record says so: no result): the
 * retry finishes it under the same approval, counting the documents it approved already, and keeps that answer.
 */
import { PERMISSIONS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { approveDisposal, disposalApprovalRecordId, type DisposalApprovalRecord } from '../../../shared/retention/approve-disposal';
import { inMemoryDeps } from '../../support/in-memory';
import { keepManifest, seedDocument } from '../../support/seed';

const T = 'acme';
const bob: Principal = { tenantId: T, subject: 'bob', kind: 'user', person: 'bob', rightsSet: 'tenant-admin', permissions: new Set<Permission>(PERMISSIONS) };

it('a retry of an approval that stopped half-way finishes it, approving each document once, under the one approval', async () => {
  const deps = inMemoryDeps();
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) {
    const seeded = await seedDocument(deps, T, { metadata: {} });
    const doc = { ...seeded, retention: { class: 'fiscal-7y', retainUntil: '2025-01-01T00:00:00.000Z' } };
    deps.catalog.documents.set(`${T}/${doc.id}`, doc);
    await keepManifest(deps, doc); // whom four eyes judge the uploader by
    ids.push(doc.id);
  }
  const cmd = { principal: bob, before: '2025-02-01T00:00:00Z', reason: 'Annual review', idempotencyKey: 'half-way' };
  // The documents are approved, then keeping the answer fails: the client gets no answer.
  const replace = deps.tenantRecords.replace.bind(deps.tenantRecords);
  deps.tenantRecords.replace = async () => {
    throw new Error('store unavailable');
  };
  await expect(approveDisposal(cmd, deps)).rejects.toThrow('store unavailable');
  deps.tenantRecords.replace = replace;
  const approvals = () => ids.map((id) => deps.catalog.documents.get(`${T}/${id}`)!.disposalApproval?.approvalId);
  const [approvalId] = approvals();
  expect(approvals()).toEqual([approvalId, approvalId]);

  const retry = await approveDisposal(cmd, deps);
  expect(retry).toMatchObject({ approvalId, skipped: [], more: false, replayed: true });
  expect(new Set(retry.approved)).toEqual(new Set(ids));
  const record = await deps.tenantRecords.get<DisposalApprovalRecord>(T, disposalApprovalRecordId(approvalId!), 'disposal-approval');
  expect(record?.value.result).toEqual({ approved: retry.approved, skipped: [], more: false });
  // Answered from the record from now on, approving nothing again.
  expect(await approveDisposal(cmd, deps)).toEqual(retry);
  expect(approvals()).toEqual([approvalId, approvalId]);
});
