/**
 * The archive's seal (kernel/archive-seal.ts) and the readers of what it seals, attacked by whoever can write a
 * tenant's blob container but holds no rights in the tenant (a storage role). Over the in-memory ports, staged as
 * fresh-attacks.test.ts and planted-documents.test.ts stage theirs; what those test is not repeated. Each case marked
 * "Broke" fails without its fix.
 */
import { Readable } from 'node:stream';
import type { TokenCredential } from '@azure/identity';
import { SecretChainKeyring } from '../../../shared/adapters/azure/chain-keys';
import { KeyVaultSecretSource } from '../../../shared/adapters/azure/secrets';
import { AUDIT_CHAIN_BEHIND_SEAL, AUDIT_SEAL_UNSEALED, sealBlobName, sealPartition, verifyAuditMonth } from '../../../shared/audit/seal';
import { ingestDocument } from '../../../shared/documents/ingest';
import { endReached, readInstant } from '../../../shared/kernel/instant';
import { keptManifestOf, MANIFEST_UNSEALED, manifestByArchive } from '../../../shared/documents/manifest';
import { idFromIdempotencyKey } from '../../../shared/ids';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { Permission, Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { restorePoint } from '../../support/restore-point';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { type RightsAssignmentRecord, rightsAssignmentRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { PERMISSIONS } from '../../../shared/kernel/principal';
import type { FakeClock } from '../../support/fake-clock';

const T = 'acme';
const OTHER = 'globex';
const clerk = (tenantId: string, subject: string): Principal => ({ tenantId, subject, kind: 'user', person: subject, rightsSet: 'clerk', permissions: new Set<Permission>(['documents:read', 'documents:write']) });
const scan = (n: number) => [{ bytes: Buffer.from([n, n, n]), fileName: 'scan.png' }];

const lines = (deps: InMemoryDeps, message: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const plant = (deps: InMemoryDeps, tenantId: string, name: string, body: Buffer | object) =>
  deps.blobs.putCreateOnly(tenantId, name, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), 'application/json', { retainUntil: null, legalHold: false }, {});
const entry = (deps: InMemoryDeps, requestId: string) =>
  deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId, clientIp: null, userAgent: null });

describe('the audit seals, against a storage role (seal.ts sealPartition)', () => {
  // Broke: the run read the 16 newest names of the month's seal folder, stopping at the first sealed one. Seventeen
  // unsealed "seals" planted ahead of the chain filled them: none sealed among those read, each counted as from before
  // seals were sealed, and the run raised 'audit chain behind its seal' (falsely) and sealed nothing of the month, every
  // run, logging none of them. It now reads up to 16 above the chain's end and up to 16 at or below it.
  it('seventeen unsealed "seals" planted ahead of the chain neither stop the month being sealed nor raise the chain-behind alert', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    for (const id of ['r1', 'r2']) await entry(deps, id);
    const month = deps.clock.now().toISOString().slice(0, 7);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(2);
    const ahead = Array.from({ length: 17 }, (_, i) => 999_999_999_000 + i);
    for (const seq of ahead) await plant(deps, T, sealBlobName(month, seq), { partition: `${T}:${month}`, seq, hash: 'x', sealedAt: deps.clock.now().toISOString() });
    await entry(deps, 'r3');
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(3);
    expect(lines(deps, AUDIT_CHAIN_BEHIND_SEAL)).toEqual([]);
    expect(lines(deps, AUDIT_SEAL_UNSEALED).length).toBeGreaterThan(0);
  });

  // Broke: plants under every other number ahead of the chain: once it grew 32 past the archive's last seal between two
  // runs, the run's reads at or below its end held only plants, each counted as from before seals were sealed: the
  // chain-behind alert raised falsely and nothing sealed, every run. An unsealed seal now counts only where it fixes the
  // hash the chain holds at its number, which a storage role cannot know before a seal names it.
  it('plants under every other number ahead, passed by the chain between two runs, count for nothing', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    for (const id of ['r1', 'r2']) await entry(deps, id);
    const month = deps.clock.now().toISOString().slice(0, 7);
    await sealPartition(T, month, deps.clock.now(), deps);
    for (let seq = 4; seq <= 80; seq += 2) await plant(deps, T, sealBlobName(month, seq), { partition: `${T}:${month}`, seq, hash: 'x', sealedAt: deps.clock.now().toISOString() });
    for (let i = 3; i <= 41; i++) await entry(deps, `r${i}`);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(41);
    expect(lines(deps, AUDIT_CHAIN_BEHIND_SEAL)).toEqual([]);
    expect(lines(deps, AUDIT_SEAL_UNSEALED)).toHaveLength(32);
  });

  it('a seal from before seals were sealed still counts where it fixes the chain; one ahead of it is alerted, not counted', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    for (const id of ['r1', 'r2']) await entry(deps, id);
    const month = deps.clock.now().toISOString().slice(0, 7);
    const legacy = async (seq: number, hash: string) => plant(deps, T, sealBlobName(month, seq), { partition: `${T}:${month}`, seq, hash, sealedAt: deps.clock.now().toISOString() });
    await legacy(2, (await deps.audit.end(T, month)).hash);
    await entry(deps, 'r3');
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(3);
    expect([lines(deps, AUDIT_CHAIN_BEHIND_SEAL), lines(deps, AUDIT_SEAL_UNSEALED)]).toEqual([[], []]);
    // A month sealed only before seals were sealed, its chain since cut below its last seal: alerted as a seal the archive
    // did not seal (it cannot be told from one planted), and what the chain holds is sealed.
    const other = inMemoryDeps();
    other.audit.chained = true;
    const cut = async (n: number) => other.audit.append({ tenantId: T, at: other.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `c${n}`, clientIp: null, userAgent: null });
    await cut(1);
    await plant(other, T, sealBlobName(month, 5), { partition: `${T}:${month}`, seq: 5, hash: 'h5', sealedAt: other.clock.now().toISOString() });
    expect((await sealPartition(T, month, other.clock.now(), other))?.seq).toBe(1);
    expect(lines(other, AUDIT_SEAL_UNSEALED).map((l) => l.fields?.reason)).toEqual(['no seal of the archive, ahead of the chain']);
  });

  // Broke: a name under the number the chain had reached was taken as the month sealed there, unread: blobs planted
  // under the numbers ahead of the chain stopped its sealing, each run, with nothing logged. In the months a chain grows
  // in, that blob is now read (one small read) and, not the archive's seal of that end, logged.
  it('blobs planted under the numbers the chain will reach do not stop its sealing unseen', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    for (const id of ['r1', 'r2']) await entry(deps, id);
    const month = deps.clock.now().toISOString().slice(0, 7);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(2);
    for (let seq = 3; seq <= 40; seq++) await plant(deps, T, sealBlobName(month, seq), { partition: `${T}:${month}`, seq, hash: 'x', sealedAt: deps.clock.now().toISOString() });
    await entry(deps, 'r3');
    const sealed = await sealPartition(T, month, deps.clock.now(), deps);
    // Either the month is sealed (it cannot be under a planted name) or the run says why it was not.
    expect(sealed === null ? lines(deps, AUDIT_SEAL_UNSEALED).length : 1).toBeGreaterThan(0);
  });
});

