/**
 * Cosmos DB may answer a page of a query with no items and a continuation (the page ran out of its
 * time or request units before it found a match). The sweep and the walks of the fixity check and
 * the reconciler take an empty answer as "this tenant is done": the retention catalog must read on
 * until it finds items or the query is over, or every pass would stop at the same empty page and
 * never reach the documents behind it.
 */
import type { Container } from '@azure/cosmos';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import { AuditOutboxItems } from '../../../shared/adapters/azure/audit-outbox';
import { ExportJobs } from '../../../shared/adapters/azure/export-store';
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
    const found = await new RetentionCatalog(container, singleKeyring(async () => Buffer.alloc(32))).sweepCandidates('acme', '2030-01-01T00:00:00.000Z', '', 100);
    expect(found.map((v) => v.item.id)).toEqual(['d-1']);
    expect(tokens).toEqual([undefined, 'c1', 'c2']);
  });

  it('active documents (fixity check, reconciler) likewise', async () => {
    const { container } = pagedContainer([{ resources: [], continuationToken: 'c1' }, { resources: [doc('d-2')], continuationToken: 'c2' }]);
    expect((await new RetentionCatalog(container, singleKeyring(async () => Buffer.alloc(32))).activeAfter('acme', '', 50)).map((d) => d.id)).toEqual(['d-2']);
  });

  it('an empty last page is the end', async () => {
    const { container } = pagedContainer([{ resources: [] }]);
    expect(await new RetentionCatalog(container, singleKeyring(async () => Buffer.alloc(32))).sweepCandidates('acme', '2030-01-01T00:00:00.000Z', '', 100)).toEqual([]);
  });
});

/**
 * The maintenance passes' cross-tenant queries (validation requeue, audit outbox replay, export
 * maintenance) read one query's iterator; an empty page with more to come must not end the pass.
 */
function iteratorContainer<T>(pages: T[][]) {
  let fetched = 0;
  const container = {
    items: {
      query: () => ({
        fetchNext: async () => {
          const resources = pages[fetched++];
          if (!resources) throw new Error('read past the last page');
          return { resources };
        },
        hasMoreResults: () => fetched < pages.length,
      }),
    },
  };
  return { container: container as unknown as Container, fetched: () => fetched };
}

describe('the maintenance passes read past empty pages', () => {
  it('pending validations: the documents behind two empty pages are requeued', async () => {
    const { container, fetched } = iteratorContainer([[], [], [{ id: 'd-1', tenantId: 'acme' }]]);
    expect(await new RetentionCatalog(container, singleKeyring(async () => Buffer.alloc(32))).pendingValidations({ cutoff: '2030-01-01T00:00:00.000Z', max: 10 })).toEqual([{ id: 'd-1', tenantId: 'acme' }]);
    expect(fetched()).toBe(3);
  });

  it('audit outbox items older than the cutoff: found behind an empty page, in both containers', async () => {
    const item = (id: string) => ({ id, tenantId: 'acme', type: 'audit-outbox', at: `2026-01-01T00:00:0${id.slice(-1)}.000Z`, entries: [] });
    const documents = iteratorContainer([[], [item('o-1')]]);
    const tenants = iteratorContainer([[], [], [item('o-2')]]);
    const found = await new AuditOutboxItems(documents.container, tenants.container).unsafeWrittenBefore('2030-01-01T00:00:00.000Z', 10);
    expect(found.map((o) => o.item.id)).toEqual(['o-1', 'o-2']);
  });

  it('export maintenance: an expired job behind an empty page is found', async () => {
    const { container } = iteratorContainer([[], [{ id: 'e-1', tenantId: 'acme', type: 'export', status: 'completed', _etag: '"e"' }]]);
    const due = await new ExportJobs(container, singleKeyring(async () => Buffer.alloc(32))).unsafeListDue(new Date('2030-01-01T00:00:00Z'), new Date('2029-12-31T00:00:00Z'), 10);
    expect(due.map((v) => v.item.id)).toEqual(['e-1']);
  });

  it('an empty page with nothing more is the end', async () => {
    const { container, fetched } = iteratorContainer([[]]);
    expect(await new RetentionCatalog(container, singleKeyring(async () => Buffer.alloc(32))).pendingValidations({ cutoff: '2030-01-01T00:00:00.000Z', max: 10 })).toEqual([]);
    expect(fetched()).toBe(1);
  });
});
