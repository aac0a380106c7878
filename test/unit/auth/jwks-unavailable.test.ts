/** When the identity provider's key set cannot be fetched, a token is not known to be bad: 503 to retry, not 401. */
import { Authenticator, type JwtSettings } from '../../../shared/auth/authenticate';
import { ArchiveError } from '../../../shared/kernel/errors';
import { LOCAL_AUDIENCE, newSigningKey, startOidcIssuer } from '../../../local/oidc';
import { inMemoryDeps } from '../../support/in-memory';

const settingsOf = (issuer: { issuer: string; jwksUri: string }): JwtSettings => ({ issuer: issuer.issuer, audience: LOCAL_AUDIENCE, jwksUri: issuer.jwksUri, algorithms: ['RS256', 'ES256'], tenantClaim: 'archive_tenant', rightsClaim: 'archive_rights', kindClaim: 'archive_kind', rightsSource: 'tenant-then-claim', clockToleranceSeconds: 0, keyPersonIdleDays: 30 });

async function refusal(authenticator: Authenticator, token: string): Promise<ArchiveError> {
  const err = await authenticator.authenticate(`Bearer ${token}`).catch((e: unknown) => e);
  if (!(err instanceof ArchiveError)) throw new Error(`expected an ArchiveError, got ${String(err)}`);
  return err;
}

it('an unreachable key set is 503 dependency_unavailable with Retry-After; a token signed by another key stays 401', async () => {
  const deps = inMemoryDeps();
  const sources = { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log };
  const issuer = await startOidcIssuer(await newSigningKey());
  const stranger = await startOidcIssuer(await newSigningKey());
  try {
    // Signed by a key the issuer's set does not hold (same issuer name): the token is bad.
    const forged = await stranger.mint({ tenant: 'acme', sub: 'mallory' });
    const otherIssuer = await refusal(new Authenticator({ ...settingsOf(issuer), issuer: stranger.issuer }, sources), forged);
    expect(otherIssuer.code).toBe('unauthenticated');
    const token = await issuer.mint({ tenant: 'acme', sub: 'alice' });
    await issuer.stop();
    const down = await refusal(new Authenticator(settingsOf(issuer), sources), token);
    expect(down.code).toBe('dependency_unavailable');
    expect(down.retryAfterSeconds).toBe(30);
  } finally {
    await stranger.stop();
  }
});
