/**
 * Test helpers for the normaliser: corpus access, an independent little TIFF
 * strip reader, rendition image decoding (inflate + PNG predictors), a PDF/A-2b
 * structural check, and qpdf / ghostscript runners.
 */
import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as zlib from 'zlib';
import {
  PDFArray, PDFBool, PDFDict, PDFDocument, PDFHexString, PDFName, PDFNumber, PDFObject, PDFRawStream, PDFRef, PDFStream, PDFString,
} from 'pdf-lib';
import { normalise, NormaliseInput, NormaliseResult } from '../../../shared/normalise';
import { unfilter } from '../../../shared/normalise/png';

export const CORPUS = join(__dirname, '../../fixtures/corpus');
export const corpus = (f: string): Buffer => readFileSync(join(CORPUS, f));
export const LIMITS = { maxPixelsPerPage: 150_000_000, maxPages: 500 };

export function input(files: Buffer[], over: Partial<NormaliseInput> = {}): NormaliseInput {
  return {
    files: files.map((bytes) => ({ bytes })),
    documentId: 'doc-0001',
    createdAt: '2026-03-04T05:06:07.890Z',
    title: 'Invoice 42 & <Co>',
    limits: LIMITS,
    ...over,
  };
}

export function run(f: string | string[], over: Partial<NormaliseInput> = {}): Promise<NormaliseResult> {
  return normalise(input((Array.isArray(f) ? f : [f]).map(corpus), over));
}

// ---------- external tools ----------

function onPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
}
const warned = new Set<string>();
/** True when the tool can be used; fails under CI when it is missing, warns loudly otherwise. */
export function haveTool(tool: string, requiredInCi = true): boolean {
  if (onPath(tool)) return true;
  if (process.env.CI && requiredInCi) throw new Error(`${tool} is not on PATH; CI must have it (apt-get install ${tool === 'gs' ? 'ghostscript' : tool})`);
  if (!warned.has(tool)) {
    warned.add(tool);
    console.warn(`\n!!!!!!!!!! ${tool} is not on PATH: the ${tool} checks of the normaliser tests DID NOT RUN !!!!!!!!!!\n`);
  }
  return false;
}

