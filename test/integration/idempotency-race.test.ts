/**
 * Parallel uploads with one Idempotency-Key over HTTP, against real Azurite and the Cosmos
 * server: one request owns the document, the others are refused, and every blob stored under
 * the document matches the catalog's checksums (what the fixity check would verify). Parallel support grants and
 * disposal approvals with one key: the tenant records' conditional create lets one through, the others answer it.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { call, rawUpload, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const FILES: [string, string][] = [
  ['img2pdf/gray.png', 'image/png'],
  ['img2pdf/mono.png', 'image/png'],
  ['img2pdf/normal.png', 'image/png'],
  ['img2pdf/normal.jpg', 'image/jpeg'],
  ['img2pdf/CMYK.jpg', 'image/jpeg'],
  ['derived/baiona-gray.jpg', 'image/jpeg'],
];

it('six parallel uploads with one Idempotency-Key and different files: exactly one 201, the others 422 or 409, nothing stored disagrees with the catalog', async () => {
  const t = newTenant('race');
  const tok = await archive.token({ tenant: t, sub: 'app', rights: 'uploader' });
  const answers = await Promise.all(
    FILES.map(([file, type]) => call(`${archive.url}/documents`, { ...rawUpload(corpusFile(file), type), headers: { 'Content-Type': type, 'Idempotency-Key': 'batch-7' }, token: tok })),
  );
  const created = answers.filter((a) => a.status === 201);
  expect(created).toHaveLength(1);
  expect(created[0]!.headers.get('idempotent-replayed')).toBeNull();
  for (const a of answers.filter((x) => x.status !== 201)) {
    expect(a.headers.get('content-type')).toBe('application/problem+json');
    expect([a.status, a.json.code]).toEqual(a.status === 409 ? [409, 'idempotency_in_flight'] : [422, 'idempotency_key_reused']);
    if (a.status === 409) expect(a.headers.get('retry-after')).toMatch(/^\d+$/);
  }
  const doc = (await archive.host.deps.catalog.get(t, created[0]!.json.id))!;
  const listed = new Map([...doc.originals, doc.rendition].map((f) => [f.blobName, f.sha256]));
  const container = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString).getContainerClient(`tenant-${t}`);
  const stored: string[] = [];
  for await (const b of container.listBlobsFlat({ prefix: `${doc.id}/` })) stored.push(b.name);
  expect(stored.sort()).toEqual([...listed.keys(), `${doc.id}/manifest.json`].sort());
  for (const [name, sha] of listed) expect(sha256hex(await container.getBlobClient(name).downloadToBuffer())).toBe(sha);
  // A later retry with the winner's file replays it; with another file it is refused.
  const winner = FILES[answers.indexOf(created[0]!)]!;
  const replay = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile(winner[0]), winner[1]), headers: { 'Content-Type': winner[1], 'Idempotency-Key': 'batch-7' }, token: tok });
  expect([replay.status, replay.headers.get('idempotent-replayed'), replay.json.id]).toEqual([201, 'true', doc.id]);
});

it('six parallel support grants, and six parallel approvals, with one Idempotency-Key: one grant and one approval, every answer theirs', async () => {
  const t = newTenant('race-keys');
  const tok = await archive.token({ tenant: t, sub: 'admin', rights: 'tenant-admin' });
  const post = (path: string, body: unknown, key: string) => call(`${archive.url}/${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key }, body: JSON.stringify(body), token: tok });
  const expiresAt = new Date(Date.now() + 86400_000).toISOString();
  const grants = await Promise.all(Array.from({ length: 6 }, () => post('support-grants', { ticket: 'SUP-RACE', scope: 'read-only', expiresAt }, 'grant-race')));
  expect(grants.map((g) => g.status)).toEqual(Array(6).fill(201));
  expect(new Set(grants.map((g) => g.json.id)).size).toBe(1);
  expect(grants.filter((g) => g.headers.get('idempotent-replayed') === null)).toHaveLength(1);
  const listed = await call(`${archive.url}/support-grants`, { token: tok });
  expect(listed.json.items.map((g: { id: string }) => g.id)).toEqual([grants[0]!.json.id]);
  const approvals = await Promise.all(Array.from({ length: 6 }, () => post('retention/approvals', { before: expiresAt, reason: 'Annual review' }, 'approval-race')));
  expect(approvals.map((a) => a.status)).toEqual(Array(6).fill(201));
  expect(new Set(approvals.map((a) => a.json.approvalId)).size).toBe(1);
  const other = await post('retention/approvals', { before: expiresAt, reason: 'Another review' }, 'approval-race');
  expect([other.status, other.json.code, other.json.approvalId]).toEqual([422, 'idempotency_key_reused', approvals[0]!.json.approvalId]);
});
