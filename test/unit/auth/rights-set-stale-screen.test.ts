/**
 * A rights set saved from a screen that read an older version: two tenant admins edit the same set; the one whose
 * screen is stale must not put back what the other just removed (a tenant admin holds every permission, so the ceiling
 * that stops someone lacking it does not stop them), nor, creating a new set, replace one the other just made under
 * that name. The web app names the version it read (If-Match) or that it expects no set (If-None-Match: *).
 */
import { deleteRightsSet } from '../../../shared/auth/rights-sets/delete-rights-set';
import { putRightsSet, rightsSetPrecondition } from '../../../shared/auth/rights-sets/put-rights-set';
import { type RightsSetRecord, rightsSetETag, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'tenant-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']) });
const ada = admin('ada');
const bert = admin('bert');
const stored = async (deps: ReturnType<typeof inMemoryDeps>, name: string) => (await deps.tenantRecords.get<RightsSetRecord>(T, rightsSetRecordId(name), 'rights-set'))?.value;

it('a save naming the version read before another admin removed a permission is refused (412, naming who), and the permission stays removed', async () => {
  const deps = inMemoryDeps();
  const read = rightsSetETag(await putRightsSet(ada, 'clerks', ['documents:read', 'documents:download'], deps.clock.now(), deps));
  await putRightsSet(bert, 'clerks', ['documents:read'], deps.clock.now(), deps, undefined, { version: read }); // Bert removes download
  // Ada's screen still shows download: she adds exports:create and saves.
  await expect(putRightsSet(ada, 'clerks', ['documents:read', 'documents:download', 'exports:create'], deps.clock.now(), deps, undefined, { version: read }))
    .rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('by bert at') });
  expect((await stored(deps, 'clerks'))!.permissions).toEqual(['documents:read']);
});

it('a save naming the version as stored is written, and the set then has a new version', async () => {
  const deps = inMemoryDeps();
  const first = await putRightsSet(ada, 'clerks', ['documents:read'], deps.clock.now(), deps, undefined, { absent: true });
  const second = await putRightsSet(bert, 'clerks', ['documents:read', 'exports:create'], deps.clock.now(), deps, undefined, { version: rightsSetETag(first) });
  expect(rightsSetETag(second)).not.toBe(rightsSetETag(first));
  expect((await stored(deps, 'clerks'))!.permissions).toEqual(['documents:read', 'exports:create']);
});

it('a new set (If-None-Match: *) never replaces one another admin made under that name meanwhile', async () => {
  const deps = inMemoryDeps();
  await putRightsSet(bert, 'external-auditors', ['audit:read', 'documents:read'], deps.clock.now(), deps, undefined, { absent: true });
  await expect(putRightsSet(ada, 'external-auditors', ['documents:read', 'documents:download', 'exports:create'], deps.clock.now(), deps, undefined, { absent: true }))
    .rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('exists already') });
  expect((await stored(deps, 'external-auditors'))!.permissions).toEqual(['audit:read', 'documents:read']);
});

it('an edit of a set deleted since is refused rather than creating it again', async () => {
  const deps = inMemoryDeps();
  const read = rightsSetETag(await putRightsSet(ada, 'clerks', ['documents:read'], deps.clock.now(), deps));
  await deleteRightsSet(bert, 'clerks', deps);
  await expect(putRightsSet(ada, 'clerks', ['documents:read', 'exports:create'], deps.clock.now(), deps, undefined, { version: read })).rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('deleted') });
  expect(await stored(deps, 'clerks')).toBeUndefined();
});

it('a set written before versions were kept is named by its last write, and matches that', async () => {
  const deps = inMemoryDeps();
  const record = await putRightsSet(ada, 'clerks', ['documents:read'], deps.clock.now(), deps);
  const { version: _dropped, ...old } = record;
  const current = await deps.tenantRecords.get<RightsSetRecord>(T, record.id, 'rights-set');
  await deps.tenantRecords.batch(T, [{ op: 'replace', record: old, ifMatch: current!.etag }]);
  expect(rightsSetETag(old)).toBe(`"rights-set-${Buffer.from(old.updatedAt).toString('base64url')}"`);
  await putRightsSet(bert, 'clerks', ['documents:read', 'exports:create'], deps.clock.now(), deps, undefined, { version: rightsSetETag(old) });
  expect((await stored(deps, 'clerks'))!.permissions).toEqual(['documents:read', 'exports:create']);
});

it('without a precondition (an API client that does not ask) the set is written over whatever is stored, as before', async () => {
  const deps = inMemoryDeps();
  await putRightsSet(ada, 'clerks', ['documents:read', 'documents:download'], deps.clock.now(), deps);
  await putRightsSet(bert, 'clerks', ['documents:read'], deps.clock.now(), deps);
  expect((await stored(deps, 'clerks'))!.permissions).toEqual(['documents:read']);
});

it('reads If-Match and If-None-Match strictly: a weak tag, a list, another resource\'s tag or both headers never match', () => {
  expect(rightsSetPrecondition(null, null)).toBeNull();
  expect(rightsSetPrecondition(' "rights-set-abc_-1" ', null)).toEqual({ version: '"rights-set-abc_-1"' });
  expect(rightsSetPrecondition('*', null)).toEqual({ version: '*' });
  expect(rightsSetPrecondition(null, '*')).toEqual({ absent: true });
  for (const [ifMatch, ifNoneMatch] of [['W/"rights-set-abc"', null], ['"rights-set-a", "rights-set-b"', null], ['"sod-policy-AAEC"', null], ['"rights-set-"', null], ['"rights-set-a"', '*'], [null, '"rights-set-a"']] as const) {
    expect(() => rightsSetPrecondition(ifMatch, ifNoneMatch)).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
  }
});
