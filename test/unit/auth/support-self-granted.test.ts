/**
 * A support-access grant is the tenant's consent for provider staff: the person who gave it cannot act
 * under it as provider staff, whether they gave it in their own name or through an API key of theirs.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import { withLocalIssuer } from '../../support/authenticator';

const T = 'acme';
const DAY = 86_400_000;

it('staff act under another person\'s grant only: a grant its own creator (or a key of theirs) gave is refused to them', async () => {
  await withLocalIssuer(async ({ issuer, deps, authenticator }) => {
    const now = deps.clock.now();
    const staff = async (sub: string) => authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub, kind: 'support' })}`);

    // Sam is a tenant admin here and provider staff too (one account, both kinds): he grants access through a key of his.
    const sam = await authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'sam', rights: 'tenant-admin' })}`);
    const { key } = await createApiKey({ tenantId: T, name: 'admin-tool', rightsSet: 'tenant-admin', expiresAt: new Date(now.getTime() + 30 * DAY), createdBy: actor(sam), ceiling: [...sam.permissions], personPermissions: [...sam.permissions], now }, deps);
    const samsKey = await authenticator.authenticate(`ApiKey ${key}`);
    const own = await createSupportGrant({ tenantId: T, ticket: 'INC-1', scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + 2 * DAY), createdBy: actor(samsKey), now }, deps).then((r) => r.grant);
    expect((await staff('sam')).denial).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'support-self-granted' } });
    // Other staff may use it.
    const tom = await staff('tom');
    expect([tom.grantId, tom.denial]).toEqual([own.grantId, undefined]);

    // Another person's grant serves Sam, even one that ends sooner than his own.
    const ann = await authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'ann', rights: 'tenant-admin' })}`);
    const anns = await createSupportGrant({ tenantId: T, ticket: 'INC-2', scope: 'metadata-only', expiresAt: new Date(now.getTime() + DAY), createdBy: actor(ann), now }, deps).then((r) => r.grant);
    const served = await staff('sam');
    expect([served.grantId, served.rightsSet, served.denial]).toEqual([anns.grantId, 'support:metadata-only', undefined]);
    expect([...served.permissions]).toEqual(['documents:read']);
  });
});
