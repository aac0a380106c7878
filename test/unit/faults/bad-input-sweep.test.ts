/**
 * Bad input gets a clear 4xx problem+json naming what is wrong, and changes nothing (generated sweep).
 *
 * Rows: every operation of the route table (TABLE, as test/support/in-process.ts routes requests; an operation added
 * without a good call in BASE fails this file), and within it every input slot GENERATED from its definition
 * (shared/http/operation.ts): each path parameter, each query parameter, each body field found by walking its zod
 * schema (objects, arrays, unions, enums, strings, numbers, dates; a byte body's JSON by the schema its handler reads:
 * the upload's metadata, the merge patch of a correction), and the headers it reads (If-Match where the good call
 * sends one, Idempotency-Key, Content-Type; for the upload its bytes and multipart parts; for a download Range,
 * If-Range, If-None-Match).
 * Columns (HOSTILE), each where its slot's kind takes it: missing where required; null; the wrong JSON type; empty;
 * whitespace only; 10 kB (and, once per operation and location, 1 MB) strings; NUL and another C0 control; a lone
 * surrogate (\ud800); a bidi override (U+202E); a non-NFC form; numbers: NaN, 1e309, -0, 2^53+1, negative, fractional;
 * dates: 2023-02-30, year 0 and 10000, no zone, a leap second; an unknown member, `__proto__` and `constructor`
 * members; a query parameter repeated; invalid percent-encoding and an encoded '/' in a path parameter; per JSON body:
 * 10k levels of nesting, a member twice, a BOM, text that is not JSON, the wrong Content-Type; for the upload: bytes
 * that are not what their type claims, zero bytes, a multipart part without a name.
 * Each cell checks: a 4xx (never 5xx; a 2xx only where the value is valid, and then whatever it stored holds the value
 * as sent); Content-Type application/problem+json; the problem names the slot (its parameter, header or member name,
 * in `detail` or `errors`); nothing stored (storedChanges before == after) and, for a tenant operation, the refusal's
 * own audit entry (outcome `refused`, the answer's status); no error log line; the next good request still answered.
 * The principal is the good call's (a tenant admin, or the archivist for uploads and holds): only the input is wrong.
 * BAD_INPUT_TRACE=1 prints every cell's answer.
 *
 * Decided by design (the cells say so, in BY_DESIGN):
 * - a JSON body over 64 KiB (the 1 MB string) is refused 413 payload_too_large before it is parsed: the limit is named,
 *   not the member (no field can be named of a body not read).
 * - a path parameter the schema refuses names a resource that cannot exist: 404 (the operation's paramsError) whose
 *   detail names the parameter.
 * - a Content-Length the upload cannot read (text, NaN, negative, 1e309) is not used: the body is read, bounded by the
 *   limit, whatever it says (a real host's HTTP parser refuses such a header before the archive sees it); one declaring
 *   more than the limit is refused 413 naming the limit before any byte is read.
 * - Range, If-Range and If-None-Match the archive cannot read are ignored (RFC 9110 13.1.2, 14.2): the whole file, 200.
 * - a JSON body starting with a BOM is read without it (RFC 8259 8.1 lets a parser ignore it): stored as sent otherwise.
 * - the upload's bytes sent under another type than theirs: archived as what the bytes are (sniffed, shared/normalise),
 *   never as the claim (a PNG sent as application/pdf is an image/png original); bytes nothing reads are refused 422 by
 *   the real normaliser (the in-memory one does not decode).
 * - JSON null for a member of a correction removes it (RFC 7396 merge patch); `metadata=null` on the upload is no metadata.
 * - a date/instant in year 0000 is one the archive keeps (0000-9999): a filter or approval `before` it is valid, matching
 *   nothing; an instant is stored as the archive stores instants (UTC, milliseconds).
 * - text a schema takes is stored in NFC (kernel/text.ts shownText): a non-NFC form is stored composed. Ids and subjects
 *   (opaque, compared exactly) are not normalised.
 * - a documentIds entry that names no document (whitespace, any text up to 64) is approved as asked and answered as
 *   skipped; a path id that names none is its operation's 404.
 * - an optional member sent as missing is the good call; an optional member sent empty/whitespace where its schema
 *   allows any text is valid and stored as sent.
 */
import { z } from 'zod';
import type { Operation } from '../../../shared/http/operation';
import { ZDocumentMetadata } from '../../../shared/kernel/document';
import { shownText } from '../../../shared/kernel/text';
import type { RecordingLogger } from '../../support/in-memory';
import type { InMemoryExportJobs } from '../../support/in-memory';
import { ADMIN, type Answer, type Call, delivering, exportCompleted, ok, send, settle, storedChanges, TABLE, validationWorker, world, type World } from '../../support/in-process';

const OPS: Operation[] = [...new Map(TABLE.map((r) => [r.route.name, r.route])).values()];

// ---- The scene every row starts from ----

