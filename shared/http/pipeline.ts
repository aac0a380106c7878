import type { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditInput } from '../ports';
import type { AuditAction } from '../kernel/audit';
import { type Permission, type Principal, personOf } from '../kernel/principal';
import { ArchiveError, toArchiveError } from '../kernel/errors';
import { headersOf, problemOf, statusOf } from './problem';
import { securityHeaders } from './respond';
import type { ArchiveRequest, ArchiveResponse, HttpMethod } from './types';

export interface TenantContext {
  req: ArchiveRequest;
  principal: Principal;
  /** The handler names what it touched; the pipeline writes the one audit entry. */
  audit: { target: string | null };
}

export interface PublicContext {
  req: ArchiveRequest;
}

interface RouteBase {
  /** Unique; also the Azure Functions function name. */
  name: string;
  method: HttpMethod;
  /** Azure Functions route template under /api, e.g. `documents/{id}`. */
  route: string;
}

export interface TenantRoute extends RouteBase {
  auth: 'tenant';
  permission: Permission;
  action: AuditAction;
  handler: (ctx: TenantContext, deps: Deps) => Promise<ArchiveResponse>;
}

export interface PublicRoute extends RouteBase {
  auth: 'public';
  handler: (ctx: PublicContext, deps: Deps) => Promise<ArchiveResponse>;
}

export type RouteDef = TenantRoute | PublicRoute;

/** A route that needs a credential: tenant, permission and audit action come with it. */
export const tenantRoute = (r: Omit<TenantRoute, 'auth'>): RouteDef => ({ ...r, auth: 'tenant' });

export function problemResponse(err: ArchiveError, requestId: string, instance?: string): ArchiveResponse {
  return {
    status: statusOf(err.code),
    headers: { 'Content-Type': 'application/problem+json', ...headersOf(err) },
    body: JSON.stringify(problemOf(err, requestId, instance)),
  };
}

/**
 * The middleware every route runs through, on Azure and locally alike:
 * authenticate, authorise, call the handler, map errors to problem+json, and
 * append exactly one audit entry for every request that reached a tenant.
 */
export async function handleRequest(route: RouteDef, req: ArchiveRequest, deps: Deps): Promise<ArchiveResponse> {
  let response: ArchiveResponse;
  let principal: Principal | null = null;
  let failure: ArchiveError | null = null;
  const audit = { target: req.params.id ?? null };
  try {
    if (route.auth === 'public') {
      response = await route.handler({ req }, deps);
    } else {
      principal = await deps.authenticator.authenticate(req.headers.get('authorization'));
      // A valid credential the tenant refuses as a whole (support without grant, conflicting rights).
      if (principal.denial) throw principal.denial;
      if (!principal.permissions.has(route.permission)) {
        throw new ArchiveError('forbidden', { detail: `This needs the permission ${route.permission}.`, extensions: { permission: route.permission } });
      }
      response = await route.handler({ req, principal, audit }, deps);
    }
  } catch (err) {
    failure = toArchiveError(err);
    if (failure.code === 'internal') {
      deps.log.error('unhandled error', { requestId: req.requestId, route: route.name, error: describe(err) });
    }
    response = problemResponse(failure, req.requestId, req.url.pathname);
  }

  if (route.auth === 'tenant' && principal) {
    const now = deps.clock.now();
    const outcome = failure ? (statusOf(failure.code) >= 500 ? 'failed' : 'refused') : 'success';
    let limited: { first: boolean } | null = null;
    if (outcome === 'refused') {
      const verdict = deps.refusals.take(principal.tenantId, personOf(principal), now);
      if (!verdict.allowed) {
        (response.body as Readable | undefined)?.destroy?.();
        failure = new ArchiveError('too_many_refusals', {
          detail: `Too many refused requests from this principal; retry after ${verdict.retryAfterSeconds} s.`,
          retryAfterSeconds: verdict.retryAfterSeconds,
        });
        response = problemResponse(failure, req.requestId, req.url.pathname);
        limited = { first: verdict.first };
      }
    }
    const actor = { subject: principal.subject, kind: principal.kind, person: personOf(principal), ...(principal.keyId ? { keyId: principal.keyId } : {}), ...(principal.grantId ? { grantId: principal.grantId } : {}) };
    const entry: AuditInput = {
      tenantId: principal.tenantId,
      at: now.toISOString(),
      actor,
      action: route.action,
      target: audit.target,
      outcome,
      status: response.status,
      requestId: req.requestId,
      clientIp: req.clientIp,
      userAgent: req.headers.get('user-agent')?.slice(0, 300) ?? null,
      ...(failure ? { detail: typeof failure.extensions.rule === 'string' ? `${failure.code}:${failure.extensions.rule}` : failure.code } : {}),
    };
    // Past the first 429 of a run, refusals are only counted: one entry for them all, later.
    if (!limited || limited.first) {
      const suppressed = deps.refusals.takeSuppressed(principal.tenantId, personOf(principal));
      const entries: AuditInput[] = suppressed > 0
        ? [{ ...entry, action: 'access.refusals-suppressed', target: null, outcome: 'refused', status: 429, detail: `too_many_refusals:suppressed=${suppressed}` }, entry]
        : [entry];
      const stateChanged = outcome === 'success' && req.method !== 'GET' && req.method !== 'HEAD';
      try {
        if (stateChanged) await appendAfterChange(entries, deps, req.requestId);
        else await deps.audit.appendBatch(entries);
      } catch (err) {
        // Fail closed: an access that cannot be audited is not served.
        deps.log.error('audit append failed', { requestId: req.requestId, route: route.name, error: describe(err) });
        (response.body as Readable | undefined)?.destroy?.();
        response = problemResponse(new ArchiveError('dependency_unavailable', { detail: 'The audit log is unavailable; the request was not served.' }), req.requestId);
      }
    }
  }
  return { ...response, headers: { ...securityHeaders(req.requestId), ...response.headers } };
}

/** Retries of the audit append after a completed state change, with these pauses (ms) between them. */
export const AUDIT_RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800];

/**
 * The audit entries of a completed state change. The change is done and cannot be taken back, so
 * answering 503 would misreport it: a transient failure is retried (bounded, with backoff), and if
 * the log still refuses, the entries are parked for the sealing timer to append
 * (`AuditLog.savePending`); if even that fails, the entries go to the error log. Never throws.
 */
async function appendAfterChange(entries: AuditInput[], deps: Deps, requestId: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt <= AUDIT_RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await sleep(AUDIT_RETRY_DELAYS_MS[attempt - 1]);
    try {
      await deps.audit.appendBatch(entries);
      return;
    } catch (err) {
      last = err;
    }
  }
  try {
    await deps.audit.savePending(entries);
    deps.log.warn('audit append failed after retries; entry parked for the sealing timer', { requestId, error: describe(last) });
  } catch (err) {
    // The last place left: the log keeps the entry for an operator to append.
    deps.log.error('audit entry of a completed change could not be written or parked', { requestId, entries, error: describe(err), appendError: describe(last) });
  }
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}
