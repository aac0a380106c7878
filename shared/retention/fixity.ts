import { createHash } from 'node:crypto';
import type { Deps } from '../deps';
import type { AuditAction } from '../kernel/audit';
import { canonicalJson } from '../kernel/audit-chain';
import { blobLayout } from '../kernel/blob-layout';
import type { ArchivedDocument, MetadataCorrection } from '../kernel/document';
import { keptManifestOf, manifestByArchive, readManifestBytes } from '../documents/manifest';
import { readKeptBlob } from '../kept-blobs';
import type { StoredCorrection } from '../documents/correction-blobs';
import { unsafeWalkActiveDocuments } from './sweep';
import type { FixityRecord } from '../kernel/retention';
import type { Actor } from '../kernel/retention';
import { type UncheckedDocument, UncheckedDocuments } from './unchecked';
import { validationReportOf } from './update';

export const FIXITY_ACTOR: Actor = { subject: 'system:fixity-check', kind: 'system' };

export interface FixityInput {
  now: Date;
  /** A document checked less than this long ago is skipped. */
  cycleDays: number;
  maxItems: number;
  continuation: string | null;
}

export interface FixityResult {
  checked: number;
  failures: { tenantId: string; documentId: string; mismatched: string[]; missing: string[] }[];
  /** Catalog items the check could not look at (a malformed item, say): logged for an operator, skipped. */
  unchecked: UncheckedDocument[];
  continuation: string | null;
}

async function sha256Of(deps: Pick<Deps, 'blobs'>, tenantId: string, blobName: string): Promise<string | null> {
  const read = await deps.blobs.readIfExists(tenantId, blobName);
  if (!read) return null;
  const hash = createHash('sha256');
  for await (const chunk of read.stream) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The manifest still names this document, in this tenant, with the files and hashes the catalog holds (what a rebuild would index). */
export function manifestDescribes(bytes: Buffer, doc: ArchivedDocument): boolean {
  let manifest: Partial<ArchivedDocument>;
  try {
    manifest = JSON.parse(bytes.toString('utf8')) as Partial<ArchivedDocument>;
  } catch {
    return false;
  }
  const files = (d: Partial<ArchivedDocument>) => JSON.stringify([...(d.originals ?? []), d.rendition].map((f) => [f?.blobName, f?.sha256]));
  return typeof manifest === 'object' && manifest !== null && manifest.id === doc.id && manifest.tenantId === doc.tenantId && files(manifest) === files(doc);
}

/** A document's manifest as stored (null: none), read before its item is so a download waits for one round trip, not two. */
export type KeptManifestRead = Awaited<ReturnType<typeof readKeptBlob>>;
export function readManifest(tenantId: string, documentId: string, deps: Pick<Deps, 'blobs'>): Promise<KeptManifestRead> {
  return readKeptBlob(deps.blobs, tenantId, blobLayout.manifest(documentId));
}

/**
 * Whether the document's folder is the archive's: its manifest there ('missing' if not), describing the item and kept by
 * the archive ('mismatched' if either fails), as the fixity check judges it; null when it is. A download, the validation
 * worker and the export walk ask it (manifestWitnessOrDisposed) before they serve, vouch for or export a file the catalog
 * names (`read`: the manifest already read).
 */
export async function manifestWitness(doc: ArchivedDocument, deps: Pick<Deps, 'blobs' | 'audit' | 'log'>, read?: KeptManifestRead): Promise<'missing' | 'mismatched' | null> {
  const name = blobLayout.manifest(doc.id);
  // `read` null: read already, and not there (a second read would only repeat it).
  if (read === undefined) read = await readManifest(doc.tenantId, doc.id, deps);
  if (read === null) return 'missing';
  if (!manifestDescribes(read.bytes, doc)) return 'mismatched';
  return (await manifestByArchive(doc.tenantId, name, keptManifestOf(read.bytes, read.createdOn, name, read.etag), deps)) ? null : 'mismatched';
}

/**
 * manifestWitness for one about to serve, vouch for or export a file the item it read names (a download, the validation
 * worker, the export walk), with the one answer they share to a manifest missing: 'disposed' when the item, read again
 * (fresh), is no longer active or gone (the sweep disposing of it since it was read: the manifest goes last), else
 * 'missing' (its folder lost its manifest, or never had one). Each of them read the item again on its own.
 */
export async function manifestWitnessOrDisposed(doc: ArchivedDocument, deps: Pick<Deps, 'blobs' | 'audit' | 'log' | 'catalog'>, read?: KeptManifestRead): Promise<'missing' | 'mismatched' | 'disposed' | null> {
  const found = await manifestWitness(doc, deps, read);
  if (found !== 'missing') return found;
  return (await deps.catalog.get(doc.tenantId, doc.id))?.status === 'active' ? 'missing' : 'disposed';
}

/** A folder whose manifest is not the archive's (manifestWitness), alerted as the fixity check alerts it; `by`: who found it. */
export function logManifestNotKept(doc: Pick<ArchivedDocument, 'tenantId' | 'id'>, found: 'missing' | 'mismatched', by: string, log: Deps['log']): void {
  const name = blobLayout.manifest(doc.id);
  log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, mismatched: found === 'mismatched' ? [name] : [], missing: found === 'missing' ? [name] : [], found: `${by}: the manifest is not the archive's` });
}

