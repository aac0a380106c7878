import { createHash } from 'node:crypto';
/** Every bad input: a 4xx problem+json that says what is wrong, nothing stored, the process alive. */
import { call, multipart, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, tenantState, TestArchive } from '../support/harness';
import { shadowedJavaScriptPdf, xrefIntoStreamPdf } from '../support/hostile-pdf';

let archive: TestArchive;
let tenant: string;
let token: string;
let seeded: Awaited<ReturnType<typeof tenantState>>;

beforeAll(async () => {
  // One uploader sends every bad upload here, more than the default refusal burst (the limiter has tests of its own).
  archive = await startTestArchive({ ARCHIVE_MAX_UPLOAD_BYTES: String(2 * 1024 * 1024), ARCHIVE_REFUSAL_BURST: '500' });
  tenant = newTenant('bad');
  token = await archive.token({ tenant, sub: 'app', rights: 'uploader' });
  // One good document first, so "unchanged" compares against a non-empty tenant.
  expect((await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token })).status).toBe(201);
  seeded = await tenantState(archive, tenant);
});
afterAll(() => archive.stop());

async function expectRefused(init: RequestInit, status: number, code: string) {
  const res = await call(`${archive.url}/documents`, { ...init, token });
  expect({ status: res.status, code: res.json?.code }).toEqual({ status, code });
  expect(res.headers.get('content-type')).toBe('application/problem+json');
  expect(res.json).toMatchObject({ status, type: expect.stringContaining('/problems/'), title: expect.any(String), requestId: expect.any(String) });
  expect(await tenantState(archive, tenant)).toEqual(seeded);
  expect((await call(`${archive.url}/health`)).status).toBe(200);
  return res.json;
}

const file = (f: string, type: string) => rawUpload(corpusFile(f), type);

