/**
 * The last two sessions' code (the archive's seal on what storage keeps, the chain key's rotation, stored-shape safe
 * reading), attacked by a storage role (creates and reads blobs in a tenant's container; no Cosmos DB, no Key Vault) and
 * by a tenant's own users. What fresh-attacks.test.ts, seal-attacks.test.ts and stored-shape-attacks.test.ts test is not
 * repeated. Each case marked "Broke" fails without its fix.
 */
import { assertMayApproveDisposal, DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { assertMayRelease } from '../../../shared/retention/holds/release-hold';
import { ingestDocument } from '../../../shared/documents/ingest';
import { sealWith, unsealedBecause } from '../../../shared/kernel/archive-seal';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import { MANIFEST_UNSEALED } from '../../../shared/documents/manifest';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { reconcile } from '../../../shared/retention/reconcile';
import { SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { settingBlobName, SETTING_UNSEALED, RETENTION_POLICY_ID } from '../../../shared/auth/rights-sets/settings-blobs';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { rightsAssignmentRecordId, type RightsAssignmentRecord } from '../../../shared/auth/rights-sets/rights-records';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';
import { DEFAULT_POLICY } from '../../../shared/retention/policy';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { policyOf } from '../../../shared/retention/tenant-policy';
import { runReconcileTimer } from '../../../shared/retention/timers';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger } from '../../support/in-memory';
import { restorePoint } from '../../support/restore-point';
import { docOf, keyFromBeforeTheSeal, ok, send, SETTINGS, TENANT, world } from '../../support/in-process';
import { Authenticator } from '../../../shared/auth/authenticate';
import { personSightingRecordId } from '../../../shared/auth/person-sightings';
import { sweep } from '../../../shared/retention/sweep';
import type { ArchivedDocument } from '../../../shared/kernel/document';

const T = 'acme';
const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
const ron: Principal = { tenantId: T, subject: 'ron', kind: 'user', person: 'ron', rightsSet: 'records-manager', permissions: new Set<Permission>(['retention:manage']) };

const lines = (deps: InMemoryDeps, message: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const plant = (deps: InMemoryDeps, name: string, body: object) => deps.blobs.putCreateOnly(T, name, Buffer.from(JSON.stringify(body)), 'application/json', { retainUntil: null, legalHold: false }, {});

describe('a policy kept in storage, against a removal planted by a storage role', () => {
  const stricterSod = { ...DEFAULT_SOD_POLICY, conflicts: [...DEFAULT_SOD_POLICY.conflicts, ['exports:create', 'audit:read'] as [Permission, Permission]] };
  const tight: TTenantRetentionPolicy = { ...DEFAULT_POLICY, classes: [{ name: 'contracts-12y', years: 12 }], defaultClass: 'contracts-12y', requireDisposalApproval: true };
  // Broke: for a record Cosmos DB does not hold, the reconciler took a `…-removed.json` name as the record's removal,
  // unread, and stopped there. The SoD and retention policies are never removed: a storage role planted one under a
  // revision ahead of any, and the sealed policy a restore of Cosmos DB lost (to before the tenant stored one) was never
  // written back, the default's weaker rules acting for good, nothing logged.
  it.each([
    {
      kind: 'sod-policy',
      store: async (deps: InMemoryDeps) => expect(await deps.sodPolicy.change(alice, stricterSod, deps.clock.now())).toHaveProperty('applied'),
      now: async (deps: InMemoryDeps) => deps.rights.policy(T, { fresh: true }),
      expected: stricterSod,
    },
    {
      kind: RETENTION_POLICY_ID,
      store: async (deps: InMemoryDeps) => expect(await setRetentionPolicy(ron, tight, deps)).toHaveProperty('applied'),
      now: async (deps: InMemoryDeps) => policyOf(await deps.retention.policies.get(T)),
      expected: tight,
    },
  ])('$kind: the sealed policy is written back, the planted removal logged', async ({ kind, store, now, expected }) => {
    const deps = inMemoryDeps();
    const restore = restorePoint(deps);
    await store(deps);
    (deps.clock as FakeClock).advance(60_000);
    const planted = settingBlobName(kind, 9_000_000_000_000_000, true);
    await plant(deps, planted, { note: 'anything' });
    restore();
    await runReconcileTimer(deps);
    expect(await now(deps)).toEqual(expected);
    expect(lines(deps, SETTING_RESTORED)).toEqual([expect.objectContaining({ fields: expect.objectContaining({ id: kind }) })]);
    expect(lines(deps, SETTING_UNSEALED).map((l) => l.fields?.blob)).toEqual([planted]);
  });
});

describe('an assignment kept in storage, against a removal planted above it by a storage role', () => {
  const assignmentId = rightsAssignmentRecordId('ian');
  const assignmentOf = async (deps: InMemoryDeps) => (await deps.tenantRecords.get<RightsAssignmentRecord>(T, assignmentId, 'rights-assignment'))?.value.rightsSet;
  const reads = (deps: InMemoryDeps) => {
    const names: string[] = [];
    const read = deps.blobs.readIfExists.bind(deps.blobs);
    deps.blobs.readIfExists = async (tenantId, name, ...rest) => (names.push(name), read(tenantId, name, ...rest));
    return names;
  };

  // Broke: for a record Cosmos DB does not hold, a `…-removed.json` name above its newest sealed change was taken as its
  // removal, unread: an assignment made after the restore point (narrowing ian from the set his identity provider
  // claims) was never written back, and ian acted with the claim's wider set for good, nothing logged.
  it('the sealed assignment is written back, the planted removal logged', async () => {
    const deps = inMemoryDeps();
    await putRightsSet(alice, 'clerk', ['documents:read'], deps.clock.now(), deps);
    const restore = restorePoint(deps);
    await assignRightsSet(alice, 'ian', 'clerk', deps.clock.now(), deps);
    (deps.clock as FakeClock).advance(60_000);
    const planted = settingBlobName(assignmentId, 9_000_000_000_000_000, true);
    await plant(deps, planted, { note: 'anything' });
    restore();
    await runReconcileTimer(deps);
    expect(await assignmentOf(deps)).toBe('clerk');
    expect(lines(deps, SETTING_UNSEALED).map((l) => l.fields?.blob)).toEqual([planted]);
  });

  // The trace vouches for the removal only on its sealed blob (forged-traces.test.ts): read once per instance, then not again.
  it("a removal Cosmos DB keeps the trace of is read once, not again; one whose trace a restore lost stands once its seal is read", async () => {
    const deps = inMemoryDeps();
    await putRightsSet(alice, 'clerk', ['documents:read'], deps.clock.now(), deps);
    const restore = restorePoint(deps);
    await assignRightsSet(alice, 'ian', 'clerk', deps.clock.now(), deps);
    (deps.clock as FakeClock).advance(60_000);
    await unassignRightsSet(alice, 'ian', deps.clock.now(), deps);
    const read = reads(deps);
    await runReconcileTimer(deps);
    expect(read.filter((n) => n.startsWith(`settings/${assignmentId}/`))).toEqual([expect.stringMatching(/-removed\.json$/)]);
    read.length = 0;
    await runReconcileTimer(deps);
    expect(read.filter((n) => n.startsWith('settings/'))).toEqual([]);
    restore();
    await runReconcileTimer(deps);
    expect(await assignmentOf(deps)).toBeUndefined();
    expect(read.filter((n) => n.startsWith(`settings/${assignmentId}/`))).toEqual([expect.stringMatching(/-removed\.json$/)]);
    expect([lines(deps, SETTING_UNSEALED), lines(deps, SETTING_RESTORED)]).toEqual([[], []]);
  });
});

describe("a tenant's stored SoD policy whose conflicts list holds a pair that cannot be read", () => {
  // Broke: sodPolicyOf (073a51b's sibling, c34e368) took a list as read: a pair stored as text was destructured into its
  // first two letters (no one holds them: the pair declared was no conflict), and null or an object failed (500) every
  // request the policy judges. The readable pairs stay, and the default's pairs hold beside them.
  const declared: [Permission, Permission] = ['exports:create', 'audit:read'];
  it.each([
    ['text', 'documents:write×retention:approve'],
    ['null', null],
    ['one half', ['documents:write']],
    ['an object', { a: 'documents:write', b: 'retention:approve' }],
    ['a number in it', ['documents:write', 7]],
  ] as [string, unknown][])('%s: the readable pairs and the default are declared', async (_name, odd) => {
    const deps = inMemoryDeps();
    const stored = { id: 'sod-policy', tenantId: T, type: 'sod-policy', conflicts: [declared, odd], uploaderCannotApproveDisposal: true, updatedAt: '2026-01-01T00:00:00.000Z', updatedBy: { subject: 'ann', kind: 'user' } };
    deps.tenantRecords.records.set(`${T}/sod-policy`, { value: stored, etag: 1 });
    expect(await deps.rights.policy(T, { fresh: true })).toEqual({ conflicts: [declared, ...DEFAULT_SOD_POLICY.conflicts], uploaderCannotApproveDisposal: true });
  });
});

describe("a manifest planted in a folder whose ingest the audit log holds", () => {
  const anna: Principal = { tenantId: T, subject: 'anna', kind: 'user', person: 'anna', rightsSet: 'clerk', permissions: new Set<Permission>(['documents:read', 'documents:write']) };
  // Broke: a manifest without the archive's seal was taken as one from before the seal when the log held its folder's
  // ingest in the month of the document's createdAt, which the manifest itself names. A folder emptied by a disposal whose
  // catalog item (the tombstone) a restore of Cosmos DB lost: a storage role planted a manifest of its own there, dated
  // as the ingest was, and the reconciler indexed the fake document as the archive's. Only storage's creation time of
  // the blob dates it (the document's own createdAt only where storage tells none).
  it('months after that ingest is not indexed: it is dated by when storage created it', async () => {
    const deps = inMemoryDeps();
    const { document } = (await ingestDocument({ principal: anna, files: [{ bytes: Buffer.from([1, 1, 1]), fileName: 'scan.png' }], metadata: {}, idempotencyKey: null }, deps)) as { document: { id: string } };
    // Its request's entry, as the route appends it.
    await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'anna', kind: 'user' }, action: 'document.ingest', target: document.id, outcome: 'success', status: 201, requestId: 'r-1', clientIp: null, userAgent: null });
    const name = blobLayout.manifest(document.id);
    const { mac: _m, keyVersion: _k, ...genuine } = JSON.parse((await deps.blobs.readAll(T, name)).toString('utf8')) as Record<string, unknown>;
    // Disposed of (its folder emptied), and its tombstone lost to a restore of Cosmos DB.
    for (const key of [...deps.blobs.blobs.keys()]) if (key.startsWith(`${T}/${document.id}/`)) deps.blobs.blobs.delete(key);
    deps.catalog.documents.delete(`${T}/${document.id}`);
    (deps.clock as FakeClock).advance(90 * 86_400_000);
    const fake = { ...genuine, metadata: { documentType: 'invoice', counterparty: 'Shady Supplies BV', amount: { value: 9800, currency: 'EUR' } } };
    await deps.blobs.putCreateOnly(T, name, Buffer.from(JSON.stringify(fake)), 'application/json', { retainUntil: '2033-01-01T00:00:00.000Z', legalHold: false }, {});
    const result = await reconcile({ now: new Date(deps.clock.now().getTime() + 2 * 3_600_000), maxItems: 100, continuation: null }, deps);
    expect(result.indexed).toEqual([]);
    expect(deps.catalog.documents.get(`${T}/${document.id}`)).toBeUndefined();
    expect(lines(deps, MANIFEST_UNSEALED).map((l) => l.fields?.blob)).toEqual([name]);
  });
});

