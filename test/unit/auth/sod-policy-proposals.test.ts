import { InMemoryAuditLog, InMemoryBlobArchive, RecordingLogger, signedIn } from '../../support/in-memory';
import { TenantRights } from '../../../shared/auth/rights';
import { SodPolicyProposals, ZListSodPolicyProposalsQuery } from '../../../shared/auth/sod-policy-proposals';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { deleteRightsSet } from '../../../shared/auth/rights-sets/delete-rights-set';
import { PersonSightings } from '../../../shared/auth/person-sightings';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { ArchiveError } from '../../../shared/kernel/errors';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import type { Page, QueryParameter, ProposalListState, ProposalType, TenantRecord, TenantRecordsPort, TenantRecordWrite, VersionedRecord } from '../../../shared/ports';

/** Tenant records in memory, with etags, and a hook that runs before a batch (a concurrent writer). */
class MemoryRecords implements TenantRecordsPort {
  readonly items = new Map<string, { value: TenantRecord; etag: string }>();
  private n = 0;
  beforeBatch: (() => Promise<void>) | null = null;
  private put(record: TenantRecord) {
    this.items.set(`${record.tenantId}/${record.id}`, { value: structuredClone(record), etag: `e${++this.n}` });
  }
  async get<T extends TenantRecord>(tenantId: string, id: string, type: T['type']): Promise<VersionedRecord<T> | null> {
    const found = this.items.get(`${tenantId}/${id}`);
    return found && found.value.type === type ? { value: structuredClone(found.value) as T, etag: found.etag } : null;
  }
  async create<T extends TenantRecord>(record: T): Promise<'created' | 'exists'> {
    if (this.items.has(`${record.tenantId}/${record.id}`)) return 'exists';
    this.put(record);
    return 'created';
  }
  async replace<T extends TenantRecord>(record: T, etag: string): Promise<'replaced' | 'conflict'> {
    if (this.items.get(`${record.tenantId}/${record.id}`)?.etag !== etag) return 'conflict';
    this.put(record);
    return 'replaced';
  }
  async upsert<T extends TenantRecord>(record: T): Promise<void> {
    this.put(record);
  }
  async delete(tenantId: string, id: string): Promise<boolean> {
    return this.items.delete(`${tenantId}/${id}`);
  }
  async batch(tenantId: string, writes: readonly TenantRecordWrite[]): Promise<'written' | 'conflict'> {
    const hook = this.beforeBatch;
    this.beforeBatch = null;
    await hook?.();
    const found = (w: TenantRecordWrite) => this.items.get(`${tenantId}/${w.op === 'delete' ? w.id : w.record.id}`);
    const holds = (w: TenantRecordWrite) => (w.op === 'create' ? !found(w) : w.op === 'upsert' || (found(w) !== undefined && (w.ifMatch === undefined || found(w)!.etag === w.ifMatch)));
    if (!writes.every(holds)) return 'conflict';
    for (const w of writes) {
      if (w.op === 'delete') this.items.delete(`${tenantId}/${w.id}`);
      else this.put(w.record);
    }
    return 'written';
  }
  async list<T extends TenantRecord>(tenantId: string, type: T['type'], where?: string, p?: QueryParameter[]): Promise<T[]> {
    // The one filter these tests need (a set's assignments, for its deletion); any other lists the type.
    const bySet = where === 'c.rightsSet = @n' ? p?.[0]?.value : undefined;
    return [...this.items.values()].map((i) => i.value).filter((v): v is T => v.tenantId === tenantId && v.type === type && (bySet === undefined || (v as { rightsSet?: unknown }).rightsSet === bySet));
  }
  // These tests mint no keys.
  async countApiKeysInUse(): Promise<number> {
    return 0;
  }
  async countRightsAssignments(tenantId: string): Promise<number> {
    return (await this.list(tenantId, 'rights-assignment')).length;
  }
  async apiKeysInUse<T extends TenantRecord>(): Promise<T[]> {
    return [];
  }
  async apiKeyPage<T extends TenantRecord>(): Promise<Page<T>> {
    return { items: [], continuationToken: null };
  }
  // Nor support grants.
  async supportGrantsInForce<T extends TenantRecord>(): Promise<T[]> {
    return [];
  }
  async supportGrantPage<T extends TenantRecord>(): Promise<Page<T>> {
    return { items: [], continuationToken: null };
  }
  async endsAtMigrated(): Promise<boolean> {
    return true;
  }
  async unsafeWithoutEndsAt(): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    return [];
  }
  async unsafeMarkEndsAtMigrated(): Promise<void> {}
  async keysSealed(): Promise<boolean> {
    return true;
  }
  async unsafeUnsealedKeys(): Promise<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }[]> {
    return [];
  }
  async unsafeMarkKeysSealed(): Promise<void> {}
  async sightingsSealed(): Promise<boolean> {
    return true;
  }
  async unsafeUnsealedSightings(): Promise<{ tenantId: string; id: string }[]> {
    return [];
  }
  async unsafeMarkSightingsSealed(): Promise<void> {}
  async unsafeSealedSightingsPage(): Promise<Page<{ tenantId: string; id: string }>> {
    return { items: [], continuationToken: null };
  }
  async unsafeKeysSealedNotWith(): Promise<Page<{ tenantId: string; id: string; type: 'api-key' | 'support-grant' }>> {
    return { items: [], continuationToken: null };
  }
  /** All of them on one page, newest first (these tests make few). */
  async proposalPage<T extends TenantRecord>(tenantId: string, type: ProposalType, state: ProposalListState): Promise<Page<T>> {
    const all = await this.list<T & { proposalId: string; state: string }>(tenantId, type);
    return { items: all.filter((p) => state === 'all' || p.state === state).sort((a, b) => b.proposalId.localeCompare(a.proposalId)), continuationToken: null };
  }
}

