import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { canonicalJson, CHAIN_ALG, entryId, GENESIS_HASH, hashEntry, verifyChain } from '../../../shared/kernel/audit-chain';
import type { AuditEntry } from '../../../shared/kernel/audit';

const P = 'acme:2026-01';

function chain(n: number): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (let seq = 1; seq <= n; seq++) {
    const body = { id: entryId(seq), partition: P, seq, prevHash: prev, tenantId: 'acme', at: `2026-01-0${seq}T00:00:00.000Z`, actor: { subject: 'a', kind: 'user' }, action: 'document.read' as const, target: null, outcome: 'success' as const, status: 200, requestId: `r${seq}`, clientIp: null, userAgent: null };
    const e = { ...body, hash: hashEntry(body) };
    out.push(e);
    prev = e.hash;
  }
  return out;
}

function keyedChain(n: number, key: Buffer): AuditEntry[] {
  const out: AuditEntry[] = [];
  let prev = GENESIS_HASH;
  for (const e of chain(n)) {
    const { hash: _h, ...body } = { ...e, prevHash: prev, alg: CHAIN_ALG };
    out.push({ ...body, hash: hashEntry(body, key) });
    prev = out[out.length - 1]!.hash;
  }
  return out;
}

describe('audit hash chain', () => {
  it('canonical JSON ignores key order and undefined members', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: undefined } })).toBe('{"a":{"d":[1,{"x":1,"y":2}]},"b":1}');
  });

  it('an intact chain verifies', () => {
    expect(verifyChain(P, chain(5), [{ partition: P, seq: 5, hash: chain(5)[4]!.hash, sealedAt: '' }], 5)).toMatchObject({ ok: true, lastSeq: 5, sealedSeq: 5, problems: [] });
  });

  it('reports a changed, a missing and an inserted entry, and a broken link', () => {
    const c = chain(6);
    c[1] = { ...c[1]!, status: 500 };
    const forged = { ...c[2]!, id: 'x-1' };
    const relinked = { ...c[4]!, prevHash: 'f'.repeat(64) };
    relinked.hash = hashEntry(relinked);
    const stored = [c[0]!, c[1], c[2]!, relinked, c[5]!, forged];
    expect(verifyChain(P, stored, [], 6).problems).toEqual([
      { kind: 'inserted', id: 'x-1', detail: 'not-part-of-the-chain' },
      { kind: 'changed', seq: 2, id: entryId(2), detail: 'content-does-not-match-hash' },
      { kind: 'missing', seq: 4 },
      { kind: 'broken-link', seq: 6, id: entryId(6) },
    ]);
  });

  it('a truncated tail is caught by the seal or the head', () => {
    const c = chain(4);
    expect(verifyChain(P, c.slice(0, 2), [{ partition: P, seq: 3, hash: c[2]!.hash, sealedAt: '' }], 0).problems).toEqual([{ kind: 'truncated', chainEnd: 2, expectedSeq: 3, claimedBy: ['seal'] }]);
    expect(verifyChain(P, c.slice(0, 3), [], 4).problems).toEqual([{ kind: 'truncated', chainEnd: 3, expectedSeq: 4, claimedBy: ['head'] }]);
    // Head lowered to the cut: only the writer's high-water mark still knows.
    expect(verifyChain(P, c.slice(0, 3), [], { headSeq: 3, highWater: 4 }).problems).toEqual([{ kind: 'truncated', chainEnd: 3, expectedSeq: 4, claimedBy: ['high-water'] }]);
  });

  it('a rewritten tail with recomputed hashes differs from the seal', () => {
    const c = chain(3);
    const seal = { partition: P, seq: 3, hash: c[2]!.hash, sealedAt: '' };
    const e3 = { ...c[2]!, target: 'x' };
    e3.hash = hashEntry(e3);
    expect(verifyChain(P, [c[0]!, c[1]!, e3], [seal], 3).problems).toEqual([{ kind: 'changed', seq: 3, id: entryId(3), detail: 'hash-differs-from-seal' }]);
  });

  it('keyed entries verify only with the key; re-chaining without it, or dropping the mark, is reported (property)', () => {
    const key = randomBytes(32);
    fc.assert(fc.property(fc.integer({ min: 2, max: 8 }), fc.nat(), fc.boolean(), (n, pick, dropMark) => {
      const c = keyedChain(n, key);
      expect(verifyChain(P, c, [], { headSeq: n, key }).problems).toEqual([]);
      // Edit entry k and re-chain k..n without the key: a guessed key, or plain sha256 without the mark.
      const k = 1 + (pick % n);
      let prev = k === 1 ? GENESIS_HASH : c[k - 2]!.hash;
      const forged = c.map((e) => ({ ...e }));
      for (let i = k - 1; i < n; i++) {
        const { hash: _h, alg, ...body } = { ...forged[i]!, prevHash: prev, ...(i === k - 1 ? { target: 'edited' } : {}) };
        const e = dropMark ? { ...body } : { ...body, alg };
        forged[i] = { ...e, hash: hashEntry(e, dropMark ? undefined : randomBytes(32)) };
        prev = forged[i]!.hash;
      }
      // Re-chained from the first entry with the mark dropped, a month looks written before keying:
      // only a month known to be keyed (AUDIT_CHAIN_KEYED_SINCE) tells.
      const report = verifyChain(P, forged, [], { headSeq: n, key, requireKeyed: dropMark && k === 1 });
      expect(report.ok).toBe(false);
      const kinds = new Set(report.problems.map((p) => p.kind));
      expect(kinds).toEqual(new Set([dropMark ? 'unkeyed' : 'changed']));
    }));
  });
});
