/**
 * Loose ends earlier red teams noticed and left: each block names what broke. In-memory world, requests in-process
 * through the real pipeline (test/support/in-process.ts).
 */
import { apiKeyRecordId } from '../../../shared/auth/api-keys/api-key';
import { listPersonKeyPermissions } from '../../../shared/auth/api-keys/list-person-key-permissions';
import { mint, TENANT, world, type World } from '../../support/in-process';

const keyIdOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
const keyRecord = (w: World, key: string) => w.deps.tenantRecords.records.get(`${TENANT}/${apiKeyRecordId(keyIdOf(key))}`)!.value as unknown as { rightsSet: string; createdBy: { subject: string; kind: string; person?: string | null } };

describe('a key minted through a key before persons were kept counts as its person\'s', () => {
  // Broke: keys were grouped by `personOf(createdBy)`, and such a key's maker is the key above (`apikey:<id>`, no
  // person): its person held retention:approve through it, and the approver-lowers-safeguards rule did not see it.
  it.each(['before persons were kept', 'its person null', 'today'])('stored %s: alice holds what the second key carries', async (stored) => {
    const w = world();
    const first = await mint(w, 'alice', 'tenant-admin');
    const second = await mint(w, first, 'tenant-admin');
    if (stored === 'before persons were kept') for (const k of [first, second]) keyRecord(w, k).createdBy = { subject: keyRecord(w, k).createdBy.subject, kind: keyRecord(w, k).createdBy.kind };
    if (stored === 'its person null') keyRecord(w, second).createdBy.person = null;
    // The first key narrowed since: only the second carries retention:approve.
    keyRecord(w, first).rightsSet = 'auditor';
    const held = await listPersonKeyPermissions(TENANT, 'alice', w.clock.now(), w.deps);
    expect([stored, held.has('retention:approve')]).toEqual([stored, true]);
    // Nobody else's: bob minted no key.
    expect((await listPersonKeyPermissions(TENANT, 'bob', w.clock.now(), w.deps)).size).toBe(0);
  });
});
