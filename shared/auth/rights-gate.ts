import { CHANGED, withFreshReads } from '../kernel/concurrency';
import type { TenantRecord, TenantRecordsPort, TenantRecordWrite } from '../ports';

/**
 * The tenant's rights gate: one record in its partition that every change of what anyone may hold moves, in the
 * change's own batch: a rights set written or deleted, a rights assignment given, an API key minted, the SoD policy
 * written (a change applied at once, an approved proposal). Each such change reads the gate before anything it
 * decides on and is written only over the version it read. Of two decided at once (a policy tightened while a set is
 * widened or a key minted, each judged on the other's old state) the later is then judged again on what the earlier
 * wrote, where both used to be stored and leave a set holding a declared pair. Taking a holding away (an assignment
 * removed, a key revoked) cannot break a policy, nor does any check rely on it not happening: it passes no gate.
 * Never cached (tenant-records.ts CACHED_TYPES): an instance's older copy would only make every change a retry.
 */
export interface RightsGateRecord extends TenantRecord {
  type: 'rights-gate';
  /** The record whose change moved the gate last (e.g. `rights-set:<name>`, `sod-policy`), for whoever reads it. */
  lastChange: string;
}

/** A gate as a change read it: which gate, its version (null: never moved, no record yet, as before any change). */
export interface TenantGate {
  tenantId: string;
  /** The gate record's id, which is its type too (`rights-gate`, `holds-by-query-gate`). */
  id: string;
  etag: string | null;
}

export type RightsGate = TenantGate;

export const RIGHTS_GATE_ID = 'rights-gate';

/**
 * Runs `attempt` on the tenant's gate `id` as stored now, read before anything else; `attempt` returns CHANGED when its
 * batch (with `gateMoved`) found the gate or its other records moved, and runs again on fresh reads
 * (kernel/concurrency.ts). The rights gate is one; a count kept under a cap is another (holds by query): of two changes
 * counted at once into the last room, the second finds the gate moved, counts again and is refused.
 */
export function underTenantGate<R>(id: string, what: string, tenantId: string, deps: { tenantRecords: TenantRecordsPort }, attempt: (gate: TenantGate) => Promise<R | typeof CHANGED>): Promise<R> {
  return withFreshReads(what, async () => {
    const found = await deps.tenantRecords.get<TenantRecord>(tenantId, id, id, { fresh: true });
    return attempt({ tenantId, id, etag: found?.etag ?? null });
  });
}

/** `underTenantGate` on the tenant's rights gate. */
export function underRightsGate<R>(what: string, tenantId: string, deps: { tenantRecords: TenantRecordsPort }, attempt: (gate: RightsGate) => Promise<R | typeof CHANGED>): Promise<R> {
  return underTenantGate(RIGHTS_GATE_ID, what, tenantId, deps, attempt);
}

/** The write moving the gate past the version `gate` read, for the change's batch (first: the condition before the change). */
export function gateMoved(gate: TenantGate, lastChange: string): TenantRecordWrite {
  const record: TenantRecord & Pick<RightsGateRecord, 'lastChange'> = { id: gate.id, tenantId: gate.tenantId, type: gate.id, lastChange };
  return gate.etag === null ? { op: 'create', record } : { op: 'replace', record, ifMatch: gate.etag };
}
