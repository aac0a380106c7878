/**
 * When a person's rights end, what they started stops acting for them (generated sweep).
 *
 * Rows (ENDINGS): every way one person's power ends. alice, a clerk (rights set `clerk`: reads, downloads, uploads,
 * exports, places holds, mints keys, gives support grants, manages rights and the retention policy, reads the audit
 * trail), loses it: her assignment removed or replaced by a narrower one, the set she holds narrowed, her token's claim
 * narrowed (rights from the claim), her leaving the identity provider (her keys act until the idle limit), one of her
 * keys revoked, every key revoked, a key's own end reached, her token's exp reached (the set she holds deleted is no row:
 * a set assigned or held by a key in use is not deleted; with rights from the claim her token then names an unknown set,
 * 401: its own describe at the bottom); provider staff's support grant revoked or expired. Rows that
 * are about rights run with rights from the tenant and from the tenant then the claim.
 * Columns (STARTED): everything she started before the end that could act after it: a download link of a document and of
 * an export; an export still running, and one completed; a retention-policy lowering and an SoD-policy weakening she
 * proposed; a hold she placed; an API key she minted, and a key minted by her key; a rights set she defined that someone
 * else holds; a support grant she gave; an Idempotency-Key retry of her upload, hold, export and grant; a page token of a
 * list she read; an If-Match etag she read.
 * Checks, per cell: the use after the end, by her ended credential (and, where she handed something out, by whoever holds
 * it): refused (401/403 problem+json, the refusal audited naming alice as the accountable person, nothing stored), or
 * allowed by design (with the README sentence or the reason), its audit entry naming the accountable person; a link
 * handed out reads no longer than ARCHIVE_DOWNLOAD_LINK_SECONDS (900 s), nor past the credential that asked for it, nor
 * past an export's expiry; a link is never handed to support (the grant's end could not stop it).
 * The end racing the use (the race sweep's scheduler, sweepPairs) for the ends that are a stored change, at the bottom.
 * Decided by design (each cell says why): a link handed out reads on until its end even if the key is revoked (README);
 * an export she started finishes and stays the tenant's (anyone with exports:create and documents:download reads it);
 * a hold she placed stays; a rights set she defined, and a support grant she gave, are the tenant's and stay until
 * someone with rights revokes them (a grant ends by itself within 7 days); a policy proposal she made can still be
 * approved by a second person where only a credential of hers ended (her rights stand).
 * Found by it: a link handed to a key minutes before its person's idle limit read on past that limit (fixed: the key's
 * credential end is the earlier of its expiry and that limit, shared/auth/authenticate.ts); a support grant given
 * through a key kept letting staff in after the key rested at its person's idle limit (fixed: such a grant is passed
 * over, shared/auth/support-grants/find-active-support-grant.ts); a policy proposal she made could be approved by a
 * second person after her rights to make it were taken (fixed: 409 proposer_rights_ended, shared/auth/proposals.ts).
 * Requests run in-process through the real pipeline, route table and authenticator over inMemoryDeps
 * (test/support/in-process.ts).
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { Permission } from '../../../shared/kernel/principal';
import { ArchiveError } from '../../../shared/kernel/errors';
import { isHeld } from '../../../shared/kernel/retention-rules';
import type { DocumentQuery } from '../../../shared/ports';
import { Authenticator } from '../../../shared/auth/authenticate';
import { type Answer, assign, type Call, exportCompleted, later, ok, type Pair, send, settle, SETTINGS, START, storedChanges, sweepPairs, TENANT, upload, world, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

type Mode = 'tenant' | 'tenant-then-claim';

const CLERK: Permission[] = ['documents:read', 'documents:download', 'documents:write', 'documents:correct', 'exports:create', 'holds:place', 'keys:manage', 'support:grant', 'rights:manage', 'retention:manage', 'audit:read'];
const SETS: Record<string, Permission[]> = { clerk: CLERK, narrow: ['audit:read'] };
const LINK_SECONDS = 900;
const DAY = 86400_000;

function seedSet(w: World, name: string): void {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(name)}`, {
    value: { id: rightsSetRecordId(name), tenantId: TENANT, type: 'rights-set', name, permissions: SETS[name]!, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 2000 + Object.keys(SETS).indexOf(name),
  });
}
function seedAssignment(w: World, subject: string, rightsSet: string): void {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(subject)}`, {
    value: { id: rightsAssignmentRecordId(subject), tenantId: TENANT, type: 'rights-assignment', subject, rightsSet, assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 3000 + subject.length,
  });
}

/** Everything a cell needs of the scene: alice's credentials and what was set up for her. */
interface Scene {
  mode: Mode;
  /** alice's bearer token (a subject, or `claim.<set>.alice`). */
  token: string;
  /** A key alice's token minted before anything else, on `clerk`: its Authorization value, id and end. */
  key: string;
  keyId: string;
  keyEndsAt: string;
  /** A second key of hers (the every-key row revokes both). */
  key2: string;
  key2Id: string;
  /** A document uploaded by `up` (an archivist), for links and holds. */
  doc: string;
  /** Provider staff acting under a grant carol gave (support rows): its id. */
  grantId: string;
  grantEndsAt: string;
  /** Her sign-in before anything else (the claim rows: the sighting her keys' idle days count from). */
  signedInAt: string;
  /** When alice's token ends (its exp). */
  tokenEndsAt: string;
}

