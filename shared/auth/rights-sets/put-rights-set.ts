import { ArchiveError } from '../../kernel/errors';
import { CHANGED, withFreshReads } from '../../kernel/concurrency';
import type { AuditStaging } from '../../kernel/audit';
import { writeWithAuditEntry } from '../../audit/outbox';
import { type Permission, type Principal, personHoldsSet } from '../../kernel/principal';
import type { TenantRecordsPort } from '../../ports';
import type { TenantRights } from '../rights';
import { assertNoConflict, assertWithinCeiling, sodRefusal } from '../sod';
import { actor, isBuiltIn, RightsSetRecord, rightsSetRecordId } from './rights-records';

/**
 * Create or replace a tenant rights set. What is added is judged against the set as stored, and the
 * set is written only over that version: a decision on an older copy (another instance's cached read,
 * a change in between) is taken again, so nobody puts back a permission another admin just removed
 * unless they hold it themselves.
 */
export async function putRightsSet(principal: Principal, name: string, permissions: Permission[], now: Date, deps: { tenantRecords: TenantRecordsPort; rights: Pick<TenantRights, 'policy'> }, audit?: AuditStaging): Promise<RightsSetRecord> {
  if (isBuiltIn(name)) throw new ArchiveError('rights_set_reserved', { detail: `${name} is a built-in template; define a set under another name.` });
  if (personHoldsSet(principal, name)) throw sodRefusal('own-rights');
  const unique = [...new Set(permissions)].sort();
  // Whoever holds the set (by assignment, key or token claim) gains what is added: only what the editor holds may be.
  assertNoConflict(unique, await deps.rights.policy(principal.tenantId, { fresh: true }), { rightsSet: name });
  return withFreshReads('The rights set', async () => {
    const current = await deps.tenantRecords.get<RightsSetRecord>(principal.tenantId, rightsSetRecordId(name), 'rights-set');
    const before = current?.value.permissions ?? [];
    const added = unique.filter((p) => !before.includes(p));
    assertWithinCeiling(principal, added, { rightsSet: name });
    const by = actor(principal);
    // Who last gave the set's holders a right, for four eyes; a change that only removes keeps the earlier one.
    const widened = !current || added.length > 0 ? { widenedAt: now.toISOString(), widenedBy: by } : { widenedAt: current.value.widenedAt ?? current.value.updatedAt, widenedBy: current.value.widenedBy ?? current.value.updatedBy };
    const record: RightsSetRecord = { id: rightsSetRecordId(name), tenantId: principal.tenantId, type: 'rights-set', name, permissions: unique, updatedAt: now.toISOString(), updatedBy: by, ...widened };
    const written = await writeWithAuditEntry(
      audit,
      {},
      (outbox) => (current ? deps.tenantRecords.replace(record, current.etag, outbox) : deps.tenantRecords.create(record, outbox)),
      (r) => r === 'replaced' || r === 'created',
    );
    return written === 'replaced' || written === 'created' ? record : CHANGED;
  });
}
