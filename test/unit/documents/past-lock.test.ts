/**
 * A document past its retention, awaiting disposal, corrected into a later fiscal year that has ended too: storage
 * refuses a lock that expires in the past (400 InvalidExpiryTime, as the in-memory blobs and the WORM proxy answer),
 * which answered the correction 500. It is stored; no lock is asked for; the catalog's later date still keeps it.
 */
import { delivering, dueDocs, ok, send, TENANT, validationWorker, world } from '../../support/in-process';

it('a correction into a later year whose retention has ended too is stored without a lock until a past date', async () => {
  const w = world();
  const [id] = await dueDocs(w);
  const before = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
  const locks = [...w.deps.blobs.blobs.entries()].filter(([k]) => k.startsWith(`${TENANT}/${id}/`)).map(([k, b]) => [k, b.worm.retainUntil]);
  const corrected = await send(w, { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Wrong year', fiscalYear: before.fiscalYear + 1 })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
  expect(corrected.status).toBe(200);
  const after = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
  expect(after.retention.retainUntil > before.retention.retainUntil).toBe(true);
  expect(Date.parse(after.retention.retainUntil)).toBeLessThan(w.clock.now().getTime());
  expect([...w.deps.blobs.blobs.entries()].filter(([k]) => locks.some(([n]) => n === k)).map(([k, b]) => [k, b.worm.retainUntil])).toEqual(locks);
  // Still due, as the catalog says: the next answer of the document shows the later date.
  expect((await ok(w, { method: 'GET', path: `documents/${id}`, as: 'alice' })).json.retention.retainUntil).toBe(after.retention.retainUntil);
});

it("a rendition validated after its document's retention ended: the report is stored without a lock, the verdict recorded", async () => {
  const w = world();
  const [id] = await dueDocs(w);
  await w.deps.validationRequests.flush();
  // Storage refuses a lock that expires in the past on a write too (Azure's InvalidExpiryTime, the WORM proxy).
  const put = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
  w.deps.blobs.putCreateOnly = async (tenant, name, bytes, type, worm, metadata) => {
    if (worm.retainUntil !== null && Date.parse(worm.retainUntil) <= w.clock.now().getTime()) throw new Error(`400 InvalidExpiryTime (${name})`);
    return put(tenant, name, bytes, type, worm, metadata);
  };
  delivering(w);
  if (!('run' in validationWorker)) throw new Error('the validation worker is a timer step');
  await validationWorker.run(w);
  expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)!.validation).toMatchObject({ status: 'passed' });
  const report = w.deps.blobs.blobs.get(`${TENANT}/${id}/validation.json`)!;
  expect(report.worm.unlocked).toBe(true);
});