interface Scene {
  doc: string;
  doc2: string;
  keyId: string;
}
const png = () => Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${Math.random()} ${'x'.repeat(200)}`)]);
const uploadCall = (meta: object = { counterparty: 'ACME GmbH', fiscalYear: 2024 }): Call => ({ method: 'POST', path: `documents?metadata=${encodeURIComponent(JSON.stringify(meta))}`, raw: { bytes: png(), type: 'image/png' }, as: 'up' });
const inDays = (w: World, d: number) => new Date(w.clock.now().getTime() + d * 86400_000).toISOString();
async function etagOf(w: World, path: string): Promise<string> {
  return (await ok(w, { method: 'GET', path, as: 'carol' })).headers.ETag!;
}
async function scene(w: World): Promise<Scene> {
  const doc = (await ok(w, uploadCall(), 201)).json.id as string;
  const doc2 = (await ok(w, uploadCall(), 201)).json.id as string;
  const minted = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'sweep', rightsSet: 'tenant-admin', expiresAt: inDays(w, 30) }, as: 'alice' }, 201);
  return { doc, doc2, keyId: minted.json.id as string };
}
async function proposeSodWeakening(w: World): Promise<string> {
  // A cell's valid body approved the last one: the stronger policy back first (a strengthening applies at once).
  const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
  if (read.json.conflicts.length === 0) await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [['holds:place', 'audit:read']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' }, 200);
  return (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') }, as: 'carol' }, 202)).json.id as string;
}
async function proposeRetentionLowering(w: World): Promise<string> {
  // The records managers' rights once: rights given after a proposal would make its approval a SoD refusal.
  if ((await send(w, { method: 'GET', path: 'rights-sets', as: 'carol' })).json.items.every((r: { name: string }) => r.name !== 'records')) {
    await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ADMIN.filter((p) => p !== 'retention:approve') }, as: 'carol' });
    for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
    w.clock.advance(60_000);
  }
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
  let etag = read.headers.ETag!;
  if (policy.requireDisposalApproval !== true) etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200)).headers.ETag!;
  return (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as: 'rm1' }, 202)).json.id as string;
}

/** One completed export per world (its worker done: nothing changes under a cell). */
const exportOf = new WeakMap<World, string>();
async function exported(w: World): Promise<string> {
  if (!exportOf.has(w)) {
    const id = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: false }, as: 'carol' }, 202)).json.id as string;
    await exportCompleted(w, id);
    exportOf.set(w, id);
  }
  return exportOf.get(w)!;
}
/** Until no export's worker runs (an export a valid cell started): the state before and after a cell is the request's only. */
async function quiet(w: World): Promise<void> {
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  for (const job of [...jobs.values()]) if (job.status === 'running') await exportCompleted(w, job.id).catch(() => undefined);
  await settle(w);
}

/** Each operation's good call (it succeeds): a cell changes one slot of it. */
const BASE: Record<string, (w: World, s: Scene) => Promise<Call>> = {
  health: async () => ({ method: 'GET', path: 'health' }),
  healthReady: async () => ({ method: 'GET', path: 'health/ready' }),
  openApi: async () => ({ method: 'GET', path: 'openapi.json' }),
  createApiKey: async (w) => ({ method: 'POST', path: 'api-keys', body: { name: 'k2', rightsSet: 'tenant-admin', expiresAt: inDays(w, 30) } }),
  listApiKeys: async () => ({ method: 'GET', path: 'api-keys' }),
  revokeApiKey: async (_w, s) => ({ method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' }),
  listRightsSets: async () => ({ method: 'GET', path: 'rights-sets' }),
  putRightsSet: async () => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['documents:read'] } }),
  deleteRightsSet: async (w) => {
    await ok(w, { method: 'PUT', path: 'rights-sets/gone', body: { permissions: ['documents:read'] }, as: 'carol' });
    return { method: 'DELETE', path: 'rights-sets/gone' };
  },
  listRightsAssignments: async () => ({ method: 'GET', path: 'rights-assignments' }),
  putRightsAssignment: async () => ({ method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 'auditor' } }),
  deleteRightsAssignment: async (w) => {
    await ok(w, { method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 'auditor' }, as: 'carol' });
    return { method: 'DELETE', path: 'rights-assignments/dave' };
  },
  readSodPolicy: async () => ({ method: 'GET', path: 'sod-policy' }),
  putSodPolicy: async (w) => ({ method: 'PUT', path: 'sod-policy', body: { conflicts: [['holds:place', 'audit:read']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': await etagOf(w, 'sod-policy') } }),
  listSodPolicyProposals: async () => ({ method: 'GET', path: 'sod-policy/proposals' }),
  readSodPolicyProposal: async (w) => ({ method: 'GET', path: `sod-policy/proposals/${await proposeSodWeakening(w)}`, as: 'bob' }),
  approveSodPolicyProposal: async (w) => ({ method: 'POST', path: `sod-policy/proposals/${await proposeSodWeakening(w)}/approve`, body: { reason: 'Agreed' }, as: 'bob' }),
  withdrawSodPolicyProposal: async (w) => ({ method: 'DELETE', path: `sod-policy/proposals/${await proposeSodWeakening(w)}`, as: 'carol' }),
  createSupportGrant: async (w) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'metadata-only', expiresAt: inDays(w, 5) } }),
  listSupportGrants: async () => ({ method: 'GET', path: 'support-grants' }),
  revokeSupportGrant: async (w) => {
    const g = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-2', scope: 'metadata-only', expiresAt: inDays(w, 5) }, as: 'carol' });
    return { method: 'DELETE', path: `support-grants/${g.json.id as string}` };
  },
  listAudit: async () => ({ method: 'GET', path: 'audit?limit=5' }),
  verifyAudit: async (w) => ({ method: 'GET', path: `audit/verify?month=${w.clock.now().toISOString().slice(0, 7)}` }),
  uploadDocument: async () => uploadCall({ counterparty: 'Other AG', fiscalYear: 2024, amount: 12.5, currency: 'EUR' }),
  listDocuments: async () => ({ method: 'GET', path: 'documents' }),
  getDocument: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}` }),
  correctDocumentMetadata: async (w, s) => ({ method: 'PATCH', path: `documents/${s.doc}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-2', amount: 7, currency: 'EUR' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': await etagOf(w, `documents/${s.doc}`) }, as: 'up' }),
  getDocumentMetadataHistory: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/metadata/history` }),
  downloadOriginal: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/original` }),
  downloadOriginalPart: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/originals/1` }),
  downloadRendition: async (_w, s) => ({ method: 'GET', path: `documents/${s.doc}/rendition` }),
  downloadValidationReport: async (w, s) => {
    if (w.deps.validationQueue.messages.length > 0) {
      delivering(w);
      await (validationWorker as { run: (w: World) => Promise<unknown> }).run(w);
      w.deps.validationQueue.messages.length = 0;
    }
    return { method: 'GET', path: `documents/${s.doc}/validation` };
  },
  createExport: async () => ({ method: 'POST', path: 'exports', body: { includeOriginals: false } }),
  getExport: async (w) => ({ method: 'GET', path: `exports/${await exported(w)}` }),
  listExports: async () => ({ method: 'GET', path: 'exports' }),
  downloadExport: async (w) => ({ method: 'GET', path: `exports/${await exported(w)}/download` }),
  placeLegalHold: async (_w, s) => ({ method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }),
  placeLegalHoldsByQuery: async () => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: 'C-2', query: { counterparty: 'ACME GmbH' } }, as: 'up' }),
  releaseLegalHold: async (w, s) => {
    const h = await ok(w, { method: 'POST', path: `documents/${s.doc2}/legal-holds`, body: { reason: 'Audit', caseReference: `C-${w.seq}` }, as: 'up' });
    return { method: 'DELETE', path: `documents/${s.doc2}/legal-holds/${h.json.id as string}`, body: { reason: 'Closed' }, as: 'bob' };
  },
  releaseLegalHoldEverywhere: async (w) => {
    const h = await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Dispute', caseReference: `C-${w.seq}`, query: { counterparty: 'ACME GmbH' } }, as: 'up' });
    return { method: 'DELETE', path: `legal-holds/${h.json.holdId as string}`, body: { reason: 'Settled' }, as: 'bob' };
  },
  listLegalHolds: async () => ({ method: 'GET', path: 'legal-holds?status=open' }),
  listLegalHoldsByQuery: async () => ({ method: 'GET', path: 'legal-holds/by-query' }),
  getRetentionPolicy: async () => ({ method: 'GET', path: 'retention/policy' }),
  putRetentionPolicy: async (w) => {
    const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
    const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
    return { method: 'PUT', path: 'retention/policy', body: { ...policy, classes: [{ name: 'contracts-12y', years: 12, description: 'Contracts' }] }, headers: { 'If-Match': read.headers.ETag! } };
  },
  listRetentionPolicyProposals: async () => ({ method: 'GET', path: 'retention/policy/proposals' }),
  readRetentionPolicyProposal: async (w) => ({ method: 'GET', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}`, as: 'rm2' }),
  approveRetentionPolicyProposal: async (w) => ({ method: 'POST', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}/approve`, body: { reason: 'Agreed' }, as: 'rm2' }),
  withdrawRetentionPolicyProposal: async (w) => ({ method: 'DELETE', path: `retention/policy/proposals/${await proposeRetentionLowering(w)}`, as: 'rm1' }),
  extendRetention: async (_w, s) => ({ method: 'POST', path: `documents/${s.doc}/retention`, body: { retainUntil: '2090-12-31', reason: 'Litigation' }, as: 'up' }),
  listRetentionDue: async (w) => ({ method: 'GET', path: `retention/due?before=${inDays(w, 30)}` }),
  approveDisposal: async (w) => ({ method: 'POST', path: 'retention/approvals', body: { before: inDays(w, 30), reason: 'Annual review' }, as: 'bob' }),
};

