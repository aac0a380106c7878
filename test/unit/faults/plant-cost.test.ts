/**
 * What a storage role (it can create blobs in a tenant's container; no Cosmos DB, no Key Vault) plants under the names the
 * reconciler reads cannot make its runs grow. Broke: every run read each setting blob planted above a record's newest
 * sealed one (to 4 MiB each: a thousand of them 4 GB a run) and logged each again, and re-read each unsealed revocation
 * and decision of a key in use or a pending proposal (and each pass of the walks, each correction of a document's next
 * version and each manifest of a folder without catalog item) and ran the audit witness queries for it again. Now settings are
 * read to SETTING_MAX_BYTES, a run judges at most SETTINGS_JUDGED_PER_RUN per tenant, and every blob judged not the
 * archive's is remembered by the instance (with its ETag) and passed over unread, logged once.
 */
import { Readable } from 'node:stream';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { REVOCATION_RESTORED, REVOCATION_UNSEALED, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { DECISION_UNSEALED, decisionBlobName } from '../../../shared/auth/decision-blobs';
import { proposalRecordId } from '../../../shared/auth/proposals';
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { retentionPolicySetting, settingBlobName, SETTING_MAX_BYTES, SETTING_UNSEALED, SETTINGS_JUDGED_PER_RUN } from '../../../shared/auth/rights-sets/settings-blobs';
import { checkStoredPolicy } from '../../../shared/retention/policy';
import { sealWith } from '../../../shared/kernel/archive-seal';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import { GIVEN_BEFORE_MAX_PERSONS } from '../../../shared/auth/rights-sets/rights-records';
import { type RightsAssignmentRecord, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { putRightsSet } from '../../../shared/auth/rights-sets/put-rights-set';
import { assignRightsSet } from '../../../shared/auth/rights-sets/assign-rights-set';
import { unassignRightsSet } from '../../../shared/auth/rights-sets/unassign-rights-set';
import { KEPT_BLOB_MAX_BYTES } from '../../../shared/kept-blobs';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { runReconcileTimer } from '../../../shared/retention/timers';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger, signedIn } from '../../support/in-memory';
import { restorePoint } from '../../support/restore-point';
import { seedDocument } from '../../support/seed';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { CORRECTION_UNSEALED } from '../../../shared/documents/correction-blobs';
import { MANIFEST_UNSEALED } from '../../../shared/documents/manifest';

const T = 'acme';
const DAY = 86_400_000;
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });
const alice = admin('alice');
const BOB = { subject: 'bob', kind: 'user' };

