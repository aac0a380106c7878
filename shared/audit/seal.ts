import type { Deps } from '../deps';
import { AuditSeal, CHAIN_ALG, ChainKeyUnavailable, ChainKeyVersion, ChainReport, ChainVerifier, entryId } from '../kernel/audit-chain';
import { AUDIT_OUTBOX_GRACE_MS, type AuditEntry } from '../kernel/audit';
import { ArchiveError } from '../kernel/errors';
import { flushSuppressedRefusals } from './suppressed-refusals';

/** Seals live in the tenant's WORM container, beside its documents: `audit-seals/<yyyy-mm>/<seq>.json`. */
const SEAL_PREFIX = 'audit-seals';
/** How long a seal blob is immutable. */
export const AUDIT_SEAL_RETENTION_YEARS = 10;

type SealDeps = Pick<Deps, 'audit' | 'auditOutbox' | 'blobs' | 'log' | 'refusals'>;

/** Outbox items one sealing run appends at most (each costs a lookup, an append and a removal); the next run takes the rest. */
export const AUDIT_OUTBOX_DRAIN_MAX = 500;

export const sealBlobName = (month: string, seq: number) => `${SEAL_PREFIX}/${month}/${entryId(seq)}.json`;

/** Operators are alerted on this exact phrase (infra/main.bicep, auditChainBehindSealAlert). */
export const AUDIT_CHAIN_BEHIND_SEAL = 'audit chain behind its seal';

/**
 * Write the chain head of one partition as an immutable blob (create-only, WORM), if the
 * chain grew since the last seal. Re-running it does nothing new.
 *
 * Entries are never deleted, so a chain that ends before its last seal, or holds another entry at the sealed number,
 * lost entries the seal had fixed: the audit container restored to an earlier point (README *Backups and restore*) or
 * cut. Only `GET /audit/verify` said so, when someone asked; the run now logs AUDIT_CHAIN_BEHIND_SEAL for the
 * operators' alert each time it finds it, and goes on sealing what is written after (the seals keep both).
 */
export async function sealPartition(tenantId: string, month: string, now: Date, deps: SealDeps): Promise<AuditSeal | null> {
  const end = await deps.audit.end(tenantId, month);
  if (end.seq === 0) return null;
  const names = await deps.blobs.blobNames(tenantId, `${SEAL_PREFIX}/${month}/`);
  const lastSealed = names.filter((n) => /\/\d+\.json$/.test(n)).sort().at(-1);
  if (lastSealed !== undefined && lastSealed > sealBlobName(month, end.seq)) {
    deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: end.seq, sealed: lastSealed });
    return null;
  }
  if (lastSealed === sealBlobName(month, end.seq)) return null;
  if (lastSealed !== undefined) {
    // Grown since: the entry the last seal fixed must still be the one it fixed (one read of each, only when grown).
    const seal = sealOf((await deps.blobs.readAll(tenantId, lastSealed)).toString('utf8'));
    if (seal && seal.partition === `${tenantId}:${month}` && (await deps.audit.hashAt(tenantId, month, seal.seq)) !== seal.hash) {
      deps.log.error(AUDIT_CHAIN_BEHIND_SEAL, { tenantId, month, chainEnd: end.seq, sealed: lastSealed, differs: true });
    }
  }
  // The version current when sealed (from memory, no round trip), for the record: after a rotation, the first seal
  // naming the new version shows every entry before it fixed (README *Rotate the audit chain key*).
  const { version } = await deps.audit.chainKeys.current();
  const seal: AuditSeal = { partition: `${tenantId}:${month}`, seq: end.seq, hash: end.hash, sealedAt: now.toISOString(), ...(version !== null ? { keyVersion: version } : {}) };
  const retainUntil = new Date(now);
  retainUntil.setUTCFullYear(retainUntil.getUTCFullYear() + AUDIT_SEAL_RETENTION_YEARS);
  await deps.blobs.prepareTenant(tenantId);
  await deps.blobs.putCreateOnly(tenantId, sealBlobName(month, end.seq), Buffer.from(JSON.stringify(seal)), 'application/json', { retainUntil: retainUntil.toISOString(), legalHold: false }, {});
  return seal;
}

