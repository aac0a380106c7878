import { readWrittenInstant } from '../kernel/instant';
import { createRemoteJWKSet, errors as joseErrors, jwtVerify, JWTPayload } from 'jose';
import type { Clock } from '../clock';
import { ArchiveError } from '../kernel/errors';
import { refusedCharacter } from '../kernel/text';
import { type ApiKeyDeps, invalidKey } from './api-keys/api-key';
import { checkSource, keyReader, minterRefusal, SECRET_CHECK_LIMITS, VERIFIED_KEY_MAX_AGE_MS, verifyApiKey, withKeyPerson } from './api-keys/verify-api-key';
import { RefusalLimiter } from './refusal-limiter';
import { type RevocationBlobs, RevocationChecks, type RevocationKeeping } from './revocation-blobs';
import type { Logger } from '../ports';
import type { TenantRights } from './rights';
import { findRightsAssignment } from './rights-sets/find-rights-assignment';
import { rightsSetPermissions } from './rights-sets/rights-set-permissions';
import { conflictIn, sodRefusal } from './sod';
import { findActiveSupportGrant } from './support-grants/find-active-support-grant';
import { VERIFIED_TOKEN_MAX_ENTRIES, VerifiedTokens } from './verified-tokens';
import { PersonSightings, type SightingBlobs } from './person-sightings';
import type { ApiKeyRecord } from './api-keys/api-key';
import { Permission, personOf, Principal, PrincipalKind, RIGHTS_SET_NAME, SUPPORT_SCOPES, TENANT_ID } from '../kernel/principal';

export interface JwtSettings {
  issuer: string;
  audience: string;
  jwksUri: string;
  algorithms: string[];
  tenantClaim: string;
  rightsClaim: string;
  /** Claim naming the kind: absent or `user` → user, `support` → provider staff. */
  kindClaim: string;
  /** `tenant`: rights only from the tenant's assignment; `tenant-then-claim`: else from the rights claim. */
  rightsSource: 'tenant' | 'tenant-then-claim';
  clockToleranceSeconds: number;
  /**
   * An API key whose person's rights come from the claim acts only while that person has signed
   * in within this many days (or the key, minted by their own sign-in, is that young).
   */
  keyPersonIdleDays: number;
}

/** Credential → principal: what the request pipeline needs of authentication (tests hand in their own). */
export interface Authenticates {
  /** `clientIp`: where the request comes from (API-key secret checks are limited per key and source). */
  authenticate(authorization: string | null, clientIp?: string | null): Promise<Principal>;
}

/** What the authenticator reads from the tenant to turn a verified credential into a principal. */
export interface AccessSources extends ApiKeyDeps {
  /** The tenant's segregation-of-duties policy. */
  rights: Pick<TenantRights, 'policy'>;
  clock: Clock;
  /** Where revocations are kept beside Cosmos DB, which a restore cannot take back (revocation-blobs.ts). */
  blobs: RevocationBlobs & SightingBlobs;
  /** The key revocations are sealed with, and the log that vouches for one from before the seal (revocation-blobs.ts). */
  audit: RevocationKeeping['audit'];
  log: Pick<Logger, 'warn' | 'error'>;
}

/**
 * Credential → principal. `Authorization: Bearer <OIDC JWT>` for users and provider staff,
 * `Authorization: ApiKey <arch_…>` for client apps. The tenant and subject come from the
 * verified credential only; nothing in the request body or query can choose them.
 */
type JwtIdentity = { tenantId: string; subject: string; kind: PrincipalKind; claimedRightsSet: string | null; expiresAt: string; /** The token's iat: which of two sign-ins' claims is the newer (person-sightings.ts). */ issuedAt: string | null };

