/**
 * Hostile values on every operation, generated from the route table: every path parameter, every query parameter
 * an operation declares, the headers the pipeline and handlers read, and every top-level field of a JSON body get
 * each value of a small list of hostile ones (controls, lone surrogates, bidi overrides, 10,000 characters, numbers
 * no double holds, prototype names, JSON where text is expected, forged page tokens, impossible dates). Bad input is
 * the caller's mistake: never a 500, a 4xx is problem+json with a `code`, every answer is one the operation declares
 * (test/support/contract.ts), and the host is still up at the end. Adding a route, a query parameter or a body
 * example adds its rows.
 */
import { createPrivateKey, type JsonWebKey, sign } from 'node:crypto';
import { ROUTES } from '../../functions/routes';
import { LOCAL_AUDIENCE } from '../../local/oidc';
import { PERMISSIONS } from '../../shared/kernel/principal';
import type { RouteDef } from '../../shared/http/pipeline';
import { checkContract } from '../support/contract';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { seedDocument } from '../support/seed';
import { mapLimit } from '../../shared/kernel/concurrency';

/** A hostile value: `text` as the caller means it; `url`, where given, is sent in a URL as it is (already percent-encoded); `json`, in a JSON body as it is. */
interface Hostile {
  name: string;
  text: string;
  url?: string;
  json?: string;
}

const forgedToken = (inner: unknown, encoding: BufferEncoding) => Buffer.from(JSON.stringify(inner)).toString(encoding);
const HOSTILE: Hostile[] = [
  { name: 'NUL', text: '\u0000' },
  { name: 'C0 controls and DEL', text: 'a\u0001\u0008\u001b[2J\u007fb' },
  { name: 'CR LF', text: 'a\r\nX-Injected: 1' },
  { name: '%00 percent-encoded', text: '%00', url: '%00' },
  { name: 'C0 percent-encoded', text: '%01%1B%7F', url: 'a%01%1B%0D%0A%7Fb' },
  { name: 'U+2028', text: 'a\u2028b' },
  { name: 'lone surrogate', text: '\ud800', url: '%ED%A0%80', json: '"a\\ud800b"' },
  { name: 'RTL override', text: 'invoice\u202efdp.exe' },
  { name: '10,000 characters', text: 'x'.repeat(10_000) },
  // Percent-encoded: a client (and any proxy) resolves bare dot segments before the request is sent.
  { name: 'path traversal', text: '../../x' },
  { name: 'lone percent', text: '%', url: '%' },
  { name: 'bad percent escape', text: '%zz', url: '%zz' },
  { name: 'empty', text: '' },
  { name: 'beyond a double', text: '1e309', json: '1e309' },
  { name: 'huge integer', text: '99999999999999999999999', json: '99999999999999999999999' },
  { name: 'negative', text: '-1', json: '-1' },
  { name: 'NaN', text: 'NaN' },
  { name: '__proto__', text: '__proto__' },
  { name: 'constructor', text: 'constructor' },
  { name: 'JSON object', text: '{"a":1}', json: '{"__proto__":{"polluted":1},"a":"b"}' },
  { name: 'JSON array', text: '["x"]', json: '["x",1,null]' },
  { name: 'null', text: 'null', json: 'null' },
  { name: 'true', text: 'true', json: 'true' },
  { name: 'page token with controls (base64url)', text: forgedToken({ s: 'x', c: '\u0000\n' }, 'base64url') },
  { name: 'page token with controls (base64)', text: forgedToken({ s: 'x'.repeat(22), c: { token: '\u0001' } }, 'base64') },
  { name: 'impossible date', text: '2024-02-30' },
  { name: 'date beyond ECMAScript', text: '+275760-09-14T00:00:00Z' },
  { name: 'year zero', text: '0000-01-01T00:00:00Z' },
  { name: 'the first month', text: '0000-01' },
  { name: 'the last month', text: '9999-12' },
  { name: 'the last day', text: '9999-12-31' },
  { name: 'the last instant', text: '9999-12-31T23:59:59.999Z' },
];

/** Query parameter names every operation is sent once (an operation takes only the ones it declares). */
const HOSTILE_NAMES = HOSTILE.filter((v) => ['NUL', 'lone surrogate', '__proto__', 'constructor', '10,000 characters', 'bad percent escape', 'empty'].includes(v.name));

