/**
 * Every operation's audit entry, generated from the route table: for each tenant operation one call that succeeds
 * and its refusals (403 without the permission; 404 for an unknown id where the path has one; 400 for a bad body
 * where it takes one). Each request must have exactly one entry of its own (an export's worker entries follow under
 * its request id), naming the accountable person, the operation, what was touched, the outcome and status the
 * answer had, the client's address and a time within the request; the chain of each month touched verifies.
 * Public operations write nothing into a tenant's log, even with a tenant's credential. Adding a route without
 * its row here fails the sweep.
 */
import { ROUTES } from '../../functions/routes';
import type { TenantRoute } from '../../shared/http/pipeline';
import { uuidv7 } from '../../shared/ids';
import type { AuditEntry } from '../../shared/kernel/audit';
import type { RenditionValidator } from '../../shared/kernel/validation';
import { PERMISSIONS } from '../../shared/kernel/principal';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { keepManifest, seedDocument } from '../support/seed';

const TENANT_ROUTES = ROUTES.filter((r): r is TenantRoute => r.auth === 'tenant');
const nameOf = (r: { method: string; route: string }) => `${r.method} ${r.route}`;

/** Passes every rendition, so a document's validation report exists to download. */
const passing: RenditionValidator = {
  name: 'test',
  validate: async (renditions) => ({ validator: { name: 'test', version: '1' }, profile: 'PDF/A-2B', results: renditions.map(() => ({ passed: true, failedRules: [], report: Buffer.from('{"passed":true}') })) }),
  readReport: () => ({ validator: { name: 'test', version: '1' }, profile: 'PDF/A-2B', passed: true, failedRules: [] }),
};

let archive: TestArchive;
let tenant = '';
/**
 * Who makes the changes; `checker` is the second person of a four-eyes step; `nobody` holds no permission; `records` and
 * `records2` manage retention without retention:approve (a lowering of the safeguards is theirs to propose and approve).
 */
const who = { admin: '', checker: '', nobody: '', adminKey: '', support: '', records: '', records2: '' };
const ctx: Record<string, string> = {};
/** The accountable person behind each credential: an API key acts for its creator. */
const PERSON: Record<keyof typeof who, string> = { admin: 'admin', checker: 'checker', nobody: 'nobody', adminKey: 'admin', support: 'staff-1', records: 'records', records2: 'records2' };

interface Sent {
  kind: 'success' | 'forbidden' | 'not found' | 'bad body' | 'variant';
  route: string;
  person: string;
  /** The credential it was sent with: an entry of a key's or a support grant's request names the key or grant too. */
  as: keyof typeof who;
  credential: string;
  status: number;
  code?: string;
  requestId: string;
  started: number;
  ended: number;
  /** A change that stored nothing (a replayed upload, an approval of no document): no entry to store with it. */
  nothingStored: boolean;
  /** The target the entry must name (undefined: any, but not null). */
  target: string | null | undefined;
  /** The detail a success entry must have, where the target alone does not name what was touched. */
  detail?: string;
  /** The entry's action, where it is not the route's (a lowering of the retention policy proposed). */
  action?: string;
}
const sent: Sent[] = [];

interface Req {
  path: string;
  as?: keyof typeof who;
  /** Another credential than `as`'s, refused for itself, and the person its entry names. */
  authorization?: { header: string; person: string };
  body?: unknown;
  raw?: Uint8Array | string;
  headers?: Record<string, string>;
}

