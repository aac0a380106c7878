import type { Readable } from 'node:stream';
import type { Deps } from '../app';
import type { AuditAction } from '../audit/types';
import { type Permission, type Principal, personOf } from '../auth/types';
import { ArchiveError, problemOf, toArchiveError } from './errors';
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
    status: err.status,
    headers: { 'Content-Type': 'application/problem+json', ...err.headers },
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
    try {
      await deps.audit.append({
        tenantId: principal.tenantId,
        at: deps.clock.now().toISOString(),
        actor: { subject: principal.subject, kind: principal.kind, person: personOf(principal), ...(principal.keyId ? { keyId: principal.keyId } : {}), ...(principal.grantId ? { grantId: principal.grantId } : {}) },
        action: route.action,
        target: audit.target,
        outcome: failure ? (failure.status >= 500 ? 'failed' : 'refused') : 'success',
        status: response.status,
        requestId: req.requestId,
        clientIp: req.clientIp,
        userAgent: req.headers.get('user-agent')?.slice(0, 300) ?? null,
        ...(failure ? { detail: typeof failure.extensions.rule === 'string' ? `${failure.code}:${failure.extensions.rule}` : failure.code } : {}),
      });
    } catch (err) {
      // Fail closed: an access that cannot be audited is not served.
      deps.log.error('audit append failed', { requestId: req.requestId, route: route.name, error: describe(err) });
      (response.body as Readable | undefined)?.destroy?.();
      response = problemResponse(new ArchiveError('dependency_unavailable', { detail: 'The audit log is unavailable; the request was not served.' }), req.requestId);
    }
  }
  return { ...response, headers: { ...securityHeaders(req.requestId), ...response.headers } };
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}
