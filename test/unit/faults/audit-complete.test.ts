/**
 * Every request that reaches a tenant is audited exactly once, truthfully (generated sweep).
 *
 * Rows: every tenant operation of the route table (TABLE, as test/support/in-process.ts routes requests; an operation
 * added without a row fails this file). Columns (OUTCOMES), each where the operation can give it: success; the same
 * through alice's API key; no credential; a bad credential (an existing key with a wrong secret); a revoked key;
 * lacking the permission; provider staff under a read-only grant, and asking a download as a link; not found (a made-up
 * id); another tenant's document id; bad input (400); a conflict (409, 412 on a stale If-Match); 422; the rate limit
 * (429, then two refusals counted, one from elsewhere); a download answered 304, a Range 206, `?delivery=redirect` 303,
 * a file and a Range above the streamed-answer cap (303); a client whose body stream errors mid-way; a client that
 * stops reading a download after its first chunk; a store fault (every catalog, blob, export, retention port and tenant
 * record write throws, as fault-sweep.test.ts injects); a fault after the first stored change; a retry by
 * Idempotency-Key. Each cell states its expectation and checks, of the request's entries in `w.deps.audit.entries`:
 * exactly one (none where no tenant is known; two only where a stored change's success entry sits beside its
 * failure's own), its action the operation's, outcome and status those of the answer given, the target naming the
 * object, the actor the accountable person (an API key's person and key id, a support grant's id), the client IP and
 * User-Agent sent, no secret (API key secret, its hash, the audit chain's HMAC key) anywhere in it, and for a download
 * a detail naming what was read (SHA-256 as the ETag; a range's bytes as Content-Range; a link's expiry as
 * Link-Expires). AUDIT_SWEEP_TRACE=1 prints every cell's answer and entries.
 *
 * Decided by design (the cells say so):
 * - no credential, or a credential that names no tenant: no entry; the app log keeps it (pipeline.ts), as the README's
 *   row says ("every request that reaches a tenant").
 * - past the first 429 of a run, refusals are counted into one `access.refusals-suppressed` entry (README, *Refused
 *   requests are rate-limited per person*): the 31st refusal has its entry (429), the 32nd none of its own.
 * - a download the client stops reading half-way keeps its success entry (200, the SHA-256 of the file handed out): the
 *   entry is appended before the first byte is sent, because a request that cannot be audited is not served; it
 *   records what the archive handed out, not what the client kept (the README should say so).
 * - an export's worker writes its own entries under the request id that started it (README, POST /exports), actor its
 *   starter, user agent `export-worker`: not the request's entry, so not counted as a second one.
 * - a client whose body stops mid-way is refused 400 bad_request (outcome refused), as an interrupted upload is.
 */
