import type { Deps } from '../deps';
import type { Principal } from '../kernel/principal';
import { blobLayout } from '../kernel/blob-layout';
import { ArchiveError } from '../kernel/errors';
import { idFromIdempotencyKey, sha256, uuidv7 } from '../ids';
import type { NormaliseResult } from '../normalise/types';
import type { CreateOnlyOutcome, SpooledFile } from '../ports';
import { removeSpooled, spoolPath } from '../spool';
import { resolveRetention } from '../retention/policy';
import { tenantPolicy } from '../retention/review';
import { requestValidation } from '../validation/request';
import { metadataDiff, metadataHistoryOf } from './correct-metadata';
import { ArchivedDocument, OriginalFile, parseMetadata, TDocumentMetadata } from '../kernel/document';

/**
 * One uploaded file: in memory (`sha256` when the upload parser already hashed the bytes while
 * receiving them), or spooled to a temporary file that the caller removes afterwards.
 */
export type IngestFile = { fileName: string | null } & ({ bytes: Buffer; sha256?: string; spooled?: undefined } | { bytes?: undefined; spooled: SpooledFile });

export interface IngestCommand {
  principal: Principal;
  files: IngestFile[];
  metadata: unknown;
  idempotencyKey: string | null;
}

export interface IngestResult {
  document: ArchivedDocument;
  /** True when an earlier request with the same Idempotency-Key already created it. */
  replayed: boolean;
}

/**
 * ingest = [validate, dedupe, normalise, hash, store (create-only, WORM), index].
 * The audit entry is appended by the request pipeline, once, after the outcome is known.
 */