/** The JSON a byte body's handler reads, by the schema it reads it with. */
const STREAM_JSON: Record<string, z.ZodType> = {
  correctDocumentMetadata: z.object({ reason: shownText('prose', 500), ...(ZDocumentMetadata as unknown as z.ZodObject).shape }),
};
/** The upload's metadata (query `metadata`, URL-encoded JSON): its members are slots of their own. */
const UPLOAD_METADATA = ZDocumentMetadata as unknown as z.ZodType;

// ---- Slots, generated from the schemas ----

type Where = 'path' | 'query' | 'body' | 'metadata' | 'header' | 'bytes';
type Kind = 'string' | 'date' | 'number' | 'boolean' | 'enum' | 'array' | 'object' | 'other';
interface Slot {
  where: Where;
  /** The parameter or header name, or the member's path (segments) in the JSON. */
  name: string;
  path: (string | number)[];
  kind: Kind;
  required: boolean;
}

const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Record<string, unknown> & { type: string } } })._zod.def;
function unwrap(s: z.ZodType): z.ZodType {
  for (;;) {
    const d = defOf(s);
    if (d.type === 'optional' || d.type === 'nullable' || d.type === 'default' || d.type === 'prefault' || d.type === 'readonly' || d.type === 'catch') s = d.innerType as z.ZodType;
    else if (d.type === 'pipe') s = d.in as z.ZodType;
    else return s;
  }
}
function kindOf(s: z.ZodType, name: string): Kind {
  const u = unwrap(s);
  const d = defOf(u);
  const meta = z.globalRegistry.get(u) as { format?: string } | undefined;
  const format = (u as unknown as { format?: string }).format ?? meta?.format;
  if (d.type === 'string') return format && /date/.test(format) ? 'date' : /(At|Until|before|Date|month)$/.test(name) ? 'date' : 'string';
  if (d.type === 'number' || d.type === 'int' || d.type === 'bigint') return 'number';
  if (d.type === 'boolean') return 'boolean';
  if (d.type === 'enum' || d.type === 'literal') return 'enum';
  if (d.type === 'array' || d.type === 'tuple') return 'array';
  if (d.type === 'object') return 'object';
  if (d.type === 'union') return kindOf((d.options as z.ZodType[])[0]!, name);
  return 'other';
}
const requiredIn = (s: z.ZodType) => !s.safeParse(undefined).success;

