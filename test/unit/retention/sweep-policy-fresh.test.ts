/**
 * A tenant that starts requiring disposal approval while the sweep runs through its documents: from
 * then on the sweep disposes of none without approval. It read the policy once per tenant and
 * disposed of every due document of the run (up to ARCHIVE_SWEEP_MAX_SECONDS) under the old one.
 */
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { sweep } from '../../../shared/retention/sweep';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const over = '2025-01-01T00:00:00.000Z';
const now = new Date('2025-06-01T00:00:00Z');

it('a policy turned stricter mid-run applies to the documents the run has not claimed yet', async () => {
  const deps = inMemoryDeps();
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const seeded = await seedDocument(deps, T, { metadata: {}, fiscalYear: 2017 });
    const doc = { ...seeded, retention: { ...seeded.retention, retainUntil: over } };
    deps.catalog.documents.set(`${T}/${doc.id}`, doc);
    await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from(JSON.stringify(doc)), 'application/json', { retainUntil: over, legalHold: false }, {});
    for (const name of [doc.original.blobName, doc.rendition.blobName]) deps.blobs.blobs.get(`${T}/${name}`)!.worm.retainUntil = over;
    ids.push(doc.id);
  }
  ids.sort();
  const deleteDocument = deps.retention.disposer.deleteDocument.bind(deps.retention.disposer);
  jest.spyOn(deps.retention.disposer, 'deleteDocument').mockImplementation(async (...args) => {
    // While the first document is being disposed of, the tenant starts requiring approval.
    deps.retention.policies.policies.set(T, { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12, updatedAt: now.toISOString(), safeguards: {} } as never);
    return deleteDocument(...args);
  });
  const result = await sweep({ now, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null, concurrency: 1 }, deps);
  expect(result.disposed).toEqual([`${T}/${ids[0]}`]);
  expect(result.blocked).toEqual([ids[1], ids[2]].map((documentId) => ({ tenantId: T, documentId, reason: 'approval-required' })));
});
