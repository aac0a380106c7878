/**
 * ARCHIVE_STREAMED_ANSWER_MAX_BYTES: no download answer streams more than the cap through the API
 * (the Functions Node library buffers what a slow client cannot take, Azure/azure-functions-nodejs-library#294).
 * A larger whole file or range goes out as a link, or, to support, as a refusal naming the Range size to ask for.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ROUTES } from '../../../functions/routes';
import { loadConfig } from '../../../shared/config';
import { handleRequest } from '../../../shared/http/pipeline';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps } from '../../support/in-memory';
import { keepManifest } from '../../support/seed';

const T = 'acme';
const ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const CAP = 64 * 1024;

const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'accountant', permissions: new Set(BUILT_IN_RIGHTS_SETS.accountant) };
const staff: Principal = { tenantId: T, subject: 'staff-1', kind: 'support', rightsSet: 'support', permissions: new Set(['documents:read', 'documents:download']), grantId: 'grant-1' };

async function archiveWith(bytes: Buffer, principal: Principal) {
  const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP) }));
  deps.authenticator = { authenticate: async () => principal };
  const stored = { blobName: `${ID}/rendition.pdf`, sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length, mediaType: 'application/pdf' };
  await deps.blobs.putCreateOnly(T, stored.blobName, bytes, 'application/pdf', { retainUntil: '2035-01-01T00:00:00Z', legalHold: false }, {});
  const doc = { id: ID, tenantId: T, type: 'document', status: 'active', original: { ...stored, fileName: null }, originals: [], rendition: stored } as unknown as ArchivedDocument;
  deps.catalog.documents.set(`${T}/${ID}`, doc);
  await keepManifest(deps, doc); // a download serves only a folder the archive's manifest witnesses
  const route = ROUTES.find((r) => r.name === 'downloadRendition')!;
  let n = 0;
  const get = (headers: Record<string, string> = {}, query = '') =>
    handleRequest(route, {
      method: 'GET',
      url: new URL(`http://localhost/api/documents/${ID}/rendition${query}`),
      params: { id: ID },
      headers: { get: (name) => headers[name.toLowerCase()] ?? null },
      body: null,
      clientIp: '10.0.0.1',
      requestId: `req-${++n}`,
    }, deps);
  return { deps, get, sha256: stored.sha256 };
}

async function bodyOf(body: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body;
  const chunks: Buffer[] = [];
  for await (const c of body as Readable) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

const pdf = (size: number) => Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(size - 9, 0x41)]);

it('a whole file above the cap is answered 303 with the link, audited exactly as ?delivery=redirect', async () => {
  const { deps, get, sha256 } = await archiveWith(pdf(CAP + 1), alice);
  const res = await get();
  expect(res.status).toBe(303);
  expect(res.body ?? '').toBe('');
  expect(res.headers!.Location).toBe(`http://links.invalid/tenant-${T}/${ID}/rendition.pdf`);
  expect(res.headers!.ETag).toBe(`"${sha256}"`);
  expect(res.headers!['Repr-Digest']).toBe(`sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
  const until = new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS * 1000).toISOString();
  expect(res.headers!['Link-Expires']).toBe(until);

  const asked = await get({}, '?delivery=redirect');
  expect(asked.status).toBe(303);
  expect(asked.headers!.Location).toBe(res.headers!.Location);
  const entries = deps.audit.entries.filter((e) => e.action === 'document.download-rendition');
  expect(entries.map((e) => [e.outcome, e.status, e.detail])).toEqual([
    ['success', 303, `sha256=${sha256};link-until=${until}`],
    ['success', 303, `sha256=${sha256};link-until=${until}`],
  ]);
});

it('?delivery=redirect with a Range is audited with the range asked for (storage serves it); an unsatisfiable one as the whole file', async () => {
  const { deps, get, sha256 } = await archiveWith(pdf(1000), alice);
  const until = new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS * 1000).toISOString();
  expect((await get({ range: 'bytes=10-20' }, '?delivery=redirect')).status).toBe(303);
  expect((await get({ range: 'bytes=10-20', 'if-range': '"not-ours"' }, '?delivery=redirect')).status).toBe(303);
  expect((await get({ range: 'bytes=5000-' }, '?delivery=redirect')).status).toBe(303);
  expect(deps.audit.entries.filter((e) => e.action === 'document.download-rendition').map((e) => e.detail)).toEqual([
    `sha256=${sha256};bytes=10-20;link-until=${until}`,
    `sha256=${sha256};link-until=${until}`,
    `sha256=${sha256};link-until=${until}`,
  ]);
});

it('support asking for a whole file above the cap gets range_too_large naming the piece size, and no link', async () => {
  const { deps, get } = await archiveWith(pdf(CAP + 1), staff);
  const res = await get();
  expect(res.status).toBe(422);
  expect(res.headers!.Location).toBeUndefined();
  const problem = JSON.parse(res.body as string) as Record<string, unknown>;
  expect(problem).toMatchObject({ code: 'range_too_large', status: 422, maxRangeBytes: CAP, size: CAP + 1 });
  expect(problem.detail).toMatch(/Range/);
  expect(deps.audit.entries.filter((e) => e.action === 'document.download-rendition').map((e) => [e.outcome, e.status])).toEqual([['refused', 422]]);
  // The pieces it names are served, the last one short.
  const first = await get({ range: `bytes=0-${CAP - 1}` });
  expect(first.status).toBe(206);
  const last = await get({ range: `bytes=${CAP}-${2 * CAP - 1}`, 'if-range': first.headers!.ETag! });
  expect(last.status).toBe(206);
  expect(last.headers!['Content-Range']).toBe(`bytes ${CAP}-${CAP}/${CAP + 1}`);
  expect(Buffer.concat([await bodyOf(first.body), await bodyOf(last.body)])).toEqual(pdf(CAP + 1));
});

it('a range up to the cap is served 206 with ETag and Repr-Digest of the whole file, to users and support alike', async () => {
  for (const principal of [alice, staff]) {
    const bytes = pdf(3 * CAP);
    const { get, sha256 } = await archiveWith(bytes, principal);
    const res = await get({ range: `bytes=${CAP}-${2 * CAP - 1}` });
    expect(res.status).toBe(206);
    expect(res.headers!['Content-Range']).toBe(`bytes ${CAP}-${2 * CAP - 1}/${3 * CAP}`);
    expect(res.headers!['Content-Length']).toBe(String(CAP));
    expect(res.headers!.ETag).toBe(`"${sha256}"`);
    expect(res.headers!['Repr-Digest']).toBe(`sha-256=:${Buffer.from(sha256, 'hex').toString('base64')}:`);
    expect(await bodyOf(res.body)).toEqual(bytes.subarray(CAP, 2 * CAP));
  }
});

it('a larger range (a resume: curl -C - -L, wget -c) is answered with the link to a user, the audit entry naming the range asked for', async () => {
  const { deps, get, sha256 } = await archiveWith(pdf(3 * CAP), alice);
  const until = new Date(deps.clock.now().getTime() + deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS * 1000).toISOString();
  const resumed = await get({ range: `bytes=${CAP}-` });
  expect(resumed.status).toBe(303);
  expect(resumed.body ?? '').toBe('');
  expect(resumed.headers!.Location).toBe(`http://links.invalid/tenant-${T}/${ID}/rendition.pdf`);
  expect(resumed.headers!.ETag).toBe(`"${sha256}"`);
  expect(resumed.headers!['Link-Expires']).toBe(until);
  expect(resumed.headers!['Content-Range']).toBeUndefined();
  // A suffix range and a browser's resume under our ETag alike.
  expect((await get({ range: `bytes=-${CAP + 1}` })).status).toBe(303);
  expect((await get({ range: `bytes=1-`, 'if-range': `"${sha256}"` })).status).toBe(303);
  // A range beyond the end is still 416, not a link.
  expect((await get({ range: `bytes=${3 * CAP}-` })).status).toBe(416);
  expect(deps.audit.entries.filter((e) => e.action === 'document.download-rendition').map((e) => [e.status, e.detail])).toEqual([
    [303, `sha256=${sha256};bytes=${CAP}-${3 * CAP - 1};link-until=${until}`],
    [303, `sha256=${sha256};bytes=${2 * CAP - 1}-${3 * CAP - 1};link-until=${until}`],
    [303, `sha256=${sha256};bytes=1-${3 * CAP - 1};link-until=${until}`],
    [416, 'range_not_satisfiable'],
  ]);
});

it('a larger range is refused to support with range_too_large naming the piece to ask for, and no link', async () => {
  const { deps, get } = await archiveWith(pdf(3 * CAP), staff);
  const resumed = await get({ range: `bytes=${CAP}-` });
  expect(resumed.status).toBe(422);
  expect(resumed.headers!.Location).toBeUndefined();
  const problem = JSON.parse(resumed.body as string) as Record<string, unknown>;
  expect(problem).toMatchObject({ code: 'range_too_large', maxRangeBytes: CAP, size: 3 * CAP });
  expect(problem.detail).toMatch(new RegExp(`bytes=${CAP}-${2 * CAP - 1}`));
  expect(problem.detail).not.toMatch(/leave out Range/i);
  expect((await get({ range: `bytes=-${CAP + 1}` })).status).toBe(422);
  expect(deps.audit.entries.map((e) => [e.outcome, e.status])).toEqual([['refused', 422], ['refused', 422]]);
});

it('If-Range naming another validator drops the range: the whole file, so a link (user, audited as the whole file) or the refusal (support)', async () => {
  const bytes = pdf(2 * CAP);
  // A small range and a large one alike; storage's own ETag (a download begun at the link) is "another validator" here too.
  for (const stale of [{ range: 'bytes=0-99', 'if-range': `"${'0'.repeat(64)}"` }, { range: `bytes=1-`, 'if-range': '"0x8DC0000000000000"' }]) {
    const user = await archiveWith(bytes, alice);
    expect((await user.get(stale)).status).toBe(303);
    expect(user.deps.audit.entries.map((e) => e.detail)).toEqual([expect.stringMatching(new RegExp(`^sha256=${user.sha256};link-until=`))]);
    expect((await (await archiveWith(bytes, staff)).get(stale)).status).toBe(422);
  }
  // If-None-Match still comes first: a client holding this file gets 304, whatever its size.
  const user = await archiveWith(bytes, alice);
  expect((await user.get({ 'if-none-match': `"${user.sha256}"` })).status).toBe(304);
});

it('a file up to the cap streams as before, to users and support alike', async () => {
  for (const principal of [alice, staff]) {
    const bytes = pdf(CAP);
    const { get, sha256 } = await archiveWith(bytes, principal);
    const res = await get();
    expect(res.status).toBe(200);
    expect(res.headers!['Content-Length']).toBe(String(CAP));
    expect(res.headers!.ETag).toBe(`"${sha256}"`);
    expect(await bodyOf(res.body)).toEqual(bytes);
  }
});

it('the cap defaults to 16 MiB and is at least 64 KiB', () => {
  expect(loadConfig(minimalLocalEnv).ARCHIVE_STREAMED_ANSWER_MAX_BYTES).toBe(16 * 1024 * 1024);
  expect(() => loadConfig({ ...minimalLocalEnv, ARCHIVE_STREAMED_ANSWER_MAX_BYTES: '1000' })).toThrow(/ARCHIVE_STREAMED_ANSWER_MAX_BYTES/);
});