/** Every member of a JSON schema, depth first (an array's element as index 0), at most 3 levels down. */
function members(schema: z.ZodType, where: Where, at: (string | number)[] = [], depth = 0): Slot[] {
  const u = unwrap(schema);
  const d = defOf(u);
  const out: Slot[] = [];
  if (depth > 3) return out;
  if (d.type === 'object') {
    for (const [k, v] of Object.entries(d.shape as Record<string, z.ZodType>)) {
      const path = [...at, k];
      out.push({ where, name: path.join('.'), path, kind: kindOf(v, k), required: requiredIn(v) });
      out.push(...members(v, where, path, depth + 1));
    }
  } else if (d.type === 'array') {
    const path = [...at, 0];
    const el = d.element as z.ZodType;
    out.push({ where, name: path.join('.'), path, kind: kindOf(el, String(at.at(-1) ?? '')), required: true });
    out.push(...members(el, where, path, depth + 1));
  }
  return out;
}

function slotsOf(op: Operation): Slot[] {
  const out: Slot[] = [];
  const shape = (s: z.ZodType | undefined) => (s ? ((defOf(unwrap(s)).shape ?? {}) as Record<string, z.ZodType>) : {});
  for (const [k, v] of Object.entries(shape(op.params))) out.push({ where: 'path', name: k, path: [k], kind: kindOf(v, k), required: true });
  for (const [k, v] of Object.entries(shape(op.query))) out.push({ where: 'query', name: k, path: [k], kind: kindOf(v, k), required: requiredIn(v) });
  const json = op.body && 'json' in op.body ? op.body.json : STREAM_JSON[op.name];
  if (json) out.push({ where: 'body', name: 'body', path: [], kind: 'object', required: true }, ...members(json, 'body'));
  if (op.name === 'uploadDocument') out.push({ where: 'metadata', name: 'metadata', path: [], kind: 'object', required: false }, ...members(UPLOAD_METADATA, 'metadata'), { where: 'bytes', name: 'file', path: [], kind: 'other', required: true });
  // Read by the operations that recognise retries; refused by every other (a retry it would not recognise).
  out.push({ where: 'header', name: 'Idempotency-Key', path: [], kind: 'string', required: false });
  if (HEADERS[op.name]) for (const h of HEADERS[op.name]!) out.push({ where: 'header', name: h, path: [], kind: h === 'Content-Length' ? 'number' : 'string', required: h === 'If-Match' && !DOWNLOAD_HEADERS.includes(h) });
  return out;
}

/** The headers an operation reads besides Idempotency-Key. */
const DOWNLOAD_HEADERS = ['Range', 'If-Range', 'If-None-Match', 'If-Match'];
const HEADERS: Record<string, string[]> = {
  putSodPolicy: ['If-Match'],
  putRetentionPolicy: ['If-Match'],
  correctDocumentMetadata: ['If-Match', 'Content-Type'],
  uploadDocument: ['Content-Type', 'Content-Length'],
  downloadOriginal: DOWNLOAD_HEADERS,
  downloadOriginalPart: DOWNLOAD_HEADERS,
  downloadRendition: DOWNLOAD_HEADERS,
  downloadValidationReport: DOWNLOAD_HEADERS,
  downloadExport: DOWNLOAD_HEADERS,
};

