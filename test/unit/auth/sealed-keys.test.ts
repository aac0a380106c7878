/**
 * API key records sealed by the archive (shared/auth/api-keys/key-seal.ts). Whoever could write Cosmos DB (not Key Vault)
 * and held one key's secret copied its stored hash into a record of their own making (another rights set, ceiling,
 * person, expiry, id or tenant), and the key acted with it: an archivist's key answered 200 on PUT /rights-sets as
 * tenant-admin. Now such a record is refused as an unknown key is (401), nothing done, and logged once.
 */
import { API_KEY_UNSEALED, SUPPORT_GRANT_UNSEALED } from '../../../shared/auth/api-keys/key-seal';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import type { SupportGrantRecord } from '../../../shared/auth/support-grants/support-grant';
import type { ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { ENDS_AT_SETTLE_MS } from '../../../shared/auth/ends-at';
import { runReconcileTimer } from '../../../shared/retention/timers';
import type { Container } from '@azure/cosmos';
import { TenantRecords } from '../../../shared/adapters/azure/tenant-records';
import { loadConfig } from '../../../shared/config';
import { minimalLocalEnv } from '../../support/config-env';
import { ADMIN, aroundPortCalls, mint, ok, send, TENANT, upload, upsKey, world, type World } from '../../support/in-process';
import type { RecordingLogger } from '../../support/in-memory';

const DAY = 86_400_000;
const KEY = /^ApiKey arch_([a-z0-9-]+)_([0-9a-f]{24})_(.+)$/;

/** An archivist's key (up, given keys:manage: upsKey) and its stored record. */
async function archivistKey(w: World) {
  const { key } = await upsKey(w);
  const [, , keyId, secret] = KEY.exec(key)!;
  const stored = () => w.deps.tenantRecords.records.get(`${TENANT}/api-key:${keyId}`)!;
  return { key, keyId: keyId!, secret: secret!, stored, record: () => stored().value as ApiKeyRecord };
}

/** Writes `record` as whoever can write Cosmos DB does: no seal of their own to give it. */
function plant(w: World, record: ApiKeyRecord): void {
  w.deps.tenantRecords.records.set(`${record.tenantId}/${record.id}`, { value: record, etag: 9000 + w.seq++ });
}

const alarms = (w: World, keyId: string) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message === API_KEY_UNSEALED && l.fields?.keyId === keyId).length;
const widen = (as = 'ApiKey x'): Parameters<typeof send>[1] => ({ method: 'PUT', path: `rights-sets/widened-${Math.random().toString(36).slice(2)}`, body: { permissions: ADMIN }, as });
const setsStored = (w: World) => w.deps.tenantRecords.stored(TENANT, 'rights-set').length;