describe('a stored actor whose person cannot be read is no second person to anyone', () => {
  // Broke: samePerson read the accountable person as `person ?? subject`. A document uploaded, or a hold placed, through
  // Alice's key, stored with its person null (restored, half written, edited by hand) stood for the key's id: Alice,
  // signed in, approved the disposal of her own upload and released her own hold. Other forms ('', a number) were no
  // one's. One without a person (from before persons were kept) still stands for its subject.
  const aliceSignedIn: Principal = { tenantId: T, subject: 'alice', kind: 'user', person: 'alice', rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) };
  const rules = [
    ['approve the disposal of the upload', (by: { subject: string; kind?: string; person?: string }) => assertMayApproveDisposal(aliceSignedIn, by, DEFAULT_SOD_POLICY)],
    ['release the hold', (by: { subject: string; kind?: string; person?: string }) => assertMayRelease(aliceSignedIn, [], { placedBy: by as never, placedAt: '2026-01-01T00:00:00.000Z' })],
  ] as const;
  it.each(rules.flatMap(([rule, act]) => ([['null', null], ['empty', ''], ['a number', 7]] as [string, unknown][]).map(([name, person]) => [rule, name, act, person] as const)))('%s, its person stored %s: refused', (_rule, _name, act, person) => {
    expect(() => act({ subject: 'apikey:0123', kind: 'client', person: person as string })).toThrow(expect.objectContaining({ code: expect.stringMatching(/^(segregation_of_duties|four_eyes_required)$/) }));
  });
  it.each(rules)('%s, by another person or a key from before persons were kept: allowed', (_rule, act) => {
    expect(() => act({ subject: 'bob', kind: 'user', person: 'bob' })).not.toThrow();
    expect(() => act({ subject: 'apikey:0123', kind: 'client' })).not.toThrow();
  });
});

