import { createHash } from 'node:crypto';
import { ArchiveError } from '../kernel/errors';
import type { TenantRecord, TenantRecordsPort } from '../ports';
import { assertNoConflict, assertWithinCeiling, DEFAULT_SOD_POLICY, heldConflicts, type RightsHolding, sodRefusal, SodPolicy } from './sod';
import { BUILT_IN_RIGHTS_SETS, Permission, personOf, Principal } from '../kernel/principal';

export interface RightsSetRecord extends TenantRecord {
  type: 'rights-set';
  name: string;
  permissions: Permission[];
  updatedAt: string;
  updatedBy: { subject: string; kind: string };
}

export interface RightsAssignmentRecord extends TenantRecord {
  type: 'rights-assignment';
  subject: string;
  rightsSet: string;
  assignedAt: string;
  assignedBy: { subject: string; kind: string };
}

export interface SodPolicyRecord extends TenantRecord, SodPolicy {
  type: 'sod-policy';
  updatedAt: string;
  updatedBy: { subject: string; kind: string };
}

const setId = (name: string) => `rights-set:${name}`;
/** Subjects are free text (e.g. `alice@acme.example`, or with `/`); the id hashes them. */
const assignmentId = (subject: string) => `rights-assignment:${createHash('sha256').update(subject).digest('hex')}`;
const POLICY_ID = 'sod-policy';

export const isBuiltIn = (name: string) => Object.prototype.hasOwnProperty.call(BUILT_IN_RIGHTS_SETS, name);

/** A tenant's rights sets, who holds which, and its segregation-of-duties policy. */
export class TenantRights {
  constructor(private readonly records: TenantRecordsPort) {}

  /** Built-in template or the tenant's own set; null when neither exists. */
  async permissionsOf(tenantId: string, name: string): Promise<Permission[] | null> {
    if (isBuiltIn(name)) return [...BUILT_IN_RIGHTS_SETS[name]!];
    const set = await this.records.get<RightsSetRecord>(tenantId, setId(name), 'rights-set');
    return set ? set.value.permissions : null;
  }

  async assignmentOf(tenantId: string, subject: string): Promise<RightsAssignmentRecord | null> {
    return (await this.records.get<RightsAssignmentRecord>(tenantId, assignmentId(subject), 'rights-assignment'))?.value ?? null;
  }

  async policy(tenantId: string): Promise<SodPolicy> {
    const p = (await this.records.get<SodPolicyRecord>(tenantId, POLICY_ID, 'sod-policy'))?.value;
    return p ? { conflicts: p.conflicts, uploaderCannotApproveDisposal: p.uploaderCannotApproveDisposal } : DEFAULT_SOD_POLICY;
  }

  async listSets(tenantId: string): Promise<{ name: string; builtIn: boolean; permissions: Permission[] }[]> {
    const own = await this.records.list<RightsSetRecord>(tenantId, 'rights-set');
    return [
      ...Object.entries(BUILT_IN_RIGHTS_SETS).map(([name, permissions]) => ({ name, builtIn: true, permissions: [...permissions] })),
      ...own.sort((a, b) => a.name.localeCompare(b.name)).map((s) => ({ name: s.name, builtIn: false, permissions: s.permissions })),
    ];
  }

  async listAssignments(tenantId: string): Promise<RightsAssignmentRecord[]> {
    return (await this.records.list<RightsAssignmentRecord>(tenantId, 'rights-assignment')).sort((a, b) => a.subject.localeCompare(b.subject));
  }

  /** Create or replace a tenant rights set. */
  async putSet(principal: Principal, name: string, permissions: Permission[], now: Date): Promise<RightsSetRecord> {
    if (isBuiltIn(name)) throw new ArchiveError('rights_set_reserved', { detail: `${name} is a built-in template; define a set under another name.` });
    if (principal.rightsSet === name) throw sodRefusal('own-rights');
    const unique = [...new Set(permissions)].sort();
    // Whoever holds the set (by assignment, key or token claim) gains what is added: only what the editor holds may be.
    assertNoConflict(unique, await this.policy(principal.tenantId), { rightsSet: name });
    const before = (await this.records.get<RightsSetRecord>(principal.tenantId, setId(name), 'rights-set'))?.value.permissions ?? [];
    assertWithinCeiling(principal, unique.filter((p) => !before.includes(p)), { rightsSet: name });
    const record: RightsSetRecord = { id: setId(name), tenantId: principal.tenantId, type: 'rights-set', name, permissions: unique, updatedAt: now.toISOString(), updatedBy: actor(principal) };
    await this.records.upsert(record);
    return record;
  }

  async deleteSet(principal: Principal, name: string, inUseByKeys: (tenantId: string, name: string) => Promise<boolean>): Promise<void> {
    if (isBuiltIn(name)) throw new ArchiveError('rights_set_reserved', { detail: `${name} is a built-in template.` });
    if (principal.rightsSet === name) throw sodRefusal('own-rights');
    if (!(await this.records.get<RightsSetRecord>(principal.tenantId, setId(name), 'rights-set'))) throw new ArchiveError('rights_set_not_found');
    const assigned = await this.records.list<RightsAssignmentRecord>(principal.tenantId, 'rights-assignment', 'c.rightsSet = @n', [{ name: '@n', value: name }]);
    if (assigned.length > 0 || (await inUseByKeys(principal.tenantId, name))) {
      throw new ArchiveError('rights_set_in_use', { detail: 'Reassign the users and revoke the API keys that hold this set first.' });
    }
    await this.records.delete(principal.tenantId, setId(name));
  }

