/**
 * Tenant settings are cached per instance for a stated lifetime (absent records too), a write
 * through the instance applies at once, and API keys / support grants are never cached.
 * The tenants container is an in-memory fake that counts point reads.
 */
import fc from 'fast-check';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import type { Container } from '@azure/cosmos';
import { TenantRights } from '../../../shared/auth/rights';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { findRightsAssignment } from '../../../shared/auth/rights-sets/find-rights-assignment';
import { rightsSetPermissions } from '../../../shared/auth/rights-sets/rights-set-permissions';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsGivenTo } from '../../../shared/auth/rights-sets/rights-given';
import { rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { RetentionPolicies } from '../../../shared/adapters/azure/retention-store';
import { safeguardsOf } from '../../../shared/retention/policy';
import { TenantSettingsCache } from '../../../shared/adapters/azure/settings-cache';
import { TenantRecords } from '../../../shared/adapters/azure/tenant-records';
import { FakeClock } from '../../support/fake-clock';
import { InMemoryAuditLog, InMemoryBlobArchive, RecordingLogger } from '../../support/in-memory';

function fakeContainer() {
  const items = new Map<string, Record<string, unknown>>();
  const reads: string[] = [];
  const key = (tenantId: string, id: string) => `${tenantId}/${id}`;
  const notFound = () => Object.assign(new Error('not found'), { code: 404 });
  const container = {
    item: (id: string, tenantId: string) => ({
      read: async () => {
        reads.push(id);
        const r = items.get(key(tenantId, id));
        if (!r) throw notFound();
        return { resource: structuredClone(r), etag: 'e' };
      },
      replace: async (doc: Record<string, unknown>) => void items.set(key(tenantId, id), doc),
      delete: async () => {
        if (!items.delete(key(tenantId, id))) throw notFound();
      },
    }),
    items: {
      upsert: async (doc: Record<string, unknown>) => void items.set(key(doc.tenantId as string, doc.id as string), doc),
      create: async (doc: Record<string, unknown>) => void items.set(key(doc.tenantId as string, doc.id as string), doc),
      // A query of one type in the tenant's partition (its `where` is not modelled): never cached, as in Cosmos.
      query: (spec: { parameters: { name: string; value: unknown }[] }) => ({
        fetchAll: async () => {
          const at = (name: string) => spec.parameters.find((p) => p.name === name)?.value;
          return { resources: [...items.values()].filter((d) => d.tenantId === at('@t') && d.type === at('@type')).map((d) => structuredClone(d)) };
        },
      }),
      // A transactional batch whose conditions hold (every item's etag is 'e').
      batch: async (ops: { operationType: string; id?: string; resourceBody?: Record<string, unknown> }[], tenantId: string) => {
        for (const op of ops) {
          if (op.operationType === 'Delete') items.delete(key(tenantId, op.id!));
          else items.set(key(tenantId, op.resourceBody!.id as string), op.resourceBody!);
        }
        return { result: ops.map(() => ({ statusCode: 200 })) };
      },
    },
  };
  /** Another instance (or an operator) writing straight to the store. */
  const writeElsewhere = (doc: Record<string, unknown>) => items.set(key(doc.tenantId as string, doc.id as string), doc);
  return { container: container as unknown as Container, reads, writeElsewhere };
}

const admin: Principal = { tenantId: 'acme', subject: 'admin', kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(BUILT_IN_RIGHTS_SETS['archivist']) };
const TTL_MS = 30_000;

function setup() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const store = fakeContainer();
  const cache = new TenantSettingsCache(TTL_MS, clock);
  const tenantRecords = new TenantRecords(store.container, singleKeyring(async () => Buffer.alloc(32)), cache);
  const deps = { tenantRecords, rights: new TenantRights(tenantRecords), config: { ARCHIVE_MAX_RIGHTS_SETS: 200, ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: 10_000 }, blobs: new InMemoryBlobArchive(() => new Date()), audit: new InMemoryAuditLog(), log: new RecordingLogger() };
  // The reads and writes the authenticator and the rights operations make, over one cached records port.
  const rights = {
    assignmentOf: (tenantId: string, subject: string) => findRightsAssignment(tenantId, subject, deps),
    policy: (tenantId: string) => deps.rights.policy(tenantId),
    permissionsOf: (tenantId: string, name: string) => rightsSetPermissions(tenantId, name, deps),
    assign: (p: Principal, subject: string, rightsSet: string, now: Date) => assignRightsSet(p, subject, rightsSet, now, deps),
    unassign: (p: Principal, subject: string) => unassignRightsSet(p, subject, new Date(), deps),
    putSet: (p: Principal, name: string, permissions: Permission[]) => putRightsSet(p, name, permissions, new Date(), deps),
    givenTo: (p: Principal) => rightsGivenTo(p, { ...deps, clock }),
  };
  return { clock, store, cache, rights };
}