function withTemp<T>(bytes: Buffer, fn: (file: string, dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'norm-'));
  try {
    const file = join(dir, 'in.pdf');
    writeFileSync(file, bytes);
    return fn(file, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** qpdf --check: exit 0 (clean) or 3 (warnings only) pass; 2 is an error. Returns the output. */
export function qpdfCheck(pdf: Buffer): { ok: boolean; output: string } | undefined {
  if (!haveTool('qpdf')) return undefined;
  return withTemp(pdf, (file) => {
    const r = spawnSync('qpdf', ['--check', file], { encoding: 'utf8' });
    return { ok: r.status === 0 || r.status === 3, output: `${r.stdout}${r.stderr}` };
  });
}

/** What qpdf, following the cross-reference data, reads as object `num` (`--show-object`). */
export function qpdfObject(pdf: Buffer, num: number): string | undefined {
  if (!haveTool('qpdf')) return undefined;
  return withTemp(pdf, (file) => spawnSync('qpdf', [`--show-object=${num}`, file], { encoding: 'utf8' }).stdout);
}

/** Render page 1 (or `page`) with ghostscript to 8-bit gray or RGB at `dpi`, anti-aliasing off. */
export function gsRender(pdf: Buffer, dpi: number, gray: boolean, page = 1): Buffer | undefined {
  // Render checks are extra evidence; CI (.ci/run) installs qpdf only, so a missing gs only warns.
  if (!haveTool('gs', false)) return undefined;
  return withTemp(pdf, (file, dir) => {
    const out = join(dir, 'out.png');
    execFileSync('gs', ['-q', '-dNOPAUSE', '-dBATCH', '-dSAFER', `-sDEVICE=${gray ? 'pnggray' : 'png16m'}`, `-r${dpi}`,
      '-dTextAlphaBits=1', '-dGraphicsAlphaBits=1', `-dFirstPage=${page}`, `-dLastPage=${page}`, `-sOutputFile=${out}`, file]);
    return readFileSync(out);
  });
}

// ---------- an independent minimal TIFF reader (strips only) ----------

export interface TiffStripsPage {
  width: number; height: number; compression: number; photometric: number; fillOrder: number;
  strips: Buffer[];
}
export function tiffStrips(b: Buffer): TiffStripsPage[] {
  const le = b.toString('latin1', 0, 2) === 'II';
  const u16 = (o: number) => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  const pages: TiffStripsPage[] = [];
  for (let ifd = u32(4); ifd; ) {
    const n = u16(ifd);
    const tags = new Map<number, number[]>();
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + 12 * i;
      const type = u16(e + 2);
      const count = u32(e + 4);
      const size = type === 3 ? 2 : 4;
      const at = size * count <= 4 ? e + 8 : u32(e + 8);
      if (type === 3 || type === 4) tags.set(u16(e), Array.from({ length: count }, (_, k) => (size === 2 ? u16(at + 2 * k) : u32(at + 4 * k))));
    }
    const t = (k: number, d = 0) => tags.get(k)?.[0] ?? d;
    const offs = tags.get(273) ?? [];
    const counts = tags.get(279) ?? [];
    pages.push({
      width: t(256), height: t(257), compression: t(259, 1), photometric: t(262), fillOrder: t(266, 1),
      strips: offs.map((o, i) => b.subarray(o, o + counts[i]!)),
    });
    ifd = u32(ifd + 2 + 12 * n);
  }
  return pages;
}

/**
 * A one-strip G4 TIFF (little-endian) around a /CCITTFaxDecode K -1 stream, so that libtiff can
 * decode the stream exactly as embedded: BlackIs1 true ↔ Photometric 1 (MinIsBlack), false ↔ 0.
 */
export function g4Tiff(width: number, height: number, data: Buffer, blackIs1: boolean): Buffer {
  const tags: [number, number, number][] = [
    [256, 4, width], [257, 4, height], [258, 3, 1], [259, 3, 4], [262, 3, blackIs1 ? 1 : 0],
    [273, 4, 0], [277, 3, 1], [278, 4, height], [279, 4, data.length],
  ];
  const ifdSize = 2 + tags.length * 12 + 4;
  const head = Buffer.alloc(8 + ifdSize);
  head.write('II', 0, 'latin1');
  head.writeUInt16LE(42, 2);
  head.writeUInt32LE(8, 4);
  head.writeUInt16LE(tags.length, 8);
  tags.forEach(([tag, type, value], i) => {
    const e = 10 + i * 12;
    head.writeUInt16LE(tag, e);
    head.writeUInt16LE(type, e + 2);
    head.writeUInt32LE(1, e + 4);
    if (tag === 273) value = head.length;
    if (type === 3) head.writeUInt16LE(value, e + 8);
    else head.writeUInt32LE(value, e + 8);
  });
  return Buffer.concat([head, data]);
}

// ---------- rendition inspection ----------

export interface RenditionImage {
  name: string;
  dict: PDFDict;
  raw: Buffer;
  smask?: RenditionImage;
}
export interface RenditionPage {
  width: number;
  height: number;
  rotate: number;
  images: RenditionImage[];
  content: string;
}

export async function renditionPages(pdfBytes: Buffer): Promise<{ pdf: PDFDocument; pages: RenditionPage[] }> {
  const pdf = await PDFDocument.load(pdfBytes, { updateMetadata: false });
  const ctx = pdf.context;
  const look = (o: PDFObject | undefined) => (o instanceof PDFRef ? ctx.lookup(o) : o);
  const image = (name: string, o: PDFObject | undefined): RenditionImage => {
    const s = look(o);
    if (!(s instanceof PDFRawStream)) throw new Error(`XObject ${name} is not a stream`);
    const sm = s.dict.get(PDFName.of('SMask'));
    return { name, dict: s.dict, raw: Buffer.from(s.contents), ...(sm ? { smask: image(`${name}/SMask`, sm) } : {}) };
  };
  const pages = pdf.getPages().map((p) => {
    const { width, height } = p.getSize();
    const xo = look(p.node.Resources()?.get(PDFName.of('XObject')));
    const images: RenditionImage[] = [];
    if (xo instanceof PDFDict) for (const [k, v] of xo.entries()) images.push(image(k.decodeText(), v));
    const c = look(p.node.get(PDFName.of('Contents')));
    const streams = c instanceof PDFArray ? c.asArray().map(look) : [c];
    const content = streams
      .map((s) => {
        if (!(s instanceof PDFRawStream)) return '';
        const flate = nameOf(s.dict.get(PDFName.of('Filter'))) === 'FlateDecode';
        return (flate ? zlib.inflateSync(Buffer.from(s.contents)) : Buffer.from(s.contents)).toString('latin1');
      })
      .join('\n');
    const rot = p.node.get(PDFName.of('Rotate'));
    return { width, height, rotate: rot instanceof PDFNumber ? rot.asNumber() : 0, images, content };
  });
  return { pdf, pages };
}

const num = (d: PDFDict, k: string): number => {
  const v = d.get(PDFName.of(k));
  if (!(v instanceof PDFNumber)) throw new Error(`/${k} missing`);
  return v.asNumber();
};
const nameOf = (o: PDFObject | undefined) => (o instanceof PDFName ? o.decodeText() : undefined);

/** Undo PNG predictors (Predictor >= 10) on inflated data: the archive's own PNG row unfilter. */
function unpredict(data: Buffer, colors: number, bpc: number, columns: number): Buffer {
  const rb = Math.ceil((colors * bpc * columns) / 8);
  return unfilter(data, 0, data.length / (rb + 1), Math.max(1, (colors * bpc) >> 3), rb);
}

export interface Decoded {
  width: number;
  height: number;
  channels: number;
  depth: 8 | 16;
  /** Samples, one number each (8-bit values scaled to 0..255 for bpc < 8; 16-bit as is). */
  data: Uint16Array;
}

/** Decode a Flate image XObject to samples in its base colour space, with /Decode and /Indexed applied. */
export function decodeFlateImage(ctxPdf: PDFDocument, img: RenditionImage): Decoded {
  const d = img.dict;
  const ctx = ctxPdf.context;
  const look = (o: PDFObject | undefined) => (o instanceof PDFRef ? ctx.lookup(o) : o);
  if (nameOf(d.get(PDFName.of('Filter'))) !== 'FlateDecode') throw new Error(`${img.name} is not Flate`);
  const width = num(d, 'Width');
  const height = num(d, 'Height');
  const bpc = num(d, 'BitsPerComponent');
  const cs = look(d.get(PDFName.of('ColorSpace')));
  const isMask = !cs;
  let lookup: Buffer | undefined;
  let baseN: number;
  const compsOf = (c: PDFObject | undefined): number => {
    const n = nameOf(c);
    if (n === 'DeviceGray') return 1;
    if (n === 'DeviceRGB') return 3;
    if (n === 'DeviceCMYK') return 4;
    if (c instanceof PDFArray && nameOf(c.get(0)) === 'ICCBased') return num((look(c.get(1)) as PDFStream).dict, 'N');
    throw new Error(`unexpected colour space ${String(c)}`);
  };
  let n: number;
  if (cs instanceof PDFArray && nameOf(cs.get(0)) === 'Indexed') {
    baseN = compsOf(look(cs.get(1)));
    const l = look(cs.get(3));
    lookup = l instanceof PDFHexString ? Buffer.from(l.asBytes()) : Buffer.from((l as PDFString).asBytes());
    n = 1;
  } else {
    n = isMask ? 1 : compsOf(cs);
    baseN = n;
  }
  let data: Buffer = zlib.inflateSync(img.raw);
  const parms = look(d.get(PDFName.of('DecodeParms')));
  if (parms instanceof PDFDict && num(parms, 'Predictor') >= 10) data = unpredict(data, num(parms, 'Colors'), num(parms, 'BitsPerComponent'), num(parms, 'Columns'));
  const rb = Math.ceil((width * n * bpc) / 8);
  if (data.length < rb * height) throw new Error(`${img.name}: ${data.length} bytes, ${rb * height} expected`);
  const decodeArr = look(d.get(PDFName.of('Decode')));
  const inverted = decodeArr instanceof PDFArray && (decodeArr.get(0) as PDFNumber).asNumber() === 1;
  const channels = lookup ? baseN : n;
  const depth: 8 | 16 = bpc === 16 ? 16 : 8;
  const out = new Uint16Array(width * height * channels);
  const max = (1 << bpc) - 1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < n; c++) {
        const s = x * n + c;
        let v: number;
        if (bpc === 8) v = data[y * rb + s]!;
        else if (bpc === 16) v = data.readUInt16BE(y * rb + 2 * s);
        else v = (data[y * rb + ((s * bpc) >> 3)]! >> (8 - bpc - ((s * bpc) & 7))) & max;
        if (inverted) v = max - v;
        const o = (y * width + x) * channels;
        if (lookup) {
          for (let k = 0; k < baseN; k++) out[o + k] = lookup[v * baseN + k]!;
        } else out[o + c] = bpc < 8 ? Math.round((v * 255) / max) : v;
      }
    }
  }
  return { width, height, channels, depth, data: out };
}

