import type { TenantRecord, TenantRecordsPort, TenantRecordWrite, VersionedRecord } from '../ports';
import { CHANGED } from '../kernel/concurrency';
import { gateMoved, type RightsGate } from './rights-gate';
import type { AuditStaging } from '../kernel/audit';
import { writeWithAuditEntry } from '../audit/outbox';
import { ArchiveError } from '../kernel/errors';
import { heldConflicts, type RightsHolding, DEFAULT_SOD_POLICY, SodPolicy, sodPolicyAuditDetail, sodPolicyOf } from './sod';
import { BUILT_IN_RIGHTS_SETS, type Permission, Principal } from '../kernel/principal';
import { listRightsAssignments } from './rights-sets/list-rights-assignments';
import { actor, isBuiltIn, permissionsOf, RightsSetRecord } from './rights-sets/rights-records';
import { keptRevisionDetail, nextRevision } from './rights-sets/settings-blobs';
import type { PersonSightingRecord } from './person-sightings';

export interface SodPolicyRecord extends TenantRecord, SodPolicy {
  type: 'sod-policy';
  updatedAt: string;
  updatedBy: { subject: string; kind: string };
  /** Monotonic, new on each write: the write's blob in storage (rights-sets/settings-blobs.ts). Absent on policies from before. */
  revision?: number;
}

const POLICY_ID = 'sod-policy';

/**
 * A tenant's segregation-of-duties policy. The rights sets and who holds which are one
 * operation a file in rights-sets/ (shared records and ids in rights-sets/rights-records.ts).
 */
export class TenantRights {
  constructor(private readonly records: TenantRecordsPort) {}

  /** `fresh`: as stored now, past the per-instance cache: for a decision that grants (a set, an assignment, a key). */
  async policy(tenantId: string, opts: { fresh?: boolean } = {}): Promise<SodPolicy> {
    return (await this.versionedPolicy(tenantId, opts)).policy;
  }

  /**
   * The policy in force with who stored it and when (absent: the default applies, nobody stored one), and the version
   * of its record (null: none stored), which a change of it names (If-Match). As stored now, past the instance's
   * cache: a version read from an older copy would have the next save refused.
   */
  async describedPolicy(tenantId: string): Promise<{ policy: SodPolicy & { updatedAt?: string; updatedBy?: { subject: string; kind: string } }; etag: string | null }> {
    const found = await this.stored(tenantId, { fresh: true });
    const p = found?.value;
    return { policy: p ? { ...sodPolicyOf(p), updatedAt: p.updatedAt, updatedBy: p.updatedBy } : DEFAULT_SOD_POLICY, etag: found?.etag ?? null };
  }

  /** The policy with the version of its record (null: none stored, the default applies), for a conditional write; `stored`: the record, who stored it and when. */
  async versionedPolicy(tenantId: string, opts: { fresh?: boolean } = {}): Promise<{ policy: SodPolicy; etag: string | null; stored: SodPolicyRecord | null }> {
    const found = await this.stored(tenantId, opts);
    return found ? { policy: sodPolicyOf(found.value), etag: found.etag, stored: found.value } : { policy: DEFAULT_SOD_POLICY, etag: null, stored: null };
  }

  private stored(tenantId: string, opts: { fresh?: boolean } = {}): Promise<VersionedRecord<SodPolicyRecord> | null> {
    return this.records.get<SodPolicyRecord>(tenantId, POLICY_ID, 'sod-policy', opts);
  }

