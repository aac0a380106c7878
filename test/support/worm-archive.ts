/** An archive host with ARCHIVE_WORM=enforce behind the WORM proxy, and a fake clock shared by both. */
import { BlobServiceClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { readEmulators } from './emulators-file';
import { FakeClock } from './fake-clock';
import { corpusFile, startTestArchive, TestArchive } from './harness';
import { call, rawUpload } from './http';
import { startWormProxy, WormProxy } from './worm-proxy';

export interface WormArchive extends TestArchive {
  proxy: WormProxy;
  clock: FakeClock;
  /** A client for the account behind the proxy (what anyone else with access could do). */
  storage: BlobServiceClient;
}

export async function startWormArchive(start = '2025-03-01T12:00:00Z', overrides: Record<string, string> = {}): Promise<WormArchive> {
  const emulators = readEmulators();
  const clock = new FakeClock(start);
  const proxy = await startWormProxy({ upstreamPort: emulators.azuritePort, now: () => clock.now() });
  const connectionString = proxy.connectionString(emulators.storageConnectionString);
  const archive = await startTestArchive({ ARCHIVE_WORM: 'enforce', STORAGE_CONNECTION_STRING: connectionString, ...overrides });
  archive.host.deps.clock = clock;
  return {
    ...archive,
    proxy,
    clock,
    storage: BlobServiceClient.fromConnectionString(connectionString),
    stop: async () => {
      await archive.stop();
      await proxy.stop();
    },
  };
}

/** A distinct small JPEG per call (the archive refuses duplicate originals). */
export function uniqueJpeg(): Buffer {
  return taggedJpeg(randomBytes(16).toString('hex'));
}

/** The corpus JPEG with `tag` in a comment (COM) segment after SOI: distinct bytes, still one clean JPEG. */
export function taggedJpeg(tag: string): Buffer {
  const jpg = corpusFile('img2pdf/normal.jpg');
  const text = Buffer.from(tag, 'utf8');
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpg.subarray(0, 2), com, text, jpg.subarray(2)]);
}

export async function ingest(archive: TestArchive, token: string, metadata: Record<string, unknown> = {}): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
  form.append('metadata', JSON.stringify(metadata));
  const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, token });
  if (res.status !== 201) throw new Error(`ingest answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json.id as string;
}

export { rawUpload };
