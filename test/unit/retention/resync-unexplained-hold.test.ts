/**
 * The reconciler brings blob legal-hold flags in line with the catalog. Clearing a flag is right only
 * when the catalog says why it should go: a release it recorded (the release crashed before clearing
 * the flags). A flag the catalog cannot explain (a placement whose catalog write failed, a hold lost
 * with a catalog restored from a backup) stays: clearing it would let the sweep dispose of a document
 * that storage still holds.
 */
import type { Principal } from '../../../shared/kernel/principal';
import { prepareDisposal } from '../../../shared/retention/dispose';
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import { resyncLegalHold } from '../../../shared/retention/reconcile';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDueDocument, placeHoldWitnessed } from '../../support/seed';

const T = 'acme';
const over = '2025-01-01T00:00:00.000Z';
const now = new Date('2025-06-01T00:00:00Z');
const person = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'archivist', permissions: new Set(['holds:place', 'holds:release']) });

/**
 * A document past its retention, catalog and blobs alike, with its manifest; and the two interrupted hold
 * changes these tests start from: a placement whose catalog write fails after its flags are set, and a release
 * that crashes before clearing the flags.
 */
async function due() {
  const deps = inMemoryDeps();
  const doc = await seedDueDocument(deps, T, over);
  const flags = async () => (await deps.blobs.documentBlobWorm(T, doc.id)).map((b) => b.legalHold);
  const placeFailingInCatalog = async () => {
    const replace = jest.spyOn(deps.retention.catalog, 'replace').mockRejectedValueOnce(new Error('Cosmos unavailable'));
    await expect(placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'dispute', caseReference: 'D-1' }, deps)).rejects.toThrow('Cosmos unavailable');
    replace.mockRestore();
  };
  const releaseCrashingBeforeFlags = async (holdId: string) => {
    const setLegalHold = jest.spyOn(deps.blobs, 'setLegalHold').mockRejectedValueOnce(new Error('crash'));
    await expect(releaseHold({ principal: person('bob'), documentId: doc.id, holdId, reason: 'settled' }, deps)).rejects.toThrow('crash');
    setLegalHold.mockRestore();
  };
  /** The flags stay set, and the sweep refuses to dispose of the document: every blob is still there. */
  const expectFlagsKeptAndNotDisposable = async () => {
    expect(await resyncLegalHold(T, doc.id, now, deps)).toBeNull();
    expect(await flags()).toEqual([true, true, true]);
    expect(await prepareDisposal(T, doc.id, { now, runId: 'r1', requireApproval: false }, deps)).toEqual({ blocked: 'storage-refused', detail: 'blob-protected' });
    expect((await deps.blobs.documentBlobs(T, doc.id)).length).toBe(3);
  };
  return { deps, doc, flags, placeFailingInCatalog, releaseCrashingBeforeFlags, expectFlagsKeptAndNotDisposable };
}

it('a hold whose catalog write failed after the flags were set: the flags stay, and the sweep cannot dispose of the document', async () => {
  const { flags, placeFailingInCatalog, expectFlagsKeptAndNotDisposable } = await due();
  await placeFailingInCatalog();
  expect(await flags()).toEqual([true, true, true]);

  await expectFlagsKeptAndNotDisposable();
});

it('a release that crashed before clearing the flags: the flags are cleared, audited', async () => {
  const { deps, doc, flags, releaseCrashingBeforeFlags } = await due();
  const hold = await placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'dispute', caseReference: 'D-1' }, deps);
  await releaseCrashingBeforeFlags(hold.id);
  expect(await flags()).toEqual([true, true, true]);

  expect(await resyncLegalHold(T, doc.id, now, deps)).toMatchObject({ legalHold: false });
  expect(await flags()).toEqual([false, false, false]);
  expect(deps.audit.entries.filter((e) => e.action === 'legal-hold.resync')).toHaveLength(1);
});

it('a hold whose catalog write failed, on a document whose earlier hold was released: the flags stay, and the sweep cannot dispose of it', async () => {
  const { deps, doc, flags, placeFailingInCatalog, expectFlagsKeptAndNotDisposable } = await due();
  const first = await placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'audit 2019', caseReference: 'A-1' }, deps);
  await releaseHold({ principal: person('bob'), documentId: doc.id, holdId: first.id, reason: 'closed' }, deps);
  expect(await flags()).toEqual([false, false, false]);
  // A second hold: its flags are set, its catalog write fails. The release on record is not what these flags are for.
  await placeFailingInCatalog();
  expect(await flags()).toEqual([true, true, true]);

  await expectFlagsKeptAndNotDisposable();
});

it('a release that crashed before clearing the flags, on a document held and released before: the flags are cleared', async () => {
  const { deps, doc, flags, releaseCrashingBeforeFlags } = await due();
  const first = await placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'audit 2019', caseReference: 'A-1' }, deps);
  await releaseHold({ principal: person('bob'), documentId: doc.id, holdId: first.id, reason: 'closed' }, deps);
  const second = await placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'dispute', caseReference: 'D-1' }, deps);
  await releaseCrashingBeforeFlags(second.id);
  expect(await flags()).toEqual([true, true, true]);

  expect(await resyncLegalHold(T, doc.id, now, deps)).toMatchObject({ legalHold: false });
  expect(await flags()).toEqual([false, false, false]);
  // Once cleared, nothing is left to clear: a later run finds the flags in line.
  expect(await resyncLegalHold(T, doc.id, now, deps)).toBeNull();
});

it.each([
  ['a flag write fails', 'setLegalHold'],
  ['its last catalog write is lost', 'replace'],
] as const)('a resync that stopped (%s) in one month and is finished in the next is audited once', async (_what, stops) => {
  const { deps, doc, flags, releaseCrashingBeforeFlags } = await due();
  const clock = deps.clock as FakeClock;
  const hold = await placeHoldWitnessed({ principal: person('alice'), documentId: doc.id, reason: 'dispute', caseReference: 'D-1' }, deps);
  await releaseCrashingBeforeFlags(hold.id);
  clock.set(new Date('2025-03-31T23:50:00Z'));
  // The resync's entry is stored; then the run stops before its last catalog write.
  const replace = deps.retention.catalog.replace.bind(deps.retention.catalog);
  const crash = stops === 'setLegalHold'
    ? jest.spyOn(deps.blobs, 'setLegalHold').mockRejectedValueOnce(new Error('crash'))
    : jest.spyOn(deps.retention.catalog, 'replace').mockImplementationOnce(replace).mockRejectedValueOnce(new Error('crash'));
  await expect(resyncLegalHold(T, doc.id, clock.now(), deps)).rejects.toThrow('crash');
  crash.mockRestore();
  expect((await deps.catalog.get(T, doc.id))!.holdResync).toEqual({ held: false, at: '2025-03-31T23:50:00.000Z' });

  // In April: the flags left to clear are cleared (or, all cleared before the lost write, that write is done).
  clock.advance(20 * 60_000);
  expect(await resyncLegalHold(T, doc.id, clock.now(), deps)).toEqual(stops === 'setLegalHold' ? expect.objectContaining({ legalHold: false }) : null);
  expect(await flags()).toEqual([false, false, false]);
  expect((await deps.catalog.get(T, doc.id))!.holdResync).toBeUndefined();
  expect(deps.audit.entries.filter((e) => e.action === 'legal-hold.resync').map((e) => e.partition)).toEqual([`${T}:2025-03`]);
  expect(await resyncLegalHold(T, doc.id, clock.now(), deps)).toBeNull();
  expect(deps.audit.entries.filter((e) => e.action === 'legal-hold.resync')).toHaveLength(1);
});
