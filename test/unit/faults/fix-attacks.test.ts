/**
 * Red team of the fixes merged last (witness-attacks.test.ts, people-attacks.test.ts): the keyed audit-log witness of
 * what storage keeps from before the seal, and the person read up a key's chain (withKeyPerson). Each case marked
 * "Broke" fails without its fix.
 */
import { apiKeyRecordId } from '../../../shared/auth/api-keys/api-key';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS } from '../../../shared/kernel/principal';
import { assign, hold, mint, ok, send, START, TENANT, upload, world } from '../../support/in-process';

const DAY = 86_400_000;

describe('a hold placed through a key before persons were kept, reaching the document after the release read it', () => {
  // Broke: releaseHold reads the placer's person from the key (withKeyPerson) for the hold as it read it first, and
  // inside the write took the hold's placer "as known" or else as stored. A hold that reached the document between the
  // two reads (a hold by query placed through a key before persons were kept, extended by the reconciler meanwhile)
  // was judged as stored: `apikey:<id>`, no person, a person other than the key's own, and up released their own hold.
  it('up, who placed it through their key, is refused', async () => {
    const w = world();
    const set = 'archkeys';
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(set)}`, { value: { id: rightsSetRecordId(set), tenantId: TENANT, type: 'rights-set', name: set, permissions: [...BUILT_IN_RIGHTS_SETS.archivist!, 'keys:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2000 });
    (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value as unknown as { rightsSet: string }).rightsSet = set;
    const key = await mint(w, 'up', 'archivist');
    const keyId = /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
    const id = (await ok(w, { ...upload(), as: key }, 201)).json.id as string;
    const holdId = (await ok(w, hold(id, 'C-1', key), 201)).json.id as string;
    // As stored before persons were kept: subject and kind only, on the hold and on the key's record.
    const legacy = (by: { subject: string; kind: string }) => ({ subject: by.subject, kind: by.kind });
    const k = w.deps.tenantRecords.records.get(`${TENANT}/${apiKeyRecordId(keyId)}`)!.value as unknown as { createdBy: { subject: string; kind: string } };
    k.createdBy = legacy(k.createdBy);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    doc.holds = doc.holds?.map((h) => ({ ...h, placedBy: legacy(h.placedBy) }));
    w.clock.advance(DAY);
    await ok(w, assign('up', 'tenant-admin', 'carol'));
    // The release's first read finds the document without the hold; the hold is there when it writes.
    const catalog = w.deps.retention.catalog;
    const getVersioned = catalog.getVersioned.bind(catalog);
    let first = true;
    catalog.getVersioned = async (tenantId, documentId) => {
      const found = await getVersioned(tenantId, documentId);
      if (!first || !found) return found;
      first = false;
      return { ...found, item: { ...found.item, holds: [] } };
    };
    const answer = await send(w, { method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as: 'up' });
    expect([answer.status, answer.json?.code]).toEqual([403, 'four_eyes_required']);
  });
});
