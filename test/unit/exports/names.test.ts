import type { ArchivedDocument } from '../../../shared/kernel/document';
import { ExportNames } from '../../../shared/exports/names';

const doc = (id: string, metadata: Record<string, string>) => ({ id, createdAt: '2024-03-15T10:00:00.000Z', metadata }) as unknown as ArchivedDocument;

describe('names inside an export', () => {
  it('are readable, and a clash gets the document id', () => {
    const names = new ExportNames();
    const a = doc('0190aaaa-0000-7000-8000-00000000000a', { documentDate: '2024-03-15', kind: 'invoice', counterparty: 'Bakkerij Jansen', reference: 'INV-001' });
    expect(names.paths(a, false).rendition).toBe('documents/2024-03-15 invoice Bakkerij Jansen INV-001.pdf');
    expect(names.paths({ ...a, id: '0190aaaa-0000-7000-8000-00000000000b' }, false).rendition).toBe('documents/2024-03-15 invoice Bakkerij Jansen INV-001 (0000000b).pdf');
  });

  it.each([
    ['a dotless i', 'DIS', 'Dıs'],
    ['a final sigma', 'ΣΟΣ', 'σος'],
    ['a long s', 'SAS', 'ſas'],
  ])('names a case-insensitive file system takes for one are kept apart (%s)', (_, one, other) => {
    const names = new ExportNames();
    const a = names.paths(doc('0190aaaa-0000-7000-8000-00000000000a', { documentDate: '2024-03-15', counterparty: one }), false).rendition;
    const b = names.paths(doc('0190aaaa-0000-7000-8000-00000000000b', { documentDate: '2024-03-15', counterparty: other }), false).rendition;
    expect(a.toUpperCase()).not.toBe(b.toUpperCase());
    expect(b).toBe(`documents/2024-03-15 ${other} (0000000b).pdf`);
  });

  it('a long name is cut between characters, never inside one outside the BMP', () => {
    // 𝔘 (U+1D518) is a letter of two UTF-16 units (four UTF-8 bytes); a cut by units would split one.
    const name = new ExportNames().paths(doc('0190aaaa-0000-7000-8000-00000000000c', { documentDate: '2024-03-15', counterparty: `xy${'𝔘'.repeat(200)}` }), false).rendition;
    expect(name).toBe(`documents/2024-03-15 xy${'𝔘'.repeat(46)}.pdf`); // 13 + 46 × 4 bytes: within 200
    expect(/\p{Cs}/u.test(name)).toBe(false);
    expect(() => encodeURIComponent(name)).not.toThrow();
  });

  it('every file name fits in 255 bytes (UTF-8), the limit of most file systems, however long a name in another script', () => {
    const names = new ExportNames();
    const long = (id: string) => ({
      ...doc(id, { documentDate: '2024-03-15', kind: 'invoice', counterparty: '株式会社'.repeat(50), reference: '請求書'.repeat(60) }),
      originals: [{ blobName: `${id}/original-001.jpeg` }, { blobName: `${id}/original-002.jpeg` }],
    }) as unknown as ArchivedDocument;
    // The second and third get the document id too: the longest names there are.
    for (const id of ['0190aaaa-0000-7000-8000-00000000000d', '0190aaaa-0000-7000-8000-00000000000e', '0190aaaa-0000-7000-8000-10000000000e']) {
      const paths = names.paths(long(id), true);
      for (const p of [paths.rendition, ...paths.originals]) expect(Buffer.byteLength(p.slice(p.indexOf('/') + 1))).toBeLessThanOrEqual(255);
      expect(paths.rendition).toMatch(/^documents\/2024-03-15 invoice 株式会社/);
    }
  });
});
