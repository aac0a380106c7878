import * as fs from 'node:fs';
import * as path from 'node:path';
import { text } from 'node:stream/consumers';
import { ManifestSpool } from '../../../shared/exports/manifest-spool';
import type { ExportManifest, ManifestDocument } from '../../../shared/kernel/export';

const header: Omit<ExportManifest, 'documents'> = {
  format: 'archive-export/1',
  export: { id: 'exp-1', tenantId: 't', createdAt: '2026-01-01T00:00:00Z', createdBy: { subject: 'a', kind: 'user' }, filter: { fiscalYear: 2024 }, includeOriginals: true, requestId: 'req-1', auditEntryId: 'e-1' },
  counts: { documents: 0, files: 0, bytes: 0 },
};

const doc = (i: number): ManifestDocument => ({
  id: `doc-${i}`,
  fiscalYear: 2024,
  createdAt: '2024-02-01T00:00:00Z',
  metadata: { documentDate: '2024-01-31', kind: 'invoice', counterparty: i === 1 ? '=HYPERLINK("x"), "quoted"' : `Shop ${i}`, tags: ['a', 'b'] },
  files: [
    { path: `documents/doc ${i}.pdf`, role: 'rendition', mediaType: 'application/pdf', size: 10 + i, sha256: 'ab'.repeat(32) },
    { path: `originals/doc ${i}.jpg`, role: 'original', mediaType: 'image/jpeg', size: 20 + i, sha256: 'cd'.repeat(32) },
  ],
});

describe('manifest spool', () => {
  it('streams manifest.json that parses back to exactly the entries added, in order', async () => {
    const spool = new ManifestSpool();
    const docs = Array.from({ length: 250 }, (_, i) => doc(i));
    for (const d of docs) await spool.add(d);
    await spool.close();
    const parsed = JSON.parse(await text(spool.json({ ...header, counts: { documents: spool.count, files: 500, bytes: 1 } }))) as ExportManifest;
    expect(parsed).toEqual({ ...header, counts: { documents: 250, files: 500, bytes: 1 }, documents: docs });
    await spool.dispose();
  });

  it('writes valid JSON and a header-only CSV for an export with no documents', async () => {
    const spool = new ManifestSpool();
    await spool.close();
    expect(JSON.parse(await text(spool.json(header)))).toEqual({ ...header, documents: [] });
    const csv = (await text(spool.csv(header))).split('\r\n');
    expect(csv[0]).toBe('# export exp-1; request req-1; audit entry e-1');
    expect(csv.slice(2)).toEqual(['']);
    await spool.dispose();
  });

  it('writes one CSV row per file, quoting and defusing formula-like fields, and removes its temporary file', async () => {
    const spool = new ManifestSpool();
    await spool.add(doc(0));
    await spool.add(doc(1));
    await spool.close();
    const rows = (await text(spool.csv(header))).trimEnd().split('\r\n');
    expect(rows).toHaveLength(2 + 4);
    expect(rows[1]!.split(',')[0]).toBe('documentId');
    expect(rows[2]).toContain('doc-0,documents/doc 0.pdf,rendition,application/pdf,10,');
    expect(rows[4]).toContain(`"'=HYPERLINK(""x""), ""quoted"""`);
    expect(rows[4]).toContain(',a;b,');
    await spool.dispose();
    expect(fs.existsSync(path.dirname(spool.file))).toBe(false);
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
    const parsed = JSON.parse(await text(spool.json(header))) as ExportManifest;
    expect(parsed.documents[0]!.files[0]!.validation).toEqual(failed.files[0]!.validation);
    const rows = (await text(spool.csv(header))).trimEnd().split('\r\n');
    const columns = rows[1]!.split(',');
    expect(columns.slice(-3)).toEqual(['validation', 'validator', 'validationFailedRules']);
    expect(rows[2]!.endsWith(',failed,veraPDF 1.28.2 PDF/A-2B,6.2.4.3-2;6.2.4.3-4')).toBe(true);
    expect(rows[3]!.endsWith(',,,')).toBe(true); // an original: no validation of its own
    expect(rows[4]!.endsWith(',pending,,')).toBe(true);
    await spool.dispose();
  });
});
