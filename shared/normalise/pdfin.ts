import { createHash } from 'crypto';
import {
  PDFArray, PDFBool, PDFDict, PDFDocument, PDFHeader, PDFName, PDFNumber, PDFObject, PDFRawStream, PDFRef, PDFStream,
} from 'pdf-lib';
import { ArchiveError } from '../kernel/errors';
import { cmykProfile, srgbProfile } from './icc';
import { decodeNamesInText } from './pdf-names';
import { deflateCached, DocInfo, finishPdfA } from './pdfa';
import type { ConversionRecord, PageRecord } from '../kernel/document';
import { NormaliseLimits } from './types';
import { cidFontWidthMismatches, cidWidths, simpleFontWidthMismatches, trueTypeMetrics } from './font-widths';
import { corrupt, inflateBounded, maxDecompressed, refuseZipTail, trailingData } from './util';
import { readPdfaId } from './xmp';
import { loadPdf } from './pdf-load';
import type { Misdirection } from './pdf-xref';

export interface PdfOutcome {
  bytes: Buffer;
  pageCount: number;
  pages: PageRecord[];
  conversion: Pick<ConversionRecord, 'conformance' | 'conformanceReason' | 'declaredConformance' | 'outputIntent'>;
}

/** Actions PDF/A-2 forbids that are not active content we refuse outright. */
const FORBIDDEN_ACTIONS = new Set(['ResetForm', 'ImportData', 'Hide', 'SetOCGState', 'Rendition', 'Trans', 'GoTo3DView', 'Sound', 'Movie']);
const FORBIDDEN_ANNOTS = new Set(['Sound', 'Movie', 'Screen', '3D', 'RichMedia']);
const STANDARD_BLEND = new Set(['Normal', 'Compatible', 'Multiply', 'Screen', 'Overlay', 'Darken', 'Lighten', 'ColorDodge', 'ColorBurn', 'HardLight', 'SoftLight', 'Difference', 'Exclusion', 'Hue', 'Saturation', 'Color', 'Luminosity']);
const MAX_DEPTH = 64;
/** Actions that may run by themselves (an /OpenAction, any /AA trigger): moving within the file, nothing else. */
const SELF_CONTAINED_NAMED = ['NextPage', 'PrevPage', 'FirstPage', 'LastPage'];

const N = (s: string) => PDFName.of(s);
const nameOf = (o: PDFObject | undefined): string | undefined => (o instanceof PDFName ? o.decodeText() : undefined);
/**
 * A name from the file as the reason for keeping it shows it (readers see that reason on the document's page): as the PDF
 * spells it, printable ASCII with every other byte as #xx, at most 127 characters (ISO 32000's limit for a name). Decoded,
 * a /BaseFont of `Arial#20is#20embedded.#0A…` put the uploader's words and line breaks, at any length, in the archive's voice.
 */
const shownName = (o: PDFObject | undefined): string | undefined => {
  if (!(o instanceof PDFName)) return undefined;
  const spelled = o.asString().slice(1);
  return spelled.length > 127 ? `${spelled.slice(0, 126)}…` : spelled;
};

interface Findings {
  javascript: string[];
  launch: boolean;
  embedded: string[];
  xfa: string[];
  pageAA: boolean;
  /** Actions that run without a click (on open, on page view, on pointer enter) and reach outside the file. */
  automatic: string[];
  /** Streams whose data is an external file or URL (`/F` on a stream). */
  external: boolean;
  /** Why the file cannot honestly be made PDF/A-2b. */
  problems: Set<string>;
  usesRGB: boolean;
  usesCMYK: boolean;
  oversizeImage?: { width: number; height: number };
  interpolate: PDFDict[];
  annotsWithoutPrint: PDFDict[];
  contentStreams: Set<PDFRawStream>;
  resourceDicts: Set<PDFDict>;
  cmykImages: PDFDict[];
  /** Object-level XMP (images, pages, fonts): not ours to vouch for, dropped from a PDF/A rewrite. */
  objectMetadata: PDFDict[];
  /** TrueType-based font dictionaries, whose widths are checked against their programs (6.2.11.5). */
  trueTypeFonts: PDFDict[];
}

