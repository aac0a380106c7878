/**
 * A field's refusal in the reader's words where the archive's message is one we know. A character the field may
 * not hold is named `U+XXXX` by the archive (shared/kernel/text.ts), which we keep: a pasted zero-width space cannot
 * be seen, so the code is the only way to know what to look for.
 */

/** The part of the dictionary (i18n/en.ts) these sentences come from. */
interface Words {
  problem: { required: string; notANumber: string; character: (code: string) => string };
}

/** The sentence for `must not contain U+XXXX (…)`, or the message as it is. */
export function characterMessage(message: string, t: Words): string {
  const character = /must not contain (U\+[0-9A-F]{4,6})/.exec(message)?.[1];
  return character ? t.problem.character(character) : message;
}

/** A field error from the API: "required" for an empty one, "not a number" (shared/kernel/url-number.ts, or a metadata amount sent as text), the character sentence, else the API's own message. */
export function fieldMessage(message: string, t: Words): string {
  if (/too small|required|expected string, received undefined|>=1 characters/i.test(message)) return t.problem.required;
  // Said in the reader's language: an amount typed as "1.234,56" was refused in English beside a Dutch field.
  // A metadata amount kept as typed (lib/typed-number.ts: "1,000" is a thousand or one) comes back as zod's type message.
  if (message === 'must be a number in decimal digits' || /^Invalid input: expected number, received string$/.test(message)) return t.problem.notANumber;
  return characterMessage(message, t);
}
