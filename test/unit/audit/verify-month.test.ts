import { ChainVerifier, entryId, GENESIS_HASH, hashEntry } from '../../../shared/kernel/audit-chain';
import type { AuditEntry } from '../../../shared/kernel/audit';
import { AUDIT_VERIFY_MAX_PER_TENANT, verifyAuditMonth } from '../../../shared/audit/seal';
import { ArchiveError } from '../../../shared/kernel/errors';
import { inMemoryDeps } from '../../support/in-memory';

const MONTH = '2025-03';
const P = `acme:${MONTH}`;

/** A sound plain-sha256 chain of n entries in acme's March (the in-memory log does not chain). */
function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = { id: entryId(seq), partition: P, seq, prevHash: prev, tenantId: 'acme', at: `${MONTH}-01T00:00:00.000Z`, actor: { subject: 'a', kind: 'user' }, action: 'document.read' as const, target: null, outcome: 'success' as const, status: 200, requestId: `r${seq}`, clientIp: null, userAgent: null };
    const e = { ...body, hash: hashEntry(body) };
    out.push(e);
    prev = e.hash;
  }
  return out;
}

function depsWith(entries: AuditEntry[]) {
  const deps = inMemoryDeps();
  deps.audit.entries.push(...entries);
  const read = deps.audit.inChainOrder.bind(deps.audit);
  const reads = { count: 0 };
  deps.audit.inChainOrder = (...a) => (reads.count++, read(...a));
  return { deps, reads };
}

// The month was written before keying (plain sha256 is allowed).
const KEYED_SINCE = '2099-01';

describe('verifying a month', () => {
  it('reads the month a page at a time; a problem at the last entry of a page and the first of the next are both found', async () => {
    const c = chain(7);
    c[2] = { ...c[2]!, status: 500 }; // seq 3: last of the first page of 3
    const relinked = { ...c[3]!, prevHash: 'f'.repeat(64) };
    c[3] = { ...relinked, hash: hashEntry(relinked) }; // seq 4: first of the second page, rehashed (so 5 no longer links to it)
    const { deps } = depsWith(c);
    const pages: number[][] = [];
    const verifier = new ChainVerifier(P, [], { headSeq: 7 });
    for await (const page of deps.audit.inChainOrder('acme', MONTH, { pageSize: 3 })) {
      pages.push(page.map((e) => e.seq));
      for (const e of page) verifier.add(e);
    }
    expect(pages).toEqual([[1, 2, 3], [4, 5, 6], [7]]);
    expect(verifier.finish().problems).toEqual([
      { kind: 'changed', seq: 3, id: entryId(3), detail: 'content-does-not-match-hash' },
      { kind: 'broken-link', seq: 4, id: entryId(4) },
      { kind: 'broken-link', seq: 5, id: entryId(5) },
    ]);
  });

  it('callers asking for the same month while it is verified share one verification; the next call verifies again', async () => {
    const { deps, reads } = depsWith(chain(4));
    const [a, b] = await Promise.all([verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE), verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE)]);
    expect(reads.count).toBe(1);
    expect(b).toBe(a);
    expect(a).toMatchObject({ ok: true, entries: 4, problems: [], problemsTruncated: false });
    // Not a cache: a change after it ended is seen by the next call.
    deps.audit.entries[1] = { ...deps.audit.entries[1]!, status: 500 };
    const again = await verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE);
    expect(reads.count).toBe(2);
    expect(again.problems).toEqual([{ kind: 'changed', seq: 2, id: entryId(2), detail: 'content-does-not-match-hash' }]);
  });

  it('a failed verification is not shared with later callers', async () => {
    const { deps, reads } = depsWith(chain(2));
    const read = deps.audit.inChainOrder.bind(deps.audit);
    deps.audit.inChainOrder = (...a) => {
      if (reads.count === 0) {
        reads.count++;
        throw new Error('store unavailable');
      }
      return read(...a);
    };
    await expect(verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE)).rejects.toThrow('store unavailable');
    await expect(verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE)).resolves.toMatchObject({ ok: true, entries: 2 });
  });

  it(`verifies at most ${AUDIT_VERIFY_MAX_PER_TENANT} months of one tenant at once; a further month is refused with a wait, another tenant is not held back`, async () => {
    const { deps, reads } = depsWith(chain(2));
    // Each month's read waits until released, so the verifications stay under way.
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const read = deps.audit.inChainOrder.bind(deps.audit);
    deps.audit.inChainOrder = (...a) =>
      (async function* () {
        await released;
        yield* read(...a);
      })();
    const months = ['2025-01', '2025-02', '2025-03'];
    const running = months.slice(0, AUDIT_VERIFY_MAX_PER_TENANT).map((m) => verifyAuditMonth('acme', m, deps, KEYED_SINCE));
    const refused = await verifyAuditMonth('acme', months[AUDIT_VERIFY_MAX_PER_TENANT]!, deps, KEYED_SINCE).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ArchiveError);
    expect(refused).toMatchObject({ code: 'too_many_verifications', retryAfterSeconds: 10, extensions: { running: AUDIT_VERIFY_MAX_PER_TENANT, maxRunning: AUDIT_VERIFY_MAX_PER_TENANT } });
    // A month already under way is shared, not refused; another tenant's month runs.
    const joined = verifyAuditMonth('acme', months[0]!, deps, KEYED_SINCE);
    const other = verifyAuditMonth('other', MONTH, deps, KEYED_SINCE);
    release();
    await Promise.all([...running, joined, other]);
    expect(await joined).toBe(await running[0]);
    // Once they ended, the refused month can be verified.
    await expect(verifyAuditMonth('acme', MONTH, deps, KEYED_SINCE)).resolves.toMatchObject({ ok: true, entries: 2 });
    // Two months, the other tenant's and the one asked again: the refused and the shared call read nothing.
    expect(reads.count).toBe(4);
  });
});
