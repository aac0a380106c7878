/**
 * HEAD over the local host, as a download manager or `curl -I` asks before it fetches: every GET answers it with the
 * GET's status and header fields and no content (RFC 9110 §9.3.2), audited as the GET is (detail `head;…`).
 */
import { call, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
let tenant: string;
let token: string;
let id: string;
const bytes = corpusFile('ocrmypdf/baiona_color.jpg');
const month = () => new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('head');
  token = await archive.token({ tenant, sub: 'acc@head.example', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { ...rawUpload(bytes, 'image/jpeg', 'receipt.jpg'), token });
  expect(up.status).toBe(201);
  id = up.json.id;
});
afterAll(() => archive.stop());

/** The header fields both answers must agree on (not the request id, date or connection). */
const fields = (h: Headers) => Object.fromEntries([...h].filter(([n]) => !/^(x-request-id|date|connection|keep-alive)$/.test(n)));

it("a download's HEAD has the GET's status and header fields, Content-Length the file's, and no content", async () => {
  for (const range of [null, 'bytes=10-19']) {
    const headers = range ? { Range: range } : undefined;
    const get = await call(`${archive.url}/documents/${id}/original`, { token, headers });
    const head = await call(`${archive.url}/documents/${id}/original`, { method: 'HEAD', token, headers });
    expect([head.status, head.bytes.length]).toEqual([range ? 206 : 200, 0]);
    expect(fields(head.headers)).toEqual(fields(get.headers));
    expect(head.headers.get('content-length')).toBe(String(range ? 10 : bytes.length));
    expect(head.headers.get('etag')).toBe(`"${sha256hex(bytes)}"`);
  }
});

it("a JSON read's HEAD has its status and Content-Length; a conditional HEAD is answered 304 or 412 as its GET is", async () => {
  const get = await call(`${archive.url}/documents/${id}`, { token });
  const head = await call(`${archive.url}/documents/${id}`, { method: 'HEAD', token });
  expect([head.status, head.bytes.length, head.headers.get('content-length')]).toEqual([200, 0, String(get.bytes.length)]);
  expect(head.headers.get('etag')).toBe(get.headers.get('etag'));
  const etag = `"${sha256hex(bytes)}"`;
  expect((await call(`${archive.url}/documents/${id}/original`, { method: 'HEAD', token, headers: { 'If-None-Match': etag } })).status).toBe(304);
  expect((await call(`${archive.url}/documents/${id}/original`, { method: 'HEAD', token, headers: { 'If-Match': '"0000"' } })).status).toBe(412);
});

it('a HEAD is refused as its GET is, and only a GET takes HEAD', async () => {
  const elsewhere = await archive.token({ tenant: newTenant('head-other'), sub: 'x@other.example', rights: 'archivist' });
  const asked = (method: string) => call(`${archive.url}/documents/${id}/original`, { method, token: elsewhere });
  const [get, head] = [await asked('GET'), await asked('HEAD')];
  expect([head.status, head.bytes.length, head.headers.get('content-type')]).toEqual([get.status, 0, 'application/problem+json']);
  expect(get.status).toBe(404);
  expect((await call(`${archive.url}/documents/${id}/original`, { method: 'HEAD' })).status).toBe(401);
  const post = await call(`${archive.url}/documents/${id}/legal-holds`, { method: 'HEAD', token });
  expect([post.status, post.headers.get('allow')]).toEqual([405, 'POST']);
  expect((await call(`${archive.url}/health`, { method: 'HEAD' })).status).toBe(200);
});

it('each HEAD is one audit entry: the GET\'s action, its detail after `head;`', async () => {
  const before = (await archive.host.deps.audit.all(tenant, month())).length;
  await call(`${archive.url}/documents/${id}/rendition`, { method: 'HEAD', token, headers: { Range: 'bytes=0-0' } });
  const entries = (await archive.host.deps.audit.all(tenant, month())).slice(before);
  expect(entries.map((e) => [e.action, e.outcome, e.status, e.detail?.replace(/[0-9a-f]{64}/, '<sha256>')])).toEqual([['document.download-rendition', 'success', 206, 'head;sha256=<sha256>;bytes=0-0']]);
});
