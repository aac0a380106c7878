/** Every document read is audited once, and its entry says which file it read: one original of several, which bytes, or until when a link reads. */
import { createHash } from 'node:crypto';
import { ROUTES } from '../../../functions/routes';
import { handleRequest } from '../../../shared/http/pipeline';
import type { ArchiveRequest } from '../../../shared/http/types';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';
import { keepManifest } from '../../support/seed';

const T = 'acme';
const ID = '01890a5d-ac96-774b-bcce-b302099a8057';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'accountant', permissions: new Set(BUILT_IN_RIGHTS_SETS.accountant) };

function request(path: string, params: Record<string, string>, headers: Record<string, string> = {}): ArchiveRequest {
  return { method: 'GET', url: new URL(`http://localhost/api/${path}`), params, headers: { get: (n) => headers[n] ?? null }, body: null, clientIp: '10.0.0.1', requestId: `req-${path}-${JSON.stringify(headers)}` };
}

it('the audit entry of a read names the original it read (of several), the bytes of a range, and until when a link reads', async () => {
  const deps = inMemoryDeps();
  deps.authenticator = { authenticate: async () => alice };
  const first = Buffer.from('the first scanned page');
  const second = Buffer.from('the second scanned page, other bytes');
  const files = [first, second].map((bytes, i) => ({ blobName: `${ID}/original-00${i + 1}.jpg`, sha256: sha(bytes), size: bytes.length, mediaType: 'image/jpeg', fileName: null, bytes }));
  for (const f of files) await deps.blobs.putCreateOnly(T, f.blobName, f.bytes, f.mediaType, { retainUntil: '2035-01-01T00:00:00Z', legalHold: false }, {});
  const originals = files.map(({ bytes: _bytes, ...f }) => f);
  const doc = { id: ID, tenantId: T, type: 'document', status: 'active', original: originals[0], originals, rendition: originals[0] } as unknown as ArchivedDocument;
  deps.catalog.documents.set(`${T}/${ID}`, doc);
  await keepManifest(deps, doc); // a download serves only a folder the archive's manifest witnesses
  const part = ROUTES.find((r) => r.name === 'downloadOriginalPart')!;

  const answers = [
    await handleRequest(part, request('originals/1', { id: ID, part: '1' }), deps),
    await handleRequest(part, request('originals/2', { id: ID, part: '2' }), deps),
    await handleRequest(part, request('originals/2', { id: ID, part: '2' }, { range: 'bytes=4-9' }), deps),
    await handleRequest(part, request('originals/2', { id: ID, part: '2' }, { 'if-none-match': `"${sha(second)}"` }), deps),
    await handleRequest(part, request('originals/2?delivery=redirect', { id: ID, part: '2' }), deps),
  ];
  expect(answers.map((a) => a.status)).toEqual([200, 200, 206, 304, 303]);
  const entries = deps.audit.entries;
  expect(entries.map((e) => [e.action, e.target, e.outcome, e.status])).toEqual(answers.map((a) => ['document.download-original', ID, 'success', a.status]));
  expect(entries.map((e) => e.detail)).toEqual([
    `sha256=${sha(first)}`,
    `sha256=${sha(second)}`,
    `sha256=${sha(second)};bytes=4-9`,
    `sha256=${sha(second)}`,
    `sha256=${sha(second)};link-until=${answers[4]!.headers!['Link-Expires']}`,
  ]);
});

it('a refused read names what it aimed at, but only so much of it and without controls: the path is the requester\'s text', async () => {
  const deps = inMemoryDeps();
  deps.authenticator = { authenticate: async () => alice };
  const rendition = ROUTES.find((r) => r.name === 'downloadRendition')!;
  const aimed = `${'a'.repeat(6000)}\u001b[2J\r\nforged\u202e`;
  expect((await handleRequest(rendition, request('rendition', { id: aimed }), deps)).status).toBe(404);
  expect((await handleRequest(rendition, request('rendition', { id: 'x\u001b[2J\r\n' }), deps)).status).toBe(404);
  const [long, short] = deps.audit.entries;
  expect(long).toMatchObject({ outcome: 'refused', detail: 'document_not_found', target: `${'a'.repeat(128)}…` });
  expect(short!.target).toBe('x\uFFFD[2J\uFFFD\uFFFD');
});

it("the User-Agent an entry keeps is the requester's text too: bounded by characters, controls and overrides shown as U+FFFD", async () => {
  const deps = inMemoryDeps();
  deps.authenticator = { authenticate: async () => alice };
  const rendition = ROUTES.find((r) => r.name === 'downloadRendition')!;
  // A C1 control (CSI, as Node reads a raw 0x9B header byte), an override, and an emoji at the cut.
  await handleRequest(rendition, request('rendition', { id: ID }, { 'user-agent': 'scanner\u009b2J\u202e' }), deps);
  await handleRequest(rendition, request('rendition', { id: ID }, { 'user-agent': `${'u'.repeat(299)}😀😀` }), deps);
  const [forged, long] = deps.audit.entries;
  expect(forged!.userAgent).toBe('scanner\uFFFD2J\uFFFD');
  expect(long!.userAgent).toBe(`${'u'.repeat(299)}😀…`);
});