const lines = (deps: InMemoryDeps, message: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const plant = (deps: InMemoryDeps, name: string, bytes: Buffer) => deps.blobs.putCreateOnly(T, name, bytes, 'application/json', { retainUntil: null, legalHold: false }, {});

/** Every blob read (its name), the bytes taken from each, and the audit queries, counted per run. */
function counting(deps: InMemoryDeps) {
  const run = { reads: [] as string[], bytes: 0, auditQueries: [] as string[] };
  const read = deps.blobs.readIfExists.bind(deps.blobs);
  deps.blobs.readIfExists = async (tenantId, name) => {
    const found = await read(tenantId, name);
    if (!found) return null;
    run.reads.push(name);
    const source = found.stream;
    // Only what is taken from the stream counts: a blob refused by its size is never read on.
    const stream = Readable.from((async function* () {
      for await (const chunk of source) {
        run.bytes += (chunk as Buffer).length;
        yield chunk;
      }
    })());
    return { ...found, stream };
  };
  const list = deps.audit.list.bind(deps.audit);
  deps.audit.list = async (tenantId, month, limit, token, filter) => {
    run.auditQueries.push(filter?.target ?? '');
    return list(tenantId, month, limit, token, filter);
  };
  return {
    async reconcile() {
      run.reads = [];
      run.bytes = 0;
      run.auditQueries = [];
      await runReconcileTimer(deps);
      return { ...run };
    },
  };
}

describe('the bound on a setting blob read', () => {
  // Read to SETTING_MAX_BYTES: the largest setting the archive writes must stay far below it.
  const keys = singleKeyring(async () => Buffer.alloc(32, 1));
  const at = '2026-01-01T00:00:00.000Z';
  const longSubject = 'é'.repeat(255);
  const cases: [string, () => object][] = [
    [
      'a retention policy of 50 classes, each described in 300 characters of 3 bytes',
      () => {
        const policy = { classes: Array.from({ length: 50 }, (_, i) => ({ name: `c${i}-${'a'.repeat(38)}`, years: 100, description: '€'.repeat(300) })), defaultClass: 'c0-' + 'a'.repeat(38), requireDisposalApproval: true, fiscalYearEndMonth: 12 };
        checkStoredPolicy(policy);
        const classYears = Object.fromEntries(policy.classes.map((c) => [c.name, c.years]));
        return retentionPolicySetting(T, policy, at, { subject: longSubject, kind: 'user', person: longSubject }, { classYears, requireDisposalApproval: true, defaultClassYears: 100, fiscalYearEndMonth: 12 }, Date.parse(at));
      },
    ],
    [
      `an assignment with ${GIVEN_BEFORE_MAX_PERSONS} earlier givings by long subjects`,
      () => {
        const record: RightsAssignmentRecord = { id: rightsAssignmentRecordId(longSubject), tenantId: T, type: 'rights-assignment', subject: longSubject, rightsSet: 'a'.repeat(64), assignedAt: at, assignedBy: { subject: longSubject, kind: 'user' }, placedWith: [...PERMISSIONS], revision: 1, givenBefore: Array.from({ length: GIVEN_BEFORE_MAX_PERSONS }, (_, i) => ({ at, by: { subject: `${i}${longSubject}`, kind: 'user', person: `${i}${longSubject}` } })) };
        return { tenantId: T, recordId: record.id, type: record.type, revision: 1, at, record };
      },
    ],
  ];
  it.each(cases)('%s is read whole, with room to spare', async (_, setting) => {
    const size = Buffer.byteLength(JSON.stringify(await sealWith('setting', setting(), keys)));
    expect(size * 2).toBeLessThan(SETTING_MAX_BYTES);
  });
});

describe('planted setting blobs: each read once, a bounded amount a run, the sealed change below them still written back', () => {
  it('a pile above a removal and under made-up records: judged over runs at most SETTINGS_JUDGED_PER_RUN each, never twice, logged once each', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    await putRightsSet(alice, 'clerk', ['documents:read'], deps.clock.now(), deps);
    await assignRightsSet(alice, 'ian', 'clerk', deps.clock.now(), deps);
    (deps.clock as FakeClock).advance(60_000);
    const restore = restorePoint(deps);
    // Removed after the restore point: the sealed removal is what the reconciler must write back.
    await unassignRightsSet(alice, 'ian', deps.clock.now(), deps);
    const removal = (await deps.blobs.blobNames(T, `settings/${rightsAssignmentRecordId('ian')}/`)).find((n) => n.endsWith('-removed.json'))!;
    const revision = Number(/(\d{16})-removed\.json$/.exec(removal)![1]);
    const planted: string[] = [];
    // Above the removal: most a setting's size to the old bound (each was read whole), some as large as that bound, and under
    // made-up records (a per-record bound alone leaves those).
    for (let i = 1; i <= 100; i++) planted.push(settingBlobName(rightsAssignmentRecordId('ian'), revision + i, false));
    for (let i = 0; i < 40; i++) planted.push(settingBlobName(rightsAssignmentRecordId(`mallory-${i}`), revision + i, false));
    const big = Buffer.alloc(KEPT_BLOB_MAX_BYTES, 0x20);
    const setting = Buffer.from(JSON.stringify({ tenantId: T, recordId: rightsAssignmentRecordId('ian'), type: 'rights-assignment', revision, at: deps.clock.now().toISOString(), record: null, pad: 'x'.repeat(100 * 1024) }));
    for (const [i, name] of planted.entries()) await plant(deps, name, i % 10 === 0 ? big : setting);
    restore();
    expect((await deps.tenantRecords.get<RightsAssignmentRecord>(T, rightsAssignmentRecordId('ian'), 'rights-assignment'))?.value.rightsSet).toBe('clerk');

    const counter = counting(deps);
    const seen = new Set<string>();
    let runs = 0;
    for (; runs < 10; runs++) {
      const run = await counter.reconcile();
      const readPlanted = run.reads.filter((n) => planted.includes(n));
      // A bounded amount a run, and nothing read again.
      expect(readPlanted.length).toBeLessThanOrEqual(SETTINGS_JUDGED_PER_RUN);
      expect(run.bytes).toBeLessThanOrEqual(SETTINGS_JUDGED_PER_RUN * SETTING_MAX_BYTES);
      expect(readPlanted.filter((n) => seen.has(n))).toEqual([]);
      for (const n of readPlanted) seen.add(n);
      if (readPlanted.length === 0) break;
    }
    expect(runs).toBe(Math.ceil(planted.length / SETTINGS_JUDGED_PER_RUN));
    expect([...seen].sort()).toEqual([...planted].sort());
    // The genuine removal below the pile was found and written back; each planted blob logged once.
    expect(await deps.tenantRecords.get(T, rightsAssignmentRecordId('ian'), 'rights-assignment')).toBeNull();
    expect(lines(deps, SETTING_UNSEALED).map((l) => l.fields?.blob).sort()).toEqual([...planted].sort());
  });
});

