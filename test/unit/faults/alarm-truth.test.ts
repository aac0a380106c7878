/**
 * Operators' alarms tell the truth: one row per detector that raises an alert (an error log line, infra/main.bicep).
 *
 * False alarms: the detector runs interleaved with each legitimate operation that changes what it inspects, with one
 * switch at every port call of either, both orders (the race sweep's machinery, test/support/in-process.ts). It must
 * raise no alert, and leave the state one serial order leaves (it must not "repair" what the operation was about to do).
 *
 * True alarms: the anomaly a detector exists for, put into the in-memory stores directly, is alerted, naming the
 * document (once, where the code says once).
 */
import { unsafeRebuildCatalogFromManifests } from '../../../shared/documents/rebuild-catalog';
import { runExport } from '../../../shared/exports/run-export';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { RenditionValidator } from '../../../shared/kernel/validation';
import { DISPOSAL_REFUSED } from '../../../shared/retention/dispose';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { ORPHANED_BLOBS, UNRECORDED_HOLD } from '../../../shared/retention/reconcile';
import { FIXITY_CYCLE_OVERRUN, runFixityTimer, runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import { DOCUMENT_CHECK_FAILED } from '../../../shared/retention/unchecked';
import { VALIDATION_FAILED, validateRenditions } from '../../../shared/validation/worker';
import type { InMemoryExportJobs, RecordingLogger } from '../../support/in-memory';
import { type Call, delivering, disposable, docOf, exportCompleted, hold, ok, type Pair, REPORT, scan, START, type Step, sweepPairs, TENANT, upload, VALIDATOR, validationWorker, world, type World } from '../../support/in-process';

// As in race-sweep.test.ts: a wait in the code is one more turn of the scheduler, not real time.
jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

// ---- The legitimate operations ----

const correct = (id: string, fiscalYear = START.getUTCFullYear() + 1): Call => ({ method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', fiscalYear })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
const extend = (id: string): Call => ({ method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' });
const release = (id: string, holdId: string): Call => ({ method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' });
const holdByQuery = (ref: string): Call => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: ref, query: { fiscalYear: START.getUTCFullYear() } }, as: 'up' });
const releaseEverywhere = (holdId: string): Call => ({ method: 'DELETE', path: `legal-holds/${holdId}`, body: { reason: 'Closed' }, as: 'bob' });
const sweepTimer: Step = { timer: 'retention sweep', run: (w) => runSweepTimer(w.deps) };

/** An export of everything, completed, then set running again: its worker's next run re-hashes every file it writes. */
async function exportToRun(w: World): Promise<Step> {
  const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const done = await exportCompleted(w, job.id as string);
  jobs.set(`${TENANT}/${job.id}`, { ...done, status: 'running', heartbeatAt: w.clock.now().toISOString() });
  return { timer: 'export worker', run: (x) => runExport(TENANT, job.id as string, x.deps) };
}

// ---- The detectors ----

interface Detector {
  name: string;
  /** Sets the detector up in a prepared world: its step (a timer, a worker). */
  step: (w: World) => Step | Promise<Step>;
}

const reconciler: Detector = { name: 'the reconciler', step: () => ({ timer: 'reconciler', run: (w) => runReconcileTimer(w.deps) }) };
const fixity: Detector = { name: 'the fixity check', step: () => ({ timer: 'fixity check', run: (w) => runFixityTimer(w.deps) }) };
const validation: Detector = { name: "the validation worker's checksum check", step: (w) => (delivering(w), validationWorker) };
const exportRehash: Detector = { name: "an export's re-hash", step: exportToRun };
const reindex: Detector = { name: 'the local start-up re-index', step: () => ({ timer: 'catalog rebuild', run: (w) => unsafeRebuildCatalogFromManifests(w.deps) }) };

/** A legitimate operation on a world with one document (`id`), and what it changes: its step. */
interface Operation {
  name: string;
  perDocument?: boolean;
  /** Seeds the world: the operation's step, once the detector was set up (`then`). */
  prepare: (w: World, then: (w: World) => Promise<Step>) => Promise<[Step, Step]>;
}

const on = (name: string, op: (w: World, id: string) => Promise<Step> | Step, perDocument = false): Operation => ({
  name,
  perDocument,
  prepare: async (w, then) => {
    const id = await docOf(w);
    const detector = await then(w);
    return [detector, await op(w, id)];
  },
});

const placement = on('a hold is placed', (_w, id) => hold(id, 'C-31'));
const releasing = on('a hold is released', async (w, id) => release(id, (await ok(w, hold(id, 'C-32'))).json.id));
const placementByQuery = on('a hold is placed by query', () => holdByQuery('C-33'));
const releasingEverywhere = on('a hold by query is released everywhere', async (w) => releaseEverywhere((await ok(w, holdByQuery('C-34'))).json.holdId));
const correction = on('the metadata is corrected', (_w, id) => correct(id));
const extension = on('the retention is extended', (_w, id) => extend(id));
const ingest = on('a document is uploaded', () => upload(undefined, scan()));
const ingestAgain: Operation = {
  name: 'the same bytes are uploaded again',
  prepare: async (w, then) => {
    const bytes = scan('twice');
    await ok(w, upload(undefined, bytes), 201);
    return [await then(w), upload(undefined, bytes)];
  },
};
const disposal: Operation = {
  name: 'the sweep disposes',
  perDocument: true,
  prepare: async (w, then) => {
    await disposable(w);
    return [await then(w), sweepTimer];
  },
};
const validationRecorded: Operation = {
  name: 'a validation outcome is recorded',
  prepare: async (w, then) => {
    await docOf(w);
    const detector = await then(w);
    delivering(w);
    return [detector, validationWorker];
  },
};
const exportRun: Operation = {
  name: 'an export runs',
  prepare: async (w, then) => {
    await docOf(w);
    const detector = await then(w);
    return [detector, await exportToRun(w)];
  },
};

/** Which operations change what each detector inspects. */
const TABLE: [Detector, Operation[]][] = [
  [reconciler, [placement, releasing, placementByQuery, releasingEverywhere, correction, extension, ingest, ingestAgain, disposal, validationRecorded, exportRun]],
  [fixity, [placement, releasing, placementByQuery, correction, extension, ingest, disposal, validationRecorded]],
  [validation, [placement, releasing, placementByQuery, correction, extension, disposal]],
  [exportRehash, [placement, releasing, correction, extension, disposal, validationRecorded]],
  [reindex, [ingest, ingestAgain, correction, placement, releasing, extension, disposal]],
];

/** No alert: nothing logged at error level (each error phrase is an operator's alert), no failed fixity entry. */
function noAlert(w: World): string[] {
  const lines = (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error').map((l) => `alerted: ${l.message} ${JSON.stringify(l.fields)}`.slice(0, 300));
  const entries = w.deps.audit.entries.filter((e) => e.action === 'document.fixity-failed' || e.action === 'document.blobs-missing' || e.action === 'document.blobs-orphaned' || e.action === 'legal-hold.resync').map((e) => `${e.action} entry for ${e.target}: ${e.detail}`);
  return [...lines, ...entries];
}

const PAIRS: Pair[] = TABLE.flatMap(([detector, operations]) =>
  operations.map((op) => ({
    name: `${detector.name} while ${op.name}`,
    ...(op.perDocument ? { perDocument: true } : {}),
    prepare: (w: World) => op.prepare(w, async (x) => detector.step(x)),
    check: noAlert,
  })),
);

describe('false alarms: each detector at every port call of each operation that changes what it inspects', () => {
  sweepPairs(PAIRS, { everySwitch: true });
});

// ---- True alarms ----

const lines = (w: World, message: string) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message.includes(message));
const blobOf = (w: World, id: string, name: string) => w.deps.blobs.blobs.get(`${TENANT}/${name}`) ?? (() => { throw new Error(`no blob ${name} of ${id}`); })();

interface Anomaly {
  name: string;
  message: string;
  /** Puts the anomaly into the stores directly: the document it is about. */
  inject: (w: World) => Promise<string>;
  /** The detector's runs, as often as its alert needs (a grace window): the alerts raised. */
  detect: (w: World) => Promise<void>;
  /** Raised once however often the detector runs again (the code says once). */
  once?: boolean;
  /** The environment the detector runs in (a bound that makes it alert). */
  env?: Record<string, string>;
  /** Whose alert names no document (a whole pass): what its fields must say instead. */
  names?: (fields: Record<string, unknown>, id: string) => boolean;
}

const reconcileRun = async (w: World) => void (await runReconcileTimer(w.deps));
const fixityRun = async (w: World) => void (await runFixityTimer(w.deps));
/** The reconciler, then again past any grace window (its runs are half an hour apart). */
const reconcileTwice = async (w: World) => {
  const before = lines(w, UNRECORDED_HOLD).length;
  await reconcileRun(w);
  // The first sighting may be a placement in flight (its flags set, its catalog write not yet): recorded, not alerted.
  if (lines(w, UNRECORDED_HOLD).length > before) throw new Error('alerted on its first sighting');
  w.clock.advance(30 * 60_000);
  await reconcileRun(w);
};
/** A validator that finds the rendition not PDF/A. */
const FAILING: RenditionValidator = { ...VALIDATOR, validate: async (items) => ({ validator: { name: 'veraPDF', version: '1.28.2' }, profile: 'PDF/A-2B', results: items.map(() => ({ passed: false, failedRules: ['6.1.2-1'], report: REPORT })) }) };

const ANOMALIES: Anomaly[] = [
  {
    name: 'a due, approved document whose blobs storage locks longer than the catalog says (its disposal refused for days)',
    message: DISPOSAL_REFUSED,
    inject: async (w) => {
      const id = await disposable(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      for (const name of [doc.rendition.blobName, ...doc.originals.map((o) => o.blobName)]) blobOf(w, id, name).worm.retainUntil = '2200-01-01T00:00:00.000Z';
      return id;
    },
    // Daily runs: the first two are within the grace window (WORM's rounding), the third alerts.
    detect: async (w) => {
      for (let day = 0; day < 3; day++) {
        if (day > 0) w.clock.advance(86400_000);
        await runSweepTimer(w.deps);
        if (day < 2 && lines(w, DISPOSAL_REFUSED).length > 0) throw new Error(`alerted within the grace window (day ${day})`);
      }
    },
  },
  {
    // Alerted once: at its second sighting it is recorded as an open hold (restored-from-storage), and the flags agree since.
    name: 'a hold flag set on a blob with no record in the catalog',
    message: UNRECORDED_HOLD,
    once: true,
    inject: async (w) => {
      const id = await docOf(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      blobOf(w, id, doc.originals[0]!.blobName).worm.legalHold = true;
      return id;
    },
    detect: reconcileTwice,
  },
  {
    name: 'a document folder with blobs but neither catalog item nor manifest',
    message: ORPHANED_BLOBS,
    once: true,
    inject: async (w) => {
      const id = await docOf(w);
      w.deps.catalog.documents.delete(`${TENANT}/${id}`);
      w.deps.blobs.blobs.delete(`${TENANT}/${blobLayout.manifest(id)}`);
      w.clock.advance(2 * 3600_000);
      return id;
    },
    detect: reconcileRun,
  },
  {
    name: 'an original whose bytes changed (fixity check)',
    message: FIXITY_MISMATCH,
    inject: async (w) => {
      const id = await docOf(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      const blob = blobOf(w, id, doc.originals[0]!.blobName);
      blob.bytes = Buffer.concat([blob.bytes, Buffer.from('x')]);
      return id;
    },
    detect: fixityRun,
  },
  {
    name: 'a rendition whose bytes changed (export re-hash)',
    message: FIXITY_MISMATCH,
    inject: async (w) => {
      const id = await docOf(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      const blob = blobOf(w, id, doc.rendition.blobName);
      blob.bytes = Buffer.concat([blob.bytes, Buffer.from('x')]);
      return id;
    },
    detect: async (w) => void (await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' })),
  },
  {
    name: 'a rendition missing from storage, its document active (export re-hash)',
    message: FIXITY_MISMATCH,
    inject: async (w) => {
      const id = await docOf(w);
      w.deps.blobs.blobs.delete(`${TENANT}/${w.deps.catalog.documents.get(`${TENANT}/${id}`)!.rendition.blobName}`);
      return id;
    },
    detect: async (w) => void (await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' })),
  },
  {
    name: "a rendition whose bytes changed before it was validated (the validation worker's checksum check)",
    message: 'rendition to validate does not match the catalog checksum',
    inject: async (w) => {
      const id = await docOf(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      const blob = blobOf(w, id, doc.rendition.blobName);
      blob.bytes = Buffer.concat([blob.bytes, Buffer.from('x')]);
      delivering(w);
      return id;
    },
    detect: async (w) => void (await validateRenditions({ now: w.clock.now(), max: 16 }, { ...w.deps, validator: VALIDATOR })),
  },
  {
    name: 'a rendition claimed PDF/A that veraPDF fails',
    message: VALIDATION_FAILED,
    inject: async (w) => {
      const id = await docOf(w);
      // The in-memory converter claims no PDF/A; the real one does, and only a claimed rendition's failure is alerted.
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, rendition: { ...doc.rendition, conformance: 'PDF/A-2b' } });
      delivering(w);
      return id;
    },
    detect: async (w) => void (await validateRenditions({ now: w.clock.now(), max: 16 }, { ...w.deps, validator: FAILING })),
  },
  {
    name: 'a fixity pass that takes longer than its cycle',
    message: FIXITY_CYCLE_OVERRUN,
    env: { ARCHIVE_FIXITY_MAX_ITEMS: '1', ARCHIVE_FIXITY_CYCLE_DAYS: '1' },
    inject: async (w) => {
      const id = await docOf(w);
      await docOf(w);
      await docOf(w);
      return id;
    },
    detect: async (w) => {
      await fixityRun(w);
      w.clock.advance(2 * 86_400_000);
      await fixityRun(w);
    },
    names: (fields) => typeof fields.passStartedAt === 'string' && fields.cycleDays === 1,
  },
  {
    name: 'a catalog item the walks cannot check (no originals)',
    message: DOCUMENT_CHECK_FAILED,
    inject: async (w) => {
      const id = await docOf(w);
      const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
      w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, originals: undefined as never });
      return id;
    },
    detect: fixityRun,
  },
];

describe('true alarms: the anomaly each detector exists for is alerted, naming the document', () => {
  it.each(ANOMALIES.map((a) => [a.name, a] as const))('%s', async (_name, anomaly) => {
    const w = world(anomaly.env);
    const id = await anomaly.inject(w);
    await anomaly.detect(w);
    const raised = lines(w, anomaly.message);
    expect(raised.length).toBeGreaterThan(0);
    expect(raised.every((l) => (anomaly.names ? anomaly.names(l.fields ?? {}, id) : l.fields?.documentId === id))).toBe(true);
    if (anomaly.once) {
      expect(raised).toHaveLength(1);
      w.clock.advance(3600_000);
      await anomaly.detect(w);
      expect(lines(w, anomaly.message)).toHaveLength(1);
    }
  });
});
