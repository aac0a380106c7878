/**
 * The audit chain key rotated (README *Rotate the audit chain key*): a key leaked (a Key Vault export, a log line, a
 * departed admin) must stop being able to forge once a new version is added in Key Vault. Each case fails without its
 * fix: entries named no version, so a new one made every entry of the old "changed", and nothing stopped the old key.
 */
import { createHmac } from 'node:crypto';
import type { TokenCredential } from '@azure/identity';
import type { Container } from '@azure/cosmos';
import { assertUsableSecrets, KeyVaultSecretSource, StaticSecretSource } from '../../../shared/adapters/azure/secrets';
import { SecretChainKeyring } from '../../../shared/adapters/azure/chain-keys';
import { AuditLog } from '../../../shared/adapters/azure/audit-log';
import { readSeals, sealPartition, verifyAuditMonth } from '../../../shared/audit/seal';
import { canonicalJson, CHAIN_KEY_PICKUP_MS, hashEntry } from '../../../shared/kernel/audit-chain';
import type { AuditEntry, AuditInput } from '../../../shared/kernel/audit';
import { inMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import { loadOrCreateAuditChainKey } from '../../../local/audit-chain-key';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { keepSetting, restoreSettings, settingBlobName, SETTING_UNSEALED, type StoredSetting } from '../../../shared/auth/rights-sets/settings-blobs';
import { type RightsAssignmentRecord, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { CORRECTION_UNSEALED } from '../../../shared/documents/correction-blobs';
import { correctMetadata } from '../../../shared/documents/correct-metadata';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { seedDocument } from '../../support/seed';

const NAME = 'audit-chain-key';
const T = 'acme';
const MONTH = '2026-03';
const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T09:00:00Z');
let nowMs = START;
beforeEach(() => {
  nowMs = START;
});

/** Key Vault's versions of the chain key, as the SDK's SecretClient answers for them; counts its round trips. */
class FakeVault {
  readonly versions: { version: string; value: string; createdOn: Date; enabled: boolean }[] = [];
  calls = 0;
  rotate(): string {
    const version = `v${this.versions.length + 1}`;
    this.versions.push({ version, value: String(this.versions.length + 1).repeat(64), createdOn: new Date(nowMs), enabled: true });
    return version;
  }
  disable(version: string): void {
    this.versions.find((v) => v.version === version)!.enabled = false;
  }
  async getSecret(name: string, opts: { version?: string } = {}) {
    this.calls++;
    const found = opts.version ? this.versions.find((v) => v.version === opts.version) : this.versions.at(-1);
    if (!found) throw Object.assign(new Error(`SecretNotFound: ${name}`), { statusCode: 404 });
    if (!found.enabled) throw Object.assign(new Error(`Forbidden: ${name} ${found.version} is disabled`), { statusCode: 403 });
    return { name, value: found.value, properties: { name, version: found.version, createdOn: found.createdOn, enabled: found.enabled } };
  }
  listPropertiesOfSecretVersions(name: string) {
    this.calls++;
    const list = this.versions.map((v) => ({ name, version: v.version, createdOn: v.createdOn, enabled: v.enabled }));
    return (async function* () {
      yield* list;
    })();
  }
}

/** One app instance's keyring, reading the vault from the time it starts. */
function keyring(vault: FakeVault): SecretChainKeyring {
  const source = new KeyVaultSecretSource('https://archive-kv.vault.azure.net', {} as TokenCredential, () => nowMs);
  (source as unknown as { client: FakeVault }).client = vault;
  return new SecretChainKeyring(source, NAME, () => nowMs);
}

const input = (n: number, at = nowMs): AuditInput => ({ tenantId: T, at: new Date(at).toISOString().replace(/^\d{4}-\d{2}/, MONTH), actor: { subject: 'ann', kind: 'user' }, action: 'document.read', target: `doc-${n}`, outcome: 'success', status: 200, requestId: `r${n}`, clientIp: null, userAgent: null });

/** In-memory ports whose audit log chains with the vault's keys, each entry stored with `_ts` (the database's time). */
function archive(vault: FakeVault) {
  const deps = inMemoryDeps();
  deps.audit.chained = true;
  deps.audit.chainKeys = keyring(vault);
  const append = deps.audit.appendBatch.bind(deps.audit);
  deps.audit.appendBatch = async (inputs, opts) => {
    const written = await append(inputs, opts);
    for (const e of written) (e as AuditEntry & { _ts?: number })._ts = Math.floor(nowMs / 1000);
    return written;
  };
  return deps;
}

/** `archive`, whose blobs storage creates "now" (the test's clock): what tells a blob sealed under a superseded key. */
function archiveStoringCreation(vault: FakeVault) {
  const d = archive(vault);
  const blobs = d.blobs as unknown as { blobs: Map<string, { lastModified?: string }> };
  const put = d.blobs.putCreateOnly.bind(d.blobs);
  d.blobs.putCreateOnly = async (tenantId, name, ...rest) => {
    const out = await put(tenantId, name, ...rest);
    blobs.blobs.get(`${tenantId}/${name}`)!.lastModified = new Date(nowMs).toISOString();
    return out;
  };
  return d;
}

const verify = (deps: ReturnType<typeof archive>) => verifyAuditMonth(T, MONTH, deps);

describe('rotating the audit chain key', () => {
  it('a month that crosses a rotation verifies end to end; entries name the version they were keyed with', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    for (let n = 1; n <= 3; n++) await deps.audit.append(input(n));
    nowMs += HOUR;
    vault.rotate();
    nowMs += 6 * 60_000; // past the instance's 5-minute pickup
    for (let n = 4; n <= 6; n++) await deps.audit.append(input(n));
    expect(deps.audit.entries.map((e) => e.keyVersion)).toEqual(['v1', 'v1', 'v1', 'v2', 'v2', 'v2']);
    await expect(verify(deps)).resolves.toMatchObject({ ok: true, entries: 6, problems: [] });
  });

  it('entries from before versions were named are checked with the first version, also after a rotation', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    for (let n = 1; n <= 2; n++) await deps.audit.append(input(n));
    // Written before entries named their version: the same content, no keyVersion, keyed with v1.
    for (const e of deps.audit.entries) {
      delete e.keyVersion;
      e.hash = hashEntry({ ...e, prevHash: e.seq === 1 ? e.prevHash : deps.audit.entries[e.seq - 2]!.hash }, Buffer.from(vault.versions[0]!.value, 'hex'));
      if (e.seq > 1) e.prevHash = deps.audit.entries[e.seq - 2]!.hash;
    }
    vault.rotate();
    nowMs += 6 * 60_000;
    await deps.audit.append(input(3));
    await expect(verify(deps)).resolves.toMatchObject({ ok: true, problems: [] });
  });

  it('an entry keyed with the old version after one keyed with the new is reported: the leaked key cannot chain on', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    await deps.audit.append(input(1));
    nowMs += HOUR;
    vault.rotate();
    nowMs += 6 * 60_000;
    await deps.audit.append(input(2));
    // The attacker holds v1 and can write Cosmos DB: entry 3, chained on, keyed with v1.
    const last = deps.audit.entries.at(-1)!;
    const body: Omit<AuditEntry, 'hash'> = { ...input(3), id: '000000000003', partition: `${T}:${MONTH}`, seq: 3, prevHash: last.hash, alg: 'hmac-sha256', keyVersion: 'v1' };
    deps.audit.entries.push({ ...body, hash: hashEntry(body, Buffer.from(vault.versions[0]!.value, 'hex')) });
    const report = await verify(deps);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([{ kind: 'older-key', seq: 3, id: '000000000003', keyVersion: 'v1', detail: 'after-a-newer-key-version' }]);
  });

  it('an entry from before the rotation rewritten with the old key after it is reported (the database stored it after v1 was superseded)', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    for (let n = 1; n <= 3; n++) await deps.audit.append(input(n));
    nowMs += HOUR;
    vault.rotate();
    nowMs += HOUR;
    // The month is not sealed: the attacker re-chains it from entry 2 on with v1, every link sound, no newer entry after.
    const old = Buffer.from(vault.versions[0]!.value, 'hex');
    for (let seq = 2; seq <= 3; seq++) {
      const e = deps.audit.entries[seq - 1]! as AuditEntry & { _ts?: number };
      const rewritten: AuditEntry & { _ts?: number } = { ...e, target: 'doc-hidden', prevHash: deps.audit.entries[seq - 2]!.hash, _ts: Math.floor(nowMs / 1000) };
      rewritten.hash = hashEntry(rewritten, old);
      deps.audit.entries[seq - 1] = rewritten;
    }
    const report = await verify(deps);
    expect(report.problems).toEqual([
      { kind: 'older-key', seq: 2, id: '000000000002', keyVersion: 'v1', detail: 'written-after-its-key-was-superseded' },
      { kind: 'older-key', seq: 3, id: '000000000003', keyVersion: 'v1', detail: 'written-after-its-key-was-superseded' },
    ]);
    // Within the pickup an instance may still key with v1: not reported.
    for (const e of deps.audit.entries as (AuditEntry & { _ts?: number })[]) e._ts = Math.floor((vault.versions[1]!.createdOn.getTime() + CHAIN_KEY_PICKUP_MS - 1000) / 1000);
    await expect(verify(deps)).resolves.toMatchObject({ ok: true });
  });

  it('seals name the version current when they were written; a month sealed on both sides of the rotation verifies', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    for (let n = 1; n <= 2; n++) await deps.audit.append(input(n));
    await sealPartition(T, MONTH, new Date(nowMs), deps);
    nowMs += HOUR;
    vault.rotate();
    nowMs += 6 * 60_000;
    await deps.audit.append(input(3));
    await sealPartition(T, MONTH, new Date(nowMs), deps);
    const { seals } = await readSeals(T, MONTH, deps);
    expect(seals.map((x) => [x.seq, x.keyVersion])).toEqual([[2, 'v1'], [3, 'v2']]);
    await expect(verify(deps)).resolves.toMatchObject({ ok: true, seals: 2, sealedSeq: 3 });
  });

  it('entries planted naming made-up versions are "key unavailable", and cost Key Vault at most one listing', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    await deps.audit.append(input(1));
    await verify(deps);
    const before = vault.calls;
    let prev = deps.audit.entries[0]!;
    for (let seq = 2; seq <= 41; seq++) {
      const body: Omit<AuditEntry, 'hash'> = { ...input(seq), id: String(seq).padStart(12, '0'), partition: `${T}:${MONTH}`, seq, prevHash: prev.hash, alg: 'hmac-sha256', keyVersion: `made-up-${seq}` };
      prev = { ...body, hash: 'f'.repeat(64) };
      deps.audit.entries.push(prev);
    }
    const report = await verify(deps);
    expect(report.problemCounts).toEqual({ 'key-unavailable': 40 });
    expect(vault.calls - before).toBeLessThanOrEqual(1);
  });

  it('a version disabled in Key Vault: its entries are "key unavailable", neither changed nor accepted', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const deps = archive(vault);
    for (let n = 1; n <= 2; n++) await deps.audit.append(input(n));
    nowMs += HOUR;
    vault.rotate();
    nowMs += 6 * 60_000;
    await deps.audit.append(input(3));
    vault.disable('v1');
    nowMs += 6 * 60_000; // the listing is taken again
    const report = await verify(deps);
    expect(report.ok).toBe(false);
    expect(report.problems).toEqual([
      { kind: 'key-unavailable', seq: 1, id: '000000000001', keyVersion: 'v1' },
      { kind: 'key-unavailable', seq: 2, id: '000000000002', keyVersion: 'v1' },
    ]);
    expect(report.problemCounts).toEqual({ 'key-unavailable': 2 });
  });
});

