import type { ArchivedDocument } from '../kernel/document';

/**
 * Readable, collision-free names inside an export: `2024-03-15 invoice Bakkerij Jansen INV-001`.
 * Only letters, digits, space and `._-()&` survive; names are compared case-insensitively (an
 * export is often unpacked on a case-insensitive file system); a clash gets the document id.
 */
export class ExportNames {
  private readonly taken = new Set<string>();

  /**
   * The paths of a document's files: `documents/<base>.pdf`, and with its originals
   * `originals/<base>.<ext>` (several: `<base>-001.<ext>`, … in upload order). A base name is
   * taken only when every path it gives is free: a suffixed original could otherwise be the path
   * of another document whose name ends in `-001`, and unpacking kept one of the two.
   */
  paths(doc: ArchivedDocument, withOriginals: boolean): { rendition: string; originals: string[] } {
    const m = doc.metadata;
    const parts = [m.documentDate ?? doc.createdAt.slice(0, 10), m.kind, m.counterparty, m.reference].filter((p): p is string => !!p);
    const readable = cut(clean(parts.join(' '))).trim() || doc.id;
    const originals = withOriginals ? doc.originals : [];
    const pathsOf = (base: string) => ({
      rendition: `documents/${base}.pdf`,
      originals: originals.map((o, i) => `originals/${base}${originals.length > 1 ? `-${String(i + 1).padStart(3, '0')}` : ''}.${o.blobName.split('.').pop() ?? 'bin'}`),
    });
    // The last candidate is free: document ids are unique, and every readable name starts with a date, never an id.
    for (const base of [readable, `${readable} (${doc.id.slice(-8)})`, `${readable} (${doc.id})`, doc.id]) {
      const candidate = pathsOf(base);
      const all = [candidate.rendition, ...candidate.originals].map(caseless);
      if (all.every((p) => !this.taken.has(p))) {
        for (const p of all) this.taken.add(p);
        return candidate;
      }
    }
    throw new Error(`no free export path for document ${doc.id}`);
  }
}

/**
 * A path as a case-insensitive file system compares it. Windows (NTFS) upper-cases: `ı` and `i`
 * are both `I` there, `ς` and `σ` both `Σ`, which lower-casing alone kept apart, and unpacking
 * kept one of the two files. Upper- then lower-casing also joins what only one of them joins.
 */
const caseless = (path: string): string => path.toUpperCase().toLowerCase();

/** At most this many characters of metadata in a name. */
const MAX_CHARACTERS = 120;
/**
 * And at most this many bytes (UTF-8): a file name is at most 255 bytes on most file systems (ext4,
 * and APFS counts UTF-8 too), and 120 letters of a Japanese name are 360; unpacking failed with
 * "file name too long". The rest of 255 is room for ` (<document id>)`, `-001` and the extension.
 */
const MAX_BYTES = 200;

/** The first characters of `s` within both limits; by characters, never UTF-16 units: a letter outside the BMP cut in half is no character at all. */
function cut(s: string): string {
  let out = '';
  let bytes = 0;
  let count = 0;
  for (const ch of s) {
    bytes += Buffer.byteLength(ch);
    if (++count > MAX_CHARACTERS || bytes > MAX_BYTES) break;
    out += ch;
  }
  return out;
}

function clean(s: string): string {
  return s
    .normalize('NFC')
    .replace(/[^\p{L}\p{N} ._\-()&]/gu, '_')
    .replace(/\.{2,}/g, '.')
    .replace(/\s+/g, ' ')
    .replace(/^[.\s]+/, '');
}

const MONTH = '(?:jan|feb|mar|mrt|apr|may|mei|jun|jul|aug|sep|oct|okt|nov|dec)[a-z]*\\.?';
const NUMBER = "\\(?[+-]?[€$£¥]?\\s*[+-]?(?:\\d[\\d.,' ]*)?\\d(?:e[+-]?\\d+)?%?\\s*[€$£¥]?\\)?";
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?(?:\\s*[ap]\\.?m\\.?)?';
const DATE = `(?:\\d{1,4}[-/.]\\d{1,2}(?:[-/.]\\d{1,4})?|\\d{1,2}[-/. ]?${MONTH}(?:[-/. ]?\\d{1,4})?|${MONTH}[-/. ]?\\d{1,4}(?:,?\\s*\\d{1,4})?)`;

/**
 * Text a spreadsheet opening the CSV reads as a value instead: a number (either decimal mark, a sign, grouping, an
 * exponent, a percent, a currency sign, an accounting negative `(5)`, a fraction `1 1/2`), a date or time (`2024-01`,
 * `3/4`, `12-3`, `1 jan`, `dec-24`, `January 15, 2024`, `12:30`, a date with a time `2024-01-15 10:00`), a truth value.
 * A reference `0042` became 42 and a Dutch spreadsheet read `1,5` as 1.5: another reference than the archive's, and
 * `3/4` a date. Judged on the text's compatibility form (NFKC, `readAsValue`): full-width digits are read as digits.
 */
export const READ_AS_VALUE = new RegExp(`^\\s*(?:${NUMBER}|\\d+\\s+\\d+\\/\\d+|${DATE}(?:(?:\\s+|T)${TIME})?|${TIME}|true|false|waar|onwaar)\\s*$`, 'i');

/** Whether a spreadsheet reads this text as a value (READ_AS_VALUE on its compatibility form: `１２３` is 123 to it). */
export const readAsValue = (s: string): boolean => READ_AS_VALUE.test(s.normalize('NFKC'));

/**
 * One CSV field (RFC 4180) for the given separator. Text that a spreadsheet would run as a formula
 * gets a leading quote; numbers never do (a negative amount must stay a number), and are written
 * with the chosen decimal mark. Several values in one field are joined with ` | `. With `text`
 * (what people typed: counterparty, reference, tags), text a spreadsheet would read as a number,
 * date or truth value gets the leading quote too; dates the archive writes as dates stay dates.
 */
export function csvField(v: string | number | boolean | readonly string[] | null | undefined, format: { separator: string; decimalMark: string } = { separator: ',', decimalMark: '.' }, text = false): string {
  let s: string;
  if (typeof v === 'number') s = format.decimalMark === '.' ? String(v) : String(v).replace('.', format.decimalMark);
  else {
    s = v === undefined || v === null ? '' : Array.isArray(v) ? v.join(' | ') : String(v);
    if (/^[=+\-@\t\r]/.test(s.normalize('NFKC')) || (text && readAsValue(s))) s = `'${s}`;
  }
  return s.includes(format.separator) || /["\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
