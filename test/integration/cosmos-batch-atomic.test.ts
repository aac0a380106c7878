/**
 * The Cosmos protocol server runs a transactional batch all or nothing, as Cosmos DB does
 * (local/cosmos-atomic-batch.ts): a batch whose later operation fails leaves every item as it was,
 * with its etag, and answers 424 for the others. Unwrapped, the server kept the writes before the failure.
 */
import type { OperationInput } from '@azure/cosmos';
import { startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

it('a batch whose last operation fails changes nothing: no create, no replace, no delete, the same etags', async () => {
  const container = archive.host.deps.cosmos.tenants;
  const tenantId = `batch-${Date.now()}`;
  const kept = (await container.items.create({ id: 'kept', tenantId, v: 1 })).resource!;
  const gone = (await container.items.create({ id: 'gone', tenantId, v: 1 })).resource!;
  const operations: OperationInput[] = [
    { operationType: 'Create', partitionKey: tenantId, resourceBody: { id: 'new', tenantId } },
    { operationType: 'Replace', partitionKey: tenantId, id: 'kept', resourceBody: { id: 'kept', tenantId, v: 2 } },
    { operationType: 'Delete', partitionKey: tenantId, id: 'gone' },
    { operationType: 'Create', partitionKey: tenantId, resourceBody: { id: 'kept', tenantId } }, // taken: 409
  ];
  const res = await container.items.batch(operations, tenantId);
  expect(res.result?.map((r) => r.statusCode)).toEqual([424, 424, 424, 409]);
  expect((await container.item('new', tenantId).read()).statusCode).toBe(404);
  const keptNow = (await container.item('kept', tenantId).read()).resource!;
  expect({ v: keptNow.v, etag: keptNow._etag }).toEqual({ v: 1, etag: kept._etag });
  const goneNow = (await container.item('gone', tenantId).read()).resource!;
  expect({ v: goneNow.v, etag: goneNow._etag }).toEqual({ v: 1, etag: gone._etag });
  // The same ids are free or taken as before: a create of 'new' succeeds, of 'kept' conflicts.
  expect((await container.items.create({ id: 'new', tenantId })).statusCode).toBe(201);
  await expect(container.items.create({ id: 'kept', tenantId })).rejects.toMatchObject({ code: 409 });
});

it('a batch that succeeds keeps all of it', async () => {
  const container = archive.host.deps.cosmos.tenants;
  const tenantId = `batch-ok-${Date.now()}`;
  const res = await container.items.batch([{ operationType: 'Create', partitionKey: tenantId, resourceBody: { id: 'a', tenantId } }, { operationType: 'Upsert', partitionKey: tenantId, resourceBody: { id: 'b', tenantId } }], tenantId);
  expect(res.result?.map((r) => r.statusCode)).toEqual([201, 201]);
  expect((await container.item('b', tenantId).read()).statusCode).toBe(200);
});
