/**
 * A document planted in storage, by whoever can create blobs in a tenant's container but holds no rights in the tenant
 * (a storage role, a leaked SAS): a folder of its own (an original, a rendition, a manifest naming them with their
 * SHA-256 and any details: a fake invoice), or the manifest of the folder an Idempotency-Key predicts. Only a manifest
 * the archive sealed (or, from before the seal, whose ingest the audit log holds) is indexed, adopted or a witness.
 * Each case marked "Broke" fails without its fix.
 */
import { createHash } from 'node:crypto';
import { ingestDocument } from '../../../shared/documents/ingest';
import { MANIFEST_UNSEALED } from '../../../shared/documents/manifest';
import { idFromIdempotencyKey, uuidv7 } from '../../../shared/ids';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { Permission, Principal } from '../../../shared/kernel/principal';
import { checkDocument } from '../../../shared/retention/fixity';
import { reconcile } from '../../../shared/retention/reconcile';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';

const T = 'acme';
const HOUR = 3_600_000;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const anna: Principal = { tenantId: T, subject: 'anna', kind: 'user', person: 'anna', rightsSet: 'clerk', permissions: new Set<Permission>(['documents:read', 'documents:write']) };
const scan = (n: number) => [{ bytes: Buffer.from([n, n, n]), fileName: 'scan.png' }];
const WORM = { retainUntil: '2033-01-01T00:00:00.000Z', legalHold: false };
const unsealed = (deps: InMemoryDeps) => (deps.log as RecordingLogger).lines.filter((l) => l.message === MANIFEST_UNSEALED);
const laterRun = (deps: InMemoryDeps) => reconcile({ now: new Date(deps.clock.now().getTime() + 2 * HOUR), maxItems: 100, continuation: null }, deps);

/** The fake invoice: an original, a rendition and a manifest naming them with their SHA-256, as ingest lays them out. */
async function plantFolder(deps: InMemoryDeps, id: string, seal: object = {}, manifestOnly = false): Promise<ArchivedDocument> {
  const original = Buffer.from(`fake invoice ${id}`);
  const rendition = Buffer.from(`%PDF-1.7\n% fake ${id}\n%%EOF\n`);
  const file = { mediaType: 'image/png', size: original.length, sha256: sha(original), blobName: `${id}/original.png`, fileName: 'invoice.png' };
  const doc = {
    id,
    tenantId: T,
    type: 'document',
    status: 'active',
    pages: 1,
    original: file,
    originals: [file],
    contentKey: file.sha256,
    rendition: { mediaType: 'application/pdf', size: rendition.length, sha256: sha(rendition), blobName: blobLayout.rendition(id), conformance: 'none' },
    conversion: { normaliser: 'fake', pageCount: 1, pages: [], conformance: 'none' },
    metadata: { documentType: 'invoice', counterparty: 'Shady Supplies BV', amount: { value: 9800, currency: 'EUR' }, documentDate: '2025-06-30' },
    fiscalYear: 2025,
    retention: { class: 'fiscal-7y', retainUntil: WORM.retainUntil },
    legalHold: false,
    createdAt: deps.clock.now().toISOString(),
    createdBy: { subject: 'anna', kind: 'user', person: 'anna' },
  } as unknown as ArchivedDocument;
  if (manifestOnly) return doc;
  await deps.blobs.prepareTenant(T);
  await deps.blobs.putCreateOnly(T, file.blobName, original, 'image/png', WORM, {});
  await deps.blobs.putCreateOnly(T, doc.rendition.blobName, rendition, 'application/pdf', WORM, {});
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(id), Buffer.from(JSON.stringify({ ...doc, ...seal })), 'application/json', WORM, {});
  return doc;
}

/** The catalog create fails once (an ingest that stops between its manifest and its catalog item). */
function failNextCreate(deps: InMemoryDeps): void {
  const create = deps.catalog.create.bind(deps.catalog);
  deps.catalog.create = async () => {
    deps.catalog.create = create;
    throw new Error('catalog unavailable');
  };
}

