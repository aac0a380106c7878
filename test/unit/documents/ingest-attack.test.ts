/**
 * Ingest under attack: what a valid principal of the tenant learns or gets from the duplicate check and
 * from Idempotency-Key replays that it could not learn by reading.
 */
import { createHash } from 'node:crypto';
import { correctMetadata } from '../../../shared/documents/correct-metadata';
import { ingestDocument } from '../../../shared/documents/ingest';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Permission, Principal } from '../../../shared/kernel/principal';
import type { NormaliseResult } from '../../../shared/normalise/types';
import { FakeNormaliser, inMemoryDeps } from '../../support/in-memory';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

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

/** Refuses every upload, as the real normaliser refuses bytes that are no scan. */
class RefusingNormaliser extends FakeNormaliser {
  override async normalise(): Promise<NormaliseResult> {
    throw new ArchiveError('unsupported_media_type', { detail: 'not an image' });
  }
}

it('a single file whose bytes are the hash list of several is not their duplicate', async () => {
  const deps = inMemoryDeps();
  const [a, b] = [Buffer.from([1, 1]), Buffer.from([2, 2])];
  await ingestDocument({ principal: uploader, files: [{ bytes: a, fileName: null }, { bytes: b, fileName: null }], metadata: {}, idempotencyKey: null }, deps);
  const forged = Buffer.from(`${sha(a)}\n${sha(b)}`);
  await expect(ingestDocument({ principal: writeOnly, files: [{ bytes: forged, fileName: null }], metadata: {}, idempotencyKey: null }, { ...deps, normaliser: new RefusingNormaliser() })).rejects.toMatchObject({ code: 'unsupported_media_type' });
  // The order counts; the same files in the same order are the duplicate.
  await expect(ingestDocument({ principal: uploader, files: [{ bytes: b, fileName: null }, { bytes: a, fileName: null }], metadata: {}, idempotencyKey: null }, deps)).resolves.toMatchObject({ replayed: false });
  await expect(ingestDocument({ principal: uploader, files: [{ bytes: a, fileName: null }, { bytes: b, fileName: null }], metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'duplicate_document' });
});

it('a duplicate names the archived document only to a principal that may read documents', async () => {
  const deps = inMemoryDeps();
  const { document } = await ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps);
  const refusal = await ingestDocument({ principal: writeOnly, files: scan(1), metadata: {}, idempotencyKey: null }, deps).catch((e: unknown) => e);
  expect(refusal).toMatchObject({ code: 'duplicate_document' });
  expect((refusal as ArchiveError).extensions).not.toHaveProperty('documentId');
  expect((refusal as ArchiveError).extensions).not.toHaveProperty('location');
  expect((refusal as ArchiveError).detail).not.toContain(document.id);
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'duplicate_document', extensions: { documentId: document.id } });
});

it('a retry with the same key and bytes but other file names is refused, not answered with the first names', async () => {
  const deps = inMemoryDeps();
  await ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: 'k-names' }, deps);
  await expect(ingestDocument({ principal: uploader, files: [{ bytes: Buffer.from([1, 1, 1]), fileName: 'other.png' }], metadata: {}, idempotencyKey: 'k-names' }, deps)).rejects.toMatchObject({ code: 'idempotency_key_reused', extensions: { differences: ['originals[0].fileName'] } });
});

it('a replay answers a principal without documents:read with the first answer, not what others added since (holds, corrections)', async () => {
  const deps = inMemoryDeps();
  const integration = { ...who('key-7', ['documents:write'], 'bob'), kind: 'client' as const };
  const first = await ingestDocument({ principal: integration, files: scan(1), metadata: { counterparty: 'Jansen' }, idempotencyKey: 'inv-7' }, deps);
  // Since then: a legal hold (with its case reference) and a correction, by people who may read the document.
  const stored = (await deps.catalog.get('acme', first.document.id))!;
  const hold = { id: 'h1', reason: 'Tax audit', caseReference: 'FIOD-2025-17', placedAt: '2025-03-02T00:00:00.000Z', placedBy: { subject: 'carl', kind: 'user' } };
  deps.catalog.documents.set(`acme/${stored.id}`, { ...stored, legalHold: true, holds: [hold] });
  const accountant = who('dora', ['documents:correct']);
  await correctMetadata({ principal: accountant, documentId: stored.id, patch: { counterparty: 'Jansen Holding B.V.' }, reason: 'full name', ifMatch: 1 }, deps);

  const replay = await ingestDocument({ principal: integration, files: scan(1), metadata: { counterparty: 'Jansen' }, idempotencyKey: 'inv-7' }, deps);
  expect(replay.replayed).toBe(true);
  expect(replay.document).toEqual(first.document);
  // Who may read it gets the document as it is now.
  const reader = { ...integration, permissions: new Set<Permission>(['documents:write', 'documents:read']) };
  await expect(ingestDocument({ principal: reader, files: scan(1), metadata: { counterparty: 'Jansen' }, idempotencyKey: 'inv-7' }, deps)).resolves.toMatchObject({ replayed: true, document: { holds: [hold], metadata: { counterparty: 'Jansen Holding B.V.' } } });
});