/**
 * Timer: seal every partition that grew. One failing step or partition does not stop the rest, but the
 * run then fails, naming them, so the hosts log the alerted `timer failed` (functions/timers.ts): a
 * month that can no longer be sealed, or entries of completed changes that no longer reach the chain
 * (an outbox or parked entry the log keeps refusing), were only ever an error line nobody was told of.
 */
export async function sealAuditLog({ now, deps }: { now: Date; deps: SealDeps }): Promise<{ sealed: AuditSeal[] }> {
  const sealed: AuditSeal[] = [];
  const failed: string[] = [];
  // Entries of completed changes go in before the seal: those an instance left in the audit
  // outbox (it stopped, or the log refused them), and those parked when the log refused them;
  // and this instance's counts of suppressed refusals (a principal that flooded and went quiet).
  await flushSuppressedRefusals(now, deps);
  try {
    await deps.auditOutbox.drain(new Date(now.getTime() - AUDIT_OUTBOX_GRACE_MS), AUDIT_OUTBOX_DRAIN_MAX);
  } catch (err) {
    failed.push('audit outbox');
    deps.log.error('appending audit outbox entries failed', { error: err instanceof Error ? err.message : String(err) });
  }
  try {
    await deps.audit.unsafeAppendPending();
  } catch (err) {
    failed.push('parked audit entries');
    deps.log.error('appending parked audit entries failed', { error: err instanceof Error ? err.message : String(err) });
  }
  for (const { tenantId, month } of await deps.audit.unsafeListPartitions()) {
    try {
      const seal = await sealPartition(tenantId, month, now, deps);
      if (seal) sealed.push(seal);
    } catch (err) {
      failed.push(`${tenantId}:${month}`);
      deps.log.error('audit seal failed', { tenantId, month, error: err instanceof Error ? err.message : String(err) });
    }
  }
  if (failed.length > 0) throw new Error(`audit log not fully sealed (${sealed.length} sealed): ${failed.slice(0, 20).join(', ')}${failed.length > 20 ? `, and ${failed.length - 20} more` : ''}`);
  return { sealed };
}

/**
 * A month's seals, and the blobs in its seal folder that are no seal (not JSON, or without a seal's
 * fields). Those are named, not thrown: only someone with write access to storage puts one there, which
 * is itself what verification exists to report, and the rest of the month must still be verified.
 */
export async function readSeals(tenantId: string, month: string, deps: Pick<Deps, 'blobs'>): Promise<{ seals: AuditSeal[]; unreadable: string[] }> {
  const names = await deps.blobs.blobNames(tenantId, `${SEAL_PREFIX}/${month}/`);
  const read = await Promise.all(names.map(async (blob) => ({ blob, seal: sealOf((await deps.blobs.readAll(tenantId, blob)).toString('utf8')) })));
  return {
    seals: read.flatMap((r) => (r.seal && r.seal.partition === `${tenantId}:${month}` ? [r.seal] : [])).sort((a, b) => a.seq - b.seq),
    unreadable: read.filter((r) => !r.seal).map((r) => r.blob),
  };
}

function sealOf(text: string): AuditSeal | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  const s = (typeof v === 'object' && v !== null ? v : {}) as Partial<Record<keyof AuditSeal, unknown>>;
  const valid = typeof s.partition === 'string' && Number.isSafeInteger(s.seq) && typeof s.hash === 'string' && typeof s.sealedAt === 'string';
  return valid ? { partition: s.partition as string, seq: s.seq as number, hash: s.hash as string, sealedAt: s.sealedAt as string, ...(typeof s.keyVersion === 'string' ? { keyVersion: s.keyVersion } : {}) } : null;
}

/** Verifications under way, per audit log (one per instance), by tenant-month: concurrent callers share one. */
type Verifications = Map<string, { tenantId: string; report: Promise<MonthReport> }>;
const verifying = new WeakMap<object, Verifications>();

/**
 * Months of one tenant verified at once per instance. Each reads its whole month from the audit container, whose
 * throughput every tenant shares: one auditor asking for every month of seven years at once started as many scans.
 * A further month waits for one of these (429 too_many_verifications, with Retry-After).
 */
export const AUDIT_VERIFY_MAX_PER_TENANT = 2;

