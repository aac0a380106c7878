import { ChainVerifier, entryId, GENESIS_HASH, hashEntry } from '../../../shared/kernel/audit-chain';
import type { AuditEntry } from '../../../shared/kernel/audit';
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
});
