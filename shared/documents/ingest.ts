import type { Deps } from '../deps';
import { personOf, type Principal } from '../kernel/principal';
import { blobLayout } from '../kernel/blob-layout';
import { ArchiveError } from '../kernel/errors';
import { MIN_REMAINING_RETENTION_MS } from '../kernel/retention-rules';
import { idFromIdempotencyKey, sha256, uuidv7 } from '../ids';
import { canonicalJson } from '../kernel/audit-chain';
import type { CreateOnlyOutcome, SpooledFile } from '../ports';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { removeSpooled, SpoolShare, spoolPath } from '../spool';
import { checkStatedFiscalYear, checkStoredPolicy, resolveRetention } from '../retention/policy';
import { tenantPolicy } from '../retention/tenant-policy';
import { metadataDiff, metadataHistoryOf } from './correct-metadata';
import { manifestByArchive, readKeptManifest, sealedManifest } from './manifest';
import { ArchivedDocument, OriginalFile, parseMetadata, TDocumentMetadata, tombstoneMetadata } from '../kernel/document';
import type { NormaliseResult } from '../normalise/types';
import type { TTenantRetentionPolicy } from '../kernel/retention';

/**
 * One uploaded file: in memory (`sha256` when the upload parser already hashed the bytes while
 * receiving them), or spooled to a temporary file that the caller removes afterwards.
 */
export type IngestFile = { fileName: string | null } & ({ bytes: Buffer; sha256?: string; spooled?: undefined } | { bytes?: undefined; spooled: SpooledFile });

export interface IngestCommand {
  principal: Principal;
  files: IngestFile[];
  metadata: unknown;
  /** Validated (ids.ts idempotencyKeyOf; the request pipeline does it for the upload). */
  idempotencyKey: string | null;
  /** The request's success audit entry, stored in a new document's catalog batch (the audit outbox); without it the caller audits on its own. */
  audit?: AuditStaging;
}

export interface IngestResult {
  document: ArchivedDocument;
  /** True when an earlier request with the same Idempotency-Key already created it. */
  replayed: boolean;
}

type IngestDeps = Pick<Deps, 'blobs' | 'catalog' | 'clock' | 'config' | 'retention' | 'normaliser' | 'validationRequests' | 'log' | 'audit'>;

/** What the steps share: the command, the ports, and what earlier steps found. */
export interface IngestContext {
  readonly cmd: IngestCommand;
  readonly deps: IngestDeps;
  metadata?: TDocumentMetadata;
  /** SHA-256 of each original, in upload order. */
  hashes?: string[];
  /** The original's hash, or the hash of all originals' hashes: what duplicates and retries are recognised by. */
  contentKey?: string;
  id?: string;
  now?: Date;
  /** Fiscal year, retention class and retain-until, fixed from the tenant's policy before the duplicate check. */
  retention?: { fiscalYear: number; retention: { class: string; retainUntil: string } };
  normalised?: NormaliseResult | NormaliseResult<SpooledFile>;
  /** Temporary files this ingest made (a spooled upload's rendition), removed when it ends, whatever the outcome. */
  readonly temporaryFiles: string[];
  /** The spool disk they hold of the tenant's share, given back once they are removed. */
  readonly spoolShares: SpoolShare[];
  originals?: OriginalFile[];
  document?: ArchivedDocument;
  /** The three things startWork sets going at once, awaited in this order by the next three steps: the stored policy, */
  storedPolicy?: Promise<TTenantRetentionPolicy>;
  /** the duplicate check's verdict, */
  duplicateVerdict?: Promise<IngestResult | void>;
  /** and the conversion to the archival rendition (in a worker thread). */
  conversion?: Promise<NormaliseResult | NormaliseResult<SpooledFile>>;
}

/** One named step. It answers early (a replay) by returning a result; it refuses by throwing; otherwise the next step runs. */
export interface IngestStep {
  readonly name: string;
  run(ctx: IngestContext): Promise<IngestResult | void> | IngestResult | void;
}

/**
 * ingest = [parseRequest, hashContent, checkIdempotency, startWork, fixRetention, checkDuplicate, normalise, describe, store, index, requestValidation].
 * startWork issues the policy read and the duplicate read and starts the conversion together (one
 * wait instead of three in a row); their outcomes are judged in that order, whatever finishes first.
 * The audit entry is appended by the request pipeline, once, after the outcome is known; a new
 * document's is staged by the caller and stored with its catalog item (the audit outbox).
 */
