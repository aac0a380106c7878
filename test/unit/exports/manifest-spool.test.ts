import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { buffer, text } from 'node:stream/consumers';
import { Fingerprint, ManifestSpool } from '../../../shared/exports/manifest-spool';
import { readAsValue } from '../../../shared/exports/names';
import * as fc from 'fast-check';
import type { ExportManifest, ManifestDocument } from '../../../shared/kernel/export';
import { csvRecords, parseCsv } from '../../support/csv';

const header: Omit<ExportManifest, 'documents'> = {
  format: 'archive-export/1',
  export: { id: 'exp-1', tenantId: 't', createdAt: '2026-01-01T00:00:00Z', createdBy: { subject: 'a', kind: 'user' }, filter: { fiscalYear: 2024 }, includeOriginals: true, csv: { separator: ',', decimalMark: '.' }, requestId: 'req-1', auditEntryId: 'e-1' },
  counts: { documents: 0, files: 0, bytes: 0 },
  manifestCsv: { sha256: '00'.repeat(32), size: 0 },
};

const doc = (i: number): ManifestDocument => ({
  id: `doc-${i}`,
  fiscalYear: 2024,
  createdAt: '2024-02-01T00:00:00Z',
  metadata: { documentDate: '2024-01-31', kind: 'invoice', counterparty: i === 1 ? '=HYPERLINK("x"), "quoted"' : `Shop ${i}`, tags: ['a', 'b'], amount: i === 1 ? -12.5 : 1000.25 + i },
  files: [
    { path: `documents/doc ${i}.pdf`, role: 'rendition', mediaType: 'application/pdf', size: 10 + i, sha256: 'ab'.repeat(32) },
    { path: `originals/doc ${i}.jpg`, role: 'original', mediaType: 'image/jpeg', size: 20 + i, sha256: 'cd'.repeat(32) },
    { path: `originals/doc ${i}-2.png`, role: 'original', mediaType: 'image/png', size: 30 + i, sha256: 'ef'.repeat(32) },
  ],
});

