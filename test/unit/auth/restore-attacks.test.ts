/**
 * A point-in-time restore of Cosmos DB (README *Backups and restore*), attacked: an operator restores the account to
 * before some changes, often to just before a credential leaked, while blob storage (WORM, versioned) stays current;
 * then the archive runs on. Staged cheaply over the in-memory ports: the tenant records are copied at the restore point
 * and put back (`restoreTenantRecords`), the blobs are left as they are, and a fresh authenticator stands for an
 * instance started over the restored account.
 */
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { createSupportGrant } from '../../../shared/auth/support-grants/create-support-grant';
import { revokeSupportGrant } from '../../../shared/auth/support-grants/revoke-support-grant';
import { supportGrantRecordId, type SupportGrantRecord } from '../../../shared/auth/support-grants/support-grant';
import { REVOCATION_CHECK_MAX_AGE_MS, REVOCATION_RESTORED, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { authenticatorOver, localIssuerSettings, withLocalIssuer } from '../../support/authenticator';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger, signedIn } from '../../support/in-memory';
import type { FakeClock } from '../../support/fake-clock';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { restorePoint } from '../../support/restore-point';

const T = 'acme';
const DAY = 86_400_000;
const SETTINGS = localIssuerSettings({ issuer: 'http://issuer.invalid', jwksUri: 'http://issuer.invalid/jwks' });
const ANN = { subject: 'ann', kind: 'user', person: 'ann' };

const mintKey = (deps: InMemoryDeps, createdBy: { subject: string; kind: string; person: string } = ANN) =>
  createApiKey({ tenantId: T, name: 'client', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy, ceiling: ['documents:read', 'documents:write'], personPermissions: ['documents:read', 'documents:write'], now: deps.clock.now() }, deps);

const restoredWarnings = (deps: InMemoryDeps) => (deps.log as RecordingLogger).lines.filter((l) => l.message === REVOCATION_RESTORED);

