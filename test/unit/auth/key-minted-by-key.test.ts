/**
 * A key minted by a key acts only while the key that minted it does: revoking a leaked key also stops
 * the keys minted through it, and they do not outlive its expiry. The lists say what stands on an ended key.
 */
import { Authenticator, type JwtSettings } from '../../../shared/auth/authenticate';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { listApiKeys } from '../../../shared/auth/api-keys/list-api-keys';
import { toPublicApiKey } from '../../../shared/auth/api-keys/api-key';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { listRightsAssignmentsToReview } from '../../../shared/auth/rights-sets/list-rights-assignments';
import { actor, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { FakeClock } from '../../support/fake-clock';

const T = 'acme';
const settings: JwtSettings = { issuer: 'https://idp.example', audience: 'api://archive', jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], tenantClaim: 'tid', rightsClaim: 'rights', kindClaim: 'kind', rightsSource: 'tenant', clockToleranceSeconds: 0, keyPersonIdleDays: 30 };
const DAY = 86_400_000;

async function setup() {
  const clock = new FakeClock('2030-01-01T00:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  await deps.tenantRecords.upsert({ id: rightsAssignmentRecordId('ida'), tenantId: T, type: 'rights-assignment', subject: 'ida', rightsSet: 'integration-admin', assignedAt: clock.now().toISOString(), assignedBy: { subject: 'root', kind: 'user' } });
  const authenticator = new Authenticator(settings, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
  const ida: Principal = { tenantId: T, subject: 'ida', kind: 'user', rightsSet: 'integration-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['integration-admin']) };
  const mint = async (by: Principal, expiresInDays: number) =>
    createApiKey({ tenantId: T, name: 'k', rightsSet: 'integration-admin', expiresAt: new Date(clock.now().getTime() + expiresInDays * DAY), createdBy: actor(by), ceiling: [...by.permissions], personPermissions: [...by.permissions], now: clock.now() }, deps);
  const use = (key: string) => authenticator.authenticate(`ApiKey ${key}`);
  return { deps, clock, ida, mint, use };
}

it('revoking a key stops the keys minted through it, however deep', async () => {
  const { deps, clock, ida, mint, use } = await setup();
  const parent = await mint(ida, 10);
  const child = await mint(await use(parent.key), 300);
  const grandchild = await mint(await use(child.key), 300);
  expect((await use(grandchild.key)).denial).toBeUndefined();
  await revokeApiKey(T, parent.record.keyId, { subject: 'root', kind: 'user' }, clock.now(), deps);
  expect((await use(child.key)).denial).toMatchObject({ code: 'unauthenticated' });
  expect((await use(grandchild.key)).denial).toMatchObject({ code: 'unauthenticated' });
});

it('a key minted by a key acts no longer than the key that minted it', async () => {
  const { clock, ida, mint, use } = await setup();
  const parent = await mint(ida, 10);
  const child = await mint(await use(parent.key), 300);
  expect(child.record.expiresAt).toBe(parent.record.expiresAt); // and its expiry says so
  clock.set(new Date(clock.now().getTime() + 11 * DAY).toISOString());
  expect((await use(child.key)).denial).toMatchObject({ code: 'unauthenticated' });
});

it('the list of keys in use marks a key minted through a revoked key: it cannot act, though the store holds it in use', async () => {
  const { deps, clock, ida, mint, use } = await setup();
  const parent = await mint(ida, 10);
  const child = await mint(await use(parent.key), 300);
  const listed = async () => (await listApiKeys(T, { state: 'in-use', limit: 50 }, clock.now(), deps)).items.map((k) => [k.keyId, k.endedWithKey]).sort();
  expect(await listed()).toEqual([[child.record.keyId, undefined], [parent.record.keyId, undefined]].sort());
  await revokeApiKey(T, parent.record.keyId, { subject: 'root', kind: 'user' }, clock.now(), deps);
  expect(await listed()).toEqual([[child.record.keyId, parent.record.keyId]]);
  expect(toPublicApiKey((await listApiKeys(T, { state: 'in-use', limit: 50 }, clock.now(), deps)).items[0]!)).toMatchObject({ id: child.record.keyId, endedWithKey: parent.record.keyId });
});

it('a key that could never act (more keys above it than a key may stand on) is refused, not minted', async () => {
  const { deps, ida, mint, use } = await setup();
  let key = await mint(ida, 30);
  for (let above = 1; above <= 8; above++) key = await mint(await use(key.key), 30);
  const deepest = await use(key.key);
  expect(deepest.denial).toBeUndefined(); // eight keys above it: the deepest that acts
  const before = deps.tenantRecords.stored(T, 'api-key').length;
  await expect(mint(deepest, 30)).rejects.toMatchObject({ code: 'forbidden', detail: expect.stringMatching(/could never act/) });
  expect(deps.tenantRecords.stored(T, 'api-key')).toHaveLength(before);
});

it('an assignment made through a key stays once the key is revoked, and the list marks it for review', async () => {
  const { deps, clock, ida, mint, use } = await setup();
  const key = await mint(ida, 10);
  await assignRightsSet(await use(key.key), 'eve', 'integration-admin', clock.now(), deps);
  const listed = async () => (await listRightsAssignmentsToReview(T, clock.now(), deps)).map((a) => [a.subject, a.endedWithKey]).sort();
  expect(await listed()).toEqual([['eve', undefined], ['ida', undefined]]);
  await revokeApiKey(T, key.record.keyId, { subject: 'root', kind: 'user' }, clock.now(), deps);
  expect(await listed()).toEqual([['eve', key.record.keyId], ['ida', undefined]]);
  expect((await deps.tenantRecords.get(T, rightsAssignmentRecordId('eve'), 'rights-assignment'))?.value).toMatchObject({ rightsSet: 'integration-admin' });
});

it('listing assignments made through many keys since revoked reads no key per assignment (one query of the keys in use)', async () => {
  const { deps, clock, ida, mint, use } = await setup();
  // A tenant admin may make up to ARCHIVE_MAX_RIGHTS_ASSIGNMENTS assignments, each through a key of its own revoked
  // after: the list, unpaged, read every one of those keys on each request (10,000 point reads at once).
  const keys: string[] = [];
  for (let i = 0; i < 12; i++) {
    const key = await mint(ida, 10);
    await assignRightsSet(await use(key.key), `subject-${String(i).padStart(2, '0')}`, 'integration-admin', clock.now(), deps);
    await revokeApiKey(T, key.record.keyId, { subject: 'root', kind: 'user' }, clock.now(), deps);
    keys.push(key.record.keyId);
  }
  const standing = await mint(ida, 10);
  await assignRightsSet(await use(standing.key), 'zed', 'integration-admin', clock.now(), deps);
  const reads = jest.spyOn(deps.tenantRecords, 'get');
  const listed = await listRightsAssignmentsToReview(T, clock.now(), deps);
  expect(listed.map((a) => [a.subject, a.endedWithKey])).toEqual([['ida', undefined], ...keys.map((k, i) => [`subject-${String(i).padStart(2, '0')}`, k]), ['zed', undefined]]);
  expect(reads.mock.calls.filter(([, , type]) => type === 'api-key')).toEqual([]);
});
