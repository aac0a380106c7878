/**
 * The tenant's rights gate: a SoD policy change and a change of what someone holds, decided at once, each on the
 * other's old state, used to both be stored (a policy claimed clean over a set, or a key, holding its new pair).
 * Now the later writer finds the gate moved and is judged again on what the earlier one wrote, and refused.
 * The tenant starts with no stored policy (the default applies) and, where nothing was written before, no gate.
 */
import { createApiKey, judgeKeyRightsSet } from '../../../shared/auth/api-keys/create-api-key';
import { RIGHTS_GATE_ID } from '../../../shared/auth/rights-gate';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { actor, type RightsSetRecord, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { DEFAULT_SOD_POLICY, type SodPolicy } from '../../../shared/auth/sod';
import { ZListSodPolicyProposalsQuery } from '../../../shared/auth/sod-policy-proposals';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps, type InMemoryDeps, signedIn } from '../../support/in-memory';
import { interleave } from '../../support/interleave';

const T = 'acme';
// Holders of a set of their own (no built-in set, none stored): what they hold conflicts with no policy here.
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });
const alice = admin('alice');
const bob = admin('bob');
/** The default pair and one more: a strengthening, applied at once. */
const tighter = (pair: [Permission, Permission]): SodPolicy => ({ ...DEFAULT_SOD_POLICY, conflicts: [...DEFAULT_SOD_POLICY.conflicts, pair] });
const downloadAndAudit: [Permission, Permission] = ['documents:download', 'audit:read'];

const setOf = async (deps: InMemoryDeps, name: string) => (await deps.tenantRecords.get<RightsSetRecord>(T, rightsSetRecordId(name), 'rights-set'))?.value.permissions;
const isTenant = (args: unknown[]) => args[0] === T;

async function refusal(p: Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await p;
  } catch (err) {
    return err as Record<string, unknown>;
  }
  throw new Error('expected a refusal');
}

describe('a SoD policy tightened while a rights set is widened', () => {
  async function clerks() {
    const deps = inMemoryDeps();
    // alice signed in with a set of rights:manage: she still holds it when her proposal is approved. (Not tenant-admin,
    // which holds the pair these tests declare: the policy would be refused for her holding, rights.ts checkPolicy.)
    await putRightsSet(bob, 'managers', ['rights:manage'], deps.clock.now(), deps);
    await signedIn(deps.tenantRecords, T, ['alice'], deps.clock.now(), 'managers');
    await putRightsSet(alice, 'clerks', ['documents:read', 'documents:download'], deps.clock.now(), deps);
    return deps;
  }

  it('the policy judged on the set before it was widened is judged again: 409 conflicting_rights_held, nothing changed', async () => {
    const deps = await clerks();
    const changed = refusal(
      interleave(deps.tenantRecords, 'list', (args) => isTenant(args) && args[1] === 'rights-set', () => deps.sodPolicy.change(alice, tighter(downloadAndAudit), deps.clock.now()), async () => {
        await putRightsSet(bob, 'clerks', ['documents:read', 'documents:download', 'audit:read'], deps.clock.now(), deps);
      }),
    );
    expect(await changed).toMatchObject({ code: 'conflicting_rights_held', extensions: { holders: [{ rightsSet: 'clerks', conflict: downloadAndAudit }] } });
    expect(await deps.rights.policy(T)).toEqual(DEFAULT_SOD_POLICY);
    expect(await setOf(deps, 'clerks')).toEqual(['audit:read', 'documents:download', 'documents:read']);
  });

  it('the set judged on the policy before it was tightened is judged again: 403 conflicting-permissions, the set as it was', async () => {
    const deps = await clerks();
    const widened = refusal(
      interleave(deps.tenantRecords, 'get', (args) => isTenant(args) && args[1] === 'sod-policy', () => putRightsSet(bob, 'clerks', ['documents:read', 'documents:download', 'audit:read'], deps.clock.now(), deps), async () => {
        expect(await deps.sodPolicy.change(alice, tighter(downloadAndAudit), deps.clock.now())).toHaveProperty('applied');
      }),
    );
    expect(await widened).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'conflicting-permissions', conflict: downloadAndAudit, rightsSet: 'clerks' } });
    expect(await setOf(deps, 'clerks')).toEqual(['documents:download', 'documents:read']);
    expect((await deps.rights.policy(T)).conflicts).toContainEqual(downloadAndAudit);
  });

  it('an approved proposal judged on the set before it was widened is judged again (409), and stays pending', async () => {
    const deps = await clerks();
    // Mixed: declares download × audit, drops the default pair: a weakening, so a proposal.
    const outcome = await deps.sodPolicy.change(alice, { conflicts: [downloadAndAudit], uploaderCannotApproveDisposal: true }, deps.clock.now());
    if (!('proposed' in outcome)) throw new Error('expected a proposal');
    const approved = refusal(
      interleave(deps.tenantRecords, 'list', (args) => isTenant(args) && args[1] === 'rights-set', () => deps.sodPolicy.approve(bob, outcome.proposed.proposalId, 'agreed', deps.clock.now()), async () => {
        await putRightsSet(admin('carol'), 'clerks', ['documents:read', 'documents:download', 'audit:read'], deps.clock.now(), deps);
      }),
    );
    expect(await approved).toMatchObject({ code: 'conflicting_rights_held' });
    expect(await deps.rights.policy(T)).toEqual(DEFAULT_SOD_POLICY);
    expect((await deps.sodPolicy.list(T, ZListSodPolicyProposalsQuery.parse({ state: 'all' }), deps.clock.now())).items.map((p) => p.state)).toEqual(['pending']);
  });
});

