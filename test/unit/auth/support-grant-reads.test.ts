/**
 * Each request of a support principal finds the grant it acts under with one query of one record (the active grant
 * expiring last among those another person gave), never the revoked and expired grants a tenant admin piles up by
 * granting and revoking without end: it used to read every grant the tenant ever gave.
 */
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { findActiveSupportGrant } from '../../../shared/auth/support-grants/find-active-support-grant';
import { revokeSupportGrant } from '../../../shared/auth/support-grants/revoke-support-grant';
import { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const DAY = 86_400_000;
const ann = { subject: 'ann', kind: 'user', person: 'ann' };
const samsKey = { subject: 'key:k1', kind: 'api-key', person: 'sam' };

async function pileOfGrants() {
  const clock = new FakeClock('2025-03-01T12:00:00Z');
  const deps: InMemoryDeps = { ...inMemoryDeps(), clock };
  const grant = (createdBy: typeof ann, days: number) => createSupportGrant({ tenantId: T, ticket: 'INC-1', scope: 'read-only', expiresAt: new Date(clock.now().getTime() + days * DAY), createdBy, now: clock.now() }, deps).then((r) => r.grant);
  for (let i = 0; i < 20; i++) await revokeSupportGrant(T, (await grant(ann, 7)).grantId, ann, clock.now(), deps);
  await grant(ann, 1);
  clock.advance(2 * DAY); // that one expired
  const lists: unknown[][] = [];
  const list = deps.tenantRecords.list.bind(deps.tenantRecords);
  deps.tenantRecords.list = async (...args: Parameters<typeof list>) => {
    if (args[1] === 'support-grant') lists.push(args);
    return list(...args);
  };
  return { deps, clock, grant, lists };
}

it('among the grants in force another person gave, the one expiring last; none of the ended ones is read', async () => {
  const { deps, grant, lists } = await pileOfGrants();
  expect(await findActiveSupportGrant(T, 'tom', deps.clock.now(), deps)).toEqual({ grant: null, selfGranted: false });
  const sooner = await grant(ann, 2);
  const later = await grant(ann, 5);
  await grant(samsKey, 7); // Sam's own, through a key of his: not for him
  expect((await findActiveSupportGrant(T, 'sam', deps.clock.now(), deps)).grant?.grantId).toBe(later.grantId);
  await revokeSupportGrant(T, later.grantId, ann, deps.clock.now(), deps);
  expect(await findActiveSupportGrant(T, 'sam', deps.clock.now(), deps)).toEqual({ grant: sooner, selfGranted: false });
  expect(lists).toEqual([]);
  expect(deps.tenantRecords.grantQueries.length).toBeLessThanOrEqual(4);
});

it("staff with only a grant of their own (in their name or a key's) are told it is self-granted; an ended one of theirs is not", async () => {
  const { deps, clock, grant, lists } = await pileOfGrants();
  const own = await grant(samsKey, 1);
  expect(await findActiveSupportGrant(T, 'sam', clock.now(), deps)).toEqual({ grant: null, selfGranted: true });
  expect((await findActiveSupportGrant(T, 'key:k1', clock.now(), deps)).selfGranted).toBe(true);
  expect((await findActiveSupportGrant(T, 'tom', clock.now(), deps)).grant?.grantId).toBe(own.grantId);
  clock.advance(DAY);
  expect(await findActiveSupportGrant(T, 'sam', clock.now(), deps)).toEqual({ grant: null, selfGranted: false });
  expect(lists).toEqual([]);
});
