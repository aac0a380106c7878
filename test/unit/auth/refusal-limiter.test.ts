/** The refusal limiter's counts of suppressed refusals, its memory bound, and the flush that writes the counts. */
import type { Deps } from '../../../shared/deps';
import type { AuditEntry, AuditInput } from '../../../shared/kernel/audit';
import { MAX_BUCKETS, RefusalLimiter } from '../../../shared/auth/refusal-limiter';
import { flushSuppressedRefusals } from '../../../shared/audit/suppressed-refusals';
import { FakeClock } from '../../support/fake-clock';
import { InMemoryAuditLog, RecordingLogger } from '../../support/in-memory';

/** The entry a refused request answered 429 would have had. */
function refusal(tenantId: string, person: string, at: Date, requestId = `r-${at.getTime()}`): AuditInput {
  return { tenantId, at: at.toISOString(), actor: { subject: person, kind: 'user', person }, action: 'document.read', target: 'doc-1', outcome: 'refused', status: 429, requestId, clientIp: '203.0.113.7', userAgent: 'stuffer/1.0', detail: 'too_many_refusals' };
}

/** Refusals of one person until the limiter suppresses them, then `suppressed` more, one a second. */
function flood(limiter: RefusalLimiter, clock: FakeClock, tenantId: string, person: string, suppressed: number): void {
  let counted = 0;
  while (counted < suppressed) {
    const verdict = limiter.take(tenantId, person, clock.now());
    if (!verdict.allowed && !verdict.first) {
      limiter.suppress(refusal(tenantId, person, clock.now()));
      counted++;
    }
    clock.advance(1000);
  }
}

function flushDeps(limiter: RefusalLimiter, audit = new InMemoryAuditLog()) {
  const log = new RecordingLogger();
  return { deps: { refusals: limiter, audit, log } as Pick<Deps, 'refusals' | 'audit' | 'log'>, audit, log };
}

const suppressedEntries = (entries: AuditEntry[]) => entries.filter((e) => e.action === 'access.refusals-suppressed');

describe('RefusalLimiter', () => {
  it('counts the refusals of a run past its first 429, with their span and the last one\'s request, and hands the count over once', () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 2, perMinute: 1 });
    flood(limiter, clock, 'acme', 'mallory', 5);
    const pending = limiter.takeSuppressed('acme', 'mallory');
    expect(pending).toMatchObject({ count: 5, first: '2026-03-01T10:00:03.000Z', last: '2026-03-01T10:00:07.000Z', entry: { requestId: `r-${Date.parse('2026-03-01T10:00:07Z')}`, clientIp: '203.0.113.7' } });
    expect(limiter.takeSuppressed('acme', 'mallory')).toBeNull();
  });

  it('keeps at most MAX_BUCKETS buckets; a dropped bucket\'s pending count is kept aside for a flush, not lost', () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 1, perMinute: 1 });
    flood(limiter, clock, 'acme', 'mallory', 3);
    expect(limiter.needsFlush).toBe(false);
    // As many other principals, each refused once, as the limiter keeps: mallory's bucket is the least recently used.
    for (let i = 0; i < MAX_BUCKETS; i++) limiter.take('acme', `user-${i}`, clock.now());
    expect(limiter.size).toBe(MAX_BUCKETS);
    expect(limiter.needsFlush).toBe(true);
    expect(limiter.takeAllSuppressed('spilled').map((p) => [p.entry.actor.person, p.count])).toEqual([['mallory', 3]]);
    expect(limiter.needsFlush).toBe(false);
  });

  it('drops the least recently used bucket, so a principal still flooding keeps its limit', () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 1, perMinute: 1 });
    limiter.take('acme', 'idle', clock.now());
    flood(limiter, clock, 'acme', 'mallory', 1);
    for (let i = 0; i < MAX_BUCKETS - 2; i++) limiter.take('acme', `user-${i}`, clock.now());
    expect(limiter.take('acme', 'mallory', clock.now())).toMatchObject({ allowed: false }); // touched: now the most recent
    limiter.take('acme', 'newcomer', clock.now()); // one over: `idle` goes
    expect(limiter.take('acme', 'mallory', clock.now())).toMatchObject({ allowed: false, first: false });
    expect(limiter.take('acme', 'idle', clock.now())).toEqual({ allowed: true });
  });
});

