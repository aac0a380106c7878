import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { withLocalIssuer } from '../../support/authenticator';

const T = 'acme';

it('a support grant\'s scope is held under the tenant\'s declared conflicting pairs too', async () => {
  await withLocalIssuer(async ({ issuer, deps, authenticator }) => {
    const now = deps.clock.now();
    await deps.tenantRecords.upsert({ id: 'sod-policy', tenantId: T, type: 'sod-policy', conflicts: [['documents:download', 'audit:read']], uploaderCannotApproveDisposal: true, updatedAt: now.toISOString(), updatedBy: { subject: 'root', kind: 'user' } });
    await createSupportGrant({ tenantId: T, ticket: 'INC-2', scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + 86_400_000), createdBy: { subject: 'root', kind: 'user' }, now }, deps).then((r) => r.grant);
    const staff = await authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'staff-1', kind: 'support' })}`);
    expect(staff.kind).toBe('support');
    expect(staff.denial).toMatchObject({ code: 'segregation_of_duties', extensions: { rule: 'conflicting-permissions', conflict: ['documents:download', 'audit:read'] } });
  });
});
