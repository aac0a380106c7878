import { Authenticator, type JwtSettings } from '../../shared/auth/authenticate';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../../local/oidc';
import { inMemoryDeps, type InMemoryDeps } from './in-memory';

/** An authenticator's settings trusting a local issuer (`startOidcIssuer`): its claims, rights from the tenant then the claim. */
export function localIssuerSettings(issuer: { issuer: string; jwksUri: string }, overrides: Partial<JwtSettings> = {}): JwtSettings {
  return { issuer: issuer.issuer, audience: LOCAL_AUDIENCE, jwksUri: issuer.jwksUri, algorithms: ['RS256'], tenantClaim: 'archive_tenant', rightsClaim: 'archive_rights', kindClaim: 'archive_kind', rightsSource: 'tenant-then-claim', clockToleranceSeconds: 0, keyPersonIdleDays: 30, ...overrides };
}

/** The authenticator over in-memory deps, as the composition root builds it over the real ones. */
export function authenticatorOver(deps: Pick<InMemoryDeps, 'tenantRecords' | 'secrets' | 'config' | 'rights' | 'clock' | 'blobs' | 'audit' | 'log'>, settings: JwtSettings): Authenticator {
  return new Authenticator(settings, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
}

type LocalIssuer = Awaited<ReturnType<typeof startOidcIssuer>>;

/** Runs `test` with a local issuer and the authenticator trusting it over fresh in-memory deps; the issuer is stopped afterwards, whatever the outcome. */
export async function withLocalIssuer(test: (ctx: { issuer: LocalIssuer; deps: InMemoryDeps; authenticator: Authenticator }) => Promise<void>): Promise<void> {
  const issuer = await startOidcIssuer(await newSigningKey());
  try {
    const deps = inMemoryDeps();
    await test({ issuer, deps, authenticator: authenticatorOver(deps, localIssuerSettings(issuer)) });
  } finally {
    await issuer.stop();
  }
}
