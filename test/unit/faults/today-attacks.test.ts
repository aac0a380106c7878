/**
 * Today's code (revocations and decisions sealed in storage with an audit-log witness for older ones, kept settings'
 * removals, stored-shape safe reading), attacked by a storage role, by whoever can write Cosmos DB (not Key Vault or
 * blobs), and by a tenant's own users. What recent-attacks.test.ts and the files it names test is not repeated. Each
 * case marked "Broke" fails without its fix.
 */
import { Authenticator } from '../../../shared/auth/authenticate';
import { personSightingRecordId } from '../../../shared/auth/person-sightings';
import { ok, send, SETTINGS, TENANT, world } from '../../support/in-process';

const DAY = 86_400_000;
type W = ReturnType<typeof world>;

/** Dana's key, minted by her sign-in where rights come from the identity provider; `idle`: 31 days later, none since. */
async function danasKey(idle = true) {
  const w = world({ AUTH_RIGHTS_SOURCE: 'tenant-then-claim' });
  const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
  const authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant-then-claim' }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
  (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token, kind: 'user', claimedRightsSet: 'integration-admin', expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null });
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

  it('a sign-in a little ahead (another instance\'s clock) still counts', async () => {
    const { w, auth } = await danasKey(false);
    edit(w, isSighting, 'seenAt', new Date(w.clock.now().getTime() + 60_000).toISOString());
    w.clock.advance(29 * DAY);
    expect((await send(w, { method: 'GET', path: 'documents', as: auth })).status).toBe(200);
  });
});