/** A kept correction blob still holds this correction of this document, in this tenant. */
function correctionDescribes(bytes: Buffer, doc: ArchivedDocument, correction: MetadataCorrection): boolean {
  try {
    const kept = JSON.parse(bytes.toString('utf8')) as Partial<StoredCorrection> | null;
    return kept?.tenantId === doc.tenantId && kept.documentId === doc.id && JSON.stringify(kept.correction) === JSON.stringify(correction);
  } catch {
    return false;
  }
}

/** What a document's details are, for comparing the catalog's with what a manifest or a kept correction witnesses. */
const details = (metadata: unknown, fiscalYear: unknown, retentionClass: unknown) => canonicalJson({ metadata, fiscalYear, retentionClass });
/** Who uploaded a document and when: the manifest witnesses them at every metadata version (a correction changes neither). */
const upload = (d: Partial<ArchivedDocument>) => canonicalJson({ createdBy: d.createdBy, createdAt: d.createdAt });

/**
 * How long a correction may go without its blob before that is no longer its write failing and the reconciler's next
 * run: the reconciler writes only a correction the audit log holds (reconcile.ts CORRECTION_UNAUDITED), so one forged in
 * the catalog stays without a witness, and is not vouched for past this.
 */
export const UNKEPT_CORRECTION_GRACE_MS = 86_400_000;

/**
 * The blob that witnesses the catalog's details at its metadata version and says other ones, or null. The manifest is the
 * document as ingested, each kept correction the metadata, fiscal year and retention class it left: the catalog's
 * metadata, fiscal year and retention class must be the ones of its version's witness. A catalog item edited behind the
 * archive's back (an amount, a counterparty, a fiscal year, a shorter retention class) was served, searched, exported in
 * manifest.csv and verified offline as the document's, and the fixity check and an export compared only its files.
 * A version whose correction is not stored yet (its write after the catalog's failed) is the reconciler's to write: no
 * witness yet. The uploader and upload time (`createdBy`, `createdAt`) are the manifest's at every version (a correction
 * changes neither): an export refuses to vouch for a document whose catalog item names others too.
 * `manifest`: the manifest's bytes, already read; `kept`: the current version's correction, if read.
 */
export async function detailsWitnessDiffers(doc: ArchivedDocument, manifest: Buffer, deps: Pick<Deps, 'blobs'>, now: Date, kept?: Buffer | null): Promise<string | null> {
  const version = doc.metadataVersion ?? 1;
  const catalog = details(doc.metadata, doc.fiscalYear, doc.retention.class);
  const manifestName = blobLayout.manifest(doc.id);
  let m: Partial<ArchivedDocument>;
  try {
    m = JSON.parse(manifest.toString('utf8')) as Partial<ArchivedDocument>;
  } catch {
    return manifestName;
  }
  // The uploader and upload time too, which four eyes on a disposal compare. Broke: only the details were compared, and
  // an uploader renamed in Cosmos DB on the renamer's own upload (to approve its disposal) was found by nothing.
  if (upload(m) !== upload(doc)) return manifestName;
  if (version <= 1) return details(m.metadata, m.fiscalYear, m.retention?.class) === catalog ? null : manifestName;
  const name = blobLayout.correction(doc.id, version);
  const bytes = kept === undefined ? await readManifestBytes(deps, doc.tenantId, name) : kept;
  if (bytes === null) {
    const at = (doc.metadataHistory ?? []).find((c) => c.version === version)?.at;
    return at !== undefined && now.getTime() - Date.parse(at) < UNKEPT_CORRECTION_GRACE_MS ? null : name;
  }
  try {
    const stored = JSON.parse(bytes.toString('utf8')) as Partial<StoredCorrection>;
    return details(stored.correction?.metadata, stored.fiscalYear, stored.retention?.class) === catalog ? null : name;
  } catch {
    return name;
  }
}

/**
 * Re-reads the stored files of one document and compares their SHA-256 with the catalog: the
 * originals, the rendition and the veraPDF report (the evidence of the PDF/A claim); the manifest
 * must still describe the document, since a catalog rebuild indexes from it, and be the archive's (manifest.ts
 * manifestByArchive: sealed, or from before the seal with its ingest's audit entry): one planted by whoever can write
 * blobs (indexed before manifests were sealed) matched the blobs its planter wrote and witnessed nothing.
 */