export const INGEST_STEPS: readonly IngestStep[] = [
  { name: 'parseRequest', run: parseRequest },
  { name: 'hashContent', run: hashContent },
  { name: 'checkIdempotency', run: checkIdempotency },
  { name: 'startWork', run: startWork },
  { name: 'fixRetention', run: fixRetention },
  { name: 'checkDuplicate', run: checkDuplicate },
  { name: 'normalise', run: normalise },
  { name: 'describe', run: describe },
  { name: 'store', run: store },
  { name: 'index', run: index },
  { name: 'requestValidation', run: askForValidation },
];

export async function ingestDocument(cmd: IngestCommand, deps: IngestDeps): Promise<IngestResult> {
  const result = await runIngestSteps(INGEST_STEPS, { cmd, deps, temporaryFiles: [], spoolShares: [] });
  if (!result.replayed || cmd.principal.permissions.has('documents:read')) return result;
  return { document: await firstAnswer(deps, result.document), replayed: true };
}

/**
 * A replay to a principal that may not read documents (a write-only client key) is the first answer: the
 * document as ingested (its manifest), not what others added since: legal holds with their case references,
 * corrections, approvals. A disposed document has no manifest left (nor is one the archive did not write its answer);
 * its tombstone goes without them.
 */
async function firstAnswer(deps: Pick<Deps, 'blobs' | 'audit' | 'log'>, document: ArchivedDocument): Promise<ArchivedDocument> {
  const manifest = await readManifest(deps, document.tenantId, document.id);
  if (manifest && manifest !== 'unsealed') return manifest;
  const { holds: _h, disposalApproval: _a, disposal: _d, fixity: _f, validation: _v, metadataHistory: _m, metadataVersion: _n, ...asIngested } = document;
  return { ...asIngested, metadata: metadataHistoryOf(document).versions[0]!.metadata, legalHold: false };
}

/** Runs the steps in order; the first answer ends the ingest, a throw refuses it, and after the last step the described document is new. */
export async function runIngestSteps(steps: readonly IngestStep[], ctx: IngestContext): Promise<IngestResult> {
  try {
    for (const step of steps) {
      const answer = await step.run(ctx);
      if (answer) return answer;
    }
    return { document: need(ctx.document, 'document'), replayed: false };
  } finally {
    await ctx.conversion?.catch(() => undefined); // a temporary file is removed only once the worker is done with it
    await Promise.all(ctx.temporaryFiles.map((path) => removeSpooled(path)));
    for (const share of ctx.spoolShares) share.giveBack();
  }
}

/** What an earlier step must have set; missing means the step list is out of order (a programming error). */
function need<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new Error(`ingest: ${name} is set by an earlier step`);
  return value;
}

function parseRequest(ctx: IngestContext): void {
  ctx.metadata = parseMetadata(ctx.cmd.metadata);
}

function hashContent(ctx: IngestContext): void {
  const { cmd, deps } = ctx;
  const hashes = cmd.files.map((f) => (f.spooled ? f.spooled.sha256 : (f.sha256 ?? sha256(f.bytes))));
  ctx.hashes = hashes;
  ctx.contentKey = hashes.length === 1 ? hashes[0]! : sha256(hashes.join('\n'));
  // With an Idempotency-Key the id is derived from it and the person, so their retry lands on the same document.
  ctx.id = cmd.idempotencyKey ? idFromIdempotencyKey(cmd.principal.tenantId, personOf(cmd.principal), cmd.idempotencyKey) : uuidv7(deps.clock.now().getTime());
}

/** A retry of a request that already archived (or wrote the manifest of) this document is answered with it. */
async function checkIdempotency(ctx: IngestContext): Promise<IngestResult | void> {
  const { cmd, deps } = ctx;
  if (!cmd.idempotencyKey) return;
  const tenantId = cmd.principal.tenantId;
  const id = need(ctx.id, 'id');
  const indexed = await deps.catalog.get(tenantId, id);
  const earlier = indexed ?? (await readManifest(deps, tenantId, id));
  if (!earlier) return;
  if (earlier === 'unsealed') throw plantedManifestRefusal(id);
  if (earlier.contentKey !== need(ctx.contentKey, 'contentKey') || !sameOriginals(earlier, need(ctx.hashes, 'hashes'))) {
    throw new ArchiveError('idempotency_key_reused', { detail: 'This Idempotency-Key was already used for a different upload.', extensions: { documentId: earlier.id } });
  }
  assertSameRequest(earlier, sentOf(ctx));
  if (!indexed) await completeIndex(earlier, cmd.principal, cmd.audit, deps);
  return { document: earlier, replayed: true };
}

