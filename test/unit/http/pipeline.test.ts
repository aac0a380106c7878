/** The request pipeline with stand-in stores: error mapping, permission checks and fail-closed audit. */
import { Readable } from 'node:stream';
import type { Deps } from '../../../shared/deps';
import type { Logger } from '../../../shared/ports';
import fc from 'fast-check';
import { z } from 'zod';
import type { AuditInput } from '../../../shared/ports';
import { ArchiveError } from '../../../shared/kernel/errors';
import { handleRequest, RouteDef } from '../../../shared/http/pipeline';
import { operation, type Reply, type TenantAudit } from '../../../shared/http/operation';
import { RefusalLimiter } from '../../../shared/auth/refusal-limiter';
import type { ArchiveRequest } from '../../../shared/http/types';
import type { Authenticates } from '../../../shared/auth/authenticate';
import type { AuditEntry } from '../../../shared/kernel/audit';
import type { Permission } from '../../../shared/kernel/principal';
import { InMemoryAuditLog, inMemoryDeps } from '../../support/in-memory';
import { AuditOutbox } from '../../../shared/audit/outbox';
import { sealAuditLog, sealBlobName } from '../../../shared/audit/seal';
import { FakeClock } from '../../support/fake-clock';

function fakeDeps(opts: { auditFails?: boolean; auditFailsFirst?: number; auditStoresThenFailsFirst?: number; auditHangs?: boolean; parkFails?: boolean; limits?: { burst: number; perMinute: number } } = {}) {
  const entries: AuditInput[] = [];
  const parked: AuditInput[] = [];
  const logged: string[] = [];
  let failures = 0;
  let now = new Date('2026-01-02T03:04:05Z');
  const warned: { message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = { info: () => undefined, warn: (message, fields) => warned.push({ message, ...(fields ? { fields } : {}) }), error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) };
  /** An audit log that fails while told to (Cosmos down), and whose parking place can fail too. */
  class FlakyAuditLog extends InMemoryAuditLog {
    override async appendBatch(batch: AuditInput[]): Promise<AuditEntry[]> {
      while (opts.auditHangs) await new Promise((resolve) => setTimeout(resolve, 5));
      if (opts.auditFails || failures++ < (opts.auditFailsFirst ?? 0)) throw new Error('cosmos down');
      entries.push(...batch);
      const stored = await super.appendBatch(batch);
      // Stored, but the answer is lost (a timeout): the caller cannot tell.
      if ((opts.auditStoresThenFailsFirst ?? 0) > 0 && opts.auditStoresThenFailsFirst!-- > 0) throw new Error('request timed out');
      return stored;
    }
    override async savePending(batch: AuditInput[]): Promise<void> {
      if (opts.parkFails) throw new Error('cosmos down');
      parked.push(...batch);
    }
  }
  const authenticator: Authenticates = {
    authenticate: async (h) => {
      if (!h?.startsWith('Bearer ok')) throw new ArchiveError('unauthenticated');
      return { tenantId: 'acme', subject: h === 'Bearer ok' ? 'alice' : h.slice('Bearer ok-'.length), kind: 'user', rightsSet: 'uploader', permissions: new Set<Permission>(['documents:read']) };
    },
  };
  const base = inMemoryDeps();
  const audit = new FlakyAuditLog();
  const deps: Deps = {
    ...base,
    authenticator,
    audit,
    auditOutbox: new AuditOutbox({ audit, auditOutboxItems: base.auditOutboxItems, log }, 0),
    refusals: new RefusalLimiter(opts.limits ?? { burst: 1000, perMinute: 1000 }),
    clock: { now: () => now },
    log,
  };
  return { deps, base, entries, parked, logged, warned, advance: (ms: number) => (now = new Date(now.getTime() + ms)), resume: () => void (opts.auditHangs = false) };
}

function request(authorization?: string, method: 'GET' | 'POST' = 'GET'): ArchiveRequest {
  return {
    method,
    url: new URL('http://localhost/api/documents/x'),
    params: { id: 'x' },
    headers: { get: (n) => (n === 'authorization' ? authorization ?? null : null) },
    body: null,
    clientIp: '10.0.0.1',
    requestId: 'req-1',
  };
}

