/**
 * An export re-hashes every file it packs: one that differs from its archived SHA-256 is damage to
 * an archived document, found outside the fixity timer. The operators' fixity alert (infra/main.bicep
 * watches the FIXITY_MISMATCH phrase) must fire for it too, not only the tenant's failed job; and a
 * file of another length is the same damage (the ZIP refused it first, as an internal error).
 */
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import type { Principal } from '../../../shared/kernel/principal';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { inMemoryDeps, ListingCatalog, RecordingLogger } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';

it.each([
  ['the same length', (b: Buffer) => Buffer.from(b.toString('latin1').replace('rendition', 'forgery!!'), 'latin1')],
  ['another length', (b: Buffer) => Buffer.concat([b, Buffer.from('% appended\n')])],
])('a file changed to %s fails the export as a fixity mismatch and logs the alert phrase, naming the document only', async (_, forge) => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-02-01', kind: 'invoice', reference: 'INV-7', counterparty: 'ACME GmbH' } });
  const stored = deps.blobs.blobs.get(`${T}/${doc.rendition.blobName}`)!;
  stored.bytes = forge(stored.bytes);
  const principal = { tenantId: T, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);

  const done = await runExport(T, job.id, deps);

  expect(done).toMatchObject({ status: 'failed', error: expect.stringMatching(/^export_fixity_mismatch: /) });
  const lines = (deps.log as RecordingLogger).lines.filter((l) => l.level === 'error');
  expect(lines).toEqual([{ level: 'error', message: FIXITY_MISMATCH, fields: { tenantId: T, documentId: doc.id, exportId: job.id, mismatched: [doc.rendition.blobName], missing: [] } }]);
  expect(JSON.stringify(lines)).not.toMatch(/ACME|INV-7/);
});
