import { deliverStoredFile } from '../../../shared/http/download';
import type { StoredFileRef } from '../../../shared/ports';
import { inMemoryDeps } from '../../support/in-memory';

const redirect = { delivery: 'redirect' as const, range: null, ifRange: null, ifNoneMatch: null };
const file = (availableUntil?: string): StoredFileRef => ({
  container: 'exports-acme',
  blobName: 'x.zip',
  sha256: 'ab'.repeat(32),
  size: 10,
  mediaType: 'application/zip',
  name: 'export.zip',
  ...(availableUntil ? { availableUntil } : {}),
  read: () => Promise.reject(new Error('a redirect reads nothing')),
});

it('a read-only link lives ARCHIVE_DOWNLOAD_LINK_SECONDS, and never past the file\'s own availability (an export about to expire)', async () => {
  const deps = inMemoryDeps();
  const now = deps.clock.now().getTime();
  const full = await deliverStoredFile(file(), redirect, deps);
  expect(Date.parse(full.headers['Link-Expires']!)).toBe(now + deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS * 1000);
  const soon = await deliverStoredFile(file(new Date(now + 120_000).toISOString()), redirect, deps);
  expect(soon.status).toBe(303);
  expect(Date.parse(soon.headers['Link-Expires']!)).toBe(now + 120_000);
});

it('If-None-Match compares weakly (RFC 9110): the ETag sent back as W/"…" is a 304 as well; another one is not', async () => {
  const deps = inMemoryDeps();
  const conditions = (ifNoneMatch: string) => ({ range: null, ifRange: null, ifNoneMatch });
  expect((await deliverStoredFile(file(), conditions(`"${'ab'.repeat(32)}"`), deps)).status).toBe(304);
  expect((await deliverStoredFile(file(), conditions(`"other", W/"${'ab'.repeat(32)}"`), deps)).status).toBe(304);
  await expect(deliverStoredFile(file(), conditions(`W/"${'cd'.repeat(32)}"`), deps)).rejects.toThrow('a redirect reads nothing');
});
