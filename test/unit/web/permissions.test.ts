/** The API-key form's default rights set: always one the person may grant under the rights ceiling. */
import { BUILT_IN_RIGHTS_SETS } from '../../../shared/kernel/principal';
import { BUILT_IN_SET_LIST, defaultKeyRightsSet, inWords } from '../../../web/src/lib/permissions';

const person = (rightsSet: string | null) => ({ tenant: 'acme', subject: 'ada@acme.example', name: null, rightsSet });
const within = (name: string, holder: string) => BUILT_IN_RIGHTS_SETS[name]!.every((p) => BUILT_IN_RIGHTS_SETS[holder]!.includes(p));

it('gives a tenant admin a set within their rights, never uploader (documents:write they do not hold)', () => {
  const chosen = defaultKeyRightsSet(person('tenant-admin'), BUILT_IN_SET_LIST);
  expect(chosen).toBe('accountant');
  expect(within(chosen!, 'tenant-admin')).toBe(true);
});

it('gives an integration admin the narrowest set within theirs: uploader', () => {
  expect(defaultKeyRightsSet(person('integration-admin'), BUILT_IN_SET_LIST)).toBe('uploader');
});

it('for every built-in set, picks one within it', () => {
  for (const name of Object.keys(BUILT_IN_RIGHTS_SETS)) expect(within(defaultKeyRightsSet(person(name), BUILT_IN_SET_LIST)!, name)).toBe(true);
});

it('reads a tenant set\'s permissions from the list; falls back to the person\'s own set when no built-in fits', () => {
  const sets = [...BUILT_IN_SET_LIST, { name: 'key-minter', permissions: ['keys:manage', 'documents:read'] }];
  expect(defaultKeyRightsSet(person('key-minter'), sets)).toBe('key-minter');
  const wider = [...sets, { name: 'bookkeeper', permissions: ['documents:read', 'documents:write', 'keys:manage'] }];
  expect(defaultKeyRightsSet(person('bookkeeper'), wider)).toBe('uploader');
});

it('without knowing the person\'s rights, offers their own set, else the first', () => {
  expect(defaultKeyRightsSet(person('unknown-set'), [{ name: 'unknown-set', permissions: ['documents:read'] }, { name: 'x', permissions: [] }])).toBe('unknown-set');
  expect(defaultKeyRightsSet(person(null), BUILT_IN_SET_LIST)).toBe('uploader');
});

it('names a built-in rights set or permission in words with its name, and a tenant set by its name, even one named like an Object member', () => {
  const words = { accountant: 'Accountant' } as Record<string, string>;
  expect(inWords('accountant', words)).toBe('Accountant (accountant)');
  expect(inWords('bookkeeper', words)).toBe('bookkeeper');
  for (const name of ['constructor', 'tostring', 'hasownproperty', '__proto__']) expect(inWords(name, words)).toBe(name);
});
