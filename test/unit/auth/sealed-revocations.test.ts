/**
 * Revocations and decisions kept in storage (revocation-blobs.ts, decision-blobs.ts) are the archive's only if it sealed
 * them. Broke: any blob under `revocations/api-key-<id>.json` revoked the key, and any under
 * `decisions/<type>-<id>.json` closed the proposal; whoever can create blobs in a tenant's container (a storage role,
 * a leaked SAS; no rights in the tenant) stopped any client app or shut any pending proposal before its approver acted.
 * A point-in-time restore of Cosmos DB is staged as in restore-attacks.test.ts (`restorePoint`).
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { REVOCATION_CHECK_MAX_AGE_MS, REVOCATION_RESTORE_ACTOR, REVOCATION_RESTORED, REVOCATION_UNSEALED, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { DECISION_UNSEALED, decisionBlobName, SETTING_RESTORE_ACTOR, SETTING_RESTORED } from '../../../shared/auth/decision-blobs';
import { proposalRecordId } from '../../../shared/auth/proposals';
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { sealWith } from '../../../shared/kernel/archive-seal';
import { singleKeyring } from '../../../shared/kernel/audit-chain';
import type { AuditAction } from '../../../shared/kernel/audit';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { authenticatorOver, localIssuerSettings } from '../../support/authenticator';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger, signedIn } from '../../support/in-memory';
import { refusal } from '../../support/refusal';
import { restorePoint } from '../../support/restore-point';

const T = 'acme';
const DAY = 86_400_000;
const SETTINGS = localIssuerSettings({ issuer: 'http://issuer.invalid', jwksUri: 'http://issuer.invalid/jwks' });
const ANN = { subject: 'ann', kind: 'user', person: 'ann' };
const BOB = { subject: 'bob', kind: 'user' };
const admin = (subject: string): Principal => ({ tenantId: T, subject, kind: 'user', person: subject, rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });
const [alice, bob] = [admin('alice'), admin('bob')];
const weaker = { ...DEFAULT_SOD_POLICY, uploaderCannotApproveDisposal: false };
const wrongKey = singleKeyring(async () => Buffer.alloc(32, 7));

const lines = (deps: InMemoryDeps, message: string) => (deps.log as RecordingLogger).lines.filter((l) => l.message === message);
const bytesOf = (deps: InMemoryDeps, name: string) => deps.blobs.blobs.get(`${T}/${name}`)!.bytes;
const put = (deps: InMemoryDeps, name: string, body: Buffer | object) =>
  deps.blobs.putCreateOnly(T, name, Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body)), 'application/json', { retainUntil: null, legalHold: false }, {});
/** The blob as written before the archive sealed what it keeps: no `mac`. */
const unseal = (deps: InMemoryDeps, name: string) => {
  const { mac: _mac, ...legacy } = JSON.parse(bytesOf(deps, name).toString('utf8')) as { mac?: string };
  deps.blobs.blobs.get(`${T}/${name}`)!.bytes = Buffer.from(JSON.stringify(legacy));
};
const audited = (deps: InMemoryDeps, action: AuditAction, target: string, actor: { subject: string; kind: string } = BOB) =>
  deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor, action, target, outcome: 'success', status: 200, requestId: `req-${target}`, clientIp: null, userAgent: null });

const mintKey = (deps: InMemoryDeps) =>
  createApiKey({ tenantId: T, name: 'client', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy: ANN, ceiling: ['documents:read'], personPermissions: ['documents:read'], now: deps.clock.now() }, deps);