describe('a sealed manifest copied into another folder by a storage role (manifest.ts manifestByArchive)', () => {
  // Broke: the seal covers the document, not the blob's name. Another tenant's sealed manifest of the same scan, copied
  // under the id Anna's Idempotency-Key predicts, was adopted as an earlier attempt's: her upload was answered 201
  // replayed with globex's document (its id, creator, retention) and nothing was archived in acme.
  it("another tenant's manifest of the same scan, copied under the id an Idempotency-Key predicts, is never adopted", async () => {
    const deps = inMemoryDeps();
    const KEY = 'INV-2025-0042';
    const { document: theirs } = await ingestDocument({ principal: clerk(OTHER, 'olaf'), files: scan(1), metadata: {}, idempotencyKey: 'theirs' }, deps);
    const predicted = idFromIdempotencyKey(T, 'anna', KEY);
    const copied = await deps.blobs.readAll(OTHER, blobLayout.manifest(theirs.id));
    await deps.blobs.prepareTenant(T);
    await plant(deps, T, blobLayout.manifest(predicted), copied);
    const answer = ingestDocument({ principal: clerk(T, 'anna'), files: scan(1), metadata: {}, idempotencyKey: KEY }, deps);
    await expect(answer).rejects.toMatchObject({ code: 'idempotency_key_reused' });
    expect(deps.catalog.documents.get(`${T}/${theirs.id}`)).toBeUndefined();
    expect(lines(deps, MANIFEST_UNSEALED).map((l) => l.fields?.blob)).toEqual([blobLayout.manifest(predicted)]);
  });
});