// ---------- PDF/A-2b structural check ----------

function pdfDateToIso(s: string): string {
  const m = /^D:(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)(Z|[+-]\d\d'?\d\d'?)?$/.exec(s);
  if (!m) throw new Error(`unparsable PDF date ${s}`);
  if (m[7] && m[7] !== 'Z') throw new Error(`only UTC dates expected, got ${s}`);
  return `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}Z`;
}

// ---------- a strict little XML reader for the XMP packet ----------

export interface XmlElement {
  /** Qualified name as written (prefix:local). */
  name: string;
  /** Namespace URI the prefix is bound to. */
  ns: string;
  local: string;
  /** Attributes (not xmlns ones) by qualified name, values unescaped; and by '{uri}local'. */
  attrs: Map<string, string>;
  children: XmlElement[];
  text: string;
}

const XML_NAME = /^[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/;
function unescapeXml(s: string, where: string): string {
  return s.replace(/&([^;&\s]*);?/g, (m, ent: string) => {
    if (!m.endsWith(';')) throw new Error(`${where}: bare & in XML`);
    const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
    if (named[ent] !== undefined) return named[ent];
    const num = /^#(?:x([0-9a-fA-F]+)|([0-9]+))$/.exec(ent);
    if (!num) throw new Error(`${where}: unknown entity &${ent};`);
    return String.fromCodePoint(num[1] ? parseInt(num[1], 16) : parseInt(num[2]!, 10));
  });
}

/**
 * Parses an XMP packet as well-formed, namespace-aware XML (no DTDs, no entities beyond the
 * predefined ones): balanced tags, quoted unique attributes, every prefix bound. Returns the
 * processing instructions in order and the root element; throws on anything malformed.
 */
export function parseXml(xml: string): { pis: string[]; root: XmlElement } {
  const pis: string[] = [];
  let i = 0;
  let root: XmlElement | undefined;
  const stack: { el: XmlElement; scope: Map<string, string> }[] = [];
  const bind = (qname: string, scope: Map<string, string>, attr: boolean): { ns: string; local: string } => {
    const c = qname.indexOf(':');
    if (c < 0) return { ns: attr ? '' : (scope.get('') ?? ''), local: qname };
    const prefix = qname.slice(0, c);
    const ns = prefix === 'xml' ? 'http://www.w3.org/XML/1998/namespace' : scope.get(prefix);
    if (ns === undefined) throw new Error(`unbound namespace prefix ${prefix}`);
    return { ns, local: qname.slice(c + 1) };
  };
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      const e = xml.indexOf('?>', i);
      if (e < 0) throw new Error('unterminated processing instruction');
      pis.push(xml.slice(i + 2, e));
      i = e + 2;
    } else if (xml.startsWith('<!--', i)) {
      const e = xml.indexOf('-->', i);
      if (e < 0) throw new Error('unterminated comment');
      i = e + 3;
    } else if (xml.startsWith('<!', i)) {
      throw new Error('DTD, CDATA or other declaration in the XMP');
    } else if (xml.startsWith('</', i)) {
      const m = XML_NAME.exec(xml.slice(i + 2));
      const top = stack.pop();
      if (!m || !top || top.el.name !== m[0]) throw new Error(`mismatched end tag at ${i}`);
      i += 2 + m[0].length;
      while (/\s/.test(xml[i] ?? '')) i++;
      if (xml[i] !== '>') throw new Error(`bad end tag at ${i}`);
      i++;
      if (stack.length === 0) root = top.el;
    } else if (xml[i] === '<') {
      if (root) throw new Error('second root element');
      const m = XML_NAME.exec(xml.slice(i + 1));
      if (!m) throw new Error(`bad start tag at ${i}`);
      const name = m[0];
      i += 1 + name.length;
      const raw = new Map<string, string>();
      for (;;) {
        const ws = /^\s*/.exec(xml.slice(i))![0].length;
        i += ws;
        if (xml.startsWith('/>', i) || xml[i] === '>') break;
        if (!ws) throw new Error(`no space before attribute at ${i}`);
        const a = /^([A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?)\s*=\s*(?:"([^"<]*)"|'([^'<]*)')/.exec(xml.slice(i));
        if (!a) throw new Error(`bad attribute at ${i}`);
        if (raw.has(a[1]!)) throw new Error(`duplicate attribute ${a[1]}`);
        raw.set(a[1]!, unescapeXml(a[2] ?? a[3]!, a[1]!));
        i += a[0].length;
      }
      const scope = new Map(stack.at(-1)?.scope ?? []);
      for (const [k, v] of raw) if (k === 'xmlns') scope.set('', v); else if (k.startsWith('xmlns:')) scope.set(k.slice(6), v);
      const el: XmlElement = { name, ...bind(name, scope, false), attrs: new Map(), children: [], text: '' };
      for (const [k, v] of raw) {
        if (k === 'xmlns' || k.startsWith('xmlns:')) continue;
        const b = bind(k, scope, true);
        if (el.attrs.has(`{${b.ns}}${b.local}`)) throw new Error(`duplicate attribute {${b.ns}}${b.local}`);
        el.attrs.set(k, v);
        el.attrs.set(`{${b.ns}}${b.local}`, v);
      }
      stack.at(-1)?.el.children.push(el);
      if (xml.startsWith('/>', i)) {
        i += 2;
        if (stack.length === 0) root = el;
      } else {
        i++;
        stack.push({ el, scope });
      }
    } else {
      const e = xml.indexOf('<', i);
      const text = xml.slice(i, e < 0 ? xml.length : e);
      if (stack.length) stack.at(-1)!.el.text += unescapeXml(text, 'text');
      else if (text.trim() !== '') throw new Error('text outside the root element');
      i = e < 0 ? xml.length : e;
    }
  }
  if (stack.length || !root) throw new Error('unclosed elements or no root element');
  return { pis, root };
}