  async assign(principal: Principal, subject: string, rightsSet: string, now: Date): Promise<RightsAssignmentRecord> {
    if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
    const permissions = await this.permissionsOf(principal.tenantId, rightsSet);
    if (!permissions) throw new ArchiveError('rights_set_not_found', { detail: `The tenant has no rights set ${rightsSet}.` });
    assertNoConflict(permissions, await this.policy(principal.tenantId), { rightsSet });
    assertWithinCeiling(principal, permissions, { rightsSet });
    const record: RightsAssignmentRecord = { id: assignmentId(subject), tenantId: principal.tenantId, type: 'rights-assignment', subject, rightsSet, assignedAt: now.toISOString(), assignedBy: actor(principal) };
    await this.records.upsert(record);
    return record;
  }

  async unassign(principal: Principal, subject: string): Promise<void> {
    if (isSelf(principal, subject)) throw sodRefusal('self-assignment');
    if (!(await this.records.delete(principal.tenantId, assignmentId(subject)))) throw new ArchiveError('rights_assignment_not_found');
  }

  /** The policy with the version of its record (null: none stored, the default applies), for a conditional write. */
  async versionedPolicy(tenantId: string): Promise<{ policy: SodPolicy; etag: string | null }> {
    const found = await this.records.get<SodPolicyRecord>(tenantId, POLICY_ID, 'sod-policy');
    return found ? { policy: { conflicts: found.value.conflicts, uploaderCannotApproveDisposal: found.value.uploaderCannotApproveDisposal }, etag: found.etag } : { policy: DEFAULT_SOD_POLICY, etag: null };
  }

  /**
   * A policy must not be violated by what exists already: every tenant set, and every built-in set
   * that is assigned, held by an unrevoked key or by the caller, is checked; otherwise 409
   * `conflicting_rights_held` naming the sets, their subjects and keys (so nobody is locked out by,
   * or keeps holding, a pair the tenant just declared). Rights claimed only in other people's tokens
   * are not known here: such a principal is refused at action time.
   */
  async checkPolicy(principal: Principal, policy: SodPolicy, keys: { keyId: string; rightsSet: string }[]): Promise<void> {
    const tenantId = principal.tenantId;
    const [sets, assignments] = await Promise.all([this.records.list<RightsSetRecord>(tenantId, 'rights-set'), this.listAssignments(tenantId)]);
    const holding = (rightsSet: string, permissions: readonly Permission[]): RightsHolding => ({
      rightsSet,
      permissions,
      subjects: assignments.filter((a) => a.rightsSet === rightsSet).map((a) => a.subject),
      apiKeys: keys.filter((k) => k.rightsSet === rightsSet).map((k) => k.keyId).sort(),
      caller: principal.rightsSet === rightsSet,
    });
    const builtInHeld = new Set([...assignments.map((a) => a.rightsSet), ...keys.map((k) => k.rightsSet), principal.rightsSet].filter(isBuiltIn));
    const conflicting = heldConflicts(policy, [
      ...sets.map((s) => holding(s.name, s.permissions)),
      ...[...builtInHeld].sort().map((name) => holding(name, BUILT_IN_RIGHTS_SETS[name]!)),
    ]);
    if (conflicting.length > 0) {
      throw new ArchiveError('conflicting_rights_held', {
        detail: `Under this policy ${conflicting.map((c) => c.rightsSet).join(', ')} would hold a conflicting pair. Nothing changed: change those sets, or reassign their holders and revoke their keys, first.`,
        extensions: { holders: conflicting.map(({ permissions: _p, ...c }) => c) },
      });
    }
  }

  /**
   * Stores a policy that `checkPolicy` accepts, only over the version `expected` (null: none stored
   * yet); a policy changed meanwhile is 409 `sod_policy_changed`. Whether the change may apply at
   * once (it does not weaken the policy) is decided by the caller (sod-policy-proposals.ts).
   */
  async putPolicy(principal: Principal, policy: SodPolicy, keys: { keyId: string; rightsSet: string }[], expected: string | null, now: Date): Promise<SodPolicyRecord> {
    const tenantId = principal.tenantId;
    await this.checkPolicy(principal, policy, keys);
    const record: SodPolicyRecord = { id: POLICY_ID, tenantId, type: 'sod-policy', ...policy, updatedAt: now.toISOString(), updatedBy: actor(principal) };
    const written = expected === null ? await this.records.create(record) : await this.records.replace(record, expected);
    if (written !== 'created' && written !== 'replaced') throw new ArchiveError('sod_policy_changed', { detail: 'The policy was changed concurrently; read it and try again.' });
    return record;
  }
}

export function actor(p: Principal): { subject: string; kind: string; person: string } {
  return { subject: p.subject, kind: p.kind, person: personOf(p) };
}

/** The principal itself, or the person behind it: a key cannot change its creator's rights. */
const isSelf = (p: Principal, subject: string) => subject === p.subject || subject === personOf(p);