function dictOf(o: PDFObject | undefined): PDFDict | undefined {
  if (o instanceof PDFDict) return o;
  if (o instanceof PDFStream) return o.dict;
  return undefined;
}

/** Walk every object of the file (all indirect objects, and everything nested in them), or only `objects`. */
function inspect(pdf: PDFDocument, limits: NormaliseLimits, objects?: PDFObject[]): Findings {
  const ctx = pdf.context;
  const f: Findings = {
    javascript: [], launch: false, embedded: [], xfa: [], pageAA: false, automatic: [], external: false, problems: new Set(), usesRGB: false, usesCMYK: false,
    interpolate: [], annotsWithoutPrint: [], contentStreams: new Set(), resourceDicts: new Set(), cmykImages: [], objectMetadata: [], trueTypeFonts: [],
  };
  const look = (o: PDFObject | undefined): PDFObject | undefined => (o instanceof PDFRef ? ctx.lookup(o) : o);

  /** The action types of an action and its /Next chain that are not self-contained, when it runs by itself. */
  const outwardActions = (a: PDFObject | undefined, seen: Set<PDFObject>, depth: number): string[] => {
    const o = look(a);
    if (!o || seen.has(o) || depth > MAX_DEPTH) return [];
    seen.add(o);
    if (o instanceof PDFArray) return o.asArray().flatMap((x) => outwardActions(x, seen, depth + 1));
    const d = dictOf(o);
    if (!d) return [];
    const s = nameOf(look(d.get(N('S'))));
    const here = s === undefined || s === 'GoTo' || (s === 'Named' && SELF_CONTAINED_NAMED.includes(nameOf(look(d.get(N('N')))) ?? '')) ? [] : [s];
    return [...here, ...outwardActions(d.get(N('Next')), seen, depth + 1)];
  };

  const visit = (o: PDFObject | undefined, depth: number): void => {
    if (!o) return;
    if (depth > MAX_DEPTH) throw corrupt('The PDF nests objects too deeply.');
    if (o instanceof PDFName) {
      const n = o.decodeText();
      if (n === 'DeviceRGB') f.usesRGB = true;
      else if (n === 'DeviceCMYK') f.usesCMYK = true;
      return;
    }
    if (o instanceof PDFArray) {
      for (let i = 0; i < o.size(); i++) visit(o.get(i), depth + 1);
      return;
    }
    const d = dictOf(o);
    if (!d) return;
    const type = nameOf(d.get(N('Type')));
    const subtype = nameOf(d.get(N('Subtype')));
    const s = nameOf(d.get(N('S')));
    if (s === 'JavaScript' || d.has(N('JS'))) f.javascript.push('a JavaScript action');
    if (d.has(N('JavaScript'))) f.javascript.push('document-level JavaScript (/Names /JavaScript)');
    if (s === 'Launch') f.launch = true;
    if (s && FORBIDDEN_ACTIONS.has(s)) f.problems.add(`a ${s} action`);
    if (s === 'Named') {
      const nn = nameOf(d.get(N('N')));
      if (nn && !['NextPage', 'PrevPage', 'FirstPage', 'LastPage'].includes(nn)) f.problems.add(`a named action ${shownName(d.get(N('N')))}`);
    }
    if (d.has(N('AA'))) {
      if (type === 'Page' || type === 'Catalog') f.pageAA = true;
      else f.problems.add('additional actions (/AA) on an annotation or field');
      // An annotation's or field's triggers run without a click too (page open or visible, pointer enter).
      const aa = look(d.get(N('AA')));
      if (aa instanceof PDFDict) for (const [k, v] of aa.entries()) {
        for (const kind of outwardActions(v, new Set(), 0)) f.automatic.push(`a ${kind} action run by /AA /${shownName(k)}`);
      }
    }
    // Only a catalog has /OpenAction; not asking for /Type: a reader opens a catalog that lacks it.
    if (d.has(N('OpenAction'))) for (const kind of outwardActions(d.get(N('OpenAction')), new Set(), 0)) f.automatic.push(`a ${kind} action run by /OpenAction`);
    // A 3D artwork's /OnInstantiate stream is JavaScript run when the artwork is shown.
    if (d.has(N('OnInstantiate'))) f.javascript.push('a 3D stream with /OnInstantiate JavaScript');
    if (d.has(N('EmbeddedFiles'))) f.embedded.push('an /EmbeddedFiles name tree');
    if (subtype === 'FileAttachment') f.embedded.push('a /FileAttachment annotation');
    if (type === 'EmbeddedFile' || d.has(N('EF'))) f.embedded.push('an embedded file stream');
    if (d.has(N('XFA'))) f.xfa.push('/AcroForm /XFA');
    if (d.get(N('NeedsRendering')) === PDFBool.True) f.xfa.push('/NeedsRendering true');
    if (d.has(N('Encrypt'))) f.problems.add('an /Encrypt entry');

    if (subtype === 'Image' && (type === 'XObject' || type === undefined) && o instanceof PDFStream) {
      const w = look(d.get(N('Width')));
      const h = look(d.get(N('Height')));
      if (w instanceof PDFNumber && h instanceof PDFNumber) {
        const px = w.asNumber() * h.asNumber();
        if (px > limits.maxPixelsPerPage && !f.oversizeImage) f.oversizeImage = { width: w.asNumber(), height: h.asNumber() };
      }
      if (d.get(N('Interpolate')) === PDFBool.True) f.interpolate.push(d);
      if (d.has(N('Alternates'))) f.problems.add('an image with /Alternates');
      if (d.has(N('OPI'))) f.problems.add('an image with /OPI');
      if (nameOf(d.get(N('ColorSpace'))) === 'DeviceCMYK') f.cmykImages.push(d);
    }
    if (subtype === 'PS' || d.has(N('PS')) || nameOf(d.get(N('Subtype2'))) === 'PS') f.problems.add('a PostScript XObject');
    if (type === 'XObject' && subtype === 'Form' && d.has(N('Ref'))) f.problems.add('a reference XObject');
    if (subtype === 'Form' && o instanceof PDFRawStream) f.contentStreams.add(o);
    if (type === 'Pattern' && o instanceof PDFRawStream) f.contentStreams.add(o);
    if (type !== 'Catalog' && d.has(N('Metadata'))) f.objectMetadata.push(d);
    const res = look(d.get(N('Resources')));
    if (res instanceof PDFDict) f.resourceDicts.add(res);

    for (const key of ['Filter']) {
      const flt = look(d.get(N(key)));
      const names = flt instanceof PDFArray ? flt.asArray().map((x) => nameOf(x)) : [nameOf(flt)];
      if (names.some((n) => n === 'LZWDecode' || n === 'LZW')) f.problems.add('LZW-compressed data');
      if (names.includes('Crypt')) f.problems.add('a Crypt filter');
    }
    if (d.has(N('F')) && o instanceof PDFStream) f.external = true;

    if (type === 'Font' || (subtype && ['Type1', 'MMType1', 'TrueType', 'CIDFontType0', 'CIDFontType2'].includes(subtype) && d.has(N('BaseFont')))) {
      if (subtype && subtype !== 'Type3' && subtype !== 'Type0') {
        const fd = look(d.get(N('FontDescriptor')));
        const embedded = fd instanceof PDFDict && (fd.has(N('FontFile')) || fd.has(N('FontFile2')) || fd.has(N('FontFile3')));
        if (!embedded) f.problems.add(`font ${shownName(d.get(N('BaseFont'))) ?? '(unnamed)'} is not embedded`);
        if (subtype === 'CIDFontType2' && !d.has(N('CIDToGIDMap'))) f.problems.add(`CID font ${shownName(d.get(N('BaseFont'))) ?? '(unnamed)'} without /CIDToGIDMap`);
        if (subtype === 'TrueType' || subtype === 'CIDFontType2') f.trueTypeFonts.push(d);
      }
      if (subtype === 'Type3') {
        const procs = look(d.get(N('CharProcs')));
        if (procs instanceof PDFDict) for (const v of procs.values()) {
          const p = look(v);
          if (p instanceof PDFRawStream) f.contentStreams.add(p);
        }
      }
    }
    if (type === 'Annot' || (subtype && d.has(N('Rect')) && (d.has(N('P')) || d.has(N('AP')) || d.has(N('F'))))) {
      if (subtype && FORBIDDEN_ANNOTS.has(subtype)) f.problems.add(`a ${subtype} annotation`);
      if (subtype && subtype !== 'Popup') {
        const flags = look(d.get(N('F')));
        const fv = flags instanceof PDFNumber ? flags.asNumber() : 0;
        const ap = look(d.get(N('AP')));
        if (fv & (1 | 2 | 32 | 256)) f.problems.add('a hidden or non-viewable annotation');
        // Drawn on screen, left out in print: a print flag set for PDF/A would print what a printed original hides.
        else if (!(fv & 4) && ap instanceof PDFDict && ap.has(N('N'))) f.problems.add('an annotation drawn on screen but not in print (print flag off)');
        else if (!(fv & 4)) f.annotsWithoutPrint.push(d);
        if (subtype !== 'Link' && !(ap instanceof PDFDict && ap.has(N('N')))) {
          f.problems.add(`a ${shownName(d.get(N('Subtype')))} annotation without an appearance stream`);
        }
      }
    }
    if (type === 'ExtGState' || d.has(N('TR')) || d.has(N('HTP'))) {
      if (d.has(N('TR'))) f.problems.add('a transfer function (/TR)');
      const tr2 = d.get(N('TR2'));
      if (tr2 && nameOf(tr2) !== 'Default') f.problems.add('a transfer function (/TR2)');
      if (d.has(N('HTP')) || d.has(N('HTO'))) f.problems.add('a halftone origin');
      const bm = look(d.get(N('BM')));
      const bms = bm instanceof PDFArray ? bm.asArray().map(nameOf) : [nameOf(bm)];
      if (bm && bms.some((b) => !b || !STANDARD_BLEND.has(b))) f.problems.add('a non-standard blend mode');
    }
    if (type === 'Catalog') {
      const oc = look(d.get(N('OCProperties')));
      if (oc instanceof PDFDict) {
        const dflt = look(oc.get(N('D')));
        if (!(dflt instanceof PDFDict) || !dflt.has(N('Name')) || dflt.has(N('AS'))) f.problems.add('optional content without a named default configuration');
      }
      const af = look(d.get(N('AcroForm')));
      if (af instanceof PDFDict && af.get(N('NeedAppearances')) === PDFBool.True) f.problems.add('a form asking viewers to build appearances (/NeedAppearances)');
    }
    for (const [, v] of d.entries()) visit(v, depth + 1);
  };
  if (objects) {
    for (const obj of objects) visit(obj, 0);
    return f;
  }
  for (const [, obj] of ctx.enumerateIndirectObjects()) visit(obj, 0);
  visit(ctx.trailerInfo.Root, 0);
  return f;
}

