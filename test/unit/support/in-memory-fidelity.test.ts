/**
 * The in-memory fakes answer as the Cosmos and Blob Storage adapters do, else a unit test passes on
 * a lie: the audit log's `list` applies every filter (a `target` it ignored made any disposal entry
 * of the month count as this document's), newest first; the tenant listing names every tenant with a
 * container (listed from blobs, a tenant whose last blob was deleted vanished from every timer).
 */
import type { AuditInput } from '../../../shared/ports';
import { prepareDisposal } from '../../../shared/retention/dispose';
import { sweep } from '../../../shared/retention/sweep';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDueDocument } from '../../support/seed';

const T = 'acme';
const over = '2025-01-01T00:00:00.000Z';
const now = new Date('2025-06-01T00:00:00Z');
const run = (deps: ReturnType<typeof inMemoryDeps>, at = now) => sweep({ now: at, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, deps);

const entry = (over: Partial<AuditInput>): AuditInput => ({ tenantId: T, at: '2025-06-01T00:00:00.000Z', actor: { subject: 'a', kind: 'user' }, action: 'document.read', target: 'd1', outcome: 'success', status: 200, requestId: 'r1', clientIp: null, userAgent: null, ...over });

it('the audit log lists by every filter, newest first', async () => {
  const deps = inMemoryDeps();
  await deps.audit.appendBatch([entry({ target: 'd1' }), entry({ target: 'd2', at: '2025-06-02T00:00:00.000Z' }), entry({ target: 'd1', actor: { subject: 'b', kind: 'user' }, at: '2025-06-03T00:00:00.000Z' })]);
  const targets = async (filter: Parameters<typeof deps.audit.list>[4]) => (await deps.audit.list(T, '2025-06', 10, undefined, filter)).items.map((e) => `${e.target}@${e.at.slice(8, 10)}`);
  expect(await targets({})).toEqual(['d1@03', 'd2@02', 'd1@01']);
  expect(await targets({ target: 'd1' })).toEqual(['d1@03', 'd1@01']);
  expect(await targets({ actor: 'a' })).toEqual(['d2@02', 'd1@01']);
  expect(await targets({ from: '2025-06-02T00:00:00.000Z', to: '2025-06-02T23:59:59.999Z' })).toEqual(['d2@02']);
});

it('a resumed disposal is logged even when another document of the tenant was disposed of that month', async () => {
  const deps = inMemoryDeps();
  const a = await seedDueDocument(deps, T, over);
  const b = await seedDueDocument(deps, T, '2025-06-10T00:00:00.000Z');
  expect((await run(deps)).disposed).toEqual([`${T}/${a.id}`]);
  // Later that month b's disposal stops after its blobs went (a crash): no entry yet; the next run finishes it.
  const later = new Date('2025-06-15T00:00:00Z');
  expect(await prepareDisposal(T, b.id, { now: later, runId: 'crashed', requireApproval: false }, deps)).toMatchObject({ id: b.id });
  expect((await run(deps, later)).completed).toEqual([`${T}/${b.id}`]);
  const disposals = deps.audit.entries.filter((e) => e.action === 'document.dispose').map((e) => e.target);
  expect(disposals).toEqual([a.id, b.id]);
});

it('a tenant whose last blob is gone is still listed: a disposal that stopped there is finished by the next run', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, over);
  expect(await prepareDisposal(T, doc.id, { now, runId: 'crashed', requireApproval: false }, deps)).toMatchObject({ id: doc.id });
  expect(deps.blobs.blobs.size).toBe(0);
  const tenants: string[] = [];
  for await (const t of deps.blobs.unsafeListTenants()) tenants.push(t);
  expect(tenants).toEqual([T]);
  expect((await run(deps)).completed).toEqual([`${T}/${doc.id}`]);
  expect((await deps.catalog.get(T, doc.id))!.status).toBe('disposed');
  expect(deps.audit.entries.filter((e) => e.action === 'document.dispose' && e.target === doc.id)).toHaveLength(1);
});