describe('flushSuppressedRefusals', () => {
  it('writes one entry per principal with the count, the span, who, the tenant and from where; never one per refusal', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 1, perMinute: 1 });
    flood(limiter, clock, 'acme', 'mallory', 40);
    flood(limiter, clock, 'acme', 'trudy', 2);
    flood(limiter, clock, 'globex', 'mallory', 3);
    const { deps, audit } = flushDeps(limiter);
    const at = new Date('2026-03-01T10:05:00Z');
    expect(await flushSuppressedRefusals(at, deps)).toEqual({ written: 3, kept: 0 });
    expect(suppressedEntries(audit.entries).map((e) => [e.tenantId, e.actor.person, e.at, e.status, e.outcome, e.clientIp, e.detail])).toEqual(
      expect.arrayContaining([
        ['acme', 'mallory', at.toISOString(), 429, 'refused', '203.0.113.7', 'too_many_refusals:suppressed=40;first=2026-03-01T10:00:02.000Z;last=2026-03-01T10:00:41.000Z'],
        ['acme', 'trudy', at.toISOString(), 429, 'refused', '203.0.113.7', 'too_many_refusals:suppressed=2;first=2026-03-01T10:00:44.000Z;last=2026-03-01T10:00:45.000Z'],
        ['globex', 'mallory', at.toISOString(), 429, 'refused', '203.0.113.7', 'too_many_refusals:suppressed=3;first=2026-03-01T10:00:48.000Z;last=2026-03-01T10:00:50.000Z'],
      ]),
    );
    expect(audit.entries).toHaveLength(3);
    // Nothing pending is written twice.
    expect(await flushSuppressedRefusals(at, deps)).toEqual({ written: 0, kept: 0 });
  });

  it('keeps a count the log refuses for the next flush, and puts it in the error log meanwhile', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 1, perMinute: 1 });
    flood(limiter, clock, 'acme', 'mallory', 4);
    let down = true;
    class DownAuditLog extends InMemoryAuditLog {
      override async appendBatch(inputs: AuditInput[]): Promise<AuditEntry[]> {
        if (down) throw new Error('cosmos down');
        return super.appendBatch(inputs);
      }
    }
    const { deps, audit, log } = flushDeps(limiter, new DownAuditLog());
    expect(await flushSuppressedRefusals(clock.now(), deps)).toEqual({ written: 0, kept: 1 });
    expect(log.lines).toEqual([expect.objectContaining({ level: 'error', fields: expect.objectContaining({ entries: [expect.objectContaining({ detail: expect.stringContaining('suppressed=4;') })] }) })]);
    flood(limiter, clock, 'acme', 'mallory', 1);
    down = false;
    expect(await flushSuppressedRefusals(clock.now(), deps)).toEqual({ written: 2, kept: 0 });
    // The kept count as it was first sent, and the newer one beside it: together all five, each once.
    expect(suppressedEntries(audit.entries).map((e) => e.detail)).toEqual([
      'too_many_refusals:suppressed=4;first=2026-03-01T10:00:02.000Z;last=2026-03-01T10:00:05.000Z',
      'too_many_refusals:suppressed=1;first=2026-03-01T10:00:06.000Z;last=2026-03-01T10:00:06.000Z',
    ]);
  });

  it('does not write a count twice when its append failed after the log had stored it (a timeout after the write)', async () => {
    const clock = new FakeClock('2026-03-01T10:00:00Z');
    const limiter = new RefusalLimiter({ burst: 1, perMinute: 1 });
    flood(limiter, clock, 'acme', 'mallory', 4);
    let ambiguous = true;
    class TimeoutAfterWrite extends InMemoryAuditLog {
      override async appendBatch(inputs: AuditInput[]): Promise<AuditEntry[]> {
        const stored = await super.appendBatch(inputs);
        if (ambiguous) throw new Error('request timed out');
        return stored;
      }
    }
    const { deps, audit } = flushDeps(limiter, new TimeoutAfterWrite());
    expect(await flushSuppressedRefusals(clock.now(), deps)).toEqual({ written: 0, kept: 1 });
    ambiguous = false;
    flood(limiter, clock, 'acme', 'mallory', 2);
    await flushSuppressedRefusals(clock.now(), deps);
    await flushSuppressedRefusals(clock.now(), deps);
    expect(suppressedEntries(audit.entries).map((e) => e.detail)).toEqual([
      'too_many_refusals:suppressed=4;first=2026-03-01T10:00:02.000Z;last=2026-03-01T10:00:05.000Z',
      'too_many_refusals:suppressed=2;first=2026-03-01T10:00:06.000Z;last=2026-03-01T10:00:07.000Z',
    ]);
  });
});
