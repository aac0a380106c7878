import { PassThrough, type Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { ZipFile } from 'yazl';
import { ExportZip } from '../../../shared/exports/zip-writer';

/**
 * The export worker's ZIP writer over a fiscal year of small receipts: yazl scanned its whole entry list from the first
 * entry on every step, O(N²) over an export (14 s of CPU for 40,000 files, on the host's event loop). Held here by
 * counting those reads, never by timing: per file they stay the same as the number of files doubles, and the bytes
 * written are yazl's own.
 */

/** Counts every read of an entry of the ZIP's entry list, through whatever array the list is at the time. */
function countEntryReads(zip: ZipFile): { reads: number } {
  const counter = { reads: 0 };
  const wrap = (list: unknown[]) =>
    new Proxy(list, {
      get(target, key, receiver) {
        if (typeof key === 'string' && /^\d+$/.test(key)) counter.reads++;
        return Reflect.get(target, key, receiver) as unknown;
      },
    });
  const self = zip as unknown as { entries: unknown[] };
  let current = wrap(self.entries);
  Object.defineProperty(zip, 'entries', {
    get: () => current,
    set: (next: unknown[]) => void (current = wrap(next)),
    configurable: true,
  });
  return counter;
}

/** A ZIP of `n` small files added as the worker adds them (each written before the next), then its end. */
async function zipOf(zip: ZipFile, n: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const out = (zip.outputStream as Readable).on('data', (c: Buffer) => chunks.push(c));
  const ended = finished(out);
  const mtime = new Date('2024-06-30T12:00:00Z');
  for (let i = 0; i < n; i++) {
    const file = new PassThrough();
    const body = Buffer.from(`%PDF-1.7\n% receipt ${i}\n%%EOF\n`);
    zip.addReadStream(file, `documents/2024-01-${String(1 + (i % 28)).padStart(2, '0')} receipt Shop ${i}.pdf`, { compress: false, size: body.length, mtime });
    file.end(body);
    await finished(file);
    if (zip instanceof ExportZip) zip.settle();
  }
  zip.addBuffer(Buffer.from('{"documents":[]}\n'), 'manifest.json', { mtime });
  zip.end();
  await ended;
  return Buffer.concat(chunks);
}

async function readsPerFile(make: () => ZipFile, n: number): Promise<number> {
  const zip = make();
  const counter = countEntryReads(zip);
  await zipOf(zip, n);
  return counter.reads / n;
}

describe('export ZIP writer at a fiscal year of small documents', () => {
  it('reads its entry list a constant number of times per file as the files double (yazl alone: twice as often)', async () => {
    const [small, large] = [await readsPerFile(() => new ExportZip(), 400), await readsPerFile(() => new ExportZip(), 800)];
    expect(large).toBeLessThan(small * 1.2);
    expect(large).toBeLessThan(20);
    // The control: the same count over yazl's own ZipFile grows with N, so the count above would see the growth.
    const [yazlSmall, yazlLarge] = [await readsPerFile(() => new ZipFile(), 400), await readsPerFile(() => new ZipFile(), 800)];
    expect(yazlLarge).toBeGreaterThan(yazlSmall * 1.8);
  });

  it("writes yazl's own bytes: every entry in the order added, the central directory listing them all", async () => {
    const ours = await zipOf(new ExportZip(), 300);
    const theirs = await zipOf(new ZipFile(), 300);
    expect(ours.equals(theirs)).toBe(true);
    // The end record counts every entry (300 files and manifest.json), not only those not set aside.
    const end = ours.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    expect(ours.readUInt16LE(end + 10)).toBe(301);
  });
});
