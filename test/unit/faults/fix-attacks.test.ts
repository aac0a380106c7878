/**
 * Red team of the fixes merged last (witness-attacks.test.ts, people-attacks.test.ts): the keyed audit-log witness of
 * what storage keeps from before the seal, and the person read up a key's chain (withKeyPerson). Each case marked
 * "Broke" fails without its fix.
 */
import { resealProposals } from '../../support/reseal-proposals';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { restoreRevocations, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { rightsAssignmentRecordId, rightsSetRecordId, type RightsUnassignmentRecord, rightsUnassignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { type ChainKeyring, type ChainKeyVersion, ChainKeyUnavailable } from '../../../shared/kernel/audit-chain';
import { correctionDigest } from '../../../shared/documents/correction-blobs';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { BUILT_IN_RIGHTS_SETS, type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps } from '../../support/in-memory';
import { Authenticator } from '../../../shared/auth/authenticate';
import { approval, assign, type Call, hold, keyFromBeforeTheSeal, mint, ok, send, SETTINGS, START, TENANT, upload, storedAssignment, uploadedAsThen, upsKey, world, type World } from '../../support/in-process';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Two versions of the chain key, v1 first; `rotate` supersedes v1 by v2 at the instant given; `keying` picks the version appended entries are keyed with. */
function rotatingKeys() {
  const versions: Record<string, ChainKeyVersion> = { v1: { version: 'v1', key: Buffer.alloc(32, 1), rank: 1 }, v2: { version: 'v2', key: Buffer.alloc(32, 2), rank: 2 } };
  let current = versions.v1!;
  const ring: ChainKeyring = {
    current: async () => current,
    version: async (v) => {
      const found = v === null ? undefined : versions[v];
      if (!found) throw new ChainKeyUnavailable(v, 'no such version');
      return found;
    },
  };
  /** Keyed with `version` (the old one: as its leaked copy keys it), then back to the current one. */
  const keying = async <T>(version: 'v1' | 'v2', write: () => Promise<T>): Promise<T> => {
    const was = current;
    current = versions[version]!;
    try {
      return await write();
    } finally {
      current = was;
    }
  };
  const rotate = (at: Date) => {
    versions.v1!.supersededAt = at.getTime();
    current = versions.v2!;
  };
  return { ring, keying, rotate };
}

describe('an audit entry keyed with a chain key version superseded before the blob it witnesses was created', () => {
  // Broke: the witness checked the entry's keyed hash with whatever version it names, never when that version stopped
  // keying. A sealed blob under a superseded version, created after the rotation, is refused ("superseded key":
  // archive-seal.ts); an unsealed one with an entry keyed by that old version, leaked, was taken, and the reconciler
  // revoked the key. Storage sets the blob's creation time; the archive keys nothing with a version after its pickup.
  it.each([
    ['the leaked old version, the blob planted after the rotation', 'v1', 'after', false],
    ['the current version, the blob planted after the rotation (control)', 'v2', 'after', true],
    ['the old version, entry and blob from before the rotation (control)', 'v1', 'before', true],
  ] as const)('keyed with %s (%s, planted %s): revokes %s', async (_what, keyedWith, planted, revokes) => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    const keys = rotatingKeys();
    deps.audit.chainKeys = keys.ring;
    const { record } = await createApiKey({ tenantId: TENANT, name: 'client', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:read'], personPermissions: ['documents:read'], now: deps.clock.now() }, deps);
    const plant = async () => {
      const revocation = { tenantId: TENANT, kind: 'api-key', id: record.keyId, revokedAt: deps.clock.now().toISOString(), revokedBy: { subject: 'bob', kind: 'user' } };
      await deps.blobs.putCreateOnly(TENANT, revocationBlobName('api-key', record.keyId), Buffer.from(JSON.stringify(revocation)), 'application/json', { retainUntil: null, legalHold: false }, {});
      await keys.keying(keyedWith, () => deps.audit.append({ tenantId: TENANT, at: deps.clock.now().toISOString(), actor: { subject: 'bob', kind: 'user', person: 'bob' }, action: 'api-key.revoke', target: `api-key:${record.keyId}`, outcome: 'success', status: 200, requestId: 'req-1', clientIp: null, userAgent: null }));
    };
    if (planted === 'before') await plant();
    keys.rotate(deps.clock.now());
    (deps.clock as FakeClock).advance(HOUR);
    if (planted === 'after') await plant();
    await restoreRevocations(deps.clock.now(), deps);
    const stored = (await deps.tenantRecords.get<ApiKeyRecord>(TENANT, apiKeyRecordId(record.keyId), 'api-key'))!.value;
    expect(stored.revokedAt !== null).toBe(revokes);
  });

  it.each([
    ['the leaked old version', 'v1', false],
    ['the current version (control)', 'v2', true],
  ] as const)("a correction written into the catalog, its entry keyed with %s (%s): the reconciler keeps it in storage: %s", async (_what, keyedWith, kept) => {
    // The reconciler writes the blob now, sealed with the current version: without the check, the old key laundered a
    // correction of the catalog's into WORM truth.
    const w = world();
    w.deps.audit.chained = true;
    const keys = rotatingKeys();
    w.deps.audit.chainKeys = keys.ring;
    const id = (await ok(w, upload(), 201)).json.id as string;
    keys.rotate(w.clock.now());
    w.clock.advance(HOUR);
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    const metadata = { ...doc.metadata, counterparty: 'Mallory BV' };
    const forged = { version: 2, at: w.clock.now().toISOString(), by: { subject: 'alice', kind: 'user', person: 'alice' }, reason: 'Typo', changes: [{ field: 'counterparty', from: doc.metadata.counterparty ?? null, to: 'Mallory BV' }], metadata };
    w.deps.catalog.documents.set(`${TENANT}/${id}`, { ...doc, metadata, metadataVersion: 2, metadataHistory: [forged], correctedAt: forged.at });
    await keys.keying(keyedWith, () => w.deps.audit.append({ tenantId: TENANT, at: forged.at, actor: forged.by, action: 'document.correct-metadata', target: id, outcome: 'success', status: 200, detail: `sha256=${correctionDigest(forged as never)}`, requestId: 'req-2', clientIp: null, userAgent: null }));
    await runReconcileTimer(w.deps);
    expect(w.deps.blobs.blobs.has(`${TENANT}/${blobLayout.correction(id, 2)}`)).toBe(kept);
  });
});

describe("a removal's trace written into Cosmos DB, its entry keyed with a chain key version superseded before it is kept", () => {
  // Broke: the removal sent again (404) seals the trace Cosmos DB holds into storage now, with the current version,
  // where the audit log holds its entry (removalAudited): one keyed with the old version, leaked, had a trace of the
  // writer's own sealed, and a restore of Cosmos DB to before the tamper had the reconciler remove ian's assignment again.
  it.each([
    ['the leaked old version', 'v1', 0],
    ['the current version (control)', 'v2', 1],
  ] as const)('keyed with %s (%s): kept %s', async (_what, keyedWith, kept) => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    const keys = rotatingKeys();
    deps.audit.chainKeys = keys.ring;
    keys.rotate(deps.clock.now());
    (deps.clock as FakeClock).advance(HOUR);
    const at = deps.clock.now().toISOString();
    const trace: RightsUnassignmentRecord = { id: rightsUnassignmentRecordId('ian'), tenantId: TENANT, type: 'rights-unassignment', subject: 'ian', unassignedAt: at, unassignedBy: { subject: 'alice', kind: 'user', person: 'alice' }, revision: deps.clock.now().getTime() };
    await deps.tenantRecords.upsert(trace);
    await keys.keying(keyedWith, () => deps.audit.append({ tenantId: TENANT, at, actor: trace.unassignedBy, action: 'rights-assignment.delete', target: 'subject:ian', outcome: 'success', status: 204, requestId: 'req-3', clientIp: null, userAgent: null }));
    const alice: Principal = { tenantId: TENANT, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
    await expect(unassignRightsSet(alice, 'ian', deps.clock.now(), deps)).rejects.toThrow();
    expect((await deps.blobs.blobNames(TENANT, 'settings/')).filter((n) => n.endsWith('-removed.json'))).toHaveLength(kept);
  });
});

describe('a hold placed through a key before persons were kept, reaching the document after the release read it', () => {
  // Broke: releaseHold reads the placer's person from the key (withKeyPerson) for the hold as it read it first, and
  // inside the write took the hold's placer "as known" or else as stored. A hold that reached the document between the
  // two reads (a hold by query placed through a key before persons were kept, extended by the reconciler meanwhile)
  // was judged as stored: `apikey:<id>`, no person, a person other than the key's own, and up released their own hold.
  it('up, who placed it through their key, is refused', async () => {
    const w = world();
    const { key, keyId } = await upsKey(w);
    const id = (await ok(w, { ...upload(), as: key }, 201)).json.id as string;
    const holdId = (await ok(w, hold(id, 'C-1', key), 201)).json.id as string;
    // As stored before persons were kept: subject and kind only, on the hold and on the key's record.
    const legacy = (by: { subject: string; kind: string }) => ({ subject: by.subject, kind: by.kind });
    const k = keyFromBeforeTheSeal(w, keyId) as unknown as { createdBy: { subject: string; kind: string } };
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
    // Not judged at all: four eyes judge by the placement's audit entry, looked up for the hold the first read found.
    expect([answer.status, answer.json?.code]).toEqual([409, 'hold_placement_unwitnessed']);
    // Sent again: judged by that entry (up's key, up's person).
    const again = await send(w, { method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as: 'up' });
    expect([again.status, again.json?.code]).toEqual([403, 'four_eyes_required']);
  });
});

describe("a record made through a key minted through a key before persons were kept, while that key acted for the key above", () => {
  // Broke: until withKeyPerson, such a key B (its maker `apikey:<A>`, no person) acted for `apikey:<A>` as its person,
  // and what it made meanwhile stores that as its person: a name, so withKeyPerson read no further. up, who minted A,
  // approved the disposal of B's upload and released B's hold alone; so for rights given and keys minted through B. No
  // person is `apikey:<id>` (no token may carry it): read as the key it names, up the chain to its person.
  const ACTS = [
    ['approving its disposal by name', (w: World, c: { id: string; holdId: string }): Call => ({ ...approval(w, 'up'), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [c.id] } }), 'segregation_of_duties'],
    ['releasing its hold', (_w: World, c: { id: string; holdId: string }): Call => ({ method: 'DELETE', path: `documents/${c.id}/legal-holds/${c.holdId}`, body: { reason: 'Over' }, as: 'up' }), 'four_eyes_required'],
  ] as const;
  it.each(ACTS)('%s: refused', async (_what, act, code) => {
    const w = world();
    const set = 'archkeys';
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(set)}`, { value: { id: rightsSetRecordId(set), tenantId: TENANT, type: 'rights-set', name: set, permissions: [...BUILT_IN_RIGHTS_SETS.archivist!, 'keys:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2000 });
    (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value as unknown as { rightsSet: string }).rightsSet = set;
    const idOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
    const a = await mint(w, 'up', set);
    const b = await mint(w, a, 'archivist');
    const id = (await ok(w, { ...upload({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }), as: b }, 201)).json.id as string;
    const holdId = (await ok(w, hold(id, 'C-1', b), 201)).json.id as string;
    // B minted before persons were kept; its upload and hold made while it acted for `apikey:<A>`.
    const bRecord = keyFromBeforeTheSeal(w, idOf(b)) as unknown as { createdBy: { subject: string; kind: string } };
    bRecord.createdBy = { subject: bRecord.createdBy.subject, kind: bRecord.createdBy.kind };
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    const asThen = (by: { subject: string; kind: string }) => ({ ...by, person: `apikey:${idOf(a)}` });
    await uploadedAsThen(w, id, asThen(doc.createdBy));
    doc.holds = doc.holds?.map((h) => ({ ...h, placedBy: asThen(h.placedBy) }));
    w.clock.advance(20 * 365 * DAY);
    await ok(w, assign('up', 'tenant-admin', 'carol'));
    const answer = await send(w, act(w, { id, holdId }));
    expect([answer.status, answer.json?.code]).toEqual([403, code]);
  });
  it('approving an SoD weakening it proposed: refused', async () => {
    const w = world();
    const idOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
    const a = await mint(w, 'alice', 'tenant-admin');
    const b = await mint(w, a, 'tenant-admin');
    const read = await ok(w, { method: 'GET', path: 'sod-policy', as: b });
    const proposal = (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: b }, 202)).json.id as string;
    const bRecord = keyFromBeforeTheSeal(w, idOf(b)) as unknown as { createdBy: { subject: string; kind: string } };
    bRecord.createdBy = { subject: bRecord.createdBy.subject, kind: bRecord.createdBy.kind };
    const stored = [...w.deps.tenantRecords.records.values()].find((r) => (r.value as unknown as { proposalId?: string }).proposalId === proposal && r.value.type === 'sod-policy-proposal')!.value as unknown as { proposedBy: { person: string } };
    stored.proposedBy.person = `apikey:${idOf(a)}`;
    // A proposal is sealed over its proposer: one from before persons were kept is sealed as found (reseal-proposals.ts).
    await resealProposals(w.deps);
    // So it still holds the rights it proposed with (proposer_rights_ended otherwise), as people-attacks.test.ts did.
    storedAssignment(w, `apikey:${idOf(a)}`, 'tenant-admin', 'alice');
    const answer = await send(w, { method: 'POST', path: `sod-policy/proposals/${proposal}/approve`, body: { reason: 'Agreed' }, as: 'alice' });
    expect([answer.status, answer.json?.code]).toEqual([403, 'segregation_of_duties']);
  });
});

describe('a support grant given through a key minted through a key before persons were kept', () => {
  // Broke: the grant is passed over once the key it was given through rests at its person's idle limit, and that was
  // judged for `apikey:<A>` (the key above, read as `person ?? subject`) while the key itself now acts for the person who
  // minted A (withKeyPerson). With rights given to the subject `apikey:<A>`, dana's grant kept letting staff in after she
  // left the identity provider and her key rested.
  it("rests with the key, once dana's idle days are over", async () => {
    const w = world({ AUTH_RIGHTS_SOURCE: 'tenant-then-claim' });
    const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
    w.deps.authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant-then-claim' }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
    (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token.replace(/^support\./, ''), kind: token.startsWith('support.') ? 'support' : 'user', claimedRightsSet: token === 'dana' ? 'clerk' : null, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: w.clock.now().toISOString() });
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('clerk')}`, { value: { id: rightsSetRecordId('clerk'), tenantId: TENANT, type: 'rights-set', name: 'clerk', permissions: ['documents:read', 'documents:download', 'keys:manage', 'support:grant'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2000 });
    const idOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
    const a = await mint(w, 'dana', 'clerk');
    const b = await mint(w, a, 'clerk');
    await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 5 * DAY).toISOString() }, as: b }, 201);
    const bRecord = keyFromBeforeTheSeal(w, idOf(b)) as unknown as { createdBy: { subject: string; kind: string } };
    bRecord.createdBy = { subject: bRecord.createdBy.subject, kind: bRecord.createdBy.kind };
    storedAssignment(w, `apikey:${idOf(a)}`, 'clerk', 'alice');
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(200);
    w.clock.advance(4 * DAY);
    // Dana has not signed in for 4 days; her idle limit is cut to 3 for the test.
    (w.deps.authenticator as unknown as { settings: { keyPersonIdleDays: number } }).settings.keyPersonIdleDays = 3;
    expect((await send(w, { method: 'GET', path: 'documents', as: b })).json?.rule).toBe('key-person-idle');
    expect((await send(w, { method: 'GET', path: 'documents', as: 'support.sam' })).status).toBe(403);
  });
});

