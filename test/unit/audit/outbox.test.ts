/** The audit outbox's release and the sealing timer's drain, over the in-memory ports. */
import { AuditOutbox, stagedWithFirstChange } from '../../../shared/audit/outbox';
import { sealAuditLog } from '../../../shared/audit/seal';
import { AUDIT_OUTBOX_CLAIM_LEASE_MS, AUDIT_OUTBOX_GRACE_MS, AUDIT_OUTBOX_SEND_WITHIN_MS, auditOutboxItem, type AuditInput, type AuditStaging } from '../../../shared/kernel/audit';
import type { AuditEntry } from '../../../shared/kernel/audit';
import { InMemoryAuditLog, inMemoryDeps, RecordingLogger } from '../../support/in-memory';

const entry = (requestId: string, at = '2026-11-30T10:00:00.000Z'): AuditInput => ({ tenantId: 'acme', at, actor: { subject: 'alice', kind: 'user', person: 'alice' }, action: 'document.ingest', target: `doc-${requestId}`, outcome: 'success', status: 201, requestId, clientIp: null, userAgent: null });

/** An audit log that refuses appends while told to. */
class RefusingAuditLog extends InMemoryAuditLog {
  refusing = false;
  override async appendBatch(inputs: AuditInput[], opts?: { sendBy?: number }): Promise<AuditEntry[]> {
    if (this.refusing) throw new Error('cosmos down');
    return super.appendBatch(inputs, opts);
  }
}

/** An audit log whose next appendBatch waits at its start until `resume` (a run paused inside appendOnce, after its look-up). */
class PausingAuditLog extends InMemoryAuditLog {
  private gate: Promise<void> | null = null;
  resume: () => void = () => undefined;
  /** Resolves once the paused append has started. */
  paused!: Promise<void>;
  pauseNext(): void {
    let started!: () => void;
    this.paused = new Promise((r) => (started = r));
    this.gate = new Promise((r) => (this.resume = r));
    const gate = this.gate;
    this.appendBatch = async (inputs, opts) => {
      this.appendBatch = InMemoryAuditLog.prototype.appendBatch.bind(this);
      started();
      await gate;
      return this.appendBatch(inputs, opts);
    };
  }
}

/** The entries' time, and the instance's clock: half a minute after the change, when a release comes. */
const CHANGE_AT = Date.parse('2026-11-30T10:00:00.000Z');
const now = jest.spyOn(Date, 'now');
beforeEach(() => now.mockReturnValue(CHANGE_AT + 30_000));
afterAll(() => now.mockRestore());

function setUp() {
  const base = inMemoryDeps();
  const audit = new RefusingAuditLog();
  const log = new RecordingLogger();
  const outbox = new AuditOutbox({ audit, auditOutboxItems: base.auditOutboxItems, log }, 0);
  /** A change stored with its outbox item, as ingest's catalog batch does. */
  const store = async (item = auditOutboxItem([entry(`r${base.catalog.outbox.size + 1}`)])) => {
    await base.catalog.create({ id: item.entries[0]!.target, tenantId: 'acme' } as never, item);
    return item;
  };
  return { base, audit, log, outbox, store };
}

describe('a request that changes many documents', () => {
  it('stores its one entry, about its own target, with the first change that is stored, and none with the later ones', () => {
    const stored: string[] = [];
    const request: AuditStaging = { item: (target) => auditOutboxItem([{ ...entry('r1'), target: target ?? null }]), stored: (item) => stored.push(item.entries[0]!.target!) };
    const entry1 = stagedWithFirstChange(request, 'hold-1');
    const first = entry1.staging!;
    // A document's change names the document; the request's entry names the hold.
    const item = first.item('doc-1');
    expect(item.entries[0]!.target).toBe('hold-1');
    // A change that stored nothing (the document had the hold already) leaves the entry for the next.
    expect(entry1.staging).toBe(first);
    first.stored(item);
    expect(stored).toEqual(['hold-1']);
    expect(entry1.staging).toBeUndefined();
    expect(stagedWithFirstChange(undefined, 'hold-2').staging).toBeUndefined();
  });
});

