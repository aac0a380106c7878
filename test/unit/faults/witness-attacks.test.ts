/**
 * The witnesses of what storage keeps and of who acted when (revocations and decisions sealed in storage with an audit-log witness for older ones, kept settings'
 * removals, stored-shape safe reading), attacked by a storage role, by whoever can write Cosmos DB (not Key Vault or
 * blobs), and by a tenant's own users. What recent-attacks.test.ts and the files it names test is not repeated. Each
 * case marked "Broke" fails without its fix.
 */
import { Authenticator } from '../../../shared/auth/authenticate';
import { type PersonSightingRecord, personSightingRecordId, sealSighting } from '../../../shared/auth/person-sightings';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { apiKeyRecordId, type ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import { revokeApiKey } from '../../../shared/auth/api-keys/revoke-api-key';
import { restoreRevocations, REVOCATION_UNSEALED, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import { CHAIN_ALG, entryId, GENESIS_HASH, hashEntry } from '../../../shared/kernel/audit-chain';
import type { AuditEntry } from '../../../shared/kernel/audit';
import { DECISION_UNSEALED, decisionBlobName } from '../../../shared/auth/decision-blobs';
import { DEFAULT_SOD_POLICY } from '../../../shared/auth/sod';
import { type Permission, PERMISSIONS, type Principal } from '../../../shared/kernel/principal';
import type { FakeClock } from '../../support/fake-clock';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger, signedIn } from '../../support/in-memory';
import { keyFromBeforeTheSeal, ok, send, SETTINGS, TENANT, world } from '../../support/in-process';

const DAY = 86_400_000;
type W = ReturnType<typeof world>;
const admin = (subject: string): Principal => ({ tenantId: TENANT, subject, kind: 'user', person: subject, rightsSet: 'root', permissions: new Set<Permission>(PERMISSIONS) });

/** Dana's key, minted by her sign-in where rights come from the identity provider; `idle`: 31 days later, none since. `claim`: what her tokens claim (issued as they are used). */
async function danasKey(idle = true, claim = { set: 'integration-admin' }) {
  const w = world({ AUTH_RIGHTS_SOURCE: 'tenant-then-claim' });
  const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
  const authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant-then-claim' }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
  (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token, kind: 'user', claimedRightsSet: claim.set, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: w.clock.now().toISOString() });
  w.deps.authenticator = authenticator;
  const minted = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'dana-key', rightsSet: 'integration-admin', expiresAt: new Date(w.clock.now().getTime() + 365 * DAY).toISOString() }, as: 'dana' }, 201);
  if (idle) w.clock.advance(31 * DAY);
  return { w, auth: `ApiKey ${minted.json.key as string}`, keyId: minted.json.id as string };
}

/** Writes `field` of the one stored record `match` picks, as a restore or a hand edit would. */
function edit(w: W, match: (v: Record<string, unknown>) => boolean, field: string, value: unknown): void {
  const entry = [...w.deps.tenantRecords.records.entries()].find(([, r]) => match(r.value as unknown as Record<string, unknown>))!;
  w.deps.tenantRecords.records.set(entry[0], { ...entry[1], value: { ...entry[1].value, [field]: value } });
}

