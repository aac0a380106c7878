import { createRemoteJWKSet, errors as joseErrors, jwtVerify, JWTPayload } from 'jose';
import { ArchiveError } from '../http/errors';
import { BUILT_IN_RIGHTS_SETS, Principal, TENANT_ID } from './types';

export interface JwtSettings {
  issuer: string;
  audience: string;
  jwksUri: string;
  algorithms: string[];
  tenantClaim: string;
  rightsClaim: string;
  clockToleranceSeconds: number;
}

/**
 * Bearer JWT → principal. The tenant and subject come from verified claims only;
 * nothing in the request body or query can choose them.
 */
export class Authenticator {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;

  constructor(private readonly settings: JwtSettings) {
    // jose caches the key set and refetches on an unknown `kid` (rotation), at most every 30 s.
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  }

  async authenticate(authorization: string | null): Promise<Principal> {
    const match = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(authorization?.trim() ?? '');
    if (!match) throw unauthenticated('Send a bearer token in the Authorization header.');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(match[1]!, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (cause) {
      const detail = cause instanceof joseErrors.JWTExpired ? 'The token has expired.' : 'The token is not valid for this archive.';
      throw unauthenticated(detail, cause);
    }
    const tenantId = payload[this.settings.tenantClaim];
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) throw unauthenticated('The token names no valid tenant.');
    const rightsSet = typeof payload[this.settings.rightsClaim] === 'string' ? (payload[this.settings.rightsClaim] as string) : 'archivist';
    const permissions = BUILT_IN_RIGHTS_SETS[rightsSet];
    if (!permissions) throw unauthenticated(`The token names an unknown rights set.`);
    return { tenantId, subject: payload.sub!, kind: 'user', rightsSet, permissions: new Set(permissions) };
  }
}

function unauthenticated(detail: string, cause?: unknown): ArchiveError {
  return new ArchiveError('unauthenticated', { detail, cause, headers: { 'WWW-Authenticate': 'Bearer realm="archive"' } });
}