const inURL = (v: Hostile) => v.url ?? encodeURIComponent(v.text);
const inJSON = (v: Hostile) => v.json ?? JSON.stringify(v.text);
/**
 * As a header value: the UTF-8 bytes, each as the one character a header may carry. One that no HTTP parser lets through
 * (a C0 control, DEL) never reaches the archive: Node's parser answers 400 itself, as Azure's front end does.
 */
function inHeader(v: Hostile): string | null {
  const bytes = Buffer.from(v.text, 'utf8');
  return bytes.some((b) => (b < 0x20 && b !== 0x09) || b === 0x7f) ? null : bytes.toString('latin1');
}

/** Values in a header's own syntax, beside the general ones: ranges no double holds, tags of no version, parameters broken. */
const HEADER_VALUES: Record<string, string[]> = {
  Range: ['bytes=1e309-', 'bytes=-0', 'bytes=0-99999999999999999999999', 'bytes=99999999999999999999999-', 'bytes=9007199254740993-', 'bytes=5-4', 'bytes=0-0,1-1', 'bytes=-99999999999999999999', 'bytes=-', 'items=0-1'],
  'If-Range': ['"x"', 'W/"x"', 'Thu, 01 Jan 1970 00:00:00 GMT', 'Sat, 01 Jan 275760 00:00:00 GMT', '*'],
  'If-None-Match': ['*', 'W/"x", "y"', '"', ','],
  'If-Match': ['*', 'W/"metadata-1"', '"metadata-99999999999"', '"metadata-0"', '"metadata-1", "metadata-2"', '"retention-policy-AA"', '"retention-policy-_____w"', '"sod-policy-AAEC"', '"sod-policy-"', '"rights-set-AAAA"', 'W/"rights-set-x"'],
  'Content-Type': ['application/json; charset=utf-16', 'application/json; charset=latin1', 'application/json;;;', 'multipart/form-data', 'multipart/form-data; boundary=', 'multipart/form-data; boundary="x', 'image/jpeg; x', '*/*', 'application/merge-patch+json; charset=utf-8'],
  'Content-Disposition': ['attachment; filename*=UTF-8\'\'%ED%A0%80', 'attachment; filename*=UTF-8\'\'%00.jpg', 'attachment; filename*=UTF-8\'\'%zz', 'attachment; filename="../../etc/passwd"', 'attachment; filename*=x\'\'a', 'attachment; filename=', 'attachment; filename*=UTF-8\'\'%E2%80%AEgpj.exe'],
  'Archive-Metadata': ['', '=', 'AA', 'bnVsbA', 'W10', '_____w'],
};

/**
 * The User-Agent is only ever kept as text (in the audit entry), on every route alike: of the values that are short
 * plain words or numbers there (`-1`, `NaN`, `true`, `2024-02-30`), one is sent (`__proto__`), the rest are not.
 */