/**
 * Every /Pages node's /Count must be the number of pages under it. pdf.js (the web app's preview,
 * Firefox) believes /Count, ghostscript and pdf-lib walk /Kids: a tree of two pages saying /Count 1
 * showed one page in the preview and two in a PDF reader and in the record.
 */
function refuseMiscounted(pdf: PDFDocument): void {
  const ctx = pdf.context;
  const leaves = (node: PDFDict, depth: number): number => {
    if (depth > MAX_DEPTH) throw corrupt('The PDF page tree nests too deeply.');
    if (nameOf(node.get(N('Type'))) !== 'Pages') return 1;
    const kids = ctx.lookup(node.get(N('Kids')));
    let n = 0;
    if (kids instanceof PDFArray) for (const k of kids.asArray()) {
      const kid = ctx.lookup(k);
      if (kid instanceof PDFDict) n += leaves(kid, depth + 1);
    }
    const count = ctx.lookup(node.get(N('Count')));
    if (!(count instanceof PDFNumber) || count.asNumber() !== n) {
      throw new ArchiveError('corrupt_file', {
        detail: `The PDF page tree says it has ${count instanceof PDFNumber ? count.asNumber() : 'no /Count of'} pages where ${n} are in it: readers that believe /Count would show another number of pages than readers that walk the tree.`,
        extensions: { reason: 'page_count_mismatch' },
      });
    }
    return n;
  };
  const root = ctx.lookup(pdf.catalog.get(N('Pages')));
  if (root instanceof PDFDict) leaves(root, 0);
}

