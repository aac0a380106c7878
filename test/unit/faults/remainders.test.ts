/**
 * The remainders of the morning's fixes: each case failed before its fix.
 */
import { Readable } from 'node:stream';
import { REVOCATION_KEPT_FROM_AUDIT, restoreRevocations, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { EXPORT_STALLED, maintainExports } from '../../../shared/exports/maintain-exports';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import { exportBlobName, type ExportJob } from '../../../shared/kernel/export';
import type { Principal } from '../../../shared/kernel/principal';
import { StaticSecretSource } from '../../../shared/adapters/azure/secrets';
import { buildDeps } from '../../../shared/app';
import { loadConfig, SAFEGUARDS_UNSET } from '../../../shared/config';
import { readiness } from '../../../shared/health/readiness';
import { minimalAzureEnv, minimalLocalEnv } from '../../support/config-env';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryExportBlobs, ListingCatalog, RecordingLogger } from '../../support/in-memory';
import { mint, send, settle, TENANT, world } from '../../support/in-process';
import { seedMany } from '../../support/seed';

const keyIdOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;

describe('revocations kept from their audit entry: every revoked key is visited, a page per run', () => {
  // Broke: each reconciler run looked at the tenant's newest 200 revoked keys (and grants) only, so a revoked, unexpired
  // key older than those, whose blob write had failed, was never kept and a restore of Cosmos DB had it act again.
  it('five keys whose revocation blob failed, two a run: three runs keep them all, a fourth keeps nothing twice', async () => {
    const w = world();
    await w.deps.blobs.prepareTenant(TENANT);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(keyIdOf(await mint(w, 'alice', 'auditor')));
      w.clock.advance(1000);
    }
    const putCreateOnly = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = () => Promise.reject(new Error('storage down'));
    for (const id of ids) expect((await send(w, { method: 'DELETE', path: `api-keys/${id}`, as: 'bob' })).status).toBe(500);
    w.deps.blobs.putCreateOnly = putCreateOnly;
    await settle(w);
    const keptNow = () => ids.filter((id) => w.deps.blobs.blobs.has(`${TENANT}/${revocationBlobName('api-key', id)}`)).length;
    const counts: number[] = [];
    for (let run = 0; run < 4; run++) {
      await restoreRevocations(w.clock.now(), w.deps, { revokedPerRun: 2 });
      counts.push(keptNow());
    }
    expect(counts).toEqual([2, 4, 5, 5]);
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === REVOCATION_KEPT_FROM_AUDIT).length).toBe(5);
  });
});

describe("an export whose attempts are no count is failed as stalled, never run again", () => {
  // Broke: `attempts` as text, missing or NaN (a writer of Cosmos DB) never reached ARCHIVE_EXPORT_MAX_ATTEMPTS
  // (`NaN >= 3` is false): maintenance restarted the job on every run until it expired, each attempt named from
  // `attempts + 1` (`'two1'`); a count far past any cap had its expiry delete that many blob names, one by one.
  const cases: { stored: string; attempts: unknown }[] = [
    { stored: 'text', attempts: 'two' },
    { stored: 'missing', attempts: undefined },
    { stored: 'NaN', attempts: NaN },
    { stored: 'null', attempts: null },
    { stored: 'negative', attempts: -40 },
    { stored: 'a fraction', attempts: 1.5 },
    { stored: 'past any cap', attempts: 1e6 },
  ];
  it.each(cases)('$stored', async ({ attempts }) => {
    const clock = new FakeClock('2025-03-01T12:00:00Z');
    const deps = { ...inMemoryDeps(), catalog: new ListingCatalog(), clock };
    await seedMany(deps, 'acme', [{ metadata: { documentDate: '2024-01-01', kind: 'invoice' as const, reference: 'INV-1' } }]);
    const principal = { tenantId: 'acme', subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
    const { job } = await startExport(principal, { fiscalYear: 2024, includeOriginals: false }, 'req-1', deps);
    const live = (await deps.exportJobs.getVersioned('acme', job.id))!;
    const edited = { ...live.item, attempts } as unknown as ExportJob;
    expect(await deps.exportJobs.replace(edited, live.etag)).not.toBe('conflict');
    // An earlier attempt's ZIP, left by a worker that stopped.
    await deps.exportBlobs.upload('acme', exportBlobName(job.id, 2), Readable.from([Buffer.from('zip')]));
    // Not run: a worker asked to run it (the queue) claims nothing.
    await runExport('acme', job.id, deps);
    expect((await deps.exportJobs.get('acme', job.id))!).toMatchObject({ status: 'running', heartbeatAt: job.heartbeatAt });
    clock.advance((deps.config.ARCHIVE_EXPORT_STALE_SECONDS + 1) * 1000);
    expect(await maintainExports({ now: clock.now(), deps })).toMatchObject({ restarted: [], stalled: [job.id] });
    const failed = (await deps.exportJobs.get('acme', job.id))!;
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatch(/^export_stalled: .*stopped an unknown number of times/);
    expect(deps.audit.entries.at(-1)).toMatchObject({ action: 'export.failed', detail: 'attempts=unknown' });
    expect((deps.exportBlobs as InMemoryExportBlobs).blobs.has(`acme/${exportBlobName(job.id, 2)}`)).toBe(false);
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === EXPORT_STALLED)).toHaveLength(1);
  });
});