const PLAIN_TEXT = /^(?!__proto__$)[\w.+:"\-[\]{},]{1,40}$/;

/** The query parameters an operation declares (its zod object's keys). */
function queryNames(route: RouteDef): string[] {
  const shape = (route.query as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

const jsonBody = (route: RouteDef) => route.body !== undefined && 'json' in route.body;
const streamTypes = (route: RouteDef) => (route.body && 'stream' in route.body ? route.body.stream : []);
/** Answers bytes of a file (a 206 or a stream declared): reads Range, If-Range and If-None-Match. */
/** The upload (a raw body or multipart with a metadata part); other operations take Idempotency-Key too, with a JSON body. */
const isUpload = (route: RouteDef) => streamTypes(route).includes('multipart/form-data');
const servesBytes = (route: RouteDef) => Object.values(route.responses).some((r) => r.stream) || 206 in route.responses;

/** The headers an operation reads, beyond Authorization. */
function headerNames(route: RouteDef): string[] {
  const names = ['Idempotency-Key', 'User-Agent'];
  if (route.body) names.push('Content-Type');
  if (route.errors.includes('precondition_required')) names.push('If-Match');
  // A rights set's PUT reads either when sent (the web app always sends one), and needs neither.
  if (nameOf(route) === 'PUT rights-sets/{name}') names.push('If-Match', 'If-None-Match');
  if (servesBytes(route)) names.push('Range', 'If-Range', 'If-None-Match');
  if (isUpload(route)) names.push('Content-Disposition', 'Archive-Metadata');
  return names;
}

let archive: TestArchive;
let tenant = '';
let admin = '';
/** Who sends the sweep: another person than the one who seeded, so a four-eyes step (a release, an approval) gets past its SoD check. */
let sweeper = '';
const seeded = { doc: '', keyId: '', grantId: '', holdId: '', exportId: '', proposalId: '', retentionProposalId: '', policy: {} as Record<string, unknown> };
/** A real continuation token of each paged list (a page of one), for forging its store part. */
const realTokens = new Map<string, string>();
/** What a request needs in its query to get past the query check (a row for one of these names replaces it). */
const BASE_QUERY: Record<string, Record<string, string>> = { 'GET legal-holds': { status: 'open' } };
/** The query of a page of one, with what a list requires: the due list asks past the seeded documents' retention. */
const PAGE_QUERY: Record<string, string> = { 'retention/due': '&before=2100-01-01T00:00:00.000Z', 'legal-holds': '&status=open', 'sod-policy/proposals': '&state=all', 'retention/policy/proposals': '&state=all' };
const pageQuery = (route: RouteDef) => `limit=1${PAGE_QUERY[route.route] ?? ''}`;
const upload = corpusFile('img2pdf/normal.jpg');

const json = (method: string, body: unknown): RequestInit & { token: string } => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, token: admin });

beforeAll(async () => {
  // Every refusal here comes from one principal; the refusal limit has its own tests.
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' });
  tenant = newTenant('hostile');
  await seedSodPolicy(archive, tenant, { conflicts: [] });
  await seedRightsSet(archive, tenant, 'everything', PERMISSIONS);
  await seedRightsSet(archive, tenant, 'spare', ['documents:read']);
  admin = await archive.token({ tenant, sub: 'admin', rights: 'everything' });
  sweeper = await archive.token({ tenant, sub: 'sweeper', rights: 'everything' });
  const ok = async (p: Promise<{ status: number; json: any; headers: Headers }>, status: number) => {
    const r = await p;
    if (r.status !== status) throw new Error(`seed: ${r.status} ${JSON.stringify(r.json)}`);
    return r;
  };
  const url = archive.url;
  seeded.doc = (await ok(call(`${url}/documents`, { ...rawUpload(upload, 'image/jpeg'), token: admin }), 201)).json.id;
  seeded.keyId = (await ok(call(`${url}/api-keys`, json('POST', { name: 'seed', rightsSet: 'spare' })), 201)).json.id;
  seeded.grantId = (await ok(call(`${url}/support-grants`, json('POST', { ticket: 'HV-1', expiresAt: new Date(Date.now() + 86400_000).toISOString() })), 201)).json.id;
  seeded.holdId = (await ok(call(`${url}/documents/${seeded.doc}/legal-holds`, json('POST', { reason: 'Seed', caseReference: 'HV-1' })), 201)).json.id;
  seeded.exportId = (await ok(call(`${url}/exports`, json('POST', { fiscalYear: 2024, includeOriginals: false })), 202)).json.id;
  await ok(call(`${url}/rights-assignments/someone`, json('PUT', { rightsSet: 'spare' })), 200);
  // A pending SoD proposal: turning the uploader rule on applies at once, turning it off waits for a second person.
  const sod = async (on: boolean, status: number) => {
    const read = await call(`${url}/sod-policy`, { token: admin });
    return ok(call(`${url}/sod-policy`, { ...json('PUT', { conflicts: [], uploaderCannotApproveDisposal: on }), headers: { 'Content-Type': 'application/json', 'If-Match': read.headers.get('etag')! } }), status);
  };
  await sod(true, 200);
  const withdrawn = (await sod(false, 202)).json.id;
  await ok(call(`${url}/sod-policy/proposals/${withdrawn}`, { method: 'DELETE', token: admin }), 200);
  seeded.proposalId = (await sod(false, 202)).json.id;
  // Pending and withdrawn retention policy proposals: a records manager (without retention:approve) turning required approval off.
  await seedRightsSet(archive, tenant, 'records', PERMISSIONS.filter((p) => p !== 'retention:approve'));
  const records = await archive.token({ tenant, sub: 'records', rights: 'records' });
  const retention = async (requireDisposalApproval: boolean, token: string, status: number) => {
    const read = await call(`${url}/retention/policy`, { token: admin });
    const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...stored } = read.json;
    return ok(call(`${url}/retention/policy`, { ...json('PUT', { ...stored, requireDisposalApproval }), headers: { 'Content-Type': 'application/json', 'If-Match': read.headers.get('etag')! }, token }), status);
  };
  await retention(true, admin, 200);
  await ok(call(`${url}/retention/policy/proposals/${(await retention(false, records, 202)).json.id}`, { method: 'DELETE', token: records }), 200);
  seeded.retentionProposalId = (await retention(false, records, 202)).json.id;
  // Second items, so that every paged list answers a continuation token at limit=1 (forged below).
  const second = await seedDocument(archive.host.deps, tenant, { metadata: { counterparty: 'ACME GmbH' } });
  await ok(call(`${url}/documents/${second.id}/legal-holds`, json('POST', { reason: 'Seed', caseReference: 'HV-2' })), 201);
  await ok(call(`${url}/exports`, json('POST', { fiscalYear: 2023, includeOriginals: false })), 202);
  await ok(call(`${url}/api-keys`, json('POST', { name: 'seed 2', rightsSet: 'spare' })), 201);
  await ok(call(`${url}/support-grants`, json('POST', { ticket: 'HV-2', expiresAt: new Date(Date.now() + 86400_000).toISOString() })), 201);
  for (const route of ROUTES.filter((r) => queryNames(r).includes('continuationToken'))) {
    const page = await ok(call(`${url}/${route.route}?${pageQuery(route)}`, { token: admin }), 200);
    if (typeof page.json.continuationToken !== 'string') throw new Error(`${nameOf(route)}: seed a second item so that a page of one has a continuation token`);
    realTokens.set(nameOf(route), page.json.continuationToken);
  }
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = (await call(`${url}/retention/policy`, { token: admin })).json;
  seeded.policy = policy;
});
afterAll(() => archive?.stop());

