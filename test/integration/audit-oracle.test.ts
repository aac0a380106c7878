/**
 * GET /audit as an auditor reads it, judged against an oracle: a generated sweep over the real emulators (Azurite, the
 * Cosmos protocol server) through the local host over HTTP.
 *
 * Generated: in one tenant, entries from real requests (uploads, reads, a correction, a hold; refusals answered 403, 404
 * and 400) by several people, and entries appended through the host's audit log with their time in earlier months
 * (the log is partitioned per tenant and month; an entry's `at` picks its partition): the last millisecond of a month and
 * the first of the next, 29 February and 1 March of a leap year, 31 January, several entries at one instant, and an
 * entry at this month's first millisecond appended after the real requests (so the chain's order is not the time's). A
 * second tenant holds look-alike entries (the same actors, actions, targets, request ids and instants) that must never
 * appear. The auditor's own reads of the log are audited too; the oracle knows each of them (request id, the time
 * between sending and the answer).
 *
 * The oracle is written from the README's words (the route table and the section on reading the log), not the code:
 * newest first; `from` and `to` bound the entry's time, both inclusive; a plain date (YYYY-MM-DD) means that day in UTC:
 * `from` its first millisecond, `to` its last; an instant with an offset is that instant. The months read run from
 * `from`'s month to `to`'s (without `to`: now); without `from`, `to`'s month alone (without either: this month). More
 * than 24 months, or `from` after `to`, is 400 naming the query. `actor` (the actor's subject), `action` and `target`
 * match exactly; filters combine with AND. Decided by design (the README said nothing, and now says this): `to` is
 * inclusive and a plain `to` includes its whole day, as an auditor reading "to 30 November" expects the 30th's entries.
 * An entry whose time the oracle knows only within a window (a request's) that straddles a bound may or may not appear.
 *
 * Walks: the unfiltered log and every filter alone (several values each), every pair of filters (a seeded sample of
 * value pairs), each with a page size taken in turn from {1, 2, 7, 100} (1 and 2 only where the walk stays short). Each
 * walk checks: the union of pages is the oracle's set, no entry twice, nothing of the other tenant, each page at most
 * `limit`, a continuation token exactly when more remain (no page after the first is empty; an empty first page has no
 * token), newest first (equal instants in any order: the README promises nothing there), and each entry as the oracle
 * knows it. A token replayed with another filter, or by the other tenant, is 400 problem+json `invalid_query`, and the
 * walk then resumes with the same token. A walk while the test's own requests write new entries loses none of the
 * entries that were there before it began. `GET /audit/verify?month=` on each month the corpus touches: `ok: true` and
 * the entries the oracle knows in that month (reads of the log included, up to the verification's own, which is written
 * after its answer).
 */
import { call, rawUpload, type Answer } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { paddedJpeg } from '../support/large-jpeg';
import { mulberry32 } from '../support/prng';
import type { AuditEntry, AuditInput } from '../../shared/kernel/audit';

jest.setTimeout(120_000);

const rnd = mulberry32(20261207);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;

// ---- months and instants -------------------------------------------------------------------------------------------

const monthOf = (iso: string) => iso.slice(0, 7);
function addMonths(month: string, n: number): string {
  const [y, m] = month.split('-').map(Number) as [number, number];
  const d = new Date(Date.UTC(y, m - 1 + n, 1));
  return d.toISOString().slice(0, 7);
}
const firstMs = (month: string) => `${month}-01T00:00:00.000Z`;
const lastMs = (month: string) => new Date(Date.parse(firstMs(addMonths(month, 1))) - 1).toISOString();
const lastDay = (month: string) => lastMs(month).slice(0, 10);
const monthsSpan = (from: string, to: string) => {
  const [fy, fm] = from.split('-').map(Number) as [number, number];
  const [ty, tm] = to.split('-').map(Number) as [number, number];
  return (ty - fy) * 12 + (tm - fm) + 1;
};

const CUR = monthOf(new Date().toISOString());
const PREV = addMonths(CUR, -1);
const PREV2 = addMonths(CUR, -2);
/** The latest leap year's February before this month. */
const LEAP = (() => {
  for (let y = Number(CUR.slice(0, 4)); ; y--) if (new Date(Date.UTC(y, 1, 29)).getUTCMonth() === 1 && `${y}-02` < CUR) return y;
})();
const FEB = `${LEAP}-02`;

// ---- the oracle ----------------------------------------------------------------------------------------------------