// ---- Columns ----

/** A hostile value: as JSON text (spliced into a body as it is: 1e309, \ud800), and as text (path, query, header). */
interface Hostile {
  json?: string;
  text?: string;
  kinds?: Kind[];
}
const STRINGY: Kind[] = ['string', 'date', 'enum'];
const str = (v: string, kinds: Kind[] = STRINGY): Hostile => ({ json: JSON.stringify(v), text: v, kinds });
const HOSTILE = {
  missing: {},
  null: { json: 'null' },
  'wrong-type': {},
  empty: str(''),
  whitespace: str('   '),
  '10kB': str('x'.repeat(10_000)),
  '1MB': str('x'.repeat(1 << 20)),
  NUL: str('a\u0000b'),
  C0: str('a\u001bb'),
  'lone-surrogate': { json: '"a\\ud800b"', text: 'a\ud800b', kinds: STRINGY },
  bidi: str('abc\u202Edef'),
  'non-NFC': str('Cafe\u0301'),
  NaN: str('NaN', ['number']),
  '1e309': { json: '1e309', text: '1e309', kinds: ['number'] },
  '-0': { json: '-0', text: '-0', kinds: ['number'] },
  '2^53+1': { json: '9007199254740993', text: '9007199254740993', kinds: ['number'] },
  negative: { json: '-1', text: '-1', kinds: ['number'] },
  fractional: { json: '1.5', text: '1.5', kinds: ['number'] },
  '2023-02-30': str('2023-02-30T00:00:00Z', ['date']),
  'year-0': str('0000-01-01T00:00:00Z', ['date']),
  'year-10000': str('+010000-01-01T00:00:00Z', ['date']),
  'no-zone': str('2030-01-01T00:00:00', ['date']),
  'leap-second': str('2030-06-30T23:59:60Z', ['date']),
  'unknown-member': {},
  __proto__: {},
  constructor: {},
  repeated: {},
  'bad-percent': {},
  'encoded-slash': {},
  'deep-nesting': {},
  'duplicate-member': {},
  BOM: {},
  'not-json': {},
  'wrong-content-type': {},
  'type-mismatch': {},
  'zero-bytes': {},
  'part-without-name': {},
} satisfies Record<string, Hostile>;
type Column = keyof typeof HOSTILE;
const COLUMNS = Object.keys(HOSTILE) as Column[];

/** Columns that are about a whole JSON body (or object), an upload's bytes, a query or a path. */
const OBJECT_COLUMNS: Column[] = ['unknown-member', '__proto__', 'constructor'];
const BODY_COLUMNS: Column[] = ['deep-nesting', 'duplicate-member', 'BOM', 'not-json', 'wrong-content-type', '1MB'];
const BYTES_COLUMNS: Column[] = ['type-mismatch', 'zero-bytes', 'part-without-name'];

/** Does the column apply to the slot? (The big strings: 1 MB once per operation and location, 10 kB per string slot.) */
function applies(slot: Slot, column: Column, first: boolean): boolean {
  if (slot.where === 'bytes') return BYTES_COLUMNS.includes(column);
  if (BYTES_COLUMNS.includes(column)) return false;
  if (slot.kind === 'object' && slot.path.length === 0) {
    if (slot.where === 'body') return BODY_COLUMNS.includes(column) || OBJECT_COLUMNS.includes(column) || (column === 'null' || column === 'wrong-type');
    return OBJECT_COLUMNS.includes(column) || column === 'not-json' || column === 'deep-nesting' || column === 'duplicate-member' || column === 'null';
  }
  if (BODY_COLUMNS.includes(column) && column !== '1MB') return false;
  if (column === '1MB') return first && slot.where !== 'body' && slot.where !== 'metadata';
  if (column === 'missing') return slot.required && slot.where !== 'path';
  if (column === 'repeated') return slot.where === 'query';
  if (column === 'bad-percent') return slot.where === 'path' || slot.where === 'query';
  if (column === 'encoded-slash') return slot.where === 'path';
  // By design: an empty path segment is another path, which no route has (the host answers 404 route_not_found).
  if (column === 'empty' && slot.where === 'path') return false;
  if (OBJECT_COLUMNS.includes(column)) return slot.kind === 'object';
  if (slot.where === 'path' || slot.where === 'query' || slot.where === 'header') {
    if (column === 'null' || column === 'wrong-type') return false;
    const h = HOSTILE[column] as Hostile;
    return h.text !== undefined && (h.kinds === STRINGY || (h.kinds ?? []).includes(slot.kind));
  }
  if (column === 'null' || column === 'wrong-type') return true;
  const h = HOSTILE[column] as Hostile;
  if (h.json === undefined) return false;
  return (h.kinds ?? []).includes(slot.kind) || (slot.kind === 'number' && column === 'NaN');
}