describe("the archive's seal over content a storage role re-spells", () => {
  // Broke: the MAC covers canonical JSON, where a number JSON cannot hold (1e400 parses as Infinity) is written null:
  // a genuine sealed blob with a null in it (a removal's record, a correction's fiscal year) re-spelled with 1e400 there
  // still checked, and its reader took a number where the archive had sealed null. Content with such a number is not sealed.
  const keys = singleKeyring(async () => Buffer.alloc(32, 7));
  it.each(['1e400', '-1e400'])('null re-spelled %s: the mac does not match', async (spelled) => {
    const sealed = JSON.stringify(await sealWith('correction', { documentId: 'd', fiscalYear: null, nested: [{ at: null }] }, keys));
    for (const respelled of [sealed.replace('"fiscalYear":null', `"fiscalYear":${spelled}`), sealed.replace('"at":null', `"at":${spelled}`)]) {
      expect(await unsealedBecause('correction', JSON.parse(respelled) as object, null, keys)).toBe('mac does not match');
    }
    expect(await unsealedBecause('correction', JSON.parse(sealed) as object, null, keys)).toBeNull();
  });
  // Broke: a RangeError (canonicalJson and JSON.stringify recurse) for whatever read it, each time: the sealing timer's
  // partition, a verification, the reconciler's tenant.
  it('a planted blob nested 100,000 deep is not sealed, and reading it throws nothing', async () => {
    const deep = JSON.parse(`{"mac":"${'0'.repeat(64)}","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`) as object;
    expect(await unsealedBecause('setting', deep, null, keys)).toBe('mac does not match');
  });
  // Broke: the seal check read a creation time that is no time as before the rotation (NaN > t is false), where the
  // audit witness read it as after; both now ask supersededBefore.
  it.each([null, 'not a time', '2026-03-01T09:07:00Z'])('sealed with a superseded version, blob created %s: "superseded key"', async (createdOn) => {
    const old = { version: 'v1', key: Buffer.alloc(32, 1), rank: 1, supersededAt: Date.parse('2026-03-01T09:00:00Z') };
    const rotated = { current: async () => old, version: async () => old };
    const sealed = await sealWith('correction', { documentId: 'd' }, rotated);
    expect(await unsealedBecause('correction', sealed, createdOn, rotated)).toBe('superseded key');
    expect(await unsealedBecause('correction', sealed, '2026-03-01T09:05:00Z', rotated)).toBeNull();
  });
});

