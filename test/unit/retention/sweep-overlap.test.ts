/**
 * Two sweep runs at once (the timer's singleton lease expired during a long run, or `npm run sweep`
 * beside the local host's timer) both reach the same document. The promise holds whatever runs:
 * one disposal, one `document.dispose` entry.
 */
import { prepareDisposal } from '../../../shared/retention/dispose';
import { sweep, type SweepResult } from '../../../shared/retention/sweep';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDueDocument } from '../../support/seed';
import { gate } from '../../support/interleave';

const T = 'acme';
const over = '2025-01-01T00:00:00.000Z';
const now = new Date('2025-06-01T00:00:00Z');

type Deps = ReturnType<typeof inMemoryDeps>;
const run = (deps: Deps) => sweep({ now, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, deps);

/** Runs A until `pause` is first reached, runs B whole, then lets A finish. */
async function overlapping(deps: Deps, pause: (reached: () => Promise<void>) => void): Promise<[SweepResult, SweepResult]> {
  const reached = gate();
  const resume = gate();
  let first = true;
  pause(async () => {
    if (!first) return;
    first = false;
    reached.open();
    await resume.wait;
  });
  const a = run(deps);
  await reached.wait;
  const b = await run(deps);
  resume.open();
  return [await a, b];
}

function disposalEntries(deps: Deps, id: string) {
  return deps.audit.entries.filter((e) => e.action === 'document.dispose' && e.target === id);
}

it('a run that claimed the document pauses after deleting its blobs while another run finishes the disposal: one entry', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, over);
  const disposer = deps.retention.disposer;
  const deleteDocument = disposer.deleteDocument.bind(disposer);
  const [a, b] = await overlapping(deps, (reached) => {
    disposer.deleteDocument = async (...args) => {
      const deleted = await deleteDocument(...args);
      await reached();
      return deleted;
    };
  });
  expect([...a.disposed, ...a.completed, ...b.disposed, ...b.completed]).toEqual([`${T}/${doc.id}`]);
  expect((await deps.catalog.get(T, doc.id))!).toMatchObject({ status: 'disposed', disposal: { audited: true } });
  await deps.auditOutbox.flush();
  expect(disposalEntries(deps, doc.id)).toHaveLength(1);
});

it('two runs resume a disposal a crashed run left, one pausing after it found no entry: one entry', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, over);
  expect(await prepareDisposal(T, doc.id, { now, runId: 'crashed', requireApproval: false }, deps)).toMatchObject({ id: doc.id });
  const audit = deps.audit;
  const list = audit.list.bind(audit);
  const [a, b] = await overlapping(deps, (reached) => {
    audit.list = async (...args) => {
      const found = await list(...args);
      await reached();
      return found;
    };
  });
  expect([...a.completed, ...b.completed]).toEqual([`${T}/${doc.id}`]);
  expect((await deps.catalog.get(T, doc.id))!).toMatchObject({ status: 'disposed', disposal: { runId: 'crashed', audited: true } });
  await deps.auditOutbox.flush();
  expect(disposalEntries(deps, doc.id)).toHaveLength(1);
});

it('every disposal of one run has its own entry, each appended once by whichever appends it (the run, or the sealing timer after a crash)', async () => {
  const deps = inMemoryDeps();
  const docs = [await seedDueDocument(deps, T, over), await seedDueDocument(deps, T, over), await seedDueDocument(deps, T, over)];
  const result = await run(deps);
  expect(result.disposed).toHaveLength(3);
  const entries = deps.audit.entries.filter((e) => e.action === 'document.dispose');
  expect(entries.map((e) => e.target).sort()).toEqual(docs.map((d) => d.id).sort());
  expect(new Set(entries.map((e) => e.requestId)).size).toBe(3);
  // The sealing timer's take-over of entries a run left (appendOnce, per request id) finds each in the chain.
  expect(await deps.audit.appendOnce(entries.map(({ id: _i, seq: _s, prevHash: _p, hash: _h, partition: _pa, ...input }) => input))).toBe(false);
});