/** A JSON value of another type than the slot's. */
const wrongType = (kind: Kind) => (kind === 'string' || kind === 'date' || kind === 'enum' ? '12345' : kind === 'number' ? '"12"' : kind === 'boolean' ? '"yes"' : kind === 'array' ? '{}' : kind === 'object' ? '[]' : 'true');

const SENTINEL = '__bad_input_slot__';
function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const base: Record<string | number, unknown> = typeof head === 'number' ? (Array.isArray(root) ? [...root] : []) as never : root && typeof root === 'object' && !Array.isArray(root) ? { ...(root) } : {};
  if (value === undefined && rest.length === 0) {
    delete base[head!];
    return base;
  }
  base[head!] = setAt(base[head!], rest, value);
  return base;
}
/** The JSON text of `doc` with the slot's member replaced by `json` (undefined: removed). */
function spliced(doc: unknown, path: (string | number)[], json: string | undefined): string {
  if (json === undefined) return JSON.stringify(setAt(doc, path, undefined));
  return JSON.stringify(setAt(doc, path, SENTINEL)).replace(JSON.stringify(SENTINEL), json);
}
/** The JSON text of the object at `path` with an extra member. */
function withMember(doc: unknown, path: (string | number)[], member: string): string {
  const obj = path.length === 0 ? doc : path.reduce<unknown>((o, k) => (o as Record<string | number, unknown>)?.[k], doc);
  const inner = JSON.stringify(obj && typeof obj === 'object' && !Array.isArray(obj) ? obj : {});
  const text = `{${JSON.stringify(member)}:{"polluted":true}${inner === '{}' ? '' : `,${inner.slice(1, -1)}`}}`;
  return path.length === 0 ? text : spliced(doc, path, text);
}
const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;

// ---- One cell ----

interface Built {
  call: Call;
  /** The member (or parameter/header) the answer must name. */
  names: string[];
}

function jsonOfCall(call: Call): unknown {
  if (call.raw) return JSON.parse(call.raw.bytes.toString('utf8'));
  return call.body ?? {};
}