/**
 * Class, fiscal year and retain-until from the tenant's policy, before the duplicate check: metadata the
 * policy refuses is refused whether or not the bytes are archived. Judged after it, a refusal told a
 * principal who may not read documents, without archiving anything, whether these bytes are archived.
 */
async function fixRetention(ctx: IngestContext): Promise<void> {
  const { cmd, deps } = ctx;
  const metadata = need(ctx.metadata, 'metadata');
  const now = need(ctx.now, 'now');
  const policy = await need(ctx.storedPolicy, 'storedPolicy');
  try {
    checkStoredPolicy(policy);
  } catch (err) {
    deps.log.error('stored retention policy refused at ingest', { tenantId: cmd.principal.tenantId });
    throw err;
  }
  checkStatedFiscalYear(metadata, policy.fiscalYearEndMonth);
  ctx.retention = resolveRetention(policy, metadata, now);
  refuseEndedRetention(ctx.retention, now);
}

/**
 * A document whose retention has already ended (an old fiscal year, or an old date) is refused before
 * anything is stored: storage cannot lock a file until a past date (Azure refuses the immutability
 * policy, which was a 500), and the sweep would dispose of it at once. A longer class keeps it.
 */
function refuseEndedRetention({ fiscalYear, retention }: { fiscalYear: number; retention: { class: string; retainUntil: string } }, now: Date): void {
  if (Date.parse(retention.retainUntil) - now.getTime() >= MIN_REMAINING_RETENTION_MS) return;
  throw new ArchiveError('retention_ended', {
    detail: `Retention class ${retention.class} keeps documents of fiscal year ${fiscalYear} until ${retention.retainUntil.slice(0, 10)}, which has passed (or is within a day): there is nothing to keep it for, and storage cannot lock a file until a past date. Send a longer retentionClass if it must be kept.`,
    extensions: { fiscalYear, retentionClass: retention.class, retainUntil: retention.retainUntil },
  });
}

/**
 * Sets going, at once, what the next three steps judge: the tenant's retention policy as stored (the
 * retain-until is locked into the blobs for good, and another instance may have just lengthened a
 * class), the duplicate check's point read and the conversion. Each is awaited by its own step, in
 * that order, so a refusal is the one it was when they ran one after another; a refused upload's
 * conversion is waited for (and its temporary file removed) when the ingest ends.
 */
function startWork(ctx: IngestContext): void {
  const { cmd, deps } = ctx;
  ctx.now = deps.clock.now();
  ctx.storedPolicy = tenantPolicy(cmd.principal.tenantId, deps, { fresh: true });
  ctx.duplicateVerdict = duplicateVerdict(ctx);
  ctx.conversion = convert(ctx);
  // Each is awaited by a later step, or left when an earlier one refuses: never an unhandled rejection meanwhile.
  for (const pending of [ctx.storedPolicy, ctx.duplicateVerdict, ctx.conversion]) pending.catch(() => undefined);
}

/**
 * SHA-256 duplicate check: the same original bytes are archived once per tenant. Its verdict is
 * taken after the policy's (a refusal by the policy tells nothing about what is archived) and
 * before anything is stored or the conversion's own outcome is known.
 */
async function checkDuplicate(ctx: IngestContext): Promise<IngestResult | void> {
  return need(ctx.duplicateVerdict, 'duplicateVerdict');
}

async function duplicateVerdict(ctx: IngestContext): Promise<IngestResult | void> {
  const { deps } = ctx;
  const duplicate = await deps.catalog.findByContentKey(ctx.cmd.principal.tenantId, need(ctx.contentKey, 'contentKey'));
  if (!duplicate || !sameOriginals(duplicate, need(ctx.hashes, 'hashes'))) return;
  // Indexed since the idempotency check by a concurrent request with this key and these files: a replay.
  if (duplicate.id === ctx.id) {
    assertSameRequest(duplicate, sentOf(ctx));
    return { document: duplicate, replayed: true };
  }
  throw duplicateRefusal(duplicate, ctx.cmd.principal, deps);
}

