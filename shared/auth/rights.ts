import type { TenantRecord, TenantRecordsPort } from '../ports';
import { assertNoConflict, DEFAULT_SOD_POLICY, SodPolicy } from './sod';
import { BUILT_IN_RIGHTS_SETS, Principal } from '../kernel/principal';
import { listRightsAssignments } from './rights-sets/list-rights-assignments';
import { actor, isBuiltIn, RightsAssignmentRecord, RightsSetRecord } from './rights-sets/rights-records';

export interface SodPolicyRecord extends TenantRecord, SodPolicy {
  type: 'sod-policy';
  updatedAt: string;
  updatedBy: { subject: string; kind: string };
}

const POLICY_ID = 'sod-policy';

/**
 * A tenant's segregation-of-duties policy. The rights sets and who holds which are one
 * operation a file in rights-sets/ (shared records and ids in rights-sets/rights-records.ts).
 */
export class TenantRights {
  constructor(private readonly records: TenantRecordsPort) {}

  async policy(tenantId: string): Promise<SodPolicy> {
    const p = (await this.records.get<SodPolicyRecord>(tenantId, POLICY_ID, 'sod-policy'))?.value;
    return p ? { conflicts: p.conflicts, uploaderCannotApproveDisposal: p.uploaderCannotApproveDisposal } : DEFAULT_SOD_POLICY;
  }

  async listAssignments(tenantId: string): Promise<RightsAssignmentRecord[]> {
    return listRightsAssignments(tenantId, { tenantRecords: this.records });
  }

  /**
   * A new policy must not be violated by what exists already: every tenant set, and every
   * built-in set that is assigned, held by a key or by the caller, is checked; the change is refused
   * otherwise (so nobody is locked out by, or keeps holding, a pair the tenant just declared).
   */
  async putPolicy(principal: Principal, policy: SodPolicy, keyRightsSets: string[], now: Date): Promise<SodPolicyRecord> {
    const tenantId = principal.tenantId;
    const [sets, assignments] = await Promise.all([this.records.list<RightsSetRecord>(tenantId, 'rights-set'), this.listAssignments(tenantId)]);
    const held = new Set([...assignments.map((a) => a.rightsSet), ...keyRightsSets, principal.rightsSet].filter(isBuiltIn));
    const candidates = [...sets.map((s) => ({ name: s.name, permissions: s.permissions })), ...[...held].map((name) => ({ name, permissions: [...BUILT_IN_RIGHTS_SETS[name]!] }))];
    for (const c of candidates) assertNoConflict(c.permissions, policy, { rightsSet: c.name });
    const record: SodPolicyRecord = { id: POLICY_ID, tenantId, type: 'sod-policy', ...policy, updatedAt: now.toISOString(), updatedBy: actor(principal) };
    await this.records.upsert(record);
    return record;
  }
}