const admin = (subject: string, extra: Partial<Principal> = {}): Principal => ({ tenantId: 'acme', subject, kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(BUILT_IN_RIGHTS_SETS['tenant-admin']), ...extra });
const now = new Date('2030-01-01T00:00:00Z');

async function setup() {
  const records = new MemoryRecords();
  const rights = new TenantRights(records);
  const proposals = new SodPolicyProposals(records, rights, 'tenant-then-claim', { blobs: new InMemoryBlobArchive(() => now), log: new RecordingLogger(), audit: new InMemoryAuditLog() });
  // The proposers signed in as tenant-admins: they still hold rights:manage when their proposals are approved.
  await signedIn(records, 'acme', ['alice', 'bob', 'dave'], new Date(now.getTime() - 2 * 86_400_000));
  return { records, rights, proposals };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ArchiveError) return typeof err.extensions.rule === 'string' ? `${err.code}:${err.extensions.rule}` : err.code;
    throw err;
  }
  return undefined;
}

it('the proposer cannot approve, also as a key acting for them; another person can, once', async () => {
  const { rights, proposals } = await setup();
  const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
  if (!('proposed' in outcome)) throw new Error('expected a proposal');
  const id = outcome.proposed.proposalId;
  const aliceKey = admin('apikey:0123', { kind: 'client', person: 'alice' });
  expect(await codeOf(proposals.approve(aliceKey, id, 'ok', now))).toBe('segregation_of_duties:four-eyes-sod-policy');
  expect((await rights.policy('acme')).conflicts).toHaveLength(1);
  expect((await proposals.approve(admin('bob'), id, 'ok', now)).state).toBe('approved');
  expect((await rights.policy('acme')).conflicts).toEqual([]);
  expect(await codeOf(proposals.approve(admin('carol'), id, 'ok', now))).toBe('sod_policy_proposal_closed');
});