describe('settings a production archive needs, unset, are named by the health report and once at startup', () => {
  // Broke: without ARCHIVE_KEYS_SEALED=true a key from before the seal acted until the reconciler marked the store (a
  // mark a writer of Cosmos DB can delete), and without ARCHIVE_APPROVALS_SEALED_SINCE an unsealed disposal approval
  // stood on its audit entry however late it was given; nothing said so. The local host is not production: none named.
  const sealed = { ARCHIVE_KEYS_SEALED: 'true', ARCHIVE_SIGHTINGS_SEALED: 'true', ARCHIVE_APPROVALS_SEALED_SINCE: '2025-01-07T05:12:13Z' };
  const cases: { where: string; env: NodeJS.ProcessEnv; unset: string[] }[] = [
    { where: 'Azure, neither set', env: minimalAzureEnv, unset: ['ARCHIVE_KEYS_SEALED', 'ARCHIVE_SIGHTINGS_SEALED', 'ARCHIVE_APPROVALS_SEALED_SINCE'] },
    { where: 'Azure, keys sealed false', env: { ...minimalAzureEnv, ...sealed, ARCHIVE_KEYS_SEALED: 'false' }, unset: ['ARCHIVE_KEYS_SEALED'] },
    { where: 'Azure, sign-in records sealed false', env: { ...minimalAzureEnv, ...sealed, ARCHIVE_SIGHTINGS_SEALED: 'false' }, unset: ['ARCHIVE_SIGHTINGS_SEALED'] },
    { where: 'Azure, no approvals since', env: { ...minimalAzureEnv, ARCHIVE_KEYS_SEALED: 'true', ARCHIVE_SIGHTINGS_SEALED: 'true' }, unset: ['ARCHIVE_APPROVALS_SEALED_SINCE'] },
    { where: 'Azure, both set', env: { ...minimalAzureEnv, ...sealed }, unset: [] },
    // A time still ahead enforces nothing yet: named as unset (a year's slip read as set).
    { where: 'Azure, approvals sealed since a time ahead', env: { ...minimalAzureEnv, ...sealed, ARCHIVE_APPROVALS_SEALED_SINCE: '2999-01-01T00:00:00Z' }, unset: ['ARCHIVE_APPROVALS_SEALED_SINCE'] },
    { where: 'Azure, chain keyed since a month ahead', env: { ...minimalAzureEnv, ...sealed, AUDIT_CHAIN_KEYED_SINCE: '2999-01' }, unset: ['AUDIT_CHAIN_KEYED_SINCE'] },
    { where: 'the local host, neither set', env: minimalLocalEnv, unset: [] },
  ];
  it.each(cases)('$where', async ({ env, unset }) => {
    const config = loadConfig(env);
    const deps = inMemoryDeps();
    deps.config = { ...deps.config, runtime: config.runtime, ARCHIVE_KEYS_SEALED: config.ARCHIVE_KEYS_SEALED, ARCHIVE_SIGHTINGS_SEALED: config.ARCHIVE_SIGHTINGS_SEALED, ARCHIVE_APPROVALS_SEALED_SINCE: config.ARCHIVE_APPROVALS_SEALED_SINCE, AUDIT_CHAIN_KEYED_SINCE: config.AUDIT_CHAIN_KEYED_SINCE };
    expect(await readiness(deps)).toMatchObject({ status: 'ready', unsetSettings: unset });
    if (config.runtime !== 'azure') return; // the local host's start needs its emulators
    const log = new RecordingLogger();
    const regions = { storageRegion: async () => 'northeurope', cosmosRegions: async () => ['North Europe'], storageVersionLevelWorm: async () => true };
    await buildDeps(config, { log, regions, secrets: new StaticSecretSource({ 'api-key-pepper': 'p'.repeat(36), 'audit-chain-key': 'ab'.repeat(32), 'validator-outcome-key': 'cd'.repeat(32) }) });
    const warned = log.lines.filter((l) => l.message === SAFEGUARDS_UNSET);
    expect(warned.map((l) => l.fields)).toEqual(unset.length ? [{ settings: unset }] : []);
  });
});