type MonthReport = ChainReport & { month: string; seals: number };

/**
 * `GET /audit/verify`: recompute a tenant's month against its seals. The month is read a page at a time
 * (a busy tenant's month holds millions of entries: read at once, one request could fill the instance's
 * memory), and at most one verification of a tenant-month runs per instance: callers that ask while it
 * runs get its report. Nothing is kept after it ends.
 */
export function verifyAuditMonth(tenantId: string, month: string, deps: Pick<Deps, 'audit' | 'blobs'>, keyedSince?: string): Promise<MonthReport> {
  let running = verifying.get(deps.audit);
  if (!running) verifying.set(deps.audit, (running = new Map() as Verifications));
  const key = `${tenantId}:${month}:${keyedSince ?? ''}`;
  const shared = running.get(key);
  if (shared) return shared.report;
  const ofTenant = [...running.values()].filter((v) => v.tenantId === tenantId).length;
  if (ofTenant >= AUDIT_VERIFY_MAX_PER_TENANT) {
    return Promise.reject(
      new ArchiveError('too_many_verifications', {
        detail: `${ofTenant} months of this tenant's audit log are being verified, as many as may be at once (${AUDIT_VERIFY_MAX_PER_TENANT}); ask for ${month} when one of them has finished.`,
        retryAfterSeconds: 10,
        extensions: { running: ofTenant, maxRunning: AUDIT_VERIFY_MAX_PER_TENANT },
      }),
    );
  }
  const report = verifyMonth(tenantId, month, deps, keyedSince).finally(() => running.delete(key));
  running.set(key, { tenantId, report });
  return report;
}

async function verifyMonth(tenantId: string, month: string, deps: Pick<Deps, 'audit' | 'blobs'>, keyedSince?: string): Promise<MonthReport> {
  const [{ seals, unreadable }, headSeq] = await Promise.all([readSeals(tenantId, month, deps), deps.audit.headSeq(tenantId, month)]);
  // The key versions the entries name, resolved a page at a time before the page is checked (each read once per
  // instance and kept): a version that cannot be read (disabled) is null, "key unavailable" in the report.
  const versions = new Map<string, ChainKeyVersion | null>();
  const resolve = async (page: AuditEntry[]): Promise<void> => {
    const named = new Set(page.filter((e) => e.alg === CHAIN_ALG).map((e) => (typeof e.keyVersion === 'string' ? e.keyVersion : null)));
    await Promise.all([...named].filter((v) => !versions.has(v ?? '')).map(async (v) => {
      try {
        versions.set(v ?? '', await deps.audit.chainKeys.version(v));
      } catch (err) {
        if (!(err instanceof ChainKeyUnavailable)) throw err;
        versions.set(v ?? '', null);
      }
    }));
  };
  // Unset: every month was written keyed (a deployment with months from before keying names the first keyed one).
  // Taking unset as "any month may be unkeyed" let whoever can write the audit container rewrite a month not yet
  // sealed as plain-sha256 entries "from before keying", and it verified.
  const requireKeyed = keyedSince === undefined || month >= keyedSince;
  const marks = { headSeq, keys: (v: string | null) => versions.get(v ?? ''), requireKeyed };
  const verifier = new ChainVerifier(`${tenantId}:${month}`, seals, marks);
  // What this instance wrote or saw, taken once the read has waited for its writer and before its first page is asked
  // for: every entry up to it was stored before any page was read. Taken at the end, entries written while a long month
  // was read claimed a cut tail; taken with the first page in hand, so did an append answered while that page was on its
  // way (a month of one page, read while its tenant's requests were being audited: a false `truncated`).
  let highWater: number | undefined;
  const begun = () => void (highWater ??= deps.audit.highWater(tenantId, month));
  for await (const page of deps.audit.inChainOrder(tenantId, month, { begun })) {
    await resolve(page);
    for (const e of page) verifier.add(e);
  }
  // A store that never called `begun` must not leave the tail unchecked: a late mark can only claim too much, never hide a cut.
  begun();
  const report = verifier.finish({ leading: unreadable.map((blob) => ({ kind: 'unreadable-seal' as const, blob })), highWater });
  return { month, seals: seals.length, ...report };
}
