import { sanitiseFileName } from '../../../shared/http/file-name';
import { contentDisposition } from '../../../shared/http/respond';

describe('sanitiseFileName', () => {
  it.each([
    ['../../etc/passwd.jpg', 'passwd.jpg'],
    ['..\\..\\windows\\win.ini.jpg', 'win.ini.jpg'],
    ['invoice\u202egpj.exe', 'invoicegpj.exe'],
    ['evil\u0000.png', 'evil.png'],
    ['line\r\nbreak.jpg', 'linebreak.jpg'],
    ['  spaced .pdf ', 'spaced .pdf'],
    ['.hidden', 'hidden'],
    ['', null],
    ['../', null],
  ])('%j → %j', (raw, expected) => expect(sanitiseFileName(raw)).toBe(expected));

  it('bounds the length and keeps the extension', () => {
    const name = sanitiseFileName(`${'a'.repeat(500)}.tiff`)!;
    expect(name.length).toBe(200);
    expect(name.endsWith('.tiff')).toBe(true);
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and an RFC 8187 name that cannot break the header', () => {
    expect(contentDisposition('factuur "maart".pdf')).toBe(`attachment; filename="factuur _maart_.pdf"; filename*=UTF-8''factuur%20%22maart%22.pdf`);
    expect(contentDisposition('rekening-Ø.pdf')).toBe(`attachment; filename="rekening-_.pdf"; filename*=UTF-8''rekening-%C3%98.pdf`);
  });
});
