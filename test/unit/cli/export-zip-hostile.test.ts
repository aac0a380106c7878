/**
 * `archive export` and `archive verify` against a hostile export ZIP (its entries and manifest are the
 * server's to write) and a hostile --out folder (links already in it, a ZIP left there).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { unpackAndVerify } from '../../../cli/core';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-zip-hostile-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const GOOD = Buffer.from('the archived bytes');
const manifestOf = (files: Record<string, Buffer>) => Buffer.from(JSON.stringify({ documents: [{ id: 'd1', files: Object.entries(files).map(([p, b]) => ({ path: p, sha256: sha(b), size: b.length })) }] }));

/** A ZIP holding `entries` in this order (names may repeat). */
async function zipOf(file: string, entries: [string, Buffer][]): Promise<string> {
  const { ZipFile } = await import('yazl');
  const zip = new ZipFile();
  for (const [name, bytes] of entries) zip.addBuffer(bytes, name);
  zip.end();
  await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(file)).on('close', resolve).on('error', reject));
  return file;
}

describe('unpacking into --out', () => {
  it('never writes through a folder in --out that is a symbolic link elsewhere', async () => {
    const zip = await zipOf(path.join(work, 'e.zip'), [['documents/a.pdf', GOOD], ['manifest.json', manifestOf({ 'documents/a.pdf': GOOD })]]);
    const out = path.join(work, 'out');
    const elsewhere = path.join(work, 'elsewhere');
    fs.mkdirSync(out);
    fs.mkdirSync(elsewhere);
    fs.symlinkSync(elsewhere, path.join(out, 'documents'));
    await expect(unpackAndVerify(zip, out)).rejects.toThrow(/symbolic link/);
    expect(fs.readdirSync(elsewhere)).toEqual([]);
  });
});