import type { Operation } from '../../../shared/http/operation';
import type { AuditInput } from '../../../shared/ports';
import { API_KEY_PATTERN } from '../../../shared/auth/api-keys/api-key';
import { RefusalLimiter } from '../../../shared/auth/refusal-limiter';
import { flushSuppressedRefusals } from '../../../shared/audit/suppressed-refusals';
import { rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { ADMIN, type Answer as Sent, START, delivering, exportCompleted, later, ok, send as sendAs, settle, TABLE, TENANT, validationWorker, world, type Call, type World } from '../../support/in-process';

type TenantOp = Extract<Operation, { auth: 'tenant' }>;
const OPS = TABLE.map((r) => r.route).filter((r): r is TenantOp => r.auth === 'tenant');

const OUTCOMES = ['success', 'via-key', 'no-credential', 'bad-credential', 'revoked-key', 'forbidden', 'support', 'support-link', 'not-found', 'other-tenant', 'bad-input', 'conflict', 'unprocessable', 'rate-limited', 'not-modified', 'range', 'redirect', 'over-cap', 'over-cap-range', 'body-aborted', 'reader-stopped', 'store-fault', 'fault-after-first-change', 'replayed'] as const;
type Outcome = (typeof OUTCOMES)[number];

const IP = '203.0.113.7';
const UA = 'AuditSweep/1.0 (+https://example.test)';

/** How a cell's client behaves: its body errors after the first chunk, or it stops reading after the first chunk. */
interface Client {
  /** Another address and user agent than IP and UA. */
  from?: { ip: string; ua: string };
  bodyAborts?: boolean;
  stopsReading?: boolean;
}

let seq = 0;
/** What the rate-limited cell saw past its first 429: the answers, their own entries, the count's entries. */
let suppressed: { statuses: number[]; own: number[]; details: string[] } | null = null;
/** A request as the hosts send it, from IP with UA, through the real pipeline (in-process.ts `send`). */
const send = (w: World, call: Call, client: Client = {}): Promise<Sent> =>
  sendAs(w, call, `ac-${++seq}`, { ip: client.from?.ip ?? IP, userAgent: client.from?.ua ?? UA, anonymous: call.as === '', bodyAborts: client.bodyAborts, stopsReading: client.stopsReading });

// ---- The scene every row starts from ----

interface Scene {
  doc: string;
  /** A second document, for the operations that use one up (a hold released, a retention extended). */
  doc2: string;
  keyId: string;
  /** alice's key: `ApiKey arch_…` (a secret the log must never hold). */
  key: string;
  /** The same key with a wrong secret. */
  badKey: string;
  secrets: string[];
  /** A document of another tenant (globex), and the support grant sam (provider staff) acts under. */
  otherDoc: string;
  grantId: string;
}

const png = () => Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${Math.random()} ${'x'.repeat(200)}`)]);
const uploadCall = (meta: object = { counterparty: 'ACME GmbH', fiscalYear: 2024 }): Call => ({ method: 'POST', path: `documents?metadata=${encodeURIComponent(JSON.stringify(meta))}`, raw: { bytes: png(), type: 'image/png' }, as: 'up' });

async function scene(w: World): Promise<Scene> {
  const doc = (await ok(w, uploadCall(), 201)).json.id as string;
  const doc2 = (await ok(w, uploadCall(), 201)).json.id as string;
  const expiresAt = new Date(w.clock.now().getTime() + 30 * 86400_000).toISOString();
  const minted = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'sweep', rightsSet: 'tenant-admin', expiresAt }, as: 'alice' }, 201);
  const secret = minted.json.key as string;
  const last = secret.at(-1) === 'A' ? 'B' : 'A';
  // Another tenant: a bearer token `globex.<x>` is user <x> of globex.
  const verify = (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<Record<string, unknown>> }).verifyJwt;
  (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => (token.startsWith('globex.') ? { ...(await verify(token)), tenantId: 'globex', subject: token.slice(7) } : verify(token));
  w.deps.tenantRecords.records.set(`globex/${rightsAssignmentRecordId('gup')}`, { value: { id: rightsAssignmentRecordId('gup'), tenantId: 'globex', type: 'rights-assignment', subject: 'gup', rightsSet: 'archivist', assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never, etag: 9000 });
  const otherDoc = (await ok(w, { ...uploadCall(), as: 'globex.gup' }, 201)).json.id as string;
  const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-9', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 5 * 86400_000).toISOString() }, as: 'carol' }, 201);
  later(w);
  return { otherDoc, grantId: grant.json.id as string, doc, doc2, keyId: minted.json.id, key: `ApiKey ${secret}`, badKey: `ApiKey ${secret.slice(0, -1)}${last}`, secrets: [secret, API_KEY_PATTERN.exec(secret)![3]!] };
}

/** Every stored secret hash, and the audit chain's HMAC key: none may appear in an entry. */
function storedSecrets(w: World, s: Scene): string[] {
  const out = [...s.secrets];
  for (const { value } of w.deps.tenantRecords.records.values()) {
    for (const [k, v] of Object.entries(value as unknown as Record<string, unknown>)) if (/hash|secret|salt/i.test(k) && typeof v === 'string' && v.length >= 16) out.push(v);
  }
  const chainKey = (w.deps.config as unknown as Record<string, unknown>).AUDIT_CHAIN_KEY;
  if (typeof chainKey === 'string' && chainKey.length >= 16) out.push(chainKey);
  return out;
}

// ---- The rows ----

interface Row {
  /** The call that succeeds, from the scene (with its set-up done). */
  success: (w: World, s: Scene) => Promise<Call>;
  /** The call with a made-up id where the path has one. */
  notFound?: (s: Scene) => Call;
  /** The call with a bad body or query (400). */
  badInput?: (s: Scene) => Call;
  /** The call refused 409 or 412 (a stale If-Match, a state that forbids it), from the scene. */
  conflict?: (w: World, s: Scene) => Promise<Call>;
  /** The call refused 422, from the scene. */
  unprocessable?: (w: World, s: Scene) => Promise<Call>;
  /** A download: its 304 / 206 / 303 variants apply, and its detail names what was read. */
  download?: boolean;
}

const MADE_UP = '01890000-0000-7000-8000-000000000000';
const inDays = (w: World, d: number) => new Date(w.clock.now().getTime() + d * 86400_000).toISOString();
async function etagOf(w: World, path: string): Promise<string> {
  return (await ok(w, { method: 'GET', path, as: 'carol' })).headers.ETag!;
}

async function proposeSodWeakening(w: World, as: string): Promise<string> {
  return (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') }, as }, 202)).json.id as string;
}
/** Required disposal approval turned off (on first), proposed by rm1, a records manager (no retention:approve), as rm2 is. */
async function proposeRetentionLowering(w: World): Promise<string> {
  await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ADMIN.filter((p) => p !== 'retention:approve') }, as: 'carol' });
  for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
  later(w);
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
  let etag = read.headers.ETag!;
  if (policy.requireDisposalApproval !== true) etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200)).headers.ETag!;
  return (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as: 'rm1' }, 202)).json.id as string;
}

const ROWS: Record<string, Row> = {
  createApiKey: { success: async (w) => ({ method: 'POST', path: 'api-keys', body: { name: 'k2', rightsSet: 'tenant-admin', expiresAt: inDays(w, 30) } }), badInput: () => ({ method: 'POST', path: 'api-keys', body: { name: 5 } }) },
  listApiKeys: { success: async () => ({ method: 'GET', path: 'api-keys' }), badInput: () => ({ method: 'GET', path: 'api-keys?bogus=1' }) },
  revokeApiKey: { success: async (_w, s) => ({ method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' }), notFound: () => ({ method: 'DELETE', path: `api-keys/${MADE_UP}` }) },
  listRightsSets: { success: async () => ({ method: 'GET', path: 'rights-sets' }) },
  putRightsSet: { success: async () => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['documents:read'] } }), badInput: () => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['no:such'] } }) },
  deleteRightsSet: {
    success: async (w) => {
      await ok(w, { method: 'PUT', path: 'rights-sets/gone', body: { permissions: ['documents:read'] }, as: 'carol' });
      return { method: 'DELETE', path: 'rights-sets/gone' };
    },
    notFound: () => ({ method: 'DELETE', path: 'rights-sets/nosuch' }),
    conflict: async (w) => {
      // A set someone holds.
      await ok(w, { method: 'PUT', path: 'rights-sets/held', body: { permissions: ['documents:read'] }, as: 'carol' });
      await ok(w, { method: 'PUT', path: 'rights-assignments/erin', body: { rightsSet: 'held' }, as: 'carol' });
      return { method: 'DELETE', path: 'rights-sets/held' };
    },
  },
  listRightsAssignments: { success: async () => ({ method: 'GET', path: 'rights-assignments' }) },
  putRightsAssignment: { success: async () => ({ method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 'auditor' } }), badInput: () => ({ method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 5 } }) },
  deleteRightsAssignment: {
    success: async (w) => {
      await ok(w, { method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 'auditor' }, as: 'carol' });
      return { method: 'DELETE', path: 'rights-assignments/dave' };
    },
    notFound: () => ({ method: 'DELETE', path: 'rights-assignments/nosuch' }),
  },
  readSodPolicy: { success: async () => ({ method: 'GET', path: 'sod-policy' }) },
  putSodPolicy: { success: async (w) => ({ method: 'PUT', path: 'sod-policy', body: { conflicts: [['holds:place', 'audit:read']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') } }), badInput: () => ({ method: 'PUT', path: 'sod-policy', body: { conflicts: 'x' }, headers: { 'If-Match': '"x"' } }), conflict: async () => ({ method: 'PUT', path: 'sod-policy', body: { conflicts: [['holds:place', 'audit:read']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': '"stale"' } }) },
  listSodPolicyProposals: { success: async () => ({ method: 'GET', path: 'sod-policy/proposals' }) },
  readSodPolicyProposal: { success: async (w) => ({ method: 'GET', path: `sod-policy/proposals/${await proposeSodWeakening(w, 'carol')}` }), notFound: () => ({ method: 'GET', path: `sod-policy/proposals/${MADE_UP}` }) },
  approveSodPolicyProposal: {
    success: async (w) => ({ method: 'POST', path: `sod-policy/proposals/${await proposeSodWeakening(w, 'carol')}/approve`, body: { reason: 'Agreed' }, as: 'bob' }),
    notFound: () => ({ method: 'POST', path: `sod-policy/proposals/${MADE_UP}/approve`, body: { reason: 'Agreed' }, as: 'bob' }),
    conflict: async (w) => {
      const id = await proposeSodWeakening(w, 'carol');
      await ok(w, { method: 'DELETE', path: `sod-policy/proposals/${id}`, as: 'carol' });
      return { method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' };
    },
  },
  withdrawSodPolicyProposal: { success: async (w) => ({ method: 'DELETE', path: `sod-policy/proposals/${await proposeSodWeakening(w, 'carol')}`, as: 'carol' }), notFound: () => ({ method: 'DELETE', path: `sod-policy/proposals/${MADE_UP}`, as: 'carol' }) },
  createSupportGrant: { success: async (w) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'metadata-only', expiresAt: inDays(w, 5) } }), badInput: () => ({ method: 'POST', path: 'support-grants', body: { ticket: 1 } }) },
  listSupportGrants: { success: async () => ({ method: 'GET', path: 'support-grants' }) },
  revokeSupportGrant: {
    success: async (w) => {
      const g = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-2', scope: 'metadata-only', expiresAt: inDays(w, 5) }, as: 'carol' });
      return { method: 'DELETE', path: `support-grants/${g.json.id as string}` };
    },
    notFound: () => ({ method: 'DELETE', path: `support-grants/${MADE_UP}` }),
  },
  listAudit: { success: async () => ({ method: 'GET', path: 'audit?limit=5' }), badInput: () => ({ method: 'GET', path: 'audit?limit=abc' }) },
  verifyAudit: { success: async (w) => ({ method: 'GET', path: `audit/verify?month=${w.clock.now().toISOString().slice(0, 7)}` }), badInput: () => ({ method: 'GET', path: 'audit/verify?month=13' }) },
  uploadDocument: { success: async () => uploadCall({ counterparty: 'Other AG' }), badInput: () => ({ ...uploadCall(), path: 'documents?metadata=notjson' }) },
  listDocuments: { success: async () => ({ method: 'GET', path: 'documents' }), badInput: () => ({ method: 'GET', path: 'documents?fiscalYear=abc' }) },
  getDocument: { success: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}` }), notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}` }) },
  correctDocumentMetadata: {
    success: async (w, s) => ({ method: 'PATCH', path: `documents/${s.doc}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-2' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': await etagOf(w, `documents/${s.doc}`) }, as: 'up' }),
    notFound: () => ({ method: 'PATCH', path: `documents/${MADE_UP}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-2' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'up' }),
    badInput: (s) => ({ method: 'PATCH', path: `documents/${s.doc}/metadata`, raw: { bytes: Buffer.from('{"reason":'), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'up' }),
    conflict: async (_w, s) => ({ method: 'PATCH', path: `documents/${s.doc}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-3' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-99"' }, as: 'up' }),
  },
  getDocumentMetadataHistory: { success: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/metadata/history` }), notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}/metadata/history` }) },
  downloadOriginal: { download: true, success: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/original` }), notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}/original` }), badInput: (s) => ({ method: 'GET', path: `documents/${s.doc}/original?delivery=carrier-pigeon` }) },
  downloadOriginalPart: { download: true, success: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/originals/1` }), notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}/originals/1` }) },
  downloadRendition: { download: true, success: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/rendition` }), notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}/rendition` }) },
  downloadValidationReport: {
    download: true,
    success: async (w, s) => {
      delivering(w);
      await (validationWorker as { run: (w: World) => Promise<unknown> }).run(w);
      return { method: 'GET', path: `documents/${s.doc}/validation` };
    },
    notFound: () => ({ method: 'GET', path: `documents/${MADE_UP}/validation` }),
  },
  createExport: { success: async () => ({ method: 'POST', path: 'exports', body: { includeOriginals: false } }), badInput: () => ({ method: 'POST', path: 'exports', body: { fiscalYear: 'x' } }) },
  getExport: { success: async (w) => ({ method: 'GET', path: `exports/${(await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: false }, as: 'carol' }, 202)).json.id as string}` }), notFound: () => ({ method: 'GET', path: `exports/${MADE_UP}` }) },
  listExports: { success: async () => ({ method: 'GET', path: 'exports' }) },
  downloadExport: {
    download: true,
    success: async (w) => {
      const id = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: false }, as: 'carol' }, 202)).json.id as string;
      await exportCompleted(w, id);
      return { method: 'GET', path: `exports/${id}/download` };
    },
    notFound: () => ({ method: 'GET', path: `exports/${MADE_UP}/download` }),
  },
  placeLegalHold: { success: async (_w, s) => ({ method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }), notFound: () => ({ method: 'POST', path: `documents/${MADE_UP}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }), badInput: (s) => ({ method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 5 }, as: 'up' }) },
  placeLegalHoldsByQuery: { success: async () => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-2', query: { counterparty: 'ACME GmbH' } }, as: 'up' }), badInput: () => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Dispute' }, as: 'up' }) },
  releaseLegalHold: {
    success: async (w, s) => {
      const h = await ok(w, { method: 'POST', path: `documents/${s.doc2}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-3' }, as: 'up' });
      return { method: 'DELETE', path: `documents/${s.doc2}/legal-holds/${h.json.id as string}`, body: { reason: 'Closed' }, as: 'bob' };
    },
    notFound: (s) => ({ method: 'DELETE', path: `documents/${s.doc}/legal-holds/${MADE_UP}`, body: { reason: 'Closed' }, as: 'bob' }),
    conflict: async (w, s) => {
      // Released already (by bob): released again.
      const call = await (ROWS.releaseLegalHold as Row).success(w, s);
      await ok(w, call);
      return call;
    },
  },
  releaseLegalHoldEverywhere: {
    success: async (w) => {
      const h = await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-4', query: { counterparty: 'ACME GmbH' } }, as: 'up' });
      return { method: 'DELETE', path: `legal-holds/${h.json.holdId as string}`, body: { reason: 'Settled' }, as: 'bob' };
    },
    notFound: () => ({ method: 'DELETE', path: `legal-holds/${MADE_UP}`, body: { reason: 'Settled' }, as: 'bob' }),
  },
  listLegalHolds: { success: async () => ({ method: 'GET', path: 'legal-holds?status=open' }), badInput: () => ({ method: 'GET', path: 'legal-holds?status=bogus' }) },
  listLegalHoldsByQuery: { success: async () => ({ method: 'GET', path: 'legal-holds/by-query' }) },
  getRetentionPolicy: { success: async () => ({ method: 'GET', path: 'retention/policy' }) },
  putRetentionPolicy: {
    success: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
      return { method: 'PUT', path: 'retention/policy', body: { ...policy, classes: [{ name: 'contracts-12y', years: 12, description: 'Contracts' }] }, headers: { 'If-Match': read.headers.ETag! } };
    },
    badInput: () => ({ method: 'PUT', path: 'retention/policy', body: { classes: 'x' }, headers: { 'If-Match': '"x"' } }),
    conflict: async (w) => {
      const call = await (ROWS.putRetentionPolicy as Row).success(w, undefined as never);
      return { ...call, headers: { 'If-Match': '"stale"' } };
    },
  },
  listRetentionPolicyProposals: { success: async () => ({ method: 'GET', path: 'retention/policy/proposals' }) },
  readRetentionPolicyProposal: { success: async (w) => ({ method: 'GET', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}`, as: 'rm2' }), notFound: () => ({ method: 'GET', path: `retention/policy/proposals/${MADE_UP}`, as: 'rm2' }) },
  approveRetentionPolicyProposal: {
    success: async (w) => ({ method: 'POST', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}/approve`, body: { reason: 'Agreed' }, as: 'rm2' }),
    notFound: () => ({ method: 'POST', path: `retention/policy/proposals/${MADE_UP}/approve`, body: { reason: 'Agreed' }, as: 'rm2' }),
  },
  withdrawRetentionPolicyProposal: { success: async (w) => ({ method: 'DELETE', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}`, as: 'rm1' }), notFound: () => ({ method: 'DELETE', path: `retention/policy/proposals/${MADE_UP}`, as: 'rm1' }) },
  extendRetention: { success: async (_w, s) => ({ method: 'POST', path: `documents/${s.doc}/retention`, body: { retainUntil: '2090-12-31', reason: 'Litigation' }, as: 'up' }), notFound: () => ({ method: 'POST', path: `documents/${MADE_UP}/retention`, body: { retainUntil: '2090-12-31', reason: 'Litigation' }, as: 'up' }), badInput: (s) => ({ method: 'POST', path: `documents/${s.doc}/retention`, body: { retainUntil: 'soon' }, as: 'up' }), unprocessable: async (_w, s) => ({ method: 'POST', path: `documents/${s.doc}/retention`, body: { retainUntil: '2027-01-01', reason: 'Shorter' }, as: 'up' }) },
  listRetentionDue: { success: async (w) => ({ method: 'GET', path: `retention/due?before=${inDays(w, 30)}` }), badInput: () => ({ method: 'GET', path: 'retention/due?before=never' }) },
  approveDisposal: { success: async (w) => ({ method: 'POST', path: 'retention/approvals', body: { before: inDays(w, 30), reason: 'Annual review' }, as: 'bob' }), badInput: () => ({ method: 'POST', path: 'retention/approvals', body: { before: 'never' }, as: 'bob' }) },
};

/** The action a success entry of the operation may have (a lowering answered 202 is a proposal, audited as one). */
const ACTIONS: Record<string, string[]> = { putRetentionPolicy: ['retention.policy-set', 'retention.policy-propose'], putSodPolicy: ['sod-policy.put', 'sod-policy.propose'] };

// ---- One cell ----

interface Ran {
  w: World;
  s: Scene;
  answer: Sent;
  entries: AuditInput[];
  /** The person and key the entry's actor must be. */
  person: string;
  keyId?: string;
  what: string;
}

function personOfCall(call: Call, s: Scene): { person: string; keyId?: string } {
  const as = call.as ?? 'alice';
  if (as === s.key || as === s.badKey) return { person: 'alice', keyId: s.keyId };
  return { person: as };
}

/** What every cell checks of an entry, whatever its outcome: who, from where, no secret, the answer it had. */
function truthful(r: Ran, op: TenantOp, entry: AuditInput, expectedAction: string[]): string[] {
  const found: string[] = [];
  const at = `${r.what} (${r.answer.status})`;
  if (!expectedAction.includes(entry.action)) found.push(`${at}: action ${entry.action}, expected ${expectedAction.join(' or ')}`);
  if (entry.status !== r.answer.status) found.push(`${at}: entry status ${entry.status}, answered ${r.answer.status}`);
  const outcome = r.answer.status < 400 ? 'success' : r.answer.status >= 500 ? 'failed' : 'refused';
  if (entry.outcome !== outcome) found.push(`${at}: outcome ${entry.outcome}, answered ${r.answer.status}`);
  if (entry.clientIp !== IP) found.push(`${at}: client IP ${entry.clientIp}`);
  if (entry.userAgent !== UA) found.push(`${at}: user agent ${entry.userAgent}`);
  if (entry.actor.person !== r.person) found.push(`${at}: actor person ${entry.actor.person}, expected ${r.person}`);
  if (r.keyId && (entry.actor as { keyId?: string }).keyId !== r.keyId) found.push(`${at}: actor key ${(entry.actor as { keyId?: string }).keyId}, expected ${r.keyId}`);
  const text = JSON.stringify(entry);
  // The scene's key, every stored hash, and a key this very request minted (its secret is in the answer only).
  const minted = typeof r.answer.json?.key === 'string' ? [r.answer.json.key as string, API_KEY_PATTERN.exec(r.answer.json.key as string)?.[3] ?? r.answer.json.key] : [];
  for (const secret of [...storedSecrets(r.w, r.s), ...minted]) if (text.includes(secret)) found.push(`${at}: a secret in the entry (${secret.slice(0, 6)}…)`);
  if (op.method !== 'POST' && /\{(id|name|subject|holdId)\}/.test(op.route) && r.answer.status !== 400) {
    const param = /(?:documents|api-keys|rights-sets|rights-assignments|support-grants|legal-holds|proposals)\/([^/?]+)/.exec(r.what)?.[1];
    if (param && !(entry.target ?? '').includes(decodeURIComponent(param))) found.push(`${at}: target ${entry.target}, the request names ${param}`);
  }
  return found;
}

async function run(op: TenantOp, row: Row, outcome: Outcome, w: World, s: Scene): Promise<Ran | null> {
  const base = await row.success(w, s);
  await settle(w);
  later(w);
  let call: Call | null = base;
  const client: Client = {};
  switch (outcome) {
    case 'success':
      break;
    case 'via-key':
      // alice's API key (tenant-admin, as her token): the entry names her and the key.
      if ((base.as ?? 'alice') !== 'alice') return null;
      call = { ...base, as: s.key };
      break;
    case 'no-credential':
      call = { ...base, as: '' };
      break;
    case 'conflict':
      call = (await row.conflict?.(w, s)) ?? null;
      break;
    case 'unprocessable':
      call = (await row.unprocessable?.(w, s)) ?? null;
      break;
    case 'bad-credential':
      call = { ...base, as: s.badKey };
      break;
    case 'revoked-key':
      // alice's key, revoked by carol: refused, and audited under alice and the key (a tenant sees a leaked key tried).
      await ok(w, { method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' });
      call = { ...base, as: s.key };
      break;
    case 'forbidden':
      call = { ...base, as: 'nobody' };
      break;
    case 'support':
      // Provider staff under the tenant's grant (reads only: the grant's scope is read-only).
      if (base.method !== 'GET') return null;
      call = { ...base, as: 'support.sam' };
      break;
    case 'support-link':
      // Support gets no links (rule support-no-links): refused, the entry naming the rule and the grant.
      // (An export is no support scope's at all: its support cell is the plain 403.)
      if (!row.download || op.name === 'downloadExport') return null;
      call = { ...base, path: `${base.path}?delivery=redirect`, as: 'support.sam' };
      break;
    case 'not-found':
      call = row.notFound?.(s) ?? null;
      break;
    case 'other-tenant': {
      // Another tenant's document id where a made-up one was refused: answered and audited as the made-up one.
      const made = row.notFound?.(s);
      if (!made || !made.path.startsWith(`documents/${MADE_UP}`)) return null;
      call = { ...made, path: made.path.replace(MADE_UP, s.otherDoc) };
      break;
    }
    case 'bad-input':
      call = row.badInput?.(s) ?? null;
      break;
    case 'rate-limited': {
      for (let i = 0; i < w.deps.config.ARCHIVE_REFUSAL_BURST; i++) await send(w, { ...base, as: 'nobody' });
      call = { ...base, as: 'nobody' };
      break;
    }
    case 'not-modified':
      if (!row.download) return null;
      call = { ...base, headers: { 'If-None-Match': (await send(w, base)).headers.ETag! } };
      break;
    case 'range':
      if (!row.download) return null;
      call = { ...base, headers: { Range: 'bytes=2-9' } };
      break;
    case 'redirect':
      if (!row.download) return null;
      call = { ...base, path: `${base.path}?delivery=redirect` };
      break;
    case 'over-cap':
    case 'over-cap-range':
      // A file above the streamed-answer cap is answered as ?delivery=redirect (README, *Large downloads*); a Range
      // above it too, its entry naming the range. The cap made 16 bytes here (its setting's floor is 64 KiB).
      if (!row.download) return null;
      (w.deps.config as { ARCHIVE_STREAMED_ANSWER_MAX_BYTES: number }).ARCHIVE_STREAMED_ANSWER_MAX_BYTES = 16;
      call = outcome === 'over-cap' ? base : { ...base, headers: { Range: 'bytes=2-' } };
      break;
    case 'replayed':
      // A retry by Idempotency-Key: its own entry, detail naming the replay (README, *Retries of creates*).
      if (!op.idempotencyKey) return null;
      call = { ...base, headers: { ...base.headers, 'Idempotency-Key': 'audit-sweep-retry-1' } };
      await send(w, call);
      await settle(w);
      later(w);
      break;
    case 'body-aborted':
      if (base.body === undefined && !base.raw) return null;
      client.bodyAborts = true;
      break;
    case 'reader-stopped':
      if (!row.download) return null;
      client.stopsReading = true;
      break;
    case 'store-fault':
      faultStores(w);
      break;
    case 'fault-after-first-change':
      // A change stored, then the store fails (a bulk change stopped half-way): the stored change's success entry
      // beside the failure's own (README, *A change's entry is stored with the change*), never only one of them.
      if (base.method === 'GET') return null;
      faultAfterFirstChange(w);
      break;
  }
  if (!call) return null;
  const answer = await send(w, call, client);
  await settle(w);
  if (outcome === 'rate-limited') {
    // Past the first 429: counted, not entered one by one; one of them from elsewhere. The count's entry names the
    // last's address and says the addresses and user agents were not all the same.
    const more = [await send(w, call, { from: { ip: '198.51.100.9', ua: 'curl/8.0' } }), await send(w, call)];
    await flushSuppressedRefusals(w.clock.now(), w.deps);
    const count = w.deps.audit.entries.filter((e) => e.action === 'access.refusals-suppressed');
    const own = more.map((m) => w.deps.audit.entries.filter((e) => e.requestId === m.requestId && e.action !== 'access.refusals-suppressed').length);
    suppressed = { statuses: more.map((m) => m.status), own, details: count.map((e) => `${e.actor.person} ${e.clientIp} ${e.detail ?? ''}`) };
  }
  const entries = w.deps.audit.entries.filter((e) => e.requestId === answer.requestId);
  return { w, s, answer, entries, ...personOfCall(call, s), what: `${call.method} ${call.path}` };
}

/** Every catalog, blob, export and retention port throws from now on (the authenticator's tenant records and the audit log do not). */
function faultStores(w: World): void {
  const d = w.deps;
  for (const port of [d.catalog, d.blobs, d.exportJobs, d.exportBlobs, d.retention.catalog, d.retention.policies, d.retention.disposer] as object[]) {
    const methods = new Set<string>();
    for (let p: object | null = port; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) for (const k of Object.getOwnPropertyNames(p)) methods.add(k);
    for (const m of methods) {
      const fn = (port as Record<string, unknown>)[m];
      if (m === 'constructor' || typeof fn !== 'function') continue;
      if ((fn as { constructor: { name: string } }).constructor.name !== 'AsyncFunction' && !/^(async|\(\.\.\.args\))/.test(String(fn))) continue;
      (port as Record<string, unknown>)[m] = async () => {
        throw Object.assign(new Error('store unavailable'), { code: 'ECONNRESET' });
      };
    }
  }
  // The tenant records' writes too (rights, keys, grants, policies); their reads stay, for the authenticator.
  const records = d.tenantRecords as unknown as Record<string, unknown>;
  for (const m of ['create', 'replace', 'upsert', 'delete', 'batch']) {
    records[m] = async () => {
      throw Object.assign(new Error('store unavailable'), { code: 'ECONNRESET' });
    };
  }
}

/** The catalog's and the tenant records' writes: the first goes through, every later one throws. */
function faultAfterFirstChange(w: World): void {
  let writes = 0;
  const ports: [object, string[]][] = [
    [w.deps.catalog, ['create', 'replace', 'remove', 'claim']],
    [w.deps.retention.catalog, ['replace', 'put', 'set']],
    [w.deps.tenantRecords, ['create', 'replace', 'upsert', 'delete', 'batch']],
  ];
  for (const [port, names] of ports) {
    for (const m of names) {
      const fn = (port as Record<string, unknown>)[m];
      if (typeof fn !== 'function') continue;
      (port as Record<string, unknown>)[m] = async (...args: unknown[]) => {
        if (++writes > 1) throw Object.assign(new Error('store unavailable'), { code: 'ECONNRESET' });
        return (fn as (...a: unknown[]) => Promise<unknown>).apply(port, args);
      };
    }
  }
}

/** The cell's expectation and its check: what broke (an empty list when nothing did). */
function judge(op: TenantOp, row: Row, outcome: Outcome, r: Ran): string[] {
  const found: string[] = [];
  const actions = ACTIONS[op.name] ?? [op.action];
  const { answer, entries } = r;
  const at = `${r.what} (${answer.status} ${answer.json?.code ?? ''})`;
  if (outcome === 'no-credential') {
    if (answer.status !== 401) found.push(`${at}: expected 401`);
    if (entries.length !== 0) found.push(`${at}: ${entries.length} entries for a request no tenant is known for`);
    return found;
  }
  // Past the first 429 the refusals are counted, not entered one by one (README): the first 429 has its entry. An
  // export's worker writes its own entries under the request id that started it (README, POST /exports): not the request's.
  const own = entries.filter((e) => e.action !== 'access.refusals-suppressed' && !(op.name === 'createExport' && e.action !== op.action && e.userAgent === 'export-worker'));
  const expectStatus: Partial<Record<Outcome, number[]>> = {
    success: [200, 201, 202, 204],
    'via-key': [200, 201, 202, 204],
    conflict: [409, 412],
    unprocessable: [422],
    'bad-credential': [401],
    'revoked-key': [401],
    forbidden: [403],
    'not-found': [404],
    'other-tenant': [404],
    support: [200, 403],
    'support-link': [403],
    'bad-input': [400, 422],
    'rate-limited': [429],
    'not-modified': [304],
    range: [206],
    redirect: [303],
    'over-cap': [303],
    replayed: [200, 201, 202],
    'over-cap-range': [303],
    // A client that stops sending is refused, as an interrupted upload is: not the archive failing (500, `failed`).
    'body-aborted': [400],
    'reader-stopped': [200],
  };
  const want = expectStatus[outcome];
  if (want && !want.includes(answer.status)) found.push(`${at}: expected ${want.join('/')}`);
  const successes = own.filter((e) => e.outcome === 'success');
  const others = own.filter((e) => e.outcome !== 'success');
  // Two only where a stored change's success entry sits beside its failure's own (README, *A change's entry is stored with the change*).
  const two = answer.status >= 500 && successes.length === 1 && others.length === 1;
  if (own.length !== 1 && !two) found.push(`${at}: ${own.length} entries (${own.map((e) => `${e.action} ${e.outcome} ${e.status}`).join(', ')}), expected one`);
  for (const e of two ? others : own) found.push(...truthful(r, op, e, e.outcome === 'success' ? actions : [op.action, ...actions]));
  if (outcome === 'support-link' && own[0]?.detail !== 'forbidden:support-no-links') found.push(`${at}: support refused a link: the entry's detail ${own[0]?.detail}`);
  if ((outcome === 'support' || outcome === 'support-link') && (own[0]?.actor as { grantId?: string } | undefined)?.grantId !== r.s.grantId) found.push(`${at}: a support request's entry names grant ${(own[0]?.actor as { grantId?: string } | undefined)?.grantId}, expected ${r.s.grantId}`);
  if (outcome === 'other-tenant') {
    const theirs = r.w.deps.audit.entries.filter((e) => e.tenantId !== TENANT && e.requestId === answer.requestId);
    if (theirs.length > 0) found.push(`${at}: ${theirs.length} entries in the other tenant's log`);
    if (JSON.stringify(answer.json ?? '').includes('globex')) found.push(`${at}: the answer names the other tenant`);
  }
  if (outcome === 'replayed' && !/(^|;)replayed$/.test(own[0]?.detail ?? '')) found.push(`${at}: a replay's entry does not say so (${own[0]?.detail})`);
  if (outcome === 'rate-limited') {
    const seen = suppressed!;
    if (seen.statuses.some((x) => x !== 429) || seen.own.some((n) => n !== 0)) found.push(`${at}: past the first 429: answered ${seen.statuses.join(', ')}, own entries ${seen.own.join(', ')} (expected 429s counted, none of their own)`);
    if (seen.details.length !== 1 || !new RegExp(`^nobody ${IP.replace(/\./g, '\\.')} too_many_refusals:suppressed=2;first=[^;]+;last=[^;]+;mixed=clientIp,userAgent$`).test(seen.details[0]!)) found.push(`${at}: the count's entries ${JSON.stringify(seen.details)}, expected one naming 2 refusals from mixed addresses and user agents`);
  }
  if (row.download && answer.status < 400) {
    const e = own[0];
    const detail = e?.detail ?? '';
    if (!/^sha256=[0-9a-f]{64}/.test(detail)) found.push(`${at}: a download's entry names no SHA-256 (${detail})`);
    if (answer.status === 206 && !detail.includes(';bytes=2-9')) found.push(`${at}: a range's entry names no bytes (${detail})`);
    if (answer.status === 303 && !/;link-until=\d{4}-/.test(detail)) found.push(`${at}: a link's entry names no link-until (${detail})`);
    if (answer.status === 303 && /;link-until=([^;]+)/.exec(detail)?.[1] !== answer.headers['Link-Expires']) found.push(`${at}: the entry's link-until (${detail}) is not the link's expiry ${answer.headers['Link-Expires']}`);
    if (outcome === 'over-cap-range' && !/;bytes=2-\d+;/.test(detail)) found.push(`${at}: a range sent as a link: the entry names no range (${detail})`);
    if (answer.status === 206 && `bytes ${/;bytes=(\d+)-(\d+)/.exec(detail)?.slice(1, 3).join('-')}/` !== (answer.headers['Content-Range'] ?? '').replace(/\d+$/, '')) found.push(`${at}: the entry's range (${detail}) is not the answer's ${answer.headers['Content-Range']}`);
    const sha = /^sha256=([0-9a-f]{64})/.exec(detail)?.[1];
    if (sha && answer.headers.ETag && answer.headers.ETag !== `"${sha}"`) found.push(`${at}: entry names ${sha}, answer's ETag ${answer.headers.ETag}`);
  }
  return found;
}

describe.each(OPS.map((op) => [op.name, op] as const))('%s', (name, op) => {
  const row = ROWS[name];
  it('has a row', () => {
    expect(row).toBeDefined();
  });
  if (!row) return;
  it.each(OUTCOMES.map((o) => [o] as const))('%s: one truthful entry', async (outcome) => {
    const w = world();
    // The limits the README states (the in-memory default is lenient, for the other sweeps).
    w.deps.refusals = new RefusalLimiter({ burst: w.deps.config.ARCHIVE_REFUSAL_BURST, perMinute: w.deps.config.ARCHIVE_REFUSAL_RATE_PER_MINUTE });
    const s = await scene(w);
    const r = await run(op, row, outcome, w, s);
    if (!r) return; // not an outcome this operation can give
    if (process.env.AUDIT_SWEEP_TRACE) process.stdout.write(`${name} ${outcome}: ${r.answer.status} ${r.answer.json?.code ?? ''} | ${r.entries.map((e) => `${e.action} ${e.outcome} ${e.status} ${e.actor.person}${(e.actor as { keyId?: string }).keyId ? '/key' : ''} ${e.target} ${e.detail ?? ''}`).join(' ; ')}\n`);
    expect(judge(op, row, outcome, r)).toEqual([]);
  });
});

test('every row names an operation of the route table', () => {
  const names = new Set(OPS.map((o) => o.name));
  expect(Object.keys(ROWS).filter((n) => !names.has(n))).toEqual([]);
  expect(TENANT).toBe('acme');
});
