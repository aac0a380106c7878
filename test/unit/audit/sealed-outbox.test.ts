/**
 * Audit outbox items are sealed where they are stored; the sealing timer's drain appends an unsealed one's entries
 * marked, alerted, and no witness lookup takes them. Broke: an item written into Cosmos DB by whoever can write it (no
 * Key Vault) had its entries keyed by the drain like any, and a forged `legal-hold.place` by bob let `up` release
 * `up`'s own hold past four eyes.
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { LegalHold } from '../../../shared/kernel/retention';
import { type AuditInput, type AuditOutboxItem, auditMonth, auditOutboxItem, fromUnsealedOutbox } from '../../../shared/kernel/audit';
import { holdAuditDetail } from '../../../shared/retention/holds/legal-hold';
import { AUDIT_PENDING_UNSEALED } from '../../../shared/audit/seal';
import { AUDIT_OUTBOX_UNSEALED } from '../../../shared/audit/outbox';
import { auditHolds, keyedEntries } from '../../../shared/audit/audit-pages';
import type { RecordingLogger } from '../../support/in-memory';
import { type Call, drainedAsTheSealingTimer, hold, ok, send, START, TENANT, upload, world, type World } from '../../support/in-process';

const BOB = { subject: 'bob', kind: 'user', person: 'bob' };
const release = (id: string, holdId: string, as: string): Call => ({ method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as });
const outbox = (w: World) => (w.deps.catalog as unknown as { outbox: Map<string, AuditOutboxItem> }).outbox;
const flags = (w: World, id: string) => [...w.deps.blobs.blobs].filter(([k]) => k.startsWith(`${TENANT}/${id}/`)).map(([, b]) => b.worm.legalHold);
const alerts = (w: World, phrase = AUDIT_OUTBOX_UNSEALED) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === phrase).map((l) => l.fields!.reason);
const parked = (w: World) => w.deps.audit.pending;
/** Whether any witness lookup takes a `legal-hold.place` on `id` in `at`'s month, matched however loosely. */
const witnessed = async (w: World, id: string, at: string) => [
  await auditHolds(w.deps.audit, TENANT, { action: 'legal-hold.place', target: id }, [at], (e) => e.actor.subject === 'bob'),
  (await keyedEntries(w.deps.audit, TENANT, auditMonth(new Date(at)), { action: 'legal-hold.place', target: id }, (e) => e.actor.subject === 'bob')).length > 0,
];
const entriesOf = async (w: World, requestId: string, at: string) => (await w.deps.audit.all(TENANT, auditMonth(new Date(at)))).filter((e) => e.requestId === requestId);