describe('tenant settings cache', () => {
  it('reads an assignment, the SoD policy and a rights set once per lifetime, absent ones included', async () => {
    const { store, rights, clock } = setup();
    for (let i = 0; i < 5; i++) {
      expect(await rights.assignmentOf('acme', 'alice')).toBeNull();
      await rights.policy('acme');
      expect(await rights.permissionsOf('acme', 'custom')).toBeNull();
    }
    expect(store.reads).toHaveLength(3);
    clock.advance(TTL_MS);
    await rights.assignmentOf('acme', 'alice');
    expect(store.reads).toHaveLength(4);
  });

  it('a change on another instance applies within the lifetime, never later', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.integer({ min: 0, max: TTL_MS * 2 }), { minLength: 1, maxLength: 8 }), async (steps) => {
        const { store, rights, clock } = setup();
        store.writeElsewhere({ id: 'rights-set:custom', tenantId: 'acme', type: 'rights-set', name: 'custom', permissions: ['documents:read'] });
        expect(await rights.permissionsOf('acme', 'custom')).toEqual(['documents:read']);
        const changedAt = clock.now().getTime();
        store.writeElsewhere({ id: 'rights-set:custom', tenantId: 'acme', type: 'rights-set', name: 'custom', permissions: [] });
        for (const step of steps) {
          clock.advance(step);
          const seen = await rights.permissionsOf('acme', 'custom');
          if (clock.now().getTime() - changedAt >= TTL_MS) expect(seen).toEqual([]);
        }
      }),
    );
  });

  it('a change through this instance applies at once', async () => {
    const { rights } = setup();
    expect(await rights.assignmentOf('acme', 'bob')).toBeNull();
    await rights.assign(admin, 'bob', 'archivist', new Date());
    expect((await rights.assignmentOf('acme', 'bob'))?.rightsSet).toBe('archivist');
    await rights.unassign(admin, 'bob');
    expect(await rights.assignmentOf('acme', 'bob')).toBeNull();
  });

  it('an assignment is judged on the rights set as stored, not on a cached copy another instance widened since (rights ceiling)', async () => {
    const { store, rights } = setup();
    const set = (permissions: Permission[]) => ({ id: 'rights-set:clerks', tenantId: 'acme', type: 'rights-set', name: 'clerks', permissions, updatedAt: '2025-03-01T12:00:00Z', updatedBy: { subject: 'root', kind: 'user' } });
    store.writeElsewhere(set(['documents:read']));
    expect(await rights.permissionsOf('acme', 'clerks')).toEqual(['documents:read']);
    // Someone holding audit:read adds it to the set on another instance; this one still has the old copy.
    store.writeElsewhere(set(['documents:read', 'audit:read']));
    await expect(rights.assign(admin, 'bob', 'clerks', new Date())).rejects.toMatchObject({ extensions: { rule: 'rights-ceiling', permissions: ['audit:read'] } });
    expect(await rights.assignmentOf('acme', 'bob')).toBeNull();
  });

  it('a rights set or an assignment is judged on the SoD policy as stored, not on a cached copy (a pair declared on another instance)', async () => {
    const { store, rights } = setup();
    const auditorAdmin: Principal = { ...admin, permissions: new Set<Permission>([...BUILT_IN_RIGHTS_SETS['auditor']!, 'rights:manage']) };
    expect((await rights.policy('acme')).conflicts).toEqual([['documents:write', 'retention:approve']]);
    // Another instance declares download and audit reading conflicting; this one still has the default cached.
    store.writeElsewhere({ id: 'sod-policy', tenantId: 'acme', type: 'sod-policy', conflicts: [['documents:download', 'audit:read']], uploaderCannotApproveDisposal: true, updatedAt: '2025-03-01T12:00:00Z', updatedBy: { subject: 'root', kind: 'user' } });
    const refused = { extensions: { rule: 'conflicting-permissions', conflict: ['documents:download', 'audit:read'] } };
    await expect(rights.assign(auditorAdmin, 'bob', 'auditor', new Date())).rejects.toMatchObject(refused);
    await expect(rights.putSet(auditorAdmin, 'reviewers', ['documents:download', 'audit:read'])).rejects.toMatchObject(refused);
    expect(await rights.assignmentOf('acme', 'bob')).toBeNull();
    expect(await rights.permissionsOf('acme', 'reviewers')).toBeNull();
  });

  it('four eyes ask who gave a person their rights as stored: an assignment made on another instance a moment ago counts', async () => {
    const { store, rights } = setup();
    expect(await rights.assignmentOf('acme', 'guest')).toBeNull();
    store.writeElsewhere({ id: rightsAssignmentRecordId('guest'), tenantId: 'acme', type: 'rights-assignment', subject: 'guest', rightsSet: 'tenant-admin', assignedAt: '2025-03-01T12:00:00.000Z', assignedBy: { subject: 'alice', kind: 'user' } });
    const guest: Principal = { tenantId: 'acme', subject: 'guest', kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(BUILT_IN_RIGHTS_SETS['tenant-admin']) };
    expect(await rights.givenTo(guest)).toEqual([{ through: 'rights-assignment', at: '2025-03-01T12:00:00.000Z', by: { subject: 'alice', kind: 'user' } }]);
  });

  it('callers cannot change what the next request sees', async () => {
    const { store, rights } = setup();
    store.writeElsewhere({ id: 'rights-set:custom', tenantId: 'acme', type: 'rights-set', name: 'custom', permissions: ['documents:read'] });
    (await rights.permissionsOf('acme', 'custom'))!.push('documents:write');
    expect(await rights.permissionsOf('acme', 'custom')).toEqual(['documents:read']);
  });

  it('API keys, support grants and the rights gate are read every time (revocation applies at once; a gated change decides on the gate as stored)', async () => {
    const { store, cache } = setup();
    const records = new TenantRecords(store.container, singleKeyring(async () => Buffer.alloc(32)), cache);
    for (let i = 0; i < 3; i++) {
      await records.get('acme', 'api-key:k1', 'api-key');
      await records.get('acme', 'support-grant:g1', 'support-grant');
      await records.get('acme', 'rights-gate', 'rights-gate');
    }
    expect(store.reads).toHaveLength(9);
  });

  it('a rights change reads the rights gate as stored, past the cache, each time', async () => {
    const { store, rights } = setup();
    await rights.assign(admin, 'bob', 'archivist', new Date());
    await rights.assign(admin, 'carol', 'archivist', new Date());
    expect(store.reads.filter((id) => id === 'rights-gate')).toHaveLength(2);
  });

  it('the retention policy is cached, and a put through this instance applies at once', async () => {
    const { store, cache } = setup();
    const policies = new RetentionPolicies(store.container, singleKeyring(async () => Buffer.alloc(32)), cache);
    expect(await policies.get('acme')).toBeNull();
    expect(await policies.get('acme')).toBeNull();
    expect(store.reads).toHaveLength(1);
    const policy = { classes: [], defaultClass: 'immovable-property-10y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
    expect(await policies.put('acme', policy, '2025-03-01T12:00:00Z', { subject: 'a', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null })).toBe('written');
    expect((await policies.get('acme'))?.defaultClass).toBe('immovable-property-10y');
  });
});
