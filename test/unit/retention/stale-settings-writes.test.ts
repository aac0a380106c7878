import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { type RightsSetRecord, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';
import { inMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const user = (subject: string, permissions: readonly Permission[]): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'x', permissions: new Set(permissions) });
const manager = user('bob', ['retention:manage']);
const approver = user('alice', BUILT_IN_RIGHTS_SETS['tenant-admin']!); // retention:manage and retention:approve
const policy = (requireDisposalApproval: boolean): TTenantRetentionPolicy => ({ classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval, fiscalYearEndMonth: 12 });

it('a lowering decided on a stale read (another instance\'s cache) does not overwrite a just-raised safeguard: it is decided again, and refused', async () => {
  const deps = inMemoryDeps();
  await setRetentionPolicy(manager, policy(false), deps);
  const stale = await deps.retention.policies.getVersioned(T); // what another instance's cache still holds
  await setRetentionPolicy(manager, policy(true), deps); // on this instance
  const versioned = deps.retention.policies.getVersioned.bind(deps.retention.policies);
  let reads = 0;
  deps.retention.policies.getVersioned = async (tenantId) => (reads++ === 0 ? structuredClone(stale) : versioned(tenantId));
  await expect(setRetentionPolicy(approver, policy(false), deps)).rejects.toMatchObject({ extensions: { rule: 'approver-lowers-safeguards' } });
  expect(reads).toBe(2);
  const stored = await deps.retention.policies.get(T);
  expect([stored?.requireDisposalApproval, stored?.safeguards?.requireDisposalApproval]).toEqual([true, true]);
});

it('a rights-set change decided on a stale copy is decided again on the stored set: a permission another admin just removed is not put back by someone who lacks it', async () => {
  const deps = inMemoryDeps();
  const root = user('root', BUILT_IN_RIGHTS_SETS['tenant-admin']!);
  await putRightsSet(root, 'clerks', ['documents:read', 'retention:approve'], deps.clock.now(), deps);
  const stale = await deps.tenantRecords.get(T, rightsSetRecordId('clerks'), 'rights-set'); // another instance's cached copy
  await putRightsSet(root, 'clerks', ['documents:read'], deps.clock.now(), deps); // retention:approve removed
  // Carol manages rights but does not hold retention:approve: she may keep it only where it already is.
  const carol = user('carol', ['rights:manage', 'documents:read', 'audit:read']);
  const get = deps.tenantRecords.get.bind(deps.tenantRecords);
  let reads = 0;
  deps.tenantRecords.get = (async (tenantId: string, id: string, type: string) => (id === rightsSetRecordId('clerks') && reads++ === 0 ? structuredClone(stale) : get(tenantId, id, type))) as typeof deps.tenantRecords.get;
  await expect(putRightsSet(carol, 'clerks', ['documents:read', 'retention:approve', 'audit:read'], deps.clock.now(), deps)).rejects.toMatchObject({ extensions: { rule: 'rights-ceiling', permissions: ['retention:approve'] } });
  expect((await get<RightsSetRecord>(T, rightsSetRecordId('clerks'), 'rights-set'))!.value.permissions).toEqual(['documents:read']);
});

it('a policy change\'s audit entry (or its proposal\'s) says what the policy now is and what it lowers (the stored policy keeps no history)', async () => {
  const { auditOutboxItem } = await import('../../../shared/kernel/audit');
  const details: (string | undefined)[] = [];
  const staging = { item: (target?: string, detail?: string) => (details.push(detail), auditOutboxItem([{ tenantId: T, at: '2026-01-01T00:00:00.000Z', actor: { subject: 'bob', kind: 'user' }, action: 'retention.policy-set', target: target ?? null, outcome: 'success', status: 200, requestId: 'r', clientIp: null, userAgent: null, ...(detail ? { detail } : {}) }])), stored: () => undefined };
  const deps = inMemoryDeps();
  await setRetentionPolicy(manager, { ...policy(true), classes: [{ name: 'contracts', years: 12 }] }, deps, { applied: staging, proposed: staging });
  await setRetentionPolicy(manager, { ...policy(false), classes: [{ name: 'contracts', years: 8 }], fiscalYearEndMonth: 6 }, deps, { applied: staging, proposed: staging });
  expect(details).toEqual([
    expect.stringMatching(/^approval=required;fiscal-year-end=12;default=fiscal-7y;classes=fiscal-7y:7,immovable-property-10y:10,contracts:12;lowered=none;kept-revision=1740830400000;kept-digest=[0-9a-f]{64}$/),
    'approval=off;fiscal-year-end=6;default=fiscal-7y;classes=fiscal-7y:7,immovable-property-10y:10,contracts:8;lowered=disposal-approval-off,class-shortened:contracts,fiscal-year-end-earlier',
  ]);
});
