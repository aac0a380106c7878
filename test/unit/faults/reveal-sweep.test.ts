/**
 * No answer reveals more than the principal may see (generated sweep), thought as an attacker holding a valid account.
 *
 * Rows: every operation of the route table (functions/routes.ts) that answers data: every GET, and the POST that answers
 * an object (createExport); an operation added later fails the file until it is a row or listed in WRITES with why it
 * answers nothing to learn from. Columns (PRINCIPALS): each built-in rights set by token; a tenant set holding one
 * permission; an API key whose set was widened past its creator's ceiling; a key of a person whose rights were cut
 * since; each support scope through an active grant, an expired one and a revoked one; a principal of another tenant;
 * no credential. A scene (one per column) seeds in tenant acme: documents (one corrected, one on legal hold, one disposed
 * leaving a tombstone), a completed export, audit entries, keys, grants, proposals; and in tenant globex look-alike data.
 * Each cell judges the answer's bytes: the status the operation's declared permission implies (2xx iff the principal
 * holds every permission it names, else 403 problem+json; 401 without a credential or with an ended grant's refusal
 * as declared); nothing in a 2xx body or header names the other tenant (ids, names, counterparties, hashes, subjects,
 * key ids), a secret (a key's secret, its hash and salt, the pepper), or a document's bytes to a principal without
 * documents:download. A row taking an id also asks with the other tenant's id of the same kind and with a made-up id:
 * the two answers are the same apart from requestId/instance (no existence oracle). Requests run in-process through the
 * real pipeline, route table and authenticator over inMemoryDeps (test/support/in-process.ts).
 */
import { Authenticator } from '../../../shared/auth/authenticate';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, SUPPORT_SCOPES, type Permission } from '../../../shared/kernel/principal';
import { neededPermissions, type Operation } from '../../../shared/http/operation';
import { runSweepTimer } from '../../../shared/retention/timers';
import { ADMIN, type Answer, approval, assign, type Call, delivering, ok, send, settle, SETTINGS, START, TABLE, TENANT, validationWorker, world, type World } from '../../support/in-process';

const OTHER = 'globex';
/** A made-up id: an id of no tenant, the shape the archive's ids have. */
const MADE_UP = '7c2d9a40-5b1e-4f3a-9d6e-0a1b2c3d4e5f';

// ---- The scene ----

/** What the scene made, per tenant: the ids a row names, and what must never reach someone not allowed it. */
interface Made {
  doc: string;
  corrected: string;
  held: string;
  disposed: string;
  exportId: string;
  grant: string;
  keyId: string;
  sodProposal: string;
  retentionProposal: string;
}
interface Scene {
  w: World;
  /** The keys minted in the scene (acme's alice's first, then globex's alice's), as `ApiKey arch_…`. */
  keys: Record<string, string>;
  acme: Made;
  globex: Made;
  /** Key secrets as minted (the `arch_…` text after the id), hashes, salts, the pepper: never in any answer. */
  secrets: string[];
  /** Bytes of every archived file's marker: never in an answer to a principal without documents:download. */
  fileMarkers: string[];
  /** The credential of the column. */
  as: string;
}

