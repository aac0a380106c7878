/**
 * A legal hold kept on the blobs but lost from a restored catalog item (Cosmos DB restored to a point before it was
 * placed) comes back as an open hold, as a rebuild from the manifest gives one (`catalog-rebuild`): the reconciler
 * records it once it has seen the flag unexplained twice, HOLD_WRITE_IN_FLIGHT_MS apart (case `restored-from-storage`,
 * placed by `system:reconciler`, a `document.reindex` entry), and it is released by four eyes like any other. Not at
 * the first sighting: a placement sets its flags before its catalog write, and one in flight then records its own hold.
 */
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { MAX_HOLDS } from '../../../shared/retention/holds/place-hold';
import { HOLD_WRITE_IN_FLIGHT_MS, RESTORED_HOLD_CASE, UNRECORDED_HOLD } from '../../../shared/retention/reconcile';
import { runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import type { RecordingLogger } from '../../support/in-memory';
import { approval, docOf, hold, ok, send, settle, TENANT, world, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const key = (id: string) => `${TENANT}/${id}`;
const item = (w: World, id: string) => w.deps.catalog.documents.get(key(id))!;
const flags = async (w: World, id: string) => (await w.deps.blobs.documentBlobWorm(TENANT, id)).map((b) => b.legalHold);
const alerts = (w: World, id: string) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message === UNRECORDED_HOLD && l.fields?.documentId === id);
const entries = (w: World, id: string) => w.deps.audit.entries.filter((e) => e.target === id);
/** A reconciler run, the clock moved on past the window in which a hold write may still be in flight first. */
const reconcileLater = async (w: World) => {
  w.clock.advance(HOLD_WRITE_IN_FLIGHT_MS + 60_000);
  const result = await runReconcileTimer(w.deps);
  await settle(w);
  return result;
};

/** A document held by `up` (case C-7), then its catalog item restored to before the hold: the flags stay on the blobs. */
async function restoredBehindAHold(w: World): Promise<string> {
  const id = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
  const before: ArchivedDocument = structuredClone(item(w, id));
  await ok(w, hold(id, 'C-7', 'up'), 201);
  expect(await flags(w, id)).toEqual([true, true, true]);
  w.deps.catalog.documents.set(key(id), before);
  expect((await ok(w, { method: 'GET', path: `documents/${id}`, as: 'alice' })).json.legalHold).toBe(false);
  return id;
}

it('a restored item behind a placement gets an open hold at the second sighting, not the first, with its document.reindex entry', async () => {
  const w = world();
  const id = await restoredBehindAHold(w);

  // First sighting: recorded on the item, nothing else (it could be a placement between its flags and its catalog write).
  await reconcileLater(w);
  const seen = item(w, id).unrecordedHoldSeenAt;
  expect(seen).toBeDefined();
  expect(item(w, id).holds ?? []).toEqual([]);
  expect(item(w, id).legalHold).toBe(false);
  expect(alerts(w, id)).toHaveLength(0);
  expect(entries(w, id).filter((e) => e.action === 'document.reindex')).toEqual([]);

  // Second sighting, past the window: an open hold of its own, shown to whoever reads the document.
  const result = await reconcileLater(w);
  const holds = item(w, id).holds ?? [];
  expect(holds).toEqual([expect.objectContaining({ caseReference: RESTORED_HOLD_CASE, placedBy: { subject: 'system:reconciler', kind: 'system' } })]);
  expect(holds[0]!.releasedAt).toBeUndefined();
  expect(result.holdsRestored).toEqual([{ tenantId: TENANT, documentId: id, holdId: holds[0]!.id }]);
  expect(item(w, id).legalHold).toBe(true);
  expect(item(w, id).unrecordedHoldSeenAt).toBeUndefined();
  const read = (await ok(w, { method: 'GET', path: `documents/${id}`, as: 'alice' })).json;
  expect(read.legalHold).toBe(true);
  expect(await flags(w, id)).toEqual([true, true, true]);
  const reindex = entries(w, id).filter((e) => e.action === 'document.reindex');
  expect(reindex).toEqual([expect.objectContaining({ actor: { subject: 'system:reconciler', kind: 'system' }, outcome: 'success' })]);
  expect(reindex[0]!.detail).toBe(`legal-hold-restored=${holds[0]!.id};unrecorded-since=${seen}`);
  // Alerted once, when recorded; later runs find catalog and blobs agreeing.
  expect(alerts(w, id)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ holdId: holds[0]!.id }) })]);
  await reconcileLater(w);
  expect(item(w, id).holds).toHaveLength(1);
  expect(alerts(w, id)).toHaveLength(1);
  expect(entries(w, id).filter((e) => e.action === 'document.reindex' || e.action === 'legal-hold.resync')).toHaveLength(1);
});

