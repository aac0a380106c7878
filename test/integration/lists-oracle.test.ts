/**
 * Every paged list of the route table but the search and the audit log (their own sweeps), walked at every page size
 * and judged against an oracle written from the README: over the real emulators through the local host over HTTP.
 *
 * The paged lists: `GET /exports`, `GET /legal-holds?status=open`, `GET /api-keys?state=…`, `GET /support-grants?state=…`,
 * `GET /sod-policy/proposals?state=…`, `GET /retention/policy/proposals?state=…`, `GET /retention/due?before=`. The
 * route table does not call `GET /rights-sets`, `GET /rights-assignments` and `GET /documents/{id}/metadata/history`
 * paged: each is one answer, judged whole (membership, nothing of the other tenant, the history's order).
 *
 * Corpus (seeded generator, test/support/prng.ts): per list a few to a dozen items in one tenant, made through the API
 * where it makes them quickly (keys, grants, holds, proposals, assignments, corrections), seeded through the stores
 * where it cannot (export jobs with equal `createdAt`, documents past their retention with equal retain-until), and a
 * second tenant with look-alike items that must never appear.
 *
 * The oracle, from the README's words: exports newest first; open holds only, one item per held document and open hold,
 * paged by document (a page holds at most `limit` documents, and a document's holds are never split over two pages);
 * keys, grants and proposals by state, newest first; due documents: active, retain-until at or before `before`.
 * Decided where the README is silent (and now written in it): open holds come in document id order (ids are uuidv7:
 * the order the documents were archived); the disposal review comes soonest retain-until first; among equal keys the
 * README promises no order, so only distinct keys' order is asserted.
 *
 * Each walk at page sizes {1, 2, 3, 200}: the union of the pages is the oracle's set, nothing twice, nothing of the
 * other tenant, each page at most `limit`, a token exactly when more remain (never a token to an empty page), the
 * order. A token replayed on another list, with another filter (state, before), or by the other tenant: 400
 * problem+json `invalid_query`, and the walk then resumes unharmed. A walk while items are added and removed loses none
 * of the items that stayed, and shows none twice.
 */
import { call, putAsRead, type Answer } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { mulberry32 } from '../support/prng';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { seedMany } from '../support/seed';
import { uuidv7 } from '../../shared/ids';
import type { ExportJob } from '../../shared/kernel/export';
import type { Permission } from '../../shared/kernel/principal';

jest.setTimeout(120_000);

const rnd = mulberry32(20260117);
const LIMITS = [1, 2, 3, 200];

let archive: TestArchive;
let tenant: string;
let other: string;
/** Tokens: erin and frank are tenant admins, alice an archivist, rm1/rm2 manage retention; `otherAdmin` is of the other tenant. */
const tok: Record<string, string> = {};

const json = (method: string, token: string, body?: unknown): RequestInit & { token: string } => ({
  method,
  token,
  headers: { 'Content-Type': 'application/json' },
  ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
});
const ok = (r: Answer, status: number, what: string) => expect([what, r.status, r.json?.code]).toEqual([what, status, undefined]);
const isProblem = (r: Answer) => r.status === 400 && /application\/problem\+json/.test(r.headers.get('content-type') ?? '') && r.json?.code === 'invalid_query';

// ---- the walk ------------------------------------------------------------------------------------------------------

interface ListSpec {
  label: string;
  /** Path and query without limit and token. */
  path: string;
  token: string;
  /** The oracle: the items' keys and their sort keys (already in the direction the list runs: ascending). */
  expected: Map<string, string>;
  /** An item's key. */
  keyOf: (item: any) => string;
  /** What a page is counted in (holds: documents). */
  unitOf?: (item: any) => string;
  /** Keys of the other tenant's look-alikes. */
  others: Set<string>;
  /** Misuses of this list's token: another list or filter (with its token), each 400. */
  misuses: { path: string; token: string }[];
}

let walks = 0;
let multiPage = 0;