function build(op: Operation, slot: Slot, column: Column, base: Call): Built | null {
  const h = HOSTILE[column] as Hostile;
  const leaf = String(slot.path.at(-1) ?? slot.name);
  // The member, or the array or object holding it (an array emptied is named by itself).
  const names = [slot.name, ...slot.path.map((_, i) => slot.path.slice(0, i + 1).join('.')).filter((n) => !/^\d+$/.test(n))];
  if (!/^\d+$/.test(leaf)) names.push(leaf);
  const url = new URL(`http://x/${base.path}`);
  if (slot.where === 'path') {
    // The good path's segment that the template names `{name}`.
    const template = op.route.split('/');
    const segments = url.pathname.slice(1).split('/');
    const i = template.indexOf(`{${slot.name}}`);
    if (i < 0) return null;
    const value = column === 'bad-percent' ? '%E0%A4%A' : column === 'encoded-slash' ? `${segments[i]}%2F..` : column === 'lone-surrogate' ? 'a%ED%A0%80b' : encodeURIComponent(h.text!);
    segments[i] = value;
    return { call: { ...base, path: `${segments.join('/')}${url.search}` }, names };
  }
  if (slot.where === 'query') {
    const q = new URLSearchParams(url.search);
    let search: string;
    if (column === 'missing') {
      q.delete(slot.name);
      search = q.toString();
    } else if (column === 'repeated') {
      const v = q.get(slot.name) ?? 'x';
      search = `${q.toString()}${q.toString() ? '&' : ''}${slot.name}=${encodeURIComponent(v)}${q.has(slot.name) ? '' : `&${slot.name}=${encodeURIComponent(v)}`}`;
    } else if (column === 'bad-percent') {
      q.delete(slot.name);
      search = `${q.toString()}${q.toString() ? '&' : ''}${slot.name}=%E0%A4%A`;
    } else if (column === 'lone-surrogate') {
      q.delete(slot.name);
      search = `${q.toString()}${q.toString() ? '&' : ''}${slot.name}=a%ED%A0%80b`;
    } else {
      q.set(slot.name, h.text!);
      search = q.toString();
    }
    return { call: { ...base, path: `${url.pathname.slice(1)}${search ? `?${search}` : ''}` }, names };
  }
  if (slot.where === 'header') {
    if (column === 'missing') {
      const { [slot.name]: _gone, ...headers } = base.headers ?? {};
      return { call: { ...base, headers }, names: [slot.name] };
    }
    if (/surrogate/.test(column)) return null; // a header is bytes: no lone surrogate
    if (slot.name === 'Content-Type') return { call: base.raw ? { ...base, raw: { ...base.raw, type: h.text! } } : { ...base, headers: { ...base.headers, 'Content-Type': h.text! } }, names: [slot.name, 'Content-Type', 'media type', 'application/'] };
    // A declared size above the limit is refused 413 naming the limit (by design: it is about the body's size).
    return { call: { ...base, headers: { ...base.headers, [slot.name]: h.text! } }, names: slot.name === 'Content-Length' ? [slot.name, 'limit'] : [slot.name] };
  }
  if (slot.where === 'bytes') {
    // A PNG's bytes sent as a PDF: refused, or archived as what the bytes are (the claim is never stored).
    if (column === 'type-mismatch') return { call: { ...base, raw: { bytes: png(), type: 'application/pdf' } }, names: ['file', 'application/pdf', 'type', 'PNG', 'png'] };
    if (column === 'zero-bytes') return { call: { ...base, raw: { bytes: Buffer.alloc(0), type: 'image/png' } }, names: ['file', 'empty', 'body'] };
    const boundary = 'b0undary';
    const bytes = Buffer.concat([Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; filename="a.png"\r\nContent-Type: image/png\r\n\r\n`), png(), Buffer.from(`\r\n--${boundary}--\r\n`)]);
    return { call: { ...base, path: 'documents', raw: { bytes, type: `multipart/form-data; boundary=${boundary}` } }, names: ['name', 'part'] };
  }
  // A JSON document: the body, a byte body's JSON, or the upload's metadata.
  const doc = slot.where === 'metadata' ? JSON.parse(url.searchParams.get('metadata') ?? '{}') : jsonOfCall(base);
  let text: string;
  let type: string | undefined;
  switch (column) {
    case 'missing':
      text = spliced(doc, slot.path, undefined);
      break;
    case 'wrong-type':
      text = spliced(doc, slot.path, wrongType(slot.kind));
      break;
    case 'unknown-member':
      text = withMember(doc, slot.path, 'unknownExtra');
      names.push('unknownExtra');
      break;
    case '__proto__':
    case 'constructor':
      text = withMember(doc, slot.path, column);
      names.push(column);
      break;
    case 'deep-nesting':
      text = spliced(doc, slot.path.length ? slot.path : ['deep'], deep(10_000));
      names.push('JSON', 'deep', 'nest');
      break;
    case 'duplicate-member': {
      const t = JSON.stringify(doc);
      const first = Object.keys(doc as object)[0] ?? 'x';
      // The first time with another value: which one was meant cannot be told.
      text = t === '{}' ? '{"x":1,"x":2}' : `{${JSON.stringify(first)}:${JSON.stringify(`${JSON.stringify((doc as Record<string, unknown>)[first] ?? 1)} twice`)},${t.slice(1)}`;
      names.push(first);
      break;
    }
    case 'BOM':
      text = `\uFEFF${JSON.stringify(doc)}`;
      names.push('JSON', 'BOM', 'U+FEFF');
      break;
    case 'not-json':
      text = 'this is not JSON';
      names.push('JSON');
      break;
    case 'wrong-content-type':
      text = JSON.stringify(doc);
      type = 'text/plain';
      names.push('application/json', 'media type', 'Content-Type', 'application/merge-patch+json');
      break;
    case '1MB':
      text = spliced(doc, ['big'], JSON.stringify('x'.repeat(1 << 20)));
      names.push('bytes', 'limit', 'large');
      break;
    default:
      text = spliced(doc, slot.path, h.json);
  }
  if (slot.where === 'metadata') {
    const q = new URLSearchParams(url.search);
    q.set('metadata', text);
    return { call: { ...base, path: `${url.pathname.slice(1)}?${q.toString()}` }, names: [...names, ...names.map((n) => `metadata.${n}`)] };
  }
  const contentType = type ?? base.raw?.type ?? 'application/json';
  return { call: { ...base, body: undefined, raw: { bytes: Buffer.from(text, 'utf8'), type: contentType } }, names };
}

// ---- Judging ----

/**
 * The stated normalisations a valid value may be stored under: text shown to people in NFC, trimmed (kernel/text.ts
 * shownText); an instant as the archive stores instants (UTC, milliseconds: kernel/search.ts `since`).
 */
function storedAsSent(stored: string, sent: string): boolean {
  const forms = [sent, sent.normalize('NFC'), sent.normalize('NFC').trim()];
  const at = Date.parse(sent);
  if (!Number.isNaN(at) && /^[+-]?\d{4,6}-\d{2}-\d{2}/.test(sent)) forms.push(new Date(at).toISOString());
  return forms.some((f) => stored.includes(JSON.stringify(f).slice(1, -1)));
}

/** Cells where the answer may be a 2xx: the value is valid for the slot. Stored values must then hold it as sent. */
function judge(op: Operation, slot: Slot, column: Column, built: Built, answer: Answer, before: string, after: string, errors: string[], w: World, alive: Answer): string[] {
  const found: string[] = [];
  const at = `${slot.where} ${slot.name} × ${column}: ${answer.status} ${answer.json?.code ?? ''} ${String(answer.json?.detail ?? '').slice(0, 160)}`;
  if (answer.status >= 500) found.push(`${at}: a 5xx for a client's mistake`);
  if (errors.length > 0) found.push(`${at}: error log lines ${errors.join(' | ').slice(0, 300)}`);
  if (alive.status >= 500 || alive.status === 0) found.push(`${at}: the next good request answered ${alive.status}`);
  // Never valid text anywhere the archive reads text (headers aside: a Range or validator it cannot read is ignored, RFC 9110).
  if (answer.status < 400 && slot.where !== 'header' && ['NUL', 'C0', 'bidi', 'lone-surrogate', 'bad-percent', 'duplicate-member'].includes(column)) found.push(`${at}: accepted`);
  if (answer.status < 400 && slot.where === 'path' && column === 'whitespace' && before !== after) found.push(`${at}: accepted, stored under a blank name`);
  const original = answer.status < 400 && column === 'type-mismatch' ? w.deps.catalog.documents.get(`acme/${answer.json?.id as string}`)?.original.mediaType : undefined;
  if (original !== undefined && original !== 'image/png') found.push(`${at}: archived a PNG's bytes as ${original}`);
  if (answer.status < 400) {
    // Valid after all: whatever it stored holds the value as it was sent (a string member's JSON text verbatim).
    const h = HOSTILE[column] as Hostile;
    // A number as sent (-0 is 0: JSON has one zero); 2^53+1 read as 2^53 is another number, silently.
    if (before !== after && slot.kind === 'number' && slot.where !== 'header' && h.json !== undefined && /^-?\d/.test(h.json) && h.json !== '-0' && !new RegExp(`[:\\[,]${h.json.replace(/[.+-]/g, '\\$&')}[,}\\]]`).test(after)) found.push(`${at}: accepted and stored, but not as sent (${h.json})`);
    if (before !== after && h.text !== undefined && h.json?.startsWith('"') && slot.where !== 'path' && slot.where !== 'header' && !storedAsSent(after, h.text)) found.push(`${at}: accepted and stored, but not as sent (${h.json.slice(0, 40)})`);
    return found;
  }
  if (answer.status >= 400 && answer.status < 500) {
    if (!/^application\/problem\+json/.test(answer.headers['Content-Type'] ?? '')) found.push(`${at}: Content-Type ${answer.headers['Content-Type']}`);
    if (before !== after) found.push(`${at}: a refusal stored a change`);
    const said = JSON.stringify([answer.json?.detail ?? '', answer.json?.errors ?? []]).toLowerCase();
    // By design: a path parameter names a resource; one its schema takes but no resource has is not found (404, the
    // operation's own not-found code), as any made-up id is: the refusal names what was not found, not a field.
    const notFound = slot.where === 'path' && answer.status === 404 && /_not_found$/.test(String(answer.json?.code));
    if (!notFound && !built.names.some((n) => said.includes(n.toLowerCase()))) found.push(`${at}: the problem names none of ${built.names.join(', ')}`);
    if (op.auth === 'tenant') {
      const entries = w.deps.audit.entries.filter((e) => e.requestId === answer.requestId);
      if (!entries.some((e) => e.outcome === 'refused' && e.status === answer.status)) found.push(`${at}: no refused entry with status ${answer.status} (${entries.map((e) => `${e.outcome} ${e.status}`).join(', ')})`);
    }
  }
  return found;
}

// ---- The sweep ----

const SLOTS = OPS.map((op) => [op.name, op, slotsOf(op)] as const);
let cells = 0;

describe.each(SLOTS)('%s', (name, op, slots) => {
  const base = BASE[name];
  it('has a good call', () => {
    expect(base).toBeDefined();
  });
  if (!base) return;
  let w: World;
  let s: Scene;
  beforeAll(async () => {
    w = world();
    s = await scene(w);
  });
  const seen = new Set<string>();
  const rows: [string, Slot, Column][] = [];
  for (const slot of slots) {
    for (const column of COLUMNS) {
      const firstOfKind = !seen.has(`${slot.where}:${column}`);
      if (!applies(slot, column, firstOfKind)) continue;
      seen.add(`${slot.where}:${column}`);
      rows.push([`${slot.where} ${slot.name} × ${column}`, slot, column]);
    }
  }
  if (rows.length === 0) return;
  it.each(rows)('%s', async (_label, slot, column) => {
    const good = await base(w, s);
    await quiet(w);
    const built = build(op, slot, column, good);
    if (!built) return;
    cells++;
    const before = storedChanges(w);
    const lines = (w.deps.log as RecordingLogger).lines.length;
    const answer = await send(w, built.call);
    await quiet(w);
    const after = storedChanges(w);
    const errors = (w.deps.log as RecordingLogger).lines.slice(lines).filter((l) => l.level === 'error').map((l) => `${l.message} ${JSON.stringify(l.fields ?? {}).slice(0, 200)}`);
    const alive = await send(w, { method: 'GET', path: `documents/${s.doc}`, as: 'carol' });
    if (process.env.BAD_INPUT_TRACE) process.stdout.write(`${name} ${_label}: ${answer.status} ${answer.json?.code ?? ''} ${String(answer.json?.detail ?? '').slice(0, 120)}\n`);
    expect(judge(op, slot, column, built, answer, before, after, errors, w, alive)).toEqual([]);
  });
});

test('every good call names an operation of the route table; the sweep ran cells', () => {
  const names = new Set(OPS.map((o) => o.name));
  expect(Object.keys(BASE).filter((n) => !names.has(n))).toEqual([]);
  expect(cells).toBeGreaterThan(0);
});
