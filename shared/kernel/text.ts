/**
 * Text the archive stores and later shows to other people (the web app, the audit log, CSV exports,
 * terminals), judged by what it is. What displays as other text is refused, never silently dropped:
 * - every kind: C0 and C1 controls and DEL (escape sequences), the bidirectional embeddings, overrides and
 *   isolates (U+202A–U+202E, U+2066–U+2069) that show `INV-001` for other characters, line and paragraph
 *   separators, invisible formatting characters (Unicode category Cf: zero-width space and joiners, word
 *   joiner and invisible operators, BOM, Mongolian vowel separator, tag characters …), characters that
 *   look blank (Hangul fillers, braille blank, combining grapheme joiner), and lone surrogates;
 * - `name`, what a person picks one of several by (an API key's name): also tab and line breaks, the
 *   direction marks LRM, RLM and ALM, and the soft hyphen; runs of spaces of any width read as one space;
 * - `line`, one line of text (a counterparty, a case reference, a ticket, a tag): also tab, line breaks
 *   and the soft hyphen; the direction marks stay allowed, which Hebrew and Arabic names use;
 * - `prose`, a reason of one or more lines: tab and line feed (CRLF is stored as LF), direction marks and
 *   the soft hyphen (a hyphenation hint in a word) allowed.
 * The building block also stores text in NFC, so `é` typed composed or decomposed is one name.
 */
import { z } from 'zod';

export type ShownText = 'name' | 'line' | 'prose';

const DIRECTION_MARKS = new Set([0x200e, 0x200f, 0x061c]);
/** Letters and marks that show nothing, used to make a name look empty or like another. */
const BLANK = new Set([0x034f, 0x115f, 0x1160, 0x17b4, 0x17b5, 0x2800, 0x3164, 0xffa0]);
const FORMAT = /^\p{Cf}$/u;

/** Why this character may not be in text of this kind, or null. `next` is the code unit after it (CRLF). */
function refusal(cp: number, kind: ShownText, next: number): string | null {
  if (cp === 0x09) return kind === 'prose' ? null : 'a tab';
  if (cp === 0x0a) return kind === 'prose' ? null : 'a line break';
  if (cp === 0x0d) return kind === 'prose' && next === 0x0a ? null : kind === 'prose' ? 'a carriage return without a line feed' : 'a line break';
  if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) return 'a control character';
  if (cp >= 0xd800 && cp <= 0xdfff) return 'a lone surrogate';
  if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069)) return 'a bidirectional override, embedding or isolate';
  if (cp === 0x2028 || cp === 0x2029) return 'a line or paragraph separator';
  if (DIRECTION_MARKS.has(cp)) return kind === 'name' ? 'a direction mark' : null;
  if (cp === 0x00ad) return kind === 'prose' ? null : 'a soft hyphen';
  if (BLANK.has(cp)) return 'a character that shows blank';
  if (cp > 0x7f && FORMAT.test(String.fromCodePoint(cp))) return 'an invisible formatting character';
  return null;
}

/** `U+200B`, `U+1F4C4`. */
export const codePointName = (cp: number): string => `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;

/** The first character `text` may not hold as text of this kind, as `U+XXXX (what it is)`; null if none. */
export function refusedCharacter(text: string, kind: ShownText): string | null {
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const why = refusal(cp, kind, text.charCodeAt(i + 1));
    if (why !== null) return `${codePointName(cp)} (${why})`;
    i += cp > 0xffff ? 2 : 1;
  }
  return null;
}

/** `text` with every character it may not hold as this kind replaced (a requester's text kept for the record, a file name). */
export function replaceRefused(text: string, kind: ShownText, by: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    out += refusal(cp, kind, text.charCodeAt(i + 1)) === null ? text.slice(i, i + width) : by;
    i += width;
  }
  return out;
}

/**
 * The one zod building block for text shown to people: NFC, trimmed, between `min` and `max` characters,
 * refused with `must not contain U+XXXX (what it is)` where it holds a character its kind may not.
 */
export function shownText(kind: ShownText, max: number, min = 1): z.ZodString {
  let s = z.string().normalize('NFC');
  if (kind === 'prose') s = s.overwrite((v) => v.replace(/\r\n/g, '\n'));
  if (kind === 'name') s = s.overwrite((v) => v.replace(/\p{Zs}+/gu, ' '));
  s = s.trim();
  if (min > 0) s = s.min(min);
  return s
    .max(max)
    .superRefine((v, ctx) => {
      const refused = refusedCharacter(v, kind);
      if (refused !== null) ctx.addIssue({ code: 'custom', message: `must not contain ${refused}` });
    });
}
