/**
 * Fast seeding for search and export tests: catalog items and blobs written straight through
 * the host's deps (the storage ports), not through HTTP ingest. The items have the same shape
 * ingest writes; the "rendition" is a tiny stand-in PDF, which is all a search or export needs.
 */
import { createHash } from 'node:crypto';
import type { Deps } from '../../shared/deps';
import type { ArchivedDocument, TDocumentMetadata } from '../../shared/kernel/document';
import { uuidv7 } from '../../shared/ids';
import { blobLayout } from '../../shared/kernel/blob-layout';
import { sealedManifest } from '../../shared/documents/manifest';
import { InMemoryBlobArchive, type InMemoryDeps } from './in-memory';
import type { AuditInput, AuditOutboxItem } from '../../shared/kernel/audit';
import type { LegalHold } from '../../shared/kernel/retention';
import { placeHold } from '../../shared/retention/holds/place-hold';
import { ownChangeStaging } from '../../shared/audit/outbox';
import { actorOf } from '../../shared/retention/update';

export interface SeedSpec {
  metadata: TDocumentMetadata;
  fiscalYear?: number;
  createdAt?: string;
  /** Original bytes; distinct per document. Default: a small unique text. */
  original?: Buffer;
  originalType?: string;
  fileName?: string;
  /** An audit outbox item to store in the catalog batch, as ingest does with its staged entry. */
  auditOutbox?: AuditOutboxItem;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const WORM = { retainUntil: '2099-01-01T00:00:00.000Z', legalHold: false };

export async function seedDocument(deps: Pick<Deps, 'blobs' | 'catalog' | 'audit'>, tenantId: string, spec: SeedSpec): Promise<ArchivedDocument> {
  const id = uuidv7();
  const original = spec.original ?? Buffer.from(`original of ${id}\n`);
  const originalType = spec.originalType ?? 'image/jpeg';
  const ext = originalType === 'application/pdf' ? 'pdf' : originalType.split('/')[1]!;
  const rendition = Buffer.from(`%PDF-1.7\n% rendition of ${id}\n%%EOF\n`);
  await deps.blobs.prepareTenant(tenantId);
  const originalFile = { mediaType: originalType, size: original.length, sha256: sha(original), blobName: `${id}/original.${ext}`, fileName: spec.fileName ?? `scan-${id.slice(-6)}.${ext}` };
  const doc = {
    id,
    tenantId,
    type: 'document',
    status: 'active',
    pages: 1,
    original: originalFile,
    originals: [originalFile],
    contentKey: originalFile.sha256,
    rendition: { mediaType: 'application/pdf', size: rendition.length, sha256: sha(rendition), blobName: `${id}/rendition.pdf`, conformance: 'none' },
    conversion: { normaliser: 'seed', pageCount: 1, pages: [], conformance: 'none' },
    metadata: spec.metadata,
    fiscalYear: spec.fiscalYear ?? Number((spec.metadata.documentDate ?? '2024').slice(0, 4)),
    retention: { class: 'fiscal-7y', retainUntil: WORM.retainUntil },
    legalHold: false,
    createdAt: spec.createdAt ?? new Date().toISOString(),
    createdBy: { subject: 'seed', kind: 'user' },
  } as unknown as ArchivedDocument;
  await deps.blobs.putCreateOnly(tenantId, originalFile.blobName, original, originalType, WORM, {});
  await deps.blobs.putCreateOnly(tenantId, doc.rendition.blobName, rendition, 'application/pdf', WORM, {});
  // The archive's sealed manifest, as ingest writes it before the item: every read path refuses a folder without one.
  await deps.blobs.putCreateOnly(tenantId, blobLayout.manifest(id), await sealedManifest(doc, deps), 'application/json', WORM, {});
  if (deps.blobs instanceof InMemoryBlobArchive) deps.blobs.seededManifests.add(`${tenantId}/${blobLayout.manifest(id)}`);
  await deps.catalog.create(doc, spec.auditOutbox);
  return doc;
}

/** Seed many documents, a few at a time. */
export async function seedMany(deps: Pick<Deps, 'blobs' | 'catalog' | 'audit'>, tenantId: string, specs: SeedSpec[], concurrency = 8): Promise<ArchivedDocument[]> {
  const out: ArchivedDocument[] = new Array<ArchivedDocument>(specs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < specs.length) {
        const i = next++;
        out[i] = await seedDocument(deps, tenantId, specs[i]!);
      }
    }),
  );
  return out;
}

/** A document past its retention in the catalog and on its blobs alike (retain-until `over`), with its manifest: one the sweep may dispose of. */
export async function seedDueDocument(deps: InMemoryDeps, tenantId: string, over: string): Promise<ArchivedDocument> {
  const seeded = await seedDocument(deps, tenantId, { metadata: {}, fiscalYear: 2017 });
  const doc = { ...seeded, retention: { ...seeded.retention, retainUntil: over } };
  deps.catalog.documents.set(`${tenantId}/${doc.id}`, doc);
  // Sealed as ingest writes it: an export takes only a manifest the archive kept (manifestByArchive).
  await deps.blobs.putCreateOnly(tenantId, blobLayout.manifest(doc.id), await sealedManifest(doc, deps), 'application/json', { retainUntil: over, legalHold: false }, {});
  for (const name of [doc.original.blobName, doc.rendition.blobName]) deps.blobs.blobs.get(`${tenantId}/${name}`)!.worm.retainUntil = over;
  return doc;
}

/**
 * The sealed manifest of `doc` as the catalog holds it, written as ingest writes one: for a test that sets an item's
 * uploader, upload time or retention by hand (seedDocument's manifest is of the item as seeded; this one replaces it). Four eyes on a disposal judge who
 * uploaded it by this manifest (retention/uploader-witness.ts): without it the document is skipped `uploader-unwitnessed`.
 */
export async function keepManifest(deps: Pick<Deps, 'blobs' | 'audit'>, doc: ArchivedDocument): Promise<void> {
  await deps.blobs.putCreateOnly(doc.tenantId, blobLayout.manifest(doc.id), await sealedManifest(doc, deps), 'application/json', { retainUntil: doc.retention?.retainUntil ?? null, legalHold: false }, {});
}

/**
 * A hold placed as the route places one: with its `legal-hold.place` entry, which its release judges four eyes by
 * (placement-witness.ts). placeHold alone, with no request's staging, writes none.
 */
export async function placeHoldWitnessed(cmd: Parameters<typeof placeHold>[0], deps: Pick<InMemoryDeps, 'auditOutbox'> & Parameters<typeof placeHold>[1]): Promise<LegalHold> {
  const entry = ownChangeStaging(deps.auditOutbox, { tenantId: cmd.principal.tenantId, at: deps.clock.now().toISOString(), actor: actorOf(cmd.principal), action: 'legal-hold.place', requestId: `seed-hold:${uuidv7(deps.clock.now().getTime())}` });
  const held = await placeHold({ ...cmd, audit: entry.staging }, deps);
  await entry.appended();
  return held;
}

/** A request's own staging of its `action` entry by `principal` (as the route's): `appended` appends it once stored. */
export function requestStaging(deps: Pick<InMemoryDeps, 'auditOutbox' | 'clock'>, principal: Parameters<typeof actorOf>[0] & { tenantId: string }, action: AuditInput['action']): ReturnType<typeof ownChangeStaging> {
  return ownChangeStaging(deps.auditOutbox, { tenantId: principal.tenantId, at: deps.clock.now().toISOString(), actor: actorOf(principal), action, requestId: `seed-request:${uuidv7(deps.clock.now().getTime())}` });
}
