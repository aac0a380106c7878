/**
 * A disposal storage keeps refusing (blobs locked longer than the catalog says) is alerted once it outlasts the grace
 * window, counted from the first refusal at the catalog's retain-until; a retain-until changed since starts it again,
 * and the tombstone of a disposal that finally passes keeps nothing of it.
 */
import { DISPOSAL_REFUSAL_GRACE_MS, DISPOSAL_REFUSED } from '../../../shared/retention/dispose';
import { runSweepTimer } from '../../../shared/retention/timers';
import type { RecordingLogger } from '../../support/in-memory';
import { disposable, TENANT, world, type World } from '../../support/in-process';

const alerts = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message === DISPOSAL_REFUSED);
const item = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
function lock(w: World, id: string, until: string): void {
  const doc = item(w, id);
  for (const name of [doc.rendition.blobName, ...doc.originals.map((o) => o.blobName)]) w.deps.blobs.blobs.get(`${TENANT}/${name}`)!.worm.retainUntil = until;
}

it('is alerted only past the grace window, naming the document and since when; a changed retain-until starts the window again', async () => {
  const w = world();
  const id = await disposable(w);
  lock(w, id, '2200-01-01T00:00:00.000Z');
  const first = w.clock.now().toISOString();
  await runSweepTimer(w.deps);
  expect(item(w, id)).toMatchObject({ status: 'active', disposalRefused: { since: first, retainUntil: item(w, id).retention.retainUntil } });
  w.clock.advance(DISPOSAL_REFUSAL_GRACE_MS - 1);
  await runSweepTimer(w.deps);
  expect(alerts(w)).toEqual([]);
  w.clock.advance(1);
  await runSweepTimer(w.deps);
  expect(alerts(w).map((l) => l.fields)).toEqual([expect.objectContaining({ tenantId: TENANT, documentId: id, refusedSince: first, code: 'blob-protected' })]);
  // The catalog's retain-until moves (an operator restores the lost extension's end, shorter than the lock): a new window.
  const doc = item(w, id);
  const moved = new Date(Date.parse(doc.retention.retainUntil) + 1000).toISOString();
  w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, retention: { ...doc.retention, retainUntil: moved } });
  await runSweepTimer(w.deps);
  expect(alerts(w)).toHaveLength(1);
  expect(item(w, id).disposalRefused).toEqual({ since: w.clock.now().toISOString(), retainUntil: moved });
  // The lock runs out: disposed of, and the tombstone keeps nothing of the refusals.
  lock(w, id, '2001-01-01T00:00:00.000Z');
  await runSweepTimer(w.deps);
  expect(item(w, id).status).toBe('disposed');
  expect(item(w, id).disposalRefused).toBeUndefined();
});