/** Any target: the auditor's own reads (the months they read), never a filter value here. */
const ANY = Symbol('any target');

interface Known {
  requestId: string;
  /** The entry's time lies within [lo, hi] (equal for an appended entry). */
  lo: string;
  hi: string;
  actor: string;
  action: string;
  target: string | null | typeof ANY;
  status: number;
}

type Query = Partial<Record<'from' | 'to' | 'actor' | 'action' | 'target', string>>;
type Tri = 'in' | 'out' | 'maybe';

/** README: a plain date is that day in UTC, `from` its first millisecond, `to` its last; an instant is itself. */
const bound = (s: string, side: 'from' | 'to') => (/^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T${side === 'from' ? '00:00:00.000' : '23:59:59.999'}Z` : new Date(s).toISOString());

/** The months a query reads, or a refusal (400). */
function monthsOf(q: Query): { lo: string; hi: string } | 'refused' {
  const from = q.from ? bound(q.from, 'from') : undefined;
  const to = q.to ? bound(q.to, 'to') : undefined;
  const until = to ?? new Date().toISOString();
  if (from && from > until) return 'refused';
  const hi = monthOf(until);
  const lo = from ? monthOf(from) : hi;
  if (monthsSpan(lo, hi) > 24) return 'refused';
  return { lo, hi };
}

function and(...ts: Tri[]): Tri {
  return ts.includes('out') ? 'out' : ts.includes('maybe') ? 'maybe' : 'in';
}
function within(lo: string, hi: string, min: string | undefined, max: string | undefined): Tri {
  if ((min !== undefined && hi < min) || (max !== undefined && lo > max)) return 'out';
  if ((min === undefined || lo >= min) && (max === undefined || hi <= max)) return 'in';
  return 'maybe';
}

function judge(e: Known, q: Query, months: { lo: string; hi: string }): Tri {
  return and(
    within(monthOf(e.lo), monthOf(e.hi), months.lo, months.hi),
    within(e.lo, e.hi, q.from ? bound(q.from, 'from') : undefined, q.to ? bound(q.to, 'to') : undefined),
    q.actor === undefined || q.actor === e.actor ? 'in' : 'out',
    q.action === undefined || q.action === e.action ? 'in' : 'out',
    q.target === undefined ? 'in' : e.target !== ANY && e.target === q.target ? 'in' : 'out',
  );
}

// ---- the archive ---------------------------------------------------------------------------------------------------

let archive: TestArchive;
let tenant: string;
let other: string;
let auditor: string;
let otherAuditor: string;
/** Every entry of the tenant the test caused, by request id. */
const known = new Map<string, Known>();
let requests = 0;

const ACTORS = ['alice@a.example', 'bob@a.example', 'apikey:0123456789abcdef', 'erin@a.example'];
const ACTIONS = ['document.read', 'document.ingest', 'legal-hold.place', 'document.correct-metadata', 'document.list'] as const;
const TARGETS = ['01HZX0AUDITORACLE0000000001', '01HZX0AUDITORACLE0000000002', null];
const MADE_UP = '01HZX0AUDITORACLE000000MISS';
const docs: string[] = [];

/** A real request, its entry known: who, what, which target, the answer's status, its time between send and answer. */
async function tracked(url: string, init: RequestInit & { token: string }, who: { actor: string; action: string; target: string | null | typeof ANY }): Promise<Answer> {
  const lo = new Date().toISOString();
  const r = await call(url, init);
  const hi = new Date().toISOString();
  requests++;
  const requestId = r.headers.get('x-request-id')!;
  known.set(requestId, { requestId, lo, hi, ...who, status: r.status });
  return r;
}

const CAROL = 'carol@a.example';
const read = (qs: string, token = auditor) =>
  token === auditor ? tracked(`${archive.url}/audit?${qs}`, { token }, { actor: CAROL, action: 'audit.read', target: ANY }) : call(`${archive.url}/audit?${qs}`, { token }).then((r) => (requests++, r));

const json = (method: string, token: string, body: unknown, headers: Record<string, string> = {}) => ({ method, token, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });

/** Entries appended through the host's log, with their time in an earlier month (the same for both tenants: look-alikes). */
let base: Omit<AuditInput, 'tenantId'>[] | undefined;
function generated(tenantId: string): AuditInput[] {
  base ??= generate();
  return base.map((e) => ({ ...e, tenantId }));
}
function generate(): Omit<AuditInput, 'tenantId'>[] {
  const instants: string[] = [
    lastMs(PREV), firstMs(PREV), lastMs(PREV2), firstMs(PREV2),
    `${FEB}-29T00:00:00.000Z`, `${FEB}-29T23:59:59.999Z`, `${FEB}-28T12:00:00.000Z`, `${LEAP}-03-01T00:00:00.000Z`, `${LEAP}-01-31T23:59:59.999Z`,
  ];
  // Ties: three entries at one instant, twice.
  const tie1 = `${PREV}-15T10:00:00.000Z`;
  const tie2 = `${PREV2}-10T08:30:00.000Z`;
  instants.push(tie1, tie1, tie1, tie2, tie2, tie2);
  for (let i = 0; i < 10; i++) {
    const month = pick([PREV, PREV2, FEB]);
    const day = 1 + Math.floor(rnd() * 28);
    instants.push(`${month}-${String(day).padStart(2, '0')}T${String(Math.floor(rnd() * 24)).padStart(2, '0')}:${String(Math.floor(rnd() * 60)).padStart(2, '0')}:00.000Z`);
  }
  return instants.map((at, i) => ({
    at,
    actor: { subject: ACTORS[i % ACTORS.length]!, kind: 'user' },
    action: ACTIONS[(i * 3) % ACTIONS.length]!,
    target: TARGETS[i % TARGETS.length]!,
    outcome: 'success' as const,
    status: 200,
    requestId: `gen-${String(i).padStart(3, '0')}`,
    clientIp: null,
    userAgent: null,
  }));
}

/** Appends entries one partition at a time, in the order given (not the time's). */
async function appendAll(inputs: AuditInput[]): Promise<void> {
  const byMonth = new Map<string, AuditInput[]>();
  for (const i of inputs) byMonth.set(monthOf(i.at), [...(byMonth.get(monthOf(i.at)) ?? []), i]);
  for (const batch of byMonth.values()) await archive.host.deps.audit.appendBatch(batch);
}

function knowAppended(inputs: AuditInput[]): void {
  for (const i of inputs) known.set(i.requestId, { requestId: i.requestId, lo: i.at, hi: i.at, actor: i.actor.subject, action: i.action, target: i.target, status: i.status });
}

beforeAll(async () => {
  // Every walk replays a token wrongly once: more refusals than one person's burst allows.
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' });
  tenant = newTenant('auditoracle');
  other = newTenant('auditoracle-other');
  auditor = await archive.token({ tenant, sub: CAROL, rights: 'auditor' });
  otherAuditor = await archive.token({ tenant: other, sub: CAROL, rights: 'auditor' });
  const alice = await archive.token({ tenant, sub: 'alice@a.example', rights: 'archivist' });
  const bob = await archive.token({ tenant, sub: 'bob@a.example', rights: 'accountant' });
  const dave = await archive.token({ tenant, sub: 'dave@a.example', rights: 'uploader' });
  const otherAlice = await archive.token({ tenant: other, sub: 'alice@a.example', rights: 'archivist' });

  const past = generated(tenant);
  await appendAll(past);
  knowAppended(past);
  // The look-alikes: the same entries in the other tenant, and a real upload and read there by the same subject.
  await appendAll(generated(other));
  const scan = (tag: string) => paddedJpeg(corpusFile('ocrmypdf/baiona_color.jpg'), `${tag}-${Date.now()}-${Math.random()}`);
  const up = await call(`${archive.url}/documents`, { ...rawUpload(scan('o'), 'image/jpeg'), token: otherAlice });
  expect(up.status).toBe(201);
  await call(`${archive.url}/documents/${up.json.id}`, { token: otherAlice });

  // Real requests by several people: uploads, reads, a correction, a hold; refusals 403, 404, 400.
  for (let i = 0; i < 3; i++) {
    const lo = new Date().toISOString();
    const r = await call(`${archive.url}/documents`, { ...rawUpload(scan(`a${i}`), 'image/jpeg'), token: alice });
    const hi = new Date().toISOString();
    expect(r.status).toBe(201);
    docs.push(r.json.id);
    known.set(r.headers.get('x-request-id')!, { requestId: r.headers.get('x-request-id')!, lo, hi, actor: 'alice@a.example', action: 'document.ingest', target: r.json.id, status: 201 });
  }
  const statuses = [
    (await tracked(`${archive.url}/documents/${docs[0]}`, { token: bob }, { actor: 'bob@a.example', action: 'document.read', target: docs[0]! })).status,
    (await tracked(`${archive.url}/documents/${docs[1]}/metadata`, json('PATCH', alice, { reference: 'INV-9', reason: 'typo' }, { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-1"' }), { actor: 'alice@a.example', action: 'document.correct-metadata', target: docs[1]! })).status,
    (await tracked(`${archive.url}/documents/${docs[0]}/legal-holds`, json('POST', alice, { reason: 'tax audit', caseReference: 'FA-1' }), { actor: 'alice@a.example', action: 'legal-hold.place', target: docs[0]! })).status,
    // Refused: a hold by someone without holds:place, a read of a document that does not exist, a search with a bad limit.
    (await tracked(`${archive.url}/documents/${docs[2]}/legal-holds`, json('POST', dave, { reason: 'x', caseReference: 'FA-2' }), { actor: 'dave@a.example', action: 'legal-hold.place', target: docs[2]! })).status,
    (await tracked(`${archive.url}/documents/${MADE_UP}`, { token: bob }, { actor: 'bob@a.example', action: 'document.read', target: MADE_UP })).status,
    (await tracked(`${archive.url}/documents?limit=0`, { token: bob }, { actor: 'bob@a.example', action: 'document.list', target: null })).status,
    (await tracked(`${archive.url}/documents/${docs[2]}`, { token: bob }, { actor: 'bob@a.example', action: 'document.read', target: docs[2]! })).status,
  ];
  expect(statuses).toEqual([200, 200, 201, 403, 404, 400, 200]);
  // This month's first millisecond, and a tie there, appended after the real requests: the chain's order is not the time's.
  const early: AuditInput[] = [0, 1, 2].map((k) => ({ ...generated(tenant)[k]!, at: firstMs(CUR), requestId: `gen-cur-${k}` }));
  await appendAll(early);
  knowAppended(early);
  await appendAll(early.map((e) => ({ ...e, tenantId: other })));
}, 120_000);
afterAll(() => archive?.stop());

// ---- the walk ------------------------------------------------------------------------------------------------------

const qs = (q: Query, limit: number, cont?: string | null) => new URLSearchParams({ ...q, limit: String(limit), ...(cont ? { continuationToken: cont } : {}) }).toString();
const isProblem = (r: Answer) => r.status === 400 && /application\/problem\+json/.test(r.headers.get('content-type') ?? '') && r.json?.code === 'invalid_query';

/** Another query than q (a filter changed, added or dropped), or the same by the other tenant. */
function misuse(q: Query, limit: number, n: number): { other: string; as: string } {
  if (n % 4 === 3) return { other: qs(q, limit), as: otherAuditor };
  const variants: (() => Query)[] = [
    () => ({ ...q, actor: q.actor === 'bob@a.example' ? 'alice@a.example' : 'bob@a.example' }),
    () => ({ ...q, action: q.action === 'document.read' ? 'document.ingest' : 'document.read' }),
    () => {
      const keys = Object.keys(q) as (keyof Query)[];
      if (keys.length === 0) return { target: TARGETS[0]! };
      const { [keys[0]!]: _drop, ...rest } = q;
      return rest;
    },
  ];
  return { other: qs(variants[n % variants.length]!(), limit), as: auditor };
}

let walks = 0;
let nonEmpty = 0;
let multiPage = 0;

async function walk(q: Query, limit: number, n: number): Promise<void> {
  const label = qs(q, limit);
  const months = monthsOf(q);
  if (months === 'refused') {
    const r = await read(qs(q, limit));
    walks++;
    expect([label, isProblem(r)]).toEqual([label, true]);
    return;
  }
  // The oracle's view as the walk begins: what must be there, and what may (a request's time across a bound).
  const must = new Set<string>();
  const may = new Set<string>();
  for (const e of known.values()) {
    const t = judge(e, q, months);
    if (t === 'in') must.add(e.requestId);
    else if (t === 'maybe') may.add(e.requestId);
  }
  const seen: AuditEntry[] = [];
  const problems: unknown[] = [];
  let cont: string | null = null;
  let pages = 0;
  let misused = false;
  do {
    const r = await read(qs(q, limit, cont));
    expect([label, r.status, r.json?.detail]).toEqual([label, 200, undefined]);
    const items = r.json.items as AuditEntry[];
    if (items.length > limit) problems.push(['page over limit', items.length]);
    if (items.length === 0 && (pages > 0 || r.json.continuationToken)) problems.push(['empty page', pages, r.json.continuationToken ? 'with a token' : 'after a token']);
    seen.push(...items);
    cont = r.json.continuationToken ?? null;
    pages++;
    if (cont && !misused) {
      misused = true;
      const { other: o, as } = misuse(q, limit, n);
      const bad = await read(`${o}&continuationToken=${encodeURIComponent(cont)}`, as);
      if (!isProblem(bad)) problems.push(['misused token', o, as === auditor ? 'same tenant' : 'other tenant', bad.status, JSON.stringify(bad.json).slice(0, 200)]);
    }
  } while (cont && pages < 400);
  walks++;
  if (seen.length > 0) nonEmpty++;
  if (pages > 1) multiPage++;
  const keys = seen.map((e) => `${e.partition}#${e.seq}`);
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  const extra: unknown[] = [];
  const wrong: unknown[] = [];
  for (const e of seen) {
    if (e.tenantId !== tenant || !e.partition.startsWith(`${tenant}:`)) {
      extra.push(['other tenant', e.partition, e.requestId]);
      continue;
    }
    const k = known.get(e.requestId);
    if (!k) {
      extra.push(['unknown', e.requestId, e.action, e.at]);
      continue;
    }
    if (!must.has(e.requestId) && !may.has(e.requestId)) extra.push(['not matching', e.requestId, e.action, e.actor.subject, e.target, e.at]);
    if (e.at < k.lo || e.at > k.hi || e.actor.subject !== k.actor || e.action !== k.action || e.status !== k.status || (k.target !== ANY && e.target !== k.target)) {
      wrong.push({ seen: [e.requestId, e.at, e.actor.subject, e.action, e.target, e.status], known: [k.lo, k.hi, k.actor, k.action, k.target === ANY ? 'any' : k.target, k.status] });
    }
  }
  const seenIds = new Set(seen.map((e) => e.requestId));
  const missing = [...must].filter((id) => !seenIds.has(id)).map((id) => [id, known.get(id)!.lo, known.get(id)!.action]);
  // Newest first; equal instants in any order (the README promises nothing there).
  const order: unknown[] = [];
  for (let i = 1; i < seen.length; i++) if (seen[i - 1]!.at < seen[i]!.at) order.push([i, seen[i - 1]!.at, seen[i]!.at]);
  expect({ label, missing, extra, twice, wrong, order, problems }).toEqual({ label, missing: [], extra: [], twice: [], wrong: [], order: [], problems: [] });
}

