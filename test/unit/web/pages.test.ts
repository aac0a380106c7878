/** Page tokens belong to the query they were issued for; a refused token (not a refused filter) restarts at page 1. */
import { refusedToken, tokensFor, wholeList, withPageRows } from '../../../web/src/lib/pages';

it('keeps the tokens for their own query only', () => {
  const trail = { key: 'sort=amount', tokens: [undefined, 'tok-2'] };
  expect(tokensFor(trail, 'sort=amount')).toEqual([undefined, 'tok-2']);
  expect(tokensFor(trail, 'sort=createdAt')).toEqual([undefined]);
});

it('tells a refused token from a refused filter', () => {
  const refusal = (errors?: { path: string; message: string }[]) => ({ problem: { code: 'invalid_query', status: 400, ...(errors ? { errors } : {}) } });
  expect(refusedToken(refusal(), 'tok')).toBe(true);
  expect(refusedToken(refusal([{ path: 'continuationToken', message: 'too long' }]), 'tok')).toBe(true);
  expect(refusedToken(refusal([{ path: 'from', message: 'not a date' }]), 'tok')).toBe(false);
  expect(refusedToken(refusal(), undefined)).toBe(false);
  expect(refusedToken({ problem: { code: 'forbidden', status: 403 } }, 'tok')).toBe(false);
  expect(refusedToken(new Error('network'), 'tok')).toBe(false);
});

it.each([
  // [page, continuation token, whole]: only page 1 with none after it may say "none" or count the list
  [0, null, true],
  [0, undefined, true],
  [0, 'tok-2', false],
  // An empty page 2 (a token after a full last page, or its rows approved meanwhile) said there were none at all.
  [1, null, false],
  [2, 'tok-4', false],
])('page %i, next token %s: the whole list %s', (page, continuationToken, whole) => {
  expect(wholeList(page, { continuationToken })).toBe(whole);
});

describe("the disposal review's 'Select all on this page'", () => {
  // Broke: ticking it replaced the choice with this page's rows, and unticking it emptied the choice: documents chosen
  // on another page were dropped from the approval without a word (red team 27).
  it.each([
    ['ticked: this page added, another page kept', ['p1-a'], true, ['p1-a', 'p2-a', 'p2-b']],
    ['unticked: this page removed, another page kept', ['p1-a', 'p2-a', 'p2-b'], false, ['p1-a']],
    ['nothing chosen elsewhere: this page alone', [], true, ['p2-a', 'p2-b']],
  ])('%s', (_what, before, on, after) => {
    expect([...withPageRows(new Set(before), ['p2-a', 'p2-b'], on)].sort()).toEqual(after);
  });
});
