/**
 * Attacks on the timers (shared/retention/timers.ts, functions/timers.ts) as one tenant against the others, or against
 * a promise the archive makes about its own documents: fill a run's budget so another tenant's work never comes, leave
 * something that makes a run throw or retry forever, or cut a run off and start it again. What found a break is kept
 * with its fix; the rest covers what the other timer tests do not. Budgets are item counts, on the in-memory clock.
 */
import { sealExportCompletion } from '../../../shared/exports/export-seal';
import { startExport } from '../../../shared/exports/start-export';
import { runExport } from '../../../shared/exports/run-export';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import type { ExportJob } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { sweep, UNCOUNTED_PER_ITEM } from '../../../shared/retention/sweep';
import { checkFixity } from '../../../shared/retention/fixity';
import { reconcile } from '../../../shared/retention/reconcile';
import { placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { correctMetadata } from '../../../shared/documents/correct-metadata';
import { inMemoryDeps, searchAsWholeTenant, type InMemoryDeps } from '../../support/in-memory';
import { seedDocument, seedDueDocument } from '../../support/seed';

const T = 'acme';
/** Retention over before the in-memory clock's start (2025-03-01T12:00Z); exports made then run 72 hours. */
const OVER = '2025-03-01T00:00:00.000Z';
const NOW = new Date('2025-03-02T00:00:00.000Z');

const sweepAt = (deps: InMemoryDeps, now: Date, maxItems = 100, continuation: string | null = null) =>
  sweep({ now, budget: { maxItems, maxMillis: 3_600_000 }, continuation, concurrency: 1 }, deps);

/** A document past its retention, and a completed export holding it (made by an accountant). */
async function exportHoldingDueDocument() {
  const deps = inMemoryDeps();
  searchAsWholeTenant(deps.catalog);
  const due = await seedDueDocument(deps, T, OVER);
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  return { deps, due, done: await runExport(T, job.id, deps) };
}

describe('exports: no copy of a disposed document stays downloadable, however many the tenant made', () => {
  it('the sweep withdraws every export holding it, past the first thousand', async () => {
    const { deps, due, done } = await exportHoldingDueDocument();
    expect(done).toMatchObject({ status: 'completed', disposable: [due.id], disposableFrom: OVER });
    // Five at once, each over in seconds: within one export's 72 hours a tenant's users make thousands of them.
    const copies: ExportJob[] = Array.from({ length: 1200 }, (_, i) => ({ ...done, id: `${done.id}-${String(i).padStart(4, '0')}`, requestId: `req-copy-${i}` }));
    for (const copy of copies) await deps.exportJobs.create(copy);

    const swept = await sweepAt(deps, NOW);
    expect(swept.disposed).toEqual([`${T}/${due.id}`]);
    const statuses = await Promise.all([done, ...copies].map(async (j) => (await deps.exportJobs.get(T, j.id))!.status));
    expect(statuses.filter((s) => s !== 'expired')).toEqual([]);
    expect(swept.exportsWithdrawn).toHaveLength(copies.length + 1);
  });
});

describe('exports: a sweep cut off while it withdraws them', () => {
  it('the next run withdraws the rest, each export once, and finishes the disposal once', async () => {
    const { deps, due, done } = await exportHoldingDueDocument();
    const ids = [done.id, ...Array.from({ length: 249 }, (_, i) => `${done.id}-${String(i).padStart(4, '0')}`)];
    for (const [i, id] of ids.slice(1).entries()) await deps.exportJobs.create({ ...done, id, requestId: `req-copy-${i}` });
    // The instance stops as the run reads its second page of exports (a timeout, a restart).
    const listExposed = deps.exportJobs.listExposed.bind(deps.exportJobs);
    let pages = 0;
    jest.spyOn(deps.exportJobs, 'listExposed').mockImplementation(async (...args) => {
      if (++pages === 2) throw new Error('instance stopped');
      return listExposed(...args);
    });
    await expect(sweepAt(deps, NOW)).rejects.toThrow('instance stopped');
    expect(deps.catalog.documents.get(`${T}/${due.id}`)!.status).toBe('disposing');

    const again = await sweepAt(deps, NOW);
    expect(again.completed).toEqual([`${T}/${due.id}`]);
    expect(await sweepAt(deps, NOW)).toMatchObject({ disposed: [], completed: [], exportsWithdrawn: [] });
    const withdrawn = deps.audit.entries.filter((e) => e.action === 'export.withdrawn').map((e) => e.target);
    expect(withdrawn.sort()).toEqual([...ids].sort());
    expect(deps.audit.entries.filter((e) => e.action === 'document.dispose' && e.target === due.id)).toHaveLength(1);
  });
});

describe('export maintenance: one tenant\'s exports cannot keep the safety net from another\'s', () => {
  it('a tenant with a full run of exports holding documents not yet disposed of does not keep another tenant\'s withdrawal from coming', async () => {
    const deps = inMemoryDeps();
    searchAsWholeTenant(deps.catalog);
    const principal = (tenantId: string) => ({ tenantId, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() }) as unknown as Principal;
    const exportOfDue = async (tenantId: string) => {
      const due = await seedDueDocument(deps, tenantId, OVER);
      const { job } = await startExport(principal(tenantId), { includeOriginals: false }, `req-${tenantId}`, deps);
      return { due, job: await runExport(tenantId, job.id, deps) };
    };
    // The attacker: its due documents wait for an approval nobody gives (or a hold), so its exports keep qualifying.
    const attacker = await exportOfDue('aaa');
    // Exports the archive sealed (an unsealed one is withdrawn at once: sealed-exports.test.ts).
    for (let i = 0; i < 150; i++) await deps.exportJobs.create(await sealExportCompletion({ ...attacker.job, id: `${attacker.job.id}-${String(i).padStart(4, '0')}`, requestId: `req-copy-${i}` }, deps.audit.chainKeys));
    // The victim's export holds a document disposed of without the sweep withdrawing it (a race the sweep's listing missed).
    const victim = await exportOfDue('zzz');
    deps.catalog.documents.set(`zzz/${victim.due.id}`, { ...deps.catalog.documents.get(`zzz/${victim.due.id}`)!, status: 'disposed' });

    const withdrawn: string[] = [];
    for (let run = 0; run < 3; run++) withdrawn.push(...(await maintainExports({ now: NOW, deps })).withdrawn);
    expect(withdrawn).toEqual([victim.job.id]);
    expect((await deps.exportJobs.get('zzz', victim.job.id))!.status).toBe('expired');
  });
});

describe('the sweep: one tenant\'s documents it may not dispose of cost the other tenants nothing', () => {
  it('a tenant requiring approval with a pile of due documents nobody approves does not hold back another tenant\'s disposal', async () => {
    const deps = inMemoryDeps();
    // 'aaa' comes first in every run; it requires approval and approves one of its 300 due documents.
    deps.retention.policies.policies.set('aaa', { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12, updatedAt: OVER, safeguards: {} } as never);
    const waiting: string[] = [];
    for (let i = 0; i < 300; i++) waiting.push((await seedDueDocument(deps, 'aaa', OVER)).id);
    const approved = await seedDueDocument(deps, 'aaa', OVER);
    deps.catalog.documents.set(`aaa/${approved.id}`, { ...approved, disposalApproval: { approvalId: 'ap-1', approvedAt: OVER, approvedBy: { subject: 'ann', kind: 'user' }, reason: 'yearly review', retainUntil: OVER } });
    // Its request's entry, which the sweep looks for (approve-disposal.ts approvalAudited).
    await deps.audit.append({ tenantId: 'aaa', at: OVER, actor: { subject: 'ann', kind: 'user' }, action: 'retention.approve', target: 'approval:ap-1', outcome: 'success', status: 201, requestId: 'req-ap-1', clientIp: null, userAgent: null });
    const other = await seedDueDocument(deps, 'zzz', OVER);

    // A run's budget of 100 documents: the waiting ones used to fill it, three runs before 'zzz' was reached.
    const run = await sweepAt(deps, NOW, 100);
    expect(run.disposed.sort()).toEqual([`aaa/${approved.id}`, `zzz/${other.id}`]);
    expect(run.continuation).toBeNull();
    for (const id of waiting) expect(deps.catalog.documents.get(`aaa/${id}`)!.status).toBe('active');
    // Approved later, a waiting document is the next run's work, and only then.
    const next = waiting[150]!;
    deps.catalog.documents.set(`aaa/${next}`, { ...deps.catalog.documents.get(`aaa/${next}`)!, disposalApproval: { approvalId: 'ap-2', approvedAt: NOW.toISOString(), approvedBy: { subject: 'ann', kind: 'user' }, reason: 'late review', retainUntil: OVER } });
    await deps.audit.append({ tenantId: 'aaa', at: NOW.toISOString(), actor: { subject: 'ann', kind: 'user' }, action: 'retention.approve', target: 'approval:ap-2', outcome: 'success', status: 201, requestId: 'req-ap-2', clientIp: null, userAgent: null });
    expect((await sweepAt(deps, NOW, 100)).disposed).toEqual([`aaa/${next}`]);
  });
});

describe('the fixity check: one tenant\'s documents checked this cycle do not make a run read without end', () => {
  it('a run passes over at most UNCOUNTED_PER_ITEM fresh documents per item, and the next goes on from there to another tenant\'s due one', async () => {
    const deps = inMemoryDeps();
    const checkedAt = deps.clock.now().toISOString();
    for (let i = 0; i < 600; i++) {
      const d = await seedDocument(deps, 'aaa', { metadata: {} });
      deps.catalog.documents.set(`aaa/${d.id}`, { ...d, fixity: { checkedAt, ok: true } });
    }
    const due = await seedDocument(deps, 'zzz', { metadata: {} });
    const activeAfter = jest.spyOn(deps.retention.catalog, 'activeAfter');
    const read = async () => (await Promise.all(activeAfter.mock.results.map((r) => r.value as Promise<unknown[]>))).reduce((n, page) => n + page.length, 0);

    const maxItems = 2;
    let continuation: string | null = null;
    let runs = 0;
    do {
      activeAfter.mockClear();
      const run = await checkFixity({ now: deps.clock.now(), cycleDays: 365, maxItems, continuation }, deps);
      continuation = run.continuation;
      runs++;
      // What one run reads is bounded (a page of 50 beyond the bound at most), whatever one tenant holds.
      expect(await read()).toBeLessThanOrEqual(maxItems * UNCOUNTED_PER_ITEM + 50);
    } while (continuation !== null && runs < 30);
    expect(runs).toBe(Math.ceil(601 / (maxItems * UNCOUNTED_PER_ITEM)));
    // Reached and checked (seeded without a manifest, so found damaged: checked is what counts here).
    expect(deps.catalog.documents.get(`zzz/${due.id}`)!.fixity?.checkedAt).toBe(deps.clock.now().toISOString());
  });
});

describe('poison: what a tenant may store does not stop a run for the tenants behind it', () => {
  it('metadata in every script, a hold by query on such a counterparty, a document corrected 100 times: every timer runs through to the next tenant', async () => {
    const deps = inMemoryDeps();
    const hostile = 'Ａｃｍｅ 🧾 ﷽ e\u0301 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ' + 'ß'.repeat(150);
    const cut = (n: number) => Array.from(hostile).slice(0, n).join('');
    const who = (tenantId: string, permissions: string[]) => ({ tenantId, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'x', permissions: new Set(permissions) }) as unknown as Principal;
    const odd = async (counterparty = hostile) => {
      const d = await seedDueDocument(deps, 'aaa', OVER);
      deps.catalog.documents.set(`aaa/${d.id}`, { ...deps.catalog.documents.get(`aaa/${d.id}`)!, metadata: { counterparty, reference: hostile, kind: 'invoice', tags: [cut(40), '🧾'] } as never });
      return d;
    };
    const held = await odd();
    await placeHoldsByQuery({ principal: who('aaa', ['holds:place', 'documents:read']), reason: hostile, caseReference: cut(100), query: { counterparty: hostile } }, deps);
    const late = await odd();
    // Another counterparty (the hold's would hold it: a correction first places the open holds by query it is in).
    const corrected = await odd(`${cut(30)} B.V.`);
    for (let v = 1; v <= 100; v++) await correctMetadata({ principal: who('aaa', ['documents:correct']), documentId: corrected.id, patch: { reference: `${cut(20)} ${v}` }, reason: hostile, ifMatch: v }, deps);
    const other = await seedDueDocument(deps, 'zzz', OVER);

    const reconciled = await reconcile({ now: NOW, maxItems: 100, continuation: null }, deps);
    expect(reconciled.unchecked).toEqual([]);
    expect(reconciled.holdsExtended.map((e) => e.documentId)).toContain(late.id);
    const fixity = await checkFixity({ now: NOW, cycleDays: 365, maxItems: 100, continuation: null }, deps);
    expect(fixity.unchecked).toEqual([]);
    const swept = await sweepAt(deps, NOW);
    expect(swept.disposed.sort()).toEqual([`aaa/${corrected.id}`, `zzz/${other.id}`].sort());
    for (const id of [held.id, late.id]) expect(deps.catalog.documents.get(`aaa/${id}`)!.status).toBe('active');
    expect(deps.catalog.documents.get(`aaa/${corrected.id}`)!.metadataHistory).toHaveLength(100);
  });
});

describe('the reconciler: one tenant\'s late documents cannot keep another tenant\'s hold by query from reaching its own', () => {
  it('a tenant archiving more documents into its open hold than a run reaches does not hold back another tenant\'s, run after run', async () => {
    const deps = inMemoryDeps();
    const auditor = (tenantId: string) => ({ tenantId, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) }) as unknown as Principal;
    const fy2017 = { reason: 'tax audit', caseReference: 'FA-2017', query: { fiscalYear: 2017 } };
    await placeHoldsByQuery({ principal: auditor('aaa'), ...fy2017 }, deps);
    await placeHoldsByQuery({ principal: auditor('zzz'), ...fy2017 }, deps);
    const late = await seedDueDocument(deps, 'zzz', OVER);
    // 'aaa' comes first; each half hour it archives more receipts of 2017 than a run reaches (a bulk import).
    const maxItems = 20;
    let holdsContinuation: string | null = null;
    const reached: string[] = [];
    for (let run = 0; run < 3; run++) {
      for (let i = 0; i < maxItems + 5; i++) await seedDueDocument(deps, 'aaa', OVER);
      const result = await reconcile({ now: NOW, maxItems, continuation: null, holdsContinuation }, deps);
      holdsContinuation = result.holdsContinuation;
      reached.push(...result.holdsExtended.filter((e) => e.tenantId === 'zzz').map((e) => e.documentId));
      expect(result.holdsExtended.length).toBeLessThanOrEqual(maxItems);
    }
    expect(reached).toEqual([late.id]);
  });
});
