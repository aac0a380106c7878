/**
 * What happens to an export after its request (the worker completes or fails it; the archive expires it,
 * or withdraws it because a document it holds was disposed of) is audited once, whatever stops the run
 * between the job's save and its entry: the log refusing the append, or the save answered with an error
 * after the store applied it. The job is then finished and no later run takes it up again, so an entry
 * appended after the save was never written at all.
 */
import type { ExportJob } from '../../../shared/kernel/export';
import type { AuditInput } from '../../../shared/kernel/audit';
import { AUDIT_OUTBOX_GRACE_MS } from '../../../shared/kernel/audit';
import type { Principal } from '../../../shared/kernel/principal';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { sealAuditLog } from '../../../shared/audit/seal';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { seedMany } from '../../support/seed';

const T = 'acme';
async function startedExport(retainUntil = '2099-01-01T00:00:00.000Z') {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const [doc] = await seedMany(deps, T, [{ metadata: { documentDate: '2018-06-01', reference: 'R-1' } }]);
  deps.catalog.documents.set(`${T}/${doc!.id}`, { ...doc!, retention: { ...doc!.retention, retainUntil } });
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  return { deps, job, doc: doc! };
}

async function completedExport(retainUntil?: string) {
  const { deps, job, doc } = await startedExport(retainUntil);
  const done = await runExport(T, job.id, deps);
  expect(done.status).toBe('completed');
  deps.audit.entries.splice(0);
  return { deps, job: done, doc };
}

/** The job's save (the first one to that status) is applied by the store, and then answered with an error (a timeout, the instance stopping). */
function saveAppliedThenLost(deps: ReturnType<typeof inMemoryDeps>, status?: ExportJob['status']) {
  const replace = deps.exportJobs.replace.bind(deps.exportJobs);
  let lost = false;
  jest.spyOn(deps.exportJobs, 'replace').mockImplementation(async (...args: Parameters<typeof replace>) => {
    const written = await replace(...args);
    if (!lost && written !== 'conflict' && (status === undefined || args[0].status === status)) {
      lost = true;
      throw new Error('request timed out');
    }
    return written;
  });
}

/** The log refuses appends once (Cosmos busy). */
function logRefusesOnce(deps: ReturnType<typeof inMemoryDeps>) {
  jest.spyOn(deps.audit, 'appendBatch').mockImplementationOnce(async () => {
    throw new Error('audit log unavailable');
  });
}

/** Later runs of everything that could still write the entry: maintenance again, then the sealing timer past its grace. */
async function laterRuns(deps: ReturnType<typeof inMemoryDeps>, from: Date) {
  const later = new Date(from.getTime() + AUDIT_OUTBOX_GRACE_MS + 60_000);
  await maintainExports({ now: later, deps }).catch(() => undefined);
  await sealAuditLog({ now: later, deps });
  await maintainExports({ now: later, deps });
  await sealAuditLog({ now: later, deps });
}

const actions = (deps: ReturnType<typeof inMemoryDeps>, job: ExportJob): Pick<AuditInput, 'action' | 'target'>[] =>
  deps.audit.entries.filter((e) => e.target === job.id).map((e) => ({ action: e.action, target: e.target }));

describe('expiry', () => {
  it('the log refuses the entry: the export.expired entry is still written, once', async () => {
    const { deps, job } = await completedExport();
    const at = new Date(Date.parse(job.expiresAt) + 1000);
    logRefusesOnce(deps);
    await maintainExports({ now: at, deps }).catch(() => undefined);
    expect((await deps.exportJobs.get(T, job.id))!.status).toBe('expired');
    await laterRuns(deps, at);
    expect(actions(deps, job)).toEqual([{ action: 'export.expired', target: job.id }]);
  });

  it('the job save is applied but its answer lost: the export.expired entry is still written, once', async () => {
    const { deps, job } = await completedExport();
    const at = new Date(Date.parse(job.expiresAt) + 1000);
    saveAppliedThenLost(deps);
    await expect(maintainExports({ now: at, deps })).rejects.toThrow('timed out');
    expect((await deps.exportJobs.get(T, job.id))!.status).toBe('expired');
    await laterRuns(deps, at);
    expect(actions(deps, job)).toEqual([{ action: 'export.expired', target: job.id }]);
  });
});

