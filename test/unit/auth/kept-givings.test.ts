/**
 * Four eyes judge who gave whom rights by what storage keeps of the rights records, not by Cosmos DB alone
 * (settings-blobs.ts keptRightsRecord). Broke: whoever could write Cosmos DB and held an ordinary account gave a guest
 * rights after placing a hold (or uploading), renamed the giver (or moved the time) in Cosmos DB, and the guest released
 * the hold (approved the disposal) as a second person until the reconciler wrote the kept record back.
 */
import { SETTING_DIFFERS } from '../../../shared/auth/rights-sets/settings-blobs';
import { rightsAssignmentRecordId, rightsSetRecordId, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { RecordingLogger } from '../../support/in-memory';
import { assign, type Call, dueDocs, hold, later, ok, putSet, requireApproval, send, START, TENANT, upload, world, type World } from '../../support/in-process';

const CAROL = { subject: 'carol', kind: 'user', person: 'carol' };
const release = (id: string, holdId: string, as: string): Call => ({ method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as });
/** The record `id` as Cosmos DB holds it, edited by hand. */
const edit = (w: World, id: string, change: Record<string, unknown>) => {
  const r = w.deps.tenantRecords.records.get(`${TENANT}/${id}`)!;
  r.value = { ...r.value, ...change };
};
const differs = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === SETTING_DIFFERS).map((l) => l.fields!.id);
/** Setting blobs read (not listed) from now on. */
function settingReads(w: World): () => number {
  let reads = 0;
  const read = w.deps.blobs.readIfExists.bind(w.deps.blobs);
  w.deps.blobs.readIfExists = async (tenantId: string, name: string) => {
    if (name.startsWith('settings/')) reads++;
    return read(tenantId, name);
  };
  return () => reads;
}

