/**
 * The sealing timer (seal.ts sealPartition, every grown partition every 5 minutes) listed a month's whole seal folder
 * to find the archive's last seal: a storage role (no Key Vault) planting millions of blobs in one tenant's folder made
 * every run list them all, for every tenant the timer serves. Now it lists AUDIT_SEAL_FOLDER_LISTED at most; past that
 * it walks down by number from the chain's end within AUDIT_SEAL_LOOKS_MAX, sealing when it finds the archive's last
 * seal, and otherwise not sealing that run, said as AUDIT_SEAL_UNSEALED.
 */
import { AUDIT_SEAL_FOLDER_LISTED, AUDIT_SEAL_LOOKS_MAX, AUDIT_SEAL_UNSEALED, passedMarkerName, sealBlobName, sealPartition, verifyAuditMonth } from '../../../shared/audit/seal';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';

const T = 'acme';

const plant = (deps: InMemoryDeps, name: string, body = 'x') => deps.blobs.putCreateOnly(T, name, Buffer.from(body), 'application/json', { retainUntil: null, legalHold: false }, {});

async function grow(deps: InMemoryDeps, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r${Math.random()}`, clientIp: null, userAgent: null });
}

/** Counts, from now on, the most rows a listing returned, listings and point looks, listings asking no bound, and blob reads. */
function counted(deps: InMemoryDeps): { rows: number; looks: number; unbounded: number; reads: number } {
  const seen = { rows: 0, looks: 0, unbounded: 0, reads: 0 };
  const list = deps.blobs.listedBlobs.bind(deps.blobs);
  deps.blobs.listedBlobs = async (tenantId: string, prefix: string, max?: number) => {
    const listed = await list(tenantId, prefix, max);
    seen.rows = Math.max(seen.rows, listed.length);
    seen.looks++;
    if (max === undefined) seen.unbounded++;
    return listed;
  };
  const names = deps.blobs.blobNames.bind(deps.blobs);
  deps.blobs.blobNames = async (tenantId: string, prefix: string) => {
    seen.unbounded++;
    return names(tenantId, prefix);
  };
  const exists = deps.blobs.exists.bind(deps.blobs);
  deps.blobs.exists = async (tenantId: string, name: string) => {
    seen.looks++;
    return exists(tenantId, name);
  };
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  deps.blobs.readIfExists = async (tenantId: string, name: string) => {
    seen.reads++;
    return read(tenantId, name);
  };
  return seen;
}

const fakeSeal = (month: string, seq: number) => JSON.stringify({ partition: `${T}:${month}`, seq, hash: 'f'.repeat(64), sealedAt: '2026-01-01T00:00:00.000Z' });
// Junk names sharing the digits of the numbers 10*d..10*d+9: they fill that block's listing, never a seal's own name.
const flood = (month: string, blocks: number[], each: number) => blocks.flatMap((d) => Array.from({ length: each }, (_, i) => `audit-seals/${month}/0000000000${d}z${i}`));

// [what, entries after the archive's seal at 2, blobs planted (besides a fake seal at 3), sealed this run]
const CASES = [
  ['a few blobs planted in a genuine month (control)', 3, (m: string) => [`audit-seals/${m}/notes.txt`, sealBlobName(m, 9)], true],
  ['more blobs than a run lists, the last seal near the end', 3, (m: string) => flood(m, [0], AUDIT_SEAL_FOLDER_LISTED + 1), true],
  ['more blobs than a run lists, every block above the last seal flooded', 93, (m: string) => flood(m, [1, 2, 3, 4, 5, 6, 7, 8, 9], Math.ceil((AUDIT_SEAL_FOLDER_LISTED + 1) / 9)), false],
] as const;

describe("the sealing timer lists and reads a bounded part of a month's seal folder", () => {
  it.each(CASES)('%s', async (_what, more, planted, seals) => {
    const deps = inMemoryDeps();
    await grow(deps, 2);
    const month = deps.clock.now().toISOString().slice(0, 7);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(2);
    await grow(deps, more);
    const end = 2 + more;
    await plant(deps, sealBlobName(month, 3), fakeSeal(month, 3));
    for (const name of planted(month)) await plant(deps, name, name.endsWith('.json') ? fakeSeal(month, Number(/(\d+)\.json$/.exec(name)![1])) : 'x');
    const log = deps.log as RecordingLogger;
    log.lines.length = 0;
    const seen = counted(deps);
    const seal = await sealPartition(T, month, deps.clock.now(), deps);
    expect(seen.unbounded).toBe(0);
    expect(seen.rows).toBeLessThanOrEqual(AUDIT_SEAL_FOLDER_LISTED + 1);
    // The look at the end's name, the folder's listing, then the walk's.
    expect(seen.looks).toBeLessThanOrEqual(2 + AUDIT_SEAL_LOOKS_MAX);
    expect(seen.reads).toBeLessThanOrEqual(32);
    const unsealed = log.lines.filter((l) => l.message === AUDIT_SEAL_UNSEALED).map((l) => l.fields?.blob);
    // A flooded folder is said once a run, the folder named; a genuine one not.
    expect(unsealed.filter((b) => b === `audit-seals/${month}/`)).toHaveLength(planted(month).length > AUDIT_SEAL_FOLDER_LISTED ? 1 : 0);
    if (seals) {
      expect(seal?.seq).toBe(end);
      expect(await deps.blobs.exists(T, sealBlobName(month, end))).toBe(true);
      // The fake under a number passed since the last seal is named, never counted; the archive's seal at 2 is found.
      expect(unsealed).toContain(sealBlobName(month, 3));
      expect(seen.reads).toBeLessThanOrEqual(3);
    } else {
      expect(seal).toBeNull();
      expect(await deps.blobs.exists(T, sealBlobName(month, end))).toBe(false);
    }
    expect(log.lines.filter((l) => l.message === 'audit chain behind its seal')).toEqual([]);
  });
});

/**
 * A chain cut back to exactly a number the archive sealed: the seal at its end exists and matches, so the timer said
 * nothing (alerted only once the chain grew past a later seal; in an older month never). Now a run sealing past the
 * archive's seal at N first writes a sealed marker that the chain passed N, and a chain ending under a seal at N is one
 * point look for N's marker: the archive's is the cut, alerted once; one planted, or copied from another partition or
 * number, is said as not the archive's, never as a cut.
 */
describe('the sealing timer looks for the marker that a chain passed the seal it ends under', () => {
  type Planted = 'unsealed' | 'copied from 40 as 50' | 'copied from another month';
  // [what, cut back to 40 (the archive sealed 40 and 50), in a month no longer written, marker planted, cut alerts]
  const CUTS: [string, boolean, boolean, Planted | null, number][] = [
    ['an uncut chain (control)', false, false, null, 0],
    ['an uncut chain in an older month (control)', false, true, null, 0],
    ['cut to 40', true, false, null, 1],
    ['cut to 40, in an older month', true, true, null, 1],
    ['an uncut chain, a marker planted unsealed at its end', false, false, 'unsealed', 0],
    ['a chain grown and sealed at 50, the genuine marker at 40 copied as 50', false, false, 'copied from 40 as 50', 0],
    ['an uncut chain, a genuine marker of another month copied as this one\'s', false, true, 'copied from another month', 0],
  ];
  it.each(CUTS)('%s', async (_what, cut, older, planted, alerts) => {
    const deps = inMemoryDeps();
    const month = deps.clock.now().toISOString().slice(0, 7);
    await grow(deps, 40);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(40);
    if (cut || planted === 'copied from 40 as 50') {
      // Grown and sealed again: the run first marks the seal it passed.
      await grow(deps, 10);
      expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(50);
      expect(await deps.blobs.exists(T, passedMarkerName(month, 40))).toBe(true);
      // Outside the month's seal folder: verification does not take the marker for a planted seal.
      expect(await verifyAuditMonth(T, month, deps)).toMatchObject({ ok: true, seals: 2, problems: [] });
      if (cut) deps.audit.entries.splice(40); // cut in Cosmos DB, back to the seal at 40
    }
    const marker = planted === 'copied from 40 as 50' ? passedMarkerName(month, 50) : planted ? passedMarkerName(month, 40) : null;
    if (planted === 'unsealed') await plant(deps, marker!, JSON.stringify({ partition: `${T}:${month}`, seq: 40, next: 50, hash: 'f'.repeat(64), sealedAt: '2026-01-01T00:00:00.000Z', mac: '0'.repeat(64) }));
    if (planted === 'copied from 40 as 50') await plant(deps, marker!, (await deps.blobs.readAll(T, passedMarkerName(month, 40))).toString());
    if (planted === 'copied from another month') {
      // Another month of the same tenant sealed at 40 and 50 (its entries stand apart), its marker copied here.
      const other = new Date(Date.UTC(Number(month.slice(0, 4)), Number(month.slice(5, 7)) - 2, 1)).toISOString().slice(0, 7);
      for (const end of [40, 50]) {
        while ((await deps.audit.end(T, other)).seq < end) await deps.audit.append({ tenantId: T, at: `${other}-02T00:00:00.000Z`, actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r${Math.random()}`, clientIp: null, userAgent: null });
        expect((await sealPartition(T, other, deps.clock.now(), deps))?.seq).toBe(end);
      }
      await plant(deps, marker!, (await deps.blobs.readAll(T, passedMarkerName(other, 40))).toString());
    }
    if (older) (deps.clock as FakeClock).advance(62 * 24 * 3600_000);
    const log = deps.log as RecordingLogger;
    log.lines.length = 0;
    const seen = counted(deps);

    expect(await sealPartition(T, month, deps.clock.now(), deps)).toBeNull();

    expect(log.lines.filter((l) => l.message === 'audit chain behind its seal')).toHaveLength(alerts);
    expect(seen.unbounded).toBe(0);
    if (!cut && !planted) {
      // The look at the end's seal (read in the months still written), then one point look for its marker: nothing more.
      expect([seen.looks, seen.reads]).toEqual([2, older ? 0 : 1]);
    }
    const unsealed = log.lines.filter((l) => l.message === AUDIT_SEAL_UNSEALED).map((l) => l.fields?.blob);
    expect(unsealed).toEqual(marker ? [marker] : []);
  });
});