describe('a SoD policy tightened while an API key is minted', () => {
  // auditor (a built-in set nobody holds yet) holds exports:create and audit:read.
  const exportAndAudit: [Permission, Permission] = ['exports:create', 'audit:read'];
  const mint = (deps: InMemoryDeps) =>
    createApiKey(
      { tenantId: T, name: 'reviews', rightsSet: 'auditor', expiresAt: new Date(deps.clock.now().getTime() + 86_400_000), createdBy: actor(bob), ceiling: [...bob.permissions], personPermissions: [...bob.permissions], now: deps.clock.now(), judgeRightsSet: () => judgeKeyRightsSet(bob, 'auditor', deps) },
      deps,
    );

  it('the key judged on the policy before it was tightened is judged again: 403 conflicting-permissions, no key', async () => {
    const deps = inMemoryDeps();
    expect(await deps.tenantRecords.get(T, RIGHTS_GATE_ID, 'rights-gate')).toBeNull();
    const minted = refusal(
      interleave(deps.tenantRecords, 'get', (args) => isTenant(args) && args[1] === 'sod-policy', () => mint(deps), async () => {
        expect(await deps.sodPolicy.change(alice, tighter(exportAndAudit), deps.clock.now())).toHaveProperty('applied');
      }),
    );
    expect(await minted).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'conflicting-permissions', conflict: exportAndAudit, rightsSet: 'auditor' } });
    expect(deps.tenantRecords.stored(T, 'api-key')).toEqual([]);
  });

  it('the policy judged on the keys before one was minted is judged again: 409 naming the key, the policy as it was', async () => {
    const deps = inMemoryDeps();
    let keyId = '';
    const changed = refusal(
      interleave(deps.tenantRecords, 'apiKeysInUse', (args) => isTenant(args), () => deps.sodPolicy.change(alice, tighter(exportAndAudit), deps.clock.now()), async () => {
        keyId = (await mint(deps)).record.keyId;
      }),
    );
    expect(await changed).toMatchObject({ code: 'conflicting_rights_held', extensions: { holders: [{ rightsSet: 'auditor', apiKeys: [keyId], conflict: exportAndAudit }] } });
    expect(await deps.rights.policy(T)).toEqual(DEFAULT_SOD_POLICY);
  });
});

it('a SoD policy judged on the assignments before a built-in set was assigned is judged again: 409 naming the subject', async () => {
  const deps = inMemoryDeps();
  const exportAndAudit: [Permission, Permission] = ['exports:create', 'audit:read'];
  const changed = refusal(
    interleave(deps.tenantRecords, 'list', (args) => isTenant(args) && args[1] === 'rights-assignment', () => deps.sodPolicy.change(alice, tighter(exportAndAudit), deps.clock.now()), async () => {
      await assignRightsSet(bob, 'carol', 'auditor', deps.clock.now(), deps);
    }),
  );
  expect(await changed).toMatchObject({ code: 'conflicting_rights_held', extensions: { holders: [{ rightsSet: 'auditor', subjects: ['carol'], conflict: exportAndAudit }] } });
  expect(await deps.rights.policy(T)).toEqual(DEFAULT_SOD_POLICY);
});
