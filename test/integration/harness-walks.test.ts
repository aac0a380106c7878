/**
 * The run's emulators are shared by every test file at once. A host the harness starts walks only the tenants its own
 * file made (test/support/harness.ts), so a timer run in one file (sweep, reconciler, sealing) cannot change another
 * file's tenant mid-test, as it did three times.
 */
import { randomBytes } from 'node:crypto';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

it("a test host's cross-tenant walks see the tenants this file made, and no other file's", async () => {
  const { deps } = archive.host;
  const mine = newTenant('mine');
  const theirs = `theirs-${randomBytes(5).toString('hex')}`; // as another file's newTenant names it
  const at = new Date().toISOString();
  for (const tenantId of [mine, theirs]) {
    await deps.blobs.prepareTenant(tenantId);
    await deps.audit.append({ tenantId, at, actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r-${tenantId}`, clientIp: null, userAgent: null });
  }
  const listed: string[] = [];
  for await (const tenant of deps.blobs.unsafeListTenants()) listed.push(tenant);
  expect(listed).toContain(mine);
  expect(listed).not.toContain(theirs);
  const partitions = (await deps.audit.unsafeListPartitions()).map((p) => p.tenantId);
  expect(partitions).toContain(mine);
  expect(partitions).not.toContain(theirs);
});
