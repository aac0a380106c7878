/**
 * Rules about people hold for the person behind an API key as they are now, not only as they
 * were when the key was minted: a right given since, and the set they hold in their own name.
 */
import { Authenticator, type JwtSettings } from '../../../shared/auth/authenticate';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { actor, rightsAssignmentRecordId, type RightsSetRecord, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
// Rights come from the tenant's assignments only; the JWKS is never reached (API keys only).
const settings: JwtSettings = { issuer: 'https://idp.example', audience: 'api://archive', jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], tenantClaim: 'tid', rightsClaim: 'rights', kindClaim: 'kind', rightsSource: 'tenant', clockToleranceSeconds: 0, keyPersonIdleDays: 30 };
const user = (subject: string, rightsSet: string, permissions: readonly Permission[]): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet, permissions: new Set(permissions) });
const RECORDS_MANAGER: Permission[] = ['documents:read', 'retention:manage', 'keys:manage', 'rights:manage'];
const policy = (requireDisposalApproval: boolean): TTenantRetentionPolicy => ({ classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval, fiscalYearEndMonth: 12 });

async function defineSet(deps: InMemoryDeps, name: string, permissions: Permission[]) {
  await putRightsSet(user('root', 'tenant-admin', BUILT_IN_RIGHTS_SETS['tenant-admin']!), name, permissions, deps.clock.now(), deps);
}
async function assign(deps: InMemoryDeps, subject: string, rightsSet: string) {
  await deps.tenantRecords.upsert({ id: rightsAssignmentRecordId(subject), tenantId: T, type: 'rights-assignment', subject, rightsSet, assignedAt: deps.clock.now().toISOString(), assignedBy: { subject: 'root', kind: 'user' } });
}
/** A key minted by `p`; each call of the result authenticates it afresh, as each request does. */
async function keyOf(deps: InMemoryDeps, p: Principal, rightsSet: string): Promise<() => Promise<Principal>> {
  const { key } = await createApiKey({ tenantId: T, name: 'k', rightsSet, expiresAt: new Date('2026-01-01T00:00:00Z'), createdBy: actor(p), ceiling: [...p.permissions], personPermissions: [...p.permissions], now: deps.clock.now() }, deps);
  const authenticator = new Authenticator(settings, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
  return () => authenticator.authenticate(`ApiKey ${key}`);
}

it('a person given retention:approve after minting a key cannot lower the safeguards through it', async () => {
  const deps = inMemoryDeps();
  await defineSet(deps, 'records-manager', RECORDS_MANAGER);
  await setRetentionPolicy(user('carol', 'records-manager', RECORDS_MANAGER), policy(true), deps);
  await assign(deps, 'alice', 'records-manager');
  const key = await keyOf(deps, user('alice', 'records-manager', RECORDS_MANAGER), 'records-manager');
  await assign(deps, 'alice', 'tenant-admin'); // promoted: she may approve disposals now
  await expect(setRetentionPolicy(user('alice', 'tenant-admin', BUILT_IN_RIGHTS_SETS['tenant-admin']!), policy(false), deps)).rejects.toMatchObject({ extensions: { rule: 'approver-lowers-safeguards' } });
  await expect(setRetentionPolicy(await key(), policy(false), deps)).rejects.toMatchObject({ extensions: { rule: 'approver-lowers-safeguards' } });
  expect((await deps.retention.policies.get(T))!.requireDisposalApproval).toBe(true);
});

it('a person cannot change the rights set they hold through a key on another, smaller set', async () => {
  const deps = inMemoryDeps();
  const ADMINS: Permission[] = ['documents:read', 'rights:manage', 'keys:manage', 'retention:approve', 'audit:read'];
  await defineSet(deps, 'admins', ADMINS);
  await defineSet(deps, 'key-admin', ['documents:read', 'rights:manage']);
  await assign(deps, 'alice', 'admins');
  const alice = user('alice', 'admins', ADMINS);
  await expect(putRightsSet(alice, 'admins', ['documents:read', 'rights:manage'], deps.clock.now(), deps)).rejects.toMatchObject({ extensions: { rule: 'own-rights' } });
  const key = await keyOf(deps, alice, 'key-admin');
  await expect(putRightsSet(await key(), 'admins', ['documents:read', 'rights:manage'], deps.clock.now(), deps)).rejects.toMatchObject({ extensions: { rule: 'own-rights' } });
  expect((await deps.tenantRecords.get<RightsSetRecord>(T, rightsSetRecordId('admins'), 'rights-set'))!.value.permissions).toEqual([...ADMINS].sort());
});

it('a key minted by a person whose assignment is removed meanwhile follows the assignment (nothing), not its ceiling', async () => {
  const deps = inMemoryDeps();
  await assign(deps, 'alice', 'tenant-admin');
  // Rights from the tenant, else the claim: a key whose person has no assignment falls back on its ceiling for a while.
  const authenticator = new Authenticator({ ...settings, rightsSource: 'tenant-then-claim' }, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
  (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: T, subject: token, kind: 'user', claimedRightsSet: null, expiresAt: '2030-01-01T00:00:00.000Z', issuedAt: null });
  const alice = await authenticator.authenticate('Bearer alice');
  expect(alice.permissions.has('keys:manage')).toBe(true);
  // Her assignment is removed after her request was authenticated, before the key is written (the gate moved: judged again).
  await deps.tenantRecords.delete(T, rightsAssignmentRecordId('alice'));
  const { key } = await createApiKey({ tenantId: T, name: 'k', rightsSet: 'auditor', expiresAt: new Date('2026-01-01T00:00:00Z'), createdBy: actor(alice), ceiling: [...alice.permissions], personPermissions: [...alice.permissions], personAssigned: alice.personAssigned === true, now: deps.clock.now() }, deps);
  expect([...(await authenticator.authenticate(`ApiKey ${key}`)).permissions]).toEqual([]);
});
