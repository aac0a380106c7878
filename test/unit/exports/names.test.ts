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

  it('a long name is cut between characters, never inside one outside the BMP', () => {
    // 𝔘 (U+1D518) is a letter of two UTF-16 units; at unit 120 a cut by units would split one.
    const name = new ExportNames().paths(doc('0190aaaa-0000-7000-8000-00000000000c', { documentDate: '2024-03-15', counterparty: `xy${'𝔘'.repeat(200)}` }), false).rendition;
    expect(name).toBe(`documents/2024-03-15 xy${'𝔘'.repeat(107)}.pdf`);
    expect(/\p{Cs}/u.test(name)).toBe(false);
    expect(() => encodeURIComponent(name)).not.toThrow();
  });
});