/** Metadata with every field a client may send (shared/kernel/metadata.ts), for an upload and a correction. */
const METADATA = { documentDate: '2030-03-01', fiscalYear: 2030, kind: 'invoice', counterparty: 'ACME GmbH', amount: 12.5, currency: 'EUR', reference: 'INV-1', tags: ['travel'], retentionClass: 'fiscal-7y' };

/** JSON an operation takes in a query parameter or a header (an upload's metadata): each of its fields gets the hostile values too. */
const JSON_IN_QUERY: Record<string, Record<string, unknown>> = { 'POST documents': { metadata: METADATA } };
const JSON_IN_HEADER: Record<string, Record<string, { json: unknown; encode: (text: string) => string }>> = {
  'POST documents': { 'Archive-Metadata': { json: METADATA, encode: (text) => Buffer.from(text).toString('base64url') } },
};

/** Examples for JSON bodies the operation does not carry one for, and for the merge patch (a byte body). */
const EXAMPLES: Record<string, () => unknown> = {
  'DELETE legal-holds/{holdId}': () => ({ reason: 'Case closed' }),
  'PUT retention/policy': () => ({ ...seeded.policy, classes: [{ name: 'contracts-12y', years: 12, description: 'Contracts' }] }),
  'PATCH documents/{id}/metadata': () => ({ reason: 'Typo', ...METADATA }),
  // The operations' own examples, made to pass for this tenant today: a grant of at most 7 days; a policy its rights sets keep.
  'POST support-grants': () => ({ ticket: 'SUP-4711', scope: 'read-only', expiresAt: new Date(Date.now() + 86400_000).toISOString() }),
  'PUT sod-policy': () => ({ conflicts: [], uploaderCannotApproveDisposal: true }),
};
const nameOf = (route: RouteDef) => `${route.method} ${route.route}`;
const exampleOf = (route: RouteDef): Record<string, unknown> | undefined => {
  const given = EXAMPLES[nameOf(route)]?.() ?? (route.body && 'json' in route.body ? route.body.example : undefined);
  return given as Record<string, unknown> | undefined;
};

/** A valid value for each path parameter: the seeded object of the route's collection. */
function validParam(route: RouteDef, name: string): string {
  if (name === 'id') {
    const first = route.route.split('/')[0];
    if (route.route.startsWith('retention/policy/proposals/')) return seeded.retentionProposalId;
    return { 'api-keys': seeded.keyId, 'support-grants': seeded.grantId, exports: seeded.exportId, 'sod-policy': seeded.proposalId }[first!] ?? seeded.doc;
  }
  return { part: '1', holdId: seeded.holdId, name: 'spare', subject: 'someone' }[name] ?? 'x';
}

/**
 * Store tokens a forger may put inside a page token valid for its query (the scope is not a secret): controls (a
 * JSON escape inside a wrapper passes a printable check of the wrapper), and printable ones that reach the store:
 * shapes the Cosmos client parses, with parts missing or wrong.
 */