describe('withdrawal', () => {
  it('the sweep withdraws, and the job save is applied but its answer lost: the export.withdrawn entry is still written, once', async () => {
    const { deps, job, doc } = await completedExport('2025-03-02T00:00:00.000Z');
    const at = new Date('2025-03-02T06:00:00.000Z');
    saveAppliedThenLost(deps);
    await expect(withdrawExportsHolding(T, [doc.id], at, deps)).rejects.toThrow('timed out');
    expect((await deps.exportJobs.get(T, job.id))!).toMatchObject({ status: 'expired', withdrawn: { documents: [doc.id] } });
    // The sweep's next run withdraws again (its disposal is still `disposing`): the job is no longer exposed.
    expect(await withdrawExportsHolding(T, [doc.id], at, deps)).toEqual([]);
    await laterRuns(deps, at);
    expect(actions(deps, job)).toEqual([{ action: 'export.withdrawn', target: job.id }]);
  });

  it('maintenance withdraws and the log refuses the entry: the export.withdrawn entry is still written, once', async () => {
    const { deps, job, doc } = await completedExport('2025-03-02T00:00:00.000Z');
    const at = new Date('2025-03-02T06:00:00.000Z');
    deps.catalog.documents.set(`${T}/${doc.id}`, { ...deps.catalog.documents.get(`${T}/${doc.id}`)!, status: 'disposed' });
    logRefusesOnce(deps);
    await maintainExports({ now: at, deps }).catch(() => undefined);
    expect((await deps.exportJobs.get(T, job.id))!.status).toBe('expired');
    await laterRuns(deps, at);
    expect(actions(deps, job)).toEqual([{ action: 'export.withdrawn', target: job.id }]);
  });
});

it('a run that is not interrupted appends its entry at once and leaves no outbox item behind', async () => {
  const { deps, job } = await completedExport();
  await maintainExports({ now: new Date(Date.parse(job.expiresAt) + 1000), deps });
  expect(actions(deps, job)).toEqual([{ action: 'export.expired', target: job.id }]);
  expect(deps.catalog.outbox.size).toBe(0);
});

describe('the worker', () => {
  it('the completion save is applied but its answer lost: the export.completed entry is still written, once', async () => {
    const { deps, job } = await startedExport();
    saveAppliedThenLost(deps, 'completed');
    await runExport(T, job.id, deps).catch(() => undefined);
    expect((await deps.exportJobs.get(T, job.id))!.status).toBe('completed');
    await laterRuns(deps, deps.clock.now());
    expect(actions(deps, job)).toEqual([{ action: 'export.completed', target: job.id }]);
  });

  it('the log refuses the completion entry: it is still written, once', async () => {
    const { deps, job } = await startedExport();
    logRefusesOnce(deps);
    expect((await runExport(T, job.id, deps)).status).toBe('completed');
    await laterRuns(deps, deps.clock.now());
    expect(actions(deps, job)).toEqual([{ action: 'export.completed', target: job.id }]);
  });

  it('the failure save is applied but its answer lost: the export.failed entry is still written, once', async () => {
    const { deps, job } = await startedExport();
    jest.spyOn(deps.catalog, 'countMatching').mockResolvedValue(Number.MAX_SAFE_INTEGER); // export_too_large
    saveAppliedThenLost(deps, 'failed');
    await runExport(T, job.id, deps).catch(() => undefined);
    expect((await deps.exportJobs.get(T, job.id))!.status).toBe('failed');
    await laterRuns(deps, deps.clock.now());
    expect(deps.audit.entries.filter((e) => e.target === job.id).map((e) => [e.action, e.status, e.detail])).toEqual([['export.failed', 422, 'export_too_large']]);
  });
});
