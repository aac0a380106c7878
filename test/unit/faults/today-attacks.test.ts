/**
 * Today's changes attacked by someone who can write Cosmos DB (not Key Vault): the reconciler's keeping of a change from
 * its keyed audit entry (settings-blobs.ts keptFromAudit), and holds by query read through MAYBE_UNRELEASED_SQL.
 */
import { SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { settingBlobName, SETTING_KEPT_FROM_AUDIT } from '../../../shared/auth/rights-sets/settings-blobs';
import { rightsAssignmentRecordId, type RightsAssignmentRecord, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { holdByQueryRecordId, placeHoldsByQuery } from '../../../shared/retention/holds/place-holds-by-query';
import { sweep } from '../../../shared/retention/sweep';
import type { Principal } from '../../../shared/kernel/principal';
import type { RecordingLogger } from '../../support/in-memory';
import { inMemoryDeps } from '../../support/in-memory';
import { assign, ok, putSet, repair, TENANT, world, type World } from '../../support/in-process';
import { seedDueDocument } from '../../support/seed';

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
      w.deps.tenantRecords.records.set(`${TENANT}/${rightsUnassignmentRecordId('ian')}`, { value: { ...trace, id: rightsUnassignmentRecordId('ian') } as never, etag: 999 });
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

describe('a hold by query released at 24 characters that are no instant is open for the sweep', () => {
  // Broke: MAYBE_UNRELEASED_SQL took a `releasedAt` of 24 characters sorting before now as a release, while isReleased
  // (readInstant) reads a day the calendar lacks or an hour past 23 as none: the record never reached isReleased, and
  // the sweep disposed of the late receipts the open hold had yet to reach. The unsafe direction: the query left out
  // a hold isReleased holds open.
  const T = 'acme';
  const OVER = '2025-01-01T00:00:00.000Z';
  // The sweep's now; the release times lie before the in-memory clock (2025-03-01T12:00Z), which the hold's reader uses.
  const NOW = new Date('2025-06-01T00:00:00Z');
  const auditor: Principal = { tenantId: T, subject: 'ann', kind: 'user', person: 'ann', rightsSet: 'auditor', permissions: new Set(['holds:place', 'documents:read']) };
  it.each([
    ['a day the calendar lacks', '2025-02-30T00:00:00.000Z', 'legal-hold'],
    ['an hour past 23', '2025-02-28T25:00:00.000Z', 'legal-hold'],
    ['a second past 59', '2025-02-28T23:59:60.000Z', 'legal-hold'],
    ['text of 24 characters', '0 released by hand .....', 'legal-hold'],
    ['control: a readable time before now', '2025-02-28T23:00:00.000Z', null],
    ['control: a leap day (read by isReleased, which finds it released)', '2024-02-29T12:00:00.000Z', null],
  ] as const)('%s (%s)', async (_, releasedAt, blocked) => {
    const deps = inMemoryDeps();
    await seedDueDocument(deps, T, OVER);
    const { holdId } = await placeHoldsByQuery({ principal: auditor, reason: 'tax audit', caseReference: 'FA-2017', query: { fiscalYear: 2017 } }, deps);
    (deps.tenantRecords.records.get(`${T}/${holdByQueryRecordId(holdId)}`)!.value as unknown as Record<string, unknown>).releasedAt = releasedAt;
    const late = await seedDueDocument(deps, T, OVER);
    const result = await sweep({ now: NOW, budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null, concurrency: 1 }, deps);
    expect(result.disposed.includes(`${T}/${late.id}`)).toBe(blocked === null);
    if (blocked) expect(result.blocked).toContainEqual({ tenantId: T, documentId: late.id, reason: blocked });
  });
});