describe('a revocation kept in storage revokes only if the archive wrote it', () => {
  type Case = { kept: string; revokes: boolean; stage: (deps: InMemoryDeps, key: ApiKeyRecord) => Promise<void> };
  const revocationOf = (deps: InMemoryDeps, key: ApiKeyRecord) => ({ tenantId: T, kind: 'api-key', id: key.keyId, revokedAt: deps.clock.now().toISOString(), revokedBy: BOB });
  const cases: Case[] = [
    { kept: 'planted, unsealed', revokes: false, stage: (deps, key) => put(deps, revocationBlobName('api-key', key.keyId), revocationOf(deps, key)).then(() => undefined) },
    { kept: 'planted, sealed with another key', revokes: false, stage: async (deps, key) => void (await put(deps, revocationBlobName('api-key', key.keyId), await sealWith('revocation', revocationOf(deps, key), wrongKey))) },
    {
      kept: "another key's genuine revocation copied under its name",
      revokes: false,
      stage: async (deps, key) => {
        const other = (await mintKey(deps)).record;
        await revokeApiKey(T, other.keyId, BOB, deps.clock.now(), deps);
        await put(deps, revocationBlobName('api-key', key.keyId), bytesOf(deps, revocationBlobName('api-key', other.keyId)));
      },
    },
    { kept: 'sealed by the archive (revoked after the restore point)', revokes: true, stage: async (deps, key) => void (await revokeApiKey(T, key.keyId, BOB, deps.clock.now(), deps)) },
    {
      kept: 'from before the seal, its revocation in the audit log',
      revokes: true,
      stage: async (deps, key) => {
        await revokeApiKey(T, key.keyId, BOB, deps.clock.now(), deps);
        unseal(deps, revocationBlobName('api-key', key.keyId));
        await audited(deps, 'api-key.revoke', `api-key:${key.keyId}`);
      },
    },
    {
      // Before the seal any blob was applied, with this entry: it vouches for nothing.
      kept: "from before the seal, only a restore's entry of it in the audit log",
      revokes: false,
      stage: async (deps, key) => {
        await put(deps, revocationBlobName('api-key', key.keyId), revocationOf(deps, key));
        await audited(deps, 'api-key.revoke', `api-key:${key.keyId}`, REVOCATION_RESTORE_ACTOR);
      },
    },
    {
      kept: 'from before the seal, no audit entry of it',
      revokes: false,
      stage: async (deps, key) => {
        await revokeApiKey(T, key.keyId, BOB, deps.clock.now(), deps);
        unseal(deps, revocationBlobName('api-key', key.keyId));
      },
    },
  ];

  it.each(cases)('$kept: revokes $revokes', async ({ stage, revokes }) => {
    const deps = inMemoryDeps();
    deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
    const { key, record } = await mintKey(deps);
    const restore = restorePoint(deps);
    await stage(deps, record);
    restore();
    let reads = 0;
    const readIfExists = deps.blobs.readIfExists.bind(deps.blobs);
    deps.blobs.readIfExists = (t, n) => (reads++, readIfExists(t, n));

    const authenticator = authenticatorOver(deps, SETTINGS);
    for (let i = 0; i < 3; i++) expect((await authenticator.authenticate(`ApiKey ${key}`)).denial === undefined).toBe(!revokes);
    await runReconcileTimer(deps);
    (deps.clock as FakeClock).advance(REVOCATION_CHECK_MAX_AGE_MS);
    await authenticator.authenticate(`ApiKey ${key}`);

    const stored = (await deps.tenantRecords.get<ApiKeyRecord>(T, apiKeyRecordId(record.keyId), 'api-key'))!.value;
    expect([stored.revokedAt !== null, lines(deps, REVOCATION_RESTORED).length]).toEqual([revokes, revokes ? 1 : 0]);
    // One not the archive's: alerted once however often it is met, and read again only after REVOCATION_CHECK_MAX_AGE_MS
    // or a change to the key's record (the request, the next after the first's lastUsedAt stamp, the reconciler's run,
    // and the request after that period).
    expect(lines(deps, REVOCATION_UNSEALED).map((l) => l.fields?.blob)).toEqual(revokes ? [] : [revocationBlobName('api-key', record.keyId)]);
    if (!revokes) expect(reads).toBe(4);
  });
});