describe('a stored hold whose release has no readable time', () => {
  // Broke: isHeld read a hold as released when its releasedAt was truthy: text that is no instant, a number or `true`
  // (restored, half written, edited by hand; the archive writes a release's time) released it, and with its legalHold
  // flag off the sweep disposed of the document. Null and '' were already open (stored-shape-attacks.test.ts).
  it.each([
    ['not a date', 'soon'],
    ['a number', 1_500_000_000_000],
    ['true', true],
    ['a date the calendar lacks', '2026-02-31T00:00:00.000Z'],
  ] as [string, unknown][])('releasedAt %s: still held, not disposed of', async (_name, releasedAt) => {
    const w = world();
    const id = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
    const other = await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' });
    w.clock.advance(20 * 365 * 86_400_000);
    const key = `${TENANT}/${id}`;
    const hold = { id: 'h1', reason: 'Audit', caseReference: 'C-1', placedAt: '2020-01-01T00:00:00.000Z', placedBy: { subject: 'up', kind: 'user' }, releasedAt };
    w.deps.catalog.documents.set(key, { ...structuredClone(w.deps.catalog.documents.get(key)!), legalHold: false, holds: [hold] } as ArchivedDocument);
    const result = await sweep({ now: w.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, w.deps);
    expect(w.deps.catalog.documents.get(key)!.status).toBe('active');
    expect(result.disposed).toEqual([`${TENANT}/${other}`]);
  });
});

describe("a key whose person's last sign-in, or its own minting, is stored in a form Date reads far ahead", () => {
  // Broke: the idle rule read the person's last sign-in (seenAt) and a key's createdAt with Date.parse, which reads
  // '99999' as the year 99999 and '+275760-…' as that year: a person who left, whose sighting or key was restored, half
  // written or edited by hand so, kept acting through the key for good, where the rights come from the identity provider.
  const DAY = 86_400_000;
  async function danasKey() {
    const w = world({ AUTH_RIGHTS_SOURCE: 'tenant-then-claim' });
    const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
    const authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant-then-claim' }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
    (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token, kind: 'user', claimedRightsSet: 'integration-admin', expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null });
    w.deps.authenticator = authenticator;
    const minted = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'dana-key', rightsSet: 'integration-admin', expiresAt: new Date(w.clock.now().getTime() + 365 * DAY).toISOString() }, as: 'dana' }, 201);
    w.clock.advance(31 * DAY);
    return { w, auth: `ApiKey ${minted.json.key as string}`, keyId: minted.json.id as string };
  }
  const edit = (w: ReturnType<typeof world>, match: (v: Record<string, unknown>) => boolean, field: string, value: unknown) => {
    const entry = [...w.deps.tenantRecords.records.entries()].find(([, r]) => match(r.value as unknown as Record<string, unknown>))!;
    w.deps.tenantRecords.records.set(entry[0], { ...entry[1], value: { ...entry[1].value, [field]: value } });
  };
  it.each([
    ['her last sign-in', 'seenAt', '99999'],
    ['her last sign-in', 'seenAt', '+275760-09-13T00:00:00.000Z'],
    ["the key's minting", 'createdAt', '99999'],
    ["the key's minting", 'createdAt', '+275760-09-13T00:00:00.000Z'],
  ])('%s (%s) stored %s: the key rests', async (_what, field, value) => {
    const { w, auth, keyId } = await danasKey();
    expect((await send(w, { method: 'GET', path: 'documents', as: auth })).json?.rule).toBe('key-person-idle');
    edit(w, (v) => (field === 'seenAt' ? v.id === personSightingRecordId('dana') : v.type === 'api-key' && v.keyId === keyId), field, value);
    if (field === 'createdAt') keyFromBeforeTheSeal(w, keyId); // a shape the archive never writes: only a key from before the seal keeps one and acts
    const answer = await send(w, { method: 'GET', path: 'documents', as: auth });
    expect([answer.status, answer.json?.rule]).toEqual([403, 'key-person-idle']);
  });
});