/** Which document it is, only to a principal that may read it: a write-only client key learns that, not what. */
function duplicateRefusal(duplicate: ArchivedDocument, principal: Principal, deps: Pick<Deps, 'config'>): ArchiveError {
  if (!principal.permissions.has('documents:read')) return new ArchiveError('duplicate_document', { detail: 'These original bytes are already archived.' });
  return new ArchiveError('duplicate_document', {
    detail: `These original bytes are already archived as document ${duplicate.id}.`,
    extensions: { documentId: duplicate.id, location: `${deps.config.ARCHIVE_PUBLIC_BASE_PATH}/documents/${duplicate.id}` },
  });
}

/**
 * The content key of several files is the hash of their hashes' text, which is also the key of one file whose
 * bytes are that text: only the same originals, in the same order, are the same upload. Without this, such a
 * file (refused by the normaliser, so nothing stored) told whether a multi-file document was archived, and named it.
 */
function sameOriginals(document: ArchivedDocument, hashes: readonly string[]): boolean {
  return document.originals.length === hashes.length && document.originals.every((o, i) => o.sha256 === hashes[i]);
}

/** The conversion, in a worker thread: decoding must not stall the host's other requests. */
function convert(ctx: IngestContext): Promise<NormaliseResult | NormaliseResult<SpooledFile>> {
  const { cmd, deps } = ctx;
  const limits = {
    maxPixelsPerPage: deps.config.ARCHIVE_MAX_PIXELS_PER_PAGE,
    maxPages: deps.config.ARCHIVE_MAX_PAGES,
    maxPixelsPerRequest: deps.config.ARCHIVE_MAX_PIXELS_PER_REQUEST,
    maxDecodedPixelsPerRequest: deps.config.ARCHIVE_MAX_DECODED_PIXELS_PER_REQUEST,
  };
  const input = {
    files: cmd.files.map((f, i) => ({ ...(f.spooled ? { spooled: f.spooled } : { bytes: f.bytes, sha256: need(ctx.hashes, 'hashes')[i]! }), fileName: f.fileName ?? undefined })),
    documentId: need(ctx.id, 'id'),
    createdAt: need(ctx.now, 'now').toISOString(),
    title: need(ctx.metadata, 'metadata').reference,
    limits,
  };
  // The tenant is whose turn it is at the workers: one tenant's pile of conversions never queues another's behind it.
  const owner = cmd.principal.tenantId;
  if (!cmd.files.some((f) => f.spooled)) return deps.normaliser.normalise(input, owner);
  // A spooled upload's rendition goes to a temporary file too, never into memory, and counts against the tenant's
  // share of the spool disk as the upload's files do: uncounted, one tenant's large uploads held twice their share.
  // Its size is known once written; until then it is taken as the uploaded bytes it is made from.
  const share = new SpoolShare(owner, deps.config.ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT);
  const estimate = cmd.files.reduce((sum, f) => sum + (f.spooled ? f.spooled.size : f.bytes.length), 0);
  const refused = share.take(estimate);
  if (refused) return Promise.reject(refused);
  ctx.spoolShares.push(share);
  const renditionPath = spoolPath('rendition', deps.config.ARCHIVE_SPOOL_DIR);
  ctx.temporaryFiles.push(renditionPath);
  return deps.normaliser.normaliseToFile(input, renditionPath, owner).then((result) => {
    share.takeWritten(result.rendition.size - estimate);
    return result;
  });
}

async function normalise(ctx: IngestContext): Promise<void> {
  ctx.normalised = await need(ctx.conversion, 'conversion');
}

/** Builds the ArchivedDocument: originals' names, the rendition, and the retention fixed before. */
function describe(ctx: IngestContext): void {
  const { cmd } = ctx;
  const { tenantId } = cmd.principal;
  const id = need(ctx.id, 'id');
  const hashes = need(ctx.hashes, 'hashes');
  const result = need(ctx.normalised, 'normalised');
  const metadata = need(ctx.metadata, 'metadata');
  const now = need(ctx.now, 'now');
  const originals: OriginalFile[] = cmd.files.map((f, i) => {
    const sniffed = result.originals[i]!;
    const blobName = blobLayout.original(id, i, cmd.files.length, sniffed.extension);
    return { mediaType: sniffed.mediaType, size: f.spooled ? f.spooled.size : f.bytes.length, sha256: hashes[i]!, fileName: f.fileName, blobName };
  });
  ctx.originals = originals;
  const { fiscalYear, retention } = need(ctx.retention, 'retention');
  ctx.document = {
    id,
    tenantId,
    type: 'document',
    status: 'active',
    pages: result.pageCount,
    original: originals[0]!,
    originals,
    contentKey: need(ctx.contentKey, 'contentKey'),
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
    createdAt: now.toISOString(),
    createdBy: { subject: cmd.principal.subject, kind: cmd.principal.kind, person: cmd.principal.person ?? cmd.principal.subject },
    ...(cmd.idempotencyKey ? { idempotencyKey: cmd.idempotencyKey } : {}),
  };
}