export async function ingestDocument(cmd: IngestCommand, deps: Pick<Deps, 'blobs' | 'catalog' | 'clock' | 'config' | 'retention' | 'normaliser' | 'validationQueue' | 'log'>): Promise<IngestResult> {
  const { tenantId } = cmd.principal;
  const metadata = parseMetadata(cmd.metadata);
  if (cmd.idempotencyKey !== null && !/^[\x21-\x7e]{1,200}$/.test(cmd.idempotencyKey)) {
    throw new ArchiveError('bad_request', { detail: 'The Idempotency-Key must be 1–200 printable ASCII characters.' });
  }
  const hashes = cmd.files.map((f) => (f.spooled ? f.spooled.sha256 : (f.sha256 ?? sha256(f.bytes))));
  const contentKey = hashes.length === 1 ? hashes[0]! : sha256(hashes.join('\n'));

  const id = cmd.idempotencyKey ? idFromIdempotencyKey(tenantId, cmd.idempotencyKey) : uuidv7(deps.clock.now().getTime());
  if (cmd.idempotencyKey) {
    const earlier = (await deps.catalog.get(tenantId, id)) ?? (await readManifest(deps, tenantId, id));
    if (earlier) {
      if (earlier.contentKey !== contentKey) {
        throw new ArchiveError('idempotency_key_reused', { detail: 'This Idempotency-Key was already used for a different upload.', extensions: { documentId: earlier.id } });
      }
      assertSameMetadata(earlier, metadata);
      await deps.catalog.create(earlier); // completes an attempt that crashed before indexing
      return { document: earlier, replayed: true };
    }
  }

  const duplicate = await deps.catalog.findByContentKey(tenantId, contentKey);
  // Indexed since the check above by a concurrent request with this key and these files: a replay.
  if (duplicate && duplicate.id === id) {
    assertSameMetadata(duplicate, metadata);
    return { document: duplicate, replayed: true };
  }
  if (duplicate) {
    throw new ArchiveError('duplicate_document', {
      detail: `These original bytes are already archived as document ${duplicate.id}.`,
      extensions: { documentId: duplicate.id, location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${duplicate.id}` },
    });
  }

  const now = deps.clock.now();
  const createdAt = now.toISOString();
  const limits = {
    maxPixelsPerPage: deps.config.ARCHIVE_MAX_PIXELS_PER_PAGE,
    maxPages: deps.config.ARCHIVE_MAX_PAGES,
    maxPixelsPerRequest: deps.config.ARCHIVE_MAX_PIXELS_PER_REQUEST,
    maxDecodedPixelsPerRequest: deps.config.ARCHIVE_MAX_DECODED_PIXELS_PER_REQUEST,
  };
  // In a worker thread: decoding must not stall the host's other requests. A spooled upload's
  // rendition goes to a temporary file too (removed here, whatever happens), never into memory.
  const spooled = cmd.files.some((f) => f.spooled);
  const renditionPath = spooled ? spoolPath('rendition', deps.config.ARCHIVE_SPOOL_DIR) : undefined;
  try {
    const input = { files: cmd.files.map((f) => ({ ...(f.spooled ? { spooled: f.spooled } : { bytes: f.bytes }), fileName: f.fileName ?? undefined })), documentId: id, createdAt, title: metadata.reference, limits };
    const result = renditionPath !== undefined ? await deps.normaliser.normaliseToFile(input, renditionPath) : await deps.normaliser.normalise(input);
    return await store(cmd, deps, { id, now, metadata, contentKey, hashes }, result);
  } finally {
    await removeSpooled(renditionPath);
  }
}

/** Everything after the conversion: the document record, then its blobs and catalog item. */
async function store(
  cmd: IngestCommand,
  deps: Pick<Deps, 'blobs' | 'catalog' | 'clock' | 'config' | 'retention' | 'validationQueue' | 'log'>,
  { id, now, metadata, contentKey, hashes }: { id: string; now: Date; metadata: TDocumentMetadata; contentKey: string; hashes: string[] },
  result: NormaliseResult | NormaliseResult<SpooledFile>,
): Promise<IngestResult> {
  const { tenantId } = cmd.principal;
  const createdAt = now.toISOString();
  const originals: OriginalFile[] = cmd.files.map((f, i) => {
    const sniffed = result.originals[i]!;
    const blobName = blobLayout.original(id, i, cmd.files.length, sniffed.extension);
    return { mediaType: sniffed.mediaType, size: f.spooled ? f.spooled.size : f.bytes.length, sha256: hashes[i]!, fileName: f.fileName, blobName };
  });
  // Class and retain-until are fixed here, from the tenant's retention policy.
  const { fiscalYear, retention } = resolveRetention(await tenantPolicy(tenantId, deps), metadata, now);
  const document: ArchivedDocument = {
    id,
    tenantId,
    type: 'document',
    status: 'active',
    pages: result.pageCount,
    original: originals[0]!,
    originals,
    contentKey,
    rendition: {
      mediaType: 'application/pdf',
      ...(Buffer.isBuffer(result.rendition) ? { size: result.rendition.length, sha256: sha256(result.rendition) } : { size: result.rendition.size, sha256: result.rendition.sha256 }),
      blobName: blobLayout.rendition(id),
      conformance: result.conversion.conformance,
    },
    conversion: result.conversion,
    metadata,
    fiscalYear,
    retention,
    legalHold: false,
    createdAt,
    createdBy: { subject: cmd.principal.subject, kind: cmd.principal.kind, person: cmd.principal.person ?? cmd.principal.subject },
    ...(cmd.idempotencyKey ? { idempotencyKey: cmd.idempotencyKey } : {}),
  };

  // Write order: rendition, originals, manifest (all create-only with WORM), then the catalog.
  // The rendition's name is the same for every request with this Idempotency-Key, whatever
  // its files, so it is written first and decides which concurrent request owns the document;
  // it records the content key so that a loser can tell a retry from a reused key.
  await deps.blobs.prepareTenant(tenantId);
  const worm = { retainUntil: document.retention.retainUntil, legalHold: document.legalHold };
  const renditionMetadata = { sha256: document.rendition.sha256, contentkey: contentKey };
  const rendition = Buffer.isBuffer(result.rendition)
    ? await deps.blobs.putCreateOnly(tenantId, document.rendition.blobName, result.rendition, 'application/pdf', worm, renditionMetadata)
    : await deps.blobs.putFileCreateOnly(tenantId, document.rendition.blobName, result.rendition, 'application/pdf', worm, renditionMetadata);
  if (rendition === 'different') return answerLoser(deps, tenantId, id, contentKey, metadata);
  // The rendition has decided the owner: the originals go at once, in parallel (one round trip's wait, not one per file).
  const writes: CreateOnlyOutcome[] = await Promise.all(
    originals.map((original, i) => {
      const file = cmd.files[i]!;
      const meta = { sha256: original.sha256, contentkey: contentKey };
      return file.spooled ? deps.blobs.putFileCreateOnly(tenantId, original.blobName, file.spooled, original.mediaType, worm, meta) : deps.blobs.putCreateOnly(tenantId, original.blobName, file.bytes, original.mediaType, worm, meta);
    }),
  );
  const manifest = Buffer.from(JSON.stringify(document, null, 2));
  // Only a request whose every blob is its own (or byte-identical) may write the manifest.
  if (writes.includes('different')) return answerLoser(deps, tenantId, id, contentKey, metadata);
  const manifestState = await deps.blobs.putCreateOnly(tenantId, blobLayout.manifest(id), manifest, 'application/json', worm, { contentkey: contentKey });
  if (manifestState !== 'created') return answerLoser(deps, tenantId, id, contentKey, metadata);
  await deps.catalog.create(document);
  await requestValidation(document, deps); // never fails the upload: the document is stored
  return { document, replayed: false };
}

/**
 * A concurrent request with the same Idempotency-Key owns the document's blobs. Its manifest,
 * once written, is the answer (a replay) if it holds the same files; different files are a
 * reused key; without a manifest yet the owner has not finished, so the caller retries later.
 */
async function answerLoser(deps: Pick<Deps, 'blobs' | 'catalog'>, tenantId: string, id: string, contentKey: string, metadata: TDocumentMetadata): Promise<IngestResult> {
  const winner = await readManifest(deps, tenantId, id);
  const winnerKey = winner?.contentKey ?? (await deps.blobs.metadataOf(tenantId, blobLayout.rendition(id)))?.contentkey;
  if (winnerKey !== undefined && winnerKey !== contentKey) {
    throw new ArchiveError('idempotency_key_reused', { detail: 'This Idempotency-Key was already used for a different upload.', extensions: { documentId: id } });
  }
  if (!winner) {
    throw new ArchiveError('idempotency_in_flight', {
      detail: 'Another request with this Idempotency-Key and the same files is still being archived; retry to get its answer.',
      extensions: { documentId: id },
      retryAfterSeconds: IN_FLIGHT_RETRY_SECONDS,
    });
  }
  assertSameMetadata(winner, metadata);
  await deps.catalog.create(winner); // completes an attempt that crashed before indexing
  return { document: winner, replayed: true };
}

/**
 * A retry must be the same request: replaying the earlier answer for different metadata would
 * silently drop the caller's correction. 422 names the fields that differ from what was archived
 * (as ingested, before any correction); corrections go through PATCH /documents/{id}/metadata.
 */
function assertSameMetadata(earlier: ArchivedDocument, metadata: TDocumentMetadata): void {
  const differences = metadataDiff(metadataHistoryOf(earlier).versions[0]!.metadata as TDocumentMetadata, metadata).map((c) => c.field);
  if (differences.length === 0) return;
  throw new ArchiveError('idempotency_key_reused', {
    detail: `This Idempotency-Key was already used for the same files with different metadata (${differences.join(', ')}); correct the archived document with PATCH /documents/${earlier.id}/metadata instead.`,
    extensions: { documentId: earlier.id, differences },
  });
}

/** How long a request that lost the race for an Idempotency-Key is asked to wait before retrying. */
const IN_FLIGHT_RETRY_SECONDS = 2;


async function readManifest(deps: Pick<Deps, 'blobs'>, tenantId: string, id: string): Promise<ArchivedDocument | null> {
  if (!(await deps.blobs.exists(tenantId, blobLayout.manifest(id)))) return null;
  return JSON.parse((await deps.blobs.readAll(tenantId, blobLayout.manifest(id))).toString('utf8')) as ArchivedDocument;
}