interface MintedKey {
  auth: string;
  id: string;
  endsAt: string;
}
async function mintKey(w: World, as: string, rightsSet: string, lifetimeMs = 365 * DAY): Promise<MintedKey> {
  const expiresAt = new Date(w.clock.now().getTime() + lifetimeMs).toISOString();
  const r = await ok(w, { method: 'POST', path: 'api-keys', body: { name: `k-${w.seq}`, rightsSet, expiresAt }, as }, 201);
  return { auth: `ApiKey ${r.json.key as string}`, id: r.json.id as string, endsAt: r.json.expiresAt as string };
}

/**
 * One world: the in-process archive with rights from `mode`. A bearer token `support.<x>` is provider staff <x>;
 * `claim.<set>.<x>` is user <x> whose token claims <set> (as person-rules.test.ts gives tokens claims).
 */
function newWorld(mode: Mode): World {
  const w = world({ AUTH_RIGHTS_SOURCE: mode });
  const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
  w.deps.authenticator = new Authenticator({ ...SETTINGS, rightsSource: mode }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
  for (const name of Object.keys(SETS)) seedSet(w, name);
  (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => {
    // `until.<ms>.<x>`: a token of <x> whose exp is <ms>; refused from then on, as verification (jose) refuses it.
    const until = /^until\.(\d+)\./.exec(token)?.[1];
    if (until && w.clock.now().getTime() >= Number(until)) throw new ArchiveError('unauthenticated', { detail: 'The token has expired.' });
    return {
      tenantId: TENANT,
      subject: token.replace(/^support\./, '').replace(/^claim\.[a-z0-9-]+\./, '').replace(/^until\.\d+\./, ''),
      kind: token.startsWith('support.') ? 'support' : 'user',
      claimedRightsSet: /^claim\.([a-z0-9-]+)\./.exec(token)?.[1] ?? null,
      expiresAt: until ? new Date(Number(until)).toISOString() : '9999-01-01T00:00:00.000Z',
      issuedAt: null,
    };
  };
  return w;
}

const meta = (w: World) => ({ fiscalYear: w.clock.now().getUTCFullYear() - 1, retentionClass: 'immovable-property-10y', counterparty: 'ACME GmbH' });
const grantCall = (w: World, as: string, scope = 'read-only', days = 5): Call => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope, expiresAt: new Date(w.clock.now().getTime() + days * DAY).toISOString() }, as });

// ---- Rows: the ways a person's power ends ----

type Refusal = { status: 401 | 403 | 409; code: string; rule?: string };
const FORBIDDEN: Refusal = { status: 403, code: 'forbidden' };
const UNAUTHENTICATED: Refusal = { status: 401, code: 'unauthenticated' };
/** Provider staff without a grant in force (also a grant that stood on a key that ended). */
const NOT_GRANTED: Refusal = { status: 403, code: 'support_access_not_granted' };
const IDLE: Refusal = { status: 403, code: 'forbidden', rule: 'key-person-idle' };
/** A proposal whose proposer no longer holds the right it needs: the second person's approval is refused. */
const PROPOSER_ENDED: Refusal = { status: 409, code: 'proposer_rights_ended' };
/**
 * A policy proposal she made, approved by a second person after her end: refused where the end took from her the right
 * the change needs (four eyes need both persons authorised when it applies); approved where only a credential of hers
 * ended (her rights stand: a revoked or expired key, a token's exp, a key resting at the idle limit).
 */
const proposalAfter = (row: Ending): Expect =>
  row.refusal === FORBIDDEN
    ? { refused: PROPOSER_ENDED }
    : { allowed: 'by design: only a credential of hers ended, not her rights as the tenant records them (assignment, or the set her last sign-in claimed): the proposal is hers still, and the second person decides it' };

interface Ending {
  name: string;
  modes: readonly Mode[];
  /** Who loses power: alice (her token or her key is the credential the cells use after the end), or provider staff. */
  who: 'token' | 'key' | 'support';
  /** How alice's token reads (rights from the claim: no assignment, the token claims clerk). */
  claim?: true;
  /** alice's key's lifetime (the row whose end is the key's own). */
  keyLifetimeMs?: number;
  /** Before what she starts: the clock moved to just before a time limit. */
  approach?: (w: World, s: Scene) => Promise<void>;
  /** The end: a stored change (raced at the bottom), or time passing. */
  end: (w: World, s: Scene) => Promise<void>;
  /** A stored change: the request that ends it (the race pairs). */
  endCall?: (s: Scene) => Call;
  /** How the ended credential is refused. */
  refusal: Refusal;
  /** alice's token's lifetime (the row whose end is the token's own exp). */
  tokenLifetimeMs?: number;
  /** The refusal is not audited under the tenant: why. */
  unaudited?: string;
  /** alice's token after the end (the claim rows: her next sign-in's token). */
  tokenAfter?: string;
}