describe('a manifest of another shape than the archive writes (manifest.ts manifestByArchive)', () => {
  // No break: each is "mac does not match" or, without a seal, needs its ingest's entry in the month of its creation or the next.
  it('a mac that is no text, a keyVersion that is an object or another version, and the audit witness across a month boundary', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
    const { document } = await ingestDocument({ principal: clerk(T, 'anna'), files: scan(1), metadata: {}, idempotencyKey: 'shape' }, deps);
    const name = blobLayout.manifest(document.id);
    const stored = JSON.parse((await deps.blobs.readAll(T, name)).toString('utf8')) as Record<string, unknown>;
    const judged = (shape: Record<string, unknown>) => manifestByArchive(T, name, keptManifestOf(Buffer.from(JSON.stringify(shape)), null, name), deps);
    expect(await judged(stored)).toBe(true);
    for (const forged of [{ mac: 1 }, { mac: null }, { mac: [stored.mac] }, { keyVersion: {} }, { keyVersion: 'v0' }, { documentType: 'receipt' }]) expect([forged, await judged({ ...stored, ...forged })]).toEqual([forged, false]);
    // From before the seal: its ingest's entry, appended just past the month's end, witnesses it; one two months on does not.
    const { mac: _m, keyVersion: _k, ...legacy } = stored;
    const late = { ...legacy, id: 'e0f69316-f782-83ad-abc4-d1e8d43430cc', createdAt: '2025-01-31T23:59:59.999Z' };
    const lateName = blobLayout.manifest(late.id);
    const judgedLate = () => manifestByArchive(T, lateName, keptManifestOf(Buffer.from(JSON.stringify(late)), null, lateName), deps);
    const ingestEntry = (at: string) => deps.audit.append({ tenantId: T, at, actor: { subject: 'anna', kind: 'user' }, action: 'document.ingest', target: late.id, outcome: 'success', status: 201, requestId: at, clientIp: null, userAgent: null });
    await ingestEntry('2025-03-01T00:00:00.000Z');
    expect(await judgedLate()).toBe(false);
    await ingestEntry('2025-02-01T00:00:00.001Z');
    expect(await judgedLate()).toBe(true);
  });
});

describe("a month's verification against a storage role (seal.ts readSeals)", () => {
  // Broke: verification read every blob of the seal folder at once (Promise.all), each up to 4 MiB: a storage role's few
  // hundred 4 MiB blobs there took the instance's memory on a request's path (GET /audit/verify). Now 8 at a time, and a
  // seal blob is read to 16 KiB at most.
  it('reads the seal folder a few blobs at a time, and no more of each than a seal can be', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    for (const id of ['r1', 'r2']) await entry(deps, id);
    const month = deps.clock.now().toISOString().slice(0, 7);
    await sealPartition(T, month, deps.clock.now(), deps);
    for (let i = 0; i < 200; i++) await plant(deps, T, sealBlobName(month, 1_000 + i), Buffer.alloc(64 * 1024, 0x20));
    let open = 0;
    let most = 0;
    let bytes = 0;
    const readIfExists = deps.blobs.readIfExists.bind(deps.blobs);
    deps.blobs.readIfExists = async (tenantId: string, name: string) => {
      const read = await readIfExists(tenantId, name);
      if (!read) return read;
      most = Math.max(most, ++open);
      // Counted as read: the bytes the reader pulls (lazily), and the reads open until each stream closes.
      const counted = Readable.from((async function* () {
        for await (const c of read.stream) yield ((bytes += (c as Buffer).length), c as Buffer);
      })());
      counted.on('close', () => open--);
      await new Promise((r) => setImmediate(r));
      return { ...read, stream: counted };
    };
    const report = await verifyAuditMonth(T, month, deps);
    expect(report.seals).toBe(1);
    expect(most).toBeLessThanOrEqual(16);
    expect(bytes).toBeLessThan(200 * 64 * 1024);
  });
});

describe('stored instants read on the safe side (kernel/instant.ts readInstant)', () => {
  // Broke: Date rolled a day past its month's end into the next: a stored expiresAt of 2026-02-31 (a hand edit, a
  // restore of an older form) was read as 3 March, while every store compares the text (before 1 March).
  it('a date the calendar does not have is no instant: an end of 2026-02-31 has come', () => {
    for (const v of ['2026-02-29T00:00:00.000Z', '2026-02-31T00:00:00.000Z', '2026-04-31', '2026-13-01T00:00:00.000Z', '2026-00-10T00:00:00.000Z', '2026-01-00T00:00:00.000Z']) expect([v, readInstant(v)]).toEqual([v, null]);
    for (const v of ['2026-12-31T23:59:60Z', '+002026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000z', '2026-01-01T00:00']) expect([v, readInstant(v)]).toEqual([v, null]);
    expect(readInstant('2024-02-29T00:00:00.000Z')).toBe(Date.UTC(2024, 1, 29));
    expect(readInstant('2026-01-01T00:30+01:00')).toBe(Date.UTC(2025, 11, 31, 23, 30));
    expect(endReached('2026-02-31T00:00:00.000Z', new Date('2026-03-01T12:00:00.000Z'))).toBe(true);
  });
});

