import { PDFName } from 'pdf-lib';

/**
 * ISO 32000-1 §7.3.5: in a name, `#` and two hexadecimal digits stand for one
 * byte, the digits in either case. pdf-lib (1.17.1, its last release) decodes
 * only upper-case digits, so `/#4aavaScript` stayed a name no rule knew while a
 * viewer reads `/JavaScript`. Every name pdf-lib makes — from the file body, the
 * trailer, object and cross-reference streams — goes through `PDFName.of`, so
 * the digits are upper-cased there once, before pdf-lib's own decoding; every
 * rule then compares decoded names.
 */
const HEX_ESCAPE = /#([0-9a-fA-F]{2})/g;
const marked = PDFName as unknown as { of: (name: string) => PDFName; archiveDecodesEscapes?: true };
if (!marked.archiveDecodesEscapes) {
  const of = marked.of.bind(PDFName);
  marked.of = (name: string) => of(name.includes('#') ? name.replace(HEX_ESCAPE, (_, hex: string) => `#${hex.toUpperCase()}`) : name);
  marked.archiveDecodesEscapes = true;
}

/** Content-stream text with every name's `#xx` escapes decoded, for the operator scans. */
export function decodeNamesInText(text: string): string {
  return text.replace(/\/[^\s/[\]<>(){}%]*/g, (n) => (n.includes('#') ? n.replace(HEX_ESCAPE, (_, hex: string) => String.fromCharCode(parseInt(hex, 16))) : n));
}
