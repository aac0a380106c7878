/**
 * A tenant has at most ARCHIVE_MAX_API_KEYS keys in use, ARCHIVE_MAX_RIGHTS_SETS rights sets of its own and
 * ARCHIVE_MAX_RIGHTS_ASSIGNMENTS rights assignments (a subject need not exist, so names could be made up): every SoD
 * check and listing reads them all, and they are stored in what tenants share. Without a cap an administrator minted
 * and wrote as many as they sent requests. One more is 409 tenant_limit_reached, nothing stored; the count holds for
 * creates sent at once (counted under the tenant's rights gate).
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { listRightsSets } from '../../../shared/auth/rights-sets/list-rights-sets';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { actor, type RightsSetRecord, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { loadConfig } from '../../../shared/config';
import { ERROR_STATUS } from '../../../shared/http/problem';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { interleave } from '../../support/interleave';
import { refusal } from '../../support/refusal';

const T = 'acme';
const DAY = 86_400_000;
const admin: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
const limited = (env: Record<string, string>) => inMemoryDeps(loadConfig({ ...minimalLocalEnv, ...env }));

const mint = (deps: InMemoryDeps, days = 30) =>
  createApiKey({ tenantId: T, name: 'k', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + days * DAY), createdBy: actor(admin), ceiling: [...admin.permissions], personPermissions: [...admin.permissions], now: deps.clock.now() }, deps);
const putSet = (deps: InMemoryDeps, name: string, permissions: Permission[] = ['documents:read']) => putRightsSet(admin, name, permissions, deps.clock.now(), deps);
const assign = (deps: InMemoryDeps, subject: string, rightsSet = 'auditor') => assignRightsSet(admin, subject, rightsSet, deps.clock.now(), deps);
const assigned = (deps: InMemoryDeps) => deps.tenantRecords.stored(T, 'rights-assignment').map((a) => (a as unknown as { subject: string }).subject).sort();
const ownSets = async (deps: InMemoryDeps) => (await listRightsSets(T, deps)).filter((s) => !s.builtIn).map((s) => s.name).sort();


describe('API keys', () => {
  it('at the limit one more key is refused (409 tenant_limit_reached, naming limit and count) and nothing is stored', async () => {
    const deps = limited({ ARCHIVE_MAX_API_KEYS: '2' });
    await mint(deps);
    await mint(deps);
    const refused = await refusal(mint(deps));
    expect(refused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2, what: 'api-keys' } });
    expect(refused.detail).toMatch(/2 API keys in use.*at most 2.*ARCHIVE_MAX_API_KEYS.*revoke keys/);
    expect(ERROR_STATUS.tenant_limit_reached).toBe(409);
    expect(deps.tenantRecords.stored(T, 'api-key')).toHaveLength(2);
  });

  it('a revoked key frees room', async () => {
    const deps = limited({ ARCHIVE_MAX_API_KEYS: '2' });
    const first = await mint(deps);
    await mint(deps);
    await revokeApiKey(T, first.record.keyId, actor(admin), deps.clock.now(), deps);
    await expect(mint(deps)).resolves.toHaveProperty('key');
    expect(deps.tenantRecords.stored(T, 'api-key')).toHaveLength(3);
    await expect(refusal(mint(deps))).resolves.toMatchObject({ extensions: { count: 2 } });
  });

  it('an expired key frees room', async () => {
    const clock = new FakeClock('2025-03-01T12:00:00Z');
    const deps: InMemoryDeps = { ...limited({ ARCHIVE_MAX_API_KEYS: '2' }), clock };
    await mint(deps, 1);
    await mint(deps, 30);
    await expect(refusal(mint(deps))).resolves.toMatchObject({ code: 'tenant_limit_reached' });
    clock.advance(2 * DAY);
    await expect(mint(deps)).resolves.toHaveProperty('key');
  });

  it('a mint counts the keys in use with one count query: the revoked and expired keys a tenant piled up are never read', async () => {
    const clock = new FakeClock('2025-03-01T12:00:00Z');
    const deps: InMemoryDeps = { ...limited({ ARCHIVE_MAX_API_KEYS: '3' }), clock };
    const records = deps.tenantRecords;
    for (let i = 0; i < 20; i++) await revokeApiKey(T, (await mint(deps)).record.keyId, actor(admin), deps.clock.now(), deps);
    await mint(deps, 1);
    clock.advance(2 * DAY);
    await mint(deps);
    const listed: unknown[][] = [];
    const list = records.list.bind(records);
    records.list = async (...args: Parameters<typeof list>) => {
      listed.push(args);
      return list(...args);
    };
    records.keyQueries.length = 0;
    await mint(deps);
    expect(records.keyQueries).toEqual([{ tenantId: T, query: 'count' }]);
    expect(listed.filter((args) => args[1] === 'api-key')).toEqual([]);
    // 22 keys stored, 2 in use: a third fits, a fourth does not.
    await expect(mint(deps)).resolves.toHaveProperty('key');
    await expect(refusal(mint(deps))).resolves.toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 3, count: 3 } });
  });

  it('two keys minted at once into the last room, both counted before either is stored: one is minted, the other refused', async () => {
    const deps = limited({ ARCHIVE_MAX_API_KEYS: '2' });
    await mint(deps);
    // The first has counted one key in use when the second is minted and stored; its batch then finds the gate moved.
    const paused = refusal(interleave(deps.tenantRecords, 'countApiKeysInUse', (args) => args[0] === T, () => mint(deps), async () => {
      await mint(deps);
    }));
    expect(await paused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2 } });
    expect(deps.tenantRecords.stored(T, 'api-key')).toHaveLength(2);
  });
});

describe('rights sets', () => {
  it('at the limit a new set is refused (409 tenant_limit_reached) and nothing is stored; built-in templates do not count', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_SETS: '2' });
    await putSet(deps, 'clerks');
    await putSet(deps, 'readers');
    const refused = await refusal(putSet(deps, 'viewers'));
    expect(refused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2, what: 'rights-sets' } });
    expect(refused.detail).toMatch(/2 rights sets of its own.*at most 2.*ARCHIVE_MAX_RIGHTS_SETS.*delete sets/);
    expect(await ownSets(deps)).toEqual(['clerks', 'readers']);
    expect((await listRightsSets(T, deps)).filter((s) => s.builtIn).length).toBeGreaterThan(2);
    expect(await deps.tenantRecords.get(T, rightsSetRecordId('viewers'), 'rights-set')).toBeNull();
  });

  it('replacing an existing set at the limit is never refused', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_SETS: '2' });
    await putSet(deps, 'clerks');
    await putSet(deps, 'readers');
    await expect(putSet(deps, 'clerks', ['documents:read', 'documents:download'])).resolves.toMatchObject({ permissions: ['documents:download', 'documents:read'] });
    expect((await deps.tenantRecords.get<RightsSetRecord>(T, rightsSetRecordId('clerks'), 'rights-set'))?.value.permissions).toEqual(['documents:download', 'documents:read']);
  });

  it('a deleted set frees room', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_SETS: '2' });
    await putSet(deps, 'clerks');
    await putSet(deps, 'readers');
    // As deleteRightsSet stores it (its query for holders is not modelled in memory).
    await deps.tenantRecords.delete(T, rightsSetRecordId('readers'));
    await expect(putSet(deps, 'viewers')).resolves.toMatchObject({ name: 'viewers' });
    expect(await ownSets(deps)).toEqual(['clerks', 'viewers']);
  });

  it('two new sets written at once into the last room: one is stored, the other refused', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_SETS: '2' });
    await putSet(deps, 'clerks');
    const paused = refusal(interleave(deps.tenantRecords, 'list', (args) => args[0] === T && args[1] === 'rights-set', () => putSet(deps, 'readers'), async () => {
      await putSet(deps, 'viewers');
    }));
    expect(await paused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2 } });
    expect(await ownSets(deps)).toEqual(['clerks', 'viewers']);
  });
});

describe('rights assignments', () => {
  it('at the limit a new subject is refused (409 tenant_limit_reached) and nothing is stored; reassigning one is not', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '2' });
    await assign(deps, 'bob');
    await assign(deps, 'carol');
    const refused = await refusal(assign(deps, 'made-up-1'));
    expect(refused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2, what: 'rights-assignments' } });
    expect(refused.detail).toMatch(/2 rights assignments.*at most 2.*ARCHIVE_MAX_RIGHTS_ASSIGNMENTS/);
    expect(assigned(deps)).toEqual(['bob', 'carol']);
    await expect(assign(deps, 'bob', 'accountant')).resolves.toMatchObject({ subject: 'bob', rightsSet: 'accountant' });
  });

  it('a removed assignment frees room', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '2' });
    await assign(deps, 'bob');
    await assign(deps, 'carol');
    await unassignRightsSet(admin, 'carol', deps.clock.now(), deps);
    await expect(assign(deps, 'dave')).resolves.toMatchObject({ subject: 'dave' });
    expect(assigned(deps)).toEqual(['bob', 'dave']);
  });

  it('two new subjects assigned at once into the last room: one is stored, the other refused', async () => {
    const deps = limited({ ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '2' });
    await assign(deps, 'bob');
    const paused = refusal(interleave(deps.tenantRecords, 'countRightsAssignments', (args) => args[0] === T, () => assign(deps, 'carol'), async () => {
      await assign(deps, 'dave');
    }));
    expect(await paused).toMatchObject({ code: 'tenant_limit_reached', extensions: { limit: 2, count: 2 } });
    expect(assigned(deps)).toEqual(['bob', 'dave']);
  });
});