export class Authenticator implements Authenticates {
  private readonly jwks: ReturnType<typeof createRemoteJWKSet>;
  /** Tokens verified here lately: no second signature check within min(exp, 60 s) (verified-tokens.ts). */
  private readonly verified = new VerifiedTokens<JwtIdentity>();
  /** API keys whose secret was checked here lately, with the record hash it matched (verify-api-key.ts). */
  private readonly verifiedKeys = new VerifiedTokens<string>({ maxAgeMs: VERIFIED_KEY_MAX_AGE_MS, maxEntries: VERIFIED_TOKEN_MAX_ENTRIES });
  /** Secret checks per API key and source address lately (verify-api-key.ts SECRET_CHECK_LIMITS). */
  private readonly secretChecks = new RefusalLimiter(SECRET_CHECK_LIMITS);
  /** The same, for ids that name no key: answered alike (verify-api-key.ts SecretGuesses.unknown). */
  private readonly unknownKeyChecks = new RefusalLimiter(SECRET_CHECK_LIMITS);
  /** Sign-ins of people whose rights come from the claim: all the archive knows of those rights between sign-ins. */
  private readonly sightings: PersonSightings;
  /** Keys and grants in force lately found without a revocation blob (revocation-blobs.ts). */
  private readonly revocations: RevocationChecks;

  constructor(
    private readonly settings: JwtSettings,
    private readonly sources: AccessSources,
  ) {
    this.sightings = new PersonSightings(sources.tenantRecords, sources);
    this.revocations = new RevocationChecks(sources);
    // jose caches the key set and refetches on an unknown `kid` (rotation), at most every 30 s.
    this.jwks = createRemoteJWKSet(new URL(settings.jwksUri), { cooldownDuration: 30_000, cacheMaxAge: 10 * 60_000 });
  }

  async authenticate(authorization: string | null, clientIp: string | null = null): Promise<Principal> {
    const header = authorization?.trim() ?? '';
    const apiKey = /^ApiKey (\S+)$/.exec(header);
    if (apiKey) return this.fromApiKey(apiKey[1]!, clientIp);
    const bearer = /^Bearer ([A-Za-z0-9_.-]+)$/.exec(header);
    if (!bearer) throw unauthenticated('Send a bearer token or an API key in the Authorization header.');
    const identity = await this.verifyJwt(bearer[1]!);
    const principal = identity.kind === 'support' ? await this.supportPrincipal(identity.tenantId, identity.subject) : await this.userPrincipal(identity.tenantId, identity.subject, identity.claimedRightsSet, identity.issuedAt);
    return { ...principal, credentialExpiresAt: identity.expiresAt };
  }