/**
 * Write order: rendition, originals, manifest (all create-only with WORM); the catalog follows.
 * With an Idempotency-Key the rendition's name is the same for every request of the person with this key,
 * whatever its files, so it is written first and decides which concurrent request owns the
 * document; it records the content key so that a loser can tell a retry from a reused key.
 * Without a key the id is a fresh UUIDv7 no other request can name: there is no owner to decide,
 * and the rendition and originals are written together (one round trip's wait, not two).
 * The manifest always comes last: its presence says every blob of the document is stored.
 */
async function store(ctx: IngestContext): Promise<IngestResult | void> {
  const { cmd, deps } = ctx;
  const { tenantId } = cmd.principal;
  const { id, contentKey } = need(ctx.document, 'document');
  await deps.blobs.prepareTenant(tenantId);
  const writeRendition = () => {
    const document = need(ctx.document, 'document');
    const rendition = need(ctx.normalised, 'normalised').rendition;
    const worm = wormOf(document);
    // What a retry needs to make the same rendition again, should this attempt stop before its manifest (adoptEarlierAttempt).
    const renditionMetadata = { sha256: document.rendition.sha256, contentkey: contentKey, createdat: document.createdAt, request: requestHash(sentOf(ctx)) };
    return Buffer.isBuffer(rendition)
      ? deps.blobs.putCreateOnly(tenantId, document.rendition.blobName, rendition, 'application/pdf', worm, renditionMetadata)
      : deps.blobs.putFileCreateOnly(tenantId, document.rendition.blobName, rendition, 'application/pdf', worm, renditionMetadata);
  };
  let writes: CreateOnlyOutcome[];
  if (cmd.idempotencyKey) {
    let rendition = await writeRendition();
    if (rendition === 'different' && (await adoptEarlierAttempt(ctx))) rendition = await writeRendition();
    if (rendition === 'different') return answerLoser(deps, tenantId, id, contentKey, sentOf(ctx), cmd.principal, cmd.audit);
    // The rendition has decided the owner: the originals go at once, in parallel (one round trip's wait, not one per file).
    writes = await Promise.all(writeOriginals(ctx));
  } else {
    writes = await Promise.all([writeRendition(), ...writeOriginals(ctx)]);
  }
  const document = need(ctx.document, 'document');
  const worm = wormOf(document);
  // Sealed by the archive (manifest.ts): only such a manifest is indexed by the reconciler or adopted by a retry.
  const manifest = await sealedManifest(document, deps);
  // Only a request whose every blob is its own (or byte-identical) may write the manifest.
  if (writes.includes('different')) return answerLoser(deps, tenantId, id, contentKey, sentOf(ctx), cmd.principal, cmd.audit);
  const manifestState = await deps.blobs.putCreateOnly(tenantId, blobLayout.manifest(id), manifest, 'application/json', worm, { contentkey: contentKey });
  if (manifestState !== 'created') return answerLoser(deps, tenantId, id, contentKey, sentOf(ctx), cmd.principal, cmd.audit);
}

/** The WORM protection every blob of the document is written with: its retain-until and hold flag. */
const wormOf = (document: ArchivedDocument) => ({ retainUntil: document.retention.retainUntil, legalHold: document.legalHold });

function writeOriginals(ctx: IngestContext): Promise<CreateOnlyOutcome>[] {
  const { cmd, deps } = ctx;
  const { tenantId } = cmd.principal;
  const document = need(ctx.document, 'document');
  const worm = wormOf(document);
  return need(ctx.originals, 'originals').map((original, i) => {
    const file = cmd.files[i]!;
    const meta = { sha256: original.sha256, contentkey: document.contentKey };
    return file.spooled ? deps.blobs.putFileCreateOnly(tenantId, original.blobName, file.spooled, original.mediaType, worm, meta) : deps.blobs.putCreateOnly(tenantId, original.blobName, file.bytes, original.mediaType, worm, meta);
  });
}