describe('manifest spool', () => {
  it('an export given up while a manifest line is still being written raises no uncaught error: the host process lives', async () => {
    const uncaught: unknown[] = [];
    const listener = (err: unknown) => void uncaught.push(err);
    process.on('uncaughtException', listener);
    try {
      for (let round = 0; round < 20; round++) {
        const spool = new ManifestSpool();
        await spool.add(doc(0));
        await new Promise((r) => setTimeout(r, 5)); // the file open, the first line written
        // A write in flight, then the export fails and disposes of its spool at once (run-export.ts `finally`).
        void spool.add(doc(round));
        await spool.dispose();
        // The file system finishes the write after the destroy: that completion was an 'error' event nobody heard.
        await new Promise((r) => setTimeout(r, 5));
        expect(fs.existsSync(spool.file)).toBe(false);
      }
    } finally {
      process.off('uncaughtException', listener);
    }
    expect(uncaught).toEqual([]);
  });

  it('streams manifest.json that parses back to exactly the entries added, in order', async () => {
    const spool = new ManifestSpool();
    const docs = Array.from({ length: 250 }, (_, i) => doc(i));
    for (const d of docs) await spool.add(d);
    await spool.close();
    const fingerprint = new Fingerprint();
    const written = await text(spool.json({ ...header, counts: { documents: spool.count, files: 750, bytes: 1 } }, fingerprint));
    const parsed = JSON.parse(written) as ExportManifest;
    expect(parsed).toEqual({ ...header, counts: { documents: 250, files: 750, bytes: 1 }, documents: docs });
    // The fingerprint the job keeps is that of the bytes streamed, as a copy of the file hashes.
    expect(fingerprint.result()).toEqual({ sha256: createHash('sha256').update(written, 'utf8').digest('hex'), size: Buffer.byteLength(written) });
    await spool.dispose();
  });

  it('writes valid JSON and a CSV with a BOM, the header row first and no comment line, for an export with no documents', async () => {
    const spool = new ManifestSpool();
    await spool.close();
    expect(JSON.parse(await text(spool.json(header, new Fingerprint())))).toEqual({ ...header, documents: [] });
    const csv = await text(spool.csv(header.export.csv));
    expect(csv.startsWith('\uFEFFdocumentId,fiscalYear,')).toBe(true);
    expect(csv.split('\r\n')).toHaveLength(2);
    await spool.dispose();
  });

  it('writes one CSV row per document, originals side by side, quoting and defusing formula-like text, and removes its temporary file', async () => {
    const spool = new ManifestSpool();
    await spool.add(doc(0));
    await spool.add(doc(1));
    await spool.close();
    const csv = await text(spool.csv(header.export.csv));
    const rows = csvRecords(csv);
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ documentId: 'doc-0', renditionPath: 'documents/doc 0.pdf', renditionSize: '10', originalCount: '2', originalPaths: 'originals/doc 0.jpg | originals/doc 0-2.png', originalSizes: '20 | 30', originalSha256s: `${'cd'.repeat(32)} | ${'ef'.repeat(32)}`, tags: 'a | b', amount: '1000.25' });
    expect(rows[1]).toMatchObject({ counterparty: `'=HYPERLINK("x"), "quoted"`, amount: '-12.5' }); // a negative amount stays a number
    await spool.dispose();
    expect(fs.existsSync(path.dirname(spool.file))).toBe(false);
  });

  it('the Dutch option (`;` and `,`) reads back to the same values and amounts, whatever the text holds', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ counterparty: fc.string(), amount: fc.double({ min: -1e9, max: 1e9, noNaN: true }) }), { maxLength: 8 }), async (items) => {
        const spool = new ManifestSpool();
        for (const [i, it] of items.entries()) await spool.add({ ...doc(i), metadata: { counterparty: it.counterparty, amount: it.amount } });
        await spool.close();
        const rows = csvRecords(await text(spool.csv({ separator: ';', decimalMark: ',' })), ';');
        await spool.dispose();
        // -0 is written as 0: the same amount (`+ 0` turns -0 into 0 for the comparison).
        expect(rows.map((r) => Number(r.amount!.replace(',', '.')))).toEqual(items.map((it) => it.amount + 0));
        // Text a spreadsheet would run as a formula, or read as a number, date or truth value (`0`, `1,5`), is written
        // behind a guard quote; other text (even one starting with a quote) as it is.
        expect(rows.map((r) => r.counterparty)).toEqual(items.map((it) => (/^[=+\-@\t\r]/.test(it.counterparty.normalize('NFKC')) || readAsValue(it.counterparty) ? `'${it.counterparty}` : it.counterparty)));
      }),
      { numRuns: 40 },
    );
  });

  it("carries each rendition's validation outcome in manifest.json and in the CSV's validation columns", async () => {
    const spool = new ManifestSpool();
    const failed = doc(0);
    failed.files[0]!.validation = { status: 'failed', validator: 'veraPDF 1.28.2', profile: 'PDF/A-2B', failedRules: ['6.2.4.3-2', '6.2.4.3-4'], validatedAt: '2024-02-01T00:05:00Z', reportSha256: 'ef'.repeat(32) };
    const pending = doc(1);
    pending.files[0]!.validation = { status: 'pending' };
    await spool.add(failed);
    await spool.add(pending);
    await spool.close();
    const parsed = JSON.parse(await text(spool.json(header, new Fingerprint()))) as ExportManifest;
    expect(parsed.documents[0]!.files[0]!.validation).toEqual(failed.files[0]!.validation);
    const rows = csvRecords(await text(spool.csv(header.export.csv)));
    expect(rows[0]).toMatchObject({ validation: 'failed', validator: 'veraPDF 1.28.2 PDF/A-2B', validationFailedRules: '6.2.4.3-2 | 6.2.4.3-4' });
    expect(rows[1]).toMatchObject({ validation: 'pending', validator: '', validationFailedRules: '' });
    expect(parseCsv('a,"b\r\nc"\r\n')).toEqual([['a', 'b\r\nc']]);
    await spool.dispose();
  });

  it('writes manifest.csv to a temporary file first, answering the SHA-256 and size of exactly the bytes that go into the ZIP', async () => {
    const spool = new ManifestSpool();
    for (let i = 0; i < 120; i++) await spool.add(doc(i));
    await spool.close();
    const format = { separator: ';', decimalMark: ',' } as const;
    const rendered = Buffer.from(await text(spool.csv(format)), 'utf8');
    const digest = await spool.writeCsv(format);
    const written = await buffer(spool.writtenCsv());
    expect(written.equals(rendered)).toBe(true);
    expect(digest).toEqual({ sha256: createHash('sha256').update(rendered).digest('hex'), size: rendered.length });
    await spool.dispose();
    expect(fs.existsSync(path.dirname(spool.file))).toBe(false);
  });
});