  private async verifyJwt(token: string): Promise<JwtIdentity> {
    // The wall clock, as jose's own expiry check uses (not the injected clock, which tests move).
    const cached = this.verified.get(token, Date.now());
    if (cached) return cached;
    let payload: JWTPayload;
    let typ: unknown;
    try {
      ({ payload, protectedHeader: { typ } } = await jwtVerify(token, this.jwks, {
        issuer: this.settings.issuer,
        audience: this.settings.audience,
        algorithms: this.settings.algorithms,
        clockTolerance: this.settings.clockToleranceSeconds,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (cause) {
      // The issuer's key set could not be fetched (network, timeout, not a key set): the token is not known to be
      // bad, the archive cannot check it. A 503 the client retries, seen by operators, not a 401 like stuffing.
      if (keysUnavailable(cause)) throw new ArchiveError('dependency_unavailable', { detail: "The identity provider's signing keys cannot be fetched to check the token; try again shortly.", cause, retryAfterSeconds: 30 });
      const detail = cause instanceof joseErrors.JWTExpired ? 'The token has expired.' : 'The token is not valid for this archive.';
      throw unauthenticated(detail, cause);
    }
    // The issuer signs other JWTs with the same keys (logout tokens, DPoP proofs, security events): only an access token
    // (no typ, the generic JWT, or RFC 9068's at+jwt) acts here (RFC 8725 3.11).
    if (typ !== undefined && !(typeof typ === 'string' && ACCESS_TOKEN_TYPES.has(typ.toLowerCase().replace(/^application\//, '')))) throw unauthenticated('The token is not an access token.');
    // The subject is who the audit log names for years and whom every rule about persons compares: one short plain name,
    // never a key's subject (`apikey:<id>`), which the audit log and rules would take for that key (jose checks only that it is there).
    const sub = payload.sub as unknown;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > MAX_SUBJECT_LENGTH || refusedCharacter(sub, 'line') !== null || sub.startsWith('apikey:')) throw unauthenticated('The token names no valid subject.');
    // jose checks iat's type only: a token issued later than now (past the tolerance) comes from a wrong clock or was minted to last.
    if (typeof payload.iat === 'number' && payload.iat > Date.now() / 1000 + this.settings.clockToleranceSeconds) throw unauthenticated('The token was issued in the future.');
    const tenantId = payload[this.settings.tenantClaim];
    if (typeof tenantId !== 'string' || !TENANT_ID.test(tenantId)) throw unauthenticated('The token names no valid tenant.');
    const kindClaim = payload[this.settings.kindClaim];
    if (kindClaim !== undefined && kindClaim !== 'user' && kindClaim !== 'support') throw unauthenticated('The token names an unknown principal kind.');
    const rights = payload[this.settings.rightsClaim];
    // Absent: no set, which grants nothing. Present but not one name (a list such as Entra's roles, an object, null, or
    // text no set is named: a lone surrogate made the store's read of the set throw, a 500): a set the archive cannot
    // read, which names no set ('') and so is refused (the claim said something else).
    const claimedRightsSet = rights === undefined ? null : typeof rights === 'string' && RIGHTS_SET_NAME.test(rights) ? rights : '';
    // jose checks only that exp and iat are numbers: one past what a Date holds (1e300, or 1e309 read as Infinity) made
    // toISOString throw, a 500 on every route; one past year 9999 gave '+010000-…', which compares as text before now.
    const expiresAt = instantOf(payload.exp!);
    const issuedAt = typeof payload.iat === 'number' ? instantOf(payload.iat) : null;
    if (expiresAt === null || (typeof payload.iat === 'number' && issuedAt === null)) throw unauthenticated('The token names a time (exp, iat) no instant has.');
    const identity: JwtIdentity = {
      tenantId,
      subject: sub,
      kind: kindClaim === 'support' ? 'support' : 'user',
      claimedRightsSet,
      expiresAt,
      issuedAt,
    };
    this.verified.set(token, identity, payload.exp!, Date.now());
    return identity;
  }

  private async userPrincipal(tenantId: string, subject: string, claimed: string | null, issuedAt: string | null): Promise<Principal> {
    // The tenant's SoD policy is read alongside the assignment: one round trip less per request.
    const policy = this.sources.rights.policy(tenantId);
    policy.catch(() => undefined); // awaited below when needed; never an unhandled rejection
    const assignment = await findRightsAssignment(tenantId, subject, this.sources);
    let rightsSet: string | null = assignment?.rightsSet ?? null;
    if (!rightsSet && this.settings.rightsSource === 'tenant-then-claim') {
      // Before the set is checked: a claim that now names an unknown set leaves the person's keys nothing; so does
      // a token without the claim (recorded as no set), else the person's keys kept the set of an earlier sign-in.
      await this.sightings.seen(tenantId, subject, claimed ?? '', this.sources.clock.now(), issuedAt);
      // A token without the claim grants nothing: an identity provider that stops sending it (a lost claims
      // mapping) must not make every person an archivist, with write rights.
      if (claimed !== null) rightsSet = claimed;
    }
    if (rightsSet === null) {
      // Known person, no rights here: authenticated, allowed nothing (every route answers 403).
      return { tenantId, subject, kind: 'user', rightsSet: '', permissions: new Set() };
    }
    const permissions = await rightsSetPermissions(tenantId, rightsSet, this.sources);
    if (!permissions) {
      if (assignment) return { tenantId, subject, kind: 'user', rightsSet, permissions: new Set() };
      // A verified token of this tenant: refused, and audited under its subject.
      return { tenantId, subject, kind: 'user', rightsSet, permissions: new Set(), denial: unauthenticated(rightsSet ? 'The token names an unknown rights set.' : "The token's rights claim is not one rights-set name.") };
    }
    return this.withConflictCheck({ tenantId, subject, kind: 'user', rightsSet, permissions: new Set(permissions), ...(assignment ? { personAssigned: true } : {}) }, policy);
  }

  private async fromApiKey(key: string, clientIp: string | null): Promise<Principal> {
    const now = this.sources.clock.now();
    const verified = await verifyApiKey(key, now, this.sources, this.verifiedKeys, { limiter: this.secretChecks, unknown: this.unknownKeyChecks, source: checkSource(clientIp) });
    const record = verified.key;
    // A key in force in Cosmos DB, or a key above it, revoked in storage: revoked before a restore of Cosmos DB gave the record back.
    const revokedInStorage = !verified.refusal && (await this.revocations.revokedInStorage(record, now));
    const refusal = verified.refusal ?? (revokedInStorage ? invalidKey('The API key has been revoked.') : await minterRefusal(record, now, this.sources, (read) => this.revocations.reader(read, now)));
    const person = await this.keyPerson(record);
    // A wrong secret, too many checks, revoked or expired (itself or a key that minted it): refused, and audited under the key (its tenant, its person), as a refusal is.
    if (refusal) return { tenantId: record.tenantId, subject: `apikey:${record.keyId}`, kind: 'client', keyId: record.keyId, rightsSet: record.rightsSet, permissions: new Set(), person, denial: refusal };
    const [held, personNow] = await Promise.all([rightsSetPermissions(record.tenantId, record.rightsSet, this.sources), this.personRightsNow(record, person)]);
    const current = personNow === 'idle' || 'ceiling' in personNow ? null : personNow;
    const idleAt = personNow === 'idle' ? undefined : personNow.idleAt;
    // Capped to the ceiling recorded at creation: widening the key's set later never lifts a key above its creator;
    // and to what the tenant lets the person do now: taking a right from a person takes it from their keys too.
    // A key from before ceilings has none (absent): it acts with its set, as it did. One whose ceiling is there but not a
    // list (null, '', text, an object: never written so, so restored, half written or edited by hand) caps to nothing:
    // read as `!record.ceiling`, null and '' gave the key its whole set, and text was searched for each permission's name.
    const ceiling = record.ceiling === undefined ? null : Array.isArray(record.ceiling) ? record.ceiling : [];
    const permissions = personNow === 'idle' ? [] : (held ?? []).filter((p) => (!ceiling || ceiling.includes(p)) && (!current || current.permissions.has(p)));
    const principal: Principal = {
      tenantId: record.tenantId,
      subject: `apikey:${record.keyId}`,
      kind: 'client',
      keyId: record.keyId,
      rightsSet: record.rightsSet,
      permissions: new Set(permissions),
      person,
      // Links it is handed read no longer than the key acts: its expiry, or the day its person's idle limit is reached
      // (rights from the claim): a link asked for minutes before that read on past it, by the key of someone who left.
      credentialExpiresAt: idleAt !== undefined && Date.parse(idleAt) < Date.parse(record.expiresAt) ? idleAt : record.expiresAt,
      // What the person held when the key was minted and what they hold now: a rule about what the person
      // holds (an approver may not lower safeguards) sees a right they were given after minting the key too.
      personPermissions: new Set([...permissions, ...(record.personPermissions ?? record.ceiling ?? []), ...(current?.permissions ?? [])]),
      personRightsSets: new Set([record.rightsSet, ...(current?.rightsSet ? [current.rightsSet] : [])]),
      ...(record.personAssigned === true ? { personAssigned: true } : {}),
    };
    if (personNow !== 'idle') return this.withConflictCheck(principal);
    return {
      ...principal,
      denial: new ArchiveError('forbidden', {
        detail: `This key acts for ${person}, whose rights come from the identity provider; they have not signed in to the archive for ${this.settings.keyPersonIdleDays} days, so the key acts no more until they do (or the tenant assigns their rights in the archive).`,
        extensions: { rule: 'key-person-idle', idleDays: this.settings.keyPersonIdleDays },
      }),
    };
  }

  /**
   * Whom a key acts for. Minted through a key before persons were kept, its maker names only that key (`apikey:<id>`): it
   * acts for the person who minted the first key of the chain (withKeyPerson). Taken for the key above, it was a person
   * of its own, a second person to its own maker once anyone assigned rights to that key's subject. A key above that
   * cannot be read leaves it unknown (''): the key is refused then (minterRefusal), audited under its maker.
   */
  private async keyPerson(record: ApiKeyRecord): Promise<string> {
    return personOf(await withKeyPerson(record.createdBy, keyReader(record.tenantId, this.sources))) || personOf(record.createdBy);
  }

  /**
   * What a key's person may do now. Where the tenant decides it: their rights assignment (nothing if
   * it was removed since the key was minted, or if only assignments count). Where the identity
   * provider's claim does (seen only in the person's token): the set claimed at their last sign-in,
   * if within `keyPersonIdleDays`; else, for a key their own sign-in minted that recently, null (the
   * ceiling recorded at creation applies); else 'idle': the person may have left, the key acts no more.
   * A key minted by a key does not count as a sign-in, so keys cannot keep each other alive.
   */
  private async personRightsNow(record: ApiKeyRecord, person: string): Promise<{ rightsSet: string; permissions: ReadonlySet<Permission>; idleAt?: string } | { ceiling: true; idleAt: string } | 'idle'> {
    const { tenantId } = record;
    const holding = async (rightsSet: string) => ({ rightsSet, permissions: new Set((await rightsSetPermissions(tenantId, rightsSet, this.sources)) ?? []) });
    const assignment = await findRightsAssignment(tenantId, person, this.sources);
    if (assignment) return holding(assignment.rightsSet);
    if (record.personAssigned === true || this.settings.rightsSource === 'tenant') return { rightsSet: '', permissions: new Set() };
    const idleMs = this.settings.keyPersonIdleDays * 86_400_000;
    const now = this.sources.clock.now().getTime();
    const seen = await this.sightings.lastForKey(tenantId, person, new Date(now));
    // One the archive did not seal as it is (edited in Cosmos DB: a wider set, a later sign-in; or from before the seal)
    // says nothing of her: the key rests until she signs in again, which writes it sealed. Not "never seen" (a key her
    // sign-in minted lately acts on its ceiling): the edit could be to take that key's sign-in away. Broke: a writer of
    // Cosmos DB widened the set her keys acted with, or moved her last sign-in forward so a leaver's keys never rested.
    if (seen?.unsealed) return 'idle';
    const sighting = seen?.record ?? null;
    // Over at the instant the idle days end, as every time limit is (README "Every time limit ends at the instant it names").
    // When the key rests unless she signs in again: the later of the idle days after her last sign-in and (a key her
    // sign-in minted) after its minting. A link the key is handed reads no longer (README "Every time limit").
    // Read as the archive keeps instants (readInstant): Date.parse read '99999' and '+275760-…' as years far ahead, and
    // a sign-in or minting stored so (restored, half written, edited by hand) kept the key acting for good, or, past
    // the last instant a Date holds, failed every request of the key. One that cannot be read is no sign-in, no minting.
    // Nor one later than now (a small tolerance allowed): '9999-01-01T…' reads as a readable instant, and kept the key acting for good.
    const mintedAt = record.createdBy.kind === 'user' ? readWrittenInstant(record.createdAt, now) : null;
    const seenAt = sighting ? readWrittenInstant(sighting.seenAt, now) : null;
    const mintedUntil = mintedAt !== null ? mintedAt + idleMs : -Infinity;
    const idleAt = new Date(Math.max(seenAt !== null ? seenAt + idleMs : -Infinity, mintedUntil));
    if (sighting && seenAt !== null && now - seenAt < idleMs) return { ...(await holding(sighting.rightsSet)), idleAt: idleAt.toISOString() };
    if (now < mintedUntil) return { ceiling: true, idleAt: idleAt.toISOString() };
    return 'idle';
  }

  /**
   * Provider staff see nothing of a tenant without its active grant, given by another person than
   * themselves. Without one the answer is the same whether or not the tenant exists; the attempt is
   * still audited under it.
   */
  private async supportPrincipal(tenantId: string, subject: string): Promise<Principal> {
    // A grant given through a key rests with it, judged for the person the key acts for (keyPerson). Broke: judged for
    // `person ?? subject`, a grant through a key minted through a key before persons were kept was judged for the key
    // above, and let staff in after the key rested at its person's idle limit once that key's subject was given rights.
    const { grant, selfGranted } = await findActiveSupportGrant(tenantId, subject, this.sources.clock.now(), this.sources, async (key) => (await this.personRightsNow(key, await this.keyPerson(key))) === 'idle', this.revocations);
    if (!grant) {
      return {
        tenantId,
        subject,
        kind: 'support',
        rightsSet: '',
        permissions: new Set(),
        // Only the grant's own creator learns that it exists: they gave it.
        denial: selfGranted ? sodRefusal('support-self-granted') : new ArchiveError('support_access_not_granted', { detail: 'Support access needs an active grant from the tenant.' }),
      };
    }
    // A grant's scope is one more way to hold permissions: the tenant's declared conflicting pairs hold for it too.
    return this.withConflictCheck({ tenantId, subject, kind: 'support', grantId: grant.grantId, rightsSet: `support:${grant.scope}`, permissions: new Set<Permission>(SUPPORT_SCOPES[grant.scope]) });
  }

  /** Whatever the source of the rights, a principal never acts holding a pair the tenant declared conflicting. */
  private async withConflictCheck(principal: Principal, policy = this.sources.rights.policy(principal.tenantId)): Promise<Principal> {
    const pair = conflictIn(principal.permissions, await policy);
    return pair ? { ...principal, denial: sodRefusal('conflicting-permissions', { conflict: pair }) } : principal;
  }
}

/** The instants a token's times may name: four-digit years, as every instant the archive keeps and compares as text. */
const FIRST_INSTANT_MS = Date.parse('0000-01-01T00:00:00.000Z');
const LAST_INSTANT_MS = Date.parse('9999-12-31T23:59:59.999Z');

/** A JWT NumericDate (seconds) as an ISO instant; null for one no four-digit-year instant is. */
function instantOf(seconds: number): string | null {
  const ms = seconds * 1000;
  return Number.isFinite(ms) && ms >= FIRST_INSTANT_MS && ms <= LAST_INSTANT_MS ? new Date(ms).toISOString() : null;
}

/** Longest token subject accepted (an e-mail address is at most 254; Entra's `sub` is 43). */
const MAX_SUBJECT_LENGTH = 256;

/** JWT `typ` header values (lower case, without `application/`) of an access token. */
const ACCESS_TOKEN_TYPES: ReadonlySet<string> = new Set(['jwt', 'at+jwt']);

/** jose's key-set fetch failed: a timeout, an answer that is not a key set, or the request itself (a non-jose error). */
function keysUnavailable(cause: unknown): boolean {
  if (cause instanceof joseErrors.JWKSTimeout || cause instanceof joseErrors.JWKSInvalid) return true;
  if (!(cause instanceof joseErrors.JOSEError)) return true;
  return cause.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/i.test(cause.message);
}

function unauthenticated(detail: string, cause?: unknown): ArchiveError {
  return new ArchiveError('unauthenticated', { detail, cause });
}
