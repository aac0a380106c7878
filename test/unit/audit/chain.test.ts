import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { AuditSeal, canonicalJson, CHAIN_ALG, CHAIN_PROBLEMS_MAX, ChainMarks, ChainProblem, ChainVerifier, entryId, GENESIS_HASH, hashEntry, seqOfId, verifyChain } from '../../../shared/kernel/audit-chain';
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

  it('read as a stream, a page at a time, the verdicts are those of the whole month in memory (property)', () => {
    const key = randomBytes(32);
    const tamper = fc.record({
      n: fc.integer({ min: 1, max: 12 }),
      keyed: fc.boolean(),
      edits: fc.array(fc.record({ at: fc.nat(), how: fc.constantFrom('content', 'delete', 'relink', 'foreign', 'other-partition', 'wrong-seq', 'unkey') }), { maxLength: 4 }),
      sealAt: fc.array(fc.nat(), { maxLength: 2 }),
      headSeq: fc.nat({ max: 14 }),
      highWater: fc.nat({ max: 14 }),
      requireKeyed: fc.boolean(),
      pageSize: fc.integer({ min: 1, max: 5 }),
    });
    fc.assert(fc.property(tamper, ({ n, keyed, edits, sealAt, headSeq, highWater, requireKeyed, pageSize }) => {
      const c: AuditEntry[] = keyed ? keyedChain(n, key) : chain(n);
      const seals = sealAt.map((k) => ({ partition: P, seq: 1 + (k % n), hash: c[k % n]!.hash, sealedAt: '' }));
      let stored: AuditEntry[] = c.map((e) => ({ ...e }));
      for (const { at, how } of edits) {
        const i = at % stored.length;
        const e = stored[i];
        if (!e) continue;
        if (how === 'content') stored[i] = { ...e, status: 500 };
        else if (how === 'delete') stored = stored.filter((_, k) => k !== i);
        else if (how === 'relink') {
          const r = { ...e, prevHash: 'f'.repeat(64) };
          stored[i] = { ...r, hash: hashEntry(r, key) };
        } else if (how === 'foreign') stored.push({ ...e, id: `x-${i}` });
        else if (how === 'other-partition') stored[i] = { ...e, partition: 'other:2026-01' };
        else if (how === 'wrong-seq') stored[i] = { ...e, seq: e.seq + 1 };
        else {
          const { alg: _a, hash: _h, ...body } = e;
          stored[i] = { ...body, hash: hashEntry(body) };
        }
      }
      const marks = { headSeq, highWater, key, requireKeyed };
      const sorted = [...stored].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const streamed = new ChainVerifier(P, seals, marks);
      for (let i = 0; i < sorted.length; i += pageSize) for (const e of sorted.slice(i, i + pageSize)) streamed.add(e);
      const { problemCounts, problemsTruncated, ...report } = streamed.finish();
      expect(report).toEqual(verifyChainAsItWas(P, sorted, seals, marks));
      expect(problemsTruncated).toBe(false);
      expect(Object.values(problemCounts).reduce((a, b) => a + b, 0)).toBe(report.problems.length);
    }), { numRuns: 300 });
  });

  it('lists at most CHAIN_PROBLEMS_MAX problems, counts every one per kind, and says it left some out', () => {
    const c = chain(CHAIN_PROBLEMS_MAX + 200).map((e) => ({ ...e, status: 500 }));
    // An entry planted far ahead: the gap is counted, not walked number by number.
    const far = 1e11;
    const planted = { ...c[0]!, id: entryId(far), seq: far };
    const report = verifyChain(P, [...c, planted, { ...c[1]!, id: 'x-1' }], [], { headSeq: far + 1 });
    expect(report.problems).toHaveLength(CHAIN_PROBLEMS_MAX);
    expect(report.problems[0]).toEqual({ kind: 'inserted', id: 'x-1', detail: 'not-part-of-the-chain' });
    expect(report.problems[1]).toEqual({ kind: 'changed', seq: 1, id: entryId(1), detail: 'content-does-not-match-hash' });
    expect(report).toMatchObject({
      ok: false,
      problemsTruncated: true,
      entries: CHAIN_PROBLEMS_MAX + 202,
      lastSeq: far + 1,
      problemCounts: { inserted: 1, changed: CHAIN_PROBLEMS_MAX + 201, missing: far - CHAIN_PROBLEMS_MAX - 201, truncated: 1 },
    });
  });

  it('an intact month reports no counts and nothing left out', () => {
    expect(verifyChain(P, chain(3), [], 3)).toMatchObject({ ok: true, problems: [], problemCounts: {}, problemsTruncated: false });
  });
});

/** verifyChain as it was before it read a stream (the whole month in a Map): the oracle for the streaming verifier. */
function verifyChainAsItWas(partition: string, stored: AuditEntry[], seals: AuditSeal[], marks: ChainMarks) {
  const problems: ChainProblem[] = [];
  const bySeq = new Map<number, AuditEntry>();
  for (const e of stored) {
    const seq = seqOfId(e.id);
    if (seq === null || e.seq !== seq || e.partition !== partition) problems.push({ kind: 'inserted', id: e.id, detail: 'not-part-of-the-chain' });
    else bySeq.set(seq, e);
  }
  const sealedSeq = Math.max(0, ...seals.map((s) => s.seq));
  const chainEnd = Math.max(0, ...bySeq.keys());
  const claims = { head: marks.headSeq ?? 0, seal: sealedSeq, 'high-water': marks.highWater ?? 0 };
  const lastSeq = Math.max(chainEnd, ...Object.values(claims));
  const sealAt = new Map(seals.map((s) => [s.seq, s]));
  let prev: string | null = GENESIS_HASH;
  let keyed = false;
  for (let seq = 1; seq <= chainEnd; seq++) {
    const e = bySeq.get(seq);
    if (!e) {
      problems.push({ kind: 'missing', seq });
      prev = null;
      continue;
    }
    const matches = e.alg === CHAIN_ALG && !marks.key ? false : hashEntry(e, marks.key) === e.hash;
    if (!matches) problems.push({ kind: 'changed', seq, id: e.id, detail: 'content-does-not-match-hash' });
    else if (prev !== null && e.prevHash !== prev) problems.push({ kind: 'broken-link', seq, id: e.id });
    if (e.alg === CHAIN_ALG) keyed = true;
    else if (keyed || marks.requireKeyed) problems.push({ kind: 'unkeyed', seq, id: e.id, detail: keyed ? 'after-a-keyed-entry' : 'month-must-be-keyed' });
    const seal = sealAt.get(seq);
    if (seal && seal.hash !== e.hash) problems.push({ kind: 'changed', seq, id: e.id, detail: 'hash-differs-from-seal' });
    prev = e.hash;
  }
  if (lastSeq > chainEnd) {
    const claimedBy = (Object.keys(claims) as (keyof typeof claims)[]).filter((k) => claims[k] > chainEnd);
    problems.push({ kind: 'truncated', chainEnd, expectedSeq: lastSeq, claimedBy });
  }
  return { partition, ok: problems.length === 0, entries: stored.length, lastSeq, sealedSeq, problems };
}
