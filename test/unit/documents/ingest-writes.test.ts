/**
 * Write order of an ingest: the rendition first (it decides the owner), then every original at
 * once, then the manifest, then the catalog. The blob fake records how many writes were in flight together.
 */
import type { Principal } from '../../../shared/kernel/principal';
import { ingestDocument } from '../../../shared/documents/ingest';
import type { CreateOnlyOutcome, WormSettings } from '../../../shared/ports';
import { InMemoryBlobArchive, inMemoryDeps } from '../../support/in-memory';

/** Each write takes a little while, so parallel writes overlap and the log shows it. */
class SlowBlobArchive extends InMemoryBlobArchive {
  readonly log: { name: string; inFlight: number }[] = [];
  private inFlight = 0;
  override async putCreateOnly(tenantId: string, name: string, bytes: Buffer, contentType: string, worm: WormSettings, metadata: Record<string, string>): Promise<CreateOnlyOutcome> {
    this.inFlight++;
    this.log.push({ name: name.split('/')[1]!, inFlight: this.inFlight });
    await new Promise((r) => setTimeout(r, 5));
    this.inFlight--;
    return super.putCreateOnly(tenantId, name, bytes, contentType, worm, metadata);
  }
}

const principal: Principal = { tenantId: 'acme', subject: 'u', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write']) };

it('writes the rendition alone, then all originals in parallel, then the manifest', async () => {
  const blobs = new SlowBlobArchive();
  const deps = { ...inMemoryDeps(), blobs };
  const files = [1, 2, 3, 4].map((n) => ({ bytes: Buffer.from([n, n, n]), fileName: null }));
  await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);

  const { log } = blobs;
  expect(log[0]).toEqual({ name: 'rendition.pdf', inFlight: 1 });
  expect(log.slice(1, 5).map((w) => w.name).sort()).toEqual(['original-001.png', 'original-002.png', 'original-003.png', 'original-004.png']);
  expect(Math.max(...log.slice(1, 5).map((w) => w.inFlight))).toBe(4);
  expect(log[5]).toEqual({ name: 'manifest.json', inFlight: 1 });
  expect(deps.catalog.documents.size).toBe(1);
});