  /**
   * A policy must not be violated by what exists already: every tenant set, and every built-in set
   * that is assigned, claimed at a sign-in of someone without an assignment, held by an unrevoked key or by
   * the caller, is checked; otherwise 409 `conflicting_rights_held` naming the sets, their subjects and keys
   * (so nobody is locked out by, or keeps holding, a pair the tenant just declared). A claim not yet seen here
   * (someone who never signed in) is not known: such a principal is refused at action time.
   */
  async checkPolicy(principal: Principal, policy: SodPolicy, keys: { keyId: string; rightsSet: string }[]): Promise<void> {
    const tenantId = principal.tenantId;
    const [sets, assignments, sightings] = await Promise.all([this.records.list<RightsSetRecord>(tenantId, 'rights-set'), listRightsAssignments(tenantId, { tenantRecords: this.records }), this.records.list<PersonSightingRecord>(tenantId, 'person-sighting')]);
    // People without an assignment act with the set their identity provider claimed (tenant, then the claim): known from
    // their last sign-in here. Left out, a rights manager declared a pair inside tenant-admin while every administrator
    // was a tenant-admin by claim, and all of them were refused from then on (conflicting-permissions): nobody left to
    // approve undoing it.
    const assigned = new Set(assignments.map((a) => a.subject));
    // The caller's own sign-in is `caller` (their token's set), not one more subject.
    const claimed = sightings.filter((s) => !assigned.has(s.person) && s.rightsSet !== '' && !(principal.kind === 'user' && s.person === principal.subject));
    const holding = (rightsSet: string, permissions: readonly Permission[]): RightsHolding => ({
      rightsSet,
      permissions,
      subjects: [...assignments.filter((a) => a.rightsSet === rightsSet).map((a) => a.subject), ...claimed.filter((s) => s.rightsSet === rightsSet).map((s) => s.person).sort()],
      apiKeys: keys.filter((k) => k.rightsSet === rightsSet).map((k) => k.keyId).sort(),
      caller: principal.rightsSet === rightsSet,
    });
    const builtInHeld = new Set([...assignments.map((a) => a.rightsSet), ...claimed.map((s) => s.rightsSet), ...keys.map((k) => k.rightsSet), principal.rightsSet].filter(isBuiltIn));
    const conflicting = heldConflicts(policy, [
      ...sets.map((s) => holding(s.name, permissionsOf(s))),
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
   * Stores a policy that `checkPolicy` accepts, with `also` (an approved proposal) and the tenant's rights gate moved,
   * in one batch: only over the gate's version read before the holdings were, and over the policy's `policy` (null:
   * none stored yet). CHANGED when either moved since: the caller decides again on what is stored then (a rights set
   * widened meanwhile is found, and refuses the policy). Whether the change may apply at once (it does not weaken
   * the policy) is decided by the caller (sod-policy-proposals.ts). `weakened`: what an approved proposal takes away from
   * the policy it replaces (`weakenedBy`), named in the audit entry.
   */
  async putPolicy(principal: Principal, policy: SodPolicy, keys: { keyId: string; rightsSet: string }[], over: { gate: RightsGate; policy: string | null; revision: number | undefined }, now: Date, audit?: AuditStaging, also: TenantRecordWrite[] = [], weakened: string[] = []): Promise<SodPolicyRecord | typeof CHANGED> {
    const tenantId = principal.tenantId;
    await this.checkPolicy(principal, policy, keys);
    const record: SodPolicyRecord = { id: POLICY_ID, tenantId, type: 'sod-policy', ...policy, updatedAt: now.toISOString(), updatedBy: actor(principal), revision: nextRevision(over.revision, now) };
    const write: TenantRecordWrite = over.policy === null ? { op: 'create', record } : { op: 'replace', record, ifMatch: over.policy };
    // Broke: an approval's entry named only the policy after it, so an auditor could not tell what it removed (the policy
    // it replaced had no entry of its own while it was the default); the retention approval's names what it lowered.
    const weakenedPart = weakened.length > 0 ? `;weakened=${weakened.join(',')}` : '';
    const written = await writeWithAuditEntry(audit, { detail: `${sodPolicyAuditDetail(policy)}${weakenedPart};${keptRevisionDetail(record.revision!, record)}` }, (outbox) => this.records.batch(tenantId, [gateMoved(over.gate, POLICY_ID), ...also, write], outbox), (w) => w === 'written');
    return written === 'written' ? record : CHANGED;
  }
}
