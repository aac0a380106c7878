/**
 * Round 14: attacks on the controls of the session before (kept givings and policies, sealed claims, hold release
 * witnesses, parked batches). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { keepSetting, KEPT_GIVINGS_READS, keptPolicyRequiresApproval, RETENTION_POLICY_ID, settingBlobName, SETTINGS_JUDGED_PER_RUN } from '../../../shared/auth/rights-sets/settings-blobs';
import type { Container } from '@azure/cosmos';
import { APPEND_ONCE_READ_MAX, AuditLog } from '../../../shared/adapters/azure/audit-log';
import type { AuditEntry, AuditInput } from '../../../shared/kernel/audit';
import { HOLD_PLACEMENT_UNWITNESSED } from '../../../shared/retention/holds/placement-witness';
import type { RecordingLogger } from '../../support/in-memory';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { assign, dueDocs, hold, ok, sweepNow, requireApproval, send, START, TENANT, upload, world, type World } from '../../support/in-process';

const ROOT = { subject: 'root', kind: 'user' as const };
const edit = (w: World, id: string, change: Record<string, unknown>) => {
  const r = w.deps.tenantRecords.records.get(`${TENANT}/${id}`)!;
  r.value = { ...r.value, ...change };
};
/** A blob created by a storage role (no Key Vault): `bytes` under `name`, unlocked. */
const plant = (w: World, name: string, bytes: Buffer) => w.deps.blobs.putCreateOnly(TENANT, name, bytes, 'application/json', { retainUntil: null, legalHold: false }, {});

/**
 * The SoD policy as storage keeps it (sodPolicyAsKept) took the newest-named sealed blob, not checking the revision it
 * sealed against its name, and, past KEPT_GIVINGS_READS unsealed blobs, Cosmos DB's word. Whoever can write Cosmos DB
 * and create blobs (not Key Vault) turned the uploader rule off in Cosmos DB and either copied the tenant's old genuine
 * rule-off revision under a later name, or planted a few unsealed blobs above the rule-on one: the uploader approved the
 * disposal of their own upload. Now the sealed revision must be its name's, and a look that reads its bound without a
 * sealed verdict keeps the rule on (the safe side).
 */
describe("the SoD policy's uploader rule as kept: a replayed or buried rule-on revision", () => {
  it.each([
    ['the old rule-off revision copied under a later name', 'replay'],
    [`${KEPT_GIVINGS_READS} unsealed blobs planted above the rule-on revision`, 'bury'],
    ['control: rule off in Cosmos DB alone', 'none'],
  ])('%s: refused', async (_, how) => {
    const w = world();
    await requireApproval(w);
    const [docId] = await dueDocs(w);
    await ok(w, assign('up', 'tenant-admin', 'carol'));
    // A genuine rule-off revision kept long ago, then carol turns it on (kept as the newest).
    const old = { id: 'sod-policy', tenantId: TENANT, type: 'sod-policy', conflicts: [], uploaderCannotApproveDisposal: false, updatedAt: START.toISOString(), updatedBy: ROOT, revision: 1 } as never;
    await keepSetting({ tenantId: TENANT, recordId: 'sod-policy', type: 'sod-policy', revision: 1, at: START.toISOString(), record: old }, w.deps);
    const etag = (await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' })).headers.ETag!;
    await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [['documents:write', 'retention:approve']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200);
    edit(w, 'sod-policy', { uploaderCannotApproveDisposal: false });
    const far = 9_000_000_000_000_000;
    if (how === 'replay') await plant(w, settingBlobName('sod-policy', far, false), w.deps.blobs.blobs.get(`${TENANT}/${settingBlobName('sod-policy', 1, false)}`)!.bytes);
    if (how === 'bury') for (let i = 0; i < KEPT_GIVINGS_READS; i++) await plant(w, settingBlobName('sod-policy', far + i, false), Buffer.from('{}'));
    const answer = await send(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [docId] }, as: 'up' });
    expect([answer.status, answer.json.rule]).toEqual([403, 'uploader-approves-disposal']);
  });

  // The same look at the retention policy (keptPolicyRequiresApproval, the sweep's where Cosmos DB says approval is off).
  it.each([
    [`${SETTINGS_JUDGED_PER_RUN} unsealed blobs above the kept policy requiring approval: required`, SETTINGS_JUDGED_PER_RUN, true],
    ['control: one: read past, required', 1, true],
  ])('%s', async (_, planted, required) => {
    const w = world();
    await requireApproval(w);
    for (let i = 0; i < planted; i++) await plant(w, settingBlobName(RETENTION_POLICY_ID, 9_000_000_000_000_000 + i, false), Buffer.from('{}'));
    expect(await keptPolicyRequiresApproval(TENANT, w.deps)).toBe(required);
  });
});

/**
 * An "append once" (the outbox's drain, a parked batch's) read every entry under the request id, in pages of a few:
 * whoever can write Cosmos DB planted a million entries under a genuine request id (read from its outbox item), and
 * every drain of it read them all (and checked each one's hash), never ending in time. Now it reads up to
 * APPEND_ONCE_READ_MAX and appends past them.
 */
