/**
 * Tenant isolation, generated from the route table: tenant B holds one of everything an id can name; tenant A's
 * admin, an A API key with every permission and a support engineer granted on A then call every tenant operation
 * with B's ids in every place an id goes (path parameters, query parameters, body fields, If-Match, Idempotency-Key,
 * page tokens from B's lists, B's download link signature). Each answer must be the one a made-up id of the same
 * shape gets (same status, problem code and detail: no oracle), name nothing of B, and leave B as it was (its
 * catalog, blobs and their versions, audit trail, tenant records); A's own audit entries carry nothing of B's but
 * the ids A sent. Adding a route adds its rows; a route with no place for an id must be listed in NO_ID_PLACE.
 */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { ROUTES } from '../../functions/routes';
import { PERMISSIONS } from '../../shared/kernel/principal';
import type { TenantRoute } from '../../shared/http/pipeline';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { interlacedGrayPng } from '../support/png';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { keepManifest, seedDocument } from '../support/seed';

const TENANT_ROUTES = ROUTES.filter((r): r is TenantRoute => r.auth === 'tenant');
const nameOf = (r: TenantRoute) => `${r.method} ${r.route}`;
/** Operations that take no id anywhere (nor a page token, nor a version tag): nothing of B's to send them. */
const NO_ID_PLACE = new Set(['GET retention/policy', 'GET rights-sets', 'GET rights-assignments', 'GET sod-policy', 'GET audit/verify', 'POST exports', 'POST legal-holds', 'POST support-grants', 'GET legal-holds/by-query']);

let archive: TestArchive;
const A = { tenant: '', admin: '', key: '', support: '', doc: '', holdId: '', exportId: '', subject: 'a-clerk' };
const B = {
  tenant: '', root: '', second: '', doc: '', doc2: '', sha256: '', holdId: '', holdId2: '', exportId: '', keyId: '', grantId: '', proposalId: '', retentionProposalId: '', approvalId: '',
  setName: 'b-ledger-keepers', subject: 'b-clerk-7', idempotencyKey: `b-idem-${randomBytes(6).toString('hex')}`,
  etags: {} as Record<string, string>, tokens: {} as Record<string, string>, link: '', linkQuery: '',
};
/** What of B's is data, not an id A may send: it must never appear in an answer to A or in A's audit trail. */
const B_DATA = ['root-b', 'second-b', 'records-b', 'B key for the scanner', 'B-TICKET-77', 'B-CASE-42', 'Bravo Counterparty GmbH', 'B correction reason', 'b-scan-file.jpg'];

const json = (method: string, body: unknown, token: string, headers: Record<string, string> = {}) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers }, token });
async function ok(p: Promise<{ status: number; json: any; headers: Headers }>, status: number) {
  const r = await p;
  if (r.status !== status) throw new Error(`seed: ${r.status} ${JSON.stringify(r.json)}`);
  return r;
}

/** A made-up value of the same shape as `real`: hex digits, letters and base64 characters replaced, separators kept; the same one each time. */
const fakes = new Map<string, string>();
function fakeOf(real: string): string {
  if (!fakes.has(real)) {
    const random = (set: string) => set[randomBytes(1)[0]! % set.length]!;
    const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
    // A UUIDv7 keeps its time, version and variant (as an id minted now would), the random part is new.
    const hex = /^[0-9a-f]+$/;
    const fake = uuid.test(real) ? `${real.slice(0, 24)}${randomBytes(6).toString('hex')}` : hex.test(real) ? real.replace(/./g, () => random('0123456789abcdef')) : real.replace(/[a-z]/g, () => random('abcdefghijklmnopqrstuvwxyz')).replace(/[A-Z]/g, () => random('ABCDEFGHIJKLMNOPQRSTUVWXYZ')).replace(/[0-9]/g, () => random('0123456789'));
    fakes.set(real, fake);
  }
  return fakes.get(real)!;
}
/** A version tag (ETag) of the same shape as B's: the version it names made up, its kind kept (a default names nothing of B's). */
function fakeEtag(real: string): string {
  const m = /^"(metadata|retention-policy|sod-policy)-(.+)"$/.exec(real);
  if (!m) throw new Error(`not a version tag: ${real}`);
  // A version number: digits, not the hex an id's digits may be replaced with.
  if (m[1] === 'metadata') return `"metadata-${m[2]!.replace(/[0-9]/g, () => String(1 + (randomBytes(1)[0]! % 9)))}"`;
  if (m[2] === 'default') return real;
  return `"${m[1]}-${Buffer.from(fakeOf(Buffer.from(m[2]!, 'base64url').toString('utf8'))).toString('base64url')}"`;
}
/** A page token of the same shape as B's: its scope digest made up, its store part kept. */
function fakeToken(real: string): string {
  const inner = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as { s: string };
  return Buffer.from(JSON.stringify({ ...inner, s: randomBytes(16).toString('base64url').slice(0, inner.s.length) })).toString('base64url');
}