async function walk(l: ListSpec, limit: number): Promise<void> {
  const label = `${l.label} limit=${limit}`;
  const sep = l.path.includes('?') ? '&' : '?';
  const seen: string[] = [];
  const pagesOfUnit = new Map<string, number>();
  let cont: string | null = null;
  let pages = 0;
  let misuse = 0;
  do {
    const r = await call(`${archive.url}${l.path}${sep}limit=${limit}${cont ? `&continuationToken=${encodeURIComponent(cont)}` : ''}`, { token: l.token });
    expect([label, r.status, r.json?.detail]).toEqual([label, 200, undefined]);
    const items: any[] = r.json.items;
    const units = new Set(items.map(l.unitOf ?? l.keyOf));
    expect([label, 'page size', units.size <= limit]).toEqual([label, 'page size', true]);
    for (const u of units) {
      expect([label, 'split over pages', u, pagesOfUnit.has(u)]).toEqual([label, 'split over pages', u, false]);
      pagesOfUnit.set(u, pages);
    }
    seen.push(...items.map(l.keyOf));
    cont = r.json.continuationToken ?? null;
    pages++;
    // A token exactly when more remain: never one to an empty page, never none while some are left.
    const left = [...l.expected.keys()].filter((k) => !seen.includes(k)).length;
    expect([label, 'token', pages, cont ? 'token' : 'none']).toEqual([label, 'token', pages, left > 0 ? 'token' : 'none']);
    if (cont && misuse < l.misuses.length) {
      // Another list, another filter, or the other tenant: refused; the walk then goes on with the token.
      const m = l.misuses[misuse++]!;
      const msep = m.path.includes('?') ? '&' : '?';
      const bad = await call(`${archive.url}${m.path}${msep}limit=${limit}&continuationToken=${encodeURIComponent(cont)}`, { token: m.token });
      expect([label, m.path, isProblem(bad) ? 'refused' : `${bad.status} ${JSON.stringify(bad.json).slice(0, 300)}`]).toEqual([label, m.path, 'refused']);
    }
  } while (cont && pages < 100);
  walks++;
  if (pages > 1) multiPage++;
  const missing = [...l.expected.keys()].filter((k) => !seen.includes(k));
  const extra = seen.filter((k) => !l.expected.has(k)).map((k) => (l.others.has(k) ? `other tenant ${k}` : k));
  const twice = seen.filter((k, i) => seen.indexOf(k) !== i);
  expect({ label, missing, extra, twice }).toEqual({ label, missing: [], extra: [], twice: [] });
  const keys = seen.map((k) => l.expected.get(k)!);
  const wrong = keys.flatMap((k, i) => (i > 0 && keys[i - 1]! > k ? [[i, keys[i - 1], k]] : []));
  expect({ label, wrong }).toEqual({ label, wrong: [] });
}

async function walkAll(l: ListSpec): Promise<void> {
  for (const limit of LIMITS) await walk(l, limit);
}

/** Newest first, as an ascending key: the instant's complement. */
const newestFirst = (iso: string) => String(9e15 - Date.parse(iso)).padStart(16, '0');

// ---- the corpus ----------------------------------------------------------------------------------------------------

/** The SoD policy seeded for the proposals: pairs nobody of the tenant holds both of (documents:write and another). */
const SOD_PAIRS: [Permission, Permission][] = (['audit:read', 'keys:manage', 'rights:manage', 'support:grant', 'holds:release', 'retention:approve', 'retention:manage', 'exports:create'] as Permission[]).map((p) => ['documents:write', p]);

beforeAll(async () => {
  // Every walk replays tokens wrongly: more refusals than one person's burst allows.
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' });
  tenant = newTenant('lists');
  other = newTenant('lists-other');
  await seedRightsSet(archive, tenant, 'records', ['retention:manage', 'documents:read']);
  await seedRightsSet(archive, other, 'records', ['retention:manage', 'documents:read']);
  for (const [name, t, rights] of [['erin', tenant, 'tenant-admin'], ['frank', tenant, 'tenant-admin'], ['alice', tenant, 'archivist'], ['rm1', tenant, 'records'], ['rm2', tenant, 'records'], ['otherAdmin', other, 'tenant-admin'], ['otherAlice', other, 'archivist'], ['otherRm', other, 'records']] as const) {
    tok[name] = await archive.token({ tenant: t, sub: `${name}@lists.example`, rights });
  }
}, 120_000);
afterAll(() => archive?.stop());