/**
 * The rendition under this key is taken, by an attempt with these files and this request that has written no manifest:
 * stopped part-way (its blobs, then a crash or a storage fault), or still running. The rendition embeds the moment it
 * was made, so this attempt's own never matched it, and every retry with the key was told `idempotency_in_flight`
 * forever: the key could never archive its scan. This attempt takes the earlier one's moment instead (and the
 * retention that moment fixes) and converts again: the same rendition, so it may go on, and at most one manifest is
 * written (create-only), the other attempt replaying it. Another request under the key (other files or metadata) is
 * left to answerLoser. True when it converted again.
 */
async function adoptEarlierAttempt(ctx: IngestContext): Promise<boolean> {
  const { cmd, deps } = ctx;
  const { tenantId } = cmd.principal;
  const document = need(ctx.document, 'document');
  const stored = await deps.blobs.metadataOf(tenantId, document.rendition.blobName);
  if (!stored || stored.contentkey !== document.contentKey || stored.request !== requestHash(sentOf(ctx))) return false;
  const createdAt = stored.createdat;
  if (createdAt === undefined || createdAt === document.createdAt || Number.isNaN(Date.parse(createdAt))) return false;
  if (await readManifest(deps, tenantId, document.id)) return false; // written meanwhile: answerLoser replays it
  ctx.now = new Date(createdAt);
  await fixRetention(ctx);
  ctx.conversion = convert(ctx);
  ctx.conversion.catch(() => undefined);
  await normalise(ctx);
  describe(ctx);
  return true;
}

/** What the rendition records of the request that made it: its metadata and file names (the files are the content key). */
function requestHash(sent: SentRequest): string {
  return sha256(canonicalJson([sent.metadata, sent.fileNames]));
}

/** The catalog item, its content-key marker and the request's audit entry (if staged), all or none. */
async function index(ctx: IngestContext): Promise<void> {
  const document = need(ctx.document, 'document');
  // 'exists': an earlier attempt indexed it, and this batch stored nothing; the caller audits the request itself.
  const created = await writeWithAuditEntry(ctx.cmd.audit, { target: document.id }, (outbox) => ctx.deps.catalog.create(document, outbox), (r) => r === 'created');
  if (created === 'duplicate') throw await indexedTwiceRefusal(document, ctx.cmd.principal, ctx.deps);
}

/**
 * Another upload of the same bytes passed the duplicate check at the same moment and was indexed first (it holds the
 * content-key marker): this one is that duplicate's 409; its blobs are left to the reconciler, which lists the folder.
 */
async function indexedTwiceRefusal(document: ArchivedDocument, principal: Principal, deps: Pick<Deps, 'catalog' | 'config'>): Promise<ArchiveError> {
  const holder = await deps.catalog.findByContentKey(document.tenantId, document.contentKey);
  return holder ? duplicateRefusal(holder, principal, deps) : new ArchiveError('duplicate_document', { detail: 'These original bytes are already archived.' });
}

/** Gathered and sent after the answer (shared/validation/request.ts): the document is stored and indexed, the answer does not depend on it. */
function askForValidation(ctx: IngestContext): void {
  ctx.deps.validationRequests.add(need(ctx.document, 'document'));
}

/**
 * A concurrent request with the same Idempotency-Key owns the document's blobs. Its manifest,
 * once written, is the answer (a replay) if it holds the same files; different files are a
 * reused key; without a manifest yet the owner has not finished, so the caller retries later.
 */
async function answerLoser(deps: Pick<Deps, 'blobs' | 'catalog' | 'config' | 'audit' | 'log'>, tenantId: string, id: string, contentKey: string, sent: SentRequest, principal: Principal, audit: AuditStaging | undefined): Promise<IngestResult> {
  const winner = await readManifest(deps, tenantId, id);
  if (winner === 'unsealed') throw plantedManifestRefusal(id);
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
  assertSameRequest(winner, sent);
  await completeIndex(winner, principal, audit, deps);
  return { document: winner, replayed: true };
}

/**
 * Completes an attempt that stopped between its manifest and its catalog item: the item goes in with this request's
 * entry in the same batch, as `index` writes it. Written alone, an item stored by a retry whose answer was then lost
 * (a timeout) entered the catalog with no success entry at all, the retry's own entry saying it failed.
 */