// ---- the generated cases -------------------------------------------------------------------------------------------

const today = new Date().toISOString().slice(0, 10);
const VALUES: Record<keyof Query, () => string[]> = {
  from: () => [`${PREV}-01`, lastMs(PREV), firstMs(CUR), `${FEB}-29`, `${CUR}-01T01:00:00.000+01:00`, `${PREV2}-10T08:30:00.000Z`],
  to: () => [lastDay(PREV), lastMs(PREV), `${FEB}-29`, today, `${CUR}-01T00:00:00.000Z`, `${PREV}-15T11:00:00.000+01:00`],
  actor: () => ['alice@a.example', 'bob@a.example', 'apikey:0123456789abcdef', CAROL, 'nobody@a.example'],
  action: () => ['document.read', 'document.ingest', 'legal-hold.place', 'audit.read', 'document.list'],
  target: () => [TARGETS[0]!, MADE_UP, 'DOC0'],
};
const valuesOf = (f: keyof Query) => VALUES[f]().map((v) => (v === 'DOC0' ? docs[0]! : v));
const FILTERS = Object.keys(VALUES) as (keyof Query)[];
const LIMITS = [1, 2, 7, 100];

/** The page size in turn, but 1 and 2 only where the walk stays short (the machine is shared: a few hundred requests). */
function limitFor(q: Query, n: number): number {
  const months = monthsOf(q);
  const size = months === 'refused' ? 0 : [...known.values()].filter((e) => judge(e, q, months) !== 'out').length;
  for (let k = n % LIMITS.length; k < LIMITS.length; k++) if (size / LIMITS[k]! <= 12) return LIMITS[k]!;
  return 100;
}