describe("a key whose person's last sign-in, or its own minting, is stored as a readable instant far ahead", () => {
  // Broke: readInstant reads '9999-01-01T00:00:00.000Z' as the instant it names, and the idle rule counted the idle days
  // from it: a person who left, whose sighting or key was restored, half written or edited by hand so, kept acting
  // through the key for good where rights come from the identity provider. The archive writes both at its own now.
  const FAR = '9999-01-01T00:00:00.000Z';
  const isSighting = (v: Record<string, unknown>) => v.id === personSightingRecordId('dana');
  it.each([
    ['her last sign-in', 'seenAt'],
    ["the key's minting", 'createdAt'],
  ])('%s (%s) stored far ahead: the key rests', async (_what, field) => {
    const { w, auth, keyId } = await danasKey();
    edit(w, (v) => (field === 'seenAt' ? isSighting(v) : v.type === 'api-key' && v.keyId === keyId), field, FAR);
    if (field === 'createdAt') keyFromBeforeTheSeal(w, keyId); // a shape the archive never writes: only a key from before the seal keeps one and acts
    const answer = await send(w, { method: 'GET', path: 'documents', as: auth });
    expect([answer.status, answer.json?.rule]).toEqual([403, 'key-person-idle']);
  });

  it('her sign-in stored far ahead is written over at her next sign-in, and the key acts again', async () => {
    // Broke: the sighting read its own seenAt with Date.parse, so one far ahead was "seen within the day" at every sign-in
    // and never written again: once the key rests on it (above), she could not wake it by signing in.
    const { w, auth } = await danasKey();
    edit(w, isSighting, 'seenAt', FAR);
    await ok(w, { method: 'GET', path: 'documents', as: 'dana' });
    expect((await send(w, { method: 'GET', path: 'documents', as: auth })).status).toBe(200);
  });

  it("her sign-in's token time stored far ahead does not keep the set it named once her claim is narrowed", async () => {
    // Broke: the sighting judged a sign-in's token older than the stored one's by comparing their issue times, and one
    // stored far ahead made every later token older: never written again, her keys kept the set it named after the
    // identity provider narrowed her claim (and, its sign-in far ahead too, rested for good however often she signed in).
    const claim = { set: 'integration-admin' };
    const { w, auth } = await danasKey(false, claim);
    expect((await send(w, { method: 'GET', path: 'api-keys', as: auth })).status).toBe(200);
    edit(w, isSighting, 'issuedAt', FAR);
    w.clock.advance(2 * DAY);
    claim.set = 'uploader';
    await ok(w, { method: 'GET', path: 'documents', as: 'dana' });
    expect((await send(w, { method: 'GET', path: 'api-keys', as: auth })).status).toBe(403);
  });

  it('a sign-in a little ahead (another instance\'s clock) still counts', async () => {
    const { w, auth } = await danasKey(false);
    edit(w, isSighting, 'seenAt', new Date(w.clock.now().getTime() + 60_000).toISOString());
    // Written so by that instance: sealed by it.
    const [id, stored] = [...w.deps.tenantRecords.records.entries()].find(([, r]) => isSighting(r.value as unknown as Record<string, unknown>))!;
    w.deps.tenantRecords.records.set(id, { ...stored, value: await sealSighting(stored.value as unknown as PersonSightingRecord, w.deps) });
    w.clock.advance(29 * DAY);
    expect((await send(w, { method: 'GET', path: 'documents', as: auth })).status).toBe(200);
  });
});

