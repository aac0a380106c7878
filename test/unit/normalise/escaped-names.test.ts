import * as zlib from 'zlib';
import fc from 'fast-check';
import { PDFName } from 'pdf-lib';
import { ArchiveError } from '../../../shared/kernel/errors';
import { normalise } from '../../../shared/normalise';
import { input } from './helpers';

/**
 * ISO 32000 §7.3.5: `#xx` in a name is the byte xx, in either case, so `/#4aavaScript` is `/JavaScript`.
 * Every refusal rule must see the decoded name: a file whose rule names are escaped (random
 * characters, random hex case) is refused exactly as the plain file is.
 */

/** `{Name}` in a template marks a name the property escapes. */
type Escaper = (name: string) => string;
const plain: Escaper = (n) => n;

/** A classic PDF (xref table) from object bodies; `{Name}` placeholders go through `esc`. */
function pdf(objects: (string | { dict: string; data: Buffer })[], esc: Escaper, trailerExtra = ''): Buffer {
  const fill = (s: string) => s.replace(/\{(\w+)\}/g, (_, n: string) => esc(n));
  const parts: Buffer[] = [Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1')];
  let at = parts[0]!.length;
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(at);
    const body = typeof o === 'string'
      ? Buffer.from(`${i + 1} 0 obj\n${fill(o)}\nendobj\n`, 'latin1')
      : Buffer.concat([Buffer.from(`${i + 1} 0 obj\n${fill(o.dict.replace('>>', ` /Length ${o.data.length} >>`))}\nstream\n`, 'latin1'), o.data, Buffer.from('\nendstream\nendobj\n', 'latin1')]);
    parts.push(body);
    at += body.length;
  });
  const xref = [`xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`, ...offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`)].join('');
  parts.push(Buffer.from(`${xref}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R ${fill(trailerExtra)} >>\nstartxref\n${at}\n%%EOF\n`, 'latin1'));
  return Buffer.concat(parts);
}

const PAGES = '<< /Type /Pages /Kids [3 0 R] /Count 1 >>';
const PAGE = (extra = '') => `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] ${extra} >>`;
const CATALOG = (extra = '') => `<< /Type /Catalog /Pages 2 0 R ${extra} >>`;

/** One hostile file per refusal rule, with the names the rule looks at marked for escaping. */
const RULES: { rule: string; code: string; reason?: string; build: (esc: Escaper) => Buffer }[] = [
  { rule: '/S /JavaScript in /OpenAction', code: 'active_content', reason: 'javascript',
    build: (e) => pdf([CATALOG('/{OpenAction} 4 0 R'), PAGES, PAGE(), '<< /Type /Action /{S} /{JavaScript} /JS (app.alert\\(1\\)) >>'], e) },
  { rule: '/JS in an action', code: 'active_content', reason: 'javascript',
    build: (e) => pdf([CATALOG('/OpenAction 4 0 R'), PAGES, PAGE(), '<< /Type /Action /S /Unknown /{JS} (app.alert\\(1\\)) >>'], e) },
  { rule: 'document-level /Names /JavaScript', code: 'active_content', reason: 'javascript',
    build: (e) => pdf([CATALOG('/{Names} << /{JavaScript} 4 0 R >>'), PAGES, PAGE(), '<< /Names [(a) << /S /JavaScript /JS (x) >>] >>'], e) },
  { rule: '/S /Launch in /OpenAction', code: 'active_content', reason: 'launch_action',
    build: (e) => pdf([CATALOG('/{OpenAction} 4 0 R'), PAGES, PAGE(), '<< /{S} /{Launch} /Win << /F (calc.exe) >> >>'], e) },
  { rule: 'page /AA carrying JavaScript', code: 'active_content', reason: 'javascript',
    build: (e) => pdf([CATALOG(), PAGES, PAGE('/{AA} << /O << /{S} /{JavaScript} /{JS} (x) >> >>')], e) },
  { rule: 'page /AA carrying Launch', code: 'active_content', reason: 'launch_action',
    build: (e) => pdf([CATALOG(), PAGES, PAGE('/{AA} << /C << /{S} /{Launch} /F (cmd) >> >>')], e) },
  { rule: 'catalog /AA', code: 'active_content', reason: 'additional_actions',
    build: (e) => pdf([CATALOG('/{AA} << /WC << /S /GoTo /D [3 0 R /Fit] >> >>'), PAGES, PAGE()], e) },
  { rule: '/Names /EmbeddedFiles', code: 'embedded_file',
    build: (e) => pdf([CATALOG('/Names << /{EmbeddedFiles} << /Names [] >> >>'), PAGES, PAGE()], e) },
  { rule: '/FileAttachment annotation', code: 'embedded_file',
    build: (e) => pdf([CATALOG(), PAGES, PAGE('/Annots [<< /Type /Annot /{Subtype} /{FileAttachment} /Rect [0 0 10 10] /F 4 /AP << /N 4 0 R >> >>]'), { dict: '<< /Type /XObject /Subtype /Form /BBox [0 0 10 10] >>', data: Buffer.from('') }], e) },
  { rule: '/Type /EmbeddedFile stream', code: 'embedded_file',
    build: (e) => pdf([CATALOG(), PAGES, PAGE(), { dict: '<< /{Type} /{EmbeddedFile} >>', data: Buffer.from('MZ payload') }], e) },
  { rule: '/EF in a file specification', code: 'embedded_file',
    build: (e) => pdf([CATALOG('/Extra 5 0 R'), PAGES, PAGE(), { dict: '<< /Type /Unknown >>', data: Buffer.from('MZ payload') }, '<< /Type /Filespec /F (a.exe) /{EF} << /F 4 0 R >> >>'], e) },
  { rule: '/AcroForm /XFA', code: 'xfa_form',
    build: (e) => pdf([CATALOG('/{AcroForm} << /Fields [] /{XFA} 4 0 R >>'), PAGES, PAGE(), { dict: '<< >>', data: Buffer.from('<xdp:xdp/>') }], e) },
  { rule: '/NeedsRendering true', code: 'xfa_form',
    build: (e) => pdf([CATALOG('/{NeedsRendering} true'), PAGES, PAGE()], e) },
  { rule: '/Encrypt in the trailer', code: 'encrypted_pdf',
    build: (e) => pdf([CATALOG(), PAGES, PAGE(), '<< /Filter /Standard /V 1 /R 2 /O (0123456789abcdef0123456789abcdef) /U (0123456789abcdef0123456789abcdef) /P -4 >>'], e, '/{Encrypt} 4 0 R /ID [<00> <00>]') },
];

async function outcome(bytes: Buffer, limits?: { maxPixelsPerPage: number; maxPages: number; maxDecompressedBytes: number }): Promise<{ code: string; reason?: unknown }> {
  try {
    await normalise(input([bytes], limits ? { limits } : {}));
    return { code: 'accepted' };
  } catch (e) {
    if (!(e instanceof ArchiveError)) throw e;
    return { code: e.code, ...(e.extensions?.reason !== undefined ? { reason: e.extensions.reason } : {}) };
  }
}

/** Escapes characters of a name as `#xx`, choosing which ones and the hex digits' case from `picks`. */
const escaperFrom = (picks: [boolean, boolean][]): Escaper => {
  let i = 0;
  return (name) => [...name].map((ch) => {
    const [escape, upper] = picks[i++ % picks.length]!;
    if (!escape) return ch;
    const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
    return `#${upper ? hex.toUpperCase() : hex.toLowerCase()}`;
  }).join('');
};
const picks = fc.array(fc.tuple(fc.boolean(), fc.boolean()), { minLength: 1, maxLength: 40 });
/** Every character escaped in lower case: the form the attack used. */
const allLower: Escaper = (n) => [...n].map((ch) => `#${ch.charCodeAt(0).toString(16).toLowerCase()}`).join('');