describe('a decision kept in storage closes a pending proposal only if the archive wrote it', () => {
  type Case = { kept: string; decides: boolean; stage: (deps: InMemoryDeps, id: string) => Promise<void> };
  const target = (id: string) => proposalRecordId('sod-policy-proposal', id);
  const decisionOf = (deps: InMemoryDeps, id: string, state: 'withdrawn' | 'rejected') => ({ tenantId: T, type: 'sod-policy-proposal', proposalId: id, state, decidedAt: deps.clock.now().toISOString(), decidedBy: { ...BOB, person: 'bob' } });
  const cases: Case[] = [
    { kept: 'planted withdrawal, unsealed', decides: false, stage: async (deps, id) => void (await put(deps, decisionBlobName('sod-policy-proposal', id), decisionOf(deps, id, 'withdrawn'))) },
    { kept: 'planted rejection, unsealed', decides: false, stage: async (deps, id) => void (await put(deps, decisionBlobName('sod-policy-proposal', id), decisionOf(deps, id, 'rejected'))) },
    { kept: 'planted rejection, sealed with another key', decides: false, stage: async (deps, id) => void (await put(deps, decisionBlobName('sod-policy-proposal', id), await sealWith('decision', decisionOf(deps, id, 'rejected'), wrongKey))) },
    {
      kept: "another proposal's genuine withdrawal copied under its name",
      decides: false,
      stage: async (deps, id) => {
        const other = await deps.sodPolicy.change(bob, weaker, deps.clock.now());
        if (!('proposed' in other)) throw new Error('not proposed');
        await deps.sodPolicy.withdraw(bob, other.proposed.proposalId, deps.clock.now());
        await put(deps, decisionBlobName('sod-policy-proposal', id), bytesOf(deps, decisionBlobName('sod-policy-proposal', other.proposed.proposalId)));
      },
    },
    { kept: 'sealed by the archive (withdrawn after the restore point)', decides: true, stage: async (deps, id) => void (await deps.sodPolicy.withdraw(alice, id, deps.clock.now())) },
    {
      kept: 'from before the seal, its withdrawal in the audit log',
      decides: true,
      stage: async (deps, id) => {
        await deps.sodPolicy.withdraw(alice, id, deps.clock.now());
        unseal(deps, decisionBlobName('sod-policy-proposal', id));
        await audited(deps, 'sod-policy.proposal-withdraw', target(id));
      },
    },
    {
      kept: "from before the seal, only a restore's entry of it in the audit log",
      decides: false,
      stage: async (deps, id) => {
        await put(deps, decisionBlobName('sod-policy-proposal', id), decisionOf(deps, id, 'withdrawn'));
        await audited(deps, 'sod-policy.proposal-withdraw', target(id), SETTING_RESTORE_ACTOR);
      },
    },
    {
      kept: 'from before the seal, no audit entry of it',
      decides: false,
      stage: async (deps, id) => {
        await deps.sodPolicy.withdraw(alice, id, deps.clock.now());
        unseal(deps, decisionBlobName('sod-policy-proposal', id));
      },
    },
  ];

  it.each(cases)('$kept: decides $decides', async ({ stage, decides }) => {
    const deps = inMemoryDeps();
    deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
    await signedIn(deps.tenantRecords, T, ['alice', 'bob', 'carol'], deps.clock.now());
    (deps.clock as FakeClock).advance(60_000);
    const proposed = await deps.sodPolicy.change(alice, weaker, deps.clock.now());
    if (!('proposed' in proposed)) throw new Error('not proposed');
    const id = proposed.proposed.proposalId;
    const restore = restorePoint(deps);
    await stage(deps, id);
    restore();

    await runReconcileTimer(deps);
    const pending = (await deps.sodPolicy.list(T, { state: 'pending', limit: 50 }, deps.clock.now())).items.map((p) => p.proposalId);
    expect(pending).toEqual(decides ? [] : [id]);
    if (decides) {
      expect((await refusal(deps.sodPolicy.approve(bob, id, 'agreed', deps.clock.now()))).extensions).toEqual({ state: 'withdrawn' });
      expect(await deps.rights.policy(T)).toEqual(DEFAULT_SOD_POLICY);
    } else {
      // Still pending, and its approver's decision is the one that counts.
      await deps.sodPolicy.approve(bob, id, 'agreed', deps.clock.now());
      expect(await deps.rights.policy(T)).toEqual(weaker);
    }
    expect(lines(deps, SETTING_RESTORED)).toHaveLength(decides ? 1 : 0);
    expect(lines(deps, DECISION_UNSEALED).map((l) => l.fields?.blob)).toEqual(decides ? [] : [decisionBlobName('sod-policy-proposal', id)]);
  });
});
