import { timingSafeEqual } from 'node:crypto';
import { ArchiveError } from '../../kernel/errors';
import { endReached } from '../../kernel/instant';
import { TENANT_ID } from '../../kernel/principal';
import { API_KEY_PATTERN, ApiKeyDeps, ApiKeyRecord, apiKeyRecordId, hashSecret, invalidKey, isKeyInUse, keyIdOf, madeThroughKey } from './api-key';
import { isRevoked } from '../ends-at';
import { sealedByArchive, type KeySealDeps } from './key-seal';
import { VerifiedTokens } from '../verified-tokens';
import { samePerson } from '../sod';
import type { RefusalLimiter } from '../refusal-limiter';

/** Refresh `lastUsedAt` at most this often, so a busy key is not one write per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/**
 * Secret checks (scrypt) of one key from one source, per instance: a client app checks its key
 * about once per VERIFIED_KEY_MAX_AGE_MS; ten a minute is guessing.
 */
export const SECRET_CHECK_LIMITS = { burst: 10, perMinute: 10 };

/** Where the check comes from (`checkSource`) and the per-instance limiter of checks per key and source. */
export interface SecretGuesses {
  limiter: RefusalLimiter;
  /**
   * Checks of ids that name no key, counted alike (no scrypt): without it a key's 429 after ten wrong secrets told anyone
   * who knows an id (audit entries, logs) whether it is a key of that tenant, which an unknown id never got. Its own
   * limiter, so a flood of made-up ids cannot push a real key's count out of `limiter`.
   */
  unknown?: RefusalLimiter;
  source: string;
}

/**
 * The source a key's secret checks are counted by: the client address, an IPv6 one by its /64
 * (one subscriber's whole block, which it can rotate through freely).
 */