export async function checkDocument(doc: ArchivedDocument, deps: Pick<Deps, 'blobs' | 'audit' | 'log'>, now = new Date()): Promise<{ mismatched: string[]; missing: string[] }> {
  const mismatched: string[] = [];
  const missing: string[] = [];
  for (const file of [...doc.originals, doc.rendition, ...validationReportOf(doc)]) {
    const actual = await sha256Of(deps, doc.tenantId, file.blobName);
    if (actual === null) missing.push(file.blobName);
    else if (actual !== file.sha256) mismatched.push(file.blobName);
  }
  // The kept corrections are, with the manifest, what a catalog rebuild indexes from (correction-blobs.ts): one that no
  // longer holds the catalog's correction would restore forged metadata. Checked as the manifest is; one not stored yet
  // (its write after the catalog's failed) is the reconciler's to write, not damage.
  let current: Buffer | null = null;
  for (const c of doc.metadataHistory ?? []) {
    const name = blobLayout.correction(doc.id, c.version);
    const kept = await readManifestBytes(deps, doc.tenantId, name);
    if (kept !== null && !correctionDescribes(kept, doc, c)) mismatched.push(name);
    if (c.version === doc.metadataVersion) current = kept;
  }
  const manifestName = blobLayout.manifest(doc.id);
  const read = await readManifest(doc.tenantId, doc.id, deps);
  const witness = await manifestWitness(doc, deps, read);
  if (witness === 'missing') missing.push(manifestName);
  else if (witness === 'mismatched') mismatched.push(manifestName);
  else {
    const manifest = read!.bytes;
    // The details the catalog serves (metadata, fiscal year, retention class) against their witness: a correction blob
    // of the current version the catalog's history has no entry for is read on its own.
    const differs = await detailsWitnessDiffers(doc, manifest, deps, now, (doc.metadataHistory ?? []).some((c) => c.version === doc.metadataVersion) ? current : undefined);
    if (differs !== null && !mismatched.includes(differs)) mismatched.push(differs);
  }
  return { mismatched, missing };
}

/** Records a check on the catalog item and, when something is wrong, logs and audits it. */
export async function recordFixity(doc: ArchivedDocument, found: { mismatched: string[]; missing: string[] }, at: Date, action: AuditAction, actor: Actor, deps: Pick<Deps, 'retention' | 'audit' | 'log'>): Promise<void> {
  const ok = found.mismatched.length === 0 && found.missing.length === 0;
  const record: FixityRecord = { checkedAt: at.toISOString(), ok, ...(found.mismatched.length ? { mismatched: found.mismatched } : {}), ...(found.missing.length ? { missing: found.missing } : {}) };
  for (let attempt = 0; attempt < 5; attempt++) {
    const current = await deps.retention.catalog.getVersioned(doc.tenantId, doc.id);
    if (!current || current.item.status !== 'active') return;
    if ((await deps.retention.catalog.replace({ ...current.item, fixity: record }, current.etag)) !== 'conflict') break;
  }
  if (!ok) {
    deps.log.error(FIXITY_MISMATCH, { tenantId: doc.tenantId, documentId: doc.id, ...found });
    await deps.audit.append({
      tenantId: doc.tenantId,
      at: at.toISOString(),
      actor,
      action,
      target: doc.id,
      outcome: 'failed',
      status: 500,
      requestId: `${actor.subject}:${at.toISOString()}`,
      clientIp: null,
      userAgent: null,
      detail: [...found.mismatched.map((n) => `mismatch:${n.split('/').pop()}`), ...found.missing.map((n) => `missing:${n.split('/').pop()}`)].join(',').slice(0, 300),
    });
  }
}

/** Operators are alerted on this exact phrase (infra/main.bicep, fixityAlert). */
export const FIXITY_MISMATCH = 'fixity mismatch: stored files differ from the catalog or are missing';

/**
 * Fixity check: re-reads stored blobs over a cycle (each document at most once per
 * `cycleDays`) and compares SHA-256 with the catalog. Bounded; returns a continuation.
 */
export async function checkFixity(input: FixityInput, deps: Pick<Deps, 'retention' | 'blobs' | 'audit' | 'log'>): Promise<FixityResult> {
  const due = input.now.getTime() - input.cycleDays * 86_400_000;
  const unchecked = new UncheckedDocuments('fixity check', deps.log);
  const result: FixityResult = { checked: 0, failures: [], unchecked: unchecked.documents, continuation: null };
  const walk = await unsafeWalkActiveDocuments(deps, input.continuation, input.maxItems, (tenantId, doc) =>
    unchecked.check(tenantId, String(doc.id), async () => {
      if (doc.fixity && doc.fixity.ok && new Date(doc.fixity.checkedAt).getTime() > due) return false;
      const found = await checkDocument(doc, deps, input.now);
      await recordFixity(doc, found, input.now, 'document.fixity-failed', FIXITY_ACTOR, deps);
      if (found.mismatched.length || found.missing.length) result.failures.push({ tenantId, documentId: doc.id, ...found });
      return true;
    }, true),
  );
  return { ...result, checked: walk.visited, continuation: walk.continuation };
}

/** For /health/ready: documents whose last check found damage (no tenant data). */
export async function unsafeFixityReport(deps: Pick<Deps, 'retention'>): Promise<{ status: 'ok' | 'failures'; damagedDocuments: number }> {
  const damagedDocuments = await deps.retention.catalog.unsafeCountFixityFailures();
  return { status: damagedDocuments === 0 ? 'ok' : 'failures', damagedDocuments };
}
