/**
 * An assignment replaces the rights set its subject holds. Two tenant admins at once, or one who does not know what bob
 * holds: a save from the Assign form must not take bob's set away unawares. The web app names the assignment it saw
 * (If-Match, its version as GET /rights-assignments lists it) or that it saw none (If-None-Match: *).
 */
import { assignRightsSet, rightsAssignmentPrecondition } from '../../../shared/auth/rights-sets/assign-rights-set';
import { type RightsAssignmentRecord, rightsAssignmentETag, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';

const T = 'acme';
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'tenant-admin', permissions: new Set(BUILT_IN_RIGHTS_SETS['tenant-admin']) });
const ada = admin('ada');
const bert = admin('bert');
const held = async (deps: ReturnType<typeof inMemoryDeps>, subject: string) => (await deps.tenantRecords.get<RightsAssignmentRecord>(T, rightsAssignmentRecordId(subject), 'rights-assignment'))?.value.rightsSet;
const assign = (deps: ReturnType<typeof inMemoryDeps>, by: Principal, subject: string, set: string, ifMatch: string | null, ifNoneMatch: string | null) =>
  assignRightsSet(by, subject, set, deps.clock.now(), deps, undefined, rightsAssignmentPrecondition(ifMatch, ifNoneMatch));

it('assigning a person as new (If-None-Match: *) never replaces the set they hold: 412 naming it, and they keep it', async () => {
  const deps = inMemoryDeps();
  await assign(deps, bert, 'bob', 'accountant', null, '*');
  await expect(assign(deps, ada, 'bob', 'auditor', null, '*')).rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('bob holds the rights set accountant (assigned by bert at'), extensions: { subject: 'bob', rightsSet: 'accountant' } });
  expect(await held(deps, 'bob')).toBe('accountant');
});

it('a replacement naming the assignment seen is written; one seen before another admin changed it is refused (412) and changes nothing', async () => {
  const deps = inMemoryDeps();
  const seen = rightsAssignmentETag(await assign(deps, bert, 'bob', 'accountant', null, null));
  const replaced = await assign(deps, ada, 'bob', 'auditor', seen, null);
  expect(rightsAssignmentETag(replaced)).not.toBe(seen);
  await expect(assign(deps, bert, 'bob', 'accountant', seen, null)).rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('changed since it was read, by ada at') });
  expect(await held(deps, 'bob')).toBe('auditor');
});

it('a replacement of an assignment removed since is refused rather than assigning again', async () => {
  const deps = inMemoryDeps();
  const seen = rightsAssignmentETag(await assign(deps, bert, 'bob', 'accountant', null, null));
  await unassignRightsSet(ada, 'bob', deps.clock.now(), deps);
  await expect(assign(deps, bert, 'bob', 'auditor', seen, null)).rejects.toMatchObject({ code: 'precondition_failed', detail: expect.stringContaining('removed since') });
  expect(await held(deps, 'bob')).toBeUndefined();
});

it('an assignment stored before versions were kept is named by when it was made, and matches that', async () => {
  const deps = inMemoryDeps();
  const record = await assign(deps, bert, 'bob', 'accountant', null, null);
  const { version: _dropped, ...old } = record;
  const current = await deps.tenantRecords.get<RightsAssignmentRecord>(T, record.id, 'rights-assignment');
  await deps.tenantRecords.batch(T, [{ op: 'replace', record: old, ifMatch: current!.etag }]);
  expect(rightsAssignmentETag(old)).toBe(`"rights-assignment-${Buffer.from(old.assignedAt).toString('base64url')}"`);
  await assign(deps, ada, 'bob', 'auditor', rightsAssignmentETag(old), null);
  expect(await held(deps, 'bob')).toBe('auditor');
});

it('reads the headers strictly: a weak, listed or other tag, or If-None-Match other than * (or with If-Match), is 412; neither is no precondition', () => {
  expect(rightsAssignmentPrecondition(null, null)).toBeNull();
  expect(rightsAssignmentPrecondition(' "rights-assignment-abc_-1" ', null)).toEqual({ version: '"rights-assignment-abc_-1"' });
  expect(rightsAssignmentPrecondition(null, '*')).toEqual({ absent: true });
  for (const [ifMatch, ifNoneMatch] of [['W/"rights-assignment-a"', null], ['"rights-assignment-a", "rights-assignment-b"', null], ['"rights-set-a"', null], [null, '"rights-assignment-a"'], ['*', '*']] as const) {
    expect(() => rightsAssignmentPrecondition(ifMatch, ifNoneMatch)).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
  }
});

it('without a precondition (an API client that does not ask) the assignment is replaced, as before', async () => {
  const deps = inMemoryDeps();
  await assign(deps, bert, 'bob', 'accountant', null, null);
  await assign(deps, ada, 'bob', 'auditor', null, null);
  expect(await held(deps, 'bob')).toBe('auditor');
});