/** Just enough of a Cosmos container for the appender: point reads, creates (409 on a taken id), batches of creates. */
function fakeContainer(): { container: Container; docs: Map<string, Record<string, unknown>>; creates: number } {
  const docs = new Map<string, Record<string, unknown>>();
  const state = { docs, creates: 0, container: undefined as unknown as Container };
  const create = (body: Record<string, unknown>) => {
    const id = String(body.id);
    if (docs.has(id)) throw Object.assign(new Error('Conflict'), { code: 409 });
    docs.set(id, { ...body, _ts: Math.floor(nowMs / 1000), _etag: `"${state.creates}"` });
    return { resource: body, etag: `"${state.creates}"` };
  };
  state.container = {
    item: (id: string) => ({
      read: async () => ({ resource: docs.get(id), etag: (docs.get(id)?._etag as string) ?? '' }),
      replace: async (body: Record<string, unknown>) => (docs.set(id, { ...body, _etag: '"r"' }), { resource: body, etag: '"r"' }),
    }),
    items: {
      create: async (body: Record<string, unknown>) => (state.creates++, create(body)),
      batch: async (ops: { resourceBody: Record<string, unknown> }[]) => {
        state.creates++;
        if (ops.some((o) => docs.has(String(o.resourceBody.id)))) return { result: ops.map(() => ({ statusCode: 409 })) };
        for (const o of ops) create(o.resourceBody);
        return { result: ops.map(() => ({ statusCode: 201 })) };
      },
    },
  } as unknown as Container;
  return state;
}