describe('GET /audit against the oracle', () => {
  it('the unfiltered log (this month), under every page size', async () => {
    for (const limit of LIMITS) await walk({}, limit === 1 ? 7 : limit, 0);
    await walk({ from: `${PREV2}-01` }, 2, 1);
  });

  it('every filter alone, each of its values', async () => {
    let n = 0;
    for (const f of FILTERS) for (const v of valuesOf(f)) await walk({ [f]: v }, limitFor({ [f]: v }, n), n++);
  });

  it('pairs of filters (a seeded sample of each pair\'s values)', async () => {
    let n = 0;
    for (let i = 0; i < FILTERS.length; i++) {
      for (let j = i + 1; j < FILTERS.length; j++) {
        const a = valuesOf(FILTERS[i]!);
        const b = valuesOf(FILTERS[j]!);
        const combos = a.flatMap((x) => b.map((y) => [x, y] as const)).sort(() => rnd() - 0.5).slice(0, 4);
        for (const [x, y] of combos) {
          const q = { [FILTERS[i]!]: x, [FILTERS[j]!]: y };
          await walk(q, limitFor(q, n), n++);
        }
      }
    }
  });

  it('a walk while new entries are written loses none that were there before it began, and shows none twice', async () => {
    const bob = await archive.token({ tenant, sub: 'bob@a.example', rights: 'accountant' });
    // Across two months up to this month's first millisecond (entries appended amid last month), and bob's reads (this month).
    const queries: [Query, number][] = [[{ from: `${PREV}-01`, to: firstMs(CUR) }, 3], [{ from: `${PREV2}-01`, actor: 'bob@a.example' }, 2]];
    for (const [q, limit] of queries) {
      const months = monthsOf(q) as { lo: string; hi: string };
      const before = [...known.values()].filter((e) => judge(e, q, months) === 'in').map((e) => e.requestId);
      const seen: string[] = [];
      let cont: string | null = null;
      let pages = 0;
      do {
        const r = await read(qs(q, limit, cont));
        expect(r.status).toBe(200);
        seen.push(...r.json.items.map((e: AuditEntry) => `${e.requestId}#${e.seq}#${e.partition}`));
        cont = r.json.continuationToken;
        pages++;
        // Each page, new entries: a read by bob (this month), and an entry appended amid last month.
        await tracked(`${archive.url}/documents/${docs[pages % 3]}`, { token: bob }, { actor: 'bob@a.example', action: 'document.read', target: docs[pages % 3]! });
        const late = { ...generated(tenant)[0]!, at: `${PREV}-16T00:00:00.000Z`, requestId: `gen-late-${limit}-${pages}` };
        await appendAll([late]);
        knowAppended([late]);
      } while (cont && pages < 300);
      const ids = seen.map((s) => s.split('#')[0]!);
      const twice = seen.filter((s, i) => seen.indexOf(s) !== i);
      const lost = before.filter((id) => !ids.includes(id));
      expect({ q, before: before.length > 5, twice, lost, done: cont }).toEqual({ q, before: true, twice: [], lost: [], done: null });
    }
  });

  it('GET /audit/verify on each month the corpus touches: ok, with the entries the oracle knows there', async () => {
    const months = [...new Set([CUR, PREV, PREV2, FEB, `${LEAP}-03`, `${LEAP}-01`])];
    for (const month of months) {
      // Every entry known so far in that month: the reads of the log included (the earlier verifications too); this
      // verification's own entry is written after its answer.
      const inMonth = [...known.values()].filter((e) => monthOf(e.lo) === month && monthOf(e.hi) === month).length;
      const r = await tracked(`${archive.url}/audit/verify?month=${month}`, { token: auditor }, { actor: CAROL, action: 'audit.verify', target: `audit:${month}` });
      expect({ month, status: r.status, ok: r.json.ok, entries: r.json.entries, problems: r.json.problems }).toEqual({ month, status: 200, ok: true, entries: inMonth, problems: [] });
    }
  });

  it("the other tenant's log holds its own look-alikes only", async () => {
    const r = await call(`${archive.url}/audit?from=${PREV2}-01&limit=500`, { token: otherAuditor });
    expect(r.status).toBe(200);
    expect(r.json.items.every((e: AuditEntry) => e.tenantId === other)).toBe(true);
  });

  afterAll(() => {
    console.log(`audit oracle: ${walks} walks (${nonEmpty} with entries, ${multiPage} of several pages), ${requests} requests`);
    expect(nonEmpty).toBeGreaterThan(walks / 2);
    expect(multiPage).toBeGreaterThan(walks / 5);
  });
});