export const XMP_NS: Record<string, string> = {
  x: 'adobe:ns:meta/',
  rdf: 'http://www.w3.org/1999/02/22-rdf-syntax-ns#',
  pdfaid: 'http://www.aiim.org/pdfa/ns/id/',
  dc: 'http://purl.org/dc/elements/1.1/',
  xmp: 'http://ns.adobe.com/xap/1.0/',
  pdf: 'http://ns.adobe.com/pdf/1.3/',
};

/**
 * The XMP properties of a packet, by prefix:local of the namespaces above: simple properties as
 * attributes or elements of any rdf:Description with rdf:about="", language alternatives
 * (dc:title) as their x-default item. Throws when the packet is not well-formed XMP.
 */
export function xmpProperties(xmp: string): { pis: string[]; props: Map<string, string> } {
  const { pis, root } = parseXml(xmp);
  const rdf = XMP_NS.rdf!;
  const rdfRoot = root.ns === XMP_NS.x && root.local === 'xmpmeta' ? root.children.find((c) => c.ns === rdf && c.local === 'RDF') : root;
  if (!rdfRoot || rdfRoot.ns !== rdf || rdfRoot.local !== 'RDF') throw new Error('no rdf:RDF element');
  const prefixOf = new Map(Object.entries(XMP_NS).map(([p, u]) => [u, p]));
  const props = new Map<string, string>();
  const put = (ns: string, local: string, v: string) => {
    const p = prefixOf.get(ns);
    const key = `${p ?? `{${ns}}`}:${local}`;
    if (props.has(key)) throw new Error(`property ${key} given twice`);
    props.set(key, v);
  };
  for (const d of rdfRoot.children) {
    if (d.ns !== rdf || d.local !== 'Description') throw new Error(`unexpected ${d.name} in rdf:RDF`);
    if (d.attrs.get(`{${rdf}}about`) !== '') throw new Error('rdf:Description without rdf:about=""');
    for (const [k, v] of d.attrs) {
      const m = /^\{(.*)\}(.*)$/.exec(k);
      if (!m || m[1] === rdf || m[1] === '') continue;
      put(m[1]!, m[2]!, v);
    }
    for (const c of d.children) {
      const alt = c.children.find((a) => a.ns === rdf && a.local === 'Alt');
      if (alt) {
        const li = alt.children.find((l) => l.ns === rdf && l.local === 'li' && l.attrs.get('xml:lang') === 'x-default');
        if (!li) throw new Error(`${c.name}: no x-default item`);
        put(c.ns, c.local, li.text);
      } else if (c.children.length === 0) put(c.ns, c.local, c.text);
      else put(c.ns, c.local, `(structured ${c.children.map((x) => x.name).join(',')})`);
    }
  }
  return { pis, props };
}

