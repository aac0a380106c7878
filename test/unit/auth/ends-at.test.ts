/**
 * API keys and support grants carry `endsAt`, the earlier of expiry and revocation, so the store finds those in use
 * with one range: written by every create and revoke, given by the reconciler's one-off migration to records from
 * before it. Each state means what it meant; before the store is marked migrated the queries go by `expiresAt`.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { listApiKeys, ZListApiKeysQuery } from '../../../shared/auth/api-keys/list-api-keys';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { migrateEndsAt } from '../../../shared/auth/ends-at';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { findActiveSupportGrant } from '../../../shared/auth/support-grants/find-active-support-grant';
import { listSupportGrants, ZListSupportGrantsQuery } from '../../../shared/auth/support-grants/list-support-grants';
import { revokeSupportGrant } from '../../../shared/auth/support-grants/revoke-support-grant';
import { type SupportGrantRecord, toPublicGrant } from '../../../shared/auth/support-grants/support-grant';
import { type ApiKeyRecord, toPublicApiKey } from '../../../shared/auth/api-keys/api-key';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const bob: Principal = { tenantId: T, subject: 'bob', kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
const ann = { subject: 'ann', kind: 'user', person: 'ann' };

function setup() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  const mint = async (days: number) => {
    clock.advance(1000); // each its own createdAt: newest first is one order
    return (await createApiKey({ tenantId: T, name: 'k', rightsSet: 'tenant-admin', expiresAt: new Date(clock.now().getTime() + days * DAY), createdBy: actor(bob), ceiling: [...bob.permissions], personPermissions: [...bob.permissions], now: clock.now() }, deps)).record;
  };
  const give = async (days: number, createdBy: { subject: string; kind: string; person?: string } = ann) => {
    clock.advance(1000);
    return createSupportGrant({ tenantId: T, ticket: 'INC-1', scope: 'read-only', expiresAt: new Date(clock.now().getTime() + days * DAY), createdBy, now: clock.now() }, deps).then((r) => r.grant);
  };
  const stored = <R>(type: 'api-key' | 'support-grant') => deps.tenantRecords.stored(T, type) as unknown as (R & { endsAt?: string })[];
  const keyNames = async (state: string) => (await listApiKeys(T, ZListApiKeysQuery.parse({ state }), clock.now(), deps)).items.map((k) => k.keyId);
  const grantIds = async (state: string) => (await listSupportGrants(T, ZListSupportGrantsQuery.parse({ state }), clock.now(), deps)).items.map((g) => g.grantId);
  return { clock, deps, mint, give, stored, keyNames, grantIds };
}

it('a key or grant stores endsAt when created (its expiry) and when revoked (the revocation, unless it had expired before)', async () => {
  const { clock, deps, mint, give, stored } = setup();
  const key = await mint(30);
  expect(key.endsAt).toBe(key.expiresAt);
  const revokedKey = await revokeApiKey(T, key.keyId, actor(bob), clock.now(), deps);
  expect(revokedKey.endsAt).toBe(clock.now().toISOString());
  expect(stored<ApiKeyRecord>('api-key').find((k) => k.keyId === key.keyId)!.endsAt).toBe(revokedKey.revokedAt);

  const grant = await give(3);
  expect(stored<SupportGrantRecord>('support-grant')[0]!.endsAt).toBe(grant.expiresAt);
  clock.advance(DAY);
  const revokedGrant = await revokeSupportGrant(T, grant.grantId, ann, clock.now(), deps);
  expect(stored<SupportGrantRecord>('support-grant')[0]!.endsAt).toBe(revokedGrant.revokedAt);

  // Revoked after it expired: it ended at its expiry.
  const short = await mint(1);
  clock.advance(2 * DAY);
  await revokeApiKey(T, short.keyId, actor(bob), clock.now(), deps);
  expect(stored<ApiKeyRecord>('api-key').find((k) => k.keyId === short.keyId)!.endsAt).toBe(short.expiresAt);
});

it('a grant given through a key ends with the key expiry it is capped at', async () => {
  const { mint, give, stored } = setup();
  const key = await mint(2);
  const grant = await give(7, { subject: `apikey:${key.keyId}`, kind: 'client', person: 'bob' });
  expect(grant.expiresAt).toBe(key.expiresAt);
  expect(stored<SupportGrantRecord>('support-grant')[0]!.endsAt).toBe(key.expiresAt);
});

it('endsAt never reaches the API: keys and grants are answered as before', async () => {
  const { clock, deps, mint, give } = setup();
  const key = await mint(30);
  await give(3);
  expect(toPublicApiKey(key)).not.toHaveProperty('endsAt');
  const listed = await listSupportGrants(T, ZListSupportGrantsQuery.parse({}), clock.now(), deps);
  expect(toPublicGrant(listed.items[0]!)).not.toHaveProperty('endsAt');
});

/** Keys and grants in each state, then stored as before `endsAt` (without it) and the store not marked migrated. */
async function fromBefore() {
  const t = setup();
  const { clock, deps, mint, give } = t;
  const revokedKeys = [];
  for (let i = 0; i < 3; i++) revokedKeys.push((await revokeApiKey(T, (await mint(365)).keyId, actor(bob), clock.now(), deps)).keyId);
  const expiringKey = (await mint(1)).keyId;
  const revokedGrant = (await revokeSupportGrant(T, (await give(7)).grantId, ann, clock.now(), deps)).grantId;
  const expiringGrant = (await give(1)).grantId;
  clock.advance(2 * DAY);
  const keyInUse = (await mint(30)).keyId;
  const grantInForce = (await give(3, { subject: 'carl', kind: 'user', person: 'carl' })).grantId;
  for (const r of deps.tenantRecords.records.values()) delete (r.value as { endsAt?: string }).endsAt;
  deps.tenantRecords.migrated = false;
  const expected = {
    keys: { 'in-use': [keyInUse], revoked: [...revokedKeys].reverse(), expired: [expiringKey] },
    grants: { active: [grantInForce], revoked: [revokedGrant], expired: [expiringGrant] },
  };
  const answers = async () => ({
    keys: { 'in-use': await t.keyNames('in-use'), revoked: await t.keyNames('revoked'), expired: await t.keyNames('expired') },
    grants: { active: await t.grantIds('active'), revoked: await t.grantIds('revoked'), expired: await t.grantIds('expired') },
    inUse: await deps.tenantRecords.countApiKeysInUse(T, clock.now().toISOString()),
    support: (await findActiveSupportGrant(T, 'staff-7', clock.now(), deps)).grant?.grantId,
  });
  return { ...t, expected: { ...expected, inUse: 1, support: grantInForce }, answers };
}