describe('bad uploads change nothing', () => {
  it('empty body', () => expectRefused({ method: 'POST', body: new Uint8Array(0), headers: { 'Content-Type': 'image/jpeg' } }, 400, 'empty_body'));
  it('a body that does not match the Content-Digest sent with it (damaged on the way)', async () => {
    const sent = corpusFile('img2pdf/normal.jpg');
    const digest = `sha-256=:${createHash('sha256').update(sent).digest('base64')}:`;
    const damaged = Buffer.from(sent);
    damaged[damaged.length >> 1] = 0xff - sent[sent.length >> 1]!;
    const init = rawUpload(damaged, 'image/jpeg');
    const body = await expectRefused({ ...init, headers: { ...(init.headers as Record<string, string>), 'Content-Digest': digest } }, 400, 'digest_mismatch');
    expect(body.declaredSha256).toBe(createHash('sha256').update(sent).digest('hex'));
  });
  it('zero-byte PDF', () => expectRefused(file('bad/empty.pdf', 'application/pdf'), 400, 'empty_body'));
  it('truncated JPEG', () => expectRefused(file('bad/truncated.jpg', 'image/jpeg'), 422, 'corrupt_file'));
  it('truncated PNG', () => expectRefused(file('bad/truncated.png', 'image/png'), 422, 'corrupt_file'));
  it('PNG with a broken CRC', () => expectRefused(file('bad/bad-crc.png', 'image/png'), 422, 'corrupt_file'));
  it('JPEG declaring 65000×65000 pixels', () => expectRefused(file('bad/huge-dimensions.jpg', 'image/jpeg'), 422, 'too_many_pixels'));
  it('TIFF declaring 200000×200000 pixels', () => expectRefused(file('bad/huge-dimensions.tif', 'image/tiff'), 422, 'too_many_pixels'));
  it('animated GIF', () => expectRefused(file('img2pdf/animation.gif', 'image/jpeg'), 415, 'unsupported_media_type'));
  it('raw JBIG2', () => expectRefused(file('img2pdf/mono.jb2', 'image/tiff'), 415, 'unsupported_media_type'));
  it('SVG with a script named .png', () => expectRefused(file('bad/script.svg.png', 'image/png'), 415, 'unsupported_media_type'));
  it('ELF binary named .tif', () => expectRefused(file('bad/elf-binary.tif', 'image/tiff'), 415, 'unsupported_media_type'));
  it('a type lie: HTML sent as image/jpeg', async () => {
    const body = await expectRefused(rawUpload(Buffer.from('<!doctype html><script>alert(1)</script>'), 'image/jpeg'), 415, 'unsupported_media_type');
    expect(body.detail).toMatch(/accepted are/);
  });
  it('an unsupported Content-Type', () => expectRefused(rawUpload(Buffer.from('hello'), 'text/plain'), 415, 'unsupported_media_type'));
  it('encrypted PDF (user password)', () => expectRefused(file('bad/encrypted-user-password.pdf', 'application/pdf'), 422, 'encrypted_pdf'));
  it('a PDF whose xref names a JavaScript catalog that a later definition hides from pdf-lib', async () => {
    const body = await expectRefused(rawUpload(shadowedJavaScriptPdf(), 'application/pdf'), 422, 'active_content');
    expect(body.reason).toBe('javascript');
  });
  it('a PDF whose older xref section points the catalog into stream data holding a JavaScript catalog', async () => {
    const body = await expectRefused(rawUpload(xrefIntoStreamPdf(true), 'application/pdf'), 422, 'active_content');
    expect(body.reason).toBe('javascript');
  });
  it('encrypted PDF (owner password only)', () => expectRefused(file('bad/encrypted-owner-only.pdf', 'application/pdf'), 422, 'encrypted_pdf'));
  it('oversize body (Content-Length)', () => expectRefused(rawUpload(Buffer.alloc(3 * 1024 * 1024, 0xff), 'image/jpeg'), 413, 'payload_too_large'));
  it('oversize multipart body', () =>
    expectRefused({ method: 'POST', body: multipart([{ bytes: Buffer.alloc(3 * 1024 * 1024, 1), name: 'big.jpg' }]) }, 413, 'payload_too_large'));
  it('malformed multipart (no boundary)', () => expectRefused({ method: 'POST', body: 'x', headers: { 'Content-Type': 'multipart/form-data' } }, 400, 'malformed_multipart'));
  it('truncated multipart', () =>
    expectRefused({ method: 'POST', body: '--XyZ\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nabc', headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' } }, 400, 'malformed_multipart'));
  it('a multipart file part without a name (it once threw inside busboy, an uncaught exception that ended the process)', () =>
    expectRefused({ method: 'POST', body: '--XyZ\r\nContent-Disposition: form-data; filename="a.jpg"\r\n\r\nabc\r\n--XyZ--\r\n', headers: { 'Content-Type': 'multipart/form-data; boundary=XyZ' } }, 400, 'malformed_multipart'));
  it('two metadata parts', () => {
    const form = multipart([{ bytes: corpusFile('img2pdf/gray.png'), name: 'a.png' }], { reference: 'A' });
    form.append('metadata', JSON.stringify({ reference: 'B' }));
    return expectRefused({ method: 'POST', body: form }, 400, 'invalid_metadata');
  });
  it('multipart without a file part', () => expectRefused({ method: 'POST', body: (() => { const f = new FormData(); f.append('metadata', '{}'); return f; })() }, 400, 'empty_body'));
  it('an unexpected multipart field', () => expectRefused({ method: 'POST', body: (() => { const f = new FormData(); f.append('tenantId', 'other'); return f; })() }, 400, 'malformed_multipart'));
  it('metadata that is not JSON', async () => {
    const form = multipart([{ bytes: corpusFile('img2pdf/gray.png'), name: 'a.png' }]);
    form.append('metadata', '{not json');
    await expectRefused({ method: 'POST', body: form }, 400, 'invalid_metadata');
  });
  it.each([
    [{ tenantId: 'someone-else' }, 'tenantId'],
    [{ documentDate: '2024-02-30' }, 'documentDate'],
    [{ kind: 'love-letter' }, 'kind'],
    [{ amount: 10 }, 'currency'],
    [{ amount: 10, currency: 'euro' }, 'currency'],
    [{ tags: Array.from({ length: 21 }, (_, i) => `t${i}`) }, 'tags'],
    [{ retentionClass: '1-day' }, 'retentionClass'],
  ])('metadata %j names %s', async (metadata, field) => {
    const body = await expectRefused({ method: 'POST', body: multipart([{ bytes: corpusFile('img2pdf/gray.png'), name: 'a.png' }], metadata) }, 400, 'invalid_metadata');
    expect(body.detail).toContain(field === 'tenantId' ? 'tenantId' : field);
  });
  it('a PDF together with images', () =>
    expectRefused({ method: 'POST', body: multipart([{ bytes: corpusFile('ocrmypdf/trivial.pdf'), name: 'a.pdf' }, { bytes: corpusFile('img2pdf/gray.png'), name: 'b.png' }]) }, 400, 'bad_request'));
});

describe('hostile file names', () => {
  const names = corpusFile('bad/hostile-file-names.txt').toString('utf8').split('\n').filter((n) => n.length > 0);
  // The last: an emoji where a long name is cut (a lone surrogate there once made every download of it a 500).
  names.push('a'.repeat(500) + '.png', 'evil\u0000.png', 'line\r\nbreak.png', `${'a'.repeat(195)}\u{1F600}${'b'.repeat(20)}.png`);
  it.each(names.map((n) => [JSON.stringify(n).slice(0, 60), n]))('%s is refused cleanly or stored only as a sanitised label and echoed safely', async (_, name) => {
    const t = newTenant('names');
    const tok = await archive.token({ tenant: t, sub: 'app', rights: 'archivist' });
    const up = await call(`${archive.url}/documents`, { method: 'POST', body: multipart([{ bytes: corpusFile('img2pdf/gray.png'), name }]), token: tok });
    if (up.status !== 201) {
      // Refusing is as good as sanitising, as long as it is clean and stores nothing.
      expect(up.status).toBe(400);
      expect(up.headers.get('content-type')).toBe('application/problem+json');
      expect(await tenantState(archive, t)).toEqual({ blobs: [], documents: 0 });
      return;
    }
    const stored: string | null = up.json.original.fileName;
    if (stored !== null) {
      expect(stored).not.toMatch(/[/\\\u0000-\u001f\u202e]/);
      expect(stored.length).toBeLessThanOrEqual(200);
    }
    const state = await tenantState(archive, t);
    expect(state.blobs).toEqual([`${up.json.id}/manifest.json`, `${up.json.id}/original.png`, `${up.json.id}/rendition.pdf`]);
    const dl = await call(`${archive.url}/documents/${up.json.id}/original`, { token: tok });
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-disposition')).toMatch(/^attachment; filename="[\x20-\x7e]*"; filename\*=UTF-8''[A-Za-z0-9%._~!-]*$/);
  });
});

describe('an id no stored item can have is not found, never a 500', () => {
  // The store's SDK refuses an empty id or one with `/`, `\` or `#` before asking: that error was a 500.
  it.each(['a%23b', 'a%5Cb', 'a%2Fb', '%20'])('GET /exports/%s and its download: 404 export_not_found', async (id) => {
    const admin = await archive.token({ tenant, sub: 'admin', rights: 'tenant-admin' });
    for (const path of [`/exports/${id}`, `/exports/${id}/download`]) {
      const res = await call(`${archive.url}${path}`, { token: admin });
      expect([path, res.status, res.json?.code, res.headers.get('content-type')]).toEqual([path, 404, 'export_not_found', 'application/problem+json']);
    }
  });
});

describe('text shown to other people: what displays as other text is refused, naming the field and the character, and nothing is stored', () => {
  const json = (method: string, body: unknown): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

  it('an API key named with a zero-width space (it would show as another key in the list) is not created', async () => {
    const t = newTenant('keyname');
    const admin = await archive.token({ tenant: t, sub: 'admin', rights: 'integration-admin' });
    const names = async () => ((await call(`${archive.url}/api-keys`, { token: admin })).json.items as { name: string }[]).map((k) => k.name);
    for (const [name, character] of [['scanner\u200b-1', 'U+200B'], ['scanner\u200f-1', 'U+200F'], ['\u3164', 'U+3164']] as const) {
      const res = await call(`${archive.url}/api-keys`, { ...json('POST', { name, rightsSet: 'uploader' }), token: admin });
      expect({ status: res.status, code: res.json?.code, type: res.headers.get('content-type') }).toEqual({ status: 400, code: 'bad_request', type: 'application/problem+json' });
      expect(res.json.detail).toMatch(new RegExp(`^name: must not contain ${character.replace('+', '\\+')} \\(`));
      expect(res.json.errors).toEqual([{ path: 'name', message: expect.stringContaining(character) }]);
    }
    expect(await names()).toEqual([]);
    // The name it looks like is a name like any other; spaces of another width read as one space.
    expect((await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'scanner\u00a0 1', rightsSet: 'uploader' }), token: admin })).status).toBe(201);
    expect(await names()).toEqual(['scanner 1']);
  });

  it('a legal hold whose reason holds an escape sequence (it would reach an operator\'s terminal through the audit log) is not placed', async () => {
    const t = newTenant('holdtext');
    const archivist = await archive.token({ tenant: t, sub: 'archivist', rights: 'archivist' });
    const up = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: archivist });
    expect(up.status).toBe(201);
    const before = await tenantState(archive, t);
    const refusals = [
      [{ reason: 'Tax audit \u001b[2J\u001b[1;1Hreleased', caseReference: 'FA-2024-117' }, 'reason', 'U+001B'],
      [{ reason: 'Tax audit', caseReference: 'FA-2024-\u202e711' }, 'caseReference', 'U+202E'],
      [{ reason: 'Tax audit', caseReference: 'FA-2024\n117' }, 'caseReference', 'U+000A'],
    ] as const;
    for (const [body, field, character] of refusals) {
      const res = await call(`${archive.url}/documents/${up.json.id}/legal-holds`, { ...json('POST', body), token: archivist });
      expect({ status: res.status, code: res.json?.code, type: res.headers.get('content-type') }).toEqual({ status: 400, code: 'bad_request', type: 'application/problem+json' });
      expect(res.json.detail).toContain(`${field}: must not contain ${character} (`);
    }
    const doc = await call(`${archive.url}/documents/${up.json.id}`, { token: archivist });
    expect({ legalHold: doc.json.legalHold, holds: doc.json.holds }).toEqual({ legalHold: false, holds: [] });
    expect(await tenantState(archive, t)).toEqual(before);
    // A reason of several lines is still a reason.
    const placed = await call(`${archive.url}/documents/${up.json.id}/legal-holds`, { ...json('POST', { reason: 'Tax audit 2024\r\n\tletter of 3 March', caseReference: 'FA-2024-117' }), token: archivist });
    expect(placed.status).toBe(201);
    expect(placed.json.reason).toBe('Tax audit 2024\n\tletter of 3 March');
  });
});
