/**
 * Round 18: attacks on the newest code (exports on the export-work queue, the download's look at the disposal entries,
 * the walks over export blobs and kept sign-in copies, the sign-in restore). Each case is an attack that broke, with the
 * fix it got; see each block's comment.
 */
import { PersonSightings, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { inMemoryDeps, ListingCatalog } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { keepManifest, seedMany } from '../../support/seed';
import type { Principal } from '../../../shared/kernel/principal';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { withdrawExportsHolding } from '../../../shared/exports/withdraw-exports';
import { exportFile } from '../../../shared/exports/download-export';
import { maintainExports } from '../../../shared/exports/maintain-exports';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import type { InMemoryExportBlobs } from '../../support/in-memory';

const HOUR = 3_600_000;

/**
 * A sign-in whose token was issued before the stored sign-in's is not recorded (an older token's wider set must not come
 * back for her API keys after the identity provider narrowed her claim). That order was judged on the stored record
 * alone: one not sealed as it is, or none at all, skipped it. So whoever could write Cosmos DB (not Key Vault) touched
 * her record (any field) or deleted it, signed in with a token from before the narrowing (valid for its lifetime), and
 * its wider set was recorded, sealed and kept: her keys acted with it after that token had expired, until her next
 * sign-in. Now the newest copy kept in storage (sealed, genuine) gives the order when the stored one cannot.
 */
describe('an older token\'s wider set is not recorded over a narrowed claim whatever Cosmos DB holds', () => {
  it.each<[string, ((s: PersonSightingRecord) => PersonSightingRecord | null) | undefined]>([
    ['the record as stored (control)', undefined],
    ['the record touched (its seal no longer checks)', (s) => ({ ...s, issuedAt: '2020-01-01T00:00:00.000Z' })],
    ['the record deleted', () => null],
  ])('%s: the older token\'s set is not what her keys act with', async (_what, edit) => {
    const deps = inMemoryDeps();
    const sightings = new PersonSightings(deps.tenantRecords, deps);
    const t0 = deps.clock.now();
    const wideIssued = t0.toISOString();
    await sightings.seen(TENANT, 'dana', 'integration-admin', t0, wideIssued);
    // The identity provider narrows her claim; her next token says so.
    const t1 = new Date(t0.getTime() + HOUR);
    await sightings.seen(TENANT, 'dana', 'uploader', t1, t1.toISOString());
    const key = `${TENANT}/${personSightingRecordId('dana')}`;
    if (edit) {
      const stored = deps.tenantRecords.records.get(key)!;
      const edited = edit(stored.value as unknown as PersonSightingRecord);
      if (edited === null) deps.tenantRecords.records.delete(key);
      else deps.tenantRecords.records.set(key, { ...stored, value: edited, etag: stored.etag + 1000 });
    }
    // She signs in again, on another instance, with the wide token from before the narrowing.
    const t2 = new Date(t1.getTime() + HOUR);
    await new PersonSightings(deps.tenantRecords, deps).seen(TENANT, 'dana', 'integration-admin', t2, wideIssued);
    const later = new Date(t2.getTime() + HOUR);
    const judged = await new PersonSightings(deps.tenantRecords, deps).lastForKey(TENANT, 'dana', later);
    expect(judged === null || judged.unsealed !== null || judged.record.rightsSet === 'uploader').toBe(true);
  });
});

/**
 * Which held documents a disposal can reach while the export lives (its `disposable` list, `disposableFrom`) was judged
 * by the catalog's retain-until alone, which nothing checks against storage (an extension lengthens it). Whoever could
 * write Cosmos DB (not Key Vault) set a held document's retain-until years on while the export walked, and back after:
 * the export named nothing a disposal could reach, so the sweep's withdrawal passed it over and its download looked
 * for no disposal, and its ZIP, a copy of the document the sweep disposed of, was handed out. Now the earlier of the
 * catalog's and the archive's manifest's (retention is lengthened, never shortened, from what ingest sealed).
 */
describe("a held document's retain-until moved on in Cosmos DB while the export walked", () => {
  it.each([
    ['as stored (control)', false],
    ['moved on during the walk, back after', true],
  ])('%s: its ZIP is not handed out once the document is disposed of', async (_what, moved) => {
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
    const [seeded] = await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
    const key = `${TENANT}/${seeded!.id}`;
    const doc = { ...seeded!, retention: { ...seeded!.retention, retainUntil: '2025-03-02T00:00:00.000Z' } };
    deps.catalog.documents.set(key, doc);
    await keepManifest(deps, doc);
    if (moved) deps.catalog.documents.set(key, { ...doc, retention: { ...doc.retention, retainUntil: '2040-01-01T00:00:00.000Z' } });
    const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    deps.clock.now = () => new Date('2025-03-01T12:00:00.000Z');
    const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
    expect((await runExport(TENANT, job.id, deps)).status).toBe('completed');
    deps.catalog.documents.set(key, doc);
    // The sweep disposes of it: its look at the exports, then its keyed disposal entry (with the tombstone).
    const swept = new Date('2025-03-02T06:00:00.000Z');
    deps.clock.now = () => swept;
    await withdrawExportsHolding(TENANT, [doc.id], swept, deps);
    await deps.audit.append({ tenantId: TENANT, at: swept.toISOString(), actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: doc.id, outcome: 'success', status: 200, requestId: `sweep-1:${doc.id}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    deps.clock.now = () => new Date('2025-03-02T07:00:00.000Z');
    const handed = await exportFile({ tenantId: TENANT, exportId: job.id }, deps).catch(() => null);
    await expect(handed ? handed.read() : Promise.reject(new Error('refused'))).rejects.toThrow();
  });
});

/**
 * Export maintenance's walk of the export containers deletes a blob storage created longer ago than
 * ARCHIVE_EXPORT_TTL_HOURS (plus a day), as configured now. An operator who lowered it (720 hours to 24) had every live
 * export made before deleted two days on, days before its sealed expiry: still `completed` with a download, answered
 * 410 (its ZIP gone). The ZIP and list a completed export hands out are kept while its seal holds and it has not expired.
 */
it.each([
  ['as configured when it began (control)', '720'],
  ['ARCHIVE_EXPORT_TTL_HOURS lowered since it began', '24'],
])('a live export %s: maintenance two days on keeps its ZIP', async (_what, ttlNow) => {
  const deps = { ...inMemoryDeps(loadConfig({ ...minimalLocalEnv, ARCHIVE_EXPORT_TTL_HOURS: '720' })), catalog: new ListingCatalog() };
  await seedMany(deps, TENANT, [{ metadata: { documentDate: '2018-06-01', reference: 'R-0' } }]);
  const principal = { tenantId: TENANT, subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const done = await runExport(TENANT, job.id, deps);
  expect(done.status).toBe('completed');
  const later = { ...deps, config: loadConfig({ ...minimalLocalEnv, ARCHIVE_EXPORT_TTL_HOURS: ttlNow }) };
  const now = new Date(deps.clock.now().getTime() + 3 * 86_400_000);
  expect((await maintainExports({ now, deps: later })).outlived).toEqual([]);
  expect((deps.exportBlobs as unknown as InMemoryExportBlobs).blobs.has(`${TENANT}/${done.blobName}`)).toBe(true);
});