it('a stored retention policy below the legal floor (written around the API) fixes no retention: refused, nothing stored', async () => {
  const deps = inMemoryDeps();
  // An operator's direct write to the tenants container: PUT /retention/policy would refuse both.
  deps.retention.policies.policies.set('acme', { classes: [{ name: 'short', years: 2 }], defaultClass: 'short', requireDisposalApproval: false, fiscalYearEndMonth: 12 });
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: { retentionClass: 'short' }, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'invalid_retention_policy' });
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'invalid_retention_policy' });
  deps.retention.policies.policies.set('acme', { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: 0 });
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'invalid_retention_policy' });
  expect(deps.blobs.blobs.size).toBe(0);
  expect(deps.catalog.documents.size).toBe(0);
});

it('bytes of a document being disposed of are still archived (a duplicate, as the adapter answers); once it is a tombstone they may be archived again', async () => {
  const deps = inMemoryDeps();
  const { document } = await ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps);
  deps.catalog.documents.set(`acme/${document.id}`, { ...document, status: 'disposing' });
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps)).rejects.toMatchObject({ code: 'duplicate_document', extensions: { documentId: document.id } });
  deps.catalog.documents.set(`acme/${document.id}`, { ...document, status: 'disposed' });
  const again = await ingestDocument({ principal: uploader, files: scan(1), metadata: {}, idempotencyKey: null }, deps);
  expect(again.document.id).not.toBe(document.id);
});

it('a document whose retention has already ended is refused before anything is stored (storage cannot lock a file until a past date); a longer class keeps it', async () => {
  const deps = inMemoryDeps(); // now: 2025-03-01
  for (const metadata of [{ fiscalYear: 2016 }, { documentDate: '2017-06-30' }, { fiscalYear: 2017 }]) {
    const refusal = await ingestDocument({ principal: uploader, files: scan(1), metadata, idempotencyKey: null }, deps).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ArchiveError);
    expect(refusal).toMatchObject({ code: 'retention_ended', extensions: { retentionClass: 'fiscal-7y' } });
  }
  expect(deps.blobs.blobs.size).toBe(0);
  expect(deps.catalog.documents.size).toBe(0);
  // 2017 kept ten years (immovable property) is kept until 2028.
  const kept = await ingestDocument({ principal: uploader, files: scan(1), metadata: { fiscalYear: 2017, retentionClass: 'immovable-property-10y' }, idempotencyKey: null }, deps);
  expect(kept.document.retention.retainUntil).toBe('2028-01-01T00:00:00.000Z');
  // The last fiscal year still kept: 2018 until 2026-01-01.
  expect((await ingestDocument({ principal: uploader, files: scan(2), metadata: { fiscalYear: 2018 }, idempotencyKey: null }, deps)).document.retention.retainUntil).toBe('2026-01-01T00:00:00.000Z');
});

it('a retry that completes an attempt whose bytes were archived meanwhile under another id is the duplicate, not a second document of them', async () => {
  const deps = inMemoryDeps();
  // Anna's upload stops between its manifest and its catalog item (the create failed, nothing stored).
  const create = deps.catalog.create.bind(deps.catalog);
  deps.catalog.create = async () => {
    deps.catalog.create = create;
    throw new Error('catalog unavailable');
  };
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: { reference: 'anna' }, idempotencyKey: 'inv-7' }, deps)).rejects.toThrow('catalog unavailable');
  // Meanwhile another uploader archives the same bytes: nothing in the catalog holds them yet.
  const carl = who('carl', ['documents:write', 'documents:read']);
  const { document } = await ingestDocument({ principal: carl, files: scan(1), metadata: { reference: 'carl' }, idempotencyKey: null }, deps);
  // Anna's retry: the bytes are archived, as document B; her attempt's manifest is left to the reconciler (listed as orphaned).
  await expect(ingestDocument({ principal: uploader, files: scan(1), metadata: { reference: 'anna' }, idempotencyKey: 'inv-7' }, deps)).rejects.toMatchObject({ code: 'duplicate_document', extensions: { documentId: document.id } });
  const holding = [...deps.catalog.documents.values()].filter((d) => d.status !== 'disposed' && d.contentKey === sha(Buffer.from([1, 1, 1])));
  expect(holding.map((d) => d.id)).toEqual([document.id]);
  // A write-only key's retry learns only that they are archived.
  deps.catalog.create = async () => {
    deps.catalog.create = create;
    throw new Error('catalog unavailable');
  };
  await expect(ingestDocument({ principal: writeOnly, files: scan(3), metadata: {}, idempotencyKey: 'k-3' }, deps)).rejects.toThrow('catalog unavailable');
  await ingestDocument({ principal: carl, files: scan(3), metadata: {}, idempotencyKey: null }, deps);
  const refusal = await ingestDocument({ principal: writeOnly, files: scan(3), metadata: {}, idempotencyKey: 'k-3' }, deps).catch((err: ArchiveError) => err);
  expect(refusal).toMatchObject({ code: 'duplicate_document' });
  expect((refusal as ArchiveError).extensions.documentId).toBeUndefined();
});
