/**
 * What reads a tenant's API keys per request reads only the keys in use (as many as ARCHIVE_MAX_API_KEYS allows), never
 * the revoked and expired ones a tenant piles up by creating and revoking keys without end: a person's key permissions
 * (retention policy changes), the SoD policy's check of holdings (and the deletion of a rights set: integration
 * api-key-pile.test.ts, as the fakes model no filtered list). Each used to read every key record the tenant ever had.
 * An expired key never acts again, so it holds no set and breaks no policy.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { listPersonKeyPermissions } from '../../../shared/auth/api-keys/list-person-key-permissions';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });
const alice = admin('alice');
const bob = admin('bob');

const mint = (deps: InMemoryDeps, by: Principal, rightsSet: string, days = 30) =>
  createApiKey({ tenantId: T, name: 'k', rightsSet, expiresAt: new Date(deps.clock.now().getTime() + days * DAY), createdBy: actor(by), ceiling: [...by.permissions], personPermissions: [...by.permissions], now: deps.clock.now() }, deps);

/** A tenant that minted and revoked many keys holding `rightsSet` and let one expire; `api-key` lists of the records are counted from here on. */
async function pileOfKeys(rightsSet: string) {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  await putRightsSet(alice, 'clerks', ['documents:read', 'exports:create'], deps.clock.now(), deps);
  for (let i = 0; i < 12; i++) await revokeApiKey(T, (await mint(deps, bob, rightsSet)).record.keyId, actor(bob), deps.clock.now(), deps);
  await mint(deps, bob, rightsSet, 1);
  clock.advance(2 * DAY);
  const records = deps.tenantRecords;
  const keyLists: unknown[][] = [];
  const list = records.list.bind(records);
  records.list = async (...args: Parameters<typeof list>) => {
    if (args[1] === 'api-key') keyLists.push(args);
    return list(...args);
  };
  records.keyQueries.length = 0;
  return { deps, keyLists };
}

it("a person's key permissions come from their keys in use only", async () => {
  const { deps, keyLists } = await pileOfKeys('clerks');
  expect([...(await listPersonKeyPermissions(T, 'bob', deps.clock.now(), deps))]).toEqual([]);
  await mint(deps, bob, 'clerks');
  expect([...(await listPersonKeyPermissions(T, 'bob', deps.clock.now(), deps))].sort()).toEqual(['documents:read', 'exports:create']);
  expect(deps.tenantRecords.keyQueries.filter((q) => q.query !== 'count')).toEqual([{ tenantId: T, query: 'in-use' }, { tenantId: T, query: 'in-use' }]);
  expect(keyLists).toEqual([]);
});

it('a SoD policy is judged on the keys in use: expired keys holding the pair do not stop it, a key in use does', async () => {
  // auditor (a built-in set, judged only where held) holds exports:create and audit:read.
  const { deps, keyLists } = await pileOfKeys('auditor');
  const tighter = { ...DEFAULT_SOD_POLICY, conflicts: [...DEFAULT_SOD_POLICY.conflicts, ['exports:create', 'audit:read'] as [Permission, Permission]] };
  const inUse = (await mint(deps, bob, 'auditor')).record.keyId;
  await expect(deps.sodPolicy.change(alice, tighter, deps.clock.now())).rejects.toMatchObject({ code: 'conflicting_rights_held', extensions: { holders: [{ rightsSet: 'auditor', apiKeys: [inUse] }] } });
  await revokeApiKey(T, inUse, actor(bob), deps.clock.now(), deps);
  expect(await deps.sodPolicy.change(alice, tighter, deps.clock.now())).toHaveProperty('applied');
  expect(keyLists).toEqual([]);
});
