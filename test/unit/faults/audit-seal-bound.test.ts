/**
 * `GET /audit/verify` (seal.ts readSeals) listed a month's whole seal folder and read every blob in it: a storage role (no
 * Key Vault) planting many blobs there made each verification list and read them all. Now it lists AUDIT_SEALS_LISTED
 * and reads AUDIT_SEAL_READS named as seals at most; past either the month is not verified (`unjudged-seals`), said once
 * as AUDIT_SEAL_UNSEALED, and a month with a few planted blobs is judged as before, those named.
 */
import { AUDIT_SEAL_READS, AUDIT_SEAL_UNSEALED, AUDIT_SEALS_LISTED, sealBlobName, sealPartition, verifyAuditMonth } from '../../../shared/audit/seal';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';

const T = 'acme';

const plant = (deps: InMemoryDeps, name: string, body = '{}') => deps.blobs.putCreateOnly(T, name, Buffer.from(body), 'application/json', { retainUntil: null, legalHold: false }, {});

/** Counts, from now on, the rows each listing returned (the most), listings asking no bound, and blob reads. */
function counted(deps: InMemoryDeps): { rows: number; unbounded: number; reads: number } {
  const seen = { rows: 0, unbounded: 0, reads: 0 };
  const list = deps.blobs.listedBlobs.bind(deps.blobs);
  deps.blobs.listedBlobs = async (tenantId: string, prefix: string, max?: number) => {
    const listed = await list(tenantId, prefix, max);
    seen.rows = Math.max(seen.rows, listed.length);
    if (max === undefined) seen.unbounded++;
    return listed;
  };
  const names = deps.blobs.blobNames.bind(deps.blobs);
  deps.blobs.blobNames = async (tenantId: string, prefix: string) => {
    seen.unbounded++;
    return names(tenantId, prefix);
  };
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  deps.blobs.readIfExists = async (tenantId: string, name: string) => {
    seen.reads++;
    return read(tenantId, name);
  };
  return seen;
}

// Planted under names sorting after the archive's seal (seq 2), as a storage role would past its reads.
const CASES = [
  ['a few blobs planted in a genuine month (control)', (m: string) => [sealBlobName(m, 7), `audit-seals/${m}/notes.txt`, sealBlobName(m, 9)], null, 3],
  ['more blobs in the folder than a verification lists', (m: string) => Array.from({ length: AUDIT_SEALS_LISTED + 1 }, (_, i) => `audit-seals/${m}/p${i}`), { unread: 0, moreListed: true }, 1],
  ['more blobs named as seals than a verification reads', (m: string) => Array.from({ length: AUDIT_SEAL_READS + 1 }, (_, i) => sealBlobName(m, 1000 + i)), { unread: 2, moreListed: false }, AUDIT_SEAL_READS],
] as const;

describe("a month's verification lists and reads a bounded part of its seal folder", () => {
  it.each(CASES)('%s', async (_what, planted, unjudged, reads) => {
    const deps = inMemoryDeps();
    for (const id of ['r1', 'r2']) await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: id, clientIp: null, userAgent: null });
    const month = deps.clock.now().toISOString().slice(0, 7);
    await sealPartition(T, month, deps.clock.now(), deps);
    const names = planted(month);
    for (const name of names) await plant(deps, name, name.endsWith('.json') ? JSON.stringify({ partition: `${T}:${month}`, seq: Number(/(\d+)\.json$/.exec(name)![1]), hash: 'x', sealedAt: deps.clock.now().toISOString() }) : 'x');
    const seen = counted(deps);
    const report = await verifyAuditMonth(T, month, deps);
    // The archive's seal, lowest, is judged either way; the month is never reported verified with blobs planted.
    expect([report.ok, report.seals, report.sealedSeq, report.entries]).toEqual([false, 1, 2, 2]);
    expect(seen.unbounded).toBe(0);
    expect(seen.rows).toBeLessThanOrEqual(AUDIT_SEALS_LISTED + 1);
    expect(seen.reads).toBe(reads);
    const lines = (deps.log as RecordingLogger).lines.filter((l) => l.message === AUDIT_SEAL_UNSEALED);
    if (unjudged === null) {
      expect(report.problems).toEqual(names.map((blob) => ({ kind: 'unreadable-seal', blob })).sort((a, b) => (a.blob.endsWith('.txt') ? -1 : b.blob.endsWith('.txt') ? 1 : 0)));
      expect(lines).toEqual([]);
    } else {
      expect(report.problems[0]).toEqual({ kind: 'unjudged-seals', ...unjudged });
      expect(report.problemCounts['unjudged-seals']).toBe(1);
      expect(lines).toHaveLength(1);
    }
  });
});