describe('the reconciler', () => {
  // Broke: it indexed every folder with a manifest and no catalog item after the orphan grace: the fake invoice was in
  // the tenant's search, its exports and manifest.csv, and the fixity check passed (the manifest matched the blobs).
  it('never indexes a planted folder, unsealed or sealed with a forged MAC; it is listed as orphaned, and an ingest that crashed is still indexed', async () => {
    const deps = inMemoryDeps();
    failNextCreate(deps);
    await expect(ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: null }, deps)).rejects.toThrow('catalog unavailable');
    const [plain, forged] = [uuidv7(), uuidv7()];
    await plantFolder(deps, plain);
    await plantFolder(deps, forged, { keyVersion: '1', mac: 'ab'.repeat(32) });
    const result = await laterRun(deps);
    expect(result.indexed).toHaveLength(1);
    expect(deps.catalog.documents.get(`${T}/${plain}`)).toBeUndefined();
    expect(deps.catalog.documents.get(`${T}/${forged}`)).toBeUndefined();
    expect(result.orphaned.map((o) => o.documentId).sort()).toEqual([plain, forged].sort());
    expect(unsealed(deps).map((l) => l.fields?.blob).sort()).toEqual([blobLayout.manifest(plain), blobLayout.manifest(forged)].sort());
    // The crashed ingest's manifest carries the archive's seal: indexed, and the crash case works as before.
    const indexed = result.indexed[0]!.split('/')[1]!;
    expect(deps.catalog.documents.get(`${T}/${indexed}`)).toMatchObject({ status: 'active', originals: [{ sha256: sha(Buffer.from([1, 1, 1])) }] });
    expect(deps.catalog.documents.get(`${T}/${indexed}`)).not.toHaveProperty('mac');
  });

  // Broke: an unsealed manifest was indexed whatever the log held. From before the seal, only one whose ingest the audit
  // log holds (a catalog lost or restored behind it) is; one without (planted, or a crash of that time) is left to an operator.
  it('indexes a manifest from before the seal only when the audit log holds its ingest', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
    const [ingested, planted] = [uuidv7(), uuidv7()];
    await plantFolder(deps, ingested);
    await plantFolder(deps, planted);
    const at = deps.clock.now().toISOString();
    await deps.audit.append({ tenantId: T, at, actor: { subject: 'anna', kind: 'user' }, action: 'document.ingest', target: ingested, outcome: 'success', status: 201, requestId: 'r-1', clientIp: null, userAgent: null });
    await deps.audit.append({ tenantId: T, at, actor: { subject: 'anna', kind: 'user' }, action: 'document.ingest', target: planted, outcome: 'failed', status: 500, requestId: 'r-2', clientIp: null, userAgent: null });
    const result = await laterRun(deps);
    expect(result.indexed).toEqual([`${T}/${ingested}`]);
    expect(result.orphaned.map((o) => o.documentId)).toEqual([planted]);
    expect(unsealed(deps).map((l) => l.fields?.blob)).toEqual([blobLayout.manifest(planted)]);
  });
});