describe('audit outbox', () => {
  it('release appends the stored entries to the chain and then removes the item', async () => {
    const { base, audit, outbox, store } = setUp();
    const items = [await store(), await store(), await store()];
    for (const item of items) outbox.release(item);
    await outbox.flush();
    expect(audit.entries.map((e) => e.requestId)).toEqual(['r1', 'r2', 'r3']);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('an append the log refuses leaves the item; the sealing timer appends it once, and a second run finds nothing', async () => {
    const { base, audit, log, outbox, store } = setUp();
    const item = await store();
    audit.refusing = true;
    outbox.release(item);
    await outbox.flush();
    expect(audit.entries).toEqual([]);
    expect(base.catalog.outbox.size).toBe(1);
    expect(log.lines.map((l) => l.message)).toContain('audit entries of a stored change not appended yet; the sealing timer appends them from the outbox');
    audit.refusing = false;
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(1);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(0);
    expect(audit.entries).toEqual([expect.objectContaining({ requestId: 'r1', at: '2026-11-30T10:00:00.000Z', partition: 'acme:2026-11' })]);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('an item whose entries are already in the chain (its instance stopped before removing it) is only removed: appended once', async () => {
    const { base, audit, outbox, store } = setUp();
    const item = await store();
    await audit.appendBatch(item.entries);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(0);
    expect(audit.entries).toHaveLength(1);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('an item the log keeps refusing (one tenant\'s partition throttled, say) does not hold back the items behind it; the drain then fails, naming it', async () => {
    const { base, store } = setUp();
    const audit = base.audit;
    const refused = new Set(['stuck']);
    const picky = new AuditOutbox({ audit: Object.assign(Object.create(audit) as typeof audit, { appendOnce: (inputs: AuditInput[]) => (refused.has(inputs[0]!.requestId) ? Promise.reject(new Error('429 too many requests')) : audit.appendOnce(inputs)) }), auditOutboxItems: base.auditOutboxItems, log: new RecordingLogger() }, 0);
    await store(auditOutboxItem([entry('stuck', '2026-11-30T09:00:00.000Z')]));
    await store(auditOutboxItem([entry('behind', '2026-11-30T09:30:00.000Z')]));
    await expect(picky.drain(new Date('2026-11-30T10:05:00Z'), 10)).rejects.toThrow('audit-outbox:stuck');
    expect(audit.entries.map((e) => e.requestId)).toEqual(['behind']);
    expect([...base.catalog.outbox.values()].map((i) => i.id)).toEqual(['audit-outbox:stuck']);
    refused.clear();
    // The failed run's claim holds until its lease ends (it may have sent some); a run after that appends it.
    expect(await picky.drain(new Date('2026-11-30T10:05:00Z'), 10)).toBe(0);
    now.mockReturnValue(CHANGE_AT + 30_000 + AUDIT_OUTBOX_CLAIM_LEASE_MS + 1);
    expect(await picky.drain(new Date('2026-11-30T10:05:00Z'), 10)).toBe(1);
    expect(audit.entries.map((e) => e.requestId)).toEqual(['behind', 'stuck']);
  });

  it('two sealing runs at once (a timer lease that expired mid-run, a tool beside the host): the one that claims an item appends it, once', async () => {
    const { base, store } = setUp();
    const audit = new PausingAuditLog();
    const run = () => new AuditOutbox({ audit, auditOutboxItems: base.auditOutboxItems, log: new RecordingLogger() }, 0).drain(new Date('2026-11-30T10:05:00Z'), 100);
    const item = await store();
    // The first run claims the item, looks it up in the chain, and pauses before its append; the second runs whole.
    audit.pauseNext();
    const first = run();
    await audit.paused;
    expect(await run()).toBe(0);
    expect(audit.entries).toEqual([]);
    expect(base.catalog.outbox.get(`acme/${item.id}`)?.claim).toEqual({ by: expect.any(String), at: new Date(CHANGE_AT + 30_000).toISOString() });
    audit.resume();
    expect(await first).toBe(1);
    expect(audit.entries.map((e) => e.requestId)).toEqual(['r1']);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('two runs that listed the same item before either claimed it: the claim over the listed etag lets one through', async () => {
    const { base, store } = setUp();
    await store();
    const [listed] = await base.auditOutboxItems.unsafeWrittenBefore('2026-11-30T10:05:00Z', 10);
    const [listedToo] = await base.auditOutboxItems.unsafeWrittenBefore('2026-11-30T10:05:00Z', 10);
    const at = new Date(CHANGE_AT).toISOString();
    expect(await base.auditOutboxItems.claim(listed!, { by: 'run-1', at })).toBe(true);
    expect(await base.auditOutboxItems.claim(listedToo!, { by: 'run-2', at })).toBe(false);
  });

  it('a run that claimed an item and stopped: runs within the lease leave it; a run after the lease appends it once, or only removes it when the stopped run had appended', async () => {
    const { base, audit, outbox, store } = setUp();
    const unsent = await store();
    const sent = await store();
    for (const item of [unsent, sent]) {
      const [listed] = (await base.auditOutboxItems.unsafeWrittenBefore('2026-11-30T10:05:00Z', 10)).filter((l) => l.item.id === item.id);
      expect(await base.auditOutboxItems.claim(listed!, { by: 'stopped-run', at: new Date(CHANGE_AT + 30_000).toISOString() })).toBe(true);
    }
    // The stopped run had appended the second item's entry before it stopped.
    await audit.appendBatch(sent.entries);
    now.mockReturnValue(CHANGE_AT + 30_000 + AUDIT_OUTBOX_CLAIM_LEASE_MS - 1);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(0);
    expect(base.catalog.outbox.size).toBe(2);
    now.mockReturnValue(CHANGE_AT + 30_000 + AUDIT_OUTBOX_CLAIM_LEASE_MS + 1);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(1);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 100)).toBe(0);
    expect(audit.entries.map((e) => e.requestId).sort()).toEqual(['r1', 'r2']);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('a claimant paused past its lease sends nothing once a later run has taken the item over: one append', async () => {
    const { base, store } = setUp();
    const audit = new PausingAuditLog();
    const run = () => new AuditOutbox({ audit, auditOutboxItems: base.auditOutboxItems, log: new RecordingLogger() }, 0).drain(new Date('2026-11-30T10:05:00Z'), 100);
    await store();
    audit.pauseNext();
    const first = run();
    await audit.paused;
    now.mockReturnValue(CHANGE_AT + 30_000 + AUDIT_OUTBOX_CLAIM_LEASE_MS + 1);
    expect(await run()).toBe(1);
    audit.resume();
    await expect(first).rejects.toThrow('audit-outbox:r1');
    expect(audit.entries.map((e) => e.requestId)).toEqual(['r1']);
  });

  it('the drain leaves items younger than its cut-off to their instance, and takes at most `max`, oldest first', async () => {
    const { base, audit, outbox, store } = setUp();
    await store(auditOutboxItem([entry('late', '2026-11-30T10:04:59.000Z')]));
    await store(auditOutboxItem([entry('young', '2026-11-30T10:06:00.000Z')]));
    await store(auditOutboxItem([entry('old', '2026-11-30T09:00:00.000Z')]));
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 1)).toBe(1);
    expect(audit.entries.map((e) => e.requestId)).toEqual(['old']);
    expect(await outbox.drain(new Date('2026-11-30T10:05:00Z'), 10)).toBe(1);
    expect(audit.entries.map((e) => e.requestId)).toEqual(['old', 'late']);
    expect([...base.catalog.outbox.values()].map((i) => i.entries[0]!.requestId)).toEqual(['young']);
  });

  it('a release that comes later than AUDIT_OUTBOX_SEND_WITHIN_MS after the change sends nothing: the sealing timer appends the entry, once', async () => {
    const { base, audit, log, outbox, store } = setUp();
    const item = await store();
    // A request that changed its first document, then ran on past the send-by time (a hold over many documents).
    now.mockReturnValue(CHANGE_AT + AUDIT_OUTBOX_SEND_WITHIN_MS + 1);
    outbox.release(item);
    await outbox.flush();
    expect(audit.entries).toEqual([]);
    expect(base.catalog.outbox.size).toBe(1);
    expect(log.lines.map((l) => l.message)).toContain('audit entries of a stored change not appended yet; the sealing timer appends them from the outbox');
    // The timer takes it only after the grace, which is past the send-by time and the store's answer to any send before it.
    expect(AUDIT_OUTBOX_GRACE_MS).toBeGreaterThanOrEqual(AUDIT_OUTBOX_SEND_WITHIN_MS + 2 * 60_000);
    const timerRunsAt = (t: number) => outbox.drain(new Date(t - AUDIT_OUTBOX_GRACE_MS), 100); // as sealAuditLog calls it
    expect(await timerRunsAt(CHANGE_AT + AUDIT_OUTBOX_SEND_WITHIN_MS + 60_000)).toBe(0);
    expect(await timerRunsAt(CHANGE_AT + AUDIT_OUTBOX_GRACE_MS)).toBe(0);
    expect(await timerRunsAt(CHANGE_AT + AUDIT_OUTBOX_GRACE_MS + 1)).toBe(1);
    expect(audit.entries.map((e) => e.requestId)).toEqual(['r1']);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('the sealing timer drains the outbox before it seals, so a left-behind entry is sealed with its month', async () => {
    const { base, audit, outbox, store } = setUp();
    await store();
    // Past the grace after the change (the timer's `now` decides, not the clock).
    await sealAuditLog({ now: new Date(CHANGE_AT + AUDIT_OUTBOX_GRACE_MS + 60_000), deps: { ...base, audit, auditOutbox: outbox } });
    expect(audit.entries.map((e) => e.requestId)).toEqual(['r1']);
    expect(base.catalog.outbox.size).toBe(0);
    expect(await base.blobs.blobNames('acme', 'audit-seals/2026-11/')).toHaveLength(1);
  });
});