// ---- the lists -----------------------------------------------------------------------------------------------------

describe('every paged list, walked at every page size against the oracle', () => {
  it('GET /exports: the tenant\'s exports, newest first (equal createdAt included)', async () => {
    const base = Date.UTC(2025, 5, 1);
    const job = (t: string, i: number): ExportJob => {
      const id = uuidv7();
      const createdAt = new Date(base + Math.floor(i / 3) * 60_000).toISOString();
      return {
        id, tenantId: t, type: 'export', status: 'completed', filter: {}, includeOriginals: false, csv: { separator: ',', decimalMark: '.' },
        createdAt, createdBy: { subject: 'erin@lists.example', kind: 'user' }, requestId: `req-${id}`, heartbeatAt: createdAt, attempts: 1,
        progress: { total: 0, documents: 0, files: 0, bytes: 0 }, blobName: `${id}.zip`, archive: { size: 22, sha256: '0'.repeat(64) },
        completedAt: createdAt, expiresAt: '2099-01-01T00:00:00.000Z',
      };
    };
    const mine = Array.from({ length: 11 }, (_, i) => job(tenant, i)).sort(() => rnd() - 0.5);
    for (const j of mine) await archive.host.deps.exportJobs.create(j);
    const theirs = Array.from({ length: 4 }, (_, i) => job(other, i));
    for (const j of theirs) await archive.host.deps.exportJobs.create(j);
    await walkAll({
      label: 'exports', path: '/exports', token: tok.erin!,
      expected: new Map(mine.map((j) => [j.id, newestFirst(j.createdAt)])), keyOf: (e) => e.id, others: new Set(theirs.map((j) => j.id)),
      misuses: [{ path: '/legal-holds?status=open', token: tok.erin! }, { path: '/exports', token: tok.otherAdmin! }, { path: '/api-keys', token: tok.erin! }],
    });
  });

  it('GET /legal-holds?status=open: open holds only, one item per held document and hold, paged by document', async () => {
    const docs = await seedMany(archive.host.deps, tenant, Array.from({ length: 10 }, () => ({ metadata: { kind: 'invoice' } })));
    const theirs = await seedMany(archive.host.deps, other, Array.from({ length: 3 }, () => ({ metadata: { kind: 'invoice' } })));
    const place = async (id: string, n: number, token = tok.alice!) => {
      const r = await call(`${archive.url}/documents/${id}/legal-holds`, json('POST', token, { reason: `Hold ${n}`, caseReference: `CASE-${n}` }));
      ok(r, 201, `place ${n}`);
      return r.json.id as string;
    };
    const open = new Map<string, string>();
    const holdsOf: Record<number, string[]> = {};
    // Documents 0–7 held once, 0, 3 and 6 twice; 8 and 9 never.
    for (let i = 0; i < 8; i++) holdsOf[i] = [await place(docs[i]!.id, i)];
    for (const i of [0, 3, 6]) holdsOf[i]!.push(await place(docs[i]!.id, 10 + i));
    const release = async (i: number, holdId: string) => ok(await call(`${archive.url}/documents/${docs[i]!.id}/legal-holds/${holdId}`, json('DELETE', tok.erin!, { reason: 'Case closed' })), 200, `release ${i}`);
    // Document 5's only hold released (not listed); document 3's first one (listed with its second only).
    await release(5, holdsOf[5]![0]!);
    await release(3, holdsOf[3]![0]!);
    holdsOf[5] = [];
    holdsOf[3] = [holdsOf[3]![1]!];
    for (const [i, ids] of Object.entries(holdsOf)) for (const h of ids) open.set(`${docs[Number(i)]!.id}/${h}`, docs[Number(i)]!.id);
    const otherHolds = new Set<string>();
    for (const d of theirs) {
      const r = await call(`${archive.url}/documents/${d.id}/legal-holds`, json('POST', tok.otherAlice!, { reason: 'Theirs', caseReference: 'CASE-X' }));
      ok(r, 201, 'their hold');
      otherHolds.add(`${d.id}/${r.json.id}`);
    }
    await walkAll({
      label: 'legal-holds', path: '/legal-holds?status=open', token: tok.erin!,
      expected: open, keyOf: (h) => `${h.documentId}/${h.id}`, unitOf: (h) => h.documentId, others: otherHolds,
      misuses: [{ path: '/exports', token: tok.erin! }, { path: '/legal-holds?status=open', token: tok.otherAdmin! }, { path: '/retention/due', token: tok.erin! }],
    });
  });

  it('GET /api-keys?state=…: by state, newest first', async () => {
    const made: { id: string; createdAt: string }[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await call(`${archive.url}/api-keys`, json('POST', tok.erin!, { name: `Scanner ${i}`, rightsSet: 'accountant' }));
      ok(r, 201, `key ${i}`);
      made.push({ id: r.json.id, createdAt: r.json.createdAt });
    }
    const revoked = new Set([made[1]!.id, made[4]!.id, made[8]!.id]);
    for (const id of revoked) ok(await call(`${archive.url}/api-keys/${id}`, json('DELETE', tok.erin!)), 200, `revoke ${id}`);
    const theirs = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const r = await call(`${archive.url}/api-keys`, json('POST', tok.otherAdmin!, { name: `Scanner ${i}`, rightsSet: 'accountant' }));
      ok(r, 201, 'their key');
      theirs.add(r.json.id);
    }
    const of = (keep: (id: string) => boolean) => new Map(made.filter((k) => keep(k.id)).map((k) => [k.id, newestFirst(k.createdAt)]));
    const states: [string, Map<string, string>][] = [['in-use', of((id) => !revoked.has(id))], ['revoked', of((id) => revoked.has(id))], ['expired', of(() => false)], ['all', of(() => true)]];
    for (const [state, expected] of states) {
      await walkAll({
        label: `api-keys ${state}`, path: `/api-keys?state=${state}`, token: tok.erin!, expected, keyOf: (k) => k.id, others: theirs,
        misuses: [{ path: `/api-keys?state=${state === 'all' ? 'revoked' : 'all'}`, token: tok.erin! }, { path: `/support-grants?state=${state === 'in-use' ? 'active' : state}`, token: tok.erin! }, { path: `/api-keys?state=${state}`, token: tok.otherAdmin! }],
      });
    }
  });

  it('GET /support-grants?state=…: by state, newest first', async () => {
    const made: { id: string; createdAt: string }[] = [];
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    for (let i = 0; i < 7; i++) {
      const r = await call(`${archive.url}/support-grants`, json('POST', tok.erin!, { ticket: `SUP-${i}`, expiresAt }));
      ok(r, 201, `grant ${i}`);
      made.push({ id: r.json.id, createdAt: r.json.createdAt });
    }
    const revoked = new Set([made[0]!.id, made[5]!.id]);
    for (const id of revoked) ok(await call(`${archive.url}/support-grants/${id}`, json('DELETE', tok.erin!)), 200, `revoke ${id}`);
    const theirs = new Set<string>();
    for (let i = 0; i < 2; i++) {
      const r = await call(`${archive.url}/support-grants`, json('POST', tok.otherAdmin!, { ticket: `SUP-${i}`, expiresAt }));
      ok(r, 201, 'their grant');
      theirs.add(r.json.id);
    }
    const of = (keep: (id: string) => boolean) => new Map(made.filter((g) => keep(g.id)).map((g) => [g.id, newestFirst(g.createdAt)]));
    for (const [state, expected] of [['active', of((id) => !revoked.has(id))], ['revoked', of((id) => revoked.has(id))], ['expired', of(() => false)], ['all', of(() => true)]] as const) {
      await walkAll({
        label: `support-grants ${state}`, path: `/support-grants?state=${state}`, token: tok.erin!, expected, keyOf: (g) => g.id, others: theirs,
        misuses: [{ path: `/support-grants?state=${state === 'all' ? 'active' : 'all'}`, token: tok.erin! }, { path: `/api-keys?state=${state === 'active' ? 'in-use' : state}`, token: tok.erin! }, { path: `/support-grants?state=${state}`, token: tok.otherAdmin! }],
      });
    }
  });

  it('GET /sod-policy/proposals?state=…: by state (decided: any of the four), newest first', async () => {
    await seedSodPolicy(archive, tenant, { conflicts: SOD_PAIRS });
    await seedSodPolicy(archive, other, { conflicts: SOD_PAIRS });
    const made: { id: string; proposedAt: string }[] = [];
    for (let i = 0; i < SOD_PAIRS.length; i++) {
      const r = await putAsRead(`${archive.url}/sod-policy`, { conflicts: SOD_PAIRS.filter((_, j) => j !== i), uploaderCannotApproveDisposal: true }, { token: tok.erin! });
      ok(r, 202, `propose ${i}`);
      made.push({ id: r.json.id, proposedAt: r.json.proposedAt });
    }
    const state = new Map(made.map((p) => [p.id, 'pending']));
    for (const i of [1, 6]) {
      ok(await call(`${archive.url}/sod-policy/proposals/${made[i]!.id}`, json('DELETE', tok.frank!)), 200, `reject ${i}`);
      state.set(made[i]!.id, 'rejected');
    }
    for (const i of [2, 3]) {
      ok(await call(`${archive.url}/sod-policy/proposals/${made[i]!.id}`, json('DELETE', tok.erin!)), 200, `withdraw ${i}`);
      state.set(made[i]!.id, 'withdrawn');
    }
    ok(await call(`${archive.url}/sod-policy/proposals/${made[5]!.id}/approve`, json('POST', tok.frank!, { reason: 'Agreed' })), 200, 'approve 5');
    state.set(made[5]!.id, 'approved');
    const theirs = new Set<string>();
    const r = await putAsRead(`${archive.url}/sod-policy`, { conflicts: SOD_PAIRS.slice(1), uploaderCannotApproveDisposal: true }, { token: tok.otherAdmin! });
    ok(r, 202, 'their proposal');
    theirs.add(r.json.id);
    const of = (keep: (s: string) => boolean) => new Map(made.filter((p) => keep(state.get(p.id)!)).map((p) => [p.id, newestFirst(p.proposedAt)]));
    const STATES: [string, (s: string) => boolean][] = [['pending', (s) => s === 'pending'], ['approved', (s) => s === 'approved'], ['withdrawn', (s) => s === 'withdrawn'], ['rejected', (s) => s === 'rejected'], ['expired', () => false], ['decided', (s) => s !== 'pending'], ['all', () => true]];
    for (const [st, keep] of STATES) {
      await walkAll({
        label: `sod proposals ${st}`, path: `/sod-policy/proposals?state=${st}`, token: tok.erin!, expected: of(keep), keyOf: (p) => p.id, others: theirs,
        misuses: [{ path: `/sod-policy/proposals?state=${st === 'all' ? 'pending' : 'all'}`, token: tok.erin! }, { path: `/retention/policy/proposals?state=${st}`, token: tok.rm1! }, { path: `/sod-policy/proposals?state=${st}`, token: tok.otherAdmin! }],
      });
    }
  });

  it('GET /retention/policy/proposals?state=…: by state, newest first', async () => {
    const strict = (years: number) => ({ classes: [{ name: 'contracts', years }], defaultClass: 'fiscal-7y', requireDisposalApproval: true });
    ok(await putAsRead(`${archive.url}/retention/policy`, strict(30), { token: tok.rm1! }), 200, 'policy');
    ok(await putAsRead(`${archive.url}/retention/policy`, strict(30), { token: tok.otherRm! }), 200, 'their policy');
    const made: { id: string; proposedAt: string }[] = [];
    for (let i = 0; i < 7; i++) {
      const r = await putAsRead(`${archive.url}/retention/policy`, strict(29 - i), { token: tok.rm1! });
      ok(r, 202, `propose ${i}`);
      made.push({ id: r.json.id, proposedAt: r.json.proposedAt });
    }
    const state = new Map(made.map((p) => [p.id, 'pending']));
    for (const i of [0, 4]) {
      ok(await call(`${archive.url}/retention/policy/proposals/${made[i]!.id}`, json('DELETE', tok.rm2!)), 200, `reject ${i}`);
      state.set(made[i]!.id, 'rejected');
    }
    ok(await call(`${archive.url}/retention/policy/proposals/${made[2]!.id}`, json('DELETE', tok.rm1!)), 200, 'withdraw 2');
    state.set(made[2]!.id, 'withdrawn');
    const r = await putAsRead(`${archive.url}/retention/policy`, strict(20), { token: tok.otherRm! });
    ok(r, 202, 'their proposal');
    const theirs = new Set([r.json.id as string]);
    const of = (keep: (s: string) => boolean) => new Map(made.filter((p) => keep(state.get(p.id)!)).map((p) => [p.id, newestFirst(p.proposedAt)]));
    const STATES: [string, (s: string) => boolean][] = [['pending', (s) => s === 'pending'], ['withdrawn', (s) => s === 'withdrawn'], ['rejected', (s) => s === 'rejected'], ['decided', (s) => s !== 'pending'], ['all', () => true]];
    for (const [st, keep] of STATES) {
      await walkAll({
        label: `retention proposals ${st}`, path: `/retention/policy/proposals?state=${st}`, token: tok.rm1!, expected: of(keep), keyOf: (p) => p.id, others: theirs,
        misuses: [{ path: `/retention/policy/proposals?state=${st === 'all' ? 'pending' : 'all'}`, token: tok.rm1! }, { path: `/sod-policy/proposals?state=${st}`, token: tok.erin! }, { path: `/retention/policy/proposals?state=${st}`, token: tok.otherRm! }],
      });
    }
  });

  it('GET /retention/due?before=: active documents whose retain-until is at or before `before`, soonest first', async () => {
    const RETAIN = ['2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2020-01-01T00:00:00.000Z', '2021-06-30T00:00:00.000Z', '2021-06-30T00:00:00.000Z', '2022-12-31T23:59:59.000Z', '2023-01-01T00:00:00.000Z', '2023-01-01T00:00:01.000Z', '2024-05-05T00:00:00.000Z', '2099-01-01T00:00:00.000Z'];
    const age = async (t: string, n: number) => {
      const docs = await seedMany(archive.host.deps, t, Array.from({ length: n }, () => ({ metadata: { kind: 'receipt' as const } })));
      const out: { id: string; retainUntil: string }[] = [];
      for (const [i, d] of docs.entries()) {
        const retainUntil = RETAIN[i % RETAIN.length]!;
        const item = archive.host.deps.cosmos.documents.item(d.id, t);
        const { resource } = await item.read();
        await item.replace({ ...resource, retention: { ...resource.retention, retainUntil } });
        out.push({ id: d.id, retainUntil });
      }
      return out;
    };
    const mine = await age(tenant, RETAIN.length);
    const theirs = new Set((await age(other, 4)).map((d) => d.id));
    for (const before of ['2023-01-01T00:00:00.000Z', '2021-06-30T00:00:00.000Z', undefined]) {
      const at = before ?? new Date().toISOString();
      // Only this test's documents are past their retention in this tenant (the other lists' documents retain until 2099).
      const expected = new Map(mine.filter((d) => d.retainUntil <= at).map((d) => [d.id, d.retainUntil]));
      const path = before ? `/retention/due?before=${encodeURIComponent(before)}` : '/retention/due';
      await walkAll({
        label: `due before ${before ?? 'now'}`, path, token: tok.erin!, expected, keyOf: (d) => d.id, others: theirs,
        misuses: [{ path: before ? '/retention/due' : '/retention/due?before=2023-01-01T00:00:00.000Z', token: tok.erin! }, { path: '/legal-holds?status=open', token: tok.erin! }, { path, token: tok.otherAdmin! }],
      });
    }
  });

  it('the unpaged lists: rights sets, rights assignments, a document\'s metadata history are answered whole', async () => {
    const t = newTenant('lists-unpaged');
    const o = newTenant('lists-unpaged-other');
    const admin = await archive.token({ tenant: t, sub: 'erin@lists.example', rights: 'tenant-admin' });
    const otherAdmin = await archive.token({ tenant: o, sub: 'erin@lists.example', rights: 'tenant-admin' });
    for (const [token, names] of [[admin, ['readers', 'auditors-lite', 'clerks-2']], [otherAdmin, ['theirs']]] as const) {
      for (const n of names) ok(await call(`${archive.url}/rights-sets/${n}`, json('PUT', token, { permissions: ['documents:read'] })), 200, `set ${n}`);
      for (const s of ['bob', 'carol', 'dave']) ok(await call(`${archive.url}/rights-assignments/${s}@${names[0]}`, json('PUT', token, { rightsSet: names[0] })), 200, `assign ${s}`);
    }
    const sets = await call(`${archive.url}/rights-sets`, { token: admin });
    expect(sets.json.items.filter((s: { builtIn: boolean }) => !s.builtIn).map((s: { name: string }) => s.name).sort()).toEqual(['auditors-lite', 'clerks-2', 'readers'].sort());
    expect(sets.json.continuationToken).toBeUndefined();
    const assignments = await call(`${archive.url}/rights-assignments`, { token: admin });
    expect(assignments.json.items.map((a: { subject: string }) => a.subject).sort()).toEqual(['bob@readers', 'carol@readers', 'dave@readers']);
    // The history: the ingest version first, then each correction in order.
    const [doc] = await seedMany(archive.host.deps, t, [{ metadata: { kind: 'invoice', counterparty: 'A' } }]);
    let etag = '"metadata-1"';
    for (const c of ['B', 'C', 'D', 'E']) {
      const r = await call(`${archive.url}/documents/${doc!.id}/metadata`, { method: 'PATCH', token: admin, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': etag }, body: JSON.stringify({ counterparty: c, reason: `to ${c}` }) });
      ok(r, 200, `correct ${c}`);
      etag = r.headers.get('etag')!;
    }
    const history = await call(`${archive.url}/documents/${doc!.id}/metadata/history`, { token: admin });
    ok(history, 200, 'history');
    expect(JSON.stringify(history.json)).toMatch(/"A"[\s\S]*"B"[\s\S]*"C"[\s\S]*"D"[\s\S]*"E"/);
    expect((await call(`${archive.url}/documents/${doc!.id}/metadata/history`, { token: otherAdmin })).status).toBe(404);
  });

  it('a walk while keys are minted and revoked: none that stayed lost, none twice', async () => {
    const t = newTenant('lists-busy');
    const admin = await archive.token({ tenant: t, sub: 'erin@lists.example', rights: 'tenant-admin' });
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await call(`${archive.url}/api-keys`, json('POST', admin, { name: `Key ${i}`, rightsSet: 'accountant' }));
      ok(r, 201, `key ${i}`);
      ids.push(r.json.id);
    }
    for (const state of ['in-use', 'all']) {
      const seen: string[] = [];
      const removed = new Set<string>();
      let cont: string | null = null;
      let pages = 0;
      do {
        const r = await call(`${archive.url}/api-keys?state=${state}&limit=2${cont ? `&continuationToken=${encodeURIComponent(cont)}` : ''}`, { token: admin });
        expect(r.status).toBe(200);
        seen.push(...r.json.items.map((k: { id: string }) => k.id));
        cont = r.json.continuationToken;
        pages++;
        if (pages === 1 || pages === 2) {
          // One minted (newer than every page: ahead of the walk), one not yet seen revoked, one already seen revoked.
          const m = await call(`${archive.url}/api-keys`, json('POST', admin, { name: `Mid ${state} ${pages}`, rightsSet: 'accountant' }));
          ok(m, 201, 'mid key');
          const unseen = ids.filter((id) => !seen.includes(id) && !removed.has(id));
          const gone = unseen[Math.floor(rnd() * unseen.length)]!;
          ok(await call(`${archive.url}/api-keys/${gone}`, json('DELETE', admin)), 200, 'mid revoke');
          removed.add(gone);
        }
      } while (cont && pages < 50);
      const twice = seen.filter((id, i) => seen.indexOf(id) !== i);
      const lost = ids.filter((id) => !removed.has(id) && !seen.includes(id));
      expect({ state, twice, lost }).toEqual({ state, twice: [], lost: [] });
      ids.splice(0, ids.length, ...ids.filter((id) => !removed.has(id)));
    }
  });

  afterAll(() => {
    console.log(`lists oracle: ${walks} walks, ${multiPage} of several pages`);
    expect(multiPage).toBeGreaterThan(walks / 3);
  });
});
