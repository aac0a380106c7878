/**
 * A hold's answer to its placer tells what that placer may read: a principal with holds:place but not documents:read
 * is told the hold it placed, not the disposal approval the hold withdrew nor who gave it (another person's act on a
 * document it cannot read); one that may read documents is told both. The hold itself keeps the approval either way.
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { approval, dueDocs, hold, ok, START, TENANT, world, type World } from '../../support/in-process';

function placerWithoutRead(w: World): void {
  const set = rightsSetRecordId('placers');
  w.deps.tenantRecords.records.set(`${TENANT}/${set}`, { value: { id: set, tenantId: TENANT, type: 'rights-set', name: 'placers', permissions: ['holds:place'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 9001 });
  const assignment = rightsAssignmentRecordId('hp');
  w.deps.tenantRecords.records.set(`${TENANT}/${assignment}`, { value: { id: assignment, tenantId: TENANT, type: 'rights-assignment', subject: 'hp', rightsSet: 'placers', assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never, etag: 9002 });
}

it('names the withdrawn approval to a placer that may read documents, and not to one that may not', async () => {
  const w = world();
  placerWithoutRead(w);
  const [first, second] = await dueDocs(w);
  await ok(w, approval(w), 201);

  const blind = await ok(w, hold(first!, 'C-1', 'hp'), 201);
  expect(blind.json.withdrewDisposalApproval).toBeUndefined();
  expect(blind.json).toMatchObject({ reason: 'Audit', caseReference: 'C-1' });
  // Withdrawn all the same: kept on the hold, named by its audit entry.
  const stored = w.deps.catalog.documents.get(`${TENANT}/${first}`)!;
  expect(stored.disposalApproval).toBeUndefined();
  expect(stored.holds![0]!.withdrewDisposalApproval?.approvedBy.subject).toBe('bob');
  expect(w.deps.audit.entries.find((e) => e.requestId === blind.requestId && e.action === 'legal-hold.place')?.detail).toMatch(/approval-withdrawn=/);

  const reader = await ok(w, hold(second!, 'C-2', 'up'), 201);
  expect(reader.json.withdrewDisposalApproval.approvedBy.subject).toBe('bob');
});