function refuse(f: Findings): void {
  if (f.xfa.length) throw new ArchiveError('xfa_form', { detail: `The PDF is an XFA form (${[...new Set(f.xfa)].join(', ')}); XFA is not allowed in an archive rendition.` });
  if (f.javascript.length) throw new ArchiveError('active_content', { detail: `The PDF carries JavaScript (${[...new Set(f.javascript)].join(', ')}).`, extensions: { reason: 'javascript' } });
  if (f.launch) throw new ArchiveError('active_content', { detail: 'The PDF carries a Launch action (it can start programs).', extensions: { reason: 'launch_action' } });
  if (f.pageAA) throw new ArchiveError('active_content', { detail: 'The PDF has document or page additional actions (/AA) that run on open or close.', extensions: { reason: 'additional_actions' } });
  if (f.automatic.length) {
    throw new ArchiveError('active_content', {
      detail: `The PDF carries actions that run by themselves when it is opened or viewed, other than moving within it (${[...new Set(f.automatic)].join(', ')}).`,
      extensions: { reason: 'automatic_action' },
    });
  }
  if (f.external) throw new ArchiveError('active_content', { detail: 'The PDF has a stream whose data is an external file or URL (/F on a stream), which a viewer would fetch.', extensions: { reason: 'external_stream' } });
  if (f.embedded.length) throw new ArchiveError('embedded_file', { detail: `The PDF carries embedded files (${[...new Set(f.embedded)].join(', ')}).` });
}