describe('the chain keyring while Key Vault cannot be reached (secrets.ts versionsOf)', () => {
  /** Key Vault as the SDK answers for the chain key's versions, out of reach once `down`; counts its round trips. */
  class Vault {
    calls = 0;
    down = false;
    readonly versions = [{ version: 'v1', value: '1'.repeat(64), createdOn: new Date('2026-03-01T09:00:00Z'), enabled: true }];
    private answer() {
      this.calls++;
      if (this.down) throw Object.assign(new Error('ServiceUnavailable'), { statusCode: 503 });
    }
    async getSecret(name: string, opts: { version?: string } = {}) {
      this.answer();
      const v = this.versions.find((x) => x.version === (opts.version ?? 'v1'))!;
      return { name, value: v.value, properties: { name, version: v.version, createdOn: v.createdOn, enabled: true } };
    }
    listPropertiesOfSecretVersions(name: string) {
      const answer = () => this.answer();
      const list = this.versions.map((v) => ({ name, version: v.version, createdOn: v.createdOn, enabled: v.enabled }));
      return (async function* () {
        answer();
        yield* list;
      })();
    }
  }

  // Broke: the versions were listed again every 5 minutes and a failed listing was not kept: with Key Vault out of reach
  // (or throttling) past the 5 minutes, every audited request, every seal and every kept blob asked the vault again and
  // failed 503 (the key read once and cached before rotation existed). The last listing now serves until the vault
  // answers, asked again at most every 30 seconds.
  it('keys with the last versions it listed, and asks the vault at most every 30 seconds, not once per request', async () => {
    let now = Date.parse('2026-03-01T10:00:00Z');
    const vault = new Vault();
    const source = new KeyVaultSecretSource('https://archive-kv.vault.azure.net', {} as TokenCredential, () => now);
    (source as unknown as { client: Vault }).client = vault;
    const keys = new SecretChainKeyring(source, 'audit-chain-key', () => now);
    expect((await keys.current()).version).toBe('v1');
    vault.down = true;
    now += 6 * 60_000;
    const before = vault.calls;
    for (let i = 0; i < 50; i++) {
      expect((await keys.current()).version).toBe('v1');
      expect((await keys.version('v1')).version).toBe('v1');
      now += 100;
    }
    expect(vault.calls - before).toBeLessThanOrEqual(1);
    now += 30_000;
    await keys.current();
    expect(vault.calls - before).toBeLessThanOrEqual(2);
    vault.down = false;
    vault.versions.push({ version: 'v2', value: '2'.repeat(64), createdOn: new Date(now), enabled: true });
    now += 30_000;
    expect((await keys.current()).version).toBe('v2');
  });
});

describe('a removal sent again (unassign-rights-set.ts), against someone who can write Cosmos DB', () => {
  const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
  const assignmentOf = async (deps: InMemoryDeps) => (await deps.tenantRecords.get<RightsAssignmentRecord>(T, rightsAssignmentRecordId('ian'), 'rights-assignment'))?.value.rightsSet;

  // Broke: a removal sent again (404) sealed and kept whatever removal trace Cosmos DB held (0af4e2d). Whoever can write
  // Cosmos DB (not Key Vault) deleted Ian's assignment and left a trace of their own far ahead of any revision the
  // archive gives; the next removal sent sealed it, and after the operator restored Cosmos DB to before the tamper the
  // reconciler removed the assignment again (and any made since, while the blob is kept). Kept now only with the
  // removal's audit entry, at a revision the archive could have given.
  it('does not seal a removal trace the archive did not write: restored past the tamper, the assignment stays', async () => {
    const deps = inMemoryDeps();
    await putRightsSet(alice, 'clerk', ['documents:read', 'documents:write'], deps.clock.now(), deps);
    await assignRightsSet(alice, 'ian', 'clerk', deps.clock.now(), deps);
    (deps.clock as FakeClock).advance(60_000);
    const restore = restorePoint(deps);
    // Someone who can write Cosmos DB (no Key Vault) deletes Ian's assignment and leaves a removal's trace of their own,
    // under a revision far ahead of any the archive gives.
    await deps.tenantRecords.delete(T, rightsAssignmentRecordId('ian'));
    const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId('ian'), tenantId: T, type: 'rights-unassignment', subject: 'ian', unassignedAt: deps.clock.now().toISOString(), unassignedBy: { subject: 'mallory', kind: 'user', person: 'mallory' }, revision: 9_000_000_000_000_000 };
    await deps.tenantRecords.upsert(trace);
    // A rights manager, seeing Ian still listed somewhere, removes him: not found.
    await expect(unassignRightsSet(alice, 'ian', deps.clock.now(), deps)).rejects.toMatchObject({ code: 'rights_assignment_not_found' });
    // The operator restores Cosmos DB to before the tamper; the reconciler runs.
    restore();
    await runReconcileTimer(deps);
    expect(await assignmentOf(deps)).toBe('clerk');
  });
});