/** The PAGE query each list is asked with, by B for its token and by A with it. */
const PAGE_QUERY: Record<string, string> = { documents: '', exports: '', 'legal-holds': '&status=open', 'retention/due': '&before=2100-01-01T00:00:00.000Z', audit: '', 'api-keys': '', 'support-grants': '', 'sod-policy/proposals': '&state=all', 'retention/policy/proposals': '&state=all' };

beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_REFUSAL_BURST: '10000' });
  const url = archive.url;
  // Tenant B: one of everything an id can name, two of what a list pages.
  B.tenant = newTenant('iso-b');
  await seedSodPolicy(archive, B.tenant, { conflicts: [] });
  await seedRightsSet(archive, B.tenant, 'everything', PERMISSIONS);
  B.root = await archive.token({ tenant: B.tenant, sub: 'root-b', rights: 'everything' });
  B.second = await archive.token({ tenant: B.tenant, sub: 'second-b', rights: 'everything' });
  const up = await ok(call(`${url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg', 'b-scan-file.jpg'), headers: { 'Content-Type': 'image/jpeg', 'Idempotency-Key': B.idempotencyKey, 'Content-Disposition': "attachment; filename*=UTF-8''b-scan-file.jpg" }, token: B.root }), 201);
  B.doc = up.json.id;
  B.sha256 = up.json.original.sha256;
  const second = await seedDocument(archive.host.deps, B.tenant, { metadata: { counterparty: 'Bravo Counterparty GmbH' } });
  B.doc2 = second.id;
  B.holdId = (await ok(call(`${url}/documents/${B.doc}/legal-holds`, json('POST', { reason: 'B hold', caseReference: 'B-CASE-42' }, B.root)), 201)).json.id;
  B.holdId2 = (await ok(call(`${url}/documents/${B.doc2}/legal-holds`, json('POST', { reason: 'B hold', caseReference: 'B-CASE-42' }, B.root)), 201)).json.id;
  const read = await call(`${url}/documents/${B.doc}`, { token: B.root });
  await ok(call(`${url}/documents/${B.doc}/metadata`, { method: 'PATCH', body: JSON.stringify({ reason: 'B correction reason', counterparty: 'Bravo Counterparty GmbH' }), headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': read.headers.get('etag')! }, token: B.root }), 200);
  B.etags['documents/{id}/metadata'] = (await call(`${url}/documents/${B.doc}`, { token: B.root })).headers.get('etag')!;
  B.exportId = (await ok(call(`${url}/exports`, json('POST', { fiscalYear: 2024, includeOriginals: false }, B.root)), 202)).json.id;
  await ok(call(`${url}/exports`, json('POST', { fiscalYear: 2023, includeOriginals: false }, B.root)), 202);
  await ok(call(`${url}/rights-sets/${B.setName}`, json('PUT', { permissions: ['documents:read'] }, B.root)), 200);
  await ok(call(`${url}/rights-assignments/${B.subject}`, json('PUT', { rightsSet: B.setName }, B.root)), 200);
  const bKey = (await ok(call(`${url}/api-keys`, json('POST', { name: 'B key for the scanner', rightsSet: B.setName }, B.root)), 201)).json;
  B.keyId = bKey.id;
  await ok(call(`${url}/api-keys`, json('POST', { name: 'B key for the scanner', rightsSet: B.setName }, B.root)), 201);
  const inADay = new Date(Date.now() + 86400_000).toISOString();
  B.grantId = (await ok(call(`${url}/support-grants`, json('POST', { ticket: 'B-TICKET-77', scope: 'read-only', expiresAt: inADay }, B.root)), 201)).json.id;
  await ok(call(`${url}/support-grants`, json('POST', { ticket: 'B-TICKET-77', scope: 'read-only', expiresAt: inADay }, B.root)), 201);
  // An SoD proposal: turning the uploader rule off waits for a second person; one withdrawn, one pending.
  const sod = async (on: boolean, status: number) => {
    const current = await call(`${url}/sod-policy`, { token: B.root });
    return ok(call(`${url}/sod-policy`, json('PUT', { conflicts: [], uploaderCannotApproveDisposal: on }, B.root, { 'If-Match': current.headers.get('etag')! })), status);
  };
  const withdrawn = (await sod(false, 202)).json.id;
  await ok(call(`${url}/sod-policy/proposals/${withdrawn}`, { method: 'DELETE', token: B.root }), 200);
  B.proposalId = (await sod(false, 202)).json.id;
  B.etags['sod-policy'] = (await call(`${url}/sod-policy`, { token: B.root })).headers.get('etag')!;
  // A retention policy proposal: a records manager turning required approval off waits for a second person; one withdrawn, one pending.
  await seedRightsSet(archive, B.tenant, 'records', PERMISSIONS.filter((p) => p !== 'retention:approve'));
  const records = await archive.token({ tenant: B.tenant, sub: 'records-b', rights: 'records' });
  const retention = async (requireDisposalApproval: boolean, token: string, status: number) => {
    const current = await call(`${url}/retention/policy`, { token: B.root });
    const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = current.json;
    return ok(call(`${url}/retention/policy`, json('PUT', { ...policy, requireDisposalApproval }, token, { 'If-Match': current.headers.get('etag')! })), status);
  };
  await retention(true, B.root, 200);
  await ok(call(`${url}/retention/policy/proposals/${(await retention(false, records, 202)).json.id}`, { method: 'DELETE', token: records }), 200);
  B.retentionProposalId = (await retention(false, records, 202)).json.id;
  // B's policies stored (not the built-in default, whose tag is the same in every tenant).
  const policy = await call(`${url}/retention/policy`, { token: B.root });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...stored } = policy.json;
  await ok(call(`${url}/retention/policy`, json('PUT', stored, B.root, { 'If-Match': policy.headers.get('etag')! })), 200);
  B.etags['retention/policy'] = (await call(`${url}/retention/policy`, { token: B.root })).headers.get('etag')!;
  // A disposal approval: a document past its retention (written as the sweep would find it), approved by someone who did not upload it.
  const due = await seedDocument(archive.host.deps, B.tenant, { metadata: { counterparty: 'Bravo Counterparty GmbH' } });
  // Its sealed manifest, as ingest writes one: four eyes on its disposal read its uploader there.
  await keepManifest(archive.host.deps, due);
  const item = archive.host.deps.cosmos.documents.item(due.id, B.tenant);
  const { resource } = await item.read();
  await item.replace({ ...resource, retention: { ...resource.retention, retainUntil: '2020-01-01T00:00:00.000Z' } });
  const approval = await ok(call(`${url}/retention/approvals`, json('POST', { before: new Date().toISOString(), reason: 'B annual review', documentIds: [due.id] }, B.second)), 201);
  B.approvalId = approval.json.approvalId;
  if (!approval.json.approved?.includes(due.id)) throw new Error(`seed: the approval approved nothing: ${JSON.stringify(approval.json)}`);
  // B's download link: its signature is what a link carries.
  const link = await call(`${url}/documents/${B.doc}/original?delivery=redirect`, { token: B.root, redirect: 'manual' });
  if (link.status !== 303) throw new Error(`seed: link ${link.status}`);
  B.link = link.headers.get('location')!;
  B.linkQuery = new URL(B.link).search.slice(1);
  for (const [exportId] of [[B.exportId]]) {
    for (let i = 0; i < 200 && (await call(`${url}/exports/${exportId}`, { token: B.root })).json.status !== 'completed'; i++) await new Promise((r) => setTimeout(r, 100));
  }
  for (const [list, q] of Object.entries(PAGE_QUERY)) {
    const page = await ok(call(`${url}/${list}?limit=1${q}`, { token: B.root }), 200);
    if (typeof page.json.continuationToken !== 'string') throw new Error(`seed: ${list} has no second page for B`);
    B.tokens[list] = page.json.continuationToken;
  }

  // Tenant A: its admin, a key and a support engineer, each able to call everything they may; A's own objects to pair with B's.
  A.tenant = newTenant('iso-a');
  await seedSodPolicy(archive, A.tenant, { conflicts: [] });
  await seedRightsSet(archive, A.tenant, 'everything', PERMISSIONS);
  A.admin = await archive.token({ tenant: A.tenant, sub: 'admin-a', rights: 'everything' });
  A.key = (await ok(call(`${url}/api-keys`, json('POST', { name: 'A sweeper', rightsSet: 'everything' }, A.admin)), 201)).json.key;
  await ok(call(`${url}/support-grants`, json('POST', { ticket: 'A-1', scope: 'read-only-with-audit', expiresAt: inADay }, A.admin)), 201);
  A.support = await archive.token({ tenant: A.tenant, sub: 'staff-1', kind: 'support', rights: 'tenant-admin' });
  A.doc = (await ok(call(`${url}/documents`, { ...rawUpload(interlacedGrayPng(9), 'image/png'), token: A.admin }), 201)).json.id;
  A.holdId = (await ok(call(`${url}/documents/${A.doc}/legal-holds`, json('POST', { reason: 'A hold', caseReference: 'A-1' }, A.admin)), 201)).json.id;
  A.exportId = (await ok(call(`${url}/exports`, json('POST', { fiscalYear: 2024, includeOriginals: false }, A.admin)), 202)).json.id;
});
afterAll(() => archive?.stop());

/** Everything B has: catalog items, tenant records and audit entries (with their _etag: any write shows), blob names, versions and ETags. */
async function snapshotB(): Promise<unknown> {
  const { cosmos } = archive.host.deps;
  const all = async (container: typeof cosmos.documents, query: string) => {
    const { resources } = await container.items.query({ query, parameters: [{ name: '@t', value: B.tenant }, { name: '@p', value: `${B.tenant}:` }] }).fetchAll();
    return resources.map(({ _ts: _t, ...r }) => r).sort((x, y) => String(x.id).localeCompare(String(y.id)));
  };
  const service = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString);
  const blobs: string[] = [];
  for await (const c of service.listContainers()) {
    if (!c.name.includes(B.tenant)) continue;
    for await (const b of service.getContainerClient(c.name).listBlobsFlat({ includeVersions: true, includeMetadata: true })) blobs.push(`${c.name}/${b.name} ${b.versionId ?? ''} ${b.properties.etag} ${b.properties.contentLength}`);
  }
  return {
    catalog: await all(cosmos.documents, 'SELECT * FROM c WHERE c.tenantId = @t'),
    records: await all(cosmos.tenants, 'SELECT * FROM c WHERE c.tenantId = @t'),
    audit: await all(cosmos.audit, 'SELECT * FROM c WHERE STARTSWITH(c.partition, @p)'),
    blobs: blobs.sort(),
  };
}

/** B's documents whose rendition validation (a worker of B's own, not A's doing) has not answered yet. */
const validationPending = (snapshot: unknown): boolean => (snapshot as { catalog: { validation?: { status: string } }[] }).catalog.some((item) => item.validation?.status === 'pending');

/** B's snapshot once nothing of its own is still under way (an audit outbox, an export worker, the rendition validator). */
async function settledB(): Promise<unknown> {
  let last = await snapshotB();
  for (let i = 0; i < 150; i++) {
    await new Promise((r) => setTimeout(r, 200));
    const next = await snapshotB();
    // Under load the validator can take longer than one pause without a write: its verdict is waited for, not guessed.
    if (JSON.stringify(next) === JSON.stringify(last) && !validationPending(next)) return next;
    last = next;
  }
  throw new Error('B did not settle');
}

/** One place an id goes, filled with B's value or the made-up one. */
interface Slot {
  slot: string;
  /** B's values sent (an answer may echo them). */
  sent: string[];
  path?: Record<string, string>;
  query?: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** A fresh upload per request: the same bytes twice are a duplicate, whatever the key. */
  upload?: boolean;
}

/** B's id for a route's path parameter, and A's own (to pair with B's in a route that takes two). */
function idsFor(route: TenantRoute, param: string): { b: string; a: string } | null {
  const first = route.route.split('/')[0]!;
  if (param === 'id') {
    if (first === 'documents') return { b: B.doc, a: A.doc };
    if (first === 'exports') return { b: B.exportId, a: A.exportId };
    if (first === 'api-keys') return { b: B.keyId, a: '' };
    if (first === 'support-grants') return { b: B.grantId, a: '' };
    if (first === 'sod-policy') return { b: B.proposalId, a: '' };
    if (route.route.startsWith('retention/policy/proposals/')) return { b: B.retentionProposalId, a: '' };
  }
  if (param === 'holdId') return { b: B.holdId, a: A.holdId };
  if (param === 'name') return { b: B.setName, a: '' };
  if (param === 'subject') return { b: B.subject, a: '' };
  return null;
}

/** Every place of `route` an id goes, with B's values (`fill` = identity) or made-up ones (`fill` = fakeOf). */
function slotsOf(route: TenantRoute, fill: (v: string) => string, token: (t: string) => string): Slot[] {
  const name = nameOf(route);
  const params = [...route.route.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  const ids = Object.fromEntries(params.map((p) => [p, idsFor(route, p)] as const));
  const rows: Slot[] = [];
  const constant = (p: string) => (p === 'part' ? '1' : ids[p]!.a);
  const idParams = params.filter((p) => ids[p] !== null);
  // Each id parameter alone with B's (the others A's own), and all of them B's.
  for (const p of idParams) rows.push({ slot: `path ${p}`, sent: [ids[p]!.b], path: Object.fromEntries(params.map((q) => [q, q === p ? fill(ids[q]!.b) : constant(q)])) });
  if (idParams.length > 1) rows.push({ slot: 'path (all)', sent: idParams.map((p) => ids[p]!.b), path: Object.fromEntries(params.map((q) => [q, ids[q] ? fill(ids[q].b) : constant(q)])) });
  const pathB = (extra: Omit<Slot, 'path' | 'sent'> & { sent?: string[] }): Slot => ({ ...extra, sent: [...idParams.map((p) => ids[p]!.b), ...(extra.sent ?? [])], path: Object.fromEntries(params.map((q) => [q, ids[q] ? fill(ids[q].b) : constant(q)])) });
  const list = route.route;
  if (route.method === 'GET' && B.tokens[list]) rows.push({ slot: 'query continuationToken', sent: [B.tokens[list]], query: `limit=1${PAGE_QUERY[list]}&continuationToken=${token(B.tokens[list])}` });
  if (name === 'GET audit') {
    for (const [i, target] of [B.doc, `document:${B.doc}`, `approval:${B.approvalId}`, `hold:${B.holdId}`, `export:${B.exportId}`, `api-key:${B.keyId}`, `support-grant:${B.grantId}`].entries()) rows.push({ slot: `query target ${i}`, sent: [target], query: `target=${encodeURIComponent(fill(target))}` });
    for (const actor of [B.subject, `apikey:${B.keyId}`]) rows.push({ slot: `query actor ${actor.split(':')[0]}`, sent: [actor], query: `actor=${encodeURIComponent(fill(actor))}` });
  }
  const downloads = Object.values(route.responses).some((r) => 'stream' in r && r.stream) || 303 in route.responses;
  if (downloads && idParams.length > 0) rows.push(pathB({ slot: 'path, ?delivery=redirect', query: 'delivery=redirect' }));
  if (downloads && idParams.length > 0) {
    // B's link signature on A's request: the archive takes no such thing, whoever's it is.
    const link = new URLSearchParams(B.linkQuery);
    const sig = link.get('sig')!;
    link.set('sig', fill(sig));
    rows.push(pathB({ slot: "B's link query", sent: [sig], query: link.toString() }));
  }
  if (name === 'PATCH documents/{id}/metadata') rows.push(pathB({ slot: 'If-Match', sent: [B.etags['documents/{id}/metadata']!], headers: { 'If-Match': (fill === fakeOf ? fakeEtag : fill)(B.etags['documents/{id}/metadata']!) }, body: { reason: 'Typo', counterparty: 'ACME GmbH' } }));
  for (const policy of ['retention/policy', 'sod-policy']) {
    // A version tag of B's policy: answered as any tag A does not hold (A's policy body, B's tag).
    if (name === `PUT ${policy}`) rows.push({ slot: 'If-Match', sent: [B.etags[policy]!], headers: { 'If-Match': (fill === fakeOf ? fakeEtag : fill)(B.etags[policy]!) } });
  }
  if (name === 'POST retention/approvals') rows.push({ slot: 'body documentIds', sent: [B.doc, B.doc2], body: { before: new Date().toISOString(), reason: 'A review', documentIds: [fill(B.doc), fill(B.doc2)] } });
  if (name === 'POST api-keys') rows.push({ slot: 'body rightsSet', sent: [B.setName], body: { name: 'from B', rightsSet: fill(B.setName) } });
  if (name === 'PUT rights-assignments/{subject}') rows.push({ slot: 'body rightsSet', sent: [B.setName], path: { subject: A.subject }, body: { rightsSet: fill(B.setName) } });
  if (name === 'POST documents') rows.push({ slot: 'Idempotency-Key', sent: [B.idempotencyKey], headers: { 'Idempotency-Key': fill(B.idempotencyKey) }, upload: true });
  return rows;
}

/** A body an operation takes when a slot does not give one: its example, else the least it needs. */
function bodyOf(route: TenantRoute): unknown {
  const name = nameOf(route);
  if (name === 'DELETE legal-holds/{holdId}' || name === 'DELETE documents/{id}/legal-holds/{holdId}') return { reason: 'Case closed' };
  if (name === 'PATCH documents/{id}/metadata') return { reason: 'Typo', counterparty: 'ACME GmbH' };
  if (name === 'POST support-grants') return { ticket: 'A-2', scope: 'read-only', expiresAt: new Date(Date.now() + 86400_000).toISOString() };
  if (name === 'PUT sod-policy') return { conflicts: [], uploaderCannotApproveDisposal: true };
  if (name === 'PUT retention/policy') return undefined;
  return route.body && 'json' in route.body ? route.body.example : undefined;
}

let side = 10;
interface Answer {
  status: number;
  code?: string;
  detail?: string;
  body: string;
}
async function send(route: TenantRoute, s: Slot, authorization: string): Promise<Answer> {
  const path = route.route.replace(/\{(\w+)\}/g, (_, n: string) => encodeURIComponent(s.path?.[n] ?? 'x'));
  const headers: Record<string, string> = { Authorization: authorization, ...s.headers };
  let body: string | Uint8Array | undefined;
  if (s.upload) {
    headers['Content-Type'] = 'image/png';
    body = new Uint8Array(interlacedGrayPng(side++));
  } else {
    const given = s.body ?? bodyOf(route);
    if (given !== undefined) {
      body = JSON.stringify(given);
      headers['Content-Type'] = route.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json';
    }
    if (nameOf(route) === 'PUT retention/policy') {
      const current = await call(`${archive.url}/retention/policy`, { token: A.admin });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = current.json;
      body = JSON.stringify(policy);
      headers['Content-Type'] = 'application/json';
    }
  }
  const url = `${archive.url}/${path}${s.query ? `?${s.query}` : ''}`;
  let res = await fetch(url, { method: route.method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
  for (let attempt = 0; res.status === 503 && attempt < 5; attempt++) {
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    res = await fetch(url, { method: route.method, headers, redirect: 'manual', ...(body !== undefined ? { body } : {}) });
  }
  const text = Buffer.from(await res.arrayBuffer()).toString('utf8');
  const parsed = /json/.test(res.headers.get('content-type') ?? '') && text ? JSON.parse(text) : undefined;
  return { status: res.status, code: parsed?.code, detail: parsed?.detail, body: `${text} ${res.headers.get('location') ?? ''}` };
}

/** Runs `job` over `items`, at most `limit` at a time. */
async function pool<T, R>(items: T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await job(items[i]!);
    }
  }));
  return out;
}

/** What of B's an answer names, beyond the values the request itself sent (an answer may echo them, as a 404 names its id). */
function namesOfB(text: string, sent: string[]): string[] {
  let rest = text;
  for (const s of [...sent].sort((x, y) => y.length - x.length)) rest = rest.split(s).join('<sent>').split(encodeURIComponent(s)).join('<sent>');
  const ids = [B.doc, B.doc2, B.holdId, B.holdId2, B.exportId, B.keyId, B.grantId, B.proposalId, B.retentionProposalId, B.approvalId, B.setName, B.subject, B.idempotencyKey];
  return [B.tenant, B.sha256, ...B_DATA, ...ids].filter((m) => rest.includes(m));
}

describe("tenant A with B's ids gets what a made-up id gets, learns nothing of B, and changes nothing of B's", () => {
  let before: unknown;
  const sentByA = new Set<string>();
  beforeAll(async () => {
    before = await settledB();
  });

  it('every tenant operation either has a place for an id or is listed as having none', () => {
    const without = TENANT_ROUTES.filter((r) => slotsOf(r, (v) => v, (t) => t).length === 0).map(nameOf);
    expect(without.filter((n) => !NO_ID_PLACE.has(n))).toEqual([]);
  });

  it.each(TENANT_ROUTES.map((r) => [nameOf(r), r] as const))('%s', async (_name, route) => {
    const principals = { admin: `Bearer ${A.admin}`, 'API key': `ApiKey ${A.key}`, support: `Bearer ${A.support}` };
    const real = slotsOf(route, (v) => v, (t) => t);
    const made = slotsOf(route, fakeOf, fakeToken);
    const rows: { who: string; slot: string; b: Omit<Answer, 'body'>; fake: Omit<Answer, 'body'>; leaks: string[] }[] = [];
    // One principal at a time: two of them changing the same record of A's at once would race each other, not B.
    for (const [who, authorization] of Object.entries(principals)) {
      const answers = await pool(real.flatMap((s, i) => [[s, 'b'], [made[i]!, 'fake']] as const), 8, ([s]) => send(route, s, authorization));
      real.forEach((s, i) => {
        s.sent.forEach((v) => sentByA.add(v));
        const [b, fake] = [answers[2 * i]!, answers[2 * i + 1]!];
        // The detail may name the id it was sent: each with its own in its place.
        const same = (a: Answer, sent: string[]) => ({ status: a.status, code: a.code, detail: sent.reduce((d, v) => d?.split(v).join('<id>'), a.detail) });
        rows.push({ who, slot: s.slot, b: same(b, s.sent), fake: same(fake, s.sent.map(fakeOf)), leaks: namesOfB(b.body, s.sent) });
      });
    }
    expect(rows.filter((r) => JSON.stringify(r.b) !== JSON.stringify(r.fake)).map(({ who, slot, b, fake }) => ({ who, slot, b, fake }))).toEqual([]);
    expect(rows.filter((r) => r.leaks.length > 0).map(({ who, slot, leaks }) => ({ who, slot, leaks }))).toEqual([]);
    expect(rows.filter((r) => r.b.status >= 500).map(({ who, slot, b }) => ({ who, slot, b }))).toEqual([]);
  });

  it("B is unchanged: its catalog, blobs and their versions, audit trail and records", async () => {
    expect(await settledB()).toEqual(before);
  });

  it("B's download link reads B's blob and no other: on the URL of A's original, the store refuses it", async () => {
    expect((await fetch(B.link)).status).toBe(200);
    const own = await call(`${archive.url}/documents/${A.doc}/original?delivery=redirect`, { token: A.admin, redirect: 'manual' });
    const target = new URL(own.headers.get('location')!);
    const res = await fetch(`${target.origin}${target.pathname}?${B.linkQuery}`);
    await res.arrayBuffer();
    expect(res.status).toBe(403);
  });

  it("an API key credential naming A and B's key id is refused as one naming a made-up key id", async () => {
    const [, , , secret] = /^arch_(.+)_([0-9a-f]{24})_(.{43})$/.exec(A.key)!;
    const answers = await Promise.all([B.keyId, fakeOf(B.keyId)].map((id) => call(`${archive.url}/documents`, { headers: { Authorization: `ApiKey arch_${A.tenant}_${id}_${secret}` } })));
    expect(answers.map((a) => [a.status, a.json?.code, a.json?.detail])).toEqual([[401, 'unauthenticated', answers[1]!.json?.detail], [401, 'unauthenticated', answers[1]!.json?.detail]]);
  });

  it("A's audit entries carry nothing of B's but the ids A sent", async () => {
    const { resources } = await archive.host.deps.cosmos.audit.items.query({ query: 'SELECT * FROM c WHERE STARTSWITH(c.partition, @p)', parameters: [{ name: '@p', value: `${A.tenant}:` }] }).fetchAll();
    expect(resources.length).toBeGreaterThan(100);
    const leaking = resources.map((e) => ({ id: e.id, action: e.action, leaks: namesOfB(JSON.stringify(e), [...sentByA]) })).filter((e) => e.leaks.length > 0);
    expect(leaking).toEqual([]);
  });
});