const FORGED_STORE_TOKENS = [
  '\u0000', 'a\nb', '{"token":"x"}\u007f', 'x', '{}', '[]', 'null', '1', '""', '{"__proto__":{"polluted":1}}', '+RID:~x#RT:1#TRC:1', '-RID:~AAAA#RT:1#TRC:1#ISV:2#IEO:65567',
  '{"token":null}', '{"token":"x","range":{"min":"","max":"FF"}}', '[{"token":"x","range":{"min":"","max":"FF"}}]',
  '[{"token":null,"range":{"min":"00","max":"FF"}}]', '[{"token":1,"range":null}]',
  '{"compositeToken":"x","orderByItems":[{"item":1}],"rid":"x","inclusive":true,"skipCount":0}',
  '{"compositeToken":null,"orderByItems":null}', '{"compositeToken":"[{\\"token\\":null}]","orderByItems":[]}',
  '{"offset":-1,"limit":1e309,"sourceToken":"x"}', 'x'.repeat(2000),
];

/** `real` (a page token of the list) with its store part replaced: inside the state walk's wrapper too. */
function forge(real: string, store: string): string {
  const outer = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as { c: string };
  let inner: { at?: string; c?: string } | null = null;
  try {
    inner = JSON.parse(outer.c) as { at?: string; c?: string };
  } catch {
    inner = null;
  }
  const c = inner && typeof inner === 'object' && typeof inner.at === 'string' ? JSON.stringify({ ...inner, c: store }) : store;
  return Buffer.from(JSON.stringify({ ...outer, c })).toString('base64url');
}

interface Request {
  slot: string;
  value: string;
  /** The query parameter this row is about (its base value, if any, is left out). */
  param?: string;
  path?: Record<string, string>;
  query?: string;
  headers?: Record<string, string>;
  /** The body's text; default: the route's own (an upload, its example). */
  body?: string | Uint8Array;
}

/** The paths of every field of a JSON value (objects' keys, an array's first item), nested ones too. */
function fieldPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.length > 0 ? [[...prefix, 0], ...fieldPaths(value[0], [...prefix, 0])] : [];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([k, v]) => [[...prefix, k], ...fieldPaths(v, [...prefix, k])]);
}