export function checkSource(clientIp: string | null): string {
  if (!clientIp) return 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(clientIp);
  if (mapped) return mapped[1]!;
  if (!clientIp.includes(':')) return clientIp;
  const [head = '', tail] = clientIp.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** How long a key this instance has verified skips the scrypt check on its next requests, at most. */
export const VERIFIED_KEY_MAX_AGE_MS = 10 * 60_000;

/**
 * The key record for a presented key, or 401. Revocation and expiry are read from Cosmos on
 * every request, so they take effect at once. The secret is checked with scrypt (~25 ms of a
 * libuv thread), and only against a key that exists: key ids are 96 random bits, so answering an
 * unknown one at once tells a caller nothing, and garbage keys cost no scrypt (they had kept the
 * thread pool, which also serves spooling and zlib, busy at ~40 requests a second). A key this
 * instance verified lately (`verified`: the presented key's SHA-256 and the record's hash) is not
 * hashed again while the record keeps that hash.
 * A key that exists comes back with its `refusal` when it may not act: a wrong secret or a revoked or
 * expired key (401), or too many checks of this key from one source (429, `guesses`). The key names
 * its tenant and person, so the attempt is audited there (rate-limited like any refusal): a tenant
 * sees someone trying its key's secrets. Checks are limited per key and source address, so guessing
 * cannot keep the thread pool busy, and a client app elsewhere keeps its key working meanwhile.
 */
export async function verifyApiKey(presented: string, now: Date, deps: ApiKeyDeps & KeySealDeps, verified?: VerifiedTokens<string>, guesses?: SecretGuesses): Promise<{ key: ApiKeyRecord; refusal: ArchiveError | null }> {
  const m = API_KEY_PATTERN.exec(presented);
  const [, tenantId, keyId, secret] = m ?? [];
  if (tenantId === undefined || keyId === undefined || secret === undefined || !TENANT_ID.test(tenantId)) throw invalidKey();
  const found = await deps.tenantRecords.get<ApiKeyRecord>(tenantId, apiKeyRecordId(keyId), 'api-key');
  if (!found) {
    const turn = guesses?.unknown?.take(tenantId, `${keyId}@${guesses.source}`, now);
    throw turn && !turn.allowed ? tooManyChecks(turn.retryAfterSeconds) : invalidKey();
  }
  const key = found.value;
  // A record the archive did not seal (key-seal.ts: written or edited by whoever can write Cosmos DB, with the hash of a
  // key whose secret they hold) is answered as an unknown key is, after the same checks as any key (no oracle), and no
  // refusal is audited under the person or tenant it names. Broke: such a record acted with whatever it said.
  const archives = (await sealedByArchive(key, deps, { tenantId, id: apiKeyRecordId(keyId) })) && key.keyId === keyId;
  const refused = (refusal: ArchiveError) => {
    if (!archives) throw refusal.code === 'too_many_refusals' ? refusal : invalidKey();
    return { key, refusal };
  };
  if (verified?.get(presented, now.getTime()) !== key.hash.value) {
    const turn = guesses?.limiter.take(tenantId, `${keyId}@${guesses.source}`, now);
    if (turn && !turn.allowed) return refused(tooManyChecks(turn.retryAfterSeconds));
    const { hash: computed } = await hashSecret(deps, secret, Buffer.from(key.hash.salt, 'base64'), key.hash, { name: key.hash.pepper ?? deps.config.API_KEY_PEPPER_SECRET_NAME, version: key.hash.pepperVersion ?? null });
    const stored = Buffer.from(key.hash.value, 'base64');
    // Answered as an unknown key is: the key names its tenant and id in clear (audit subjects, logs), and a detail saying
    // the secret did not match told anyone without a credential that this id is a key of that tenant. The tenant's audit
    // entry still records the attempt on its key.
    if (stored.length !== computed.length || !timingSafeEqual(stored, computed)) return refused(invalidKey());
    if (archives) verified?.set(presented, key.hash.value, Date.parse(key.expiresAt) / 1000, now.getTime());
  }
  if (!archives) throw invalidKey();
  if (isRevoked(key)) return { key, refusal: invalidKey('The API key has been revoked.') };
  // A key without a readable expiry (every key was minted with one: a record restored, half written or edited by hand)
  // is refused as expired: Date.parse gave NaN, and NaN <= now is false, so such a key acted for ever.
  if (endReached(key.expiresAt, now)) return { key, refusal: invalidKey('The API key has expired.') };
  if (!key.lastUsedAt || now.getTime() - Date.parse(key.lastUsedAt) >= LAST_USED_RESOLUTION_MS) {
    // IfMatch: a concurrent revoke wins; losing a last-used stamp is harmless.
    await deps.tenantRecords.replace({ ...key, lastUsedAt: now.toISOString() }, found.etag);
  }
  return { key, refusal: null };
}

function tooManyChecks(retryAfterSeconds: number): ArchiveError {
  return new ArchiveError('too_many_refusals', { detail: 'Too many checks of this API key from this address; wait and retry.', retryAfterSeconds });
}

/** How many keys a key minted by a key may stand on (a chain is created oldest first, so it has no loop; this bounds the reads). */
const MAX_MINTER_DEPTH = 8;

/** What a record made through a key (a support grant, a rights assignment) stands on at most: that key, and the keys it may stand on. */
export const KEYS_UNDER_A_RECORD = MAX_MINTER_DEPTH + 1;

/**
 * How a walk reads a key by id, for one request: the walks of many things made through the same keys (a page of
 * support grants) read each key once, not once per thing (200 grants through a key eight deep were 1,600 point
 * reads). Lives as long as the request: a revocation still applies at the next one.
 */
export type KeyReader = (keyId: string) => Promise<ApiKeyRecord | undefined>;

/**
 * Point reads of the tenant's keys, each key read once. One the archive did not seal (key-seal.ts) reads as no key: what
 * stands on it acts no more, and whom it acts for is unknown (withKeyPerson), which every rule about persons refuses.
 */
export function keyReader(tenantId: string, deps: KeySealDeps): KeyReader {
  const read = new Map<string, Promise<ApiKeyRecord | undefined>>();
  return (keyId) => {
    let found = read.get(keyId);
    if (!found) {
      found = deps.tenantRecords.get<ApiKeyRecord>(tenantId, apiKeyRecordId(keyId), 'api-key').then(async (k) => (k && (await sealedByArchive(k.value, deps, { tenantId, id: apiKeyRecordId(keyId) })) && k.value.keyId === keyId ? k.value : undefined));
      read.set(keyId, found);
    }
    return found;
  };
}

/**
 * The tenant's keys in use at `now` (one query, at most ARCHIVE_MAX_API_KEYS) as the walks' reads: a key not among them
 * no longer acts (revoked, expired or gone), so no walk reads one. For a list with no bound of its own on the keys its
 * items were made through (GET /rights-assignments: up to ARCHIVE_MAX_RIGHTS_ASSIGNMENTS, each possibly through a key of
 * its own since revoked, were as many point reads a request). A key the code from before the endsAt migration wrote
 * after its mark is missed by the query (ends-at.ts) for a reconciler period at most: such a list may mark what stands
 * on it meanwhile.
 */
export async function keysInUseReader(tenantId: string, now: Date, deps: KeySealDeps): Promise<KeyReader> {
  const inUse = new Map((await deps.tenantRecords.apiKeysInUse<ApiKeyRecord>(tenantId, now.toISOString())).map((key) => [key.keyId, key] as const));
  return async (keyId) => {
    const key = inUse.get(keyId);
    return key && (await sealedByArchive(key, deps, { tenantId, id: apiKeyRecordId(keyId) })) ? key : undefined;
  };
}

/**
 * What something made through a key (a key it minted, a support grant it gave) stands on: walking up from its
 * maker `by`, the first key that no longer acts (revoked, expired, unreadable, or beyond `maxKeys`: a key stands on at
 * most MAX_MINTER_DEPTH, a grant or an assignment on KEYS_UNDER_A_RECORD, the deepest key that acts included); `{ keyId: null }`
 * when its id cannot be read; null when every key above acts, or `by` is a person. One point read per key
 * above, never cached beyond the request (`read`, shared by the walks of one request): a revocation applies at once.
 */
export async function endedKeyAbove(by: { subject: string; kind: string }, now: Date, read: KeyReader, maxKeys = MAX_MINTER_DEPTH): Promise<{ keyId: string | null } | null> {
  for (let depth = 0; madeThroughKey(by); depth++) {
    const keyId = keyIdOf(by);
    const key = keyId && depth < maxKeys ? await read(keyId) : undefined;
    if (!key || !isKeyInUse(key, now)) return { keyId: keyId ?? null };
    by = key.createdBy;
  }
  return null;
}

/**
 * A stored person that is a name: one that is there but is not (null, '', a number) was restored, half written or edited
 * by hand. Nor is a key's subject (`apikey:<id>`, which no person's token may carry): a key minted through a key before
 * persons were kept acted for the key above until withKeyPerson, and what it made meanwhile stores that key as its
 * person. Taken for a name, the key's own person was a second person to it (approved its upload's disposal, released its hold).
 */
export const namesPerson = (p: unknown): p is string => typeof p === 'string' && p !== '' && !p.startsWith('apikey:');

/**
 * A stored actor (a document's uploader, a hold's placer) with its accountable person: as recorded, or, on a record from
 * before persons were kept that was made through an API key (subject `apikey:<id>`, no person, or one that is not a name), the person who minted
 * that key (up the keys it was minted through), read from the keys' records. Read as its subject, such a record stood
 * for the key: its person, signed in, was a second person to their own key's upload and hold. A key that cannot be read
 * leaves the person unknown (''), whom `samePerson` takes for anyone. Unchanged, and nothing read, for any other actor.
 */
export async function withKeyPerson<T extends { subject: string; kind?: string; person?: string }>(actor: T, read: KeyReader): Promise<T> {
  let by: { subject: string; kind?: string; person?: string } = actor;
  // Made through a key, a person that is not a name (null, '': restored, half written, edited by hand) is read from the
  // key too: read as `person ?? subject`, null made a key minted through a key act for the key above, as a person.
  for (let depth = 0; !namesPerson(by.person) && madeThroughKey({ subject: by.subject, kind: by.kind ?? '' }); depth++) {
    const keyId = keyIdOf({ subject: by.subject, kind: by.kind ?? '' });
    const key = keyId && depth < KEYS_UNDER_A_RECORD ? await read(keyId) : undefined;
    if (!key) return { ...actor, person: '' };
    by = key.createdBy;
  }
  // An actor not made through a key stays as stored (a person there but not a name: samePerson reads it as anyone); a key
  // a person minted names them by its maker's person, or, that not a name, by its maker's subject.
  return by === actor ? actor : { ...actor, person: namesPerson(by.person) ? by.person : by.subject };
}

/**
 * Whether two actors (a principal, a stored maker: an uploader, a placer, a proposer, an approver) are one accountable
 * person, both read up the chain of keys the same way (withKeyPerson): what every rule comparing two persons asks.
 * Broke (rounds 9, 10): a rule read one side up the chain and took the other as stored, so a record made through a key
 * from before persons were kept (`apikey:<id>`, no person) was a second person to its own maker.
 */
export async function samePersonUpTheKeys(a: { subject: string; kind?: string; person?: string }, b: { subject: string; kind?: string; person?: string }, read: KeyReader): Promise<boolean> {
  const [x, y] = await Promise.all([withKeyPerson(a, read), withKeyPerson(b, read)]);
  return samePerson(x, y);
}

/**
 * `expiresAt`, or the expiry of the key `by` acted through when that is earlier: what is made through a key (a key it
 * mints, a support grant it gives) acts no longer than that key (endedKeyAbove), and its expiry says so. That key's
 * own expiry is no later than the keys above it.
 */
export async function expiryWithinMakingKey(by: { subject: string; kind: string }, expiresAt: Date, read: KeyReader): Promise<Date> {
  const keyId = keyIdOf(by);
  const key = keyId ? await read(keyId) : undefined;
  return key && Date.parse(key.expiresAt) < expiresAt.getTime() ? new Date(key.expiresAt) : expiresAt;
}

/**
 * A listed page, each item made through a key that no longer acts marked with that key's id (`endedWithKey`; 'unknown'
 * when unreadable): a key minted or a grant given through it cannot act or gives no access, though the store holds it in
 * force until it is revoked or expires; an assignment made through it stays, for review. `madeBy`: who made the item,
 * or null where there is nothing to mark (an item that has ended itself). The walks of the page share their reads
 * (`read`: keyReader, or keysInUseReader for a list without a bound of its own).
 */
export async function markEndedWithKey<T extends object>(items: readonly T[], madeBy: (item: T) => { subject: string; kind: string } | null, now: Date, read: KeyReader, maxKeys?: number): Promise<(T & { endedWithKey?: string })[]> {
  return Promise.all(
    items.map(async (item) => {
      const maker = madeBy(item);
      if (!maker || !keyIdOf(maker)) return item;
      const ended = await endedKeyAbove(maker, now, read, maxKeys);
      return ended ? { ...item, endedWithKey: ended.keyId ?? 'unknown' } : item;
    }),
  );
}

/**
 * A key minted by a key acts only while every key above it does (unrevoked, unexpired): revoking a leaked
 * key also stops whatever keys were minted through it, and none outlives the key that minted it.
 * Null when the chain stands. `reads`: how the walk's reads are wrapped (the authenticator's looks up revocations in
 * storage too, revocation-blobs.ts).
 */
export async function minterRefusal(key: ApiKeyRecord, now: Date, deps: KeySealDeps, reads: (read: KeyReader) => KeyReader = (read) => read): Promise<ArchiveError | null> {
  const ended = await endedKeyAbove(key.createdBy, now, reads(keyReader(key.tenantId, deps)));
  if (!ended) return null;
  return invalidKey(`The API key that minted this key${ended.keyId ? ` (${ended.keyId})` : ''} has been revoked or has expired, or cannot be found.`);
}
