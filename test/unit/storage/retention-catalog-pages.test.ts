/**
 * Cosmos DB may answer a page of a query with no items and a continuation (the page ran out of its
 * time or request units before it found a match). The sweep and the walks of the fixity check and
 * the reconciler take an empty answer as "this tenant is done": the retention catalog must read on
 * until it finds items or the query is over, or every pass would stop at the same empty page and
 * never reach the documents behind it.
 */
import type { Container } from '@azure/cosmos';
import { RetentionCatalog } from '../../../shared/adapters/azure/retention-store';

const doc = (id: string) => ({ id, tenantId: 'acme', type: 'document', status: 'active', _etag: `"${id}"` });

/** A container whose query answers these pages in turn, recording the continuation each fetch was given. */
function pagedContainer(pages: { resources: ReturnType<typeof doc>[]; continuationToken?: string }[]) {
  const tokens: (string | undefined)[] = [];
  const container = {
    items: {
      query: (_q: unknown, opts: { continuationToken?: string }) => ({
        fetchNext: async () => {
          tokens.push(opts.continuationToken);
          const page = pages[tokens.length - 1];
          if (!page) throw new Error('read past the last page');
          return page;
        },
      }),
    },
  };
  return { container: container as unknown as Container, tokens };
}

describe('the retention catalog reads past empty pages', () => {
  it('sweep candidates: an empty page with a continuation is not the end of the tenant', async () => {
    const { container, tokens } = pagedContainer([{ resources: [], continuationToken: 'c1' }, { resources: [], continuationToken: 'c2' }, { resources: [doc('d-1')] }]);
    const found = await new RetentionCatalog(container).sweepCandidates('acme', '2030-01-01T00:00:00.000Z', '', 100);
    expect(found.map((v) => v.item.id)).toEqual(['d-1']);
    expect(tokens).toEqual([undefined, 'c1', 'c2']);
  });

  it('active documents (fixity check, reconciler) likewise', async () => {
    const { container } = pagedContainer([{ resources: [], continuationToken: 'c1' }, { resources: [doc('d-2')], continuationToken: 'c2' }]);
    expect((await new RetentionCatalog(container).activeAfter('acme', '', 50)).map((d) => d.id)).toEqual(['d-2']);
  });

  it('an empty last page is the end', async () => {
    const { container } = pagedContainer([{ resources: [] }]);
    expect(await new RetentionCatalog(container).sweepCandidates('acme', '2030-01-01T00:00:00.000Z', '', 100)).toEqual([]);
  });
});