/** The catalog's XMP packet of a PDF, inflated when the stream is Flate-compressed. */
export function metadataXmp(meta: PDFRawStream): string {
  const flt = meta.dict.get(PDFName.of('Filter'));
  const filters = flt instanceof PDFArray ? flt.asArray().map(nameOf) : flt ? [nameOf(flt)] : [];
  if (filters.some((f) => f !== 'FlateDecode') || meta.dict.has(PDFName.of('DecodeParms'))) throw new Error(`metadata stream filters ${filters.join(',')}`);
  const raw = Buffer.from(meta.contents);
  // UTF-8 only (fatal on anything else); the BOM sits inside the xpacket header, not in front of it.
  return new TextDecoder('utf-8', { fatal: true }).decode(filters.length ? zlib.inflateSync(raw) : raw);
}

/** The rendition's XMP packet as text. */
export async function renditionXmp(pdfBytes: Buffer): Promise<string> {
  const pdf = await PDFDocument.load(pdfBytes, { updateMetadata: false });
  const meta = pdf.context.lookup(pdf.catalog.get(PDFName.of('Metadata')));
  if (!(meta instanceof PDFRawStream)) throw new Error('no catalog /Metadata stream');
  return metadataXmp(meta);
}

/** Returns the list of PDF/A-2b violations found (empty = passes). */
export async function pdfaProblems(bytes: Buffer): Promise<string[]> {
  const p: string[] = [];
  if (!/^%PDF-1\.[0-7]\r?\n%[\x80-\xff]{4}/.test(bytes.subarray(0, 20).toString('latin1'))) p.push('header / binary comment line');
  const pdf = await PDFDocument.load(bytes, { updateMetadata: false });
  const ctx = pdf.context;
  const look = (o: PDFObject | undefined) => (o instanceof PDFRef ? ctx.lookup(o) : o);
  if (ctx.trailerInfo.Encrypt) p.push('/Encrypt in trailer');
  const id = ctx.trailerInfo.ID;
  if (!(id instanceof PDFArray) || id.size() !== 2 || !id.asArray().every((x) => x instanceof PDFHexString || x instanceof PDFString)) p.push('trailer /ID is not two strings');

  // XMP and Info
  const meta = look(pdf.catalog.get(PDFName.of('Metadata')));
  const info = look(ctx.trailerInfo.Info) as PDFDict | undefined;
  if (!(meta instanceof PDFRawStream)) p.push('no catalog /Metadata stream');
  else {
    if (nameOf(meta.dict.get(PDFName.of('Type'))) !== 'Metadata' || nameOf(meta.dict.get(PDFName.of('Subtype'))) !== 'XML') p.push('metadata stream /Type /Subtype');
    let xmp = '';
    let props = new Map<string, string>();
    try {
      xmp = metadataXmp(meta);
      const parsed = xmpProperties(xmp);
      props = parsed.props;
      // PDF/A: the packet header carries neither bytes nor encoding attributes; the packet is UTF-8.
      const head = parsed.pis[0] ?? '';
      if (!/^xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"$/.test(head)) p.push(`XMP packet header ${JSON.stringify(head)}`);
      if (parsed.pis.at(-1) !== 'xpacket end="r"' && parsed.pis.at(-1) !== 'xpacket end="w"') p.push('XMP packet trailer');
      if (!xmp.startsWith('<?xpacket ') || !/<\?xpacket end="[rw]"\?>$/.test(xmp)) p.push('XMP packet wrapper');
    } catch (e) {
      p.push(`XMP is not well-formed: ${(e as Error).message}`);
    }
    if (props.get('pdfaid:part') !== '2') p.push('pdfaid:part is not 2');
    if (props.get('pdfaid:conformance') !== 'B') p.push('pdfaid:conformance is not B');
    const infoStr = (k: string): string | undefined => {
      const v = info?.get(PDFName.of(k));
      return v instanceof PDFString || v instanceof PDFHexString ? v.decodeText() : undefined;
    };
    const pairs: [string, string, (s: string) => string][] = [
      ['Title', 'dc:title', (s) => s], ['Producer', 'pdf:Producer', (s) => s], ['Creator', 'xmp:CreatorTool', (s) => s],
      ['CreationDate', 'xmp:CreateDate', pdfDateToIso], ['ModDate', 'xmp:ModifyDate', pdfDateToIso],
      ['Author', 'dc:creator', (s) => s], ['Subject', 'dc:description', (s) => s], ['Keywords', 'pdf:Keywords', (s) => s],
    ];
    for (const [ik, xk, conv] of pairs) {
      const iv = infoStr(ik);
      const xv = props.get(xk);
      if (iv === undefined && xv === undefined) continue;
      if (iv === undefined || xv === undefined || conv(iv) !== xv) p.push(`Info /${ik} (${iv}) and XMP ${xk} (${xv}) differ`);
    }
  }

  // OutputIntent
  let intentN: number | undefined;
  const ois = look(pdf.catalog.get(PDFName.of('OutputIntents')));
  if (!(ois instanceof PDFArray)) p.push('no /OutputIntents');
  else {
    for (const o of ois.asArray()) {
      const oi = look(o) as PDFDict;
      if (nameOf(oi.get(PDFName.of('S'))) !== 'GTS_PDFA1') continue;
      const prof = look(oi.get(PDFName.of('DestOutputProfile')));
      if (!(prof instanceof PDFRawStream)) { p.push('OutputIntent without embedded profile'); continue; }
      const icc = prof.dict.has(PDFName.of('Filter')) ? zlib.inflateSync(Buffer.from(prof.contents)) : Buffer.from(prof.contents);
      const space = icc.toString('latin1', 16, 20);
      const n = space === 'RGB ' ? 3 : space === 'CMYK' ? 4 : space === 'GRAY' ? 1 : 0;
      if (icc.readUInt32BE(0) !== icc.length || icc.toString('latin1', 36, 40) !== 'acsp') p.push('OutputIntent ICC header invalid');
      if (num(prof.dict, 'N') !== n) p.push('OutputIntent /N does not match its profile');
      if (!['mntr', 'prtr'].includes(icc.toString('latin1', 12, 16))) p.push('OutputIntent profile class');
      intentN = n;
    }
    if (intentN === undefined) p.push('no GTS_PDFA1 OutputIntent');
  }

  // Every object: images' colour spaces, filters, actions, fonts
  const checkCs = (cs: PDFObject | undefined, where: string): void => {
    const c = look(cs);
    const n = nameOf(c);
    if (n === 'DeviceRGB' && intentN !== 3) p.push(`${where}: DeviceRGB without an RGB OutputIntent`);
    if (n === 'DeviceCMYK' && intentN !== 4) p.push(`${where}: DeviceCMYK without a CMYK OutputIntent`);
    if (c instanceof PDFArray) {
      const kind = nameOf(c.get(0));
      if (kind === 'ICCBased') {
        const s = look(c.get(1)) as PDFRawStream;
        const icc = s.dict.has(PDFName.of('Filter')) ? zlib.inflateSync(Buffer.from(s.contents)) : Buffer.from(s.contents);
        const space = icc.toString('latin1', 16, 20);
        const want = space === 'RGB ' ? 3 : space === 'CMYK' ? 4 : space === 'GRAY' ? 1 : 0;
        if (num(s.dict, 'N') !== want) p.push(`${where}: ICCBased /N does not match the profile`);
        if (icc.toString('latin1', 36, 40) !== 'acsp') p.push(`${where}: ICCBased profile invalid`);
      } else if (kind === 'Indexed') checkCs(c.get(1), `${where} (Indexed base)`);
    }
  };
  const visit = (o: PDFObject | undefined, depth: number, where: string): void => {
    if (!o || depth > 50) return;
    if (o instanceof PDFArray) return o.asArray().forEach((x) => visit(x, depth + 1, where));
    const d = o instanceof PDFDict ? o : o instanceof PDFStream ? o.dict : undefined;
    if (!d) return;
    const s = nameOf(d.get(PDFName.of('S')));
    if (s === 'JavaScript' || s === 'Launch' || d.has(PDFName.of('JS'))) p.push(`${where}: ${s ?? 'JS'} action`);
    for (const k of ['AA', 'EmbeddedFiles', 'XFA', 'JavaScript', 'Encrypt']) if (d.has(PDFName.of(k))) p.push(`${where}: /${k}`);
    const flt = look(d.get(PDFName.of('Filter')));
    const fl = flt instanceof PDFArray ? flt.asArray().map(nameOf) : [nameOf(flt)];
    if (fl.some((x) => x === 'LZWDecode' || x === 'LZW')) p.push(`${where}: LZW`);
    const subtype = nameOf(d.get(PDFName.of('Subtype')));
    if (subtype === 'Image') {
      if (d.get(PDFName.of('Interpolate')) === PDFBool.True) p.push(`${where}: /Interpolate true`);
      if (!d.has(PDFName.of('ImageMask')) || d.get(PDFName.of('ImageMask')) !== PDFBool.True) checkCs(d.get(PDFName.of('ColorSpace')), where);
    }
    if (nameOf(d.get(PDFName.of('Type'))) === 'Font' && subtype && !['Type0', 'Type3'].includes(subtype)) {
      const fd = look(d.get(PDFName.of('FontDescriptor')));
      if (!(fd instanceof PDFDict) || !['FontFile', 'FontFile2', 'FontFile3'].some((k) => fd.has(PDFName.of(k)))) p.push(`${where}: font not embedded`);
    }
    for (const [k, v] of d.entries()) if (k.decodeText() !== 'Parent') visit(v, depth + 1, where);
  };
  for (const [ref, obj] of ctx.enumerateIndirectObjects()) visit(obj, 0, `obj ${ref.objectNumber}`);
  return [...new Set(p)];
}
