import { sanitiseFileName } from '../../../shared/http/file-name';
import { contentDisposition } from '../../../shared/http/respond';

describe('sanitiseFileName', () => {
  it.each([
    ['../../etc/passwd.jpg', 'passwd.jpg'],
    ['..\\..\\windows\\win.ini.jpg', 'win.ini.jpg'],
    ['invoice\u202egpj.exe', 'invoicegpj.exe'],
    ['evil\u0000.png', 'evil.png'],
    ['line\r\nbreak.jpg', 'linebreak.jpg'],
    // Invisible characters that make two names look alike, and a direction mark beside the extension.
    ['invoice\u200b\u2060\ufeff.pdf', 'invoice.pdf'],
    ['scan\u00ad\u3164\u200f.pdf', 'scan.pdf'],
    // A space of another width is a space (macOS names screenshots with U+202F before AM/PM).
    ['Screenshot 10.00.00\u202fAM.png', 'Screenshot 10.00.00\u202fAM.png'],
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

  it('never cuts a character outside the BMP in half: the name stays well-formed and can be sent back', () => {
    // The emoji's two UTF-16 halves straddle the 196th/197th unit, where a 200-unit name with `.pdf` is cut.
    const name = sanitiseFileName(`${'a'.repeat(195)}\u{1F600}${'b'.repeat(20)}.pdf`)!;
    expect(name).toBe(`${'a'.repeat(195)}.pdf`);
    expect(name).not.toMatch(/\p{Cs}/u);
    expect(() => contentDisposition(name)).not.toThrow();
    expect(sanitiseFileName('x\ud800y.pdf')).toBe('xy.pdf');
  });
});

describe('contentDisposition', () => {
  it('gives an ASCII fallback and an RFC 8187 name that cannot break the header', () => {
    expect(contentDisposition('factuur "maart".pdf')).toBe(`attachment; filename="factuur _maart_.pdf"; filename*=UTF-8''factuur%20%22maart%22.pdf`);
    expect(contentDisposition('rekening-Ø.pdf')).toBe(`attachment; filename="rekening-_.pdf"; filename*=UTF-8''rekening-%C3%98.pdf`);
  });

  it('answers for a stored name holding a lone surrogate instead of throwing', () => {
    expect(contentDisposition('scan\ud83d.pdf')).toBe(`attachment; filename="scan_.pdf"; filename*=UTF-8''scan%EF%BF%BD.pdf`);
  });
});
