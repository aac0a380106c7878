/**
 * Loose ends 7. A writer of Cosmos DB (not Key Vault) holding an ordinary account wrote back a genuine sealed sign-in
 * record from before a person's claim changed: its seal checks. Broke: only an API key's decision looked for a newer one
 * kept in storage; four eyes and the rights floor read the replay as stored.
 */
import { PERSON_SIGHTING_RESTORED, PersonSightings, SIGHTING_RESTORE_ACTOR, type PersonSightingRecord, personSightingRecordId } from '../../../shared/auth/person-sightings';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsGivenTo } from '../../../shared/auth/rights-sets/rights-given';
import { madeSecondBy } from '../../../shared/auth/sod';
import { loadConfig } from '../../../shared/config';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps, type InMemoryDeps, type InMemoryExportJobs, type RecordingLogger } from '../../support/in-memory';
import { docOf, exportCompleted, ok, TENANT, world } from '../../support/in-process';
import type { FakeClock } from '../../support/fake-clock';
import { refusal } from '../../support/refusal';

const DAY = 86_400_000;
const user = (subject: string, rightsSet: string, permissions: Permission[]): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet, permissions: new Set(permissions) });
const admin = (subject: string, rightsSet = 'root') => user(subject, rightsSet, ['documents:read', 'rights:manage']);
const recordOf = (deps: InMemoryDeps, person: string) => deps.tenantRecords.records.get(`${TENANT}/${personSightingRecordId(person)}`)!;
const restoredEntries = (deps: InMemoryDeps) => [...deps.catalog.outbox.values()].flatMap((i) => i.entries).filter((e) => e.actor.subject === SIGHTING_RESTORE_ACTOR.subject);
const logged = (deps: InMemoryDeps, phrase: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === phrase).length;

/** `person` signs in claiming each set in turn, a day apart; answers the record as it stood after the first. */
async function signsIn(deps: InMemoryDeps, person: string, sets: string[], onDay: (day: number) => Promise<void> = async () => {}): Promise<PersonSightingRecord> {
  const sightings = new PersonSightings(deps.tenantRecords, deps);
  let first: PersonSightingRecord | null = null;
  for (const [day, set] of sets.entries()) {
    await onDay(day);
    await sightings.seen(TENANT, person, set, deps.clock.now());
    first ??= structuredClone(recordOf(deps, person).value as unknown as PersonSightingRecord);
    (deps.clock as FakeClock).advance(DAY);
  }
  return first!;
}

/** The replay: `record` written back over the newer one (a write, so the store gives it a new version). */
const replay = (deps: InMemoryDeps, record: PersonSightingRecord) => {
  const r = recordOf(deps, record.person);
  deps.tenantRecords.records.set(`${TENANT}/${record.id}`, { value: record, etag: r.etag + 1000 });
};

describe('a replayed sign-in record: four eyes and the rights floor judge the newest kept in storage', () => {
  it("four eyes: guest-1's record from before she claimed the set alice widened drops alice from the chain to guest-2", async () => {
    const deps = inMemoryDeps();
    await putRightsSet(admin('root'), 'claimed', ['documents:read'], deps.clock.now(), deps);
    let act = '';
    // guest-1 claims auditor, then `claimed` (which alice widens after her act on that day, and through which guest-1
    // gives guest-2 rights), then auditor again: her record carries alice's widening (givenBefore).
    const first = await signsIn(deps, 'guest-1', ['auditor', 'claimed', 'auditor'], async (day) => {
      if (day !== 2) return;
      act = deps.clock.now().toISOString();
      (deps.clock as FakeClock).advance(1000);
      await putRightsSet(admin('alice'), 'claimed', ['documents:read', 'rights:manage'], deps.clock.now(), deps);
      await putRightsSet(admin('guest-1', 'claimed'), 'helpers', ['documents:read', 'rights:manage'], deps.clock.now(), deps);
      await assignRightsSet(admin('guest-1', 'claimed'), 'guest-2', 'helpers', deps.clock.now(), deps);
      (deps.clock as FakeClock).advance(1000);
    });
    const second = async () => madeSecondBy(await rightsGivenTo(admin('guest-2', 'helpers'), deps), { subject: 'alice', person: 'alice' }, act)?.by.subject;
    expect(await second()).toBe('alice');
    replay(deps, first);
    expect(await second()).toBe('alice');
    expect(logged(deps, PERSON_SIGHTING_RESTORED)).toBe(1);
    expect((recordOf(deps, 'guest-1').value as unknown as PersonSightingRecord).givenBefore).toContainEqual(expect.objectContaining({ by: expect.objectContaining({ subject: 'alice' }) }));
    // The write-back is in the tenant's audit log, by the system (it was alerted only).
    expect(restoredEntries(deps)).toEqual([expect.objectContaining({ action: 'person.sighting-restored', target: personSightingRecordId('guest-1'), actor: SIGHTING_RESTORE_ACTOR, detail: expect.stringMatching(new RegExp(`^sighting-restored=.*;stored-seen-at=${first.seenAt}$`)) })]);
  });

  it("the rights floor: tara's record from before her claim named tenant-admin lets a lesser rights manager take it from her", async () => {
    const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, AUTH_RIGHTS_SOURCE: 'tenant-then-claim' }));
    const uploader = await signsIn(deps, 'tara', ['uploader', 'tenant-admin']);
    const rm = user('rm', 'rm', ['rights:manage', 'documents:read']);
    await putRightsSet(user('root', 'tenant-admin', [...BUILT_IN_RIGHTS_SETS['tenant-admin']!]), 'lesser', ['documents:read'], deps.clock.now(), deps);
    const taken = async () => (await refusal(assignRightsSet(rm, 'tara', 'lesser', deps.clock.now(), deps))).extensions;
    expect(await taken()).toMatchObject({ rule: 'rights-floor' });
    replay(deps, uploader);
    expect(await taken()).toMatchObject({ rule: 'rights-floor' });
  });
});

/** Broke: `GET /exports` listed a job edited in Cosmos DB as stored, with no mark (its ZIP was refused, export_not_sealed). */
it('GET /exports and GET /exports/{id} say which job is not as the archive sealed it', async () => {
  const w = world();
  await docOf(w);
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) ids.push((await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' }, 202)).json.id as string);
  for (const id of ids) await exportCompleted(w, id);
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const edited = jobs.get(`${TENANT}/${ids[0]!}`)!;
  jobs.set(`${TENANT}/${ids[0]!}`, { ...edited, expiresAt: new Date(Date.parse(edited.expiresAt) + 365 * DAY).toISOString() });
  const listed = (await ok(w, { method: 'GET', path: 'exports', as: 'alice' }, 200)).json.items as { id: string; sealed: boolean }[];
  expect(Object.fromEntries(listed.map((j) => [j.id, j.sealed]))).toEqual({ [ids[0]!]: false, [ids[1]!]: true });
  expect((await ok(w, { method: 'GET', path: `exports/${ids[0]!}`, as: 'alice' }, 200)).json.sealed).toBe(false);
});