async function send(kind: Sent['kind'], route: TenantRoute | { method: string; route: string }, r: Req, target: Sent['target']): Promise<{ status: number; json: any; headers: Headers }> {
  const as = r.as ?? 'admin';
  const credential = r.authorization?.header ?? (as === 'adminKey' ? `ApiKey ${who.adminKey}` : `Bearer ${who[as]}`);
  const headers: Record<string, string> = { Authorization: credential, ...(r.body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...r.headers };
  const body = r.raw ?? (r.body !== undefined ? JSON.stringify(r.body) : undefined);
  const started = Date.now();
  const res = await fetch(`${archive.url}/${r.path}`, { method: route.method, headers, ...(body !== undefined ? { body } : {}), redirect: 'manual' });
  const bytes = Buffer.from(await res.arrayBuffer());
  const ended = Date.now();
  const json = /json/.test(res.headers.get('content-type') ?? '') && bytes.length ? JSON.parse(bytes.toString('utf8')) : undefined;
  sent.push({ kind, route: nameOf(route), person: r.authorization?.person ?? PERSON[as], as, credential, status: res.status, code: json?.code, requestId: res.headers.get('x-request-id') ?? '', started, ended, target, nothingStored: res.headers.get('idempotent-replayed') === 'true' || (Array.isArray(json?.approved) && json.approved.length === 0) });
  return { status: res.status, json, headers: res.headers };
}

const must = <R extends { status: number; json: any }>(res: R, status: number, what: string): R => {
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
};

/** Reads as the admin, outside the sweep (its entries are not checked). */
async function read(path: string): Promise<{ status: number; json: any; headers: Headers }> {
  const res = await fetch(`${archive.url}/${path}`, { headers: { Authorization: `Bearer ${who.admin}` } });
  const text = await res.text();
  return { status: res.status, json: text && /json/.test(res.headers.get('content-type') ?? '') ? JSON.parse(text) : undefined, headers: res.headers };
}

/** The stored retention policy as a PUT body, with required disposal approval on or off. */
async function retentionPolicy(requireDisposalApproval: boolean): Promise<Record<string, unknown>> {
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = (await read('retention/policy')).json;
  return { ...policy, requireDisposalApproval };
}

/** A change as `token` (the admin), outside the sweep. */
async function call(method: string, path: string, body: unknown, token = who.admin, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(`${archive.url}/${path}`, { method, headers: { Authorization: `Bearer ${token}`, ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

async function until<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const v = await get();
    if (done(v)) return v;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const in7Days = () => new Date(Date.now() + 86400_000).toISOString();

/**
 * One call per tenant operation that succeeds, in an order in which each finds what it needs, with the target its
 * entry must name (undefined: some target, whatever its form). A route without a row fails the sweep.
 */
const SUCCESS: [name: string, status: number, run: () => Promise<Req>, target: () => string | null | undefined, after?: (res: { json: any; headers: Headers }) => void | Promise<void>][] = [
  ['POST documents', 201, async () => ({ path: 'documents', raw: new Uint8Array(corpusFile('img2pdf/normal.jpg')), headers: { 'Content-Type': 'image/jpeg', 'Archive-Metadata': Buffer.from(JSON.stringify({ counterparty: 'ACME GmbH' })).toString('base64url') } }), () => ctx.doc!, (r) => void (ctx.doc = r.json.id)],
  ['GET documents', 200, async () => ({ path: 'documents' }), () => null],
  ['GET documents/{id}', 200, async () => ({ path: `documents/${ctx.doc}` }), () => ctx.doc!],
  ['GET documents/{id}/original', 200, async () => ({ path: `documents/${ctx.doc}/original` }), () => ctx.doc!],
  ['GET documents/{id}/originals/{part}', 200, async () => ({ path: `documents/${ctx.doc}/originals/1` }), () => ctx.doc!],
  ['GET documents/{id}/rendition', 200, async () => ({ path: `documents/${ctx.doc}/rendition` }), () => ctx.doc!],
  [
    'GET documents/{id}/validation',
    200,
    async () => {
      await until('the validation report', () => read(`documents/${ctx.doc}`), (r) => r.json?.validation?.status === 'passed');
      return { path: `documents/${ctx.doc}/validation` };
    },
    () => ctx.doc!,
  ],
  [
    'PATCH documents/{id}/metadata',
    200,
    async () => ({ path: `documents/${ctx.doc}/metadata`, raw: JSON.stringify({ reason: 'Typo', reference: 'INV-2' }), headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': (await read(`documents/${ctx.doc}`)).headers.get('etag')! } }),
    () => ctx.doc!,
  ],
  ['GET documents/{id}/metadata/history', 200, async () => ({ path: `documents/${ctx.doc}/metadata/history` }), () => ctx.doc!],
  ['POST exports', 202, async () => ({ path: 'exports', body: { includeOriginals: false } }), () => ctx.export!, (r) => void (ctx.export = r.json.id)],
  ['GET exports', 200, async () => ({ path: 'exports' }), () => null],
  ['GET exports/{id}', 200, async () => ({ path: `exports/${ctx.export}` }), () => ctx.export!],
  [
    'GET exports/{id}/download',
    200,
    async () => {
      await until('the export', () => read(`exports/${ctx.export}`), (r) => r.json?.status === 'completed');
      return { path: `exports/${ctx.export}/download` };
    },
    () => ctx.export!,
  ],
  ['POST documents/{id}/legal-holds', 201, async () => ({ path: `documents/${ctx.doc}/legal-holds`, body: { reason: 'Tax audit', caseReference: 'AS-1' } }), () => ctx.doc!, (r) => void (ctx.hold = r.json.id)],
  ['GET legal-holds', 200, async () => ({ path: 'legal-holds?status=open' }), () => null],
  ['DELETE documents/{id}/legal-holds/{holdId}', 200, async () => ({ path: `documents/${ctx.doc}/legal-holds/${ctx.hold}`, as: 'checker', body: { reason: 'Closed' } }), () => ctx.doc!],
  ['POST legal-holds', 201, async () => ({ path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'AS-2', query: { counterparty: 'ACME GmbH' } } }), () => ctx.queryHold!, (r) => void (ctx.queryHold = r.json.holdId)],
  ['GET legal-holds/by-query', 200, async () => ({ path: 'legal-holds/by-query' }), () => null],
  ['DELETE legal-holds/{holdId}', 200, async () => ({ path: `legal-holds/${ctx.queryHold}`, as: 'checker', body: { reason: 'Settled' } }), () => ctx.queryHold!],
  ['GET retention/policy', 200, async () => ({ path: 'retention/policy' }), () => null],
  [
    'PUT retention/policy',
    200,
    async () => {
      const now = await read('retention/policy');
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = now.json;
      return { path: 'retention/policy', body: { ...policy, classes: [{ name: 'contracts-12y', years: 12, description: 'Contracts' }] }, headers: { 'If-Match': now.headers.get('etag')! } };
    },
    () => 'retention-policy',
    async () => {
      // Two lowerings a records manager proposes: required approval off (approved by a second), and also the fiscal year
      // moved (withdrawn). Two, not the same one twice: that is a retry of the first, answered that proposal.
      must(await call('PUT', 'retention/policy', await retentionPolicy(true), who.admin, { 'If-Match': (await read('retention/policy')).headers.get('etag')! }), 200, 'require approval');
      for (const [name, change] of [['retentionProposal', {}], ['retentionWithdrawn', { fiscalYearEndMonth: 6 }]] as const) {
        const res = must(await call('PUT', 'retention/policy', { ...(await retentionPolicy(false)), ...change }, who.records, { 'If-Match': (await read('retention/policy')).headers.get('etag')! }), 202, 'retention proposal');
        ctx[name] = res.json.id;
      }
    },
  ],
  ['GET retention/policy/proposals', 200, async () => ({ path: 'retention/policy/proposals?state=all' }), () => null],
  ['GET retention/policy/proposals/{id}', 200, async () => ({ path: `retention/policy/proposals/${ctx.retentionProposal}` }), () => `retention-policy-proposal:${ctx.retentionProposal}`],
  ['DELETE retention/policy/proposals/{id}', 200, async () => ({ path: `retention/policy/proposals/${ctx.retentionWithdrawn}`, as: 'records' }), () => `retention-policy-proposal:${ctx.retentionWithdrawn}`],
  ['POST retention/policy/proposals/{id}/approve', 200, async () => ({ path: `retention/policy/proposals/${ctx.retentionProposal}/approve`, as: 'records2', body: { reason: 'Agreed' } }), () => `retention-policy-proposal:${ctx.retentionProposal}`],
  ['POST documents/{id}/retention', 200, async () => ({ path: `documents/${ctx.doc}/retention`, body: { retainUntil: '2060-12-31', reason: 'Litigation' } }), () => ctx.doc!],
  ['GET retention/due', 200, async () => ({ path: 'retention/due?before=2030-01-01T00:00:00.000Z' }), () => null],
  ['POST retention/approvals', 201, async () => ({ path: 'retention/approvals', as: 'checker', body: { before: '2025-01-01', reason: 'Annual review' } }), () => undefined],
  ['GET audit', 200, async () => ({ path: 'audit?limit=1' }), () => `audit:${new Date().toISOString().slice(0, 7)}`],
  ['GET audit/verify', 200, async () => ({ path: 'audit/verify' }), () => `audit:${new Date().toISOString().slice(0, 7)}`],
  ['POST api-keys', 201, async () => ({ path: 'api-keys', body: { name: 'scanner', rightsSet: 'spare' } }), () => `api-key:${ctx.key}`, (r) => void ((ctx.key = r.json.id), (ctx.keyExpires = r.json.expiresAt))],
  ['GET api-keys', 200, async () => ({ path: 'api-keys' }), () => null],
  ['DELETE api-keys/{id}', 200, async () => ({ path: `api-keys/${ctx.key}` }), () => `api-key:${ctx.key}`],
  ['GET rights-sets', 200, async () => ({ path: 'rights-sets' }), () => null],
  ['PUT rights-sets/{name}', 200, async () => ({ path: 'rights-sets/readers', body: { permissions: ['documents:read'] } }), () => 'rights-set:readers'],
  ['GET rights-assignments', 200, async () => ({ path: 'rights-assignments' }), () => null],
  ['PUT rights-assignments/{subject}', 200, async () => ({ path: 'rights-assignments/someone', body: { rightsSet: 'readers' } }), () => 'subject:someone'],
  ['DELETE rights-assignments/{subject}', 204, async () => ({ path: 'rights-assignments/someone' }), () => 'subject:someone'],
  ['DELETE rights-sets/{name}', 204, async () => ({ path: 'rights-sets/readers' }), () => 'rights-set:readers'],
  [
    'PUT sod-policy',
    200,
    async () => ({ path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': (await read('sod-policy')).headers.get('etag')! } }),
    () => 'sod-policy',
    async () => {
      // Two proposals to weaken it again: the admin's, approved by the second person, and the second person's, withdrawn
      // (the same weakening twice by one person is a retry of the first, answered that proposal).
      for (const [name, proposer] of [['proposal', who.admin], ['withdrawn', who.checker]] as const) {
        const etag = (await read('sod-policy')).headers.get('etag')!;
        const res = await fetch(`${archive.url}/sod-policy`, { method: 'PUT', headers: { Authorization: `Bearer ${proposer}`, 'Content-Type': 'application/json', 'If-Match': etag }, body: JSON.stringify({ conflicts: [], uploaderCannotApproveDisposal: false }) });
        const json = (await res.json()) as { id: string };
        if (res.status !== 202) throw new Error(`proposal: ${res.status} ${JSON.stringify(json)}`);
        ctx[name] = json.id;
      }
    },
  ],
  ['GET sod-policy', 200, async () => ({ path: 'sod-policy' }), () => null],
  ['GET sod-policy/proposals', 200, async () => ({ path: 'sod-policy/proposals?state=all' }), () => null],
  ['GET sod-policy/proposals/{id}', 200, async () => ({ path: `sod-policy/proposals/${ctx.proposal}` }), () => `sod-policy-proposal:${ctx.proposal}`],
  ['DELETE sod-policy/proposals/{id}', 200, async () => ({ path: `sod-policy/proposals/${ctx.withdrawn}`, as: 'checker' }), () => `sod-policy-proposal:${ctx.withdrawn}`],
  ['POST sod-policy/proposals/{id}/approve', 200, async () => ({ path: `sod-policy/proposals/${ctx.proposal}/approve`, as: 'checker', body: { reason: 'Agreed' } }), () => `sod-policy-proposal:${ctx.proposal}`],
  ['POST support-grants', 201, async () => ({ path: 'support-grants', body: { ticket: 'SUP-1', scope: 'read-only', expiresAt: in7Days() } }), () => `support-grant:${ctx.grant}`, (r) => void ((ctx.grant = r.json.id), (ctx.grantExpires = r.json.expiresAt))],
  ['GET support-grants', 200, async () => ({ path: 'support-grants' }), () => null],
  ['DELETE support-grants/{id}', 200, async () => ({ path: `support-grants/${ctx.grant}` }), () => `support-grant:${ctx.grant}`],
];

/**
 * Other answers of the same operations, each with its one entry: a replayed upload, a refused duplicate, a
 * conditional, partial and redirected download, four-eyes refusals, and requests through an API key and a support grant.
 */
const VARIANTS: [name: string, status: number, run: () => Promise<Req>, target: () => string | null | undefined][] = [
  ['POST documents', 201, async () => ({ path: 'documents', raw: new Uint8Array(corpusFile('img2pdf/normal.png')), headers: { 'Content-Type': 'image/png', 'Idempotency-Key': 'as-1' } }), () => undefined],
  ['POST documents', 201, async () => ({ path: 'documents', raw: new Uint8Array(corpusFile('img2pdf/normal.png')), headers: { 'Content-Type': 'image/png', 'Idempotency-Key': 'as-1' } }), () => undefined],
  ['POST documents', 409, async () => ({ path: 'documents', raw: new Uint8Array(corpusFile('img2pdf/normal.jpg')), headers: { 'Content-Type': 'image/jpeg' } }), () => null],
  ['GET documents/{id}/original', 304, async () => ({ path: `documents/${ctx.doc}/original`, headers: { 'If-None-Match': (await fetch(`${archive.url}/documents/${ctx.doc}/original`, { method: 'GET', headers: { Authorization: `Bearer ${who.admin}` } }).then(async (r) => (await r.arrayBuffer(), r.headers.get('etag'))))! } }), () => ctx.doc!],
  ['GET documents/{id}/rendition', 206, async () => ({ path: `documents/${ctx.doc}/rendition`, headers: { Range: 'bytes=0-9' } }), () => ctx.doc!],
  ['GET documents/{id}/rendition', 303, async () => ({ path: `documents/${ctx.doc}/rendition?delivery=redirect` }), () => ctx.doc!],
  ['GET exports/{id}/download', 303, async () => ({ path: `exports/${ctx.export}/download?delivery=redirect` }), () => ctx.export!],
  ['GET documents/{id}', 200, async () => ({ path: `documents/${ctx.doc}`, as: 'adminKey' }), () => ctx.doc!],
  ['POST documents/{id}/legal-holds', 201, async () => ({ path: `documents/${ctx.doc}/legal-holds`, as: 'adminKey', body: { reason: 'Through a key', caseReference: 'AS-3' } }), () => ctx.doc!],
  ['GET documents/{id}', 200, async () => ({ path: `documents/${ctx.doc}`, as: 'support' }), () => ctx.doc!],
  ['DELETE documents/{id}/legal-holds/{holdId}', 403, async () => ({ path: `documents/${ctx.doc}/legal-holds/${ctx.keyHold}`, body: { reason: 'My own' } }), () => ctx.doc!],
  ['DELETE legal-holds/{holdId}', 403, async () => ({ path: `legal-holds/${ctx.keyHold}`, body: { reason: 'My own' } }), () => ctx.keyHold!],
  ['POST sod-policy/proposals/{id}/approve', 403, async () => ({ path: `sod-policy/proposals/${ctx.ownProposal}/approve`, body: { reason: 'My own' } }), () => `sod-policy-proposal:${ctx.ownProposal}`],
  ['POST retention/policy/proposals/{id}/approve', 403, async () => ({ path: `retention/policy/proposals/${ctx.ownRetentionProposal}/approve`, as: 'records', body: { reason: 'My own' } }), () => `retention-policy-proposal:${ctx.ownRetentionProposal}`],
  ['POST retention/approvals', 201, async () => ({ path: 'retention/approvals', as: 'checker', body: { before: new Date().toISOString().slice(0, 10), reason: 'Due' } }), () => undefined],
  // Credentials that name the tenant but are refused: audited under the key's person or the token's subject.
  ['GET documents/{id}', 401, async () => ({ path: `documents/${ctx.doc}`, authorization: { header: `ApiKey ${ctx.revokedKey}`, person: 'admin' } }), () => ctx.doc!],
  ['GET documents/{id}', 401, async () => ({ path: `documents/${ctx.doc}`, authorization: { header: `ApiKey ${ctx.revokedKey!.slice(0, -43)}${'A'.repeat(43)}`, person: 'admin' } }), () => ctx.doc!],
  ['DELETE api-keys/{id}', 401, async () => ({ path: `api-keys/${ctx.key}`, authorization: { header: `Bearer ${await archive.token({ tenant, sub: 'stranger', rights: 'no-such-set' })}`, person: 'stranger' } }), () => `api-key:${ctx.key}`],
];

/**
 * Details a success's entry must have where its target alone does not say what was done: a hold placed or released on
 * a document names the hold (a document may carry several); a rights change names the rights (the records are replaced);
 * a key or a support grant names what it may do and until when.
 */
const DETAIL: Record<string, () => string> = {
  'POST documents/{id}/legal-holds': () => `hold=${ctx.hold}`,
  'DELETE documents/{id}/legal-holds/{holdId}': () => `hold=${ctx.hold}`,
  'PUT rights-sets/{name}': () => 'permissions=documents:read;kept-revision={revision};kept-digest={digest}',
  'PUT rights-assignments/{subject}': () => 'rights-set=readers;kept-revision={revision};kept-digest={digest}',
  'POST api-keys': () => `rights-set=spare;expires=${ctx.keyExpires};sealed-digest={sealed}`,
  'POST support-grants': () => `scope=read-only;expires=${ctx.grantExpires};sealed-digest={sealed}`,
  // The policy as stored (the record keeps no history): the tightening sent, and the weakening the approval applied.
  'PUT sod-policy': () => 'conflicts=none;uploader-rule=on;kept-revision={revision};kept-digest={digest}',
  'POST sod-policy/proposals/{id}/approve': () => 'conflicts=none;uploader-rule=off;weakened=uploader-rule-off;kept-revision={revision};kept-digest={digest}',
};

/** The path parameters of a route: they name the objects the successes made, unless overridden. */
function paramsOf(route: TenantRoute, override: Record<string, string> = {}): Record<string, string> {
  const first = route.route.split('/')[0]!;
  const id = { 'api-keys': ctx.key, 'support-grants': ctx.grant, exports: ctx.export, 'sod-policy': ctx.proposal }[first] ?? ctx.doc;
  const all: Record<string, string> = { id: id!, part: '1', holdId: ctx.hold!, name: 'spare', subject: 'someone', ...override };
  return Object.fromEntries([...route.route.matchAll(/\{(\w+)\}/g)].map(([, n]) => [n!, all[n!]!]));
}

/** A concrete path for a route. */
function pathOf(route: TenantRoute, override: Record<string, string> = {}): string {
  const params = paramsOf(route, override);
  return route.route.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(params[n]!));
}

/** The target a refused request's entry names: what its path names (the operation's own form of it, else the id). */
function refusedTarget(route: TenantRoute, override: Record<string, string> = {}): string | null {
  const params = paramsOf(route, override);
  return route.target ? route.target(params) : (params.id ?? null);
}

/** Runs `jobs` with at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, job: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await job(items[next++]!);
  }));
}

const entries: AuditEntry[] = [];
const outboxed = new Set<string>();
const months = new Set<string>();
const verified: Record<string, any> = {};
const publicSent: { route: string; requestId: string }[] = [];

beforeAll(async () => {
  // Every refusal here comes from two people; the refusal limit has its own tests.
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' }, undefined, { validator: passing });
  tenant = newTenant('auditsweep');
  await seedSodPolicy(archive, tenant, { conflicts: [] });
  await seedRightsSet(archive, tenant, 'everything', PERMISSIONS);
  await seedRightsSet(archive, tenant, 'spare', ['documents:read']);
  await seedRightsSet(archive, tenant, 'records', PERMISSIONS.filter((p) => p !== 'retention:approve'));
  // Which requests stored their entry with their change (the audit outbox) rather than after the answer.
  const outbox = archive.host.deps.auditOutbox;
  const release = outbox.release.bind(outbox);
  outbox.release = (item) => {
    for (const e of item.entries) outboxed.add(e.requestId);
    release(item);
  };
  who.admin = await archive.token({ tenant, sub: 'admin', rights: 'everything' });
  who.checker = await archive.token({ tenant, sub: 'checker', rights: 'everything' });
  who.nobody = await archive.token({ tenant, sub: 'nobody' });
  who.records = await archive.token({ tenant, sub: 'records', rights: 'records' });
  who.records2 = await archive.token({ tenant, sub: 'records2', rights: 'records' });

  for (const [name, status, req, target, after] of SUCCESS) {
    const route = TENANT_ROUTES.find((r) => nameOf(r) === name);
    if (!route) throw new Error(`${name}: no such route`);
    const r = await req();
    const res = must(await send('success', route, r, null), status, name);
    const row = sent[sent.length - 1]!;
    await after?.(res);
    row.target = target();
    const detail = DETAIL[name]?.();
    if (detail !== undefined) row.detail = detail;
  }

  // Provider staff before the tenant granted support: refused, and audited in the tenant.
  who.support = await archive.token({ tenant, sub: 'staff-1', kind: 'support', rights: 'tenant-admin' });
  must(await send('variant', TENANT_ROUTES.find((r) => nameOf(r) === 'GET documents/{id}')!, { path: `documents/${ctx.doc}`, as: 'support' }, ctx.doc), 403, 'support without a grant');
  const revoked = must(await call('POST', 'api-keys', { name: 'revoked', rightsSet: 'spare' }), 201, 'key');
  must(await call('DELETE', `api-keys/${revoked.json.id}`, undefined), 200, 'revoke');
  ctx.revokedKey = revoked.json.key;
  // For the variants: a key of the admin's, a support grant in force, a hold placed through the key, a pending proposal.
  who.adminKey = must(await call('POST', 'api-keys', { name: 'admin key', rightsSet: 'everything' }), 201, 'key').json.key;
  must(await call('POST', 'support-grants', { ticket: 'SUP-2', scope: 'read-only', expiresAt: in7Days() }, who.checker), 201, 'grant');
  must(await call('PUT', 'sod-policy', { conflicts: [], uploaderCannotApproveDisposal: true }, who.admin, { 'If-Match': (await read('sod-policy')).headers.get('etag')! }), 200, 'tighten');
  // A weakening is proposed, not applied (202): its entry says so.
  const putSod = TENANT_ROUTES.find((r) => nameOf(r) === 'PUT sod-policy')!;
  ctx.ownProposal = must(await send('variant', putSod, { path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: false }, headers: { 'If-Match': (await read('sod-policy')).headers.get('etag')! } }, undefined), 202, 'proposal').json.id;
  Object.assign(sent[sent.length - 1]!, { target: `sod-policy-proposal:${ctx.ownProposal}`, detail: 'proposed' });
  // A lowering of the retention safeguards is proposed too (202), under its own action, naming what it lowers.
  must(await call('PUT', 'retention/policy', await retentionPolicy(true), who.admin, { 'If-Match': (await read('retention/policy')).headers.get('etag')! }), 200, 'require approval');
  const putRetention = TENANT_ROUTES.find((r) => nameOf(r) === 'PUT retention/policy')!;
  ctx.ownRetentionProposal = must(await send('variant', putRetention, { path: 'retention/policy', as: 'records', body: await retentionPolicy(false), headers: { 'If-Match': (await read('retention/policy')).headers.get('etag')! } }, undefined), 202, 'retention proposal').json.id;
  Object.assign(sent[sent.length - 1]!, {
    target: `retention-policy-proposal:${ctx.ownRetentionProposal}`,
    action: 'retention.policy-propose',
    detail: 'approval=off;fiscal-year-end=12;default=fiscal-7y;classes=fiscal-7y:7,immovable-property-10y:10,contracts-12y:12;lowered=disposal-approval-off',
  });
  // A document past its retention (as if stored long ago), for an approval that changes one.
  const due = await seedDocument(archive.host.deps, tenant, { metadata: { counterparty: 'Old Ltd' } });
  // Its sealed manifest, as ingest writes one: four eyes on its disposal read its uploader there.
  await keepManifest(archive.host.deps, due);
  const dueItem = archive.host.deps.cosmos.documents.item(due.id, tenant);
  const { resource } = await dueItem.read();
  await dueItem.replace({ ...resource, retention: { ...resource.retention, retainUntil: '2020-01-01T00:00:00.000Z' } });
  for (const [name, status, req, target] of VARIANTS) {
    const route = TENANT_ROUTES.find((r) => nameOf(r) === name)!;
    const res = must(await send('variant', route, await req(), null), status, `variant ${name}`);
    sent[sent.length - 1]!.target = target();
    if (name === 'POST documents/{id}/legal-holds') ctx.keyHold = res.json.id;
  }

  const refusals: (() => Promise<unknown>)[] = [];
  for (const route of TENANT_ROUTES) {
    const idParam = /\{(id|holdId|name|subject)\}/.exec(route.route)?.[1];
    // Without the permission: refused before anything else, naming what the path names.
    refusals.push(() => send('forbidden', route, { path: pathOf(route), as: 'nobody' }, refusedTarget(route)));
    // An unknown id where the operation can answer that nothing has it (with a body it takes, so that the id decides).
    if (idParam && route.errors.some((e) => e.endsWith('_not_found')) && route.method !== 'PUT') {
      const unknown = { [idParam]: idParam === 'name' || idParam === 'subject' ? `unknown-${idParam}` : uuidv7() };
      const body: Partial<Req> = !route.body ? {} : 'json' in route.body ? { body: route.body.example ?? { reason: 'Closed' } } : { raw: JSON.stringify({ reason: 'Typo', reference: 'X' }), headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-1"' } };
      refusals.push(() => send('not found', route, { path: pathOf(route, unknown), ...body }, refusedTarget(route, unknown)));
    }
    // A body that is not JSON (an upload without bytes).
    if (route.body) {
      const type = 'json' in route.body ? 'application/json' : route.body.stream.includes('application/merge-patch+json') ? 'application/merge-patch+json' : route.body.stream[0]!;
      const raw = route.route === 'documents' ? '' : '{"reason": ';
      const headers: Record<string, string> = { 'Content-Type': type };
      refusals.push(async () => {
        if (route.errors.includes('precondition_required')) headers['If-Match'] = (await read(route.route === 'documents/{id}/metadata' ? `documents/${ctx.doc}` : pathOf(route))).headers.get('etag') ?? '"x"';
        return send('bad body', route, { path: pathOf(route), raw, headers }, refusedTarget(route));
      });
    }
  }
  await pool(refusals, 8, (job) => job());

  // Public operations with a tenant's credential: nothing of theirs in the tenant's log.
  for (const route of ROUTES.filter((r) => r.auth !== 'tenant')) {
    const res = await fetch(`${archive.url}/${route.route}`, { headers: { Authorization: `Bearer ${who.admin}` } });
    await res.arrayBuffer();
    publicSent.push({ route: nameOf(route), requestId: res.headers.get('x-request-id') ?? '' });
  }
  // The web app's files (served from the API's origin, outside the route table), and a path no operation takes.
  for (const path of [`${new URL(archive.url).origin}/`, `${new URL(archive.url).origin}/audit`, `${archive.url}/no-such-operation`]) {
    const res = await fetch(path, { headers: { Authorization: `Bearer ${who.admin}` } });
    await res.arrayBuffer();
    publicSent.push({ route: `GET ${path}`, requestId: res.headers.get('x-request-id') ?? '' });
  }

  await archive.host.deps.auditOutbox.flush();
  for (const s of sent) months.add(new Date(s.started).toISOString().slice(0, 7)).add(new Date(s.ended).toISOString().slice(0, 7));
  for (const month of months) entries.push(...(await archive.host.deps.audit.all(tenant, month)));
  for (const month of months) verified[month] = (await read(`audit/verify?month=${month}`)).json;
}, 120_000);
afterAll(() => archive?.stop());

/** What is wrong with the one entry a request must have, or null. */
function problemOf(s: Sent): string | null {
  const own = entries.filter((e) => e.requestId === s.requestId);
  // An export's worker writes its own entries (export.completed, …) under the request id that started it.
  const mine = own.filter((e) => !(s.route === 'POST exports' && e.action !== 'export.create' && e.action.startsWith('export.')));
  if (mine.length !== 1) return `${mine.length} entries: ${mine.map((e) => `${e.action} ${e.outcome} ${e.status}`).join(', ')}`;
  const e = mine[0]!;
  const route = TENANT_ROUTES.find((r) => nameOf(r) === s.route)!;
  const problems: string[] = [];
  if (e.actor.person !== s.person) problems.push(`person ${e.actor.person}, not ${s.person}`);
  if (s.credential.startsWith('ApiKey ') && !e.actor.keyId) problems.push('no key id');
  if (s.as === 'support' && s.status < 400 && !e.actor.grantId) problems.push('no grant id');
  if (e.action !== (s.action ?? route.action)) problems.push(`action ${e.action}, not ${s.action ?? route.action}`);
  if (s.target === undefined ? e.target === null : e.target !== s.target) problems.push(`target ${e.target}, not ${s.target === undefined ? 'some target' : s.target}`);
  const outcome = s.status < 400 ? 'success' : s.status >= 500 ? 'failed' : 'refused';
  if (e.outcome !== outcome || e.status !== s.status) problems.push(`${e.outcome} ${e.status}, answered ${s.status}`);
  // A kept setting's change names the revision it wrote (settings-blobs.ts keptRevisionDetail): a time, different each run; and the digest of what it wrote.
  const detailAsSent = s.detail === undefined ? undefined : new RegExp(`^${s.detail.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace('{revision}', '\\d+').replace('{digest}', '[0-9a-f]{64}').replace('{sealed}', '[A-Za-z0-9_-]{43}')}$`);
  if (detailAsSent && !detailAsSent.test(e.detail ?? '')) problems.push(`detail ${e.detail}, not ${s.detail}`);
  if (outcome === 'refused' && !(e.detail ?? '').startsWith(s.code ?? '?')) problems.push(`detail ${e.detail}, answered ${s.code}`);
  if (!e.clientIp) problems.push('no client IP');
  const at = Date.parse(e.at);
  if (!(at >= s.started - 5 && at <= s.ended + 5)) problems.push(`at ${e.at}, not within the request`);
  return problems.length ? problems.join('; ') : null;
}

describe('every tenant operation writes one right entry for each request', () => {
  it.each(TENANT_ROUTES.map((r) => nameOf(r)))('%s', (name) => {
    const rows = sent.filter((s) => s.route === name);
    expect(rows.filter((s) => s.kind === 'success').map((s) => s.status)).toEqual([expect.any(Number)]);
    expect(rows.some((s) => s.kind === 'forbidden')).toBe(true);
    expect(rows.filter((s) => s.kind !== 'success' && s.kind !== 'variant' && s.status < 400).map((s) => `${s.kind}: ${s.status}`)).toEqual([]);
    expect(rows.map((s) => ({ kind: s.kind, status: s.status, problem: problemOf(s) }))).toEqual(rows.map((s) => ({ kind: s.kind, status: s.status, problem: null })));
  });

  it('every change that stored something stored its entry with it (the audit outbox)', () => {
    const changes = sent.filter((s) => (s.kind === 'success' || s.kind === 'variant') && !s.route.startsWith('GET ') && s.status < 300 && !s.nothingStored);
    expect(changes.length).toBeGreaterThan(20);
    expect(changes.filter((s) => !outboxed.has(s.requestId)).map((s) => s.route)).toEqual([]);
  });

  it('the refusals are the ones asked for', () => {
    const expected = { forbidden: 403, 'not found': 404, 'bad body': 400 } as Record<string, number>;
    expect(sent.filter((s) => s.kind !== 'success' && s.kind !== 'variant' && s.status !== expected[s.kind]).map((s) => `${s.kind} ${s.route}: ${s.status} ${s.code}`)).toEqual([]);
  });

  it('public operations write nothing into the log of the tenant whose credential they were sent with', () => {
    expect(publicSent.length).toBeGreaterThan(3);
    expect(publicSent.filter((p) => p.requestId === '').map((p) => p.route)).toEqual([]);
    expect(publicSent.filter((p) => entries.some((e) => e.requestId === p.requestId)).map((p) => p.route)).toEqual([]);
  });

  it('the chain of every month touched holds', () => {
    for (const month of months) expect(verified[month]).toMatchObject({ ok: true });
  });
});
