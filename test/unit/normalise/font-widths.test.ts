import { cidFontWidthMismatches, cidWidths, simpleFontWidthMismatches, trueTypeMetrics } from '../../../shared/normalise/font-widths';

/**
 * A minimal TrueType program: head, hhea, maxp, hmtx, loca, glyf and a format-4 cmap (3,1),
 * enough for the width check (PDF/A-2 6.2.11.5, veraPDF 6.2.11.5-1) to read advances and outlines.
 */
function trueType(advances: number[], outlines: boolean[], unitsPerEm = 2048, cmap: Record<number, number> = {}, cmapEncoding = 1): Buffer {
  const n = advances.length;
  const head = Buffer.alloc(54);
  head.writeUInt16BE(unitsPerEm, 18);
  head.writeInt16BE(1, 50); // long loca
  const hhea = Buffer.alloc(36);
  hhea.writeUInt16BE(n, 34);
  const maxp = Buffer.alloc(6);
  maxp.writeUInt16BE(n, 4);
  const hmtx = Buffer.alloc(4 * n);
  advances.forEach((a, i) => hmtx.writeUInt16BE(a, 4 * i));
  const loca = Buffer.alloc(4 * (n + 1));
  let at = 0;
  outlines.forEach((has, i) => {
    loca.writeUInt32BE(at, 4 * i);
    if (has) at += 12;
  });
  loca.writeUInt32BE(at, 4 * n);
  const glyf = Buffer.alloc(at);
  // cmap format 4: one segment per mapped code, plus the final 0xFFFF segment.
  const codes = Object.keys(cmap).map(Number).sort((a, b) => a - b);
  const segs = codes.length + 1;
  const sub = Buffer.alloc(16 + 8 * segs);
  sub.writeUInt16BE(4, 0);
  sub.writeUInt16BE(sub.length, 2);
  sub.writeUInt16BE(segs * 2, 6);
  const endsAt = 14;
  const startsAt = endsAt + 2 * segs + 2;
  const deltasAt = startsAt + 2 * segs;
  [...codes, 0xffff].forEach((c, i) => {
    sub.writeUInt16BE(c, endsAt + 2 * i);
    sub.writeUInt16BE(c, startsAt + 2 * i);
    sub.writeUInt16BE(c === 0xffff ? 1 : (cmap[c]! - c) & 0xffff, deltasAt + 2 * i);
  });
  const cmapTable = Buffer.concat([Buffer.from([0, 0, 0, 1, 0, 3, 0, cmapEncoding, 0, 0, 0, 12]), sub]);
  const tables: [string, Buffer][] = [['cmap', cmapTable], ['glyf', glyf], ['head', head], ['hhea', hhea], ['hmtx', hmtx], ['loca', loca], ['maxp', maxp]];
  const dir = Buffer.alloc(12 + 16 * tables.length);
  dir.writeUInt32BE(0x00010000, 0);
  dir.writeUInt16BE(tables.length, 4);
  let offset = dir.length;
  tables.forEach(([tag, data], i) => {
    dir.write(tag, 12 + 16 * i, 'latin1');
    dir.writeUInt32BE(offset, 12 + 16 * i + 8);
    dir.writeUInt32BE(data.length, 12 + 16 * i + 12);
    offset += data.length;
  });
  return Buffer.concat([dir, ...tables.map(([, d]) => d)]);
}

describe('glyph widths: font dictionary against the embedded TrueType program (6.2.11.5)', () => {
  // Glyph 0 .notdef, 1 has an outline (1229/2048 = 600.1), 2 is a space (no outline), 3 unused in the subset.
  const font = trueType([1024, 1229, 512, 2048], [true, true, false, false], 2048, { 0x41: 1, 0x20: 2 });
  const m = trueTypeMetrics(font)!;

  test('reads units per em, advances and outlines', () => {
    expect(m).not.toBeNull();
    expect(m.unitsPerEm).toBe(2048);
    expect([0, 1, 2, 3].map((g) => m.advance(g))).toEqual([1024, 1229, 512, 2048]);
    expect([0, 1, 2, 3].map((g) => m.hasOutline(g))).toEqual([true, true, false, false]);
    expect(m.glyphOfCode(0x41, false)).toBe(undefined); // no (1,0) or (3,0) cmap
  });

  test('a CID font whose /W agrees within one unit passes; /DW alone for differing glyphs does not', () => {
    expect(cidFontWidthMismatches(m, cidWidths([1, [600]]), 1000, null)).toBe(0);
    expect(cidFontWidthMismatches(m, cidWidths([1, 1, 602]), 1000, null)).toBe(1);
    // No /W: every glyph with an outline takes /DW (cmyk.pdf's mistake); glyph 0 (.notdef) is not compared.
    expect(cidFontWidthMismatches(m, new Map(), 1000, null)).toBe(1);
    // A /W entry for the outline-less space (512/2048 → 250) is compared too.
    expect(cidFontWidthMismatches(m, cidWidths([1, [600, 250]]), 1000, null)).toBe(0);
    expect(cidFontWidthMismatches(m, cidWidths([1, [600, 260]]), 1000, null)).toBe(1);
  });

  test('a /CIDToGIDMap stream maps CIDs to glyphs', () => {
    const map = Buffer.alloc(8);
    map.writeUInt16BE(1, 2 * 3); // CID 3 shows glyph 1
    expect(cidFontWidthMismatches(m, cidWidths([3, [600]]), 1000, map)).toBe(0);
    expect(cidFontWidthMismatches(m, cidWidths([3, [700]]), 1000, map)).toBe(1);
  });

  test('a simple symbolic TrueType font: /Widths from FirstChar, looked up through the (3,0) cmap at 0xF000 + code', () => {
    const sym = trueTypeMetrics(trueType([1000, 500, 250], [true, true, false], 1000, { 0xf041: 1, 0xf020: 2 }, 0))!;
    expect(sym.glyphOfCode(0x41, true)).toBe(1);
    // FirstChar 32: code 32 → space (250), code 65 → glyph 1 (500); codes with width 0 are not compared.
    const widths: number[] = Array.from({ length: 34 }, (_, i) => (i === 0 ? 250 : i === 33 ? 500 : 0));
    expect(simpleFontWidthMismatches(sym, 32, widths, true)).toBe(0);
    widths[33] = 556;
    expect(simpleFontWidthMismatches(sym, 32, widths, true)).toBe(1);
  });

  test('cidWidths reads both /W forms', () => {
    expect([...cidWidths([1, [10, 20], 5, 7, 30]).entries()]).toEqual([[1, 10], [2, 20], [5, 30], [6, 30], [7, 30]]);
  });

  test('unreadable programs are refused, not guessed', () => {
    expect(trueTypeMetrics(Buffer.alloc(8))).toBeNull();
    expect(trueTypeMetrics(font.subarray(0, 40))).toBeNull();
  });
});