/** up (who may give rights) places a hold; gina is to release it. `narrow`, gina's set given by up before the hold. */
async function scene(): Promise<{ w: World; id: string; holdId: string }> {
  const w = world();
  const seedSet = (name: string, permissions: string[]) => w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(name)}`, { value: { id: rightsSetRecordId(name), tenantId: TENANT, type: 'rights-set', name, permissions, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2000 + name.length });
  seedSet('lead', ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'rights:manage']);
  seedSet('releaser', ['documents:read', 'holds:release']);
  (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value as unknown as { rightsSet: string }).rightsSet = 'lead';
  const id = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
  const holdId = (await ok(w, hold(id), 201)).json.id as string;
  later(w);
  return { w, id, holdId };
}

type Case = [string, (w: World) => Promise<void>, number, string[]];
const CASES: Case[] = [
  ['(a) the assignment up gave after the hold renamed to carol', async (w) => {
    await ok(w, assign('gina', 'releaser', 'up'));
    edit(w, rightsAssignmentRecordId('gina'), { assignedBy: CAROL });
  }, 403, [rightsAssignmentRecordId('gina')]],
  ['(b) the assignment up gave after the hold dated before it', async (w) => {
    await ok(w, assign('gina', 'releaser', 'up'));
    edit(w, rightsAssignmentRecordId('gina'), { assignedAt: START.toISOString() });
  }, 403, [rightsAssignmentRecordId('gina')]],
  ['(c) the set up widened after the hold, its widener renamed to carol', async (w) => {
    w.clock.set(START); // the set and gina's assignment to it before the hold
    await ok(w, putSet('narrow', ['documents:read'], 'up'));
    await ok(w, assign('gina', 'narrow', 'up'));
    later(w, 5);
    await ok(w, putSet('narrow', ['documents:read', 'holds:release'], 'up'));
    edit(w, rightsSetRecordId('narrow'), { widenedBy: CAROL, updatedBy: CAROL });
  }, 403, [rightsSetRecordId('narrow')]],
  ['(d) the trace of up\'s removal of what up gave after the hold renamed to carol (gina given anew by carol)', async (w) => {
    await ok(w, assign('gina', 'releaser', 'up'));
    await ok(w, { method: 'DELETE', path: 'rights-assignments/gina', as: 'up' });
    await ok(w, assign('gina', 'releaser', 'carol'));
    edit(w, rightsUnassignmentRecordId('gina'), { unassignedBy: CAROL, givenBefore: [] });
  }, 403, [rightsAssignmentRecordId('gina')]],
  ['(f) control: carol, a second person, gave gina her rights', async (w) => {
    await ok(w, assign('gina', 'releaser', 'carol'));
  }, 200, []],
  ['(g) an assignment kept before settings were (no blob): judged as stored, up gave it after the hold', async (w) => {
    await ok(w, assign('gina', 'releaser', 'up'));
    for (const k of [...w.deps.blobs.blobs.keys()]) if (k.startsWith(`${TENANT}/settings/${rightsAssignmentRecordId('gina')}/`)) w.deps.blobs.blobs.delete(k);
  }, 403, []],
];

describe('four eyes on a hold\'s release judge the givings storage keeps', () => {
  it.each(CASES)('%s', async (_, given, status, alerted) => {
    const { w, id, holdId } = await scene();
    await given(w);
    const answer = await send(w, release(id, holdId, 'gina'));
    expect([answer.status, answer.json.code, answer.json.approverRightsGivenBy]).toEqual(status === 200 ? [200, undefined, undefined] : [403, 'four_eyes_required', 'up']);
    expect(differs(w)).toEqual(alerted);
  });

  it('a repeat look at records in line with storage lists their blobs and reads none', async () => {
    const { w, id, holdId } = await scene();
    await ok(w, assign('gina', 'releaser', 'up'));
    const reads = settingReads(w);
    expect((await send(w, release(id, holdId, 'gina'))).status).toBe(403);
    const first = reads();
    expect((await send(w, release(id, holdId, 'gina'))).status).toBe(403);
    // gina's and up's assignments, read once each (then remembered by ETag); nothing on the repeat.
    expect([first, reads() - first]).toEqual([1, 0]);
  });
});

describe('four eyes on a disposal approval judge the givings storage keeps', () => {
  // (e) up uploaded, was made a tenant-admin by carol, and gave gina the rights to approve after the upload.
  it.each([
    ['(e) the assignment renamed to carol in Cosmos DB', true],
    ['(e) control: as given', false],
  ])('%s: refused', async (_, edited) => {
    const w = world();
    await requireApproval(w);
    const [docId] = await dueDocs(w);
    await ok(w, assign('up', 'tenant-admin', 'carol'));
    later(w);
    await ok(w, assign('gina', 'tenant-admin', 'up'));
    if (edited) edit(w, rightsAssignmentRecordId('gina'), { assignedBy: CAROL });
    const answer = await send(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [docId] }, as: 'gina' });
    expect([answer.status, answer.json.rule]).toEqual([403, 'uploader-approves-disposal']);
    expect(differs(w)).toEqual(edited ? [rightsAssignmentRecordId('gina')] : []);
  });
});

describe("the SoD policy's uploader rule turned off in Cosmos DB alone", () => {
  // Broke: a disposal approval (and the sweep) read the rule from Cosmos DB only, so whoever could write it turned the
  // rule off there, a weakening otherwise under four eyes, and approved the disposal of their own upload.
  it.each([
    ['kept in storage with the rule on: refused, alerted', true, 403],
    ['never stored (nothing kept): judged as stored', false, 201],
  ])('%s', async (_, kept, status) => {
    const w = world();
    await requireApproval(w);
    const [docId] = await dueDocs(w);
    await ok(w, assign('up', 'tenant-admin', 'carol'));
    if (kept) {
      const etag = (await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' })).headers.ETag!;
      await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200);
      edit(w, 'sod-policy', { uploaderCannotApproveDisposal: false });
    } else {
      w.deps.tenantRecords.records.set(`${TENANT}/sod-policy`, { value: { id: 'sod-policy', tenantId: TENANT, type: 'sod-policy', conflicts: [], uploaderCannotApproveDisposal: false, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 4000 });
    }
    const answer = await send(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [docId] }, as: 'up' });
    expect([answer.status, answer.json.rule]).toEqual([status, status === 403 ? 'uploader-approves-disposal' : undefined]);
    expect(differs(w)).toEqual(kept ? ['sod-policy'] : []);
  });
});
