/**
 * Rights sets, rights assignments, the SoD policy and the retention policy kept in storage too, as revocations and
 * decisions are (revocation-blobs.ts, decision-blobs.ts). A set narrowed or deleted, an assignment removed, the SoD
 * policy or the retention policy tightened, in Cosmos DB only, came back wider from a point-in-time restore to before
 * the change, and acted again. Each change now also writes its resulting record (or its
 * removal) as a small create-only WORM blob in the tenant's container, `settings/<record id>/<revision>.json`, after
 * the record's write; `revision` is monotonic per record (`nextRevision`: the time of the change in ms, past the
 * previous one, carried over a removal by its trace record). Of requests only four eyes read them (keptRightsRecord:
 * releases and approvals; the round trips of an ingest or a download do not grow, issue #17): the reconciler timer, per
 * tenant, compares the newest stored revision of each record with Cosmos DB and writes a newer one back (a removal
 * removes), with an audit entry by system:settings-restore, logged as SETTING_RESTORED. Until it runs after the app
 * points at a restored account, a wider right restored acts (README *Backups and restore*).
 */
import type { AuditFilter, AuditLogPort, BlobArchivePort, ListedBlob, Logger, RetentionPoliciesPort, TenantRecord, TenantRecordsPort, TenantRecordWrite } from '../../ports';
import { type Sealed, sealWith, unsealedBecause } from '../../kernel/archive-seal';
import { type AuditAction, auditOutboxItem } from '../../kernel/audit';
import type { Actor, SafeguardMark, TTenantRetentionPolicy } from '../../kernel/retention';
import { checkStoredPolicy } from '../../retention/policy';
import { CHANGED } from '../../kernel/concurrency';
import { gateMoved, underRightsGate } from '../rights-gate';
import { SETTING_RESTORE_ACTOR, SETTING_RESTORED } from '../decision-blobs';
import { rightsAssignmentRecordId, type RightsAssignmentRecord, type RightsSetDeletedRecord, rightsSetDeletedRecordId, type RightsSetRecord, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from './rights-records';
import { forEachTenantKeeping, reportNotKept } from '../kept-in-storage';
import { judgedNotKept, keptDigest, readKeptBlob, rememberKept } from '../../kept-blobs';
import { auditHolds } from '../../audit/audit-pages';
import { readInstant } from '../../kernel/instant';
import { canonicalJson } from '../../kernel/audit-chain';
import { createHash } from 'node:crypto';

export const SETTINGS_PREFIX = 'settings/';

/**
 * How long a setting's blob is locked: a restore of Cosmos DB goes back at most 30 days (continuous backup), so a
 * revision older than that is already in any account a restore gives; twice that, for an operator's late restore.
 */
export const SETTINGS_KEPT_DAYS = 60;

/**
 * `settings/<record id>/<revision, 16 digits>.json`, `…-removed.json` for a removal: listed in revision order, and a
 * removal of a record Cosmos DB holds no more is passed over unread.
 */
export const settingBlobName = (recordId: string, revision: number, removed: boolean): string => `${SETTINGS_PREFIX}${recordId}/${String(revision).padStart(16, '0')}${removed ? '-removed' : ''}.json`;

/**
 * The revision of a record's next change: past `previous` (the record's, or its removal's trace's), and at least the time
 * of the change, so a change made on a record a restore took back is newer than what storage keeps of before it.
 */
export const nextRevision = (previous: number | undefined, now: Date): number => Math.max((previous ?? 0) + 1, now.getTime());

/**
 * What a kept setting's change names in its audit entry's detail: the revision it wrote. The keyed entry vouches for a
 * change whose blob write failed (answered 500) where nothing else the archive wrote does, and pins it to that very
 * revision: one forged at another revision finds no entry that names it (restoreSettings).
 */
export const keptRevisionDetail = (revision: number, kept: object): string => `kept-revision=${revision};kept-digest=${recordDigest(kept)}`;
/**
 * Whether the detail names `revision`, and the digest of `kept` (the record, or the removal's trace, as Cosmos DB holds it
 * now). Broke: named by its revision alone, a record edited in Cosmos DB under that revision between the failed blob
 * write and the reconciler was sealed as the change (an assignment made tenant-admin). An entry from before digests were
 * named vouches by its revision, as then.
 */
function namesKeptRevision(detail: unknown, revision: number, kept: object): boolean {
  if (typeof detail !== 'string') return false;
  const parts = detail.split(';');
  if (!parts.includes(`kept-revision=${revision}`)) return false;
  const digest = parts.find((p) => p.startsWith('kept-digest='));
  return digest === undefined || digest === `kept-digest=${recordDigest(kept)}`;
}

const SOD_POLICY_ID = 'sod-policy';
/** What is kept of the SoD policy's record (rights.ts SodPolicyRecord, which imports this file). */
interface SodPolicyRecord extends TenantRecord {
  type: 'sod-policy';
  updatedAt: string;
  revision?: number;
}
/**
 * What is kept of the retention policy's record: as the policy store writes it (adapters/azure/retention-store.ts
 * PolicyItem), a port of its own, not a tenant record written through TenantRecordsPort; written back through it.
 */
export const RETENTION_POLICY_ID = 'retention-policy';
export interface RetentionPolicyRecord extends TenantRecord, TTenantRetentionPolicy {
  id: typeof RETENTION_POLICY_ID;
  type: 'retention-policy';
  updatedAt: string;
  updatedBy: Actor;
  safeguards: SafeguardMark;
  revision: number;
}

/** The blob of a retention policy write, as `RetentionPoliciesPort.put` was given it: kept with `keepSetting` after the write. */
export function retentionPolicySetting(tenantId: string, policy: TTenantRetentionPolicy, at: string, by: Actor, safeguards: SafeguardMark, revision: number): Omit<StoredSetting, 'mac'> {
  const record: RetentionPolicyRecord = { ...policy, id: RETENTION_POLICY_ID, tenantId, type: 'retention-policy', updatedAt: at, updatedBy: by, safeguards, revision };
  return { tenantId, recordId: RETENTION_POLICY_ID, type: 'retention-policy', revision, at, record };
}

type KeptRecord = RightsSetRecord | RightsAssignmentRecord | SodPolicyRecord | RetentionPolicyRecord;
type KeptTrace = RightsSetDeletedRecord | RightsUnassignmentRecord;

/**
 * What a setting's blob holds: the record as the change left it, or its removal (null) with the removal's trace, and
 * the archive's seal over the rest.
 */
export interface StoredSetting extends Sealed {
  tenantId: string;
  recordId: string;
  type: KeptRecord['type'];
  revision: number;
  at: string;
  record: KeptRecord | null;
  trace?: KeptTrace;
}

/**
 * Kept settings carry the archive's seal (kernel/archive-seal.ts, purpose SETTING_SEAL). Unsealed, anyone able to create a
 * blob in a tenant's container (a storage role, no rights in the tenant) could plant
 * `settings/rights-assignment:<them>/<a later revision>.json` naming tenant-admin, and the reconciler wrote it into
 * Cosmos DB as a restored setting: rights from blob write access.
 */
const SETTING_SEAL = 'setting';

/** Operators are alerted on this exact phrase (infra/main.bicep, settingUnsealedAlert): a setting blob the archive did not write. */
export const SETTING_UNSEALED = 'setting in storage not sealed by the archive';

export type SettingsBlobs = Pick<BlobArchivePort, 'prepareTenant' | 'putCreateOnly' | 'readIfExists'>;
/** How far a removal's audit entry, and the revision it was given, may lie from the time its trace records (clocks, a slow request). */
const REMOVAL_WITNESS_MS = 5 * 60_000;

/**
 * Whether a removal's trace as Cosmos DB holds it (an assignment's removal, a set's deletion) is one the archive made, to
 * keep in storage when the removal is sent again (its blob write failed the first time): the audit log, keyed with the
 * chain key, holds the removal's success entry (`action` on `target`, within REMOVAL_WITNESS_MS of the trace's time), and
 * its revision is one the archive could have given it then (nextRevision: its time, not far ahead). Sealed unchecked,
 * whoever can write Cosmos DB (not Key Vault) deleted an assignment, left a trace of their own under a revision far
 * ahead of any the archive gives, and had it sealed by the next removal sent: a restore of Cosmos DB to before the
 * tamper had the reconciler remove the assignment again, and any made since, for as long as the blob is kept.
 * Kept `now`, sealed with the current key version: an entry keyed with one superseded before then witnesses nothing
 * (auditHolds), else the old version, leaked, had a trace of Cosmos DB's sealed so.
 */
export async function removalAudited(audit: Pick<AuditLogPort, 'list' | 'chainKeys'>, tenantId: string, filter: { target: string; action: AuditAction }, at: unknown, revision: unknown, now: Date): Promise<boolean> {
  const atMs = readInstant(at);
  if (atMs === null || typeof revision !== 'number' || !Number.isSafeInteger(revision) || revision > atMs + REMOVAL_WITNESS_MS) return false;
  return auditHolds(audit, tenantId, filter, [at as string], (e) => e.outcome === 'success' && Math.abs(Date.parse(e.at) - atMs) <= REMOVAL_WITNESS_MS, now.toISOString());
}

/** Where settings are kept, and the key they are sealed with. */
export interface SettingsKeeping {
  blobs: SettingsBlobs;
  audit: Pick<AuditLogPort, 'chainKeys'>;
  log: Pick<Logger, 'error'>;
}

/**
 * The setting blob `name` of `recordId` holds (read to SETTING_MAX_BYTES), and why it is not the archive's change that
 * `is` describes (null: it is, sealed): `unlike` when it is no setting or not that change, else why its seal fails.
 */
async function readSetting(deps: Pick<SettingsKeeping, 'audit'> & { blobs: Pick<BlobArchivePort, 'readIfExists'> }, tenantId: string, recordId: string, name: string, is: (setting: StoredSetting) => boolean, unlike: string): Promise<{ setting: StoredSetting | null; why: string | null }> {
  const read = await readKeptBlob(deps.blobs, tenantId, name, SETTING_MAX_BYTES);
  const setting = settingOf(read?.bytes.toString('utf8') ?? '', tenantId, recordId);
  return { setting, why: setting && is(setting) ? await unsealedBecause(SETTING_SEAL, setting, read?.createdOn ?? null, deps.audit.chainKeys) : unlike };
}

/** Writes the blob of a change of a kept setting, sealed, after the record's write (a first one written under the name stands). */
export async function keepSetting(setting: Omit<StoredSetting, 'mac' | 'keyVersion'>, deps: SettingsKeeping): Promise<void> {
  const retainUntil = new Date(Date.parse(setting.at) + SETTINGS_KEPT_DAYS * 86_400_000).toISOString();
  const sealed: StoredSetting = await sealWith(SETTING_SEAL, setting, deps.audit.chainKeys);
  await deps.blobs.prepareTenant(setting.tenantId);
  const name = settingBlobName(setting.recordId, setting.revision, setting.record === null);
  if ((await deps.blobs.putCreateOnly(setting.tenantId, name, Buffer.from(JSON.stringify(sealed)), 'application/json', { retainUntil, legalHold: false }, {})) !== 'different') return;
  // Taken unread as this change's own earlier write, a blob planted under the name the change was to be kept under (its
  // revision is a time, so a storage role that also writes Cosmos DB can foretell it) kept the change out of storage,
  // and the reconciler wrote the sealed change before it back over it, unannounced. It is read now and reported at the
  // change; the reconciler lets the change stand on its keyed entry (restoreSettings keptFromAudit), blob or none.
  const { why } = await readSetting(deps, setting.tenantId, setting.recordId, name, (stored) => stored.revision === setting.revision && recordDigest(stored.record ?? undefined) === recordDigest(setting.record ?? undefined), 'not this change');
  if (why !== null) reportNotKept(deps.log, SETTING_UNSEALED, setting.tenantId, name, why);
}

/**
 * Whether the newest retention policy the archive kept in storage (sealed; unsealed blobs passed over) requires disposal
 * approval; false when none is kept (a tenant that never stored a policy, or stored it before policies were kept). The
 * sweep asks it where the policy Cosmos DB holds says approval is not required: whoever could write Cosmos DB turned
 * approval off there (or deleted the policy), and the sweep disposed of documents nobody approved before the reconciler
 * wrote the kept policy back. A genuine lowering is kept too (after its write; one whose blob write failed is kept from
 * its audit entry by the reconciler): until then approval stays required, the safe side; so too where more unsealed blobs
 * lie above the newest sealed one than a run reads (newestKeptPolicy).
 */
export async function keptPolicyRequiresApproval(tenantId: string, deps: KeptGivingsDeps): Promise<boolean> {
  const kept = await newestKeptPolicy(tenantId, RETENTION_POLICY_ID, SETTINGS_JUDGED_PER_RUN, deps);
  if (kept === 'unjudged') return true;
  // A sealed removal: the policy's defaults, which do not require approval (an older kept one no longer speaks).
  if (kept === null || kept.record === null) return false;
  return kept.record.type !== 'retention-policy' || kept.record.requireDisposalApproval !== false;
}

/**
 * The newest sealed change storage keeps of a policy (never removed: the SoD or the retention policy), reading at most
 * `bound` blobs newest name first (each not sealed reported, and passed over unread by this instance's later looks);
 * 'unjudged' where more lie above it than that, or the folder holds more than KEPT_SETTINGS_LISTED. Broke: the revision sealed was not checked against the blob's name, so
 * whoever can write Cosmos DB and create blobs (not Key Vault) copied the tenant's old genuine weaker revision under a
 * later name; and a look that read its bound of planted blobs took Cosmos DB's word: either way a weakening made in
 * Cosmos DB alone stood.
 */
async function newestKeptPolicy(tenantId: string, recordId: string, bound: number, deps: KeptGivingsDeps): Promise<StoredSetting | 'unjudged' | null> {
  const listed = await keptRevisions(tenantId, recordId, deps);
  if (listed === 'unjudged') return 'unjudged';
  const kept = listed.filter((b) => !b.removed);
  const newest = await newestSealed(tenantId, recordId, kept, { left: bound }, (s, blob) => s.revision === blob.revision && (s.record === null || s.record.type === s.type), null, deps);
  return newest === null || newest === 'unjudged' ? newest : newest.setting;
}

/**
 * The newest of `blobs` (newest first) the archive sealed as `is` says, its digest, and its setting where read: one
 * remembered sealed (kept-blobs.ts keptDigest) with the digest `asStored` (what Cosmos DB holds) is taken unread. Reads
 * at most `reads.left` blobs ('unjudged' past them); each not sealed is reported, and passed over unread by this
 * instance's later looks.
 */
async function newestSealed(
  tenantId: string,
  recordId: string,
  blobs: readonly KeptName[],
  reads: { left: number },
  is: (setting: StoredSetting, blob: KeptName) => boolean,
  asStored: string | null,
  deps: KeptGivingsDeps,
): Promise<{ blob: KeptName; digest: string; setting: StoredSetting | null } | 'unjudged' | null> {
  for (const blob of blobs) {
    if (judgedNotKept(tenantId, blob)) continue;
    const digest = keptDigest(tenantId, blob);
    if (digest !== null && digest === asStored) return { blob, digest, setting: null };
    if (reads.left <= 0) return 'unjudged';
    reads.left--;
    const { setting, why } = await readSetting(deps, tenantId, recordId, blob.name, (s) => is(s, blob), 'not a setting');
    if (why !== null) {
      reportNotKept(deps.log, SETTING_UNSEALED, tenantId, blob.name, why, blob);
      continue;
    }
    const read = changeDigest(setting!.record, setting!.trace);
    // Remembered only as every reader would take it (a removal under a removal's name): a policy's look takes more.
    if ((setting!.record === null) === blob.removed) rememberKept(tenantId, blob, read);
    return { blob, digest: read, setting };
  }
  return null;
}

/**
 * The SoD policy a disposal approval (and the sweep) judges by: where Cosmos DB's lets the uploader approve, the newest
 * sealed SoD policy kept in storage speaks (as keptPolicyRequiresApproval for the retention policy). Broke: whoever could
 * write Cosmos DB set `uploaderCannotApproveDisposal: false` there (a weakening otherwise under four eyes) and approved
 * the disposal of their own upload before the reconciler wrote the kept policy back. A genuine weakening is kept too
 * (after its write): until then the rule stays on, the safe side. Where the rule is on, nothing is read. More unsealed
 * blobs above the newest sealed one than a look reads keep it on too (newestKeptPolicy).
 */
export async function sodPolicyAsKept<P extends { uploaderCannotApproveDisposal: boolean }>(tenantId: string, policy: P, deps: KeptGivingsDeps): Promise<P> {
  if (policy.uploaderCannotApproveDisposal) return policy;
  const kept = await newestKeptPolicy(tenantId, SOD_POLICY_ID, KEPT_GIVINGS_READS, deps);
  if (kept === null || (kept !== 'unjudged' && (kept.record as unknown as { uploaderCannotApproveDisposal?: unknown } | null)?.uploaderCannotApproveDisposal === false)) return policy;
  deps.log.error(SETTING_DIFFERS, { tenantId, id: SOD_POLICY_ID, revision: kept === 'unjudged' ? null : kept.revision });
  return { ...policy, uploaderCannotApproveDisposal: true };
}

const ACTIONS: Record<KeptRecord['type'], { put: AuditAction; remove: AuditAction; trace: KeptTrace['type'] | null }> = {
  'rights-set': { put: 'rights-set.put', remove: 'rights-set.delete', trace: 'rights-set-deleted' },
  'rights-assignment': { put: 'rights-assignment.put', remove: 'rights-assignment.delete', trace: 'rights-unassignment' },
  // The SoD policy and the retention policy are never removed.
  'sod-policy': { put: 'sod-policy.put', remove: 'sod-policy.put', trace: null },
  'retention-policy': { put: 'retention.policy-set', remove: 'retention.policy-set', trace: null },
};

/** A retention policy kept in storage is written back only as the store would take it from a person (checkStoredPolicy). */
function validRetentionPolicy(record: RetentionPolicyRecord): boolean {
  const { id: _i, tenantId: _t, type: _y, updatedAt: _a, updatedBy: _b, safeguards: _s, revision: _r, ...policy } = record;
  try {
    checkStoredPolicy(policy);
    return typeof record.updatedAt === 'string' && typeof record.safeguards === 'object' && record.safeguards !== null && record.revision > 0;
  } catch {
    return false;
  }
}

function settingOf(text: string, tenantId: string, recordId: string): StoredSetting | null {
  try {
    const v = JSON.parse(text) as Partial<StoredSetting>;
    const ok = v.tenantId === tenantId && v.recordId === recordId && (v.type === 'rights-set' || v.type === 'rights-assignment' || v.type === 'sod-policy' || v.type === 'retention-policy') && typeof v.revision === 'number' && typeof v.at === 'string' && v.record !== undefined;
    const record = v.record;
    if (record?.type === 'retention-policy' && (record.revision !== v.revision || !validRetentionPolicy(record))) return null;
    return ok && (record === null || (record !== undefined && record.id === recordId && record.tenantId === tenantId && record.type === v.type)) ? (v as StoredSetting) : null;
  } catch {
    return null;
  }
}

type KeptName = ListedBlob & { revision: number; removed: boolean };

/**
 * A kept record's digest, as compared with Cosmos DB's (system properties aside). Compared by revision alone, whoever can
 * write Cosmos DB widened an assignment, a set or a policy under the revision it had, and the reconciler found it in line.
 */
function recordDigest(record: object | undefined): string {
  const content = Object.fromEntries(Object.entries(record ?? {}).filter(([k]) => !k.startsWith('_')));
  return createHash('sha256').update(canonicalJson(JSON.parse(JSON.stringify(content)))).digest('hex');
}
const REMOVED_DIGEST = 'removed';

/** A change's digest as keptDigest remembers it: its record's, or (a removal) the removal's, with its trace where kept. */
const changeDigest = (record: object | null | undefined, trace: object | null | undefined): string =>
  record ? recordDigest(record) : trace ? `${REMOVED_DIGEST}:${recordDigest(trace)}` : REMOVED_DIGEST;

/**
 * The most a setting's blob is read of. The largest the archive writes is a retention policy of 50 classes, each with a
 * description of 300 characters (4 bytes each in UTF-8 at worst): about 70 KB; an assignment with 32 `givenBefore`
 * entries a few KiB. Read to KEPT_BLOB_MAX_BYTES (4 MiB), each blob planted above a record's newest sealed one cost
 * every run that much.
 */
export const SETTING_MAX_BYTES = 256 * 1024;

/**
 * Blobs a reconciler run judges not the archive's per tenant, at most (each read to SETTING_MAX_BYTES). Broke: a storage
 * role planted a thousand 4 MiB blobs above a record's newest sealed one, and every run read each (4 GB a run). Each
 * judged is remembered (kept-blobs.ts judgedNotKept) and passed over unread by later runs, so a pile larger than
 * this is read through over as many runs, the newest sealed change below it then written back.
 */
export const SETTINGS_JUDGED_PER_RUN = 64;

/**
 * Sealed blobs a reconciler run reads per tenant, at most, to check that what Cosmos DB holds of a record (its revision,
 * a removal's trace) is a change the archive kept (each read remembered by the instance: kept-blobs.ts judgedKept).
 */
export const SETTINGS_VOUCHED_PER_RUN = 256;

/**
 * Every revision per record among a tenant's setting blob names, newest first. Not only the newest: whoever can create a
 * blob in the container (a storage role, no rights in the tenant) can put an unsealed one under a later revision than
 * any the archive wrote, and read alone it hid the newest sealed one for good (an assignment removed after the restore
 * point stayed, its removal never written back, each run logging the planted blob).
 */
function revisionsByRecord(blobs: ListedBlob[]): Map<string, KeptName[]> {
  const byRecord = new Map<string, KeptName[]>();
  for (const blob of blobs) {
    const m = /^settings\/(.+)\/(\d{16})(-removed)?\.json$/.exec(blob.name);
    if (!m) continue;
    const kept = byRecord.get(m[1]!) ?? [];
    kept.push({ ...blob, revision: Number(m[2]), removed: m[3] !== undefined });
    byRecord.set(m[1]!, kept);
  }
  for (const kept of byRecord.values()) kept.sort((a, b) => b.revision - a.revision);
  return byRecord;
}

/** The id of the trace a removal of `recordId` leaves in Cosmos DB (a set's deletion, an assignment's removal; the same key after the prefix). */
function traceIdOf(recordId: string): string | null {
  if (recordId.startsWith('rights-set:')) return `rights-set-deleted:${recordId.slice('rights-set:'.length)}`;
  if (recordId.startsWith('rights-assignment:')) return `rights-unassignment:${recordId.slice('rights-assignment:'.length)}`;
  return null;
}

type Policies = Pick<RetentionPoliciesPort, 'getVersioned' | 'put'>;

/** The restore's audit entry for `setting`, written back now. */
function restoreEntry(setting: StoredSetting, now: Date) {
  const { tenantId, recordId } = setting;
  const at = now.toISOString();
  return auditOutboxItem([{ tenantId, at, actor: SETTING_RESTORE_ACTOR, action: setting.record ? ACTIONS[setting.type].put : ACTIONS[setting.type].remove, target: recordId, outcome: 'success', status: 200, requestId: `${SETTING_RESTORE_ACTOR.subject}:${recordId}:${setting.revision}:${at}`, clientIp: null, userAgent: null, detail: `setting-restored=${setting.revision}@${setting.at}` }]);
}

/** Logged (warn) for a kept setting's change written to storage by the reconciler from its audit entry: its own blob write had failed. */
export const SETTING_KEPT_FROM_AUDIT = 'setting kept in storage from its audit entry';

/**
 * Whether a record (or a removal's trace) names what its id is made of: an assignment its subject, a set its name. The
 * witness of an assignment's change is looked up by the subject the record names. Unchecked, whoever can write Cosmos
 * DB copied zoe's assignment, or the trace of zoe's removal, under ian's id at zoe's revision: zoe's keyed entry named
 * it, and the reconciler sealed zoe's set (or a removal) as ian's change.
 */
function namesItsRecord(recordId: string, type: KeptRecord['type'], content: Record<string, unknown>): boolean {
  if (type === 'rights-assignment') return typeof content.subject === 'string' && rightsAssignmentRecordId(content.subject) === recordId;
  if (type === 'rights-set') return typeof content.name === 'string' && `rights-set:${content.name}` === recordId;
  return true;
}

/** The audit entries that witness a change of a kept setting: its request's (action on target), or its proposal's approval (any target). */
function witnessesOf(type: KeptRecord['type'], recordId: string, subject: string | undefined, removed: boolean): (Pick<AuditFilter, 'target'> & { action: AuditAction })[] {
  switch (type) {
    case 'rights-set':
      return [{ action: removed ? 'rights-set.delete' : 'rights-set.put', target: recordId }];
    case 'rights-assignment':
      return subject === undefined ? [] : [{ action: removed ? 'rights-assignment.delete' : 'rights-assignment.put', target: `subject:${subject}` }];
    case 'sod-policy':
      return [{ action: 'sod-policy.put', target: 'sod-policy' }, { action: 'sod-policy.proposal-approve' }];
    case 'retention-policy':
      return [{ action: 'retention.policy-set', target: 'retention-policy' }, { action: 'retention.policy-proposal-approve' }];
  }
}

/**
 * Writes `setting` back over what Cosmos DB holds of its record (under the rights gate, as every rights change); false when
 * nothing needed it. `unbacked`: a revision Cosmos DB held, judged to stand on no sealed blob, which does not count as newer.
 */
async function writeBack(setting: StoredSetting, unbacked: number | null, now: Date, deps: { tenantRecords: TenantRecordsPort; retention: { policies: Policies } }): Promise<boolean> {
  const { tenantId, recordId, type } = setting;
  const kinds = ACTIONS[type];
  return underRightsGate('The rights set', tenantId, deps, async (gate) => {
    if (setting.record?.type === 'retention-policy') {
      // Through the policy store, as an approved lowering is: only over the version read, the gate moved, the entry in the same batch.
      const { policy: current, etag } = await deps.retention.policies.getVersioned(tenantId, { fresh: true });
      if ((current?.revision ?? 0) >= setting.revision && current?.revision !== unbacked) return false;
      const { id: _i, tenantId: _t, type: _y, updatedAt, updatedBy, safeguards, revision, ...policy } = setting.record;
      const written = await deps.retention.policies.put(tenantId, policy, updatedAt, updatedBy, safeguards, revision, restoreEntry(setting, now), { etag }, [gateMoved(gate, recordId)]);
      return written === 'written' ? true : CHANGED;
    }
    const current = await deps.tenantRecords.get<KeptRecord>(tenantId, recordId, type, { fresh: true });
    // Where the record is absent, a removal Cosmos DB kept (its trace) may be newer than the change storage keeps.
    const traceId = setting.trace?.id ?? (setting.record?.type === 'rights-set' ? rightsSetDeletedRecordId(setting.record.name) : setting.record?.type === 'rights-assignment' ? rightsUnassignmentRecordId(setting.record.subject) : undefined);
    const trace = !current && traceId && kinds.trace ? await deps.tenantRecords.get<KeptTrace>(tenantId, traceId, kinds.trace, { fresh: true }) : null;
    const held = current?.value.revision ?? trace?.value.revision ?? 0;
    if (held >= setting.revision && held !== unbacked) return false;
    if (!current && setting.record === null) {
      // The removal stands; only its trace, edited under the removal's revision, is written back as kept.
      if (!setting.trace || unbacked !== setting.revision) return false;
      return (await deps.tenantRecords.batch(tenantId, [gateMoved(gate, recordId), { op: 'upsert', record: setting.trace }], restoreEntry(setting, now))) === 'written' ? true : CHANGED;
    }
    const entry = restoreEntry(setting, now);
    const writes: TenantRecordWrite[] = [gateMoved(gate, recordId)];
    if (setting.record) writes.push(current ? { op: 'replace', record: setting.record, ifMatch: current.etag } : { op: 'create', record: setting.record });
    else writes.push(...(setting.trace ? [{ op: 'upsert' as const, record: setting.trace }] : []), { op: 'delete', id: recordId, ifMatch: current!.etag });
    return (await deps.tenantRecords.batch(tenantId, writes, entry)) === 'written' ? true : CHANGED;
  });
}

/**
 * Per instance: changes whose blob name a planted blob holds that their keyed entry vouched for, by tenant and name, with
 * the planted blob's ETag and the record's digest as vouched: the entry is looked for once, not every run.
 */
const vouchedByAudit = new Map<string, string>();
const VOUCHED_BY_AUDIT_MAX = 10_000;

/**
 * Reconciler: every rights set and assignment, and the SoD and retention policies, whose newest revision kept in
 * storage is newer than Cosmos DB's (a restore gave back an older one, or none where it had been removed) is written
 * back, oldest change first (a set before an assignment to it), logged as SETTING_RESTORED; the retention policy
 * through its own store (RetentionPoliciesPort.put), with the safeguard mark it was written with. Per tenant one listing of its setting blobs; only the newest
 * sealed blob of each record newer than Cosmos DB's is read (and any unsealed above it), and each of those records point-read. One failing tenant does not stop the rest.
 */
export async function restoreSettings(now: Date, deps: { blobs: Pick<BlobArchivePort, 'unsafeListTenants' | 'listedBlobs' | 'readIfExists' | 'prepareTenant' | 'putCreateOnly'>; tenantRecords: TenantRecordsPort; retention: { policies: Policies }; log: Pick<Logger, 'warn' | 'error'>; audit: Pick<AuditLogPort, 'chainKeys' | 'list'> }): Promise<string[]> {
  const restored: string[] = [];
  await forEachTenantKeeping(SETTINGS_PREFIX, 'rights settings', deps, async (tenantId, names) => {
    const revisions = revisionsByRecord(names);
    let judged = 0;
    // Each blob judged not the archive's: logged once per blob per instance, remembered, and counted against the run's bound.
    const notTheArchives = (blob: KeptName, reason: string) => {
      reportNotKept(deps.log, SETTING_UNSEALED, tenantId, blob.name, reason, blob);
      judged++;
    };
    if (revisions.size === 0) return;
    const [sets, assignments, policy, retention] = await Promise.all([
      deps.tenantRecords.list<RightsSetRecord>(tenantId, 'rights-set'),
      deps.tenantRecords.list<RightsAssignmentRecord>(tenantId, 'rights-assignment'),
      deps.tenantRecords.get<SodPolicyRecord>(tenantId, 'sod-policy', 'sod-policy', { fresh: true }),
      // The retention policy is read only where storage keeps one of it.
      revisions.has(RETENTION_POLICY_ID) ? deps.retention.policies.getVersioned(tenantId, { fresh: true }) : null,
    ]);
    // The records as Cosmos DB holds them: their revision, and what is compared with the sealed change at it.
    const records = new Map<string, { revision?: number }>([...sets, ...assignments, ...(policy ? [policy.value] : [])].map((r) => [r.id, r]));
    // The removals' traces Cosmos DB holds, by id and revision: listed only where a removal is storage's newest change of an absent record.
    let traceRecords: Promise<Map<string, KeptTrace>> | null = null;
    const traceRecordsOf = () =>
      (traceRecords ??= Promise.all([deps.tenantRecords.list<KeptTrace>(tenantId, 'rights-set-deleted'), deps.tenantRecords.list<KeptTrace>(tenantId, 'rights-unassignment')]).then(
        (lists) => new Map(lists.flat().map((t) => [t.id, t])),
      ));
    if (retention?.policy) {
      // As the policy store holds it (without its id, tenant and type): as sealed.
      const asStored = { ...retention.policy, id: RETENTION_POLICY_ID, tenantId, type: 'retention-policy' };
      records.set(RETENTION_POLICY_ID, asStored);
    }
    // Whether the archive's sealed blob at `claim` backs what Cosmos DB holds of `recordId` (a removal where `removed`):
    // the record as sealed, not only its revision. Read once per instance (keptDigest: the record compared with its
    // digest every run), and at most SETTINGS_VOUCHED_PER_RUN a run ('wait': the rest next run).
    let vouched = 0;
    const backed = async (recordId: string, kept: KeptName[], claim: number, removed: boolean): Promise<boolean | 'wait'> => {
      const at = kept.find((b) => b.revision === claim && b.removed === removed);
      if (!at || judgedNotKept(tenantId, at)) return false;
      let digest = keptDigest(tenantId, at);
      if (digest === null) {
        if (vouched >= SETTINGS_VOUCHED_PER_RUN) return 'wait';
        vouched++;
        const { setting, why } = await readSetting(deps, tenantId, recordId, at.name, (s) => s.revision === claim && (s.record === null) === removed, 'not a setting');
        if (why !== null) {
          notTheArchives(at, why);
          return false;
        }
        digest = changeDigest(setting!.record, setting!.trace);
        rememberKept(tenantId, at, digest);
      }
      // A removal kept with its trace: the trace as Cosmos DB holds it too (who removed, who gave before: four eyes read
      // them). Compared by revision alone, whoever can write Cosmos DB rewrote them under the removal's revision for good.
      // One kept before traces were (no trace in its blob) is compared by revision.
      if (!removed) return digest === recordDigest(records.get(recordId));
      if (digest === REMOVED_DIGEST) return true;
      const traceId = traceIdOf(recordId);
      return digest === `${REMOVED_DIGEST}:${recordDigest(traceId ? (await traceRecordsOf()).get(traceId) : undefined)}`;
    };
    // A claim with no blob at its revision at all: a change whose blob write failed after its record's (answered 500) is
    // kept now, sealed as Cosmos DB holds it, where its keyed audit entry names that revision (keptRevisionDetail).
    // Reverted instead, an SoD policy strengthened, or an assignment narrowed or removed, went back to what it was.
    // 'wait': the run's bound reached.
    const keptFromAudit = async (recordId: string, kept: KeptName[], claim: number, present: boolean): Promise<boolean | 'wait'> => {
      // A blob there judged not the archive's (planted under the name the change was to be kept under; keepSetting reported
      // it at the change) leaves the change unkept, not unwitnessed: its keyed entry vouches for it as for one whose blob
      // is missing, and it stands, though its blob cannot be written. Broke: the change before it was written back over it.
      const there = kept.find((b) => b.revision === claim && b.removed === !present);
      if (there && !judgedNotKept(tenantId, there)) return false; // the archive's, not this: it is written back
      const traceId = traceIdOf(recordId);
      const found = present ? records.get(recordId) : traceId ? (await deps.tenantRecords.get<KeptTrace>(tenantId, traceId, traceId.startsWith('rights-set-deleted:') ? 'rights-set-deleted' : 'rights-unassignment', { fresh: true }))?.value : undefined;
      if (!found) return false;
      const content = Object.fromEntries(Object.entries(found).filter(([k]) => !k.startsWith('_'))) as Record<string, unknown>;
      const type: KeptRecord['type'] | null = present ? (content.type as KeptRecord['type']) : recordId.startsWith('rights-set:') ? 'rights-set' : 'rights-assignment';
      const subject = typeof content.subject === 'string' ? content.subject : undefined;
      const at = [content.updatedAt, content.assignedAt, content.deletedAt, content.unassignedAt].find((t): t is string => typeof t === 'string' && readInstant(t) !== null);
      if (!(type in ACTIONS) || at === undefined || !namesItsRecord(recordId, type, content)) return false;
      const vouchedAs = there && `${there.etag}\n${recordDigest(content)}`;
      if (there && vouchedByAudit.get(`${tenantId}/${there.name}`) === vouchedAs) return true;
      for (const witness of witnessesOf(type, recordId, subject, !present)) {
        if (vouched >= SETTINGS_VOUCHED_PER_RUN) return 'wait';
        vouched++;
        if (!(await auditHolds(deps.audit, tenantId, witness, [new Date(claim).toISOString(), at], (e) => e.outcome === 'success' && namesKeptRevision(e.detail, claim, content)))) continue;
        if (there) {
          if (vouchedByAudit.size >= VOUCHED_BY_AUDIT_MAX) vouchedByAudit.clear();
          vouchedByAudit.set(`${tenantId}/${there.name}`, vouchedAs!);
          return true;
        }
        const setting = { tenantId, recordId, type, revision: claim, at, record: present ? (content as unknown as KeptRecord) : null, ...(present ? {} : { trace: content as unknown as KeptTrace }) };
        await keepSetting(setting, deps);
        deps.log.warn(SETTING_KEPT_FROM_AUDIT, { tenantId, kind: type, id: recordId, revision: claim, removed: !present });
        return true;
      }
      return false;
    };
    // Per record, its newest sealed change newer than what Cosmos DB holds (each unsealed one above it logged), read
    // newest first; none where the record is in line. An absent record is behind a change that made it (a removal of an
    // absent one is done, and one of those stands for what is below it).
    const behind: [string, StoredSetting, number | null][] = [];
    for (const [recordId, kept] of revisions) {
      // The SoD and retention policies are never removed: a removal's name under either is planted. Taken as one (unread,
      // where Cosmos DB holds no policy), it hid the sealed policy a restore lost, the default's weaker rules acting.
      const neverRemoved = recordId === SOD_POLICY_ID || recordId === RETENTION_POLICY_ID;
      const present = records.has(recordId);
      // What Cosmos DB says is the record's newest change: its revision, or (absent) its removal's trace's. It stands only
      // on the archive's sealed blob at that very revision. Taken as said, whoever can write Cosmos DB and blobs (not Key
      // Vault) deleted an assignment and left a trace above its newest sealed change (a removal planted there or not), or
      // raised a record's revision above every kept blob: the reconciler never wrote the sealed change back (an
      // assignment narrowing a person from their identity provider's claim lost for good).
      const traceId = traceIdOf(recordId);
      const trace = !present && traceId ? (await traceRecordsOf()).get(traceId) : undefined;
      const claim = present ? (records.get(recordId)!.revision ?? 0) : trace ? (typeof trace.revision === 'number' ? trace.revision : 0) : null;
      // A claim that does not stand: the newest sealed change below it is written back over it.
      let unbacked: number | null = null;
      for (const blob of kept) {
        if (claim !== null && unbacked === null && blob.revision <= claim) {
          const judged = await backed(recordId, kept, claim, !present);
          // In line; or the bound reached; or a change made just now whose blob is being written (its revision is its time).
          if (judged !== false || Math.abs(claim - now.getTime()) <= REMOVAL_WITNESS_MS) break;
          if ((await keptFromAudit(recordId, kept, claim, present)) !== false) break;
          unbacked = claim;
        }
        // Judged not the archive's before (this run or an earlier one): passed over unread, as nothing it holds counts.
        if (judgedNotKept(tenantId, blob)) continue;
        if (blob.removed && neverRemoved) {
          notTheArchives(blob, 'a removal of a record never removed');
          continue;
        }
        // The run's bound reached: the rest of this tenant's settings wait for the next run (their blobs judged so far stay judged).
        if (judged >= SETTINGS_JUDGED_PER_RUN) break;
        if (!present && blob.removed) {
          // A removal of a record Cosmos DB does not hold is done, once it is the archive's: its blob must be sealed.
          // Taken unread, one planted above the newest sealed change hid that change for good: an assignment a restore
          // lost was never written back (where rights come from the identity provider, its person acted with the set
          // they claimed), and a set's narrowing with it.
          const { setting: removal, why } = await readSetting(deps, tenantId, recordId, blob.name, (s) => s.revision === blob.revision && s.record === null, 'not a removal');
          // The removal Cosmos DB holds, its trace not as kept: the kept trace is written back.
          if (why === null && unbacked === blob.revision && removal!.trace) behind.push([recordId, removal!, unbacked]);
          if (why === null) break;
          notTheArchives(blob, why);
          continue;
        }
        const { setting, why } = await readSetting(deps, tenantId, recordId, blob.name, (s) => s.revision === blob.revision, 'not a setting');
        if (!setting || why !== null) {
          notTheArchives(blob, why ?? 'not a setting');
          continue;
        }
        behind.push([recordId, setting, unbacked]);
        break;
      }
    }
    // Oldest change first (a set before an assignment to it).
    behind.sort((a, b) => a[1].revision - b[1].revision);
    for (const [recordId, setting, unbacked] of behind) {
      if (!(await writeBack(setting, unbacked, now, deps))) continue;
      deps.log.warn(SETTING_RESTORED, { tenantId, kind: setting.type, id: recordId, revision: setting.revision, removed: setting.record === null });
      restored.push(`${tenantId}/${recordId}`);
    }
  });
  return restored;
}

/** Operators are alerted on this exact phrase (infra/main.bicep, settingDiffersAlert): Cosmos DB holds a rights record other than storage keeps. */
export const SETTING_DIFFERS = 'setting differs from the one kept in storage';

/** What a look at kept rights records needs: the blobs, the seal's keys, a log for what storage does not back. */
export interface KeptGivingsDeps {
  blobs: Pick<BlobArchivePort, 'listedBlobs' | 'readIfExists'>;
  audit: Pick<AuditLogPort, 'chainKeys'>;
  log: Pick<Logger, 'error'>;
}

/** Blobs of one record read at most per look (kept-givings): more unsealed ones above its newest sealed one leave it unjudged. */
export const KEPT_GIVINGS_READS = 4;

/**
 * Blobs under one record's folder a request's look lists, at most (the archive writes one a change of the record). Names
 * sort oldest revision first, as storage lists them, so a listing cut short sees the oldest: past this many the record
 * is unjudged, not judged on the oldest. Broke: listed whole, millions of blobs planted in a record's folder by a storage
 * role made each four-eyes look and disposal approval list them all (reads were bounded, listing rows were not).
 */
export const KEPT_SETTINGS_LISTED = 5000;

/**
 * A record's kept revisions newest first, listing at most KEPT_SETTINGS_LISTED + 1 rows; 'unjudged' past them, reported
 * once per folder per instance as SETTING_UNSEALED (only a storage role fills a folder so).
 */
async function keptRevisions(tenantId: string, recordId: string, deps: KeptGivingsDeps): Promise<KeptName[] | 'unjudged'> {
  const prefix = `${SETTINGS_PREFIX}${recordId}/`;
  const listed = await deps.blobs.listedBlobs(tenantId, prefix, KEPT_SETTINGS_LISTED + 1);
  if (listed.length > KEPT_SETTINGS_LISTED) {
    reportNotKept(deps.log, SETTING_UNSEALED, tenantId, prefix, `more than ${KEPT_SETTINGS_LISTED} blobs under ${prefix}: the record is not judged by what storage keeps`);
    return 'unjudged';
  }
  return revisionsByRecord(listed).get(recordId) ?? [];
}

/**
 * What storage keeps of one rights record (an assignment, a set) for four eyes, beside what Cosmos DB holds of it
 * (`stored`: the record and its removal's trace, null where absent). `record`: the record as its newest sealed change left
 * it (null: removed, or nothing kept); `trace`: the newest sealed removal's trace where `withTrace` (an assignment's:
 * Cosmos DB keeps it past a later assignment), else that of the newest change if it is a removal. Each only where it is
 * not what Cosmos DB holds. `differs`: Cosmos DB holds, at a revision no newer, something else (what the reconciler
 * writes back). `unjudged`: more unsealed blobs above the newest sealed one than one look reads (remembered: a later
 * look passes them unread), or more blobs in its folder than KEPT_SETTINGS_LISTED. Null where storage keeps nothing sealed of it (kept before settings were, or never changed).
 * A blob found sealed is remembered by its ETag with its digest (kept-blobs.ts keptDigest): a record in line costs a list.
 */
export async function keptRightsRecord(
  tenantId: string,
  recordId: string,
  stored: { record: (TenantRecord & { revision?: number }) | null; trace: (TenantRecord & { revision?: number }) | null },
  withTrace: boolean,
  deps: KeptGivingsDeps,
): Promise<{ record: KeptRecord | null; trace: KeptTrace | null; differs: boolean; unjudged: boolean } | null> {
  const kept = await keptRevisions(tenantId, recordId, deps);
  if (kept === 'unjudged') return { record: null, trace: null, differs: false, unjudged: true };
  const reads = { left: KEPT_GIVINGS_READS };
  // The newest sealed blob among `blobs`: its digest, and its setting where read (none where its digest is Cosmos DB's).
  const newestOf = (blobs: KeptName[], asStored: string) => newestSealed(tenantId, recordId, blobs, reads, (s, blob) => s.revision === blob.revision && (s.record === null) === blob.removed, asStored, deps);
  const removedDigest = changeDigest(null, stored.trace);
  const newest = await newestOf(kept, stored.record ? recordDigest(stored.record) : removedDigest);
  if (newest === null || newest === 'unjudged') return newest === null ? null : { record: null, trace: null, differs: false, unjudged: true };
  // What Cosmos DB says is the record's newest change, as the reconciler reads it: the record, or (absent) its removal.
  const claim = stored.record?.revision ?? (stored.record ? 0 : (stored.trace?.revision ?? 0));
  const claimDigest = stored.record ? recordDigest(stored.record) : removedDigest;
  let differs = claim <= newest.blob.revision && claimDigest !== newest.digest;
  const other = newest.setting && newest.digest !== claimDigest ? newest.setting : null;
  const record = other && !newest.blob.removed ? other.record : null;
  let trace = other && newest.blob.removed ? (other.trace ?? null) : null;
  let unjudged = false;
  if (withTrace && !newest.blob.removed) {
    const removal = await newestOf(kept.filter((b) => b.removed && b.revision < newest.blob.revision), removedDigest);
    if (removal === 'unjudged') unjudged = true;
    else if (removal?.setting?.trace && removal.digest !== removedDigest) {
      trace = removal.setting.trace;
      differs ||= (stored.trace?.revision ?? 0) <= removal.blob.revision;
    }
  }
  if (differs) deps.log.error(SETTING_DIFFERS, { tenantId, id: recordId, revision: newest.blob.revision, storedRevision: claim });
  return { record, trace, differs, unjudged };
}