describe('escaped names in PDFs are decoded before any rule', () => {
  test('a name with lower-case hex escapes is the same name as its decoded form; #23 stays a literal #', () => {
    expect(PDFName.of('#4aavaScript')).toBe(PDFName.of('JavaScript'));
    expect(PDFName.of('#4c#61unch')).toBe(PDFName.of('Launch'));
    expect(PDFName.of('A#2341').decodeText()).toBe('A#41');
  });

  test('the attack as reported: /S /#4aavaScript and /#4caunch', async () => {
    const js = Buffer.from(pdf([CATALOG('/OpenAction 4 0 R'), PAGES, PAGE(), '<< /S /#4aavaScript /JS (app.alert\\(1\\)) >>'], plain));
    const launch = Buffer.from(pdf([CATALOG('/OpenAction 4 0 R'), PAGES, PAGE(), '<< /S /#4caunch /F (calc.exe) >>'], plain));
    expect(await outcome(js)).toEqual({ code: 'active_content', reason: 'javascript' });
    expect(await outcome(launch)).toEqual({ code: 'active_content', reason: 'launch_action' });
  });

  test.each(RULES.map((r) => [r.rule, r] as const))('%s: refused the same with every character escaped in lower case', async (_, r) => {
    const expected = { code: r.code, ...(r.reason ? { reason: r.reason } : {}) };
    expect(await outcome(r.build(plain))).toEqual(expected);
    expect(await outcome(r.build(allLower))).toEqual(expected);
  });

  test('property: random characters of each rule\'s names escaped in random case are refused exactly as the plain names', async () => {
    const plainOutcomes = await Promise.all(RULES.map((r) => outcome(r.build(plain))));
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: RULES.length - 1 }), picks, async (i, p) => {
        expect(await outcome(RULES[i]!.build(escaperFrom(p)))).toEqual(plainOutcomes[i]);
      }),
      { numRuns: 120 },
    );
  });

  test('an object-stream bomb is measured before parsing when /Type /ObjStm and /FlateDecode are escaped', async () => {
    const limits = { maxPixelsPerPage: 1e8, maxPages: 10, maxDecompressedBytes: 1_000_000 };
    const bomb = zlib.deflateSync(Buffer.alloc(20_000_000, 0x20), { level: 9 });
    const build = (e: Escaper) => pdf([CATALOG(), PAGES, PAGE(), { dict: '<< /{Type} /{ObjStm} /N 1 /First 4 /{Filter} /{FlateDecode} >>', data: bomb }], e);
    expect(await outcome(build(plain), limits)).toEqual({ code: 'decompressed_too_large' });
    await fc.assert(
      fc.asyncProperty(picks, async (p) => {
        expect(await outcome(build(escaperFrom(p)), limits)).toEqual({ code: 'decompressed_too_large' });
      }),
      { numRuns: 15 },
    );
  });
});
