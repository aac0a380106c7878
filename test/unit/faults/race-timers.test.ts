/**
 * The race sweep (race-sweep.test.ts, machinery in test/support/in-process.ts), part 2: timers as the hosts run them
 * against the requests that touch what each timer touches, and downloads against disposal, hold release and
 * correction. Same schedules and invariants; a download is no state, so its answer is checked on its own
 * (downloadsAnswered: the archived bytes with their checksum, a link to them, or a clear 404/410) with its entries.
 */
import { exportTimer } from '../../../functions/exports';
import { sealExportRequest } from '../../../shared/exports/export-seal';
import { verifyAuditMonth } from '../../../shared/audit/seal';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import { sealAuditLog } from '../../../shared/audit/seal';
import type { InMemoryExportJobs, RecordingLogger } from '../../support/in-memory';
import { approval, type Call, delivering, disposable, docOf, downloadsAnswered, dueDocs, exportCompleted, hold, ok, type Pair, scan, START, type Step, sweepPairs, TENANT, upload, validationWorker, type World } from '../../support/in-process';

// As in race-sweep.test.ts: a wait in the code is one more turn of the scheduler, not real time.
jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const correct = (id: string, fiscalYear = START.getUTCFullYear() + 1): Call => ({ method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', fiscalYear })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
const extend = (id: string): Call => ({ method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' });
const release = (id: string, holdId: string): Call => ({ method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' });
const get = (path: string, as = 'alice'): Call => ({ method: 'GET', path, as });

const sweepTimer: Step = { timer: 'retention sweep', run: (w) => runSweepTimer(w.deps) };
const reconciler: Step = { timer: 'reconciler', run: (w) => runReconcileTimer(w.deps) };
const fixity: Step = { timer: 'fixity check', run: (w) => runFixityTimer(w.deps) };
const exportMaintenance: Step = { timer: 'export maintenance', run: (w) => exportTimer.run(w.deps) };
const sealing: Step = { timer: 'audit seal', run: (w) => sealAuditLog({ now: w.clock.now(), deps: w.deps }) };
/** The audit log numbered and chained per month as the Cosmos log writes it (the in-memory one does not chain unless asked). */
const chained = (w: World): void => void (w.deps.audit.chained = true);

/** An export of everything, its worker let finish: its id. */
async function exported(w: World): Promise<string> {
  const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
  await exportCompleted(w, job.id as string);
  return job.id as string;
}

/** Nothing a fixity check found damaged: no alert line, no failed entry (a document disposed of under it is no damage). */
function noFixityAlarm(w: World): string[] {
  const alarms = (w.deps.log as RecordingLogger).lines.filter((l) => l.message === FIXITY_MISMATCH).map((l) => `fixity alert: ${JSON.stringify(l.fields)}`);
  return [...alarms, ...w.deps.audit.entries.filter((e) => e.action === 'document.fixity-failed').map((e) => `fixity-failed entry for ${e.target}: ${e.detail}`)];
}

/** No alert: nothing logged at error level (each error phrase is an operator's alert, infra/main.bicep), but what `tolerated` names. */
function noAlert(w: World, tolerated: readonly string[] = []): string[] {
  return (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && !tolerated.includes(l.message)).map((l) => `alerted: ${l.message} ${JSON.stringify(l.fields)}`.slice(0, 300));
}

/** Every month of the tenant's audit log verifies against its seals with the archive's own verifier. */
async function chainVerifies(w: World): Promise<string[]> {
  if (!w.deps.audit.chained) return ['the audit log was not chained from the start'];
  const found: string[] = [];
  for (const { tenantId, month } of await w.deps.audit.unsafeListPartitions()) {
    if (tenantId !== TENANT) continue;
    const report = await verifyAuditMonth(tenantId, month, w.deps);
    if (!report.ok) found.push(`audit ${month} does not verify: ${JSON.stringify(report.problems.slice(0, 3))}`);
  }
  return found;
}

const PAIRS: Pair[] = [
  // ---- Downloads against disposal, hold release, correction ----
  {
    name: 'an original downloaded while the sweep disposes of it',
    check: downloadsAnswered,
    prepare: async (w) => [get(`documents/${await disposable(w)}/original`), sweepTimer],
  },
  {
    name: 'a rendition downloaded while the sweep disposes of it',
    check: downloadsAnswered,
    prepare: async (w) => [get(`documents/${await disposable(w)}/rendition`), sweepTimer],
  },
  {
    name: 'a download link asked for while the sweep disposes of the document',
    check: downloadsAnswered,
    prepare: async (w) => [get(`documents/${await disposable(w)}/original?delivery=redirect`), sweepTimer],
  },
  {
    name: 'an original downloaded while its hold is released',
    check: downloadsAnswered,
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      const placed = (await ok(w, hold(first!, 'C-20'))).json;
      await ok(w, approval(w), 201);
      return [get(`documents/${first}/original`), release(first!, placed.id)];
    },
  },
  {
    name: 'an original downloaded while the document is corrected',
    check: downloadsAnswered,
    prepare: async (w) => {
      const id = await docOf(w);
      return [get(`documents/${id}/original`), correct(id)];
    },
  },
  {
    name: 'an export downloaded while the sweep disposes of a document it holds',
    check: downloadsAnswered,
    prepare: async (w) => {
      await disposable(w);
      return [get(`exports/${await exported(w)}/download`), sweepTimer];
    },
  },
  {
    name: 'an export downloaded while export maintenance withdraws it',
    check: downloadsAnswered,
    prepare: async (w) => {
      const id = await disposable(w);
      const job = { id: await exported(w) };
      // Disposed of behind the sweep's back (its withdrawal missed the export): maintenance's safety net withdraws it. Its
      // deletion begun (an intact claim the archive did not seal goes back to active: sealed-claims.test.ts).
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, status: 'disposing' });
      w.deps.blobs.blobs.delete(`${TENANT}/${doc.rendition.blobName}`);
      return [get(`exports/${job.id}/download`), exportMaintenance];
    },
  },
  {
    name: 'an export started at the running cap while export maintenance expires the one running',
    env: { ARCHIVE_EXPORT_MAX_RUNNING: '1' },
    prepare: async (w) => {
      await docOf(w);
      const id = await exported(w);
      // Its worker died long ago and its time is up: maintenance expires it, which frees the tenant's one place.
      const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
      const { completedSeal: _none, archive: _zip, ...job } = jobs.get(`${TENANT}/${id}`)!;
      const past = new Date(w.clock.now().getTime() - 3600_000).toISOString();
      // Sealed again, as the archive would have written it (an edit it did not seal is expired at once: sealed-exports.test.ts);
      // running, as its worker writes it: without a completion seal (one carrying it is judged by it, export-seal.ts).
      jobs.set(`${TENANT}/${id}`, await sealExportRequest({ ...job, status: 'running', heartbeatAt: past, expiresAt: past }, w.deps.audit.chainKeys));
      return [{ method: 'POST', path: 'exports', body: {}, as: 'bob' }, exportMaintenance];
    },
  },
  // ---- The reconciler ----
  {
    name: 'the reconciler while the metadata is corrected',
    prepare: async (w) => [reconciler, correct(await docOf(w))],
  },
  {
    name: 'the reconciler while a hold is placed',
    prepare: async (w) => [reconciler, hold(await docOf(w), 'C-21')],
  },
  {
    name: 'the reconciler while a hold is released',
    prepare: async (w) => {
      const id = await docOf(w);
      const placed = (await ok(w, hold(id, 'C-22'))).json;
      return [reconciler, release(id, placed.id)];
    },
  },
  {
    name: 'the reconciler while the retention is extended',
    prepare: async (w) => [reconciler, extend(await docOf(w))],
  },
  {
    name: 'the reconciler while the same bytes are uploaded again',
    prepare: async (w) => {
      const bytes = scan('twice');
      await ok(w, upload(undefined, bytes), 201);
      return [reconciler, upload(undefined, bytes)];
    },
  },
  {
    name: 'the reconciler while the bytes of a disposed document are uploaded again',
    prepare: async (w) => {
      const bytes = scan('again');
      await ok(w, upload({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }, bytes), 201);
      w.clock.advance(20 * 365 * 86400_000);
      await ok(w, approval(w), 201);
      await runSweepTimer(w.deps);
      return [reconciler, upload(undefined, bytes)];
    },
  },
  {
    name: 'the reconciler while the sweep disposes',
    perDocument: true,
    prepare: async (w) => (await disposable(w), [reconciler, sweepTimer]),
  },
  // ---- The fixity check ----
  {
    name: 'the fixity check while the metadata is corrected',
    check: noFixityAlarm,
    prepare: async (w) => [fixity, correct(await docOf(w))],
  },
  {
    name: 'the fixity check while a hold is placed',
    check: noFixityAlarm,
    prepare: async (w) => [fixity, hold(await docOf(w), 'C-23')],
  },
  {
    name: 'the fixity check while the sweep disposes',
    check: noFixityAlarm,
    perDocument: true,
    prepare: async (w) => (await disposable(w), [fixity, sweepTimer]),
  },
  {
    name: 'the fixity check while a validation outcome is recorded',
    check: noFixityAlarm,
    prepare: async (w) => {
      await docOf(w);
      delivering(w);
      return [fixity, validationWorker];
    },
  },
  // ---- Audit sealing (outbox drain, parked entries, seals) ----
  {
    name: 'the audit log sealed while the metadata is corrected',
    check: chainVerifies,
    prepare: async (w) => (chained(w), [sealing, correct(await docOf(w))]),
  },
  {
    name: 'the audit log sealed while a hold is placed',
    check: chainVerifies,
    prepare: async (w) => (chained(w), [sealing, hold(await docOf(w), 'C-24')]),
  },
  {
    name: 'the audit log sealed while the sweep disposes',
    check: chainVerifies,
    perDocument: true,
    prepare: async (w) => (chained(w), await disposable(w), [sealing, sweepTimer]),
  },
  // ---- The validation outcome recorder ----
  {
    name: 'a validation outcome recorded while the metadata is corrected',
    prepare: async (w) => {
      const id = await docOf(w);
      delivering(w);
      return [validationWorker, correct(id)];
    },
  },
  {
    name: 'a validation outcome recorded while a hold is placed',
    prepare: async (w) => {
      const id = await docOf(w);
      delivering(w);
      return [validationWorker, hold(id, 'C-25')];
    },
  },
  {
    name: 'a validation outcome recorded while the sweep disposes',
    // Two documents: each validated then disposed of, or disposed of unvalidated, on its own.
    perDocument: true,
    prepare: async (w) => {
      // The uploads' validation requests are still queued when the documents are disposable.
      await disposable(w);
      delivering(w);
      return [validationWorker, sweepTimer];
    },
  },
];

// And whatever else a pair checks, no timer or request raised an operator's alert over a race it should take in its stride.
sweepPairs(PAIRS.map((p) => ({ ...p, check: async (w, sent, before) => [...((await p.check?.(w, sent, before)) ?? []), ...noAlert(w)] })));