describe('revoked credentials after a restore of Cosmos DB to before their revocation', () => {
  // Broke: revocation lived in the key's Cosmos record only; the restored record was unrevoked and the leaked key acted
  // again on every instance, with nothing logged. Now kept as a WORM blob too, looked up where the key is checked.
  it('an API key revoked after the restore point stays refused, its record is revoked again and operators are told', async () => {
    const deps = inMemoryDeps();
    const { key, record } = await mintKey(deps);
    expect((await authenticatorOver(deps, SETTINGS).authenticate(`ApiKey ${key}`)).denial).toBeUndefined();
    const restore = restorePoint(deps);
    await revokeApiKey(T, record.keyId, { subject: 'bob', kind: 'user' }, deps.clock.now(), deps);
    expect(await deps.blobs.exists(T, revocationBlobName('api-key', record.keyId))).toBe(true);
    (deps.clock as FakeClock).advance(3600_000);

    restore();
    expect((await deps.tenantRecords.get<ApiKeyRecord>(T, apiKeyRecordId(record.keyId), 'api-key'))?.value.revokedAt).toBeNull();
    const after = await authenticatorOver(deps, SETTINGS).authenticate(`ApiKey ${key}`);
    expect(after.denial).toMatchObject({ code: 'unauthenticated', detail: 'The API key has been revoked.' });
    const stored = (await deps.tenantRecords.get<ApiKeyRecord>(T, apiKeyRecordId(record.keyId), 'api-key'))!.value;
    expect(stored).toMatchObject({ revokedBy: { subject: 'bob', kind: 'user' }, endsAt: stored.revokedAt });
    expect(restoredWarnings(deps)).toEqual([expect.objectContaining({ level: 'warn', fields: expect.objectContaining({ tenantId: T, kind: 'api-key', id: record.keyId }) })]);
    // The tenant's trail lost the revoke's entry with the restore: it is told the revocation was applied again.
    const entries = [...deps.catalog.outbox.values()].flatMap((i) => i.entries).filter((e) => e.detail?.startsWith('revocation-restored='));
    expect(entries).toEqual([expect.objectContaining({ action: 'api-key.revoke', target: `api-key:${record.keyId}`, actor: { subject: 'system:revocation-restore', kind: 'system' }, detail: `revocation-restored=${stored.revokedAt}` })]);
  });

  it('a key minted through a key revoked after the restore point acts no more either', async () => {
    const deps = inMemoryDeps();
    const parent = await mintKey(deps);
    const viaParent = { subject: `apikey:${parent.record.keyId}`, kind: 'client', person: 'ann' };
    const child = await mintKey(deps, viaParent);
    await signedIn(deps.tenantRecords, T, ['ann'], deps.clock.now(), 'uploader'); // a key minted by a key acts while its person signs in
    expect((await authenticatorOver(deps, SETTINGS).authenticate(`ApiKey ${child.key}`)).denial).toBeUndefined();
    const restore = restorePoint(deps);
    await revokeApiKey(T, parent.record.keyId, ANN, deps.clock.now(), deps);
    restore();
    expect((await authenticatorOver(deps, SETTINGS).authenticate(`ApiKey ${child.key}`)).denial).toMatchObject({ code: 'unauthenticated', detail: expect.stringContaining(parent.record.keyId) });
  });

  it('a revoke retried after its blob write failed writes the blob (the record was revoked already)', async () => {
    const deps = inMemoryDeps();
    const { record } = await mintKey(deps);
    const putCreateOnly = deps.blobs.putCreateOnly.bind(deps.blobs);
    deps.blobs.putCreateOnly = () => Promise.reject(new Error('storage down'));
    await expect(revokeApiKey(T, record.keyId, ANN, deps.clock.now(), deps)).rejects.toThrow('storage down');
    deps.blobs.putCreateOnly = putCreateOnly;
    expect(await deps.blobs.exists(T, revocationBlobName('api-key', record.keyId))).toBe(false);
    await revokeApiKey(T, record.keyId, ANN, deps.clock.now(), deps);
    expect(await deps.blobs.exists(T, revocationBlobName('api-key', record.keyId))).toBe(true);
  });

  it('a key in force is looked up in storage once per instance per REVOCATION_CHECK_MAX_AGE_MS while its record is unchanged, not on every request', async () => {
    const deps = inMemoryDeps();
    const { key } = await mintKey(deps);
    let looks = 0;
    const exists = deps.blobs.exists.bind(deps.blobs);
    deps.blobs.exists = (t, n) => (looks++, exists(t, n));
    const authenticator = authenticatorOver(deps, SETTINGS);
    for (let i = 0; i < 5; i++) expect((await authenticator.authenticate(`ApiKey ${key}`)).denial).toBeUndefined();
    // The first request stamps lastUsedAt, a new version of the record: looked up again once (revocation-blobs.ts RevocationChecks).
    expect(looks).toBe(2);
    (deps.clock as FakeClock).advance(REVOCATION_CHECK_MAX_AGE_MS);
    await authenticator.authenticate(`ApiKey ${key}`);
    expect(looks).toBe(3);
  });

  it('a support grant revoked after the restore point gives staff no access; the grant is revoked again', async () => {
    await withLocalIssuer(async ({ issuer, deps, authenticator }) => {
      const now = deps.clock.now();
      const { grant } = await createSupportGrant({ tenantId: T, ticket: 'INC-7', scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + 2 * DAY), createdBy: ANN, now }, deps);
      const staff = async (a = authenticator) => a.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'tom', kind: 'support' })}`);
      expect((await staff()).grantId).toBe(grant.grantId);
      const restore = restorePoint(deps);
      await revokeSupportGrant(T, grant.grantId, ANN, deps.clock.now(), deps);
      restore();
      const after = await staff(authenticatorOver(deps, localIssuerSettings(issuer)));
      expect([after.grantId, after.denial?.code]).toEqual([undefined, 'support_access_not_granted']);
      expect((await deps.tenantRecords.get<SupportGrantRecord>(T, supportGrantRecordId(grant.grantId), 'support-grant'))?.value.revokedAt).toEqual(expect.any(String));
      expect(restoredWarnings(deps)).toHaveLength(1);
    });
  });

  it('a support grant given through a key revoked after the restore point gives no access', async () => {
    await withLocalIssuer(async ({ issuer, deps, authenticator }) => {
      const now = deps.clock.now();
      const k = await mintKey(deps);
      const { grant } = await createSupportGrant({ tenantId: T, ticket: 'INC-8', scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + 2 * DAY), createdBy: { subject: `apikey:${k.record.keyId}`, kind: 'client', person: 'ann' }, now }, deps);
      const staff = async (a = authenticator) => a.authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'tom', kind: 'support' })}`);
      expect((await staff()).grantId).toBe(grant.grantId);
      const restore = restorePoint(deps);
      await revokeApiKey(T, k.record.keyId, ANN, deps.clock.now(), deps);
      restore();
      expect((await staff(authenticatorOver(deps, localIssuerSettings(issuer)))).denial?.code).toBe('support_access_not_granted');
    });
  });

  it('a support grant created and revoked after the restore point, its create retried with the same Idempotency-Key: the grant made again under the same id gives no access', async () => {
    await withLocalIssuer(async ({ issuer, deps }) => {
      const now = deps.clock.now();
      const ask = () => createSupportGrant({ tenantId: T, ticket: 'INC-9', scope: 'read-only-with-audit', expiresAt: new Date(now.getTime() + 2 * DAY), createdBy: ANN, now, idempotencyKey: 'grant-inc-9' }, deps);
      const restore = restorePoint(deps);
      const { grant } = await ask();
      await revokeSupportGrant(T, grant.grantId, ANN, deps.clock.now(), deps);
      restore();
      // Ids are derived from the key: the retry lands on the revoked grant's id, and the store no longer holds it.
      const again = await ask();
      expect([again.grant.grantId, again.replayed, again.grant.revokedAt]).toEqual([grant.grantId, false, null]);
      const staff = await authenticatorOver(deps, localIssuerSettings(issuer)).authenticate(`Bearer ${await issuer.mint({ tenant: T, sub: 'tom', kind: 'support' })}`);
      expect(staff.denial?.code).toBe('support_access_not_granted');
    });
  });

  it('the reconciler revokes again, before anyone presents them, the keys and grants a restore gave back in force (the lists said they were in use)', async () => {
    const deps = inMemoryDeps();
    const now = deps.clock.now();
    const revoked = await mintKey(deps);
    const kept = await mintKey(deps);
    const { grant } = await createSupportGrant({ tenantId: T, ticket: 'INC-10', scope: 'metadata-only', expiresAt: new Date(now.getTime() + DAY), createdBy: ANN, now }, deps);
    const restore = restorePoint(deps);
    await revokeApiKey(T, revoked.record.keyId, ANN, now, deps);
    await revokeSupportGrant(T, grant.grantId, ANN, now, deps);
    restore();
    expect((await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(T, now.toISOString())).map((k) => k.keyId).sort()).toEqual([revoked.record.keyId, kept.record.keyId].sort());
    await runReconcileTimer(deps);
    expect((await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(T, deps.clock.now().toISOString())).map((k) => k.keyId)).toEqual([kept.record.keyId]);
    expect((await deps.tenantRecords.get<SupportGrantRecord>(T, supportGrantRecordId(grant.grantId), 'support-grant'))?.value.revokedAt).toEqual(expect.any(String));
    expect(restoredWarnings(deps).map((l) => l.fields?.kind).sort()).toEqual(['api-key', 'support-grant']);
  });
});
