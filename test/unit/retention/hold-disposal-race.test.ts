/**
 * A legal hold placed while the sweep disposes of the document: the hold's flags reach the blobs
 * first, storage refuses the disposal, and the document is active again. The hold must then be
 * recorded, not answered 410 as if the document were gone.
 */
import { placeHold } from '../../../shared/retention/holds/place-hold';
import { prepareDisposal } from '../../../shared/retention/dispose';
import type { Principal } from '../../../shared/kernel/principal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import type { FakeClock } from '../../support/fake-clock';
import { gate } from '../../support/interleave';

const T = 'acme';
const lawyer: Principal = { tenantId: T, subject: 'lea', kind: 'user', person: 'lea', rightsSet: 'legal', permissions: new Set(['holds:place']) };


it('a hold whose flags made storage refuse a disposal claimed meanwhile is recorded on the document, active again', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2017-05-01' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  (deps.clock as FakeClock).set('2100-01-01T00:00:00Z');
  // The placement has set its flags and waits to write the catalog until the sweep claimed the document;
  // the sweep's storage step waits until the placement has seen the claim.
  const claimed = gate();
  const claimSeen = gate();
  const { catalog, disposer } = deps.retention;
  const replace = catalog.replace.bind(catalog);
  let placementPaused = false;
  catalog.replace = async (next, etag, outbox) => {
    if (!placementPaused && (next.holds ?? []).length > 0) {
      placementPaused = true;
      await claimed.wait;
    }
    const written = await replace(next, etag, outbox);
    if (next.status === 'disposing' && written !== 'conflict') claimed.open();
    return written;
  };
  const getVersioned = catalog.getVersioned.bind(catalog);
  catalog.getVersioned = async (tenantId, id) => {
    const found = await getVersioned(tenantId, id);
    if (found?.item.status === 'disposing') claimSeen.open();
    return found;
  };
  const deleteDocument = disposer.deleteDocument.bind(disposer);
  disposer.deleteDocument = async (...args) => {
    await claimSeen.wait;
    return deleteDocument(...args);
  };

  const placing = placeHold({ principal: lawyer, documentId: doc.id, reason: 'dispute', caseReference: 'case-7' }, deps);
  await new Promise((r) => setImmediate(r));
  const disposal = await prepareDisposal(T, doc.id, { now: deps.clock.now(), runId: 'sweep', requireApproval: false }, deps);
  expect(disposal).toEqual({ blocked: 'storage-refused', detail: 'blob-protected' });
  const hold = await placing;
  const now = (await deps.catalog.get(T, doc.id))!;
  expect(now).toMatchObject({ status: 'active', legalHold: true, holds: [expect.objectContaining({ id: hold.id, caseReference: 'case-7' })] });
  expect((await deps.blobs.documentBlobWorm(T, doc.id)).map((b) => b.legalHold)).toEqual([true, true, true]);
});