it('records from before endsAt answer each state as before, while the migration gives them endsAt a bounded run at a time, then marks the store', async () => {
  const { clock, deps, expected, answers, stored } = await fromBefore();
  expect(await answers()).toEqual(expected);

  // Eight records, three a run (every half hour): three runs give them endsAt, the fourth finds none left and, an hour
  // and a half after the first, marks the store migrated.
  const runs = [];
  for (let i = 0; i < 4; i++) {
    runs.push(await migrateEndsAt(deps, 3, clock.now()));
    expect(await answers()).toEqual(expected);
    clock.advance(30 * 60_000);
  }
  expect(runs.map((r) => [r.migrated.length, r.done])).toEqual([[3, false], [3, false], [2, false], [0, true]]);
  expect(deps.tenantRecords.migrated).toBe(true);
  for (const r of [...stored<ApiKeyRecord>('api-key'), ...stored<SupportGrantRecord>('support-grant')]) expect(r.endsAt).toBe(r.revokedAt && r.revokedAt < r.expiresAt ? r.revokedAt : r.expiresAt);

  // Run again: nothing to do, nothing written.
  const before = JSON.stringify([...deps.tenantRecords.records.entries()]);
  expect(await migrateEndsAt(deps, 3, clock.now())).toEqual({ migrated: [], done: true });
  expect(JSON.stringify([...deps.tenantRecords.records.entries()])).toBe(before);
});

it('a record changed while the migration ran is left to the next run, which gives it endsAt', async () => {
  const { clock, deps, expected, answers } = await fromBefore();
  const records = deps.tenantRecords;
  const replace = records.replace.bind(records);
  let raced = false;
  records.replace = async (record, etag, outbox) => {
    if (!raced) {
      raced = true;
      // Another writer (an instance still without endsAt: a last-use stamp, say) changes it between the read and the write.
      const current = records.records.get(`${record.tenantId}/${record.id}`)!;
      records.records.set(`${record.tenantId}/${record.id}`, { value: { ...current.value }, etag: current.etag + 1000 });
    }
    return replace(record, etag, outbox);
  };
  const first = await migrateEndsAt(deps, 100, clock.now());
  expect(first).toMatchObject({ done: false });
  expect(first.migrated).toHaveLength(7);
  clock.advance(30 * 60_000);
  expect(await migrateEndsAt(deps, 100, clock.now())).toMatchObject({ migrated: [expect.any(String)], done: false });
  clock.advance(30 * 60_000);
  expect(await migrateEndsAt(deps, 100, clock.now())).toEqual({ migrated: [], done: true });
  expect(await answers()).toEqual(expected);
});

it('a store with nothing to migrate is not marked at the first run: a key an instance of the code from before writes meanwhile is still counted in use', async () => {
  const { clock, deps, mint } = setup();
  deps.tenantRecords.migrated = false; // the Cosmos store before its first run of the migration
  // The first run of the new code finds nothing without endsAt (no keys or grants yet, or all written by new code).
  expect(await migrateEndsAt(deps, 100, clock.now())).toEqual({ migrated: [], done: false });
  expect(deps.tenantRecords.migrated).toBe(false);
  // An instance still running the code from before (a rolling deploy) mints a key: stored without endsAt.
  const old = await mint(30);
  delete (deps.tenantRecords.records.get(`${T}/${old.id}`)!.value as { endsAt?: string }).endsAt;
  expect(await deps.tenantRecords.countApiKeysInUse(T, clock.now().toISOString())).toBe(1);
  // The next run, half an hour on, gives it endsAt; the store is marked once no run has found any for a while.
  clock.advance(30 * 60_000);
  expect(await migrateEndsAt(deps, 100, clock.now())).toEqual({ migrated: [`${T}/${old.id}`], done: false });
  clock.advance(30 * 60_000);
  expect(await migrateEndsAt(deps, 100, clock.now())).toEqual({ migrated: [], done: true });
  expect(deps.tenantRecords.migrated).toBe(true);
  expect(await deps.tenantRecords.countApiKeysInUse(T, clock.now().toISOString())).toBe(1);
});

it('a key written without endsAt after the store was marked (a deploy rolled back, then forward) is given it by the next run and counted in use again', async () => {
  const { clock, deps, mint, keyNames } = setup();
  expect(deps.tenantRecords.migrated).toBe(true);
  const old = await mint(30);
  delete (deps.tenantRecords.records.get(`${T}/${old.id}`)!.value as { endsAt?: string }).endsAt;
  expect(await migrateEndsAt(deps, 100, clock.now())).toEqual({ migrated: [`${T}/${old.id}`], done: true });
  expect(await deps.tenantRecords.countApiKeysInUse(T, clock.now().toISOString())).toBe(1);
  expect(await keyNames('in-use')).toEqual([old.keyId]);
});
