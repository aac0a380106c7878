/**
 * A client's file name is only ever a label: never a storage path. Keep the last
 * path segment, drop control, bidi-override and invisible characters, trim, and bound the length.
 */
import { replaceRefused } from '../kernel/text';

export function sanitiseFileName(raw: string | null | undefined): string | null {
  if (!raw) return null;
  let name = raw.normalize('NFC');
  name = name.split(/[/\\]/).pop() ?? '';
  // What a name shown to people may not hold (kernel/text.ts): C0/C1 controls (NUL, CR, LF, …), bidi controls and
  // direction marks that disguise extensions (U+202E), zero-width and other invisible characters that make two names
  // look alike, and lone surrogates (no character at all: they make encodeURIComponent throw when the name is sent back).
  name = replaceRefused(name, 'name', '');
  name = name.trim().replace(/^\.+/, '');
  if (name.length > 200) {
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
    let keep = 200 - ext.length;
    // Never between the two halves of a character outside the BMP (an emoji): that would leave a lone surrogate.
    if (/[\uD800-\uDBFF]/.test(name.charAt(keep - 1))) keep -= 1;
    name = name.slice(0, keep) + ext;
  }
  return name.length > 0 ? name : null;
}