it('nor can someone the proposer gave rights to after proposing (a second identity of their own); someone assigned before can', async () => {
  const { records, rights, proposals } = await setup();
  const deps = { tenantRecords: records, rights, config: { ARCHIVE_MAX_RIGHTS_SETS: 200, ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: 10_000 }, blobs: new InMemoryBlobArchive(() => now), audit: new InMemoryAuditLog(), log: new RecordingLogger() };
  const earlier = new Date(now.getTime() - 86_400_000);
  await assignRightsSet(admin('alice'), 'bob', 'tenant-admin', earlier, deps);
  const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
  if (!('proposed' in outcome)) throw new Error('expected a proposal');
  const id = outcome.proposed.proposalId;
  await assignRightsSet(admin('alice'), 'alice-guest', 'tenant-admin', now, deps);
  expect(await codeOf(proposals.approve(admin('alice-guest'), id, 'ok', now))).toBe('segregation_of_duties:four-eyes-sod-policy');
  expect((await rights.policy('acme')).conflicts).toHaveLength(1);
  expect((await proposals.approve(admin('bob'), id, 'ok', now)).state).toBe('approved');
});

it('a policy written between the approval\'s check and its write: 409, the policy as the other writer left it, the proposal still pending', async () => {
  const { records, rights, proposals } = await setup();
  const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
  if (!('proposed' in outcome)) throw new Error('expected a proposal');
  // When the approval writes, someone else strengthens the policy (applies at once).
  records.beforeBatch = async () => {
    await proposals.change(admin('dave'), { conflicts: [['documents:write', 'retention:approve'], ['documents:write', 'holds:place']], uploaderCannotApproveDisposal: true }, now);
  };
  expect(await codeOf(proposals.approve(admin('bob'), outcome.proposed.proposalId, 'ok', now))).toBe('sod_policy_changed');
  expect((await rights.policy('acme')).conflicts).toHaveLength(2);
  expect((await proposals.list('acme', ZListSodPolicyProposalsQuery.parse({ state: 'all' }), now)).items.map((p) => p.state)).toEqual(['pending']);
});

/** Alice gave her guest account a harmless rights set a day ago, and proposes a weakening now. */
async function guestThenProposal() {
  const { records, rights, proposals } = await setup();
  const deps = { tenantRecords: records, rights, config: { ARCHIVE_MAX_RIGHTS_SETS: 200, ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: 10_000 }, blobs: new InMemoryBlobArchive(() => now), audit: new InMemoryAuditLog(), log: new RecordingLogger() };
  const earlier = new Date(now.getTime() - 86_400_000);
  await putRightsSet(admin('alice'), 'viewers', ['documents:read'], earlier, deps);
  await assignRightsSet(admin('alice'), 'alice-guest', 'viewers', earlier, deps);
  const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
  if (!('proposed' in outcome)) throw new Error('expected a proposal');
  return { rights, proposals, deps, outcome };
}

it('nor someone whose restrictive assignment the proposer removed after proposing (they act with their claimed rights since)', async () => {
  const { rights, proposals, deps, outcome } = await guestThenProposal();
  await unassignRightsSet(admin('alice'), 'alice-guest', now, deps);
  // Under AUTH_RIGHTS_SOURCE=tenant-then-claim the guest now acts with the tenant-admin their token claims.
  const guest = admin('alice-guest');
  expect(await codeOf(proposals.approve(guest, outcome.proposed.proposalId, 'ok', now))).toBe('segregation_of_duties:four-eyes-sod-policy');
  expect((await rights.policy('acme')).conflicts).toHaveLength(1);
});

it('a removal before the proposal leaves the approver a second person', async () => {
  const { records, rights, proposals } = await setup();
  const deps = { tenantRecords: records, rights, config: { ARCHIVE_MAX_RIGHTS_SETS: 200, ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: 10_000 }, blobs: new InMemoryBlobArchive(() => now), audit: new InMemoryAuditLog(), log: new RecordingLogger() };
  const earlier = new Date(now.getTime() - 86_400_000);
  await assignRightsSet(admin('alice'), 'carol', 'auditor', earlier, deps);
  await unassignRightsSet(admin('alice'), 'carol', earlier, deps);
  const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
  if (!('proposed' in outcome)) throw new Error('expected a proposal');
  await proposals.approve(admin('carol'), outcome.proposed.proposalId, 'ok', now);
  expect((await rights.policy('acme')).conflicts).toHaveLength(0);
});

