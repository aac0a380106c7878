/**
 * XMP for renditions, and a deliberately small reader for uploaded XMP: it never
 * resolves entities or DTDs (a DOCTYPE is simply refused), it only looks for the
 * pdfaid properties, by namespace URI, as elements or attributes.
 */
export interface XmpFields {
  title?: string;
  producer: string;
  creatorTool?: string;
  date: Date;
}

export function xmlEscape(s: string): string {
  // Characters XML 1.0 cannot carry at all are dropped; markup characters escaped.
  return s
    .replace(/[^\u0009\u000A\u000D\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;');
}

/** For attribute values: XML parsers turn raw tab, CR and LF there into spaces, so they go as references. */
export function xmlAttrEscape(s: string): string {
  return xmlEscape(s).replace(/\t/g, '&#9;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;');
}

export function xmpDate(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The rendition's XMP packet, compact on purpose (it is part of every rendition's size):
 * one rdf:Description, simple properties in RDF attribute form, no whitespace between
 * elements, no padding. The xpacket header has no bytes/encoding attributes (PDF/A).
 * Only the namespaces the packet uses are declared.
 */
export function buildXmp(f: XmpFields): string {
  const date = xmpDate(f.date);
  const hasTitle = f.title !== undefined && f.title !== '';
  const ns = [
    'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"',
    ...(hasTitle ? ['xmlns:dc="http://purl.org/dc/elements/1.1/"'] : []),
    'xmlns:xmp="http://ns.adobe.com/xap/1.0/"',
    'xmlns:pdf="http://ns.adobe.com/pdf/1.3/"',
  ];
  const attrs = [
    'pdfaid:part="2"',
    'pdfaid:conformance="B"',
    `xmp:CreateDate="${date}"`,
    `xmp:ModifyDate="${date}"`,
    ...(f.creatorTool !== undefined ? [`xmp:CreatorTool="${xmlAttrEscape(f.creatorTool)}"`] : []),
    `pdf:Producer="${xmlAttrEscape(f.producer)}"`,
  ];
  // dc:title is a language alternative: it cannot be an attribute.
  const body = hasTitle ? `><dc:title><rdf:Alt><rdf:li xml:lang="x-default">${xmlEscape(f.title!)}</rdf:li></rdf:Alt></dc:title></rdf:Description>` : '/>';
  return '<?xpacket begin="\uFEFF" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    + '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    + `<rdf:Description rdf:about="" ${ns.join(' ')} ${attrs.join(' ')}${body}`
    + '</rdf:RDF></x:xmpmeta><?xpacket end="r"?>';
}

const PDFAID_NS = 'http://www.aiim.org/pdfa/ns/id/';

/** pdfaid:part / conformance declared by an uploaded XMP packet, or undefined. Throws on DTDs. */
export function readPdfaId(xmp: string): { part: string; conformance?: string } | undefined {
  if (/<!DOCTYPE|<!ENTITY/i.test(xmp)) throw new Error('XMP with a DTD or entity declarations is not read');
  const prefixes = new Set<string>();
  for (const m of xmp.matchAll(/xmlns:([A-Za-z_][\w.-]*)\s*=\s*["']([^"']*)["']/g)) if (m[2] === PDFAID_NS) prefixes.add(m[1]!);
  for (const p of prefixes) {
    const q = p.replace(/[.]/g, '\\.');
    const get = (prop: string): string | undefined => {
      // Broke: `\s*([^<]*?)\s*` backtracked over every split of a run of blanks, quadratic: an element left open after
      // a megabyte of blanks (a few hundred bytes compressed) held a conversion worker for hours (red team 26).
      const el = new RegExp(`<${q}:${prop}\\b[^>]*>([^<]*)</${q}:${prop}>`).exec(xmp);
      if (el) return el[1]!.trim();
      const at = new RegExp(`\\b${q}:${prop}\\s*=\\s*["']([^"']*)["']`).exec(xmp);
      return at?.[1]?.trim();
    };
    const part = get('part');
    if (part) {
      const conformance = get('conformance');
      // Only a part and a level ISO 19005 defines: the value is shown to readers in the archive's own sentence about the
      // rendition (pdfin.ts), and any text an uploader wrote there (a claim that the archive validated it, a bidi
      // override, line breaks, megabytes) went along. Anything else declares nothing, and the PDF is converted.
      if (!/^[1-4]$/.test(part) || (conformance !== undefined && conformance !== '' && !/^[ABUEF]$/i.test(conformance))) return undefined;
      return conformance ? { part, conformance } : { part };
    }
  }
  return undefined;
}