describe('the appender (AuditLog) and a rotation', () => {
  it('keys new entries with the new version within 5 minutes, with no round trip to Key Vault per request', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const entries = fakeContainer();
    const log = new AuditLog(entries.container, fakeContainer().container, keyring(vault));
    let n = 0;
    await log.append(input(++n)); // the listing and v1's value: read once
    const warm = vault.calls;
    for (let k = 0; k < 20; k++) await log.append(input(++n));
    expect(vault.calls).toBe(warm); // 20 appends, no vault round trip
    const rotatedAt = nowMs;
    vault.rotate();
    nowMs += 60_000;
    await log.append(input(++n)); // still v1: within the 5 minutes
    nowMs = rotatedAt + 5 * 60_000 + 1;
    await log.append(input(++n));
    const stored = [...entries.docs.values()].filter((d) => d.seq !== undefined) as unknown as AuditEntry[];
    expect(stored.map((e) => e.keyVersion).slice(-2)).toEqual(['v1', 'v2']);
    expect(vault.calls - warm).toBe(2); // one listing, one read of v2
    await log.flushHeads();
  });
});

describe('kept settings (settings-blobs.ts) and a rotation', () => {
  /** Mallory made tenant-admin: a setting blob as the archive writes one, MAC'd with `key` under `keyVersion`. */
  function planted(keyVersion: string, key: Buffer): { name: string; bytes: Buffer } {
    const recordId = rightsAssignmentRecordId('mallory');
    const revision = nowMs;
    const record: RightsAssignmentRecord = { id: recordId, tenantId: T, type: 'rights-assignment', subject: 'mallory', rightsSet: 'tenant-admin', assignedAt: new Date(nowMs).toISOString(), assignedBy: { subject: 'ann', kind: 'user' }, revision };
    const rest: Omit<StoredSetting, 'mac'> = { tenantId: T, recordId, type: 'rights-assignment', revision, at: new Date(nowMs).toISOString(), record, keyVersion };
    const mac = createHmac('sha256', key).update(`archive-setting\n${canonicalJson(rest)}`).digest('hex');
    return { name: settingBlobName(recordId, revision, false), bytes: Buffer.from(JSON.stringify({ ...rest, mac })) };
  }

  const deps = archiveStoringCreation;

  const restore = (d: ReturnType<typeof deps>) => restoreSettings(new Date(nowMs), d);
  const refusals = (d: ReturnType<typeof deps>) => (d.log as RecordingLogger).lines.filter((l) => l.message === SETTING_UNSEALED).map((l) => l.fields?.reason);

  it('a setting planted with the old key after the rotation is refused; one the archive kept before it is still restored', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const d = deps(vault);
    const old = Buffer.from(vault.versions[0]!.value, 'hex');
    // Kept before the rotation, under v1: sound.
    const before = planted('v1', old);
    await d.blobs.putCreateOnly(T, before.name, before.bytes, 'application/json', { retainUntil: null, legalHold: false }, {});
    await expect(restore(d)).resolves.toEqual([`${T}/${rightsAssignmentRecordId('mallory')}`]);

    nowMs += HOUR;
    vault.rotate();
    nowMs += HOUR;
    const forged = planted('v1', old);
    await d.blobs.putCreateOnly(T, forged.name, forged.bytes, 'application/json', { retainUntil: null, legalHold: false }, {});
    await expect(restore(d)).resolves.toEqual([]);
    expect(refusals(d)).toEqual(['superseded key']);
  });

  it('settings are kept under the current version, and one under a disabled version is refused as "key unavailable"', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const d = deps(vault);
    const recordId = rightsAssignmentRecordId('bob');
    const record = { id: recordId, tenantId: T, type: 'rights-assignment', subject: 'bob', rightsSet: 'tenant-admin', assignedAt: new Date(nowMs).toISOString(), assignedBy: { subject: 'ann', kind: 'user' }, revision: nowMs } as RightsAssignmentRecord;
    await keepSetting({ tenantId: T, recordId, type: 'rights-assignment', revision: nowMs, at: new Date(nowMs).toISOString(), record }, d);
    const kept = JSON.parse((await d.blobs.readAll(T, settingBlobName(recordId, nowMs, false))).toString('utf8')) as StoredSetting;
    expect(kept.keyVersion).toBe('v1');
    nowMs += HOUR;
    vault.rotate();
    vault.disable('v1');
    nowMs += HOUR;
    await expect(restore(d)).resolves.toEqual([]);
    expect(refusals(d)).toEqual(['key unavailable']);
  });
});

