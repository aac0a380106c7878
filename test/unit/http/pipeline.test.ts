/** The request pipeline with stand-in stores: error mapping, permission checks and fail-closed audit. */
import { Readable } from 'node:stream';
import type { Deps, Logger } from '../../../shared/app';
import type { AuditEntry } from '../../../shared/audit/types';
import { ArchiveError } from '../../../shared/http/errors';
import { handleRequest, RouteDef } from '../../../shared/http/pipeline';
import type { ArchiveRequest } from '../../../shared/http/types';

function fakeDeps(opts: { auditFails?: boolean } = {}) {
  const entries: Omit<AuditEntry, 'id' | 'partition'>[] = [];
  const logged: string[] = [];
  const log: Logger = { info: () => undefined, warn: () => undefined, error: (m, f) => logged.push(`${m} ${JSON.stringify(f)}`) };
  const deps = {
    authenticator: { authenticate: async (h: string | null) => {
      if (h !== 'Bearer ok') throw new ArchiveError('unauthenticated');
      return { tenantId: 'acme', subject: 'alice', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:read']) };
    } },
    audit: { append: async (e: Omit<AuditEntry, 'id' | 'partition'>) => {
      if (opts.auditFails) throw new Error('cosmos down');
      entries.push(e);
      return e;
    } },
    clock: { now: () => new Date('2026-01-02T03:04:05Z') },
    log,
  } as unknown as Deps;
  return { deps, entries, logged };
}

function request(authorization?: string): ArchiveRequest {
  return {
    method: 'GET',
    url: new URL('http://localhost/api/documents/x'),
    params: { id: 'x' },
    headers: { get: (n) => (n === 'authorization' ? authorization ?? null : null) },
    body: null,
    clientIp: '10.0.0.1',
    requestId: 'req-1',
  };
}

const route = (handler: () => Promise<{ status: number; body?: Readable | string }>, permission: 'documents:read' | 'documents:write' = 'documents:read'): RouteDef => ({
  name: 't', method: 'GET', route: 'documents/{id}', auth: 'tenant', permission, action: 'document.read', handler,
});

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

  it('writes no audit entry for an unauthenticated request (no tenant is known)', async () => {
    const { deps, entries } = fakeDeps();
    expect((await handleRequest(route(async () => ({ status: 200 })), request(), deps)).status).toBe(401);
    expect(entries).toEqual([]);
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
    const res = await handleRequest(route(async () => ({ status: 200, body: '{}' })), request('Bearer ok'), deps);
    expect(res.headers).toMatchObject({ 'X-Request-Id': 'req-1', 'X-Content-Type-Options': 'nosniff', 'Cache-Control': 'no-store' });
  });
});
