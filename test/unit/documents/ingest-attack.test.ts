/**
 * Ingest under attack: what a valid principal of the tenant learns or gets from the duplicate check and
 * from Idempotency-Key replays that it could not learn by reading.
 */
import { ingestDocument } from '../../../shared/documents/ingest';
import type { Permission, Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const who = (subject: string, permissions: Permission[], person?: string): Principal => ({ tenantId: 'acme', subject, kind: 'user', rightsSet: 'custom', permissions: new Set(permissions), ...(person ? { person } : {}) });
const uploader = who('anna', ['documents:write', 'documents:read']);
const writeOnly = { ...who('key-1', ['documents:write'], 'bob'), kind: 'client' as const };
const scan = (n: number) => [{ bytes: Buffer.from([n, n, n]), fileName: 'scan.png' }];

it("another person's Idempotency-Key is not theirs: no replay of a document they did not upload, no refusal naming it", async () => {
  const deps = inMemoryDeps();
  const { document } = await ingestDocument({ principal: uploader, files: scan(1), metadata: { reference: 'secret' }, idempotencyKey: 'inv-2024-001' }, deps);
  const other = who('carl', ['documents:write', 'documents:read']);
  // Same key, same bytes, same metadata: a duplicate of an existing document, not a replay of Anna's upload.
  await expect(ingestDocument({ principal: other, files: scan(1), metadata: { reference: 'secret' }, idempotencyKey: 'inv-2024-001' }, deps)).rejects.toMatchObject({ code: 'duplicate_document' });
  // Same key, other bytes: Carl's own upload, archived.
  const carls = await ingestDocument({ principal: other, files: scan(2), metadata: {}, idempotencyKey: 'inv-2024-001' }, deps);
  expect(carls.replayed).toBe(false);
  expect(carls.document.id).not.toBe(document.id);
  // Anna's own retry, through another credential of hers (a key she created), is still a replay.
  const annasKey = { ...who('key-2', ['documents:write'], 'anna'), kind: 'client' as const };
  await expect(ingestDocument({ principal: annasKey, files: scan(1), metadata: { reference: 'secret' }, idempotencyKey: 'inv-2024-001' }, deps)).resolves.toMatchObject({ replayed: true, document: { id: document.id } });
});

it('metadata the retention policy refuses is refused before the duplicate check: no side-effect-free probe of what is archived', async () => {
  const deps = inMemoryDeps();
  await ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps);
  const probe = (n: number) => ingestDocument({ principal: writeOnly, files: scan(n), metadata: { retentionClass: 'no-such-class' }, idempotencyKey: null }, deps);
  await expect(probe(1)).rejects.toMatchObject({ code: 'invalid_metadata' });
  await expect(probe(2)).rejects.toMatchObject({ code: 'invalid_metadata' });
  const stated = (n: number) => ingestDocument({ principal: writeOnly, files: scan(n), metadata: { documentDate: '2024-03-01', fiscalYear: 1990 }, idempotencyKey: null }, deps);
  await expect(stated(1)).rejects.toMatchObject({ code: 'invalid_metadata' });
  expect(deps.catalog.documents.size).toBe(1);
});