describe('planted revocations and decisions: read and witnessed once per blob per instance', () => {
  it('a second run neither reads them nor queries the audit log; one deleted and replaced by the archive is judged afresh', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    await signedIn(deps.tenantRecords, T, ['alice', 'bob', 'carol'], deps.clock.now());
    (deps.clock as FakeClock).advance(60_000);
    const keys: ApiKeyRecord[] = [];
    for (let i = 0; i < 5; i++) keys.push((await createApiKey({ tenantId: T, name: `client-${i}`, rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:read'], personPermissions: ['documents:read'], now: deps.clock.now() }, deps)).record);
    const proposed = await deps.sodPolicy.change(alice, { ...DEFAULT_SOD_POLICY, uploaderCannotApproveDisposal: false }, deps.clock.now());
    if (!('proposed' in proposed)) throw new Error('not proposed');
    const id = proposed.proposed.proposalId;
    // Without a seal: each is judged by its witness in the audit log (none), queries every run used to repeat.
    const at = deps.clock.now().toISOString();
    for (const k of keys) await plant(deps, revocationBlobName('api-key', k.keyId), Buffer.from(JSON.stringify({ tenantId: T, kind: 'api-key', id: k.keyId, revokedAt: at, revokedBy: BOB })));
    await plant(deps, decisionBlobName('sod-policy-proposal', id), Buffer.from(JSON.stringify({ tenantId: T, type: 'sod-policy-proposal', proposalId: id, state: 'rejected', decidedAt: at, decidedBy: { ...BOB, person: 'bob' } })));
    const planted = [...keys.map((k) => revocationBlobName('api-key', k.keyId)), decisionBlobName('sod-policy-proposal', id)];
    const targets = [...keys.map((k) => `api-key:${k.keyId}`), proposalRecordId('sod-policy-proposal', id)];

    const counter = counting(deps);
    const first = await counter.reconcile();
    expect(first.reads.filter((n) => planted.includes(n)).sort()).toEqual([...planted].sort());
    expect(first.auditQueries.filter((t) => targets.includes(t)).length).toBeGreaterThan(0);
    const second = await counter.reconcile();
    expect(second.reads.filter((n) => planted.includes(n))).toEqual([]);
    expect(second.auditQueries.filter((t) => targets.includes(t))).toEqual([]);
    expect(lines(deps, REVOCATION_UNSEALED)).toHaveLength(keys.length);
    expect(lines(deps, DECISION_UNSEALED)).toHaveLength(1);
    expect(lines(deps, REVOCATION_RESTORED)).toEqual([]);

    // The operator's remedy for a revocation planted before the revoke: the blob removed (it was not locked) and the key
    // revoked again. Its name now holds the archive's: a restore to before it is caught up, not hidden by the verdict.
    const restore = restorePoint(deps);
    deps.blobs.blobs.delete(`${T}/${planted[0]}`);
    await revokeApiKey(T, keys[0]!.keyId, BOB, deps.clock.now(), deps);
    restore();
    const third = await counter.reconcile();
    expect(third.reads.filter((n) => planted.includes(n))).toEqual([planted[0]]);
    expect((await deps.tenantRecords.get<ApiKeyRecord>(T, apiKeyRecordId(keys[0]!.keyId), 'api-key'))?.value.revokedAt).toBeDefined();
    expect(lines(deps, REVOCATION_RESTORED)).toHaveLength(1);
  });
});

describe("a correction planted in a document's folder: read and witnessed once per blob per instance", () => {
  it('a later pass of the walk neither reads it nor queries the audit log, and it is logged once', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty: 'Shop', amount: 10, currency: 'EUR' } });
    const name = blobLayout.correction(doc.id, 2);
    // Without a seal: judged by its request's entry in the audit log (none), a query every pass used to repeat.
    const correction = { version: 2, at: deps.clock.now().toISOString(), by: { subject: 'alice', kind: 'user' }, reason: 'Typo', changes: [{ field: 'counterparty', from: 'Shop', to: 'Mallory BV' }], metadata: { ...doc.metadata, counterparty: 'Mallory BV' } };
    await plant(deps, name, Buffer.from(JSON.stringify({ tenantId: T, documentId: doc.id, correction, fiscalYear: 2019, retention: { class: 'default', retainUntil: doc.retention.retainUntil } })));
    const counter = counting(deps);
    const first = await counter.reconcile();
    expect([first.reads.filter((n) => n === name).length, first.auditQueries.filter((t) => t === doc.id).length > 0]).toEqual([1, true]);
    const second = await counter.reconcile();
    expect([second.reads.filter((n) => n === name), second.auditQueries.filter((t) => t === doc.id)]).toEqual([[], []]);
    expect(lines(deps, CORRECTION_UNSEALED).map((l) => l.fields?.blob)).toEqual([name]);
    expect((await deps.catalog.get(T, doc.id))!.metadata.counterparty).toBe('Shop');
  });
});

describe("a manifest planted in a folder without a catalog item: read and witnessed once per blob per instance", () => {
  it('a later pass of the folder walk neither reads it nor queries the audit log, and it is logged once', async () => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty: 'Shop', amount: 10, currency: 'EUR' } });
    // The folder as a storage role lays one out: its blobs and a manifest without a seal or an ingest in the audit log.
    deps.catalog.documents.delete(`${T}/${doc.id}`);
    const name = blobLayout.manifest(doc.id);
    deps.blobs.blobs.delete(`${T}/${name}`);
    await plant(deps, name, Buffer.from(JSON.stringify(doc)));
    const counter = counting(deps);
    const first = await counter.reconcile();
    expect([first.reads.filter((n) => n === name).length, first.auditQueries.filter((t) => t === doc.id).length > 0]).toEqual([1, true]);
    const second = await counter.reconcile();
    expect([second.reads.filter((n) => n === name), second.auditQueries.filter((t) => t === doc.id)]).toEqual([[], []]);
    expect(lines(deps, MANIFEST_UNSEALED).map((l) => l.fields?.blob)).toEqual([name]);
    expect(await deps.catalog.get(T, doc.id)).toBeNull();
  });
});
