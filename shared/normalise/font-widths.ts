/**
 * PDF/A-2 6.2.11.5 (veraPDF rule 6.2.11.5-1): for every embedded font, the glyph widths in the
 * font dictionary (/Widths, or /W and /DW) must agree with the embedded font program within one
 * unit in 1,000. A PDF rewritten as PDF/A-2b keeps its fonts and page streams unchanged, so a
 * disagreement cannot be mended honestly (changing /Widths moves the text): the PDF is kept with
 * `conformance: none` instead. Checked here for TrueType programs (/FontFile2), the kind veraPDF
 * found wrong in our corpus; Type 1 and CFF programs are not parsed (see README).
 */

export interface FontProgramMetrics {
  unitsPerEm: number;
  numGlyphs: number;
  /** Advance width of a glyph id, in font units. */
  advance(gid: number): number;
  /** True when the glyph has an outline (glyf data); empty glyphs (unused in a subset) are not compared. */
  hasOutline(gid: number): boolean;
  /** Glyph id of a character code for a simple font; undefined when the program has no usable cmap. */
  glyphOfCode(code: number, symbolic: boolean): number | undefined;
}

/** Parses the few TrueType tables the width check needs; null for anything it cannot read safely. */
export function trueTypeMetrics(font: Buffer): FontProgramMetrics | null {
  if (font.length < 12) return null;
  const numTables = font.readUInt16BE(4);
  const tables = new Map<string, { offset: number; length: number }>();
  for (let i = 0; i < numTables; i++) {
    const rec = 12 + 16 * i;
    if (rec + 16 > font.length) return null;
    const offset = font.readUInt32BE(rec + 8);
    const length = font.readUInt32BE(rec + 12);
    if (offset + length > font.length) return null;
    tables.set(font.toString('latin1', rec, rec + 4), { offset, length });
  }
  const head = tables.get('head');
  const hhea = tables.get('hhea');
  const hmtx = tables.get('hmtx');
  const maxp = tables.get('maxp');
  if (!head || !hhea || !hmtx || !maxp || head.length < 54 || hhea.length < 36 || maxp.length < 6) return null;
  const unitsPerEm = font.readUInt16BE(head.offset + 18);
  const longLoca = font.readInt16BE(head.offset + 50) === 1;
  const numberOfHMetrics = font.readUInt16BE(hhea.offset + 34);
  const numGlyphs = font.readUInt16BE(maxp.offset + 4);
  if (unitsPerEm === 0 || numberOfHMetrics === 0 || hmtx.length < numberOfHMetrics * 4) return null;
  const advance = (gid: number) => font.readUInt16BE(hmtx.offset + 4 * Math.min(gid, numberOfHMetrics - 1));

  const loca = tables.get('loca');
  const locaAt = (i: number): number | undefined => {
    if (!loca) return undefined;
    const at = loca.offset + i * (longLoca ? 4 : 2);
    if (at + (longLoca ? 4 : 2) > loca.offset + loca.length) return undefined;
    return longLoca ? font.readUInt32BE(at) : font.readUInt16BE(at) * 2;
  };
  const hasOutline = (gid: number) => {
    const a = locaAt(gid);
    const b = locaAt(gid + 1);
    return a === undefined || b === undefined ? true : b > a;
  };

  const subtables = cmapSubtables(font, tables.get('cmap'));
  const glyphOfCode = (code: number, symbolic: boolean): number | undefined => {
    // PDF 32000-1 9.6.6.4: symbolic fonts look up (3,0) at 0xF000+code (or code), then (1,0).
    const order: [number, number, number[]][] = symbolic
      ? [[3, 0, [0xf000 + code, code]], [1, 0, [code]]]
      : [[1, 0, [code]], [3, 0, [0xf000 + code, code]]];
    for (const [platform, encoding, codes] of order) {
      const lookup = subtables.get(`${platform},${encoding}`);
      if (!lookup) continue;
      for (const c of codes) {
        const gid = lookup(c);
        if (gid) return gid;
      }
    }
    return undefined;
  };
  return { unitsPerEm, numGlyphs, advance, hasOutline, glyphOfCode };
}

type CmapLookup = (code: number) => number;