const responses = { 200: { description: 'ok', stream: ['text/plain'] }, 201: { description: 'created', stream: ['text/plain'] } } as const;
const route = (handler: (input: { audit: TenantAudit }) => Promise<Reply<typeof responses>>, permission: 'documents:read' | 'documents:write' = 'documents:read'): RouteDef =>
  operation({ name: 't', method: 'GET', route: 'documents/{id}', summary: 't', tags: ['t'], responses, errors: [], auth: 'tenant', permission, action: 'document.read', handler });

describe('handleRequest', () => {
  it('turns an unknown error into a generic 500 with the request id; the detail goes to the log only', async () => {
    const { deps, entries, logged } = fakeDeps();
    const res = await handleRequest(route(async () => { throw new Error('AccountKey=hunter2 rejected'); }), request('Bearer ok'), deps);
    expect(res.status).toBe(500);
    expect((res.body as string)).not.toContain('hunter2');
    expect(JSON.parse((res.body as string))).toMatchObject({ code: 'internal', requestId: 'req-1' });
    expect(logged.join()).toContain('hunter2');
    expect(entries).toEqual([expect.objectContaining({ outcome: 'failed', status: 500, target: 'x' })]);
  });

  it('refuses a missing permission with 403 and audits the refusal', async () => {
    const { deps, entries } = fakeDeps();
    const res = await handleRequest(route(async () => ({ status: 200 }), 'documents:write'), request('Bearer ok'), deps);
    expect(res.status).toBe(403);
    expect(entries).toEqual([expect.objectContaining({ outcome: 'refused', status: 403, detail: 'forbidden', actor: { subject: 'alice', kind: 'user', person: 'alice' } })]);
  });

  it('a refused request\'s entry names its target, worked out from well-formed parameters before the permission check', async () => {
    const { deps, entries } = fakeDeps();
    const targeted = operation({
      name: 't', method: 'GET', route: 'documents/{id}', summary: 't', tags: ['t'], responses, errors: [], auth: 'tenant', permission: 'documents:write', action: 'document.read',
      params: z.strictObject({ id: z.string() }), target: (p) => `hold-of:${p.id}`, handler: async () => ({ status: 200 as const }),
    });
    expect((await handleRequest(targeted, request('Bearer ok'), deps)).status).toBe(403);
    expect(entries).toEqual([expect.objectContaining({ outcome: 'refused', status: 403, target: 'hold-of:x' })]);
  });

  it('writes no audit entry for an unauthenticated request (no tenant is known)', async () => {
    const { deps, entries } = fakeDeps();
    expect((await handleRequest(route(async () => ({ status: 200 })), request(), deps)).status).toBe(401);
    expect(entries).toEqual([]);
  });

  it('logs a request refused before a tenant is known (no chain to write to): from where, with what, an API key by its non-secret prefix only', async () => {
    const { deps, entries, warned } = fakeDeps();
    const secret = 'S3cr3t_S3cr3t_S3cr3t_S3cr3t_S3cr3t_S3cr3t_x';
    expect((await handleRequest(route(async () => ({ status: 200 })), request(`ApiKey arch_acme_0123456789abcdef01234567_${secret}`), deps)).status).toBe(401);
    expect((await handleRequest(route(async () => ({ status: 200 })), request('Bearer forged.token.here'), deps)).status).toBe(401);
    expect(entries).toEqual([]);
    expect(warned).toEqual([
      { message: 'request refused before a tenant was known', fields: expect.objectContaining({ requestId: 'req-1', route: 't', status: 401, code: 'unauthenticated', clientIp: '10.0.0.1', credential: 'api-key arch_acme_0123456789abcdef01234567' }) },
      { message: 'request refused before a tenant was known', fields: expect.objectContaining({ status: 401, credential: 'bearer' }) },
    ]);
    expect(JSON.stringify(warned)).not.toContain(secret);
    expect(JSON.stringify(warned)).not.toContain('forged.token.here');
  });

  it('a refusal whose entry the log refuses is not served, and its entry goes to the error log (the one record left)', async () => {
    const { deps, logged } = fakeDeps({ auditFails: true });
    expect((await handleRequest(route(async () => ({ status: 200 }), 'documents:write'), request('Bearer ok'), deps)).status).toBe(503);
    expect(logged).toEqual([expect.stringMatching(/^audit append failed .*"outcome":"refused","status":403,"requestId":"req-1","clientIp":"10.0.0.1"/)]);
  });

  it('fails closed: an access that cannot be audited is not served', async () => {
    const { deps } = fakeDeps({ auditFails: true });
    const body = Readable.from(['secret scan bytes']);
    const res = await handleRequest(route(async () => ({ status: 200, body })), request('Bearer ok'), deps);
    expect(res.status).toBe(503);
    expect(body.destroyed).toBe(true);
  });

  it('adds the security headers to every answer', async () => {
    const { deps } = fakeDeps();
    const res = await handleRequest(route(async () => ({ status: 200, body: Buffer.from('{}') })), request('Bearer ok'), deps);
    expect(res.headers).toMatchObject({ 'X-Request-Id': 'req-1', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
  });

  it('never answers 503 after a completed change: a failing audit append is retried until written', async () => {
    const { deps, entries } = fakeDeps({ auditFailsFirst: 3 });
    const res = await handleRequest(route(async () => ({ status: 201, body: Buffer.from('{}') })), request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(201);
    expect(entries).toEqual([expect.objectContaining({ outcome: 'success', status: 201, requestId: 'req-1' })]);
  });

  it('a retry after an append whose answer was lost (stored all the same) does not append the entry again', async () => {
    const { deps, entries } = fakeDeps({ auditStoresThenFailsFirst: 1 });
    const res = await handleRequest(route(async () => ({ status: 201, body: Buffer.from('{}') })), request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(201);
    expect(entries).toEqual([expect.objectContaining({ outcome: 'success', status: 201, requestId: 'req-1' })]);
  });

  it('parks the entry of a completed change for the sealing timer when the log keeps failing, and still answers the success', async () => {
    const { deps, entries, parked } = fakeDeps({ auditFails: true });
    const res = await handleRequest(route(async () => ({ status: 201, body: Buffer.from('{}') })), request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(201);
    expect(entries).toEqual([]);
    expect(parked).toEqual([expect.objectContaining({ outcome: 'success', status: 201, requestId: 'req-1' })]);
  });

  it('logs the entry itself when it can be neither written nor parked, and still answers the success', async () => {
    const { deps, logged } = fakeDeps({ auditFails: true, parkFails: true });
    const res = await handleRequest(route(async () => ({ status: 201, body: Buffer.from('{}') })), request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(201);
    expect(logged.join()).toContain('"requestId":"req-1"');
    expect(logged.join()).toContain('"outcome":"success"');
  });

  it('a change that stored its own success entry (the audit outbox) is answered without waiting for the chain; the entry follows, unchanged', async () => {
    const { deps, base, entries, resume } = fakeDeps({ auditHangs: true });
    // The handler stores its change with the staged entry, as ingest does in its catalog batch.
    const change = route(async ({ audit }) => {
      const staging = audit.staging(201);
      const item = staging.item('doc-1');
      await base.catalog.create({ id: 'doc-1', tenantId: 'acme' } as never, item);
      staging.stored(item);
      return { status: 201 };
    }, 'documents:read');
    const res = await handleRequest(change, request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(201);
    expect(entries).toEqual([]); // the log still hangs: the answer did not wait for it
    const [stored] = [...base.catalog.outbox.values()];
    expect(stored?.entries).toEqual([expect.objectContaining({ tenantId: 'acme', action: 'document.read', target: 'doc-1', outcome: 'success', status: 201, requestId: 'req-1', clientIp: '10.0.0.1', actor: { subject: 'alice', kind: 'user', person: 'alice' } })]);
    resume();
    await deps.auditOutbox.flush();
    expect(entries).toEqual(stored?.entries); // the same entry, its time that of the change
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('a change that staged its entry but then failed is audited as failed, before the answer, and its staged entry is not released', async () => {
    const { deps, base, entries } = fakeDeps();
    const failing = route(async ({ audit }) => {
      audit.staging(201).item('doc-2');
      throw new ArchiveError('dependency_unavailable');
    }, 'documents:read');
    const res = await handleRequest(failing, request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(503);
    expect(entries).toEqual([expect.objectContaining({ outcome: 'failed', status: 503, detail: 'dependency_unavailable' })]);
    expect(base.catalog.outbox.size).toBe(0);
  });

  it('a request that stored a change with its entry and then failed (a bulk change stopped half-way) is audited twice: what was done, and the failure', async () => {
    const { deps, base, entries } = fakeDeps();
    const halfWay = route(async ({ audit }) => {
      const staging = audit.staging(200);
      const item = staging.item('hold-1');
      await base.catalog.create({ id: 'doc-3', tenantId: 'acme' } as never, item);
      staging.stored(item);
      throw new ArchiveError('hold_already_released');
    }, 'documents:read');
    const res = await handleRequest(halfWay, request('Bearer ok', 'POST'), deps);
    expect(res.status).toBe(409);
    await deps.auditOutbox.flush();
    expect(entries).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ requestId: 'req-1', target: 'hold-1', outcome: 'success', status: 200 }),
        expect.objectContaining({ requestId: 'req-1', outcome: 'refused', status: 409, detail: 'hold_already_released' }),
      ]),
    );
    expect(entries).toHaveLength(2);
    expect(base.catalog.outbox.size).toBe(0);
    // The sealing timer's later drain finds the success entry in the chain: nothing appended twice.
    expect(await deps.audit.appendOnce([entries.find((e) => e.outcome === 'success')!])).toBe(false);
  });

  it('rate-limits refused requests per principal with 429 and Retry-After, audits the first and counts the rest in one entry', async () => {
    const { deps, entries, advance } = fakeDeps({ limits: { burst: 3, perMinute: 6 } });
    const refused = route(async () => ({ status: 200 }), 'documents:write');
    const statuses: number[] = [];
    for (let i = 0; i < 10; i++) statuses.push((await handleRequest(refused, request('Bearer ok'), deps)).status);
    expect(statuses).toEqual([403, 403, 403, 429, 429, 429, 429, 429, 429, 429]);
    const limited = await handleRequest(refused, request('Bearer ok'), deps);
    expect(limited.headers).toMatchObject({ 'Content-Type': 'application/problem+json', 'Retry-After': '10' });
    expect(JSON.parse(limited.body as string)).toMatchObject({ status: 429, code: 'too_many_refusals' });
    // Another principal of the tenant, and a request alice is allowed to make, are not limited.
    expect((await handleRequest(refused, request('Bearer ok-bob'), deps)).status).toBe(403);
    expect((await handleRequest(route(async () => ({ status: 200 })), request('Bearer ok'), deps)).status).toBe(200);
    expect(entries.map((e) => `${e.actor.subject} ${e.action} ${e.status} ${e.detail ?? ''}`)).toEqual([
      'alice document.read 403 forbidden',
      'alice document.read 403 forbidden',
      'alice document.read 403 forbidden',
      'alice document.read 429 too_many_refusals',
      'bob document.read 403 forbidden',
      'alice access.refusals-suppressed 429 too_many_refusals:suppressed=7;first=2026-01-02T03:04:05.000Z;last=2026-01-02T03:04:05.000Z',
      'alice document.read 200 ',
    ]);
    advance(10_000);
    expect((await handleRequest(refused, request('Bearer ok'), deps)).status).toBe(403);
  });

  it('a flood from one principal that then goes quiet still ends with its suppressed entry: the sealing timer writes the count', async () => {
    const clock = new FakeClock('2026-01-02T03:04:05Z');
    const base = inMemoryDeps();
    const deps: Deps = { ...base, clock, authenticator: fakeDeps().deps.authenticator, refusals: new RefusalLimiter({ burst: 3, perMinute: 6 }) };
    const refused = route(async () => ({ status: 200 }), 'documents:write');
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      statuses.push((await handleRequest(refused, request('Bearer ok'), deps)).status);
      clock.advance(100);
    }
    expect(statuses.filter((s) => s === 429)).toHaveLength(47);
    // The attacker stops: no request of alice's comes again. The chain holds the 3 refusals and the run's first 429 only.
    expect(base.audit.entries).toHaveLength(4);
    clock.advance(10 * 60_000);
    await sealAuditLog({ now: clock.now(), deps });
    const suppressed = base.audit.entries.filter((e) => e.action === 'access.refusals-suppressed');
    expect(suppressed).toEqual([
      expect.objectContaining({ tenantId: 'acme', actor: expect.objectContaining({ person: 'alice' }), at: '2026-01-02T03:14:10.000Z', status: 429, outcome: 'refused', clientIp: '10.0.0.1', detail: 'too_many_refusals:suppressed=46;first=2026-01-02T03:04:05.400Z;last=2026-01-02T03:04:09.900Z' }),
    ]);
    expect(await base.blobs.blobNames('acme', 'audit-seals/2026-01/')).toEqual([sealBlobName('2026-01', 5)]); // sealed with it
    await sealAuditLog({ now: clock.now(), deps });
    expect(base.audit.entries).toHaveLength(5); // written once
  });

  it('a suppressed count whose append timed out after the write is not written again inside a later count', async () => {
    const clock = new FakeClock('2026-01-02T03:04:05Z');
    let timeouts = 0;
    class TimeoutAfterWrite extends InMemoryAuditLog {
      override async appendBatch(inputs: AuditInput[]): Promise<AuditEntry[]> {
        const stored = await super.appendBatch(inputs);
        if (timeouts > 0 && timeouts--) throw new Error('request timed out');
        return stored;
      }
    }
    const base = inMemoryDeps();
    const audit = new TimeoutAfterWrite();
    const deps: Deps = { ...base, audit, clock, authenticator: fakeDeps().deps.authenticator, refusals: new RefusalLimiter({ burst: 3, perMinute: 6 }) };
    const refused = route(async () => ({ status: 200 }), 'documents:write');
    const allowed = route(async () => ({ status: 200 }));
    for (let i = 0; i < 10; i++) await handleRequest(refused, request('Bearer ok'), deps); // 3 × 403, a first 429, 6 counted
    // Alice's next audited request carries the count of 6; the log stores both entries and then times out.
    timeouts = 1;
    expect((await handleRequest(allowed, request('Bearer ok'), deps)).status).toBe(503);
    for (let i = 0; i < 3; i++) await handleRequest(refused, request('Bearer ok'), deps); // 3 more counted
    expect((await handleRequest(allowed, request('Bearer ok'), deps)).status).toBe(200);
    clock.advance(10 * 60_000);
    await sealAuditLog({ now: clock.now(), deps });
    const counts = audit.entries.filter((e) => e.action === 'access.refusals-suppressed').map((e) => Number(/suppressed=(\d+)/.exec(e.detail!)![1]));
    expect(counts).toEqual([6, 3]);
  });

  it('accounts for every refused request: audited one by one, or counted in a suppressed entry (property)', async () => {
    await fc.assert(fc.asyncProperty(
      fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 120 }),
      fc.array(fc.record({ waitMs: fc.integer({ min: 0, max: 5000 }), refused: fc.boolean() }), { maxLength: 60 }),
      async (burst, perMinute, steps) => {
        const { deps, entries, advance } = fakeDeps({ limits: { burst, perMinute } });
        let refusals = 0;
        let passed = 0;
        let elapsed = 0;
        for (const step of steps) {
          advance(step.waitMs);
          elapsed += step.waitMs;
          const res = await handleRequest(route(async () => ({ status: 200 }), step.refused ? 'documents:write' : 'documents:read'), request('Bearer ok'), deps);
          if (step.refused) refusals++;
          if (res.status === 403) passed++;
          if (!step.refused) expect(res.status).toBe(200);
        }
        const audited = entries.filter((e) => e.outcome === 'refused' && e.action === 'document.read').length;
        const counted = entries.filter((e) => e.action === 'access.refusals-suppressed').reduce((n, e) => n + Number(/suppressed=(\d+)/.exec(e.detail!)![1]), 0);
        expect(audited + counted + (deps.refusals.takeSuppressed('acme', 'alice')?.count ?? 0)).toBe(refusals);
        expect(passed).toBeLessThanOrEqual(burst + Math.floor((elapsed * perMinute) / 60_000));
      },
    ), { numRuns: 200 });
  });
});