const SLOT = '\u0000hostile\u0000';
/** `value`'s JSON text with the field at `at` replaced by the JSON text `json` (which may be what JSON.stringify never writes: 1e309). */
function withValueAt(value: unknown, at: (string | number)[], json: string): string {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let node = copy;
  for (const key of at.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[at[at.length - 1]!] = SLOT;
  return JSON.stringify(copy).replace(JSON.stringify(SLOT), () => json);
}

const BOUNDARY = 'hostile-boundary-7f3a';
/** A multipart upload with one part as given (its raw header, hostile or not) and, when `file` is given, a good file part after it. */
function multipart(disposition: string, type: string, content: Buffer, file?: Buffer): { headers: Record<string, string>; body: Uint8Array } {
  const part = (d: string, t: string, c: Buffer) => Buffer.concat([Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: ${d}\r\nContent-Type: ${t}\r\n\r\n`, 'utf8'), c, Buffer.from('\r\n')]);
  const parts = [part(disposition, type, content), ...(file ? [part('form-data; name="file"; filename="a.jpg"', 'image/jpeg', file)] : [])];
  return { headers: { 'Content-Type': `multipart/form-data; boundary=${BOUNDARY}` }, body: new Uint8Array(Buffer.concat([...parts, Buffer.from(`--${BOUNDARY}--\r\n`)])) };
}

/** Every request of one operation: one per (slot, value). */
function requestsOf(route: RouteDef): Request[] {
  const rows: Request[] = [];
  for (const [, p] of route.route.matchAll(/\{(\w+)\}/g)) for (const v of HOSTILE) rows.push({ slot: `path ${p}`, value: v.name, path: { [p!]: inURL(v) } });
  for (const q of queryNames(route)) for (const v of HOSTILE) rows.push({ slot: `query ${q}`, value: v.name, param: q, query: `${encodeURIComponent(q)}=${inURL(v)}` });
  for (const [q, example] of Object.entries(JSON_IN_QUERY[nameOf(route)] ?? {})) {
    for (const at of fieldPaths(example)) for (const v of HOSTILE) rows.push({ slot: `query ${q} ${at.join('.')}`, value: v.name, param: q, query: `${q}=${encodeURIComponent(withValueAt(example, at, inJSON(v)))}` });
  }
  for (const [h, { json, encode }] of Object.entries(JSON_IN_HEADER[nameOf(route)] ?? {})) {
    for (const at of fieldPaths(json)) for (const v of HOSTILE) rows.push({ slot: `header ${h} ${at.join('.')}`, value: v.name, headers: { [h]: encode(withValueAt(json, at, inJSON(v))) } });
  }
  if (streamTypes(route).includes('multipart/form-data')) {
    for (const v of HOSTILE) {
      rows.push({ slot: 'multipart file name', value: v.name, ...multipart(`form-data; name="file"; filename="${v.text}"`, 'image/jpeg', upload) });
      rows.push({ slot: 'multipart file media type', value: v.name, ...multipart('form-data; name="file"; filename="a.jpg"', v.text, upload) });
      rows.push({ slot: 'multipart metadata part', value: v.name, ...multipart('form-data; name="metadata"', 'application/json', Buffer.from(v.json ?? v.text), upload) });
      rows.push({ slot: 'multipart part name', value: v.name, ...multipart(`form-data; name="${v.text}"`, 'text/plain', Buffer.from('x'), upload) });
    }
  }
  const real = realTokens.get(nameOf(route));
  if (real) for (const t of FORGED_STORE_TOKENS) rows.push({ slot: 'query continuationToken (forged store part)', value: JSON.stringify(t).slice(0, 80), param: '*', query: `${pageQuery(route)}&continuationToken=${forge(real, t)}` });
  for (const v of HOSTILE_NAMES) rows.push({ slot: 'query name', value: v.name, query: `${inURL(v)}=1` });
  for (const h of headerNames(route)) {
    for (const v of HOSTILE) {
      const value = inHeader(v);
      if (value !== null && (h !== 'User-Agent' || !PLAIN_TEXT.test(value))) rows.push({ slot: `header ${h}`, value: v.name, headers: { [h]: value } });
    }
    for (const value of HEADER_VALUES[h] ?? []) rows.push({ slot: `header ${h}`, value, headers: { [h]: value } });
  }
  const example = exampleOf(route);
  if (jsonBody(route) || streamTypes(route).includes('application/merge-patch+json')) {
    if (!example) throw new Error(`${nameOf(route)}: a JSON body without an example: give one in EXAMPLES`);
    for (const at of fieldPaths(example)) {
      for (const v of HOSTILE) rows.push({ slot: `body ${at.join('.')}`, value: v.name, body: withValueAt(example, at, inJSON(v)) });
    }
    const text = JSON.stringify(example);
    rows.push(
      { slot: 'body', value: '__proto__', body: `{"__proto__":{"isAdmin":true,"reason":"x"},${text.slice(1)}` },
      { slot: 'body', value: 'constructor.prototype', body: `{"constructor":{"prototype":{"polluted":true}},${text.slice(1)}` },
      { slot: 'body', value: '10,000 nested arrays', body: `${'['.repeat(10_000)}${']'.repeat(10_000)}` },
      { slot: 'body', value: '10,000 nested objects in a field', body: `${text.slice(0, -1)},"x":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}` },
      { slot: 'body', value: 'duplicate keys', body: `${text.slice(0, -1)},${text.slice(1)}` },
      { slot: 'body', value: 'each field twice, the second hostile', body: `${text.slice(0, -1)},${Object.keys(example).map((k) => `"${k}":"\\u0000"`).join(',')}}` },
      ...HOSTILE.filter((v) => v.json || ['NUL', 'empty'].includes(v.name)).map((v) => ({ slot: 'body', value: `whole body ${v.name}`, body: inJSON(v) })),
      { slot: 'body', value: 'not JSON', body: '{"reason": ' },
      { slot: 'body', value: 'invalid UTF-8', body: new Uint8Array(Buffer.concat([Buffer.from('{"reason":"'), Buffer.from([0xff, 0xfe, 0xed, 0xa0, 0x80]), Buffer.from('"}')])) },
    );
  }
  return rows;
}

interface Row {
  route: string;
  slot: string;
  value: string;
  status: number;
  problem?: string;
}

/** The If-Match a change of a versioned record needs to get past its precondition: the ETag its GET answers now. */
async function currentEtag(route: RouteDef): Promise<string | null> {
  const path = route.route.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(validParam(route, n)));
  const readPath = route.route === 'documents/{id}/metadata' ? path.replace(/\/metadata$/, '') : path;
  const res = await fetch(`${archive.url}/${readPath}`, { headers: { Authorization: `Bearer ${admin}` } });
  await res.arrayBuffer();
  return res.headers.get('etag');
}

async function send(route: RouteDef, r: Request, authorization = `Bearer ${sweeper}`): Promise<Row> {
  const path = route.route.replace(/\{(\w+)\}/g, (_, n: string) => r.path?.[n] ?? encodeURIComponent(validParam(route, n)));
  const base = r.param === '*' ? [] : Object.entries(BASE_QUERY[nameOf(route)] ?? {}).filter(([k]) => k !== r.param).map(([k, v]) => `${k}=${v}`);
  const query = [...base, ...(r.query !== undefined ? [r.query] : [])].join('&');
  const url = `${archive.url}/${path}${query ? `?${query}` : ''}`;
  const headers: Record<string, string> = { Authorization: authorization };
  let body: string | Uint8Array | undefined;
  const types = streamTypes(route);
  if (isUpload(route)) {
    headers['Content-Type'] = 'image/jpeg';
    body = r.body ?? new Uint8Array(upload);
  } else if (jsonBody(route) || types.length > 0) {
    headers['Content-Type'] = types[0] ?? 'application/json';
    body = r.body ?? JSON.stringify(exampleOf(route));
  }
  if (route.errors.includes('precondition_required') && !r.headers?.['If-Match']) {
    const etag = await currentEtag(route);
    if (etag) headers['If-Match'] = etag;
  }
  Object.assign(headers, r.headers);
  const row: Row = { route: nameOf(route), slot: r.slot, value: r.value, status: 0 };
  try {
    let res = await fetch(url, { method: route.method, headers, ...(body !== undefined ? { body } : {}) });
    // Eight writers on one object are contention, not bad input: a 503 that asks to try again is retried after the
    // Retry-After it names, as a client does.
    for (let attempt = 0; res.status === 503 && attempt < 5; attempt++) {
      await res.arrayBuffer();
      const retryAfter = Number(res.headers.get('retry-after'));
      await new Promise((resolve) => setTimeout(resolve, Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : 50 * 2 ** attempt));
      res = await fetch(url, { method: route.method, headers, ...(body !== undefined ? { body } : {}) });
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    const type = res.headers.get('content-type') ?? '';
    row.status = res.status;
    const parsed = /json/.test(type) && bytes.length ? JSON.parse(bytes.toString('utf8')) : undefined;
    if (res.status >= 400 && res.status < 500 && !(/^application\/problem\+json/.test(type) && typeof parsed?.code === 'string')) row.problem = `not problem+json with a code: ${type} ${bytes.toString('utf8').slice(0, 200)}`;
    else checkContract(route.method, url, res.status, { contentType: type, json: parsed });
    if (res.status >= 500) row.problem = `${parsed?.code ?? ''} ${bytes.toString('utf8').slice(0, 300)}`;
  } catch (err) {
    row.problem = String(err).slice(0, 500);
  }
  return row;
}


describe('every operation answers hostile values with a 4xx problem (never a 500) or takes them', () => {
  // The audit trail's reads first, while it is short: each searches or verifies the month the sweep writes thousands of entries to.
  const ordered = [...ROUTES.filter((r) => r.route.startsWith('audit')), ...ROUTES.filter((r) => !r.route.startsWith('audit'))];
  it.each(ordered.map((r) => [nameOf(r), r] as const))('%s', async (_name, route) => {
    const rows = await mapLimit(requestsOf(route), 8, (r) => send(route, r));
    expect(rows.filter((r) => r.problem !== undefined || r.status >= 500)).toEqual([]);
    // Eight holds at once on one document meet each other's writes and are retried after their Retry-After (1 s): a
    // few seconds on a quiet machine, past the default 60 s once in a CI run on two busy cores. A safety net, no timing.
  }, 180_000);

  it('the host is still up', async () => {
    expect((await call(`${archive.url}/health`)).status).toBe(200);
  });
});


/** A token the archive's identity provider signed (RS256, its key), with this protected header and payload as they are written (1e309 and the like included). */
function signed(payload: string, header = `{"alg":"RS256","kid":${JSON.stringify(archive.emulators.signingKey.privateJwk.kid)},"typ":"JWT"}`): string {
  const input = `${Buffer.from(header).toString('base64url')}.${Buffer.from(payload).toString('base64url')}`;
  const key = createPrivateKey({ key: archive.emulators.signingKey.privateJwk as JsonWebKey, format: 'jwk' });
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/** Times a token may carry that are no time the archive can keep: past what a Date holds, before 1970, after 9999, not numbers. */
const HOSTILE_TIMES = ['1e300', '1e309', '-1e309', '9000000000000', '253402300800', '-1', '0.5', '"x"', 'null', 'true', '[]', '{}'];

/**
 * The credential with hostile values: the header itself, and tokens the identity provider signed whose claims are hostile
 * (the archive trusts the signature, not what a claim says). Authentication comes before anything a route does, so
 * one read and one change take them.
 */
function credentialRows(): { slot: string; value: string; authorization: string }[] {
  const rows: { slot: string; value: string; authorization: string }[] = [];
  for (const v of HOSTILE) {
    const value = inHeader(v);
    if (value === null) continue;
    rows.push({ slot: 'Authorization', value: v.name, authorization: value }, { slot: 'Authorization Bearer', value: v.name, authorization: `Bearer ${value}` }, { slot: 'Authorization ApiKey', value: v.name, authorization: `ApiKey ${value}` });
  }
  const now = Math.floor(Date.now() / 1000);
  const claims: Record<string, string> = { sub: '"sweeper"', archive_tenant: JSON.stringify(tenant), archive_rights: '"everything"', iss: JSON.stringify(archive.emulators.issuer), aud: JSON.stringify(LOCAL_AUDIENCE), exp: String(now + 600), iat: String(now) };
  const token = (claim: string, json: string) => signed(`{${Object.entries({ ...claims, [claim]: json }).map(([k, v]) => `"${k}":${v}`).join(',')}}`);
  for (const claim of ['sub', 'archive_tenant', 'archive_rights', 'archive_kind']) {
    for (const v of HOSTILE) rows.push({ slot: `token claim ${claim}`, value: v.name, authorization: `Bearer ${token(claim, inJSON(v))}` });
  }
  for (const claim of ['exp', 'iat', 'nbf']) {
    for (const t of HOSTILE_TIMES) rows.push({ slot: `token claim ${claim}`, value: t, authorization: `Bearer ${token(claim, t)}` });
  }
  const payload = `{${Object.entries(claims).map(([k, v]) => `"${k}":${v}`).join(',')}}`;
  const kid = JSON.stringify(archive.emulators.signingKey.privateJwk.kid);
  for (const v of HOSTILE) {
    rows.push(
      { slot: 'token header kid', value: v.name, authorization: `Bearer ${signed(payload, `{"alg":"RS256","kid":${inJSON(v)}}`)}` },
      { slot: 'token header typ', value: v.name, authorization: `Bearer ${signed(payload, `{"alg":"RS256","kid":${kid},"typ":${inJSON(v)}}`)}` },
      { slot: 'token header alg', value: v.name, authorization: `Bearer ${signed(payload, `{"alg":${inJSON(v)},"kid":${kid}}`)}` },
    );
  }
  for (const header of ['{"alg":"RS256","kid":KID,"crit":["x"]}', '{"alg":"RS256","kid":KID,"b64":false,"crit":["b64"]}', '{"alg":"RS256","kid":KID,"crit":[]}', '{"alg":"RS256","kid":KID,"jku":"http://127.0.0.1:1/"}', '{"alg":"RS256","kid":KID,"__proto__":{"alg":"none"}}', '{"alg":"RS256","kid":KID,"alg":"none"}', '[]', 'null', '1e309']) {
    rows.push({ slot: 'token header', value: header, authorization: `Bearer ${signed(payload, header.replace('KID', kid))}` });
  }
  return rows;
}

describe('a read and a change answer a credential with hostile values with a 4xx problem, never a 500', () => {
  it.each((['GET', 'POST'] as const).map((m) => [m, ROUTES.find((r) => r.auth === 'tenant' && r.method === m)!] as const))('%s', async (_method, route) => {
    const credentials = credentialRows();
    const rows = await mapLimit(credentials, 8, async (c) => ({ ...(await send(route, { slot: c.slot, value: c.value }, c.authorization)), slot: c.slot }));
    expect(rows.filter((r) => r.problem !== undefined || r.status >= 500)).toEqual([]);
  });

  it('the host is still up', async () => {
    expect((await call(`${archive.url}/health`)).status).toBe(200);
  });
});