/** cmap subtables of formats 0, 4 and 6, by "platform,encoding". */
function cmapSubtables(font: Buffer, cmap: { offset: number; length: number } | undefined): Map<string, CmapLookup> {
  const out = new Map<string, CmapLookup>();
  if (!cmap || cmap.length < 4) return out;
  const end = cmap.offset + cmap.length;
  const n = font.readUInt16BE(cmap.offset + 2);
  for (let i = 0; i < n; i++) {
    const rec = cmap.offset + 4 + 8 * i;
    if (rec + 8 > end) break;
    const key = `${font.readUInt16BE(rec)},${font.readUInt16BE(rec + 2)}`;
    const at = cmap.offset + font.readUInt32BE(rec + 4);
    if (at + 6 > end) continue;
    const format = font.readUInt16BE(at);
    if (format === 0 && at + 262 <= end) out.set(key, (c) => (c < 256 ? font[at + 6 + c]! : 0));
    else if (format === 6) {
      const first = font.readUInt16BE(at + 6);
      const count = font.readUInt16BE(at + 8);
      if (at + 10 + 2 * count > end) continue;
      out.set(key, (c) => (c >= first && c < first + count ? font.readUInt16BE(at + 10 + 2 * (c - first)) : 0));
    } else if (format === 4) {
      const segX2 = font.readUInt16BE(at + 6);
      const ends = at + 14;
      const starts = ends + segX2 + 2;
      const deltas = starts + segX2;
      const ranges = deltas + segX2;
      if (ranges + segX2 > end) continue;
      out.set(key, (c) => {
        for (let s = 0; s < segX2; s += 2) {
          if (c > font.readUInt16BE(ends + s)) continue;
          const start = font.readUInt16BE(starts + s);
          if (c < start) return 0;
          const delta = font.readUInt16BE(deltas + s);
          const rangeOffset = font.readUInt16BE(ranges + s);
          if (rangeOffset === 0) return (c + delta) & 0xffff;
          const g = ranges + s + rangeOffset + 2 * (c - start);
          if (g + 2 > end) return 0;
          const gid = font.readUInt16BE(g);
          return gid === 0 ? 0 : (gid + delta) & 0xffff;
        }
        return 0;
      });
    }
  }
  return out;
}

/** Widths from a CID font's /W array: `c [w1 w2 …]` and `cFirst cLast w`. */
export function cidWidths(w: (number | number[])[]): Map<number, number> {
  const widths = new Map<number, number>();
  for (let i = 0; i < w.length; ) {
    const first = w[i];
    const next = w[i + 1];
    if (typeof first !== 'number') break;
    if (Array.isArray(next)) {
      next.forEach((width, k) => widths.set(first + k, width));
      i += 2;
    } else if (typeof next === 'number' && typeof w[i + 2] === 'number') {
      for (let c = first; c <= next && c - first < 65536; c++) widths.set(c, w[i + 2] as number);
      i += 3;
    } else break;
  }
  return widths;
}

const agrees = (fromDict: number, fromProgram: number) => Math.abs(fromDict - fromProgram) <= 1;
const scaled = (m: FontProgramMetrics, gid: number) => (m.advance(gid) * 1000) / m.unitsPerEm;

/**
 * A CIDFontType2: every glyph the font can show (an explicit /W entry, or a glyph with an outline)
 * must have the width /W (else /DW, else 1000) gives it. `cidToGid` is null for /Identity.
 */
export function cidFontWidthMismatches(m: FontProgramMetrics, w: Map<number, number>, dw: number, cidToGid: Buffer | null): number {
  let mismatches = 0;
  const gidOf = (cid: number) => (cidToGid ? (2 * cid + 1 < cidToGid.length ? cidToGid.readUInt16BE(2 * cid) : 0) : cid);
  const cids = new Set<number>(w.keys());
  const cidCount = cidToGid ? cidToGid.length >> 1 : m.numGlyphs;
  for (let cid = 0; cid < cidCount; cid++) {
    const gid = gidOf(cid);
    if (gid > 0 && gid < m.numGlyphs && m.hasOutline(gid)) cids.add(cid);
  }
  for (const cid of cids) {
    const gid = gidOf(cid);
    if (gid <= 0 || gid >= m.numGlyphs) continue;
    if (!agrees(w.get(cid) ?? dw, scaled(m, gid))) mismatches++;
  }
  return mismatches;
}

/** A simple TrueType font: every code with a non-zero /Widths entry and a glyph must agree. */
export function simpleFontWidthMismatches(m: FontProgramMetrics, firstChar: number, widths: number[], symbolic: boolean): number {
  let mismatches = 0;
  widths.forEach((width, i) => {
    if (width === 0) return;
    const gid = m.glyphOfCode(firstChar + i, symbolic);
    if (gid === undefined || gid >= m.numGlyphs) return;
    if (!agrees(width, scaled(m, gid))) mismatches++;
  });
  return mismatches;
}
