/**
 * Red team of an export's proof, from a valid account (README "archive verify --against-archive", GET /exports/{id}
 * manifestJson), against the local host. Here, what no other test holds: hostile metadata (values that look like
 * JSON, entry names, manifest names, line separators) never makes manifest.json or its entry names read otherwise in
 * the CLI than the archive wrote them, and the fingerprint the archive records (job and audit entry) is that of the
 * manifest.json in the ZIP it hands out, holding exactly the documents the search matches; an Idempotency-Key retry
 * after completion records nothing new. ZIP layout and folder leftovers: test/unit/cli/zip-hidden-bytes.test.ts,
 * test/unit/cli/verify-folder-leftovers.test.ts; another tenant's copy and expiry: test/integration/cli.test.ts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Client, proveAgainstArchive, unpackAndVerify, verifiedOffline, verifyExport } from '../../cli/core';
import { auditMonth } from '../../shared/kernel/audit';
import type { ExportManifest } from '../../shared/kernel/export';
import { call, sha256hex } from '../support/http';
import { newTenant, startTestArchive, type TestArchive } from '../support/harness';
import { seedMany } from '../support/seed';

let archive: TestArchive;
let tenant: string;
let token: string;
let work: string;

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('proof-attacks');
  token = await archive.token({ tenant, sub: 'accountant@proof.example', rights: 'accountant' });
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'export-proof-attacks-'));
});
afterAll(async () => {
  fs.rmSync(work, { recursive: true, force: true });
  await archive?.stop();
});

const HOSTILE = [
  { counterparty: 'manifest', reference: '.json' },
  { counterparty: '../manifest.csv', reference: 'manifest.json' },
  { counterparty: '"}],"documents":[{"id":"forged","files":[]}],"x":["', reference: '\u2028\u2029\r\n' },
  { counterparty: 'documents/../../manifest.json', reference: '__proto__', tags: ['__proto__', 'constructor', 'manifest.json'] },
  { counterparty: 'Ünïcödé\u0301 NFD', reference: 'A\u0000B' },
];

async function waitFor(id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const r = await call(`${archive.url}/exports/${id}`, { token });
    expect(r.status).toBe(200);
    if (r.json.status !== 'running') return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('export did not finish');
}

const start = (body: unknown, key?: string) =>
  call(`${archive.url}/exports`, { method: 'POST', token, headers: { 'Content-Type': 'application/json', ...(key ? { 'Idempotency-Key': key } : {}) }, body: JSON.stringify(body) });

it('hostile metadata: the ZIP verifies, holds exactly what the search matches, and its manifest.json is the one the archive recorded (job and audit), so the copy is proven', async () => {
  const matching = await seedMany(archive.host.deps, tenant, HOSTILE.map((m, i) => ({ metadata: { documentDate: `2031-0${i + 1}-01`, kind: 'invoice' as const, ...m } })));
  // The same values in another year: the search does not match them, the export must not hold them.
  await seedMany(archive.host.deps, tenant, HOSTILE.map((m, i) => ({ metadata: { documentDate: `2030-0${i + 1}-01`, kind: 'invoice' as const, ...m } })));
  const started = await start({ fiscalYear: 2031, includeOriginals: true }, 'proof-hostile');
  expect(started.status).toBe(202);
  const job = await waitFor(started.json.id);
  expect(job).toMatchObject({ status: 'completed', manifestJson: { sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } });

  const download = await call(`${archive.url}/exports/${job.id}/download`, { token });
  expect(download.status).toBe(200);
  expect(sha256hex(download.bytes)).toBe(job.archive.sha256);
  const zip = path.join(work, 'hostile.zip');
  fs.writeFileSync(zip, download.bytes);

  // The ZIP verifies offline, and manifest.json as the CLI finds it is the one the archive recorded, in the job and the audit log.
  const r = await verifyExport(zip);
  expect(verifiedOffline(r)).toBe(true);
  expect(r.copyOf).toEqual({ exportId: job.id, manifestJson: job.manifestJson });
  const entries = (await archive.host.deps.audit.list(tenant, auditMonth(new Date()), 500)).items;
  expect(entries.filter((e) => e.action === 'export.completed' && e.target === job.id).map((e) => e.detail)).toEqual([
    `manifest-json-sha256=${job.manifestJson.sha256};manifest-json-size=${job.manifestJson.size};zip-sha256=${job.archive.sha256};zip-size=${job.archive.size}`,
  ]);

  // Unpacked, the manifest holds exactly the matching documents, with their metadata as stored, and names no file twice
  // nor any manifest: a value that looks like JSON or a path stays a value.
  const out = path.join(work, 'hostile');
  expect(verifiedOffline(await unpackAndVerify(zip, out))).toBe(true);
  const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as ExportManifest;
  expect(manifest.documents.map((d) => d.id).sort()).toEqual(matching.map((d) => d.id).sort());
  for (const doc of matching) expect(manifest.documents.find((d) => d.id === doc.id)!.metadata).toEqual(doc.metadata);
  const paths = manifest.documents.flatMap((d) => d.files.map((f) => f.path));
  expect(new Set(paths.map((p) => p.toLowerCase())).size).toBe(paths.length);
  for (const p of paths) expect(p).toMatch(/^(documents|originals)\/[^/]+$/);

  // Proven against the archive, from the folder and from the ZIP, by someone of the tenant who may read its documents.
  const client: Client = { config: { url: archive.url, token: await archive.token({ tenant, sub: 'uploader@proof.example', rights: 'uploader' }) }, fetch: (u, i) => fetch(u, i) };
  for (const copy of [out, zip]) expect(await proveAgainstArchive(client, await verifyExport(copy))).toMatchObject({ status: 'proven', exportId: job.id });

  // A retry of the POST with its Idempotency-Key after completion answers the same export and records nothing new.
  const retry = await start({ fiscalYear: 2031, includeOriginals: true }, 'proof-hostile');
  expect(retry.json).toMatchObject({ id: job.id, status: 'completed', manifestJson: job.manifestJson });
  const after = (await archive.host.deps.audit.list(tenant, auditMonth(new Date()), 500)).items;
  expect(after.filter((e) => e.action === 'export.completed' && e.target === job.id)).toHaveLength(1);
});

it('the export id is the only thing asked: a copy naming an export of another tenant learns nothing the id of no export would not', async () => {
  const other = newTenant('proof-attacks-other');
  const otherToken = await archive.token({ tenant: other, sub: 'accountant@other.example', rights: 'accountant' });
  await seedMany(archive.host.deps, other, [{ metadata: { documentDate: '2031-01-01', kind: 'invoice' } }]);
  const started = await call(`${archive.url}/exports`, { method: 'POST', token: otherToken, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2031 }) });
  const theirs = started.json.id as string;
  for (let i = 0; i < 300 && (await call(`${archive.url}/exports/${theirs}`, { token: otherToken })).json.status === 'running'; i++) await new Promise((res) => setTimeout(res, 100));

  const none = '0190f2a4-0000-7000-8000-000000000000';
  const asTheirs = await call(`${archive.url}/exports/${theirs}`, { token });
  const asNone = await call(`${archive.url}/exports/${none}`, { token });
  expect(asTheirs.status).toBe(404);
  const strip = (j: Record<string, unknown>) => ({ ...j, instance: undefined, requestId: undefined, detail: typeof j.detail === 'string' ? j.detail.replace(theirs, none) : j.detail });
  expect(strip(asTheirs.json)).toEqual(strip(asNone.json));
  const dlTheirs = await call(`${archive.url}/exports/${theirs}/download?delivery=redirect`, { token });
  const dlNone = await call(`${archive.url}/exports/${none}/download?delivery=redirect`, { token });
  expect(dlTheirs.status).toBe(dlNone.status);
  expect(strip(dlTheirs.json)).toEqual(strip(dlNone.json));
});