describe('entries planted under a request id do not make an append-once read without end', () => {
  it('reads a bounded number of pages, then appends', async () => {
    const log = new AuditLog({} as Container, {} as Container, async () => Buffer.alloc(32, 7));
    const input: AuditInput = { tenantId: TENANT, at: START.toISOString(), actor: ROOT, action: 'legal-hold.place', target: 'doc-1', outcome: 'success', status: 201, requestId: 'genuine-1', clientIp: null, userAgent: null };
    let pages = 0;
    const planted = (n: number) => ({ ...input, id: `planted-${n}`, partition: `${TENANT}:x`, seq: n, prevHash: '0'.repeat(64), hash: '0'.repeat(64), alg: 'sha256' }) as unknown as AuditEntry;
    // A million planted, served as Cosmos DB would: a page at a time, each with a token for the next.
    log.list = async (_t, _m, limit) => ({ items: Array.from({ length: limit }, (_, i) => planted(pages * limit + i)), continuationToken: ++pages * limit < 1_000_000 ? `p${pages}` : null });
    const appended: AuditInput[][] = [];
    log.appendBatch = async (inputs) => (appended.push(inputs), []);
    expect(await log.appendOnce([input])).toBe(true);
    expect(appended).toEqual([[input]]);
    expect(pages).toBeLessThanOrEqual(APPEND_ONCE_READ_MAX / 10);
  });
});

/**
 * A release set every hold of the released id on the document released (holdReleased mapped by id): whoever can write
 * Cosmos DB renamed bob's own open hold on a document to the id of carol's hold open there too (two holds, one id), and
 * bob released carol's, as he may, and his own with it, past four eyes, the blobs' legal-hold flags cleared. Now a
 * document carrying two holds of one id releases neither (hold_placement_unwitnessed, alerted; skipped everywhere).
 */
describe("a hold renamed to the id of another placer's hold open on the same document", () => {
  it.each([
    ['released on the document', (d: string, id: string) => ({ method: 'DELETE', path: `documents/${d}/legal-holds/${id}`, body: { reason: 'Over' }, as: 'bob' })],
    ['released everywhere', (_d: string, id: string) => ({ method: 'DELETE', path: `legal-holds/${id}`, body: { reason: 'Over' }, as: 'bob' })],
  ])('%s: refused, both stay open, the flags set, alerted', async (_, release) => {
    const w = world();
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('lead')}`, { value: { id: rightsSetRecordId('lead'), tenantId: TENANT, type: 'rights-set', name: 'lead', permissions: ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'rights:manage'], updatedAt: START.toISOString(), updatedBy: ROOT } as never, etag: 2004 });
    for (const who of ['bob', 'carol']) (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId(who)}`)!.value as unknown as { rightsSet: string }).rightsSet = 'lead';
    const d = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
    const carols = (await ok(w, hold(d, 'C-1', 'carol'), 201)).json.id as string;
    const bobs = (await ok(w, hold(d, 'C-2', 'bob'), 201)).json.id as string;
    const doc = w.deps.catalog.documents.get(`${TENANT}/${d}`)!;
    const carolsHold = doc.holds!.find((h) => h.id === carols)!;
    doc.holds = doc.holds!.map((h) => (h.id === bobs ? { ...h, id: carols, placedBy: carolsHold.placedBy, placedAt: carolsHold.placedAt } : h));
    const answer = await send(w, release(d, carols));
    expect(answer.status === 409 ? answer.json.code : answer.json.skipped).toEqual(answer.status === 409 ? 'hold_placement_unwitnessed' : [{ documentId: d, reason: 'hold_placement_unwitnessed' }]);
    expect(w.deps.catalog.documents.get(`${TENANT}/${d}`)!.holds!.filter((h) => h.releasedAt === undefined).length).toBe(2);
    expect((w.deps.log as RecordingLogger).lines.some((l) => l.message === HOLD_PLACEMENT_UNWITNESSED && l.fields?.documentId === d)).toBe(true);
    expect([...w.deps.blobs.blobs].filter(([k]) => k.startsWith(`${TENANT}/${d}/`)).every(([, b]) => b.worm.legalHold)).toBe(true);
  });
});

/**
 * A found claim the archive did not seal, not "whole" in storage (a crash of a version before claims were sealed), was
 * finished under its own plan: whoever can write Cosmos DB planted a claim on a due document naming a made-up blob (so
 * never whole) and alice as who disposed of it, a month back, under a made-up approval, and the archive keyed an entry
 * saying so. Now it is finished under the run's own plan.
 */
describe('a planted claim naming a made-up blob', () => {
  it('is finished under the run\'s plan: the keyed entry is the sweep\'s', async () => {
    const w = world();
    const [id] = await dueDocs(w);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    const back = new Date(w.clock.now().getTime() - 40 * 86_400_000).toISOString();
    w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, status: 'disposing', originals: [...doc.originals, { ...doc.originals[0]!, blobName: `${id}/made-up.pdf` }], disposal: { at: back, by: { subject: 'alice', kind: 'user', person: 'alice' }, reason: 'retention ended', runId: 'sweep-planted', approval: { approvalId: 'made-up', by: { subject: 'alice', kind: 'user' }, at: back, retainUntil: doc.retention.retainUntil } as never, audited: false } });
    await sweepNow(w);
    const entries = w.deps.audit.entries.filter((e) => e.action === 'document.dispose' && e.target === id);
    expect(entries.map((e) => [e.actor.subject, e.detail, e.at.slice(0, 10)])).toEqual([['system:retention-sweep', 'retention-ended', w.clock.now().toISOString().slice(0, 10)]]);
  });
});