const ENDINGS: Ending[] = [
  {
    name: 'assignment removed',
    modes: ['tenant', 'tenant-then-claim'],
    who: 'token',
    endCall: () => ({ method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }),
    end: async (w, s) => void (await ok(w, ENDINGS[0]!.endCall!(s), 204)),
    refusal: FORBIDDEN,
  },
  {
    name: 'assignment replaced by a narrower set',
    modes: ['tenant', 'tenant-then-claim'],
    who: 'token',
    endCall: () => assign('alice', 'narrow', 'carol'),
    end: async (w) => void (await ok(w, assign('alice', 'narrow', 'carol'))),
    refusal: FORBIDDEN,
  },
  {
    name: 'the set she holds narrowed',
    modes: ['tenant', 'tenant-then-claim'],
    who: 'token',
    endCall: () => ({ method: 'PUT', path: 'rights-sets/clerk', body: { permissions: SETS.narrow }, as: 'carol' }),
    end: async (w) => void (await ok(w, { method: 'PUT', path: 'rights-sets/clerk', body: { permissions: SETS.narrow }, as: 'carol' })),
    refusal: FORBIDDEN,
  },
  {
    name: 'her token\'s claim narrowed (she signs in again)',
    modes: ['tenant-then-claim'],
    who: 'token',
    claim: true,
    end: async (w) => void (await ok(w, { method: 'GET', path: 'audit', as: 'claim.narrow.alice' })),
    tokenAfter: 'claim.narrow.alice',
    refusal: FORBIDDEN,
  },
  {
    name: 'her key after her claim narrowed (she signs in again)',
    modes: ['tenant-then-claim'],
    who: 'key',
    claim: true,
    end: async (w) => void (await ok(w, { method: 'GET', path: 'audit', as: 'claim.narrow.alice' })),
    refusal: FORBIDDEN,
  },
  {
    name: 'her key after her assignment removed',
    modes: ['tenant', 'tenant-then-claim'],
    who: 'key',
    endCall: () => ({ method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }),
    end: async (w) => void (await ok(w, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }, 204)),
    refusal: FORBIDDEN,
  },
  {
    name: 'her key once she left the identity provider (idle limit)',
    modes: ['tenant-then-claim'],
    who: 'key',
    claim: true,
    // She signs in no more: ARCHIVE_KEY_PERSON_IDLE_DAYS (30) after her last sign-in her keys act no more. What she
    // starts, she starts in the last minutes before (a link then reads no longer than the limit, README "Every time limit").
    approach: async (w, s) => void w.clock.set(new Date(Date.parse(s.signedInAt) + 30 * DAY - 10 * 60_000)),
    end: async (w, s) => void w.clock.set(new Date(Date.parse(s.signedInAt) + 30 * DAY)),
    refusal: IDLE,
  },
  {
    name: 'one of her keys revoked',
    modes: ['tenant'],
    who: 'key',
    endCall: (s) => ({ method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' }),
    end: async (w, s) => void (await ok(w, { method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' })),
    refusal: UNAUTHENTICATED,
  },
  {
    name: 'all of her keys revoked',
    modes: ['tenant'],
    who: 'key',
    end: async (w, s) => {
      await ok(w, { method: 'DELETE', path: `api-keys/${s.key2Id}`, as: 'carol' });
      await ok(w, { method: 'DELETE', path: `api-keys/${s.keyId}`, as: 'carol' });
    },
    refusal: UNAUTHENTICATED,
  },
  {
    name: 'her key\'s own end (expiresAt) reached',
    modes: ['tenant'],
    who: 'key',
    // Short enough that a link asked for before it is bounded by it, not by ARCHIVE_DOWNLOAD_LINK_SECONDS.
    keyLifetimeMs: 20 * 60_000,
    end: async (w, s) => void w.clock.set(new Date(s.keyEndsAt)),
    refusal: UNAUTHENTICATED,
  },
  {
    name: 'her token\'s own end (exp) reached',
    modes: ['tenant'],
    who: 'token',
    tokenLifetimeMs: 20 * 60_000,
    end: async (w, s) => void w.clock.set(new Date(s.tokenEndsAt)),
    refusal: UNAUTHENTICATED,
    unaudited: 'a token past its exp is refused by verification, before any claim of it (its tenant, its subject) is trusted',
  },
  {
    name: 'support grant revoked',
    modes: ['tenant'],
    who: 'support',
    endCall: (s) => ({ method: 'DELETE', path: `support-grants/${s.grantId}`, as: 'carol' }),
    end: async (w, s) => void (await ok(w, { method: 'DELETE', path: `support-grants/${s.grantId}`, as: 'carol' })),
    refusal: NOT_GRANTED,
  },
  {
    name: 'support grant expired',
    modes: ['tenant'],
    who: 'support',
    end: async (w, s) => void w.clock.set(new Date(s.grantEndsAt)),
    refusal: NOT_GRANTED,
  },
];

// ---- Columns: what she started before the end ----

type Expect = { refused: Refusal } | { allowed: string } | { link: string } | { na: string };

interface Started {
  name: string;
  /** Before the end, with alice's credential `as` (her token or her key; for support rows, the staff's token). */
  before: (w: World, s: Scene, as: string) => Promise<Record<string, string>>;
  /** The use after the end: by her ended credential (`as`), or by whoever holds what she handed out (`by: 'holder'`). */
  after: (w: World, s: Scene, ctx: Record<string, string>, as: string) => Promise<Call> | Call;
  by?: 'holder';
  /** What the cell expects unless the row is support (see expected()). */
  expect?: (row: Ending) => Expect;
  /** Who acts in `after` when it is not her: a refusal's audit entry names them. */
  accountable?: string;
  /** What support may start at all (the others: not applicable). */
  support?: true;
}

const idem = (call: Call, key: string): Call => ({ ...call, headers: { ...call.headers, 'Idempotency-Key': key } });

async function linkOf(w: World, as: string, path: string): Promise<Answer> {
  const r = await send(w, { method: 'GET', path: `${path}?delivery=redirect`, as });
  await settle(w);
  return r;
}

const STARTED: Started[] = [
  {
    name: 'a download link of a document handed out',
    support: true,
    before: async (w, s, as) => {
      const r = await linkOf(w, as, `documents/${s.doc}/original`);
      return { status: String(r.status), code: String(r.json?.code ?? ''), rule: String(r.json?.rule ?? ''), linkExpires: r.headers['Link-Expires'] ?? '', at: w.clock.now().toISOString(), requestId: r.requestId };
    },
    after: (_w, s, _c, as) => ({ method: 'GET', path: `documents/${s.doc}/original?delivery=redirect`, as }),
    expect: () => ({ link: 'README: "valid ARCHIVE_DOWNLOAD_LINK_SECONDS (900 s default …, never past the expiry of the API key or token that asked for it; a bearer URL, it reads on until then even if that key is revoked)"' }),
  },
  {
    name: 'a download link of an export ZIP handed out',
    before: async (w, _s, as) => {
      const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as }, 202)).json;
      const done = await exportCompleted(w, job.id as string);
      const r = await linkOf(w, as, `exports/${job.id as string}/download`);
      return { id: job.id as string, status: String(r.status), code: String(r.json?.code ?? ''), linkExpires: r.headers['Link-Expires'] ?? '', at: w.clock.now().toISOString(), exportExpires: done.expiresAt ?? '', requestId: r.requestId };
    },
    after: (_w, _s, c, as) => ({ method: 'GET', path: `exports/${c.id}/download?delivery=redirect`, as }),
    expect: () => ({ link: 'README: a link reads until its end, never past the export\'s expiry nor the credential\'s; the ZIP itself needs exports:create + documents:download now' }),
  },
  {
    name: 'an export still running at the end: she downloads it',
    before: async (w, _s, as) => {
      // Answered 202; its worker runs after the answer (settled after the end).
      const r = await send(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as });
      if (r.status !== 202) throw new Error(`export ${r.status} ${JSON.stringify(r.json)}`);
      return { id: r.json.id as string };
    },
    after: async (w, _s, c, as) => {
      await exportCompleted(w, c.id!);
      return { method: 'GET', path: `exports/${c.id}/download`, as };
    },
  },
  {
    name: 'an export still running at the end: another person with the rights downloads it',
    by: 'holder',
    before: async (w, _s, as) => {
      const r = await send(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as });
      if (r.status !== 202) throw new Error(`export ${r.status} ${JSON.stringify(r.json)}`);
      return { id: r.json.id as string };
    },
    after: async (w, _s, c) => {
      await exportCompleted(w, c.id!);
      return { method: 'GET', path: `exports/${c.id}/download`, as: 'bob' };
    },
    expect: () => ({ allowed: 'by design: an export is the tenant\'s bulk copy, read by anyone holding exports:create and documents:download now (README "Exports are bulk copies"); it copies what she could read when she asked, its job names her' }),
  },
  {
    name: 'a completed export: she downloads it',
    before: async (w, _s, as) => {
      const job = (await ok(w, { method: 'POST', path: 'exports', body: {}, as }, 202)).json;
      await exportCompleted(w, job.id as string);
      return { id: job.id as string };
    },
    after: (_w, _s, c, as) => ({ method: 'GET', path: `exports/${c.id}/download`, as }),
  },
  {
    name: 'a retention-policy lowering she proposed: a second person approves it',
    by: 'holder',
    before: async (w, _s, as) => {
      const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
      let etag = read.headers.ETag!;
      if (policy.requireDisposalApproval !== true) etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200)).headers.ETag!;
      later(w);
      const p = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as }, 202);
      return { id: p.json.id as string };
    },
    // dave: retention:manage without retention:approve, his rights given before the proposal by root.
    after: (_w, _s, c) => ({ method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as: 'dave' }),
    expect: proposalAfter,
    accountable: 'dave',
  },
  {
    name: 'an SoD-policy weakening she proposed: a second person approves it',
    by: 'holder',
    before: async (w, _s, as) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
      const p = await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as }, 202);
      return { id: p.json.id as string };
    },
    after: (_w, _s, c) => ({ method: 'POST', path: `sod-policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }),
    expect: proposalAfter,
    accountable: 'bob',
  },
  {
    name: 'a hold she placed: it still holds (she cannot release it; another person may)',
    by: 'holder',
    before: async (w, s, as) => {
      const h = await ok(w, { method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as }, 201);
      return { holdId: h.json.id as string };
    },
    after: (w, s) => {
      const doc = w.deps.catalog.documents.get(`${TENANT}/${s.doc}`)!;
      if (!isHeld(doc, w.clock.now())) throw new Error('the hold she placed was lifted by her end');
      return { method: 'GET', path: `documents/${s.doc}`, as: 'bob' };
    },
    expect: () => ({ allowed: 'by design: a hold protects; it stays whoever placed it (README: holds are released by a second person, never by the end of the placer)' }),
  },
  {
    name: 'an API key she minted (used by whoever she handed it to)',
    by: 'holder',
    before: async (w, _s, as) => ({ key: (await mintKey(w, as, 'clerk')).auth }),
    after: (_w, s, c) => ({ method: 'GET', path: `documents/${s.doc}`, as: c.key! }),
  },
  {
    name: 'a rights set she defined that another person holds',
    by: 'holder',
    before: async (w, _s, as) => {
      await ok(w, { method: 'PUT', path: 'rights-sets/team', body: { permissions: ['documents:read', 'documents:download'] }, as });
      await ok(w, assign('guest', 'team', 'carol'));
      return {};
    },
    after: (_w, s) => ({ method: 'GET', path: `documents/${s.doc}`, as: 'guest' }),
    expect: () => ({ allowed: 'by design: a rights set is the tenant\'s, given to guest by carol; its definer\'s end changes no one else\'s rights (README: rights come from tenant-defined rights sets)' }),
  },
  {
    name: 'a support grant she gave (staff acting under it)',
    by: 'holder',
    before: async (w, _s, as) => ({ grantId: (await ok(w, grantCall(w, as), 201)).json.id as string }),
    after: (_w, s) => ({ method: 'GET', path: `documents/${s.doc}`, as: 'support.sam' }),
  },
  {
    name: 'an Idempotency-Key retry of her upload',
    before: async (w, _s, as) => {
      const call = upload(meta(w));
      await ok(w, idem({ ...call, as }, 'up-1'), 201);
      return { path: call.path, bytes: call.raw!.bytes.toString('base64') };
    },
    after: (_w, _s, c, as) => idem({ method: 'POST', path: c.path!, raw: { bytes: Buffer.from(c.bytes!, 'base64'), type: 'image/png' }, as }, 'up-1'),
  },
  {
    name: 'an Idempotency-Key retry of her hold',
    before: async (w, s, as) => {
      await ok(w, idem({ method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-2' }, as }, 'hold-1'), 201);
      return {};
    },
    after: (_w, s, _c, as) => idem({ method: 'POST', path: `documents/${s.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-2' }, as }, 'hold-1'),
  },
  {
    name: 'an Idempotency-Key retry of her export',
    before: async (w, _s, as) => {
      const job = (await ok(w, idem({ method: 'POST', path: 'exports', body: {}, as }, 'exp-1'), 202)).json;
      await exportCompleted(w, job.id as string);
      return {};
    },
    after: (_w, _s, _c, as) => idem({ method: 'POST', path: 'exports', body: {}, as }, 'exp-1'),
  },
  {
    name: 'an Idempotency-Key retry of her support grant',
    before: async (w, _s, as) => {
      const call = idem(grantCall(w, as), 'grant-1');
      await ok(w, call, 201);
      return { body: JSON.stringify(call.body) };
    },
    after: (_w, _s, c, as) => idem({ method: 'POST', path: 'support-grants', body: JSON.parse(c.body!), as }, 'grant-1'),
  },
  {
    name: 'a page token of a list she read',
    support: true,
    before: async (w, s, as) => {
      // A second document: a page of one has a next page (the catalog pages by position here).
      await ok(w, { ...upload(meta(w)), as: 'up' }, 201);
      const page = await ok(w, { method: 'GET', path: 'documents?limit=1', as });
      if (!page.json.continuationToken) throw new Error(`no next page (${s.doc})`);
      return { token: page.json.continuationToken as string };
    },
    after: (_w, _s, c, as) => ({ method: 'GET', path: `documents?limit=1&continuationToken=${encodeURIComponent(c.token!)}`, as }),
  },
  {
    name: 'an If-Match etag she read (a retention policy extended with it)',
    before: async (w, _s, as) => {
      const read = await ok(w, { method: 'GET', path: 'retention/policy', as });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
      return { etag: read.headers.ETag!, policy: JSON.stringify({ ...policy, requireDisposalApproval: true }) };
    },
    after: (_w, _s, c, as) => ({ method: 'PUT', path: 'retention/policy', body: JSON.parse(c.policy!), headers: { 'If-Match': c.etag! }, as }),
  },
];

/** The key minted by her key: a column of its own for the rows about her keys. */
const KEY_OF_KEY: Started = {
  name: 'a key minted by her key',
  by: 'holder',
  before: async (w, _s, as) => ({ key: (await mintKey(w, as, 'clerk', 30 * DAY)).auth }),
  after: (_w, s, c) => ({ method: 'GET', path: `documents/${s.doc}`, as: c.key! }),
};
STARTED.splice(STARTED.findIndex((c) => c.name.startsWith('an API key she minted')) + 1, 0, KEY_OF_KEY);

/** What a cell expects: the column's own (by design), else the row's refusal of the ended credential or of what it handed out. */
function expected(row: Ending, col: Started): Expect {
  if (row.who === 'support' && !col.support) return { na: 'provider staff start nothing but reads: a grant\'s scopes only read (README: support scopes never include exports:create)' };
  if (row.who === 'key' && col.name.startsWith('an API key she minted')) return { na: 'the row\'s credential is her key: the key minted by it is the next column' };
  if (row.who === 'token' && col === KEY_OF_KEY) return { na: 'a key minted by a key is the key rows\' column; her keys are the column before' };
  const own = col.expect?.(row);
  if (own) return own;
  if (col.name.startsWith('a support grant she gave')) {
    // Given through her key, the grant stands on it: ended with it (README "A grant given through an API key stands on that key").
    // So does one given through a key whose person went idle (README "Every time limit": "grants given through a key").
    if (row.who === 'key' && (row.refusal.status === 401 || row.refusal === IDLE)) return { refused: NOT_GRANTED };
    return { allowed: 'by design: a support grant is the tenant\'s consent to provider staff, listed and revocable at once by anyone with support:grant, ending by itself within 7 days (README "Provider staff … scoped, at most 7 days, revocable at once"); only one given through a key stands on that key' };
  }
  // Her keys act no further than her rights now; keys minted by a key stand on it (README "An API key acts no further than its person's rights now").
  if (col === KEY_OF_KEY) return { refused: row.refusal };
  if (col.name.startsWith('an API key she minted')) {
    if (row.unaudited) return { allowed: 'by design: a token\'s exp ends that token, not her rights: her keys act on her rights now (README "An API key acts no further than its person\'s rights now"), which her assignment still gives' };
    return { refused: row.refusal.rule ? row.refusal : FORBIDDEN };
  }
  return { refused: row.refusal };
}

async function scene(row: Ending, mode: Mode): Promise<{ w: World; s: Scene }> {
  const w = newWorld(mode);
  // world() assigns alice tenant-admin: replaced by clerk, or (rights from her claim) removed.
  if (!row.claim) seedAssignment(w, 'alice', 'clerk');
  else w.deps.tenantRecords.records.delete(`${TENANT}/${rightsAssignmentRecordId('alice')}`);
  // dave manages the retention policy without retention:approve (a second person for her proposals).
  await ok(w, { method: 'PUT', path: 'rights-sets/keeper', body: { permissions: ['retention:manage', 'documents:read'] }, as: 'carol' });
  await ok(w, assign('dave', 'keeper', 'carol'));
  // The catalog's list pages (world() answers one page): a page token to read on with.
  (w.deps.catalog as { list: unknown }).list = async (tenantId: string, q: DocumentQuery) => {
    const all = [...w.deps.catalog.documents.values()].filter((d) => d.tenantId === tenantId).sort((a, b) => a.id.localeCompare(b.id));
    const from = Number(q.continuationToken ?? 0);
    return { items: all.slice(from, from + q.limit), continuationToken: from + q.limit < all.length ? String(from + q.limit) : null };
  };
  const tokenEndsAt = new Date(row.tokenLifetimeMs ? w.clock.now().getTime() + row.tokenLifetimeMs : Date.parse('9999-01-01T00:00:00.000Z')).toISOString();
  const token = row.claim ? 'claim.clerk.alice' : row.tokenLifetimeMs ? `until.${Date.parse(tokenEndsAt)}.alice` : 'alice';
  // Her sign-in (the claim rows: recorded as the set her keys act on).
  const signedInAt = w.clock.now().toISOString();
  await ok(w, { method: 'GET', path: 'audit', as: token });
  const key = await mintKey(w, token, 'clerk', row.keyLifetimeMs);
  const key2 = await mintKey(w, token, 'clerk');
  const doc = (await ok(w, { ...upload(meta(w)), as: 'up' }, 201)).json.id as string;
  let grantId = '';
  let grantEndsAt = '';
  if (row.who === 'support') {
    const g = await ok(w, grantCall(w, 'carol', 'read-only', 1), 201);
    grantId = g.json.id as string;
    grantEndsAt = g.json.expiresAt as string;
  }
  later(w);
  return { w, s: { mode, token, key: key.auth, keyId: key.id, keyEndsAt: key.endsAt, key2: key2.auth, key2Id: key2.id, doc, grantId, grantEndsAt, tokenEndsAt, signedInAt } };
}

const credentialOf = (row: Ending, s: Scene, after: boolean): string => (row.who === 'support' ? 'support.sam' : row.who === 'key' ? s.key : after && row.tokenAfter ? row.tokenAfter : s.token);
const isProblem = (a: Answer) => /^application\/problem\+json/.test(a.headers['Content-Type'] ?? a.headers['content-type'] ?? '');

async function judged(w: World, s: Scene, row: Ending, col: Started, ctx: Record<string, string>, answer: Answer, before: string, want: Expect): Promise<string[]> {
  const found: string[] = [];
  const got = `${answer.status} ${answer.json?.code ?? ''} ${answer.json?.rule ?? ''}`.trim();
  const entries = w.deps.audit.entries.filter((e) => e.requestId === answer.requestId);
  const person = row.who === 'support' ? 'sam' : 'alice';
  if ('link' in want) {
    // The link handed out before the end: no longer than stated, nor past the credential or the export.
    if (row.who === 'support') {
      // Support is never handed a link (README: "Support streams downloads only …: a read-only link is a bearer URL that would outlive the grant's revocation").
      if (`${ctx.status} ${ctx.rule}` !== '403 support-no-links') found.push(`support was answered ${ctx.status} ${ctx.code} ${ctx.rule} for a link, not 403 support-no-links`);
      want = { refused: row.refusal };
    } else if (ctx.status !== '303') return [`the link was not handed out: ${ctx.status} ${ctx.code}`];
    else {
    const until = Date.parse(ctx.linkExpires!);
    const bound = Math.min(Date.parse(ctx.at!) + LINK_SECONDS * 1000, row.who === 'key' ? Date.parse(s.keyEndsAt) : Date.parse(s.tokenEndsAt), row.refusal === IDLE ? Date.parse(s.signedInAt) + 30 * DAY : Infinity, ctx.exportExpires ? Date.parse(ctx.exportExpires) : Infinity);
    if (!(until <= bound)) found.push(`link reads until ${ctx.linkExpires}, past ${new Date(bound).toISOString()} (${want.link})`);
    const handout = w.deps.audit.entries.find((e) => e.requestId === ctx.requestId && e.outcome === 'success');
    if (!handout || handout.actor.person !== person || !handout.detail?.includes(`link-until=${ctx.linkExpires}`)) found.push(`the link's hand-out is not audited for ${person} with its end: ${JSON.stringify(handout)}`);
    // Asking for a new link after the end: refused as any use of the ended credential is.
    want = { refused: row.refusal };
    }
  }
  if ('allowed' in want) {
    if (answer.status >= 300) found.push(`expected success (${want.allowed}), answered ${got}`);
    const success = entries.find((e) => e.outcome === 'success');
    if (!success?.actor.subject) found.push('no audit entry of the allowed use');
    return found;
  }
  if (!('refused' in want)) return found;
  const r = want.refused;
  if (answer.status !== r.status || answer.json?.code !== r.code || (r.rule !== undefined && answer.json?.rule !== r.rule)) found.push(`expected ${r.status} ${r.code} ${r.rule ?? ''}, answered ${got}`);
  if (answer.status >= 400 && !isProblem(answer)) found.push(`refusal not problem+json: ${JSON.stringify(answer.headers)}`);
  if (storedChanges(w) !== before) found.push('something was stored');
  const refusal = entries.filter((e) => e.outcome !== 'success');
  // The accountable person: alice for her token, her key and what she handed out (keys); staff for support.
  const accountable = col.accountable ?? (col.by === 'holder' && col.name.startsWith('a support grant') ? 'sam' : person);
  if (answer.status >= 400 && !row.unaudited && !refusal.some((e) => (e.actor.person ?? e.actor.subject) === accountable)) found.push(`no audit entry of the refusal naming ${accountable}: ${JSON.stringify(refusal.map((e) => e.actor))}`);
  return found;
}

const titleOf = (e: Expect): string => ('na' in e ? `not applicable (${e.na})` : 'allowed' in e ? `allowed, ${e.allowed}` : 'link' in e ? 'a link no longer than stated; a new one refused' : `refused ${e.refused.status} ${e.refused.code}${e.refused.rule ? ` ${e.refused.rule}` : ''}`);

const CELLS = ENDINGS.flatMap((row) => row.modes.map((mode) => [`${row.name} (rights from ${mode})`, row, mode] as const));

describe.each(CELLS)('%s', (_name, row, mode) => {
  it.each(STARTED.map((c) => [c.name, titleOf(expected(row, c)), c, expected(row, c)] as const))('%s: %s', async (_col, _title, col, want) => {
    if ('na' in want) return;
    const { w, s } = await scene(row, mode);
    await row.approach?.(w, s);
    const ctx = await col.before(w, s, credentialOf(row, s, false));
    await settle(w);
    later(w);
    await row.end(w, s);
    later(w);
    const call = await col.after(w, s, ctx, credentialOf(row, s, true));
    await settle(w);
    const before = storedChanges(w);
    const answer = await send(w, call);
    await settle(w);
    expect(await judged(w, s, row, col, ctx, answer, before, want)).toEqual([]);
  });
});

// ---- The end racing the use ----
/*
 * Where the end is a stored change (a key or grant revoked, an assignment removed, a set narrowed), the use and the
 * end at once, every port call of each scheduled (sweepPairs, in-process.ts): the answers and state of one serial order,
 * nothing half done, one success entry per answered request; a link answered (303) reads no longer than stated.
 * World: world()'s people (alice a tenant-admin), rights from the tenant.
 */
const linkBounded = (w: World, sent: { result: PromiseSettledResult<Answer | 'ran'> }[]): string[] =>
  sent.flatMap(({ result }) => {
    if (result.status !== 'fulfilled' || result.value === 'ran' || result.value.status !== 303) return [];
    const until = Date.parse(result.value.headers['Link-Expires'] ?? '');
    return until <= w.clock.now().getTime() + LINK_SECONDS * 1000 ? [] : [`a link reads until ${result.value.headers['Link-Expires']}, past ${LINK_SECONDS} s`];
  });

const RACES: Pair[] = [
  {
    name: 'her key asks for a document link while it is revoked',
    mints: true,
    prepare: async (w) => {
      const doc = (await ok(w, upload(meta(w)), 201)).json.id as string;
      const key = await mintKey(w, 'alice', 'tenant-admin');
      return [{ method: 'GET', path: `documents/${doc}/original?delivery=redirect`, as: key.auth }, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'carol' }];
    },
    check: (w, sent) => linkBounded(w, sent),
  },
  {
    name: 'her key downloads her completed export while the set she holds is replaced by a narrower one',
    mints: true,
    prepare: async (w) => {
      await ok(w, { method: 'PUT', path: 'rights-sets/narrow', body: { permissions: ['audit:read'] }, as: 'carol' });
      const key = await mintKey(w, 'alice', 'tenant-admin');
      const job = (await ok(w, { method: 'POST', path: 'exports', body: {}, as: key.auth }, 202)).json;
      await exportCompleted(w, job.id as string);
      return [{ method: 'GET', path: `exports/${job.id as string}/download?delivery=redirect`, as: key.auth }, assign('alice', 'narrow', 'carol')];
    },
    check: (w, sent) => linkBounded(w, sent),
  },
  {
    name: 'her Idempotency-Key retry of an export while her assignment is removed',
    prepare: async (w) => {
      const call: Call = { method: 'POST', path: 'exports', body: {}, headers: { 'Idempotency-Key': 'exp-1' }, as: 'alice' };
      await exportCompleted(w, (await ok(w, call, 202)).json.id as string);
      return [call, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }];
    },
  },
  {
    name: 'her Idempotency-Key retry of a support grant while the key it was given through is revoked',
    mints: true,
    prepare: async (w) => {
      const key = await mintKey(w, 'alice', 'tenant-admin');
      const call = idem(grantCall(w, key.auth), 'grant-1');
      await ok(w, call, 201);
      return [call, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'carol' }];
    },
  },
  {
    name: 'staff read under a grant while it is revoked',
    prepare: async (w) => {
      const doc = (await ok(w, upload(meta(w)), 201)).json.id as string;
      const grant = (await ok(w, grantCall(w, 'carol'), 201)).json.id as string;
      return [{ method: 'GET', path: `documents/${doc}`, as: 'support.sam' }, { method: 'DELETE', path: `support-grants/${grant}`, as: 'bob' }];
    },
  },
  {
    name: 'staff read under a grant she gave through her key while that key is revoked',
    mints: true,
    prepare: async (w) => {
      const doc = (await ok(w, upload(meta(w)), 201)).json.id as string;
      const key = await mintKey(w, 'alice', 'tenant-admin');
      await ok(w, grantCall(w, key.auth), 201);
      return [{ method: 'GET', path: `documents/${doc}`, as: 'support.sam' }, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'carol' }];
    },
  },
  {
    name: 'her key asks for a document link while her assignment is removed',
    mints: true,
    prepare: async (w) => {
      const doc = (await ok(w, upload(meta(w)), 201)).json.id as string;
      const key = await mintKey(w, 'alice', 'tenant-admin');
      return [{ method: 'GET', path: `documents/${doc}/original?delivery=redirect`, as: key.auth }, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }];
    },
    check: (w, sent) => linkBounded(w, sent),
  },
  {
    name: 'a key minted by her key acts while her key is revoked',
    mints: true,
    prepare: async (w) => {
      const key = await mintKey(w, 'alice', 'tenant-admin');
      const child = await mintKey(w, key.auth, 'auditor');
      return [{ method: 'GET', path: 'audit', as: child.auth }, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'carol' }];
    },
  },
  {
    name: 'her SoD-policy proposal approved while her assignment is removed',
    prepare: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
      const id = (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'alice' }, 202)).json.id as string;
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }];
    },
  },
];