describe('kept corrections (correction-blobs.ts) and a rotation', () => {
  // Corrections are sealed as kept settings are (kernel/archive-seal.ts): under the version current when written, and
  // checked with the version they name, so a rotation neither loses the ones kept before it nor lets the old key plant one.
  it('a correction kept before the rotation still comes back after a restore; one sealed with the old key after it is refused', async () => {
    const vault = new FakeVault();
    vault.rotate();
    const d = archiveStoringCreation(vault);
    const blobs = d.blobs as unknown as { blobs: Map<string, { bytes: Buffer }> };
    const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
    const doc = await seedDocument(d, T, { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty: 'Shop', amount: 10, currency: 'EUR' } });
    const before = structuredClone(d.catalog.documents.get(`${T}/${doc.id}`)!);
    await correctMetadata({ principal: alice, documentId: doc.id, patch: { counterparty: 'Shop BV' }, reason: 'Name', ifMatch: 1 }, d);
    const kept = blobs.blobs.get(`${T}/${blobLayout.correction(doc.id, 2)}`)!;
    expect((JSON.parse(kept.bytes.toString('utf8')) as { keyVersion?: string }).keyVersion).toBe('v1');

    nowMs += HOUR;
    vault.rotate();
    nowMs += HOUR;
    d.catalog.documents.set(`${T}/${doc.id}`, structuredClone(before));
    await runReconcileTimer(d);
    expect((await d.catalog.get(T, doc.id))!.metadata.counterparty).toBe('Shop BV');

    // The old key, leaked: the next version sealed with it and named v1, written after the rotation.
    const current = (await d.catalog.get(T, doc.id))!;
    const { mac: _m, ...sealedBefore } = JSON.parse(kept.bytes.toString('utf8')) as Record<string, unknown> & { correction: Record<string, unknown> };
    const forged = { ...sealedBefore, correction: { ...sealedBefore.correction, version: 3, changes: [{ field: 'counterparty', from: 'Shop BV', to: 'Mallory BV' }], metadata: { ...current.metadata, counterparty: 'Mallory BV' } } };
    const old = Buffer.from(vault.versions[0]!.value, 'hex');
    const mac = createHmac('sha256', old).update(`archive-correction\n${canonicalJson(forged)}`).digest('hex');
    await d.blobs.putCreateOnly(T, blobLayout.correction(doc.id, 3), Buffer.from(JSON.stringify({ ...forged, mac })), 'application/json', { retainUntil: null, legalHold: false }, {});
    await runReconcileTimer(d);
    expect((await d.catalog.get(T, doc.id))!.metadata.counterparty).toBe('Shop BV');
    expect((d.log as RecordingLogger).lines.filter((l) => l.message === CORRECTION_UNSEALED).map((l) => l.fields?.reason)).toEqual(['superseded key']);
  });
});

