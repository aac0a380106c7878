/** Every page of a paged list, for a screen that shows it whole or counts from it: bounded, and saying when the bound stopped it. */
import { readAllPages } from '../../../web/src/lib/all-pages';

/** An API listing `total` numbers `size` at a time, recording the tokens it was sent. */
function lister(total: number, size: number) {
  const sent: (string | undefined)[] = [];
  const fetchPage = async (token: string | undefined) => {
    sent.push(token);
    const from = token === undefined ? 0 : Number(token);
    const items = Array.from({ length: Math.max(0, Math.min(size, total - from)) }, (_, i) => from + i);
    return { items, continuationToken: from + size < total ? String(from + size) : null };
  };
  return { sent, fetchPage };
}

it.each([
  // [total, page size, max pages, items read, complete, tokens sent]
  [0, 200, 5, 0, true, [undefined]],
  [200, 200, 5, 200, true, [undefined]],
  [201, 200, 5, 201, true, [undefined, '200']],
  [450, 100, 5, 450, true, [undefined, '100', '200', '300', '400']],
  [501, 100, 5, 500, false, [undefined, '100', '200', '300', '400']],
])('%i items by %i, at most %i pages: reads %i, complete %s', async (total, size, maxPages, read, complete, tokens) => {
  const { sent, fetchPage } = lister(total, size);
  const all = await readAllPages(fetchPage, maxPages);
  expect(all.items).toHaveLength(read);
  expect(all.items).toEqual(Array.from({ length: read }, (_, i) => i));
  expect(all.complete).toBe(complete);
  expect(sent).toEqual(tokens);
});

it('stops at a token handed back twice and says the list is not whole', async () => {
  const sent: (string | undefined)[] = [];
  const all = await readAllPages(async (token) => {
    sent.push(token);
    return { items: [sent.length], continuationToken: 'same' };
  }, 10);
  expect(sent).toEqual([undefined, 'same']);
  expect(all).toEqual({ items: [1, 2], complete: false });
});

it('passes a refusal on, not a part read as if whole', async () => {
  await expect(readAllPages(async (token) => {
    if (token) throw new Error('invalid_query');
    return { items: [1], continuationToken: 't' };
  }, 10)).rejects.toThrow('invalid_query');
});
