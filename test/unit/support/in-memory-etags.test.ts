/**
 * The in-memory catalog enforces If-Match as Cosmos does, else a unit test of a race proves nothing:
 * every write gets a new etag, of two replaces over one etag exactly one succeeds, and a read is a copy.
 */
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import type { RightsSetRecord } from '../../../shared/auth/rights-sets/rights-records';

const T = 'acme';

it('a write that leaves the item as long as before still gives it a new etag: a replace over the old one is refused', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01', amount: 100 } });
  const read = (await deps.retention.catalog.getVersioned(T, doc.id))!;
  expect(await deps.retention.catalog.replace({ ...read.item, metadata: { ...read.item.metadata, amount: 200 } }, read.etag)).not.toBe('conflict');
  expect(await deps.retention.catalog.replace({ ...read.item, metadata: { ...read.item.metadata, amount: 300 } }, read.etag)).toBe('conflict');
  expect((await deps.catalog.get(T, doc.id))!.metadata.amount).toBe(200);
});

it('two replaces over one etag at once: exactly one is written', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01' } });
  const read = (await deps.retention.catalog.getVersioned(T, doc.id))!;
  const outcomes = await Promise.all([
    deps.retention.catalog.replace({ ...read.item, metadata: { ...read.item.metadata, reference: 'first' } }, read.etag),
    deps.retention.catalog.replace({ ...read.item, metadata: { ...read.item.metadata, reference: 'second' } }, read.etag),
  ]);
  expect(outcomes.filter((o) => o === 'conflict')).toHaveLength(1);
  expect((await deps.catalog.get(T, doc.id))!.metadata.reference).toBe(outcomes[0] === 'conflict' ? 'second' : 'first');
});

it('an item read is a copy: changing it changes neither the stored item nor its etag', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01' } });
  const read = (await deps.retention.catalog.getVersioned(T, doc.id))!;
  read.item.legalHold = true;
  expect((await deps.catalog.get(T, doc.id))!.legalHold).toBe(false);
  expect((await deps.retention.catalog.getVersioned(T, doc.id))!.etag).toBe(read.etag);
});

it('a tenant record read is a copy, and of two replaces over one etag exactly one is written', async () => {
  const deps = inMemoryDeps();
  const set: RightsSetRecord = { id: 'rights-set:auditors', tenantId: T, type: 'rights-set', name: 'auditors', permissions: ['documents:read'], updatedAt: '2025-01-01T00:00:00.000Z', updatedBy: { subject: 'a', kind: 'user' } };
  await deps.tenantRecords.create(set);
  const read = (await deps.tenantRecords.get<RightsSetRecord>(T, set.id, 'rights-set'))!;
  read.value.permissions.push('documents:correct');
  expect((await deps.tenantRecords.get<RightsSetRecord>(T, set.id, 'rights-set'))!.value.permissions).toEqual(['documents:read']);
  const outcomes = await Promise.all([deps.tenantRecords.replace({ ...set, updatedAt: '2025-01-02T00:00:00.000Z' }, read.etag), deps.tenantRecords.replace({ ...set, updatedAt: '2025-01-03T00:00:00.000Z' }, read.etag)]);
  expect([...outcomes].sort()).toEqual(['conflict', 'replaced']);
});

it('a tenant record written relying on another is not written once that one changed, and a delete over an old etag deletes nothing', async () => {
  const deps = inMemoryDeps();
  const set: RightsSetRecord = { id: 'rights-set:auditors', tenantId: T, type: 'rights-set', name: 'auditors', permissions: ['documents:read'], updatedAt: '2025-01-01T00:00:00.000Z', updatedBy: { subject: 'a', kind: 'user' } };
  await deps.tenantRecords.create(set);
  const read = (await deps.tenantRecords.get<RightsSetRecord>(T, set.id, 'rights-set'))!;
  const other: RightsSetRecord = { ...set, id: 'rights-set:clerks', name: 'clerks' };
  const relying = (record: RightsSetRecord) => deps.tenantRecords.batch(T, [{ op: 'replace', record: read.value, ifMatch: read.etag }, { op: 'upsert', record }]);
  expect(await relying(other)).toBe('written');
  expect(await relying({ ...other, permissions: [] })).toBe('conflict');
  expect((await deps.tenantRecords.get<RightsSetRecord>(T, other.id, 'rights-set'))!.value.permissions).toEqual(['documents:read']);
  // A create of a taken id fails the whole batch: nothing of it is written.
  const widened: RightsSetRecord = { ...other, permissions: ['audit:read'] };
  expect(await deps.tenantRecords.batch(T, [{ op: 'upsert', record: widened }, { op: 'create', record: set }])).toBe('conflict');
  expect((await deps.tenantRecords.get<RightsSetRecord>(T, other.id, 'rights-set'))!.value.permissions).toEqual(['documents:read']);
  expect(await deps.tenantRecords.delete(T, set.id, undefined, read.etag)).toBe(false);
  const now = (await deps.tenantRecords.get<RightsSetRecord>(T, set.id, 'rights-set'))!;
  expect(await deps.tenantRecords.delete(T, set.id, undefined, now.etag)).toBe(true);
});