describe('an API key record not sealed by the archive is refused as an unknown key', () => {
  const OTHER_ID = 'f'.repeat(24);
  const edits: [string, (k: ApiKeyRecord) => ApiKeyRecord, (k: { keyId: string; secret: string }) => string][] = [
    ['its rights set widened', (k) => ({ ...k, rightsSet: 'tenant-admin' }), (k) => `ApiKey arch_${TENANT}_${k.keyId}_${k.secret}`],
    ['its ceiling widened', (k) => ({ ...k, ceiling: [...ADMIN].sort(), personPermissions: [...ADMIN].sort() }), (k) => `ApiKey arch_${TENANT}_${k.keyId}_${k.secret}`],
    ['its expiry extended', (k) => ({ ...k, expiresAt: new Date(Date.parse(k.expiresAt) + 3650 * DAY).toISOString(), endsAt: new Date(Date.parse(k.expiresAt) + 3650 * DAY).toISOString() }), (k) => `ApiKey arch_${TENANT}_${k.keyId}_${k.secret}`],
    ['its maker changed to a tenant admin, with her set', (k) => ({ ...k, rightsSet: 'tenant-admin', ceiling: [...ADMIN].sort(), personPermissions: [...ADMIN].sort(), createdBy: { subject: 'alice', kind: 'user', person: 'alice' } }), (k) => `ApiKey arch_${TENANT}_${k.keyId}_${k.secret}`],
    ['copied under another id as a tenant admin', (k) => ({ ...k, id: `api-key:${OTHER_ID}`, keyId: OTHER_ID, prefix: `arch_${TENANT}_${OTHER_ID}`, rightsSet: 'tenant-admin', ceiling: [...ADMIN].sort(), createdBy: { subject: 'alice', kind: 'user', person: 'alice' } }), (k) => `ApiKey arch_${TENANT}_${OTHER_ID}_${k.secret}`],
    ['copied into another tenant', (k) => ({ ...k, tenantId: 'globex', prefix: `arch_globex_${k.keyId}`, rightsSet: 'tenant-admin', ceiling: [...ADMIN].sort(), createdBy: { subject: 'alice', kind: 'user', person: 'alice' } }), (k) => `ApiKey arch_globex_${k.keyId}_${k.secret}`],
  ];

  it.each(edits)('%s: 401, nothing done, alerted once', async (_, edit, presented) => {
    const w = world();
    const k = await archivistKey(w);
    const forged = edit(k.record());
    plant(w, forged);
    const as = presented(k);
    const before = setsStored(w);
    for (const call of [widen(as), widen(as)]) {
      const r = await send(w, call);
      expect({ status: r.status, code: r.json?.code, detail: r.json?.detail }).toEqual({ status: 401, code: 'unauthenticated', detail: 'The API key is not valid for this archive.' });
    }
    // Nothing stored, and no refusal audited under the person or tenant the forged record names.
    expect(setsStored(w)).toBe(before);
    expect(w.deps.tenantRecords.stored('globex', 'rights-set')).toEqual([]);
    expect(alarms(w, forged.keyId)).toBe(1);
  });

  it('a genuine record copied whole, its seal with it, under another tenant or id: 401, each copy alerted once', async () => {
    const w = world();
    const k = await archivistKey(w);
    const copyId = 'd'.repeat(24);
    // Where a store lets a record lie elsewhere than it names (Cosmos DB's id and partition key are its own fields).
    w.deps.tenantRecords.records.set(`globex/api-key:${k.keyId}`, { value: k.record(), etag: 9100 });
    w.deps.tenantRecords.records.set(`${TENANT}/api-key:${copyId}`, { value: k.record(), etag: 9101 });
    for (const as of [`ApiKey arch_globex_${k.keyId}_${k.secret}`, `ApiKey arch_${TENANT}_${copyId}_${k.secret}`]) {
      for (let i = 0; i < 2; i++) expect((await send(w, { method: 'GET', path: 'documents', as })).status).toBe(401);
    }
    expect(alarms(w, k.keyId)).toBe(2);
    expect((await send(w, { method: 'GET', path: 'documents', as: k.key })).status).toBe(200);
  });

  it('a key minted through a forged key stands on nothing: refused', async () => {
    const w = world();
    const minter = await mint(w, 'alice', 'tenant-admin');
    const minterId = KEY.exec(minter)![2]!;
    const child = `ApiKey ${(await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'child', rightsSet: 'tenant-admin' }, as: minter }, 201)).json.key as string}`;
    const list: Parameters<typeof send>[1] = { method: 'GET', path: 'api-keys', as: child };
    expect((await send(w, list)).status).toBe(200);
    const above = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${minterId}`)!.value as ApiKeyRecord;
    plant(w, { ...above, expiresAt: new Date(Date.parse(above.expiresAt) + DAY).toISOString() });
    expect((await send(w, list)).status).toBe(401);
    expect(alarms(w, minterId)).toBe(1);
  });
});

describe('a genuine key', () => {
  it('acts, with no store round trip more than a key from before the seal', async () => {
    const w = world();
    const k = await archivistKey(w);
    const calls: string[] = [];
    aroundPortCalls({ tenantRecords: w.deps.tenantRecords, audit: w.deps.audit }, (call, proceed) => (calls.push(call), proceed()));
    const portCalls = async () => {
      calls.length = 0;
      await ok(w, { ...upload(undefined), as: k.key }, 201);
      return calls.filter((c) => c.startsWith('tenantRecords.') || c === 'audit.list');
    };
    await portCalls(); // warm: the secret checked once
    const sealed = await portCalls();
    // The same key as a record from before the seal (as every key was): the reads a request made before.
    const { mac: _m, keyVersion: _v, ...legacy } = k.record();
    plant(w, legacy);
    w.deps.tenantRecords.keysSealedMark = false;
    await portCalls();
    const before = await portCalls();
    expect(sealed).toEqual(before.filter((c) => c !== 'tenantRecords.keysSealed'));
  });
});

describe('keys from before the seal', () => {
  it('act until the store is marked; the reconciler seals one its audit entry vouches for, never a forged one; once marked an unsealed one is refused', async () => {
    const w = world();
    w.deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
    const k = await archivistKey(w);
    const { mac: _m, keyVersion: _v, ...legacy } = k.record();
    plant(w, legacy);
    w.deps.tenantRecords.keysSealedMark = false;
    // A record from before, forged (no audit entry of its minting): another id, a tenant admin's.
    const forgedId = 'e'.repeat(24);
    plant(w, { ...legacy, id: `api-key:${forgedId}`, keyId: forgedId, prefix: `arch_${TENANT}_${forgedId}`, rightsSet: 'tenant-admin', ceiling: [...ADMIN].sort(), personPermissions: [...ADMIN].sort(), createdBy: { subject: 'alice', kind: 'user', person: 'alice' } });
    expect((await send(w, { ...upload(undefined), as: k.key })).status).toBe(201);

    const first = await runReconcileTimer(w.deps);
    expect(first.keysSealed).toEqual([`${TENANT}/${k.keyId}`]);
    expect(first.keysUnsealed).toEqual([`${TENANT}/${forgedId}`]);
    expect(k.record().mac).toEqual(expect.any(String));
    expect((w.deps.tenantRecords.records.get(`${TENANT}/api-key:${forgedId}`)!.value as ApiKeyRecord).mac).toBeUndefined();
    expect(alarms(w, forgedId)).toBe(1);
    expect((await send(w, { ...upload(undefined), as: k.key })).status).toBe(201);

    // Not marked while the forged one is there, however long after; the operator deletes it, and the next run marks.
    w.clock.advance(ENDS_AT_SETTLE_MS);
    await runReconcileTimer(w.deps);
    expect(w.deps.tenantRecords.keysSealedMark).toBe(false);
    await w.deps.tenantRecords.delete(TENANT, `api-key:${forgedId}`);
    expect((await runReconcileTimer(w.deps)).keysAllSealed).toBe(true);
    expect(w.deps.tenantRecords.keysSealedMark).toBe(true);

    // Marked: a record without a seal (stripped, planted) is refused.
    plant(w, legacy);
    const r = await send(w, { ...upload(undefined), as: k.key });
    expect({ status: r.status, detail: r.json?.detail }).toEqual({ status: 401, detail: 'The API key is not valid for this archive.' });
  });
});

describe('a support grant not sealed by the archive gives no access', () => {
  const grantOf = async (w: World, scope = 'metadata-only') => {
    const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'T-1', scope, expiresAt: new Date(w.clock.now().getTime() + DAY).toISOString() }, as: 'alice' }, 201);
    return w.deps.tenantRecords.records.get(`${TENANT}/support-grant:${grant.json.id as string}`)!.value as SupportGrantRecord;
  };
  const plantGrant = (w: World, g: SupportGrantRecord) => w.deps.tenantRecords.records.set(`${g.tenantId}/${g.id}`, { value: g, etag: 9000 + w.seq++ });
  const download = (w: World, id: string) => send(w, { method: 'GET', path: `documents/${id}/original`, as: 'support.sam' });
  const grantAlarms = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message === SUPPORT_GRANT_UNSEALED).length;

  it.each<[string, (g: SupportGrantRecord) => SupportGrantRecord]>([
    ['its scope widened', (g) => ({ ...g, scope: 'read-only-with-audit' })],
    ['its expiry extended', (g) => ({ ...g, expiresAt: new Date(Date.parse(g.expiresAt) + 365 * DAY).toISOString(), endsAt: new Date(Date.parse(g.expiresAt) + 365 * DAY).toISOString() })],
    ['written whole by a writer of Cosmos DB', (g) => ({ ...g, id: 'support-grant:forged', grantId: 'forged', scope: 'read-only', mac: 'ab'.repeat(32) })],
  ])('%s: refused, alerted once', async (_, edit) => {
    const w = world();
    const id = (await ok(w, upload(), 201)).json.id as string;
    const genuine = await grantOf(w);
    // Genuine: staff may read the document's metadata, not its original.
    expect((await send(w, { method: 'GET', path: `documents/${id}`, as: 'support.sam' })).status).toBe(200);
    expect((await download(w, id)).status).toBe(403);
    w.deps.tenantRecords.records.delete(`${TENANT}/${genuine.id}`);
    plantGrant(w, edit(genuine));
    for (let i = 0; i < 2; i++) expect((await send(w, { method: 'GET', path: `documents/${id}`, as: 'support.sam' })).json.code).toBe('support_access_not_granted');
    expect(grantAlarms(w)).toBe(1);
  });

  it('one from before the seal acts until the mark; the reconciler seals it from its audit entry', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const genuine = await grantOf(w);
    const { mac: _m, keyVersion: _v, ...legacy } = genuine;
    plantGrant(w, legacy);
    w.deps.tenantRecords.keysSealedMark = false;
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(200);
    expect((await runReconcileTimer(w.deps)).keysSealed).toEqual([`${TENANT}/${genuine.grantId}`]);
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(200);
  });
});

it('ARCHIVE_KEYS_SEALED: every key is taken as sealed without reading the mark, which a writer of Cosmos DB can delete', async () => {
  const unread = { item: () => ({ read: () => Promise.reject(new Error('the mark was read')) }) } as unknown as Container;
  expect(await new TenantRecords(unread, singleKeyring(async () => Buffer.alloc(32)), undefined, { sealed: true }).keysSealed()).toBe(true);
  await expect(new TenantRecords(unread, singleKeyring(async () => Buffer.alloc(32))).keysSealed()).rejects.toThrow('the mark was read');
  expect(loadConfig({ ...minimalLocalEnv, ARCHIVE_KEYS_SEALED: 'true' }).ARCHIVE_KEYS_SEALED).toBe('true');
});