describe('the end racing the use', () => {
  sweepPairs(RACES);
});

describe('the set she holds deleted (the row ENDINGS has not: a set held is not deleted)', () => {
  it('with rights from the tenant: refused while assigned to her or held by a key of hers, nothing stored', async () => {
    const w = newWorld('tenant');
    seedAssignment(w, 'alice', 'clerk');
    const key = await mintKey(w, 'alice', 'clerk');
    const del: Call = { method: 'DELETE', path: 'rights-sets/clerk', as: 'carol' };
    let before = storedChanges(w);
    expect((await send(w, del)).json?.code).toBe('rights_set_in_use');
    await settle(w);
    expect(storedChanges(w)).toBe(before);
    // Her assignment narrowed: her key on the set still holds it.
    await ok(w, assign('alice', 'narrow', 'carol'));
    before = storedChanges(w);
    expect((await send(w, del)).json?.code).toBe('rights_set_in_use');
    await settle(w);
    expect(storedChanges(w)).toBe(before);
    await ok(w, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'carol' });
    await ok(w, del, 204);
  });

  it('with rights from the claim: deleted once no assignment or key holds it, her token naming it is refused (401), audited under her', async () => {
    const w = newWorld('tenant-then-claim');
    w.deps.tenantRecords.records.delete(`${TENANT}/${rightsAssignmentRecordId('alice')}`);
    await ok(w, { method: 'GET', path: 'audit', as: 'claim.clerk.alice' });
    await ok(w, { method: 'DELETE', path: 'rights-sets/clerk', as: 'carol' }, 204);
    const before = storedChanges(w);
    const answer = await send(w, { method: 'GET', path: 'audit', as: 'claim.clerk.alice' });
    await settle(w);
    expect([answer.status, answer.json?.code]).toEqual([401, 'unauthenticated']);
    expect(storedChanges(w)).toBe(before);
    expect(w.deps.audit.entries.filter((e) => e.requestId === answer.requestId).map((e) => [e.actor.subject, e.outcome])).toEqual([['alice', 'refused']]);
  });
});
