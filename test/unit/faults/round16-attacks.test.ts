/**
 * Round 16: attacks on the controls of the session before (exports from the export-work queue, sign-in records read
 * with the kept ones, a completed export's status under no seal). Each case is an attack that broke, with the fix it
 * got; see each block's comment.
 */
import { PersonSightings, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { loadConfig } from '../../../shared/config';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps } from '../../support/in-memory';
import { TENANT } from '../../support/in-process';
import { refusal } from '../../support/refusal';

const DAY = 86_400_000;
const user = (subject: string, rightsSet: string, permissions: Permission[]): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });

/**
 * The rights floor read a sign-in record the archive did not seal as it is as no claim at all (claimedPermissions: []),
 * so whoever could write Cosmos DB (not Key Vault) edited a tenant-admin's record (any field: its seal no longer checks)
 * and a lesser rights manager assigned her a set of documents:read: nothing she held was counted as taken. A deleted or
 * replayed record was already judged with the kept ones (loose ends 7, round 15); an edited one is now taken as holding
 * every permission the floor guards, as four eyes take it (rights-given.ts personHoldsNow).
 */
describe("the rights floor: a tenant-admin's sign-in record edited in Cosmos DB does not let a lesser rights manager take her powers", () => {
  it.each([
    ['as stored (control)', (_r: PersonSightingRecord) => null],
    ['its set edited', (r: PersonSightingRecord) => ({ ...r, rightsSet: 'uploader' })],
    ['its seal stripped', (r: PersonSightingRecord) => { const { mac: _m, keyVersion: _v, ...rest } = r; return rest; }],
    ['its seenAt moved', (r: PersonSightingRecord) => ({ ...r, seenAt: new Date(Date.parse(r.seenAt) + 1000).toISOString() })],
  ])('%s: refused (rights-floor)', async (_what, edit) => {
    const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, AUTH_RIGHTS_SOURCE: 'tenant-then-claim' }));
    deps.tenantRecords.sightingsSealedMark = true;
    await new PersonSightings(deps.tenantRecords, deps).seen(TENANT, 'tara', 'tenant-admin', deps.clock.now());
    await putRightsSet(user('root', 'tenant-admin', [...BUILT_IN_RIGHTS_SETS['tenant-admin']!]), 'lesser', ['documents:read'], deps.clock.now(), deps);
    const key = `${TENANT}/${personSightingRecordId('tara')}`;
    const stored = deps.tenantRecords.records.get(key)!;
    const edited = edit(stored.value as unknown as PersonSightingRecord);
    if (edited) deps.tenantRecords.records.set(key, { ...stored, value: edited as never, etag: stored.etag + 1000 });
    const rm = user('rm', 'rm', ['rights:manage', 'documents:read']);
    expect((await refusal(assignRightsSet(rm, 'tara', 'lesser', new Date(deps.clock.now().getTime() + DAY), deps))).extensions).toMatchObject({ rule: 'rights-floor' });
  });
});
