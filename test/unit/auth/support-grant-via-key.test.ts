/**
 * A support grant given through an API key stands on that key, as a key minted by a key does: revoking a leaked
 * key (or its expiry, or that of a key above it) also ends the support access given through it. Before, the
 * grant stayed in force for up to 7 days after the key that gave it was revoked.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { SUPPORT_GRANT_CANDIDATES } from '../../../shared/auth/support-grants/find-active-support-grant';
import { listSupportGrants } from '../../../shared/auth/support-grants/list-support-grants';
import { actor } from '../../../shared/auth/rights-sets/rights-records';
import type { Principal } from '../../../shared/kernel/principal';
import { withLocalIssuer } from '../../support/authenticator';
import type { FakeClock } from '../../support/fake-clock';

const T = 'acme';
const DAY = 86_400_000;

type Ctx = Parameters<Parameters<typeof withLocalIssuer>[0]>[0];

function tools({ issuer, deps, authenticator }: Ctx) {
  const now = deps.clock.now();
  const staff = async (sub: string) => authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub, kind: 'support' })}`);
  const admin = async (sub: string) => authenticator.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub, rights: 'tenant-admin' })}`);
  const mint = async (by: Principal, days: number) => {
    const { key, record } = await createApiKey({ tenantId: T, name: 'admin-tool', rightsSet: 'tenant-admin', expiresAt: new Date(now.getTime() + days * DAY), createdBy: actor(by), ceiling: [...by.permissions], personPermissions: [...by.permissions], now }, deps);
    return { keyId: record.keyId, principal: await authenticator.authenticate(`ApiKey ${key}`) };
  };
  const grant = (by: Principal, days: number, ticket = 'INC-1') => createSupportGrant({ tenantId: T, ticket, scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + days * DAY), createdBy: actor(by), now }, deps).then((r) => r.grant);
  const revoke = (keyId: string) => revokeApiKey(T, keyId, { subject: 'root', kind: 'user' }, deps.clock.now(), deps);
  return { staff, admin, mint, grant, revoke };
}

it('revoking the key a grant was given through ends the access; a grant another person gave still serves', async () => {
  await withLocalIssuer(async (ctx) => {
    const { staff, admin, mint, grant, revoke } = tools(ctx);
    const ann = await admin('ann');
    const key = await mint(ann, 30);
    const viaKey = await grant(key.principal, 5);
    expect((await staff('tom')).grantId).toBe(viaKey.grantId);

    await revoke(key.keyId);
    expect((await staff('tom')).denial).toMatchObject({ code: 'support_access_not_granted' });
    // The admin's list says why: still in force in the store, but it gives no access.
    const listed = async () => (await listSupportGrants(T, { state: 'active', limit: 50 }, ctx.deps.clock.now(), ctx.deps)).items.map((g) => [g.ticket, g.endedWithKey]);
    expect(await listed()).toEqual([['INC-1', key.keyId]]);

    // A grant Bob gave in his own name, ending sooner than the one given through the revoked key, serves instead.
    const bobs = await grant(await admin('bob'), 2, 'INC-2');
    const tom = await staff('tom');
    expect([tom.grantId, tom.denial]).toEqual([bobs.grantId, undefined]);
    expect((await listed()).sort()).toEqual([['INC-1', key.keyId], ['INC-2', undefined]]); // made at the same (fake) time: any order
  });
});

it('a grant given through a key minted by a key ends when any key above it is revoked', async () => {
  await withLocalIssuer(async (ctx) => {
    const { staff, admin, mint, grant, revoke } = tools(ctx);
    const parent = await mint(await admin('ann'), 30);
    const child = await mint(parent.principal, 30);
    const viaChild = await grant(child.principal, 5);
    expect((await staff('tom')).grantId).toBe(viaChild.grantId);
    await revoke(parent.keyId);
    expect((await staff('tom')).denial).toMatchObject({ code: 'support_access_not_granted' });
  });
});

it('a grant given through a key lasts no longer than that key', async () => {
  await withLocalIssuer(async (ctx) => {
    const { staff, admin, mint, grant } = tools(ctx);
    const key = await mint(await admin('ann'), 2);
    const given = await grant(key.principal, 7);
    // Its expiry says so, as a key minted by a key's does.
    expect(given.expiresAt).toBe(new Date(ctx.deps.clock.now().getTime() + 2 * DAY).toISOString());
    expect((await staff('tom')).grantId).toBe(given.grantId);
    (ctx.deps.clock as FakeClock).set(new Date(ctx.deps.clock.now().getTime() + 3 * DAY).toISOString());
    expect((await staff('tom')).denial).toMatchObject({ code: 'support_access_not_granted' });
  });
});

it(`a support request looks at ${SUPPORT_GRANT_CANDIDATES} grants in force, not every grant on ended keys`, async () => {
  await withLocalIssuer(async (ctx) => {
    const { staff, admin, mint, grant, revoke } = tools(ctx);
    const ann = await admin('ann');
    const bobs = await grant(await admin('bob'), 1, 'INC-0');
    const key = await mint(ann, 30);
    for (let i = 0; i < SUPPORT_GRANT_CANDIDATES - 1; i++) await grant(key.principal, 2 + i / 10, `INC-${i + 1}`);
    await revoke(key.keyId);
    // Bob's is the tenth candidate: still found.
    expect((await staff('tom')).grantId).toBe(bobs.grantId);
    await grant(key.principal, 6, 'INC-99'); // as one given just before the revocation (a request through the revoked key is refused)
    // Now the tenant's ten latest-expiring grants all stand on the revoked key: no access until it revokes them.
    expect((await staff('tom')).denial).toMatchObject({ code: 'support_access_not_granted' });
  });
});

it('listing grants given through a deep chain of keys reads each key once a page, not once per grant', async () => {
  await withLocalIssuer(async (ctx) => {
    const { admin, mint, grant } = tools(ctx);
    // Eight keys, each minted by the one before: a grant through the last stands on all eight.
    let by = await admin('ann');
    const chain: string[] = [];
    for (let i = 0; i < 8; i++) {
      const key = await mint(by, 30);
      chain.push(key.keyId);
      by = key.principal;
    }
    for (let i = 0; i < 50; i++) await grant(by, 5, `INC-${i}`);
    const reads = jest.spyOn(ctx.deps.tenantRecords, 'get');
    const page = await listSupportGrants(T, { state: 'active', limit: 50 }, ctx.deps.clock.now(), ctx.deps);
    expect(page.items.map((g) => g.endedWithKey)).toEqual(Array(50).fill(undefined));
    const keyReads = reads.mock.calls.filter(([, , type]) => type === 'api-key').map(([, id]) => id);
    expect(keyReads.sort()).toEqual(chain.map((k) => `api-key:${k}`).sort());
  });
});

it('a grant given through the deepest key that acts (eight keys above it) gives access', async () => {
  await withLocalIssuer(async (ctx) => {
    const { staff, admin, mint, grant } = tools(ctx);
    let key = await mint(await admin('ann'), 30);
    for (let above = 1; above <= 8; above++) key = await mint(key.principal, 30);
    expect(key.principal.denial).toBeUndefined(); // eight keys above it: the deepest that acts
    const deepest = await grant(key.principal, 2);
    expect((await staff('tom')).grantId).toBe(deepest.grantId);
    // Before, a grant stood on at most eight keys, the one that gave it included: this one never gave access.
    const listed = await listSupportGrants(T, { state: 'active', limit: 50 }, ctx.deps.clock.now(), ctx.deps);
    expect(listed.items.map((g) => g.endedWithKey)).toEqual([undefined]);
  });
});