async function completeIndex(document: ArchivedDocument, principal: Principal, audit: AuditStaging | undefined, deps: Pick<Deps, 'catalog' | 'config'>): Promise<void> {
  // The same originals archived since under another id (an upload of them while this attempt was stopped): that
  // document is the archive's one of them, and this attempt's folder is left to the reconciler (listed as orphaned,
  // never indexed beside it). Completed, the bytes were catalogued twice.
  const holder = await deps.catalog.findByContentKey(document.tenantId, document.contentKey);
  if (holder && holder.id !== document.id && sameOriginals(holder, document.originals.map((o) => o.sha256))) {
    // Catalogued already (two uploads of the bytes at once, the owner indexed before this loser looked): its replay stands.
    if (await deps.catalog.get(document.tenantId, document.id)) return;
    throw duplicateRefusal(holder, principal, deps);
  }
  const created = await writeWithAuditEntry(audit, { target: document.id }, (outbox) => deps.catalog.create(document, outbox), (r) => r === 'created');
  if (created === 'duplicate') throw await indexedTwiceRefusal(document, principal, deps);
}

/**
 * Document ids follow from the Idempotency-Key (ids.ts idFromIdempotencyKey: tenant, person, key; no secret): whoever
 * can create blobs and guesses a key (an invoice number) can plant the manifest of its folder before the upload, or
 * between an attempt's blobs and its manifest. Never adopted: it was indexed with whatever details, retention and blob
 * hashes it named, as the upload's own. This key can no longer archive (its manifest name is taken); another one can.
 */
function plantedManifestRefusal(id: string): ArchiveError {
  return new ArchiveError('idempotency_key_reused', { detail: 'The document folder of this Idempotency-Key holds a manifest the archive did not write (reported to operators); send the upload again under a new Idempotency-Key.', extensions: { documentId: id } });
}

/** What a retry must repeat besides the files: the metadata and the files' names. */
interface SentRequest {
  metadata: TDocumentMetadata;
  fileNames: (string | null)[];
}

const sentOf = (ctx: IngestContext): SentRequest => ({ metadata: need(ctx.metadata, 'metadata'), fileNames: ctx.cmd.files.map((f) => f.fileName) });

/**
 * A retry must be the same request: replaying the earlier answer for different metadata or file names
 * would silently drop what the caller sent. 422 names the fields that differ from what was archived
 * (as ingested, before any correction); metadata corrections go through PATCH /documents/{id}/metadata.
 */
function assertSameRequest(earlier: ArchivedDocument, sent: SentRequest): void {
  // A disposed document's tombstone keeps no names (dispose.ts tombstoneOf): the retry is compared on what it keeps.
  // Compared whole, the same request was told it was another upload (422), and a client sending it again under a new
  // key, as that answer suggests, archives the disposed document anew.
  const disposed = earlier.status === 'disposed';
  const differences = metadataDiff(metadataHistoryOf(earlier).versions[0]!.metadata as TDocumentMetadata, disposed ? tombstoneMetadata(sent.metadata) : sent.metadata).map((c) => c.field);
  earlier.originals.forEach((o, i) => {
    if (!disposed && o.fileName !== (sent.fileNames[i] ?? null)) differences.push(`originals[${i}].fileName`);
  });
  if (differences.length === 0) return;
  throw new ArchiveError('idempotency_key_reused', {
    detail: `This Idempotency-Key was already used for the same files with different metadata or file names (${differences.join(', ')}); correct the archived document's metadata with PATCH /documents/${earlier.id}/metadata instead.`,
    extensions: { documentId: earlier.id, differences },
  });
}

/** How long a request that lost the race for an Idempotency-Key is asked to wait before retrying. */
const IN_FLIGHT_RETRY_SECONDS = 2;

/**
 * The document's manifest, or null before its owner wrote it (one read, not a look and then a read); 'unsealed' when the
 * one stored is not the archive's (manifest.ts manifestByArchive, logged MANIFEST_UNSEALED): never an answer.
 */
async function readManifest(deps: Pick<Deps, 'blobs' | 'audit' | 'log'>, tenantId: string, id: string): Promise<ArchivedDocument | 'unsealed' | null> {
  const name = blobLayout.manifest(id);
  const kept = await readKeptManifest(deps, tenantId, name);
  if (!kept) return null;
  return (await manifestByArchive(tenantId, name, kept, deps)) ? kept.document : 'unsealed';
}