/** `up` may place and release holds; `up` places a hold, which Cosmos DB is then edited to say bob placed last month. */
async function upsHoldSaidBobs(w: World): Promise<{ id: string; holdId: string; earlier: string }> {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('lead')}`, { value: { id: rightsSetRecordId('lead'), tenantId: TENANT, type: 'rights-set', name: 'lead', permissions: ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'rights:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2004 });
  (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value as unknown as { rightsSet: string }).rightsSet = 'lead';
  const id = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
  const holdId = (await ok(w, hold(id), 201)).json.id as string;
  const earlier = new Date(Date.UTC(w.clock.now().getUTCFullYear(), w.clock.now().getUTCMonth() - 1, 15)).toISOString();
  const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
  doc.holds = doc.holds!.map((h: LegalHold) => (h.id === holdId ? { ...h, placedBy: BOB, placedAt: earlier } : h));
  return { id, holdId, earlier };
}

const placedByBob = (id: string, holdId: string, at: string, requestId: string): AuditInput => ({ tenantId: TENANT, at, actor: BOB, action: 'legal-hold.place', target: id, outcome: 'success', status: 201, requestId, clientIp: null, userAgent: null, detail: holdAuditDetail(holdId) });

/** Stored as the archive stores an item: through a port's write with it (here a tenant record's, unchanged). */
async function storedGenuinely(w: World, entry: AuditInput): Promise<void> {
  const record = w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value;
  await w.deps.tenantRecords.upsert(record, auditOutboxItem([entry]));
}

const drained = drainedAsTheSealingTimer;

describe('audit outbox items are sealed; an unsealed one\'s entries are kept but vouch for nothing', () => {
  it.each([
    ['planted in Cosmos DB', async (w: World, entry: AuditInput) => {
      const item = auditOutboxItem([entry]);
      outbox(w).set(`${TENANT}/${item.id}`, item);
    }],
    ['a genuine item, edited', async (w: World, entry: AuditInput) => {
      await storedGenuinely(w, { ...entry, action: 'legal-hold.list', detail: 'listed' });
      const stored = outbox(w).get(`${TENANT}/audit-outbox:${entry.requestId}`)!;
      expect(stored.seal?.mac).toMatch(/^[0-9a-f]{64}$/);
      stored.entries = [entry];
    }],
  ])('%s: drained marked and alerted, and the release it would witness is still refused', async (_, plant) => {
    const w = world();
    const { id, holdId, earlier } = await upsHoldSaidBobs(w);
    await plant(w, placedByBob(id, holdId, earlier, 'forged-1'));
    await drained(w);
    const [entry] = await entriesOf(w, 'forged-1', earlier);
    expect([entry?.detail, entry && fromUnsealedOutbox(entry)]).toEqual([`${holdAuditDetail(holdId)};outbox-unsealed`, true]);
    expect(alerts(w)).toEqual([expect.any(String)]);
    expect(await witnessed(w, id, earlier)).toEqual([false, false]);
    const answer = await send(w, release(id, holdId, 'up'));
    // The placement found is up's own entry (this month): four eyes refuse up's release of it.
    expect([answer.status, answer.json.code]).toEqual([403, 'four_eyes_required']);
    expect(flags(w, id).every(Boolean)).toBe(true);
  });

  it('a genuine item drained: appended as it is, and witnesses as before', async () => {
    const w = world();
    const { id, holdId, earlier } = await upsHoldSaidBobs(w);
    await storedGenuinely(w, placedByBob(id, holdId, earlier, 'genuine-1'));
    await drained(w);
    const [entry] = await entriesOf(w, 'genuine-1', earlier);
    expect(entry?.detail).toBe(holdAuditDetail(holdId));
    expect(alerts(w)).toEqual([]);
    expect(await witnessed(w, id, earlier)).toEqual([true, true]);
    expect((await send(w, release(id, holdId, 'up'))).status).toBe(200);
  });

  it('a request\'s own release path (no drain): its entries unmarked, the hold released by another', async () => {
    const w = world();
    const id = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
    const holdId = (await ok(w, hold(id), 201)).json.id as string;
    expect(outbox(w).size).toBe(0);
    const placed = (await w.deps.audit.all(TENANT, auditMonth(w.clock.now()))).filter((e) => e.action === 'legal-hold.place');
    expect(placed.map((e) => [e.detail, fromUnsealedOutbox(e)])).toEqual([[holdAuditDetail(holdId), false]]);
    expect((await send(w, release(id, holdId, 'carol'))).status).toBe(200);
    expect(alerts(w)).toEqual([]);
  });
});

/**
 * Parked batches (a completed change's entries the log refused, AuditLogPort.savePending) likewise: sealed where parked,
 * judged when the sealing timer drains them. Broke: a batch planted in Cosmos DB had its forged `legal-hold.place` by bob
 * keyed as the archive's, which witnessed the placement of up's own hold.
 */
describe('parked audit batches are sealed; an unsealed one\'s entries are kept but vouch for nothing', () => {
  it.each([
    ['planted in Cosmos DB', async (w: World, entry: AuditInput) => void parked(w).push({ id: 'audit-pending:planted', tenantId: TENANT, type: 'audit-pending', entries: [entry] })],
    ['a genuine batch, edited', async (w: World, entry: AuditInput) => {
      await w.deps.audit.savePending([{ ...entry, action: 'legal-hold.list', detail: 'listed' }]);
      expect(parked(w)[0]!.seal?.mac).toMatch(/^[0-9a-f]{64}$/);
      parked(w)[0]!.entries = [entry];
    }],
    ['sealed with a copied outbox item\'s seal', async (w: World, entry: AuditInput) => {
      await storedGenuinely(w, entry);
      const item = outbox(w).get(`${TENANT}/audit-outbox:${entry.requestId}`)!;
      outbox(w).delete(`${TENANT}/${item.id}`);
      parked(w).push({ id: item.id, tenantId: TENANT, type: 'audit-pending', entries: item.entries, seal: item.seal! });
    }],
  ])('%s: drained marked and alerted, and the release it would witness is still refused', async (_, plant) => {
    const w = world();
    const { id, holdId, earlier } = await upsHoldSaidBobs(w);
    await plant(w, placedByBob(id, holdId, earlier, 'forged-1'));
    await drained(w);
    const [entry] = await entriesOf(w, 'forged-1', earlier);
    expect([entry?.detail, entry && fromUnsealedOutbox(entry)]).toEqual([`${holdAuditDetail(holdId)};outbox-unsealed`, true]);
    expect([parked(w), alerts(w, AUDIT_PENDING_UNSEALED), alerts(w)]).toEqual([[], [expect.any(String)], []]);
    expect(await witnessed(w, id, earlier)).toEqual([false, false]);
    const answer = await send(w, release(id, holdId, 'up'));
    expect([answer.status, answer.json.code]).toEqual([403, 'four_eyes_required']);
    expect(flags(w, id).every(Boolean)).toBe(true);
  });

  it('a genuine parked batch drained: appended as it is, and witnesses as before', async () => {
    const w = world();
    const { id, holdId, earlier } = await upsHoldSaidBobs(w);
    // Parked as the pipeline parks a completed change's entries the log refused (http/pipeline.ts appendAfterChange).
    await w.deps.audit.savePending([placedByBob(id, holdId, earlier, 'genuine-1')]);
    await drained(w);
    const [entry] = await entriesOf(w, 'genuine-1', earlier);
    expect(entry?.detail).toBe(holdAuditDetail(holdId));
    expect(alerts(w, AUDIT_PENDING_UNSEALED)).toEqual([]);
    expect(await witnessed(w, id, earlier)).toEqual([true, true]);
    expect((await send(w, release(id, holdId, 'up'))).status).toBe(200);
  });
});