describe('an upload under an Idempotency-Key', () => {
  const KEY = 'INV-2025-0042';
  /** The manifest a storage role plants under the id the key predicts: Anna's files and metadata, its own retention. */
  async function plantPredicted(deps: InMemoryDeps): Promise<string> {
    const id = idFromIdempotencyKey(T, 'anna', KEY);
    const doc = await plantFolder(deps, id, {}, true);
    const original = { ...doc.original, sha256: sha(Buffer.from([1, 1, 1])), fileName: 'scan.png' };
    const forged = { ...doc, contentKey: original.sha256, original, originals: [original], metadata: {}, fiscalYear: 2018, retention: { class: 'fiscal-7y', retainUntil: '2026-01-01T00:00:00.000Z' } };
    await deps.blobs.putCreateOnly(T, blobLayout.manifest(id), Buffer.from(JSON.stringify(forged)), 'application/json', WORM, {});
    return id;
  }

  // Broke: the id follows from tenant, person and key (no secret); the upload took the planted manifest for an earlier
  // attempt's and indexed it (checkIdempotency, completeIndex): Anna's scan catalogued with fiscal year 2018, kept
  // until 2026, and its blobs' hashes as the manifest named them.
  it('does not adopt a manifest planted before it', async () => {
    const deps = inMemoryDeps();
    const id = await plantPredicted(deps);
    await expect(ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: KEY }, deps)).rejects.toMatchObject({ code: 'idempotency_key_reused', extensions: { documentId: id } });
    expect(deps.catalog.documents.get(`${T}/${id}`)).toBeUndefined();
    expect(unsealed(deps).map((l) => l.fields?.blob)).toEqual([blobLayout.manifest(id)]);
    // Under another key the scan is archived, with the retention the policy gives it.
    const { document } = await ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: `${KEY}-b` }, deps);
    expect(document.retention.retainUntil).not.toBe('2026-01-01T00:00:00.000Z');
  });

  // Broke: planted while the upload converted (between its idempotency check and its writes), the manifest name was
  // taken; the upload answered as the loser of a race (answerLoser) and completed the "earlier attempt" from it.
  it('does not adopt a manifest planted while it runs, nor after an attempt that stopped before its manifest', async () => {
    const deps = inMemoryDeps();
    const prepare = deps.blobs.prepareTenant.bind(deps.blobs);
    let id = '';
    deps.blobs.prepareTenant = async (tenantId: string) => {
      deps.blobs.prepareTenant = prepare;
      id = await plantPredicted(deps);
      return prepare(tenantId);
    };
    await expect(ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: KEY }, deps)).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    expect(deps.catalog.documents.get(`${T}/${id}`)).toBeUndefined();
    // An attempt whose manifest write failed (a storage fault), then its retry, with the manifest planted as it runs.
    const other = inMemoryDeps();
    const put = other.blobs.putCreateOnly.bind(other.blobs);
    other.blobs.putCreateOnly = async (...args: Parameters<typeof put>) => {
      if (args[1].endsWith('/manifest.json')) {
        other.blobs.putCreateOnly = put;
        throw new Error('storage unavailable');
      }
      return put(...args);
    };
    await expect(ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: KEY }, other)).rejects.toThrow('storage unavailable');
    const planted = idFromIdempotencyKey(T, 'anna', KEY);
    expect(await other.blobs.exists(T, blobLayout.rendition(planted))).toBe(true);
    const again = other.blobs.prepareTenant.bind(other.blobs);
    other.blobs.prepareTenant = async (tenantId: string) => {
      other.blobs.prepareTenant = again;
      await plantPredicted(other);
      return again(tenantId);
    };
    (other.clock as FakeClock).advance(60_000);
    await expect(ingestDocument({ principal: anna, files: scan(1), metadata: {}, idempotencyKey: KEY }, other)).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    expect(other.catalog.documents.get(`${T}/${planted}`)).toBeUndefined();
  });
});

describe('the fixity check', () => {
  // Broke: the fixity check compared the manifest's files and details with the catalog's, never whose manifest it was:
  // a document indexed from a planted folder (before this change) passed, the blobs matching what the planter wrote.
  it('reports a document whose manifest is not sealed and whose ingest the audit log does not hold', async () => {
    const deps = inMemoryDeps();
    const doc = await plantFolder(deps, uuidv7());
    await deps.catalog.create(doc);
    expect(await checkDocument(doc, deps)).toEqual({ mismatched: [blobLayout.manifest(doc.id)], missing: [] });
    // One the archive ingested, sealed: nothing to report.
    const { document } = await ingestDocument({ principal: anna, files: scan(2), metadata: {}, idempotencyKey: null }, deps);
    expect(await checkDocument(document, deps)).toEqual({ mismatched: [], missing: [] });
  });
});