/** Decoded bytes of a stream if its filters are ones we read (Flate or none); undefined otherwise. */
function streamText(s: PDFRawStream, budget: { left: number }): Buffer | undefined {
  const flt = s.dict.get(N('Filter'));
  const filters = flt instanceof PDFArray ? flt.asArray().map(nameOf) : flt ? [nameOf(flt)] : [];
  let data: Buffer = Buffer.from(s.contents.buffer, s.contents.byteOffset, s.contents.byteLength);
  for (const fl of filters) {
    if (fl !== 'FlateDecode' && fl !== 'Fl') return undefined;
    if (s.dict.has(N('DecodeParms'))) return undefined;
    data = inflateBounded(data, budget.left, 'PDF content stream');
  }
  budget.left -= data.length;
  if (budget.left <= 0) throw new ArchiveError('decompressed_too_large', { detail: 'The PDF content streams decompress to more data than the archive accepts.' });
  return data;
}

const RGB_OPS = /(?:^|[\s\])>}])(?:rg|RG)(?=[\s[(<\/{]|$)|\/(?:RGB|DeviceRGB)\b/;
const CMYK_OPS = /(?:^|[\s\])>}])(?:k|K)(?=[\s[(<\/{]|$)|\/(?:CMYK|DeviceCMYK)\b/;

function scanContent(pdf: PDFDocument, f: Findings, limits: NormaliseLimits): void {
  const ctx = pdf.context;
  for (const page of pdf.getPages()) {
    const c = page.node.get(N('Contents'));
    const items = c instanceof PDFArray ? c.asArray() : c ? [c] : [];
    for (const it of items) {
      const s = it instanceof PDFRef ? ctx.lookup(it) : it;
      if (s instanceof PDFRawStream) f.contentStreams.add(s);
    }
    const res = page.node.Resources();
    if (res) f.resourceDicts.add(res);
  }
  const budget = { left: maxDecompressed(limits) };
  for (const s of f.contentStreams) {
    const text = streamText(s, budget);
    if (!text) {
      f.usesRGB = true;
      f.usesCMYK = true;
      continue;
    }
    const str = decodeNamesInText(text.toString('latin1'));
    if (RGB_OPS.test(str)) f.usesRGB = true;
    if (CMYK_OPS.test(str)) f.usesCMYK = true;
    if (/\/(?:LZW|LZWDecode)\b/.test(str) && /\bBI\b/.test(str)) f.problems.add('an LZW-compressed inline image');
  }
  for (const font of f.trueTypeFonts) checkFontWidths(ctx, font, f, budget);
}

const numberOf = (o: PDFObject | undefined): number | undefined => (o instanceof PDFNumber ? o.asNumber() : undefined);

/** 6.2.11.5: glyph widths in the font dictionary agree with the embedded TrueType program. */
function checkFontWidths(ctx: PDFDocument['context'], font: PDFDict, f: Findings, budget: { left: number }): void {
  const look = (o: PDFObject | undefined): PDFObject | undefined => (o instanceof PDFRef ? ctx.lookup(o) : o);
  const fd = look(font.get(N('FontDescriptor')));
  const program = fd instanceof PDFDict ? look(fd.get(N('FontFile2'))) : undefined;
  if (!(program instanceof PDFRawStream)) return;
  const bytes = streamText(program, budget);
  const metrics = bytes && trueTypeMetrics(bytes);
  const name = shownName(font.get(N('BaseFont'))) ?? '(unnamed)';
  if (!metrics) {
    f.problems.add(`font ${name} has an embedded TrueType program whose glyph widths cannot be read`);
    return;
  }
  let mismatches: number;
  if (nameOf(font.get(N('Subtype'))) === 'CIDFontType2') {
    const w = look(font.get(N('W')));
    const flat = (a: PDFObject | undefined): (number | number[])[] =>
      a instanceof PDFArray ? a.asArray().map((x) => { const v = look(x); return v instanceof PDFArray ? v.asArray().map((y) => numberOf(look(y)) ?? NaN) : numberOf(v) ?? NaN; }) : [];
    const map = look(font.get(N('CIDToGIDMap')));
    const cidToGid = map instanceof PDFRawStream ? streamText(map, budget) ?? null : null;
    if (map instanceof PDFRawStream && !cidToGid) return; // a filter we do not read; nothing to compare safely
    mismatches = cidFontWidthMismatches(metrics, cidWidths(flat(w)), numberOf(look(font.get(N('DW')))) ?? 1000, cidToGid);
  } else {
    const widths = look(font.get(N('Widths')));
    const flags = fd instanceof PDFDict ? numberOf(look(fd.get(N('Flags')))) ?? 0 : 0;
    mismatches = simpleFontWidthMismatches(metrics, numberOf(look(font.get(N('FirstChar')))) ?? 0, widths instanceof PDFArray ? widths.asArray().map((x) => numberOf(look(x)) ?? 0) : [], (flags & 4) !== 0);
  }
  if (mismatches > 0) f.problems.add(`font ${name}: ${mismatches} glyph width(s) in the font dictionary disagree with the embedded font program`);
}

function declaredPdfa(pdf: PDFDocument, limits: NormaliseLimits): string | undefined {
  const meta = pdf.context.lookup(pdf.catalog.get(N('Metadata')));
  if (!(meta instanceof PDFRawStream)) return undefined;
  const text = streamText(meta, { left: Math.min(maxDecompressed(limits), 64 * 1024 * 1024) });
  if (!text) return undefined;
  try {
    const id = readPdfaId(text.toString('utf8'));
    return id ? `PDF/A-${id.part}${(id.conformance ?? '').toUpperCase()}` : undefined;
  } catch {
    return undefined; // XMP with a DTD is not read at all
  }
}

/** Per page: hashes of the content and image streams, to prove a rewrite left them unchanged. */
function pageFingerprints(pdf: PDFDocument): string[] {
  const ctx = pdf.context;
  return pdf.getPages().map((page) => {
    const parts: string[] = [];
    const add = (o: PDFObject | undefined) => {
      const s = o instanceof PDFRef ? ctx.lookup(o) : o;
      if (s instanceof PDFRawStream) parts.push(createHash('sha256').update(s.contents).digest('hex'));
    };
    const c = page.node.get(N('Contents'));
    if (c instanceof PDFArray) c.asArray().forEach(add);
    else add(c);
    const xo = page.node.Resources()?.get(N('XObject'));
    const xod = xo instanceof PDFRef ? ctx.lookup(xo) : xo;
    if (xod instanceof PDFDict) for (const [k, v] of xod.entries()) { parts.push(k.decodeText()); add(v); }
    return parts.join(',');
  });
}

function keptPages(pdf: PDFDocument, handling: PageRecord['handling'] = 'kept'): PageRecord[] {
  return pdf.getPages().map((p, i) => {
    const rec: PageRecord = { page: i + 1, sourceFile: 0, sourceFormat: 'application/pdf', handling, check: 'stream-identity' };
    try {
      const { width, height } = p.getSize();
      const turned = p.getRotation().angle % 180 !== 0;
      if (Number.isFinite(width) && Number.isFinite(height)) Object.assign(rec, { widthPt: turned ? height : width, heightPt: turned ? width : height });
    } catch {
      /* a page without a usable MediaBox keeps its record without a size */
    }
    return rec;
  });
}

/**
 * Only whitespace and NUL padding may follow the last %%EOF (incremental updates
 * add sections, each with its own %%EOF, so only the last one counts). A ZIP's
 * comment could end in "%%EOF" too, so a ZIP ending the file is refused as well.
 */
function refuseTrailingData(bytes: Buffer): void {
  const eof = bytes.lastIndexOf('%%EOF', undefined, 'latin1');
  if (eof >= 0) {
    const end = eof + 5;
    let at = end;
    while (at < bytes.length && [0x00, 0x09, 0x0a, 0x0c, 0x0d, 0x20].includes(bytes[at]!)) at++;
    if (at < bytes.length) throw trailingData('PDF', end, bytes.length, 'its last %%EOF');
  }
  refuseZipTail(bytes, 'PDF');
}

export async function normalisePdf(bytes: Buffer, limits: NormaliseLimits, info: DocInfo): Promise<PdfOutcome> {
  const head = bytes.subarray(0, 1024).toString('latin1');
  if (!head.includes('%PDF-')) throw corrupt('The PDF has no %PDF header.');
  refuseTrailingData(bytes);
  let pdf: PDFDocument;
  let shadowed: PDFObject[];
  let misdirected: Misdirection | undefined;
  try {
    ({ pdf, shadowed, misdirected } = await loadPdf(bytes, maxDecompressed(limits)));
  } catch (cause) {
    if (cause instanceof ArchiveError) throw cause;
    if (cause instanceof Error && /encrypted/i.test(cause.message)) {
      throw new ArchiveError('encrypted_pdf', { detail: 'The PDF is encrypted (even when it opens without a password, PDF/A forbids encryption); upload it decrypted.', cause });
    }
    throw corrupt('The PDF cannot be parsed.', cause);
  }
  if (pdf.isEncrypted) throw new ArchiveError('encrypted_pdf', { detail: 'The PDF is encrypted; upload it decrypted.' });
  let pageCount: number;
  try {
    pageCount = pdf.getPageCount();
  } catch (cause) {
    throw corrupt('The PDF has no usable page tree.', cause);
  }
  if (pageCount === 0) throw corrupt('The PDF has no pages.');
  refuseMiscounted(pdf);
  if (pageCount > limits.maxPages) throw new ArchiveError('too_many_pages', { detail: `The PDF has ${pageCount} pages; at most ${limits.maxPages} are accepted.` });

  const f = inspect(pdf, limits);
  refuse(f);
  // A definition the parse replaced is still in the original, for a reader that takes it: refused alike.
  refuse(inspect(pdf, limits, shadowed));
  // A viewer follows the cross-reference data; where it would read what the parse did not, it may show
  // other content than the rendition: refused, as active content when what it finds there is that.
  if (misdirected) {
    if (misdirected.object) refuse(inspect(pdf, limits, [misdirected.object]));
    throw corrupt(misdirected.detail);
  }
  if (f.oversizeImage) {
    const { width, height } = f.oversizeImage;
    throw new ArchiveError('too_many_pixels', {
      detail: `The PDF contains a ${width}×${height} image; at most ${limits.maxPixelsPerPage} pixels an image are accepted.`,
      extensions: { width, height, maxPixelsPerPage: limits.maxPixelsPerPage },
    });
  }

  const declared = declaredPdfa(pdf, limits);
  if (declared) {
    return {
      bytes, pageCount, pages: keptPages(pdf),
      conversion: {
        conformance: 'none', declaredConformance: declared,
        conformanceReason: `The PDF declares ${declared} in its XMP and is kept as uploaded; the declaration is the file's own, not verified by the archive.`,
      },
    };
  }

  scanContent(pdf, f, limits);
  if (f.problems.size) {
    return {
      bytes, pageCount, pages: keptPages(pdf),
      conversion: { conformance: 'none', conformanceReason: `Kept as uploaded after validation; no PDF/A-2b rendition because the PDF has ${[...f.problems].sort().join('; ')}.` },
    };
  }

  try {
    const before = pageFingerprints(pdf);
    const ctx = pdf.context;
    // Fixes that change no content: rendering hints and print flags.
    for (const d of f.interpolate) d.set(N('Interpolate'), PDFBool.False);
    for (const d of f.objectMetadata) d.delete(N('Metadata'));
    for (const a of f.annotsWithoutPrint) {
      const flags = a.get(N('F'));
      a.set(N('F'), PDFNumber.of((flags instanceof PDFNumber ? flags.asNumber() : 0) | 4));
    }
    // OutputIntent: CMYK when the file draws in CMYK only, else sRGB with CMYK given an ICC profile.
    let intent: { profile: Buffer; n: number; name: 'sRGB' | 'CMYK' };
    if (f.usesCMYK && !f.usesRGB) intent = { profile: await cmykProfile(), n: 4, name: 'CMYK' };
    else {
      intent = { profile: await srgbProfile(), n: 3, name: 'sRGB' };
      if (f.usesCMYK) {
        const cmykRef = ctx.register(PDFRawStream.of(ctx.obj({ N: 4, Filter: 'FlateDecode' }), deflateCached(await cmykProfile())));
        const cs = ctx.obj([N('ICCBased'), cmykRef]);
        for (const img of f.cmykImages) img.set(N('ColorSpace'), cs);
        for (const res of f.resourceDicts) {
          const existing = res.get(N('ColorSpace'));
          const csd = existing instanceof PDFRef ? ctx.lookup(existing) : existing;
          if (csd instanceof PDFDict) csd.set(N('DefaultCMYK'), cs);
          else res.set(N('ColorSpace'), ctx.obj({ DefaultCMYK: cs }));
        }
      }
    }
    await finishPdfA(pdf, info, intent);
    ctx.header = PDFHeader.forVersion(1, 7);
    const catalog = pdf.catalog;
    catalog.delete(N('Version'));
    catalog.delete(N('Perms'));
    const out = Buffer.from(await pdf.save({ useObjectStreams: false, addDefaultPage: false, updateFieldAppearances: false }));

    // The check: re-read the rendition; every page's content and image streams are the upload's, byte for byte.
    const again = await PDFDocument.load(out, { updateMetadata: false, throwOnInvalidObject: true });
    const after = pageFingerprints(again);
    if (after.length !== before.length || after.some((x, i) => x !== before[i])) throw new Error('PDF rewrite changed page streams');
    const notes: string[] = [];
    if (f.interpolate.length) notes.push(`/Interpolate set to false on ${f.interpolate.length} image(s)`);
    if (f.objectMetadata.length) notes.push(`object-level XMP removed from ${f.objectMetadata.length} object(s) (kept in the original)`);
    if (f.annotsWithoutPrint.length) notes.push(`print flag set on ${f.annotsWithoutPrint.length} annotation(s)`);
    if (intent.name === 'sRGB' && f.usesCMYK) notes.push('DeviceCMYK given an ICCBased CMYK profile (DefaultCMYK)');
    return {
      bytes: out,
      pageCount,
      pages: keptPages(pdf, 'passed-through'),
      conversion: {
        conformance: 'PDF/A-2b',
        outputIntent: intent.name,
        conformanceReason: `Page content and images carried over unchanged; PDF/A-2b metadata, OutputIntent and /ID added${notes.length ? `; ${notes.join('; ')}` : ''}.`,
      },
    };
  } catch (cause) {
    if (cause instanceof ArchiveError) throw cause;
    // The upload passed validation; a rewrite that fails or does not prove itself leaves it as it was.
    return {
      bytes, pageCount, pages: keptPages(pdf),
      conversion: { conformance: 'none', conformanceReason: `Kept as uploaded after validation; the PDF/A-2b rewrite could not be completed (${cause instanceof Error ? cause.message : String(cause)}).` },
    };
  }
}
