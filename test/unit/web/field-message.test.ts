/** The archive's refusal of a character the reader cannot see, in the reader's words, still naming the code to look for. */
import { characterMessage, fieldMessage } from '../../../web/src/lib/field-message';
import { refusedCharacter } from '../../../shared/kernel/text';

const t = { problem: { required: 'required', notANumber: 'not a number', character: (code: string) => `not allowed here: ${code}` } };

it('names the character the archive refused', () => {
  expect(fieldMessage(`must not contain ${refusedCharacter('scanner\u200b1', 'name')}`, t)).toBe('not allowed here: U+200B');
  expect(characterMessage(`must not contain ${refusedCharacter('\u{e0041}', 'prose')}`, t)).toBe('not allowed here: U+E0041');
});

it('leaves other messages as they were: required stays required, a number out of range is not called required on upload', () => {
  expect(fieldMessage('Too small: expected string to have >=1 characters', t)).toBe('required');
  expect(characterMessage('Too small: expected number to be >=1900', t)).toBe('Too small: expected number to be >=1900');
  expect(fieldMessage('must be a date YYYY-MM-DD', t)).toBe('must be a date YYYY-MM-DD');
});
