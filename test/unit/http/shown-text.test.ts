/**
 * The one building block for text the archive shows to other people (kernel/text.ts): each class of
 * character that displays as other text is refused, naming it as U+XXXX, in names, lines and reasons alike
 * or only where the kind says; what people write in their own scripts passes; text is kept in NFC.
 */
import { refusedCharacter, replaceRefused, shownText, type ShownText } from '../../../shared/kernel/text';

const KINDS: ShownText[] = ['name', 'line', 'prose'];

/** The message the schema of this kind gives for `text`, or null where it takes it. */
function refusal(kind: ShownText, text: string): string | null {
  const parsed = shownText(kind, 500).safeParse(text);
  return parsed.success ? null : parsed.error.issues.map((i) => i.message).join('; ');
}

describe('refused in every kind of text', () => {
  it.each([
    ['NUL', 'a\u0000b', 'U+0000 (a control character)'],
    ['ESC starting a terminal escape sequence', 'hold \u001b[2Jcleared', 'U+001B (a control character)'],
    ['DEL', 'a\u007fb', 'U+007F (a control character)'],
    ['a C1 control (CSI)', 'a\u009b2Jb', 'U+009B (a control character)'],
    ['NEL, a C1 line break', 'a\u0085b', 'U+0085 (a control character)'],
    ['a lone CR that returns to the start of the line', 'approved\rrefused', 'U+000D'],
    ['a right-to-left override', 'scanner\u202e1-gpj', 'U+202E (a bidirectional override, embedding or isolate)'],
    ['a left-to-right embedding', 'a\u202ab', 'U+202A (a bidirectional override, embedding or isolate)'],
    ['a first-strong isolate', 'a\u2068b\u2069', 'U+2068 (a bidirectional override, embedding or isolate)'],
    ['a pop directional isolate', 'ab\u2069', 'U+2069 (a bidirectional override, embedding or isolate)'],
    ['a zero-width space', 'scanner\u200b1', 'U+200B (an invisible formatting character)'],
    ['a zero-width non-joiner', 'scan\u200cner', 'U+200C (an invisible formatting character)'],
    ['a zero-width joiner', 'scan\u200dner', 'U+200D (an invisible formatting character)'],
    ['a word joiner', 'scan\u2060ner', 'U+2060 (an invisible formatting character)'],
    ['an invisible plus', 'a\u2064b', 'U+2064 (an invisible formatting character)'],
    ['a BOM inside the text', 'scan\ufeffner', 'U+FEFF (an invisible formatting character)'],
    ['the Mongolian vowel separator', 'scan\u180ener', 'U+180E (an invisible formatting character)'],
    ['a tag character (invisible ASCII)', 'ok\u{e0041}\u{e0042}', 'U+E0041 (an invisible formatting character)'],
    ['a Hangul filler that shows as nothing', '\u3164', 'U+3164 (a character that shows blank)'],
    ['a combining grapheme joiner', 'a\u034fb', 'U+034F (a character that shows blank)'],
    ['a line separator', 'a\u2028b', 'U+2028 (a line or paragraph separator)'],
    ['a paragraph separator', 'a\u2029b', 'U+2029 (a line or paragraph separator)'],
    ['a lone high surrogate', 'half \ud800', 'U+D800 (a lone surrogate)'],
    ['a lone low surrogate', 'half \udc00 x', 'U+DC00 (a lone surrogate)'],
  ])('%s', (_what, text, named) => {
    for (const kind of KINDS) {
      expect(refusedCharacter(text, kind)).toContain(named);
      expect(refusal(kind, text)).toBe(`must not contain ${refusedCharacter(text, kind)}`);
    }
  });
});

describe('what the kind decides', () => {
  it('tab and line feed are for reasons of several lines only; CRLF is kept as LF', () => {
    expect(refusal('prose', 'Audit 2024\n\tsee letter of 3 March')).toBeNull();
    expect(shownText('prose', 500).parse('first\r\nsecond')).toBe('first\nsecond');
    expect(refusal('line', 'FA-2024\t117')).toBe('must not contain U+0009 (a tab)');
    expect(refusal('line', 'FA-2024\n117')).toBe('must not contain U+000A (a line break)');
    expect(refusal('name', 'scanner\r\n1')).toBe('must not contain U+000D (a line break)');
  });

  it('direction marks, which Hebrew and Arabic text uses, stay allowed but not in a name people pick from a list', () => {
    for (const mark of ['\u200e', '\u200f', '\u061c']) {
      expect(refusal('line', `\u05e9\u05dc\u05d5\u05dd ${mark}(1)`)).toBeNull();
      expect(refusal('prose', `\u05e9\u05dc\u05d5\u05dd ${mark}(1)`)).toBeNull();
    }
    expect(refusal('name', 'scanner\u200f-1')).toBe('must not contain U+200F (a direction mark)');
  });

  it('a soft hyphen is a hyphenation hint in a reason, but hides in a name or reference', () => {
    expect(refusal('prose', 'Aufbewahrungs\u00adfrist verlängert')).toBeNull();
    expect(refusal('line', 'FA-\u00ad117')).toBe('must not contain U+00AD (a soft hyphen)');
    expect(refusal('name', 'scan\u00adner')).toBe('must not contain U+00AD (a soft hyphen)');
  });

  it('in a name, spaces of any width and any number read as one ordinary space', () => {
    expect(shownText('name', 100).parse('scanner\u00a0\u00a0 1\u3000b')).toBe('scanner 1 b');
    expect(shownText('line', 100).parse('Caf\u00e9\u00a0Noir')).toBe('Caf\u00e9\u00a0Noir');
  });
});

describe('what people write passes, in NFC', () => {
  it.each([
    ['Dutch with diacritics', 'Ontvangst gecontroleerd door de accountant, zie brief van 3 maart; coöperatie'],
    ['Hebrew', '\u05e9\u05dc\u05d5\u05dd \u05d1\u05e2\u05f4\u05de'],
    ['Arabic', '\u0634\u0631\u0643\u0629 \u0627\u0644\u0646\u0648\u0631'],
    ['Japanese', '\u7a0e\u52d9\u8abf\u67fb 2024'],
    ['an emoji outside the BMP', 'scan \u{1F4C4} ok'],
    ['an emoji with its presentation selector', 'ok \u2764\ufe0f'],
  ])('%s', (_what, text) => {
    for (const kind of KINDS) expect(shownText(kind, 500).parse(text)).toBe(text);
  });

  it('a decomposed é is stored composed, so two names that look the same are the same', () => {
    for (const kind of KINDS) expect(shownText(kind, 100).parse('Cafe\u0301')).toBe('Caf\u00e9');
  });

  it('trims, and bounds the length after normalising', () => {
    expect(shownText('line', 5).parse('  abc  ')).toBe('abc');
    expect(shownText('line', 4).safeParse('Cafe\u0301').success).toBe(true);
    expect(shownText('line', 10).safeParse('   ').success).toBe(false);
    expect(shownText('line', 10, 0).parse('   ')).toBe('');
  });
});

it('replaceRefused keeps what the kind allows and replaces each refused character once, surrogate pairs whole', () => {
  expect(replaceRefused('a\u001b[2J\u202eb\u200b\u{1F4C4}\ud800', 'line', '\uFFFD')).toBe('a\uFFFD[2J\uFFFDb\uFFFD\u{1F4C4}\uFFFD');
  expect(replaceRefused('a\u200fb', 'line', '')).toBe('a\u200fb');
  expect(replaceRefused('a\u200fb', 'name', '')).toBe('ab');
});
