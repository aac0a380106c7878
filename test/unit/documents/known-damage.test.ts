/**
 * A file the last fixity check found changed (the same length: a download cannot see it before its last byte) is not
 * sent as the file archived: every download of it, streamed, ranged, HEAD or as a link, is `500 file_damaged`, with no
 * checksum headers and no link; the document's other files are still served, and so is the file once a later check
 * finds it intact again.
 */
import { runFixityTimer } from '../../../shared/retention/timers';
import { docOf, send, settle, TENANT, world, type World } from '../../support/in-process';

let w: World;
let id: string;
let originalBlob: string;
let archived: Buffer;

const blob = (name: string) => w.deps.blobs.blobs.get(`${TENANT}/${name}`)!;
const download = async (path: string, init: { method?: string; headers?: Record<string, string> } = {}) => {
  const r = await send(w, { method: init.method ?? 'GET', path, headers: init.headers ?? {}, as: 'alice' });
  await settle(w);
  return r;
};

beforeAll(async () => {
  w = world();
  id = await docOf(w);
  originalBlob = w.deps.catalog.documents.get(`${TENANT}/${id}`)!.originals[0]!.blobName;
  archived = blob(originalBlob).bytes;
  const changed = Buffer.from(archived);
  changed[changed.length - 1] = changed[changed.length - 1]! ^ 1;
  blob(originalBlob).bytes = changed;
  await runFixityTimer(w.deps);
  expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.fixity).toMatchObject({ ok: false, mismatched: [originalBlob] });
});

it.each([
  ['streamed', `documents/{id}/original`, {}],
  ['the first original by number', `documents/{id}/originals/1`, {}],
  ['a Range', `documents/{id}/original`, { headers: { Range: 'bytes=0-0' } }],
  ['HEAD', `documents/{id}/original`, { method: 'HEAD' }],
  ['as a link', `documents/{id}/original?delivery=redirect`, {}],
] as const)('%s: 500 file_damaged, nothing of the file, the refusal audited', async (_name, path, init) => {
  const r = await download(path.replace('{id}', id), init);
  expect(r.status).toBe(500);
  expect(r.headers['Content-Type']).toBe('application/problem+json');
  if (!('method' in init)) expect(r.json).toMatchObject({ code: 'file_damaged', detail: expect.stringContaining('fixity check') });
  expect([r.headers.ETag, r.headers['Repr-Digest'], r.headers.Location]).toEqual([undefined, undefined, undefined]);
  const entries = w.deps.audit.entries.filter((e) => e.requestId === r.requestId);
  expect(entries.map((e) => [e.outcome, e.detail])).toEqual([['failed', 'file_damaged']]);
});

it('the rendition, which the check found intact, is served', async () => {
  const r = await download(`documents/${id}/rendition`);
  expect(r.status).toBe(200);
  expect(r.bytes.equals(blob(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.rendition.blobName).bytes)).toBe(true);
});

it('once a later check finds the file intact again (restored), it is served again', async () => {
  blob(originalBlob).bytes = archived;
  w.clock.advance((w.deps.config.ARCHIVE_FIXITY_CYCLE_DAYS + 1) * 86_400_000);
  await runFixityTimer(w.deps);
  expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.fixity).toMatchObject({ ok: true });
  const r = await download(`documents/${id}/original`);
  expect(r.status).toBe(200);
  expect(r.bytes.equals(archived)).toBe(true);
});
