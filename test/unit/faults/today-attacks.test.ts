/**
 * Today's changes attacked by someone who can write Cosmos DB (not Key Vault): the reconciler's keeping of a change from
 * its keyed audit entry (settings-blobs.ts keptFromAudit), and holds by query read through MAYBE_UNRELEASED_SQL.
 */
import { SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { settingBlobName, SETTING_KEPT_FROM_AUDIT } from '../../../shared/auth/rights-sets/settings-blobs';
import { rightsAssignmentRecordId, type RightsAssignmentRecord, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { RecordingLogger } from '../../support/in-memory';
import { assign, ok, putSet, repair, TENANT, world, type World } from '../../support/in-process';

const lines = (w: World, message: string) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const stored = (w: World, id: string) => w.deps.tenantRecords.records.get(`${TENANT}/${id}`)?.value as unknown as Record<string, unknown> | undefined;

describe("a keyed entry of another subject's assignment does not vouch for what Cosmos DB holds under ian's record id", () => {
  // Broke: keptFromAudit looked for the witness under the subject the record itself named, never checking that the
  // record's id is that subject's. Whoever can write Cosmos DB copied zoe's genuine change (its subject, set and
  // revision) under ian's id, or a trace of zoe's removal under ian's trace id: zoe's keyed entry named that revision,
  // no blob of ian's stood at it, and the reconciler sealed the forgery as ian's change (SETTING_KEPT_FROM_AUDIT): ian
  // given zoe's wider set, or his narrowing removed, for as long as the blob is kept, a restore of Cosmos DB undoing nothing.
  it.each([
    ['zoe\'s assignment copied under ian\'s record id', 'assignment'],
    ['a trace of zoe\'s removal copied under ian\'s trace id, ian\'s assignment deleted', 'removal'],
  ] as const)('%s: ian\'s sealed assignment is written back, nothing kept from the audit', async (_, how) => {
    const w = world();
    w.deps.audit.chained = true;
    await ok(w, putSet('clerk', ['documents:read']));
    await ok(w, assign('ian', 'clerk'));
    w.clock.advance(60_000);
    await ok(w, assign('zoe', 'auditor'));
    const ian = rightsAssignmentRecordId('ian');
    const zoe = stored(w, rightsAssignmentRecordId('zoe'))!;
    if (how === 'assignment') {
      w.deps.tenantRecords.records.get(`${TENANT}/${ian}`)!.value = { ...zoe, id: ian } as never;
    } else {
      w.clock.advance(60_000);
      await ok(w, { method: 'DELETE', path: 'rights-assignments/zoe', as: 'carol' }, 204);
      const trace = stored(w, rightsUnassignmentRecordId('zoe'))!;
      w.deps.tenantRecords.records.delete(`${TENANT}/${ian}`);
      w.deps.tenantRecords.records.set(`${TENANT}/${rightsUnassignmentRecordId('ian')}`, { value: { ...trace, id: rightsUnassignmentRecordId('ian') } as never, etag: 999 } as never);
    }
    const forged = (how === 'assignment' ? zoe.revision : stored(w, rightsUnassignmentRecordId('ian'))!.revision) as number;
    await repair(w);
    await repair(w);
    expect(lines(w, SETTING_KEPT_FROM_AUDIT)).toEqual([]);
    expect([...w.deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/${settingBlobName(ian, forged, how === 'removal')}`))).toEqual([]);
    expect((await w.deps.tenantRecords.get<RightsAssignmentRecord>(TENANT, ian, 'rights-assignment'))?.value).toMatchObject({ subject: 'ian', rightsSet: 'clerk' });
    expect(lines(w, SETTING_RESTORED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ id: ian }) })]);
  });
});
