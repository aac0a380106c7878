import type { Principal } from '../../../shared/kernel/principal';
import { correctMetadata, metadataHistoryOf } from '../../../shared/documents/correct-metadata';
import { SWEEP_ACTOR, tombstoneOf } from '../../../shared/retention/dispose';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const accountant: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'accountant', permissions: new Set(['documents:correct']) };

it("a corrected document's tombstone keeps no counterparty, amount, reference or tags, in its metadata history neither", async () => {
  const deps = inMemoryDeps();
  const seeded = await seedDocument(deps, T, { metadata: { counterparty: 'Bakkerij Secret', amount: 123456.78, currency: 'EUR', reference: 'INV-SECRET-1', tags: ['secret-tag'], documentDate: '2024-03-01', kind: 'invoice' } });
  const patch = { counterparty: 'Bakkerij Geheim BV', amount: 987654.32, reference: 'INV-SECRET-2', tags: ['other-secret'], kind: 'receipt' };
  const { document } = await correctMetadata({ principal: accountant, documentId: seeded.id, patch, reason: 'typo', ifMatch: 1 }, deps);

  const tombstone = tombstoneOf(document, { at: '2032-01-02T00:00:00.000Z', by: SWEEP_ACTOR, reason: 'retention-ended', runId: 'r1', audited: true });
  const history = metadataHistoryOf(tombstone);
  const seen = JSON.stringify({ tombstone, history });
  for (const secret of ['Bakkerij', 'INV-SECRET', 'secret-tag', 'other-secret', '123456.78', '987654.32', 'EUR']) expect(seen).not.toContain(secret);
  // What a tombstone keeps (dates, kind, who and when) stays in the history: version 2 still says kind changed, by whom.
  expect(history.metadataVersion).toBe(2);
  expect(history.versions.map((v) => v.metadata)).toEqual([
    { documentDate: '2024-03-01', kind: 'invoice' },
    { documentDate: '2024-03-01', kind: 'receipt' },
  ]);
  expect(history.versions[1]).toMatchObject({ version: 2, by: { subject: 'ann' }, reason: 'typo', changes: [{ field: 'kind', from: 'invoice', to: 'receipt' }] });
});

it('a tombstone stored with its full correction history (disposed before histories were stripped) still shows none of it', async () => {
  const deps = inMemoryDeps();
  const seeded = await seedDocument(deps, T, { metadata: { counterparty: 'Bakkerij Secret', reference: 'INV-SECRET-1', documentDate: '2024-03-01', kind: 'invoice' } });
  const { document } = await correctMetadata({ principal: accountant, documentId: seeded.id, patch: { counterparty: 'Bakkerij Geheim BV', kind: 'receipt' }, reason: 'typo', ifMatch: 1 }, deps);
  const older = { ...tombstoneOf(document, { at: '2032-01-02T00:00:00.000Z', by: SWEEP_ACTOR, reason: 'retention-ended', runId: 'r1', audited: true }), metadataHistory: document.metadataHistory };

  const history = metadataHistoryOf(older);
  expect(JSON.stringify(history)).not.toContain('Bakkerij');
  expect(JSON.stringify(history)).not.toContain('INV-SECRET');
  expect(history.versions.map((v) => v.metadata)).toEqual([
    { documentDate: '2024-03-01', kind: 'invoice' },
    { documentDate: '2024-03-01', kind: 'receipt' },
  ]);
});