/** A bearer token is `<subject>` (acme user), `support.<x>` (acme provider staff), `other.<x>` (a user of globex). */
function newWorld(): World {
  const w = world({ AUTH_RIGHTS_SOURCE: 'tenant' });
  const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
  w.deps.authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant' }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
  (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({
    tenantId: token.startsWith('other.') ? OTHER : TENANT,
    subject: token.replace(/^(support|other)\./, ''),
    kind: token.startsWith('support.') ? 'support' : 'user',
    claimedRightsSet: null,
    expiresAt: '9999-01-01T00:00:00.000Z',
    issuedAt: null,
  });
  return w;
}

function seedAssignment(w: World, tenant: string, subject: string, rightsSet: string): void {
  w.deps.tenantRecords.records.set(`${tenant}/${rightsAssignmentRecordId(subject)}`, {
    value: { id: rightsAssignmentRecordId(subject), tenantId: tenant, type: 'rights-assignment', subject, rightsSet, assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 5000 + w.deps.tenantRecords.records.size,
  });
}
function seedSet(w: World, tenant: string, name: string, permissions: Permission[]): void {
  w.deps.tenantRecords.records.set(`${tenant}/${rightsSetRecordId(name)}`, {
    value: { id: rightsSetRecordId(name), tenantId: tenant, type: 'rights-set', name, permissions, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 6000 + w.deps.tenantRecords.records.size,
  });
}

let marker = 0;
/** A scan whose bytes carry a marker a leak check finds (PNG: stored as sent, the rendition made from it). */
function scanOf(tenant: string): { bytes: Buffer; marker: string } {
  const m = `FILEBYTES-${tenant}-${++marker}-${Math.random().toString(36).slice(2)}`;
  return { bytes: Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(m)]), marker: m };
}
async function uploadAs(w: World, as: string, metadata: object, markers: string[]): Promise<string> {
  const s = scanOf(as.startsWith('other.') ? OTHER : TENANT);
  markers.push(s.marker);
  return (await ok(w, { method: 'POST', path: `documents?metadata=${encodeURIComponent(JSON.stringify(metadata))}`, raw: { bytes: s.bytes, type: 'image/png' }, as }, 201)).json.id as string;
}
const inAYear = (w: World) => new Date(w.clock.now().getTime() + 365 * 86400_000).toISOString();
async function mint(w: World, as: string, rightsSet: string, secrets: string[]): Promise<{ key: string; id: string }> {
  const r = await ok(w, { method: 'POST', path: 'api-keys', body: { name: `k-${w.seq}`, rightsSet, expiresAt: inAYear(w) }, as }, 201);
  const key = r.json.key as string;
  secrets.push(key, key.slice(key.lastIndexOf('_') + 1));
  return { key: `ApiKey ${key}`, id: r.json.id as string };
}

/** A tenant's people: `up` an archivist (uploads, places holds), alice, bob and carol tenant-admins. */
function seedPeople(w: World, tenant: string, p: (x: string) => string): void {
  seedAssignment(w, tenant, p('up').replace(/^other\./, ''), 'archivist');
  for (const x of ['alice', 'bob', 'carol']) seedAssignment(w, tenant, p(x).replace(/^other\./, ''), 'tenant-admin');
}

async function scene(column: Column): Promise<Scene> {
  const w = newWorld();
  const secrets: string[] = [];
  const markers: string[] = [];
  const acmeP = (x: string) => x;
  const globexP = (x: string) => `other.globex-${x}`;
  seedPeople(w, TENANT, acmeP);
  seedPeople(w, OTHER, globexP);
  // Disposal first (the clock moves 20 years): two documents of each tenant past their retention, approved, swept.
  const old = { fiscalYear: 2018, retentionClass: 'immovable-property-10y' };
  const disposed: Record<string, string> = {};
  for (const [tenant, p, look] of [[TENANT, acmeP, 'Acme'], [OTHER, globexP, 'Globex']] as const) {
    disposed[tenant] = await uploadAs(w, p('up'), { ...old, counterparty: `${look} Disposed Counterparty` }, markers);
  }
  w.clock.advance(20 * 365 * 86400_000);
  await ok(w, approval(w, 'bob'), 201);
  await ok(w, approval(w, 'other.globex-bob'), 201);
  await runSweepTimer(w.deps);
  await settle(w);
  const made: Record<string, Made> = {};
  const keys: Record<string, string> = {};
  for (const [tenant, p, look] of [[TENANT, acmeP, 'Acme'], [OTHER, globexP, 'Globex']] as const) {
    const meta = (n: string) => ({ kind: 'invoice', counterparty: `${look} ${n} Counterparty`, reference: `${look.toUpperCase()}-REF-${n}` });
    const doc = await uploadAs(w, p('up'), meta('Plain'), markers);
    const corrected = await uploadAs(w, p('up'), meta('Corrected'), markers);
    const held = await uploadAs(w, p('up'), meta('Held'), markers);
    const read = await ok(w, { method: 'GET', path: `documents/${corrected}`, as: p('alice') });
    await ok(w, { method: 'PATCH', path: `documents/${corrected}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty: `${look} Renamed Counterparty` })), type: 'application/merge-patch+json' }, headers: { 'If-Match': read.headers.ETag! }, as: p('up') });
    await ok(w, { method: 'POST', path: `documents/${held}/legal-holds`, body: { reason: 'Audit', caseReference: `${look.toUpperCase()}-CASE-1` }, as: p('up') }, 201);
    made[tenant] = { doc, corrected, held, disposed: disposed[tenant]!, exportId: '', grant: '', keyId: '', sodProposal: '', retentionProposal: '' };
  }
  delivering(w);
  await (validationWorker as { run: (w: World) => Promise<unknown> }).run(w);
  await settle(w);
  for (const [tenant, p, look] of [[TENANT, acmeP, 'Acme'], [OTHER, globexP, 'Globex']] as const) {
    const m = made[tenant]!;
    const started = await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: p('alice') }, 202);
    m.exportId = started.json.id as string;
    // As exportCompleted (in-process.ts), for either tenant's job.
    const jobs = (w.deps.exportJobs as unknown as { jobs: Map<string, { status: string }> }).jobs;
    for (let i = 0; jobs.get(`${tenant}/${m.exportId}`)?.status !== 'completed'; i++) {
      if (i > 6000) throw new Error(`export ${m.exportId} did not complete`);
      await settle(w);
      await new Promise((r) => setTimeout(r, 5));
    }
    const minted = await mint(w, p('alice'), 'auditor', secrets);
    m.keyId = minted.id;
    keys[tenant] = minted.key;
    m.grant = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: `${look.toUpperCase()}-INC-1`, scope: 'metadata-only', expiresAt: new Date(w.clock.now().getTime() + 3 * 86400_000).toISOString() }, as: p('alice') }, 201)).json.id as string;
    const sod = await ok(w, { method: 'GET', path: 'sod-policy', as: p('carol') });
    m.sodProposal = (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': sod.headers.ETag! }, as: p('carol') }, 202)).json.id as string;
    // A lowering of the retention safeguards, proposed by a records manager (retention:manage without retention:approve).
    seedSet(w, tenant, 'records', ADMIN.filter((x) => x !== 'retention:approve'));
    seedAssignment(w, tenant, p('rm').replace(/^other\./, ''), 'records');
    const read = await ok(w, { method: 'GET', path: 'retention/policy', as: p('carol') });
    const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
    const etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': read.headers.ETag! }, as: p('carol') }, 200)).headers.ETag!;
    m.retentionProposal = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as: p('rm') }, 202)).json.id as string;
  }
  const as = await column.credential(w, secrets);
  await settle(w);
  // The secrets the archive reads (the API key pepper, the audit chain's HMAC key...): the in-memory source answers `secret-<name>`.
  for (const [k, v] of Object.entries(w.deps.config)) if (/SECRET_NAME$/.test(k) && typeof v === 'string') secrets.push(`secret-${v}`);
  // Every stored secret of a key (hash value, salt).
  for (const r of w.deps.tenantRecords.records.values()) {
    const hash = (r.value as { hash?: { salt: string; value: string } }).hash;
    if (hash) secrets.push(hash.salt, hash.value);
  }
  return { w, keys, acme: made[TENANT]!, globex: made[OTHER]!, secrets: [...new Set(secrets)].filter((s) => s.length >= 8), fileMarkers: markers, as };
}

// ---- The columns ----

interface Column {
  name: string;
  /** What the principal holds, with why. */
  holds: Permission[];
  why: string;
  /** The status and code a tenant operation answers when the credential itself is refused (else 403 forbidden for what it does not hold). */
  refused?: { status: number; code: string };
  /** The tenant the credential acts in. */
  tenant?: string;
  /** Provider staff under a grant. */
  support?: true;
  credential: (w: World, secrets: string[]) => Promise<string>;
}

const inter = (a: readonly Permission[], b: readonly Permission[]) => a.filter((p) => b.includes(p));
const WIDE: Permission[] = [...ADMIN];
/** Who mints the widened key: reads, downloads, mints keys; no audit, no rights, no exports. */
const MINTER: Permission[] = ['documents:read', 'documents:download', 'keys:manage'];

async function supportGrant(w: World, scope: string, ends: 'active' | 'expired' | 'revoked'): Promise<string> {
  // Another grant of the scene (metadata-only, by alice) is in force: revoke it, so this column's is the one.
  for (const g of (await ok(w, { method: 'GET', path: 'support-grants', as: 'alice' })).json.items as { id: string }[]) await ok(w, { method: 'DELETE', path: `support-grants/${g.id}`, as: 'alice' });
  const hours = ends === 'expired' ? 1 : 72;
  const r = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-2', scope, expiresAt: new Date(w.clock.now().getTime() + hours * 3600_000).toISOString() }, as: 'alice' }, 201);
  if (ends === 'expired') w.clock.advance(2 * 3600_000);
  if (ends === 'revoked') await ok(w, { method: 'DELETE', path: `support-grants/${r.json.id as string}`, as: 'alice' });
  return 'support.staff';
}

const PRINCIPALS: Column[] = [
  ...Object.entries(BUILT_IN_RIGHTS_SETS).map(([set, perms]) => ({
    name: `token holding ${set}`,
    holds: [...perms],
    why: 'its assignment names the built-in set',
    credential: async (w: World) => (seedAssignment(w, TENANT, `u-${set}`, set), `u-${set}`),
  })),
  {
    name: 'token holding a tenant set of documents:download alone',
    holds: ['documents:download'],
    why: 'the set holds one permission: downloads by id, nothing listed',
    credential: async (w) => (seedSet(w, TENANT, 'dl-only', ['documents:download']), seedAssignment(w, TENANT, 'u-dl', 'dl-only'), 'u-dl'),
  },
  {
    name: "API key whose set was widened past its creator's ceiling",
    holds: inter(WIDE, MINTER),
    why: "a person holding MINTER minted it with a narrow set a tenant-admin then widened to a tenant-admin's: capped to the ceiling recorded at creation (the minter's)",
    credential: async (w, secrets) => {
      seedSet(w, TENANT, 'narrow', ['documents:read']);
      seedSet(w, TENANT, 'minter', MINTER);
      seedAssignment(w, TENANT, 'acct', 'minter');
      const { key } = await mint(w, 'acct', 'narrow', secrets);
      await ok(w, { method: 'PUT', path: 'rights-sets/narrow', body: { permissions: WIDE }, as: 'carol' });
      return key;
    },
  },
  {
    name: 'API key of a person whose rights were cut since',
    holds: inter(ADMIN, BUILT_IN_RIGHTS_SETS.auditor!),
    why: 'a tenant-admin minted it, then was made an auditor: a key acts with what its person holds now',
    credential: async (w, secrets) => {
      seedAssignment(w, TENANT, 'cut', 'tenant-admin');
      const { key } = await mint(w, 'cut', 'tenant-admin', secrets);
      await ok(w, assign('cut', 'auditor', 'carol'));
      return key;
    },
  },
  ...Object.entries(SUPPORT_SCOPES).flatMap(([scope, perms]) =>
    (['active', 'expired', 'revoked'] as const).map((ends) => ({
      name: `support, ${scope}, grant ${ends}`,
      holds: ends === 'active' ? [...perms] : [],
      support: true as const,
      why: ends === 'active' ? 'the grant in force gives its scope' : 'no grant in force: provider staff see nothing',
      ...(ends === 'active' ? {} : { refused: { status: 403, code: 'support_access_not_granted' } }),
      credential: (w: World) => supportGrant(w, scope, ends),
    })),
  ),
  {
    name: 'tenant-admin of another tenant',
    holds: ADMIN,
    tenant: OTHER,
    why: "a tenant-admin in globex: everything of its own tenant, nothing of acme's (acme ids are unknown to it)",
    credential: async () => 'other.globex-alice',
  },
  { name: 'no credential', holds: [], why: 'nothing without a credential', refused: { status: 401, code: 'unauthenticated' }, credential: async () => '' },
];

// ---- The rows ----

/** Operations that answer nothing to learn from beyond what they change (or a secret shown once to its minter): not rows. */
const WRITES: Record<string, string> = {
  createApiKey: 'answers the key it mints to its minter (the secret once, by design)',
  revokeApiKey: 'a change; answers the revoked key to a keys manager',
  putRightsSet: 'a change', deleteRightsSet: 'a change', putRightsAssignment: 'a change', deleteRightsAssignment: 'a change',
  putSodPolicy: 'a change', approveSodPolicyProposal: 'a change', withdrawSodPolicyProposal: 'a change',
  createSupportGrant: 'a change', revokeSupportGrant: 'a change',
  uploadDocument: 'a change', correctDocumentMetadata: 'a change',
  placeLegalHold: 'a change', placeLegalHoldsByQuery: 'a change', releaseLegalHold: 'a change', releaseLegalHoldEverywhere: 'a change',
  putRetentionPolicy: 'a change', approveRetentionPolicyProposal: 'a change', withdrawRetentionPolicyProposal: 'a change',
  extendRetention: 'a change', approveDisposal: 'a change',
};

type Ids = Made;
interface Row {
  op: string;
  name: string;
  /** The call, naming the scene's ids of the tenant given. */
  path: (ids: Ids) => string;
  method?: 'GET' | 'POST';
  body?: unknown;
  /** The id the path names, for the oracle check: another tenant's id of the same kind swapped for a made-up one. */
  id?: keyof Ids;
  /** The 2xx a holder gets. */
  ok?: number;
}

const ROWS: Row[] = [
  { op: 'listApiKeys', name: 'API keys', path: () => 'api-keys?state=all' },
  { op: 'listRightsSets', name: 'rights sets', path: () => 'rights-sets' },
  { op: 'listRightsAssignments', name: 'rights assignments', path: () => 'rights-assignments' },
  { op: 'readSodPolicy', name: 'SoD policy', path: () => 'sod-policy' },
  { op: 'listSodPolicyProposals', name: 'SoD proposals', path: () => 'sod-policy/proposals?state=all' },
  { op: 'listSupportGrants', name: 'support grants', path: () => 'support-grants?state=all' },
  { op: 'listAudit', name: 'audit entries', path: () => 'audit' },
  { op: 'verifyAudit', name: 'audit verification', path: () => 'audit/verify' },
  { op: 'listDocuments', name: 'document search', path: () => 'documents' },
  { op: 'getDocument', name: 'a document', path: (i) => `documents/${i.doc}`, id: 'doc' },
  { op: 'getDocument', name: 'a corrected document', path: (i) => `documents/${i.corrected}`, id: 'corrected' },
  { op: 'getDocument', name: 'a held document', path: (i) => `documents/${i.held}`, id: 'held' },
  { op: 'getDocument', name: "a disposed document's tombstone", path: (i) => `documents/${i.disposed}`, id: 'disposed' },
  { op: 'getDocumentMetadataHistory', name: 'metadata history', path: (i) => `documents/${i.corrected}/metadata/history`, id: 'corrected' },
  { op: 'downloadOriginal', name: 'original', path: (i) => `documents/${i.doc}/original`, id: 'doc' },
  { op: 'downloadOriginal', name: 'original as a link', path: (i) => `documents/${i.doc}/original?delivery=redirect`, id: 'doc', ok: 303 },
  { op: 'downloadOriginalPart', name: 'first original', path: (i) => `documents/${i.held}/originals/1`, id: 'held' },
  { op: 'downloadRendition', name: 'rendition', path: (i) => `documents/${i.corrected}/rendition`, id: 'corrected' },
  { op: 'downloadValidationReport', name: 'validation report', path: (i) => `documents/${i.doc}/validation`, id: 'doc' },
  { op: 'listExports', name: 'exports', path: () => 'exports' },
  { op: 'getExport', name: 'an export', path: (i) => `exports/${i.exportId}`, id: 'exportId' },
  { op: 'downloadExport', name: 'export ZIP', path: (i) => `exports/${i.exportId}/download`, id: 'exportId' },
  { op: 'downloadExport', name: 'export ZIP as a link', path: (i) => `exports/${i.exportId}/download?delivery=redirect`, id: 'exportId', ok: 303 },
  { op: 'createExport', name: 'an export started', method: 'POST', path: () => 'exports', body: { counterparty: 'Acme Plain Counterparty' }, ok: 202 },
  { op: 'listLegalHolds', name: 'open legal holds', path: () => 'legal-holds?status=open' },
  { op: 'listLegalHoldsByQuery', name: 'open holds by query', path: () => 'legal-holds/by-query' },
  { op: 'getRetentionPolicy', name: 'retention policy', path: () => 'retention/policy' },
  // Rows naming an id come after listAudit: their oracle asks with the other tenant's id, which this tenant's audit log then names as asked.
  { op: 'readSodPolicyProposal', name: 'a SoD proposal', path: (i) => `sod-policy/proposals/${i.sodProposal}`, id: 'sodProposal' },
  { op: 'listRetentionPolicyProposals', name: 'retention proposals', path: () => 'retention/policy/proposals?state=all' },
  { op: 'readRetentionPolicyProposal', name: 'a retention proposal', path: (i) => `retention/policy/proposals/${i.retentionProposal}`, id: 'retentionProposal' },
  { op: 'listRetentionDue', name: 'retention due', path: () => 'retention/due' },
  { op: 'health', name: 'liveness', path: () => 'health' },
  { op: 'healthReady', name: 'readiness', path: () => 'health/ready' },
  { op: 'openApi', name: 'OpenAPI', path: () => 'openapi.json' },
];

const OPS = new Map<string, Operation>(ROUTES_OF().map((o) => [o.name, o]));
function ROUTES_OF(): Operation[] {
  return (TABLE as unknown as { route: Operation }[]).map((t) => t.route);
}

it('every operation of the route table is a row, or a write named with why it is none', () => {
  const rows = new Set(ROWS.map((r) => r.op));
  const missing = [...OPS.values()].filter((o) => !rows.has(o.name) && (o.method === 'GET' || !(o.name in WRITES))).map((o) => `${o.method} ${o.route} (${o.name})`);
  expect(missing).toEqual([]);
  expect(ROWS.filter((r) => !OPS.has(r.op)).map((r) => r.op)).toEqual([]);
});

/** What the column's answer to the row must be: the status, and the code of a refusal. */
function expected(row: Row, col: Column): { status: number; code?: string; why: string } {
  const op = OPS.get(row.op)!;
  const holder = row.ok ?? (row.method === 'POST' ? 201 : 200);
  if (op.auth === 'public') return { status: holder, why: 'a public operation: no credential needed, no tenant data' };
  if (col.refused) return { ...col.refused, why: col.why };
  const needed = neededPermissions(op);
  const missing = needed.filter((p) => !col.holds.includes(p));
  if (missing.length > 0) return { status: 403, code: 'forbidden', why: `it needs ${missing.join(', ')}` };
  // By design (shared/http/download.ts deliveryFor): a link would read on after the grant is revoked; support streams.
  if (col.support && row.ok === 303) return { status: 403, code: 'forbidden', why: 'support-no-links: a read-only link would outlive a revoked grant' };
  // Another tenant's principal names acme's ids: unknown in its tenant, as a made-up id.
  if (col.tenant === OTHER && row.id) return { status: 404, why: "acme's id is no id of globex" };
  // A tombstone and the held document answer as any document does; a disposed one's files are gone.
  return { status: holder, why: `it holds ${needed.join(', ')}` };
}

// ---- The judgement ----

function textOf(a: Answer): string {
  return `${a.bytes.toString('latin1')}\n${Object.entries(a.headers).map(([k, v]) => `${k}: ${v}`).join('\n')}`;
}

/** The strings of a tenant's stored data no one of another tenant may read: ids, hashes, names, subjects, key ids. */
function namesOf(s: Scene, tenant: string): string[] {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (/^[0-9a-f][0-9a-f-]{15,}$/i.test(v) || /(Acme|Globex|ACME|GLOBEX|globex-)/.test(v)) out.add(v);
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  const { deps } = s.w;
  for (const d of deps.catalog.documents.values()) if (d.tenantId === tenant) walk(d);
  for (const r of deps.tenantRecords.records.values()) if ((r.value as { tenantId?: string }).tenantId === tenant) walk(r.value);
  for (const j of (deps.exportJobs as unknown as { jobs: Map<string, { tenantId?: string }> }).jobs.values()) if (j.tenantId === tenant) walk(j);
  for (const e of deps.audit.entries) if ((e as { tenantId?: string }).tenantId === tenant) walk({ id: (e as { id?: string }).id, target: e.target });
  return [...out];
}

async function judge(s: Scene, row: Row, col: Column, answer: Answer): Promise<string[]> {
  const found: string[] = [];
  const want = expected(row, col);
  const got = `${answer.status}${answer.json?.code ? ` ${answer.json.code}` : ''}`;
  if (answer.status !== want.status || (want.code !== undefined && answer.json?.code !== want.code)) found.push(`answered ${got}, expected ${want.status} ${want.code ?? ''} (${want.why})`);
  if (answer.status >= 400 && !/problem\+json/.test(answer.headers['Content-Type'] ?? answer.headers['content-type'] ?? '')) found.push(`a refusal ${answer.status} not as problem+json`);
  const text = textOf(answer);
  // Secrets, to anyone, ever (refusals included).
  for (const x of s.secrets) if (text.includes(x)) found.push(`a secret in the answer: ${x.slice(0, 12)}…`);
  // A tombstone keeps no names (shared/retention/dispose.ts): the disposed documents' counterparty is in no answer.
  if (text.includes('Disposed Counterparty')) found.push("names a disposed document's counterparty");
  const op = OPS.get(row.op)!;
  if ((answer.status >= 300 && answer.status !== 303) || op.auth === 'public' || !col.holds.length) {
    // A refusal, a public answer, an answer to someone holding nothing: no tenant's data at all (but the id asked).
    const asked = row.id ? [s.acme[row.id]] : [];
    for (const t of [TENANT, OTHER]) for (const x of namesOf(s, t)) if (!asked.includes(x) && text.includes(x)) found.push(`${answer.status} names ${t}'s ${x}`);
    return found;
  }
  // Nothing of the other tenant.
  const mine = col.tenant ?? TENANT;
  // What both tenants store names neither (the stand-in veraPDF's report is the same bytes, so the same SHA-256, in both).
  const own = new Set(namesOf(s, mine));
  for (const x of namesOf(s, mine === TENANT ? OTHER : TENANT)) if (!own.has(x) && text.includes(x)) found.push(`names the other tenant's ${x}`);
  // No file's bytes (nor a link to them) without documents:download.
  if (!col.holds.includes('documents:download')) {
    for (const m of s.fileMarkers) if (text.includes(m)) found.push(`a file's bytes without documents:download (${m})`);
    if (answer.headers.Location && /download|original|rendition|sig=/.test(answer.headers.Location)) found.push(`a link to bytes without documents:download: ${answer.headers.Location}`);
  }
  return found;
}

/** The refusal's answer without what names the request: the same for any id nobody of this tenant may read. */
function refusalShape(a: Answer, asked: string): string {
  const { requestId: _r, instance: _i, ...rest } = JSON.parse(JSON.stringify(a.json ?? {}).replaceAll(asked, 'ASKED')) as Record<string, unknown>;
  const headers = Object.fromEntries(Object.entries(a.headers).filter(([k]) => !/request-id|date/i.test(k)));
  return JSON.stringify({ status: a.status, body: rest, headers });
}

describe.each(PRINCIPALS.map((c) => [c.name, c] as const))('%s', (_name, col) => {
  let s: Scene;
  beforeAll(async () => {
    s = await scene(col);
  }, 120_000);

  it.each(ROWS.map((r) => [`${r.op} (${r.name})`, r, expected(r, col)] as const))('%s: %j', async (_n, row, _want) => {
    // Every principal names acme's ids: globex's principal so asks for what is not its tenant's.
    const ids = s.acme;
    const call = (path: string): Call => ({ method: row.method ?? 'GET', path, ...(row.body ? { body: row.body } : {}), ...(s.as === '' ? { headers: { authorization: '' } } : { as: s.as }) });
    const answer = await send(s.w, call(row.path(ids)));
    await settle(s.w);
    const found = await judge(s, row, col, answer);
    if (row.id) {
      // The existence oracle: an id of the other tenant (for globex's principal: acme's, asked above) against a made-up one.
      const foreign = col.tenant === OTHER ? answer : await send(s.w, call(row.path({ ...s.acme, [row.id]: s.globex[row.id] })));
      const madeUp = await send(s.w, call(row.path({ ...s.acme, [row.id]: MADE_UP })));
      if (foreign.status < 400) found.push(`the other tenant's ${row.id} answered ${foreign.status}`);
      // The detail may repeat the id asked: what the caller sent, nothing learnt.
      const asked = col.tenant === OTHER ? s.acme[row.id] : s.globex[row.id];
      if (refusalShape(foreign, asked) !== refusalShape(madeUp, MADE_UP)) found.push(`the other tenant's id answered unlike a made-up one:\n  ${refusalShape(foreign, asked)}\n  ${refusalShape(madeUp, MADE_UP)}`);
      await settle(s.w);
    }
    expect(found).toEqual([]);
  });
});

it('the scene is what the cells judge: its documents, export and grants are there, and the checks see what they look for', async () => {
  const s = await scene(PRINCIPALS.find((c) => c.name === 'token holding tenant-admin')!);
  const docs = s.w.deps.catalog.documents;
  for (const m of [s.acme, s.globex]) {
    const tenant = m === s.acme ? TENANT : OTHER;
    expect(docs.get(`${tenant}/${m.disposed}`)?.status).toBe('disposed');
    expect(docs.get(`${tenant}/${m.held}`)?.legalHold).toBe(true);
    expect(docs.get(`${tenant}/${m.corrected}`)?.metadataVersion).toBe(2);
    expect((s.w.deps.exportJobs as unknown as { jobs: Map<string, { status: string }> }).jobs.get(`${tenant}/${m.exportId}`)?.status).toBe('completed');
  }
  // globex's names are what a leak would show: its ids, counterparties, subjects, file hashes.
  const names = namesOf(s, OTHER);
  expect(names).toEqual(expect.arrayContaining([s.globex.doc, s.globex.exportId, s.globex.grant, 'Globex Plain Counterparty', 'globex-alice', docs.get(`${OTHER}/${s.globex.doc}`)!.original.sha256]));
  expect(names.some((n) => n.includes(s.globex.keyId))).toBe(true);
  expect(s.secrets.length).toBeGreaterThanOrEqual(8);
  expect(s.secrets).toEqual(expect.arrayContaining([`secret-${s.w.deps.config.API_KEY_PEPPER_SECRET_NAME}`, `secret-${s.w.deps.config.AUDIT_CHAIN_KEY_SECRET_NAME}`]));
  // A download's body carries its file's marker: the check for bytes without documents:download can fire.
  const original = await send(s.w, { method: 'GET', path: `documents/${s.acme.doc}/original`, as: 'alice' });
  expect(s.fileMarkers.some((m) => original.bytes.toString('latin1').includes(m))).toBe(true);
}, 120_000);

describe('an API key names its tenant and key id in clear: a wrong secret answers alike whether the key exists (in any tenant) or not', () => {
  const bad = 'A'.repeat(43);
  const keyText = (key: string) => key.replace(/^ApiKey /, '');
  const parts = (key: string) => /^arch_([a-z0-9-]+)_([0-9a-f]{24})_/.exec(keyText(key))!;
  it.each([
    ['a key of this tenant, wrong secret', (s: Scene) => `arch_${TENANT}_${parts(s.keys[TENANT]!)[2]}_${bad}`],
    ["the other tenant's key id under this tenant's name", (s: Scene) => `arch_${TENANT}_${parts(s.keys[OTHER]!)[2]}_${bad}`],
    ["the other tenant's key, wrong secret", (s: Scene) => `arch_${OTHER}_${parts(s.keys[OTHER]!)[2]}_${bad}`],
    ["this tenant's key id under the other tenant's name, its own secret", (s: Scene) => `arch_${OTHER}_${parts(s.keys[TENANT]!)[2]}_${keyText(s.keys[TENANT]!).slice(-43)}`],
  ] as const)('%s: as a made-up key id', async (_n, key) => {
    const s = await scene(PRINCIPALS.find((c) => c.name === 'no credential')!);
    const shape = async (k: string, madeUp: string) => {
      const a = await send(s.w, { method: 'GET', path: 'documents', headers: { authorization: `ApiKey ${k}` } });
      return refusalShape(a, madeUp);
    };
    const k = key(s);
    const id = parts(k)[2]!;
    const madeUp = k.replace(id, 'abcdef0123456789abcdef01');
    expect(await shape(k, id)).toBe(await shape(madeUp, 'abcdef0123456789abcdef01'));
    expect(JSON.parse(await shape(k, id)).status).toBe(401);
  }, 120_000);
});

/**
 * The writes that name an id (WRITES above are no rows of the grid): their refusals, to someone of another tenant holding
 * the permission, must not say whether the id is one of this tenant. Each asks with acme's id and with a made-up one,
 * as a globex person holding what the write needs (globex-up an archivist, globex-alice and globex-bob tenant-admins).
 */
describe("a write naming another tenant's id answers as for a made-up id", () => {
  type Ids = Made & { hold: string };
  const WRITE_PROBES: { op: string; as: string; call: (i: Ids) => Omit<Call, 'as'> }[] = [
    { op: 'revokeApiKey', as: 'alice', call: (i) => ({ method: 'DELETE', path: `api-keys/${i.keyId}` }) },
    { op: 'revokeSupportGrant', as: 'alice', call: (i) => ({ method: 'DELETE', path: `support-grants/${i.grant}` }) },
    { op: 'approveSodPolicyProposal', as: 'bob', call: (i) => ({ method: 'POST', path: `sod-policy/proposals/${i.sodProposal}/approve`, body: { reason: 'ok' } }) },
    { op: 'withdrawSodPolicyProposal', as: 'bob', call: (i) => ({ method: 'DELETE', path: `sod-policy/proposals/${i.sodProposal}` }) },
    { op: 'correctDocumentMetadata', as: 'up', call: (i) => ({ method: 'PATCH', path: `documents/${i.doc}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'x', reference: 'R' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' } }) },
    { op: 'placeLegalHold', as: 'up', call: (i) => ({ method: 'POST', path: `documents/${i.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-9' } }) },
    { op: 'releaseLegalHold', as: 'bob', call: (i) => ({ method: 'DELETE', path: `documents/${i.held}/legal-holds/${i.hold}`, body: { reason: 'done' } }) },
    { op: 'releaseLegalHoldEverywhere', as: 'bob', call: (i) => ({ method: 'DELETE', path: `legal-holds/${i.hold}`, body: { reason: 'done' } }) },
    { op: 'extendRetention', as: 'up', call: (i) => ({ method: 'POST', path: `documents/${i.doc}/retention`, body: { retainUntil: '2999-01-01T00:00:00Z', reason: 'longer' } }) },
    { op: 'approveDisposal', as: 'bob', call: (i) => ({ method: 'POST', path: 'retention/approvals', body: { before: new Date(Date.now() + 86400_000 * 30).toISOString(), reason: 'review', documentIds: [i.doc] } }) },
  ];
  let s: Scene;
  let acme: Ids;
  beforeAll(async () => {
    s = await scene(PRINCIPALS.find((c) => c.name === 'no credential')!);
    const held = s.w.deps.catalog.documents.get(`${TENANT}/${s.acme.held}`)!;
    acme = { ...s.acme, hold: (held.holds ?? [])[0]!.id };
  }, 120_000);
  it.each(WRITE_PROBES.map((p) => [p.op, p] as const))('%s', async (_op, probe) => {
    const made = Object.fromEntries(Object.keys(acme).map((k) => [k, MADE_UP])) as unknown as Ids;
    const foreign = await send(s.w, { ...probe.call(acme), as: `other.globex-${probe.as}` });
    const madeUp = await send(s.w, { ...probe.call(made), as: `other.globex-${probe.as}` });
    await settle(s.w);
    const shapes = [foreign, madeUp].map((a, k) => {
      let text = JSON.stringify(a.json ?? {});
      for (const id of Object.values(k === 0 ? acme : made)) text = text.replaceAll(id, 'ASKED');
      // An approval is a new record each time (it skipped the document, not due here): its own id differs.
      text = text.replace(/"approvalId":"[^"]+"/, '"approvalId":"NEW"');
      return refusalShape({ ...a, json: JSON.parse(text) }, 'ASKED');
    });
    expect(shapes[0]).toBe(shapes[1]);
    // The write was judged (the globex person holds what it needs), not refused for rights before it looked.
    expect(`${foreign.status} ${foreign.json?.code ?? ''}`).not.toMatch(/^403 forbidden/);
    // Nothing of acme changed.
    expect(s.w.deps.catalog.documents.get(`${TENANT}/${acme.held}`)!.legalHold).toBe(true);
  });
});