it('a placement in flight between the two sightings records only its own hold; a restored item in the same runs gets its hold', async () => {
  const w = world();
  const restored = await restoredBehindAHold(w);
  const placing = await docOf(w);
  // The placement's catalog write waits until the reconciler's first run is over: its flags are set, its record not yet.
  let open!: () => void;
  const gate = new Promise<void>((r) => (open = r));
  let reached!: () => void;
  const atCatalogWrite = new Promise<void>((r) => (reached = r));
  const replace = w.deps.retention.catalog.replace.bind(w.deps.retention.catalog);
  let held = false;
  jest.spyOn(w.deps.retention.catalog, 'replace').mockImplementation(async (doc, etag, outbox) => {
    if (!held && doc.id === placing && (doc.holds ?? []).length > 0) {
      held = true;
      reached();
      await gate;
    }
    return replace(doc, etag, outbox);
  });
  const placement = send(w, hold(placing, 'C-8', 'up'));
  await atCatalogWrite;
  expect(await flags(w, placing)).toEqual([true, true, true]);

  await reconcileLater(w);
  const sighting = item(w, placing).unrecordedHoldSeenAt;
  open();
  // Its write over the version it read fails (the sighting was written meanwhile): it reads again and records its hold.
  expect((await placement).status).toBe(201);

  await reconcileLater(w);
  expect(item(w, placing).holds).toEqual([expect.objectContaining({ caseReference: 'C-8', reason: 'Audit', placedBy: expect.objectContaining({ subject: 'up' }) })]);
  expect(item(w, placing).unrecordedHoldSeenAt).toBeUndefined();
  expect(sighting).toBeDefined();
  expect(alerts(w, placing)).toHaveLength(0);
  expect(entries(w, placing).filter((e) => e.action === 'document.reindex')).toEqual([]);
  // The restored one, in the same runs: its own open hold.
  expect(item(w, restored).holds).toEqual([expect.objectContaining({ caseReference: RESTORED_HOLD_CASE })]);
  await reconcileLater(w);
  expect(item(w, placing).holds).toHaveLength(1);
});

it('the restored hold is released by another person, as any hold: the flags are cleared and the document is disposed of when due', async () => {
  const w = world();
  const id = await restoredBehindAHold(w);
  await reconcileLater(w);
  await reconcileLater(w);
  const restoredHold = item(w, id).holds!.find((h) => h.caseReference === RESTORED_HOLD_CASE)!;
  expect(restoredHold).toBeDefined();

  // Past its retention and approved, the sweep keeps it while the hold is open.
  w.clock.advance(20 * 365 * 86400_000);
  await runSweepTimer(w.deps);
  expect(item(w, id).status).toBe('active');

  // Four eyes: the reconciler placed it, bob (not the placer) releases it; up, who placed the hold the restore lost, is not asked.
  const released = await ok(w, { method: 'DELETE', path: `documents/${id}/legal-holds/${restoredHold.id}`, body: { reason: 'Case C-7 closed' }, as: 'bob' });
  expect(released.json).toMatchObject({ id: restoredHold.id, releasedBy: expect.objectContaining({ subject: 'bob' }) });
  expect(item(w, id).legalHold).toBe(false);
  expect(await flags(w, id)).toEqual([false, false, false]);
  expect(item(w, id).holdFlagsToClear).toBeUndefined();

  await ok(w, approval(w), 201);
  await runSweepTimer(w.deps);
  expect(item(w, id).status).toBe('disposed');
  expect([...w.deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/${id}/`))).toEqual([]);
});

it('an item that cannot take another hold (MAX_HOLDS) keeps the flags on its blobs and is alerted each run, as before', async () => {
  const w = world();
  const id = await restoredBehindAHold(w);
  const released = { reason: 'Audit', caseReference: 'old', placedAt: '2020-01-01T00:00:00.000Z', placedBy: { subject: 'up', kind: 'user' }, releasedAt: '2020-02-01T00:00:00.000Z', releasedBy: { subject: 'bob', kind: 'user' }, releaseReason: 'Closed' };
  w.deps.catalog.documents.set(key(id), { ...item(w, id), holds: Array.from({ length: MAX_HOLDS }, (_, i) => ({ ...released, id: `0190aaaa-0000-7000-8000-${String(i).padStart(12, '0')}` })) });
  await reconcileLater(w);
  await reconcileLater(w);
  await reconcileLater(w);
  expect(item(w, id).holds!.filter((h) => !h.releasedAt)).toEqual([]);
  expect(await flags(w, id)).toEqual([true, true, true]);
  expect(alerts(w, id)).toHaveLength(2);
});