describe('an audit entry written into Cosmos DB by hand is no witness of a revocation kept from before the seal', () => {
  // Broke: a blob without the archive's seal (from before it) was applied where the tenant's audit log held the
  // revocation's success entry, and the witness checked only what the entry says, not its keyed hash. Whoever can write
  // Cosmos DB and create blobs (not Key Vault: a cloud operator's roles, a restore tool) wrote an entry of their own and
  // planted an unsealed blob, and the reconciler revoked any key of the tenant; so for decisions, manifests, corrections.
  const T = TENANT;
  const forged = (deps: InMemoryDeps, target: string, keyed: 'unkeyed' | 'wrong hash' | 'keyed'): Promise<unknown> | void => {
    const at = deps.clock.now().toISOString();
    const input = { tenantId: T, at, actor: { subject: 'bob', kind: 'user', person: 'bob' }, action: 'api-key.revoke' as const, target, outcome: 'success' as const, status: 200, requestId: 'req-forged', clientIp: null, userAgent: null };
    if (keyed === 'keyed') return deps.audit.append(input);
    const seq = deps.audit.entries.filter((e) => e.tenantId === T).length + 1;
    const body: Omit<AuditEntry, 'hash'> = { id: entryId(seq), seq, prevHash: GENESIS_HASH, partition: `${T}:${at.slice(0, 7)}`, ...(keyed === 'wrong hash' ? { alg: CHAIN_ALG } : {}), ...input };
    // Unkeyed: plain SHA-256, as entries from before the chain was keyed (anyone can compute it).
    deps.audit.entries.push({ ...body, hash: keyed === 'unkeyed' ? hashEntry(body) : 'f'.repeat(64) });
  };
  it.each([
    ['an unkeyed entry (plain SHA-256)', 'unkeyed', false],
    ['a keyed entry whose hash the chain key does not give', 'wrong hash', false],
    ["the archive's own keyed entry", 'keyed', true],
  ] as const)('%s (%s): revokes %s', async (_what, keyed, revokes) => {
    const deps = inMemoryDeps();
    deps.audit.chained = true;
    const { record } = await createApiKey({ tenantId: T, name: 'client', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:read'], personPermissions: ['documents:read'], now: deps.clock.now() }, deps);
    const revocation = { tenantId: T, kind: 'api-key', id: record.keyId, revokedAt: deps.clock.now().toISOString(), revokedBy: { subject: 'bob', kind: 'user' } };
    await deps.blobs.putCreateOnly(T, revocationBlobName('api-key', record.keyId), Buffer.from(JSON.stringify(revocation)), 'application/json', { retainUntil: null, legalHold: false }, {});
    await forged(deps, `api-key:${record.keyId}`, keyed);
    await restoreRevocations(deps.clock.now(), deps);
    const stored = (await deps.tenantRecords.get<ApiKeyRecord>(T, apiKeyRecordId(record.keyId), 'api-key'))!.value;
    expect(stored.revokedAt !== null).toBe(revokes);
  });
});

describe("a blob planted under a revocation's or a decision's name before the revocation or the decision", () => {
  // Broke (the revocation): the blob write answered 'different' and was taken as a concurrent revocation of the
  // archive's, unread: a storage role that knew a key's id planted a blob under its name first, the revocation was never
  // kept in storage, and nothing said so (the reconciler looks only at keys in use). A restore of Cosmos DB to before it
  // then had the key act again. Now the blob is read and, not the archive's, reported for the operator to remove (a
  // revoke sent again keeps it then). A decision's is met already by the look in storage before deciding.
  const plant = (deps: InMemoryDeps, name: string) => deps.blobs.putCreateOnly(TENANT, name, Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
  it.each([
    {
      kept: 'a revocation',
      phrase: REVOCATION_UNSEALED,
      run: async (deps: InMemoryDeps) => {
        const { record } = await createApiKey({ tenantId: TENANT, name: 'client', rightsSet: 'uploader', expiresAt: new Date(deps.clock.now().getTime() + 90 * DAY), createdBy: { subject: 'ann', kind: 'user', person: 'ann' }, ceiling: ['documents:read'], personPermissions: ['documents:read'], now: deps.clock.now() }, deps);
        const name = revocationBlobName('api-key', record.keyId);
        await plant(deps, name);
        await revokeApiKey(TENANT, record.keyId, { subject: 'bob', kind: 'user' }, deps.clock.now(), deps);
        return name;
      },
    },
    {
      kept: 'a decision',
      phrase: DECISION_UNSEALED,
      run: async (deps: InMemoryDeps) => {
        await signedIn(deps.tenantRecords, TENANT, ['alice', 'bob'], deps.clock.now());
        (deps.clock as FakeClock).advance(60_000);
        const proposed = await deps.sodPolicy.change(admin('alice'), { ...DEFAULT_SOD_POLICY, uploaderCannotApproveDisposal: false }, deps.clock.now());
        if (!('proposed' in proposed)) throw new Error('not proposed');
        const name = decisionBlobName('sod-policy-proposal', proposed.proposed.proposalId);
        await plant(deps, name);
        await deps.sodPolicy.withdraw(admin('bob'), proposed.proposed.proposalId, deps.clock.now());
        return name;
      },
    },
  ])('$kept: reported when it cannot be kept', async ({ phrase, run }) => {
    const deps = inMemoryDeps();
    const name = await run(deps);
    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === phrase).map((l) => l.fields?.blob)).toEqual([name]);
  });
});