describe('where the versions come from', () => {
  it('locally, AUDIT_CHAIN_KEY listing two keys (oldest first) is a rotation: entries of one key and of the other verify, the old after the new does not', async () => {
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    deps.audit.chainKeys = new SecretChainKeyring(new StaticSecretSource({ [NAME]: a }), NAME);
    await deps.audit.append(input(1)); // one key: the unnamed version, as before rotation existed
    deps.audit.chainKeys = new SecretChainKeyring(new StaticSecretSource({ [NAME]: `${a},${b}` }), NAME);
    await deps.audit.append(input(2));
    expect(deps.audit.entries.map((e) => e.keyVersion)).toEqual([undefined, '2']);
    await expect(verifyAuditMonth(T, MONTH, deps)).resolves.toMatchObject({ ok: true });
    deps.audit.chainKeys = new SecretChainKeyring(new StaticSecretSource({ [NAME]: a }), NAME);
    await deps.audit.append(input(3)); // the old key alone again: keyed unnamed (version 1) after version 2
    deps.audit.chainKeys = new SecretChainKeyring(new StaticSecretSource({ [NAME]: `${a},${b}` }), NAME);
    const report = await verifyAuditMonth(T, MONTH, deps);
    expect(report.problems).toEqual([{ kind: 'older-key', seq: 3, id: '000000000003', keyVersion: null, detail: 'after-a-newer-key-version' }]);
  });

  it('the config loader and the local host\'s key file take several keys, comma-separated, as the local keyring reads them', () => {
    const [a, b] = ['a'.repeat(64), 'b'.repeat(64)];
    expect(loadConfig({ ...minimalLocalEnv, AUDIT_CHAIN_KEY: `${a},${b}` }).AUDIT_CHAIN_KEY).toBe(`${a},${b}`);
    expect(() => loadConfig({ ...minimalLocalEnv, AUDIT_CHAIN_KEY: `${a},abcd` })).toThrow(/AUDIT_CHAIN_KEY: must be at least 32 bytes/);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'chain-key-')), 'audit-chain-key');
    fs.writeFileSync(file, `${a},${b}\n`);
    expect(loadOrCreateAuditChainKey(file)).toBe(`${a},${b}`);
  });

  it('start-up checks every enabled version Key Vault lists (a weak old one too), and refuses a disabled newest one', async () => {
    const vault = new FakeVault();
    vault.rotate();
    nowMs += HOUR;
    vault.rotate();
    const source = () => {
      const s = new KeyVaultSecretSource('https://archive-kv.vault.azure.net', {} as TokenCredential, () => nowMs);
      (s as unknown as { client: FakeVault }).client = vault;
      return { get: async (n: string) => (n === NAME ? s.get(n) : 'p'.repeat(48)), versioned: (n: string, v?: string | null) => s.versioned(n, v), versionsOf: (n: string, o?: { fresh?: boolean }) => s.versionsOf(n, o) };
    };
    const names = { pepper: 'api-key-pepper', chainKey: NAME };
    await expect(assertUsableSecrets(source(), names)).resolves.toBeUndefined();
    vault.versions[0]!.value = 'abcd';
    await expect(assertUsableSecrets(source(), names)).rejects.toThrow(/audit-chain-key version v1: the audit chain key must be at least 32 bytes/);
    vault.versions[0]!.enabled = false; // disabled: reported where it is named, not at start-up
    await expect(assertUsableSecrets(source(), names)).resolves.toBeUndefined();
    vault.disable('v2');
    await expect(assertUsableSecrets(source(), names)).rejects.toThrow(/newest version \(v2\) is disabled/);
  });
});