it('nor someone whose rights set the proposer widened after proposing (assigned earlier, given rights:manage through the set since)', async () => {
  const { rights, proposals, deps, outcome } = await guestThenProposal();
  await putRightsSet(admin('alice'), 'viewers', ['documents:read', 'rights:manage'], now, deps);
  const guest = admin('alice-guest', { rightsSet: 'viewers', permissions: new Set<Permission>(['documents:read', 'rights:manage']) });
  expect(await codeOf(proposals.approve(guest, outcome.proposed.proposalId, 'ok', now))).toBe('segregation_of_duties:four-eyes-sod-policy');
  expect((await rights.policy('acme')).conflicts).toHaveLength(1);
});

describe('a second identity the proposer makes after proposing cannot make a third that counts as a second person', () => {
  type RightsDeps = Parameters<typeof assignRightsSet>[4] & Parameters<typeof putRightsSet>[4] & Parameters<typeof unassignRightsSet>[3];
  const approveAs = async (chain: (deps: RightsDeps) => Promise<void>, approver: Principal) => {
    const { records, rights, proposals } = await setup();
    const deps = { tenantRecords: records, rights, config: { ARCHIVE_MAX_RIGHTS_SETS: 200, ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: 10_000 }, blobs: new InMemoryBlobArchive(() => now), audit: new InMemoryAuditLog(), log: new RecordingLogger() };
    await assignRightsSet(admin('root'), 'bob', 'tenant-admin', new Date(now.getTime() - 86_400_000), deps);
    const outcome = await proposals.change(admin('alice'), { conflicts: [], uploaderCannotApproveDisposal: true }, now);
    if (!('proposed' in outcome)) throw new Error('expected a proposal');
    await chain(deps);
    const refusal = await proposals.approve(approver, outcome.proposed.proposalId, 'ok', now).then(() => null, (err: unknown) => err);
    return { refusal, conflicts: (await rights.policy('acme')).conflicts };
  };

  it('alice gives guest-1 tenant-admin after proposing, guest-1 gives guest-2: guest-2 is refused, naming alice and the chain', async () => {
    const { refusal, conflicts } = await approveAs(async (deps) => {
      await assignRightsSet(admin('alice'), 'guest-1', 'tenant-admin', now, deps);
      await assignRightsSet(admin('guest-1'), 'guest-2', 'tenant-admin', now, deps);
    }, admin('guest-2'));
    expect(refusal).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    expect((refusal as ArchiveError).extensions.approverRightsGivenThrough).toContain('guest-1');
    expect(conflicts).toHaveLength(1);
  });

  it('also three deep, and when the link up is a widened rights set rather than an assignment', async () => {
    const deep = await approveAs(async (deps) => {
      await assignRightsSet(admin('alice'), 'guest-1', 'tenant-admin', now, deps);
      await assignRightsSet(admin('guest-1'), 'guest-2', 'tenant-admin', now, deps);
      await assignRightsSet(admin('guest-2'), 'guest-3', 'tenant-admin', now, deps);
    }, admin('guest-3'));
    expect(deep.refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    const widened = await approveAs(async (deps) => {
      // guest-1 was given a harmless set before the proposal; alice widens that set now.
      await putRightsSet(admin('alice'), 'viewers', ['documents:read'], new Date(now.getTime() - 86_400_000), deps);
      await assignRightsSet(admin('alice'), 'guest-1', 'viewers', new Date(now.getTime() - 86_400_000), deps);
      await putRightsSet(admin('alice'), 'viewers', ['documents:read', 'rights:manage'], now, deps);
      await assignRightsSet(admin('guest-1', { rightsSet: 'viewers', permissions: new Set<Permission>(['documents:read', 'rights:manage']) }), 'guest-2', 'viewers', now, deps);
    }, admin('guest-2', { rightsSet: 'viewers', permissions: new Set<Permission>(['documents:read', 'rights:manage']) }));
    expect(widened.refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
  });

  it('an identity alice made before proposing stays one whose rights predate it, and so does one it makes', async () => {
    const { refusal, conflicts } = await approveAs(async () => undefined, admin('bob'));
    expect(refusal).toBeNull();
    expect(conflicts).toEqual([]);
    const made = await approveAs(async (deps) => {
      await assignRightsSet(admin('bob'), 'carol', 'tenant-admin', now, deps);
    }, admin('carol'));
    expect(made.refusal).toBeNull();
  });

  it('nor when the third rewrites the second\'s assignment, removes it, or widens the set alice widened (the record of alice\'s giving replaced)', async () => {
    const made = async (deps: RightsDeps) => {
      await assignRightsSet(admin('alice'), 'guest-1', 'tenant-admin', now, deps);
      await assignRightsSet(admin('guest-1'), 'guest-2', 'tenant-admin', now, deps);
    };
    const reassigned = await approveAs(async (deps) => {
      await made(deps);
      await assignRightsSet(admin('guest-2'), 'guest-1', 'tenant-admin', now, deps);
    }, admin('guest-2'));
    expect(reassigned.refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    expect(reassigned.conflicts).toHaveLength(1);
    const removed = await approveAs(async (deps) => {
      await made(deps);
      await unassignRightsSet(admin('guest-2'), 'guest-1', now, deps);
    }, admin('guest-2'));
    expect(removed.refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    // guest-1 holds a harmless set from before; alice widens it now; guest-1 gives guest-2 a set of its own; guest-2
    // narrows alice's widening away and widens the set again itself.
    const holding = (subject: string, rightsSet: string): Principal => admin(subject, { rightsSet, permissions: new Set<Permission>(['documents:read', 'rights:manage']) });
    const rewidened = await approveAs(async (deps) => {
      const before = new Date(now.getTime() - 86_400_000);
      await putRightsSet(admin('root'), 'viewers', ['documents:read'], before, deps);
      await assignRightsSet(admin('root'), 'guest-1', 'viewers', before, deps);
      await putRightsSet(admin('alice'), 'viewers', ['documents:read', 'rights:manage'], now, deps);
      await putRightsSet(holding('guest-1', 'viewers'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
      await assignRightsSet(holding('guest-1', 'viewers'), 'guest-2', 'helpers', now, deps);
      await putRightsSet(holding('guest-2', 'helpers'), 'viewers', ['documents:read'], now, deps);
      await putRightsSet(holding('guest-2', 'helpers'), 'viewers', ['documents:read', 'rights:manage'], now, deps);
    }, holding('guest-2', 'helpers'));
    expect(rewidened.refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
  });

  it('nor when the third deletes (and creates anew) the set alice widened that the second acts with by its sign-in\'s claim', async () => {
    const holding = (subject: string, rightsSet: string): Principal => admin(subject, { rightsSet, permissions: new Set<Permission>(['documents:read', 'rights:manage']) });
    for (const recreate of [false, true]) {
      const { refusal } = await approveAs(async (deps) => {
        const before = new Date(now.getTime() - 86_400_000);
        await putRightsSet(admin('root'), 'claimed', ['documents:read'], before, deps);
        await signedIn(deps.tenantRecords, 'acme', ['guest-1'], before, 'claimed');
        await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], now, deps);
        await putRightsSet(holding('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
        await assignRightsSet(holding('guest-1', 'claimed'), 'guest-2', 'helpers', now, deps);
        await deleteRightsSet(holding('guest-2', 'helpers'), 'claimed', { ...deps, clock: { now: () => now } });
        if (recreate) await putRightsSet(holding('guest-2', 'helpers'), 'claimed', ['documents:read'], now, deps);
      }, holding('guest-2', 'helpers'));
      expect(refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    }
  });

  it('nor when the second\'s sign-in later claims another set than the one alice widened (the sighting keeps who gave through it)', async () => {
    const holding = (subject: string, rightsSet: string): Principal => admin(subject, { rightsSet, permissions: new Set<Permission>(['documents:read', 'rights:manage']) });
    const { refusal } = await approveAs(async (deps) => {
      const before = new Date(now.getTime() - 86_400_000);
      const sightings = new PersonSightings(deps.tenantRecords, { ...deps, blobs: new InMemoryBlobArchive() });
      await putRightsSet(admin('root'), 'claimed', ['documents:read'], before, deps);
      await sightings.seen('acme', 'guest-1', 'claimed', before);
      await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], now, deps);
      await putRightsSet(holding('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
      await assignRightsSet(holding('guest-1', 'claimed'), 'guest-2', 'helpers', now, deps);
      // guest-1 signs in again, the identity provider's claim now naming a built-in set, and later another.
      await new PersonSightings(deps.tenantRecords, { ...deps, blobs: new InMemoryBlobArchive() }).seen('acme', 'guest-1', 'auditor', new Date(now.getTime() + 1));
      await new PersonSightings(deps.tenantRecords, { ...deps, blobs: new InMemoryBlobArchive() }).seen('acme', 'guest-1', 'accountant', new Date(now.getTime() + 2));
    }, holding('guest-2', 'helpers'));
    expect(refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
    expect((refusal as ArchiveError).extensions.approverRightsGivenThrough).toContain('earlier sign-in');
  });

  it('nor when two sign-ins of the second at once (other claims, other instances) both write over the same sighting', async () => {
    const holding = (subject: string, rightsSet: string): Principal => admin(subject, { rightsSet, permissions: new Set<Permission>(['documents:read', 'rights:manage']) });
    const { refusal } = await approveAs(async (deps) => {
      const before = new Date(now.getTime() - 86_400_000);
      await new PersonSightings(deps.tenantRecords, { ...deps, blobs: new InMemoryBlobArchive() }).seen('acme', 'guest-1', 'auditor', before);
      await putRightsSet(admin('root'), 'claimed', ['documents:read'], before, deps);
      await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], now, deps);
      // Sign-in B (claim: a built-in set) reads the sighting, then sign-in A (claim: the set alice widened) is written
      // whole before B writes: B's write must not drop what A's record says guest-1 acted with.
      let reached!: () => void;
      let release!: () => void;
      const bReached = new Promise<void>((r) => (reached = r));
      const aWritten = new Promise<void>((r) => (release = r));
      let held = false;
      const records = deps.tenantRecords;
      const racing = new Proxy(records, {
        get(target, name) {
          const value = Reflect.get(target, name, target) as unknown;
          if (typeof value !== 'function') return value;
          if (name !== 'create' && name !== 'replace' && name !== 'upsert') return value.bind(target);
          return async (...args: unknown[]) => {
            if (!held) {
              held = true;
              reached();
              await aWritten;
            }
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
      const b = new PersonSightings(racing, { ...deps, blobs: new InMemoryBlobArchive() }).seen('acme', 'guest-1', 'accountant', new Date(now.getTime() + 2));
      await bReached;
      await new PersonSightings(racing, { ...deps, blobs: new InMemoryBlobArchive() }).seen('acme', 'guest-1', 'claimed', new Date(now.getTime() + 1));
      release();
      await b;
      await putRightsSet(holding('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], now, deps);
      await assignRightsSet(holding('guest-1', 'claimed'), 'guest-2', 'helpers', now, deps);
    }, holding('guest-2', 'helpers'));
    expect(refusal).toMatchObject({ extensions: { rule: 'four-eyes-sod-policy', approverRightsGivenBy: 'alice' } });
  });

  it('a second identity whose assignment more persons rewrote since alice\'s giving than are kept is refused, not judged', async () => {
    const { refusal } = await approveAs(async (deps) => {
      await assignRightsSet(admin('alice'), 'guest-1', 'tenant-admin', now, deps);
      for (let i = 1; i <= 33; i++) await assignRightsSet(admin(`p-${i}`), 'guest-1', 'tenant-admin', now, deps);
      await assignRightsSet(admin('guest-1'), 'guest-2', 'tenant-admin', now, deps);
    }, admin('guest-2'));
    expect((refusal as ArchiveError).extensions.approverRightsGivenThrough).toMatch(/more persons than kept/);
  });

  it('an approver whose assignment more persons rewrote than are kept, all before the proposal, still approves', async () => {
    const { refusal, conflicts } = await approveAs(async (deps) => {
      const before = new Date(now.getTime() - 3_600_000);
      for (let i = 1; i <= 34; i++) await assignRightsSet(admin(`p-${i}`), 'carol', 'tenant-admin', new Date(before.getTime() + i), deps);
    }, admin('carol'));
    expect(refusal).toBeNull();
    expect(conflicts).toEqual([]);
  });

  it('someone a third person assigned after alice\'s assignment from before the proposal still approves', async () => {
    const { refusal } = await approveAs(async (deps) => {
      await assignRightsSet(admin('alice'), 'carol', 'auditor', new Date(now.getTime() - 3_600_000), deps);
      await assignRightsSet(admin('bob'), 'carol', 'tenant-admin', now, deps);
    }, admin('carol'));
    expect(refusal).toBeNull();
  });

  it('a chain of givers since the proposal too long to follow is refused, not judged; one from before it is not followed', async () => {
    const chainOf10 = (at: Date) => async (deps: RightsDeps) => {
      for (let i = 1; i <= 10; i++) await assignRightsSet(admin(i === 1 ? 'root' : `p-${i - 1}`), `p-${i}`, 'tenant-admin', at, deps);
    };
    const { refusal } = await approveAs(chainOf10(now), admin('p-10'));
    expect(refusal).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'four-eyes-sod-policy' } });
    expect((refusal as ArchiveError).extensions.approverRightsGivenThrough).toMatch(/more than 8 persons/);
    // A tenant whose administrators gave each other rights ten deep, all before the proposal: p-10 is a second person.
    const earlier = await approveAs(chainOf10(new Date(now.getTime() - 3_600_000)), admin('p-10'));
    expect(earlier.refusal).toBeNull();
    expect(earlier.conflicts).toEqual([]);
  });
});

it('the same weakening sent twice at once by one person stores one proposal, answered to both; another person\'s is theirs; withdrawn, it can be proposed again', async () => {
  const { records, proposals } = await setup();
  const weaken = { conflicts: [], uploaderCannotApproveDisposal: true };
  const outcomes: string[] = [];
  const batch = records.batch.bind(records);
  records.batch = async (...args) => {
    const outcome = await batch(...args);
    outcomes.push(outcome);
    return outcome;
  };
  const [a, b] = await Promise.all([proposals.change(admin('alice'), weaken, now), proposals.change(admin('alice'), weaken, now)]);
  if (!('proposed' in a) || !('proposed' in b)) throw new Error('expected proposals');
  expect(outcomes).toContain('conflict'); // both judged before either stored: the race happened
  expect(b.proposed.proposalId).toBe(a.proposed.proposalId);
  expect([a.replayed, b.replayed].sort()).toEqual([false, true]);
  const pending = () => [...records.items.values()].filter((i) => i.value.type === 'sod-policy-proposal' && (i.value as { state?: string }).state === 'pending').length;
  expect(pending()).toBe(1);

  const bobs = await proposals.change(admin('bob'), weaken, now);
  if (!('proposed' in bobs)) throw new Error('expected a proposal');
  expect(bobs).toMatchObject({ replayed: false });
  expect(bobs.proposed.proposalId).not.toBe(a.proposed.proposalId);

  await proposals.withdraw(admin('alice'), a.proposed.proposalId, now);
  const again = await proposals.change(admin('alice'), weaken, now);
  if (!('proposed' in again)) throw new Error('expected a proposal');
  expect(again).toMatchObject({ replayed: false, proposed: { state: 'pending' } });
  expect(again.proposed.proposalId).not.toBe(a.proposed.proposalId);
  expect(pending()).toBe(2);
});
