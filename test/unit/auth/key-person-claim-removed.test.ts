/**
 * Where a person's rights come from the identity provider's claim, their API keys act on the claim of
 * their last sign-in. A sign-in whose token carries no rights claim at all (the provider took their
 * role away) gives the person nothing, and their keys nothing from then on either.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import { withLocalIssuer } from '../../support/authenticator';

const T = 'acme';

it('a person signing in without a rights claim leaves their keys nothing, as it leaves them', async () => {
  await withLocalIssuer(async ({ issuer, deps, authenticator }) => {
    const ines = await authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'ines', rights: 'integration-admin' })}`);
    const { key } = await createApiKey({ tenantId: T, name: 'scanner', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 30 * 86_400_000), createdBy: actor(ines), ceiling: [...ines.permissions], personPermissions: [...ines.permissions], now: deps.clock.now() }, deps);
    expect([...(await authenticator.authenticate(`ApiKey ${key}`)).permissions].sort()).toEqual(['documents:read', 'documents:write']);

    // The identity provider no longer sends her rights claim: she may do nothing here, and neither may her key.
    const roleless = await authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'ines' })}`);
    expect(roleless.permissions.size).toBe(0);
    expect([...(await authenticator.authenticate(`ApiKey ${key}`)).permissions]).toEqual([]);
  });
});
