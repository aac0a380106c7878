/**
 * Every rule about people holds for the accountable person behind any credential (generated sweep).
 *
 * Rows: every segregation-of-duties rule (SOD_RULES; a rule added there without a row fails this file) and the four-eyes
 * rule outside it (legal-hold release: placed on one document or by query, released on one or everywhere); the uploader
 * rule also as a bulk approval (her document skipped). Columns (PATHS): every way one person (alice) can act a second time:
 * her token; a key she minted after or before her first act; a key minted by her key; a token of another subject naming
 * her in a person claim (not applicable: the archive reads none); a guest account she gave rights before or after her
 * first act (by token or by key), and that guest's guest; a rights set she widened that someone holds, or defined and a
 * third person gave; an account held back by an assignment, which she removes so its claimed rights apply; a guest of hers
 * acting first with her second; a support grant she gave; her key after she lost the rights it carried, or after she was
 * removed from the tenant. Everything twice: rights from the tenant, and (the default) from the tenant then the claim.
 * Each cell: alice's first act (direct), the second act through the path; the refusal the rule names (status, code, rule),
 * nothing stored, an audit entry of the refusal. A control per row: a genuinely different person (bob, given his rights
 * before) succeeds, so the rule is not just refusing everyone. Requests run in-process through the real pipeline and
 * authenticator over inMemoryDeps (test/support/in-process.ts).
 */
import { resealProposals } from '../../support/reseal-proposals';
import { SOD_RULES } from '../../../shared/auth/sod';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { BUILT_IN_RIGHTS_SETS, type Permission } from '../../../shared/kernel/principal';
import { Authenticator } from '../../../shared/auth/authenticate';
import { ADMIN, type Answer, assign, type Call, keyFromBeforeTheSeal, later, mint, ok, requireApproval, send, settle, sweepNow, storedChanges, SETTINGS, START, TENANT, world, type World } from '../../support/in-process';

const PATHS = ['token', 'key', 'key-before', 'key-of-key', 'idp-person-claim', 'guest-before', 'guest-after', 'guest-after-by-key', 'guest-of-guest', 'set-widened', 'set-defined', 'claim-restored', 'first-by-her-guest', 'support-grant', 'key-lost-rights', 'key-removed'] as const;
type Path = (typeof PATHS)[number];

/** What a cell expects: the row's refusal, another refusal, success (a path the rules let through, with why), or not applicable (why). */
type Expect = { refused: { status: number; code: string; rule?: string } } | { allowed: string } | { na: string };

/** Rights sets the rows give (tenant sets are seeded as records, before any request). */
const RECORDS = ADMIN.filter((p) => p !== 'retention:approve');
const SETS: Record<string, Permission[]> = {
  'tenant-admin': ADMIN,
  /** A records manager: may lower the retention safeguards (propose, approve), not approve disposals. */
  records: RECORDS,
  /** An archivist who mints keys: uploads and places holds through them. */
  archkeys: [...BUILT_IN_RIGHTS_SETS.archivist!, 'keys:manage'],
  admins2: ADMIN,
  /** Manages rights, may place holds: the conflicting-permissions row declares holds:place × audit:read. */
  placer: ['documents:read', 'holds:place', 'rights:manage', 'keys:manage', 'support:grant'],
  readers: ['documents:read', 'audit:read'],
  docs: ['documents:read'],
  /** Manages rights and may write: may give the uploader set (rights ceiling), holds no retention:approve. */
  wadmin: ['documents:read', 'documents:write', 'rights:manage'],
  /** Gives the archivist set (carol, a tenant-admin, may not: it holds documents:write). */
  wroot: ['documents:read', 'documents:download', 'documents:write', 'documents:correct', 'holds:place', 'retention:extend', 'rights:manage'],
};

function seedSet(w: World, name: string): void {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(name)}`, {
    value: { id: rightsSetRecordId(name), tenantId: TENANT, type: 'rights-set', name, permissions: SETS[name]!, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 2000 + Object.keys(SETS).indexOf(name),
  });
}
/**
 * An assignment by `root`, a tenant administrator no rule is about (at START, or `at`); as stored before assignments
 * kept who may lift them (judged as placed by a tenant-admin), or lifted by anyone with `placedWith`.
 */
function seedAssignment(w: World, subject: string, rightsSet: string, at = START, placedWith?: Permission[]): void {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(subject)}`, {
    value: { id: rightsAssignmentRecordId(subject), tenantId: TENANT, type: 'rights-assignment', subject, rightsSet, assignedAt: at.toISOString(), assignedBy: { subject: 'root', kind: 'user' }, ...(placedWith ? { placedWith } : {}) } as never,
    etag: 3000 + subject.length,
  });
}

/**
 * One world: the in-process archive, rights from the tenant's assignments (`tenant`), or where a person has none from
 * their token's claim (`tenant-then-claim`, the default). A bearer token `support.<x>` is provider staff <x> of the tenant;
 * `claim.<set>.<x>` is user <x> whose token claims <set>.
 */
function newWorld(rightsSource: 'tenant' | 'tenant-then-claim'): World {
  const w = world({ AUTH_RIGHTS_SOURCE: rightsSource });
  const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
  w.deps.authenticator = new Authenticator({ ...SETTINGS, rightsSource }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
  for (const name of Object.keys(SETS)) if (name !== 'tenant-admin') seedSet(w, name);
  seedAssignment(w, 'wroot', 'wroot');
  (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({
    tenantId: TENANT,
    subject: token.replace(/^support\./, '').replace(/^claim\.[a-z0-9-]+\./, ''),
    kind: token.startsWith('support.') ? 'support' : 'user',
    claimedRightsSet: /^claim\.([a-z0-9-]+)\./.exec(token)?.[1] ?? null,
    expiresAt: '9999-01-01T00:00:00.000Z',
    issuedAt: null,
  });
  return w;
}

const grantSupport = (w: World, as: string): Call => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'metadata-only', expiresAt: new Date(w.clock.now().getTime() + 5 * 86400_000).toISOString() }, as });

/** A document kept until the coming 1 January (immovable property: fiscal year + 11), uploaded by `as`. */
async function dueDoc(w: World, as: string): Promise<string> {
  const meta = encodeURIComponent(JSON.stringify({ fiscalYear: w.clock.now().getUTCFullYear() + 1 - 11, retentionClass: 'immovable-property-10y', counterparty: 'ACME GmbH' }));
  const bytes = Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${Math.random()}`)]);
  return (await ok(w, { method: 'POST', path: `documents?metadata=${meta}`, raw: { bytes, type: 'image/png' }, as }, 201)).json.id as string;
}

/** alice as an archivist for one act (writes, places holds), then back to tenant-admin: given by carol. */
async function asArchivist<T>(w: World, act: () => Promise<T>): Promise<T> {
  // Two steps: carol (tenant-admin) takes alice's admin powers (wroot lacks them: the rights floor), wroot gives her
  // documents:write (carol lacks it: the rights ceiling).
  await ok(w, assign('alice', 'docs', 'carol'));
  await ok(w, assign('alice', 'archivist', 'wroot'));
  later(w);
  const out = await act();
  later(w);
  await ok(w, assign('alice', 'tenant-admin', 'carol'));
  later(w);
  return out;
}

async function proposeSodWeakening(w: World, as: string): Promise<string> {
  const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
  return (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as }, 202)).json.id as string;
}
/** A lowering of the retention safeguards (required approval off once on): its call, for `as`. */
async function retentionLowering(w: World, as: string): Promise<Call> {
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
  let etag = read.headers.ETag!;
  if (policy.requireDisposalApproval !== true) etag = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': etag }, as: 'carol' }, 200)).headers.ETag!;
  return { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': etag }, as };
}
const proposeRetentionLowering = async (w: World, as: string) => (await ok(w, await retentionLowering(w, as), 202)).json.id as string;

interface Row {
  rule: string;
  name: string;
  /** The set alice's keys and guests act with. */
  keySet: string;
  /** alice's own set (seeded); tenant-admin by default. */
  aliceSet?: string;
  /** bob's set (seeded), for the control cell. */
  bobSet?: string;
  seed?: (w: World) => Promise<void>;
  /** alice's first act, direct (or by `who`: the path where a guest she made acts first and she second); what the second act needs. */
  first: (w: World, who?: string) => Promise<Record<string, string>>;
  /** The first act can be done by a guest alice gives her own set (`first-by-her-guest`). */
  guestCanActFirst?: true;
  second: (ctx: Record<string, string>, as: string, w: World) => Call | Promise<Call>;
  refusal: { status: number; code: string; rule?: string };
  /** The control: bob does the second act (or his own call), and it succeeds with this status. */
  control: { status: number; call?: (ctx: Record<string, string>, w: World) => Call | Promise<Call> };
  cells?: Partial<Record<Path, Expect>>;
  /**
   * The path is the credential alice gives a guest its rights with (the rule is about who gave the second person their
   * rights), not the one she acts with: the act is the guest's.
   */
  pathGives?: boolean;
}

const SOD = (rule: string, status = 403) => ({ refused: { status, code: 'segregation_of_duties', rule } });
const FORBIDDEN = { refused: { status: 403, code: 'forbidden' } };
/** A guest alice gave rights consents for her as staff: its scope is within what she gave it, which she holds herself. */
const SECOND_IDENTITY_GRANTS = { allowed: 'the grant is given by another subject, whose rights alice gave before the grant (rules: rights given before the act count); its scope is within what she holds herself' };
const BY_DESIGN_BEFORE = { allowed: 'rights given before the first act: the rules count such a person as a second person (sod.ts madeSecondBy)' };

const ROWS: Row[] = [
  {
    rule: 'self-assignment',
    name: 'alice assigns herself a rights set',
    keySet: 'tenant-admin',
    first: async () => ({}),
    second: (_c, as) => assign('alice', 'accountant', as),
    refusal: SOD('self-assignment').refused,
    control: { status: 200 },
    cells: {
      'guest-before': { allowed: 'a guest account is another subject; it assigns within its own ceiling, which alice gave (no escalation past hers)' },
      'guest-after': { allowed: 'a guest account is another subject; it assigns within its own ceiling, which alice gave (no escalation past hers)' },
      'set-widened': { allowed: 'a guest account is another subject; it assigns within its own ceiling, which alice gave (no escalation past hers)' },
    },
  },
  {
    rule: 'self-assignment',
    name: 'alice removes her own rights assignment',
    keySet: 'tenant-admin',
    first: async () => ({}),
    second: (_c, as) => ({ method: 'DELETE', path: 'rights-assignments/alice', as }),
    refusal: SOD('self-assignment').refused,
    control: { status: 204 },
    cells: {
      'guest-before': { allowed: 'a guest account is another subject; it removes rights, which escalates nothing' },
      'guest-after': { allowed: 'a guest account is another subject; it removes rights, which escalates nothing' },
      'set-widened': { allowed: 'a guest account is another subject; it removes rights, which escalates nothing' },
    },
  },
  {
    rule: 'rights-ceiling',
    name: 'alice (without documents:write) gives dave the uploader set',
    keySet: 'tenant-admin',
    bobSet: 'wadmin',
    first: async () => ({}),
    second: (_c, as) => assign('dave', 'uploader', as),
    refusal: SOD('rights-ceiling').refused,
    control: { status: 200 },
  },
  {
    rule: 'rights-floor',
    name: 'alice (rights:manage, without audit:read) takes the auditor set from dave',
    keySet: 'placer',
    aliceSet: 'placer',
    seed: async (w) => seedAssignment(w, 'dave', 'auditor'),
    first: async () => ({}),
    second: (_c, as) => assign('dave', 'docs', as),
    refusal: SOD('rights-floor').refused,
    control: { status: 200 },
  },
  {
    rule: 'rights-floor',
    name: 'alice (rights:manage, without audit:read) removes audit:read from a set dave holds',
    keySet: 'placer',
    aliceSet: 'placer',
    seed: async (w) => seedAssignment(w, 'dave', 'readers'),
    first: async () => ({}),
    second: (_c, as) => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['documents:read'] }, as }),
    refusal: SOD('rights-floor').refused,
    control: { status: 200 },
  },
  {
    rule: 'own-rights',
    name: 'alice changes the rights set she holds',
    keySet: 'admins2',
    aliceSet: 'admins2',
    first: async () => ({}),
    second: (_c, as) => ({ method: 'PUT', path: 'rights-sets/admins2', body: { permissions: ADMIN.filter((p) => p !== 'support:grant') }, as }),
    refusal: SOD('own-rights').refused,
    control: { status: 200 },
    cells: {
      'set-widened': { allowed: 'her guest holds another set; it changes hers within its own ceiling, which alice gave (no escalation past hers)' },
    },
  },
  {
    rule: 'conflicting-permissions',
    name: 'alice adds holds:place to a set holding audit:read (declared conflicting)',
    keySet: 'placer',
    aliceSet: 'placer',
    bobSet: 'placer',
    seed: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'carol' });
      await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [...read.json.conflicts, ['holds:place', 'audit:read']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' }, 200);
    },
    first: async () => ({}),
    second: (_c, as) => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: [...SETS.readers!, 'holds:place'] }, as }),
    refusal: SOD('conflicting-permissions').refused,
    // No person may make the pair: the control is bob adding the same permission where it conflicts with nothing.
    control: { status: 200, call: () => ({ method: 'PUT', path: 'rights-sets/docs', body: { permissions: [...SETS.docs!, 'holds:place'] }, as: 'bob' }) },
  },
  {
    rule: 'uploader-approves-disposal',
    name: 'alice uploads, then approves the document\'s disposal',
    keySet: 'tenant-admin',
    first: async (w) => {
      const id = await asArchivist(w, () => dueDoc(w, 'alice'));
      // Past its retention: due for disposal.
      w.clock.set(new Date(Date.UTC(w.clock.now().getUTCFullYear() + 1, 0, 2)));
      return { id };
    },
    second: (c, as, w) => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [c.id] }, as }),
    refusal: SOD('uploader-approves-disposal').refused,
    control: { status: 201 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'uploader-approves-disposal',
    name: 'alice uploads, then approves disposal of everything due (bulk: her document skipped)',
    keySet: 'tenant-admin',
    first: async (w) => {
      const id = await asArchivist(w, () => dueDoc(w, 'alice'));
      w.clock.set(new Date(Date.UTC(w.clock.now().getUTCFullYear() + 1, 0, 2)));
      return { id };
    },
    second: (_c, as, w) => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as }),
    refusal: { status: 201, code: 'skipped', rule: 'segregation-of-duties:uploader-approves-disposal' },
    control: { status: 201 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'four-eyes:legal-hold-release',
    name: 'alice places a legal hold, then releases it (one document)',
    keySet: 'tenant-admin',
    first: async (w) => {
      const id = await dueDoc(w, 'up');
      const holdId = await asArchivist(w, async () => (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'alice' }, 201)).json.id as string);
      return { id, holdId };
    },
    second: (c, as) => ({ method: 'DELETE', path: `documents/${c.id}/legal-holds/${c.holdId}`, body: { reason: 'Closed' }, as }),
    refusal: { status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' },
    control: { status: 200 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'four-eyes:legal-hold-release',
    name: 'alice places a legal hold, then releases it everywhere',
    keySet: 'tenant-admin',
    first: async (w) => {
      const id = await dueDoc(w, 'up');
      const holdId = await asArchivist(w, async () => (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'alice' }, 201)).json.id as string);
      return { id, holdId };
    },
    second: (c, as) => ({ method: 'DELETE', path: `legal-holds/${c.holdId}`, body: { reason: 'Closed' }, as }),
    refusal: { status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' },
    control: { status: 200 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'four-eyes:legal-hold-release',
    name: 'alice places a legal hold by query, then releases it on one document',
    keySet: 'tenant-admin',
    first: async (w) => {
      const id = await dueDoc(w, 'up');
      const holdId = await asArchivist(w, async () => (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: 'LG-9', query: { counterparty: 'ACME GmbH' } }, as: 'alice' }, 201)).json.holdId as string);
      return { id, holdId };
    },
    second: (c, as) => ({ method: 'DELETE', path: `documents/${c.id}/legal-holds/${c.holdId}`, body: { reason: 'Closed' }, as }),
    refusal: { status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' },
    control: { status: 200 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'four-eyes-sod-policy',
    name: 'alice proposes weakening the SoD policy, then approves it',
    keySet: 'tenant-admin',
    first: async (w, who = 'alice') => ({ id: await proposeSodWeakening(w, who) }),
    guestCanActFirst: true,
    second: (c, as) => ({ method: 'POST', path: `sod-policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }),
    refusal: SOD('four-eyes-sod-policy').refused,
    control: { status: 200 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'four-eyes-retention-policy',
    name: 'alice (records manager) proposes lowering the retention safeguards, then approves it',
    keySet: 'records',
    aliceSet: 'records',
    bobSet: 'records',
    first: async (w, who = 'alice') => ({ id: await proposeRetentionLowering(w, who) }),
    guestCanActFirst: true,
    second: (c, as) => ({ method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }),
    refusal: SOD('four-eyes-retention-policy').refused,
    control: { status: 200 },
    cells: { 'guest-before': BY_DESIGN_BEFORE },
  },
  {
    rule: 'approver-lowers-safeguards',
    name: 'alice (may approve disposals) proposes lowering the retention safeguards',
    keySet: 'records',
    bobSet: 'records',
    first: async () => ({}),
    second: async (_c, as, w) => retentionLowering(w, as),
    refusal: SOD('approver-lowers-safeguards').refused,
    control: { status: 202 },
    cells: {
      'guest-before': { allowed: 'a records manager she made proposes; its approval is refused (retention-approver-given-by-approver, four-eyes-retention-policy)' },
      'guest-after': { allowed: 'a records manager she made proposes; its approval is refused (retention-approver-given-by-approver, four-eyes-retention-policy)' },
      'set-widened': { allowed: 'a records manager she made proposes; its approval is refused (retention-approver-given-by-approver, four-eyes-retention-policy)' },
    },
  },
  {
    rule: 'approver-lowers-safeguards',
    name: 'alice (may approve disposals) approves a lowering erin proposed',
    keySet: 'records',
    seed: async (w) => seedAssignment(w, 'erin', 'records'),
    first: async (w) => ({ id: await proposeRetentionLowering(w, 'erin') }),
    second: (c, as) => ({ method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }),
    refusal: SOD('approver-lowers-safeguards').refused,
    bobSet: 'records',
    control: { status: 200 },
    cells: {
      'guest-before': { allowed: 'a records manager she gave rights before the proposal is a second person (rules: rights given before the act count)' },
      'guest-after': SOD('retention-approver-given-by-approver'),
      'set-widened': SOD('retention-approver-given-by-approver'),
    },
  },
  {
    rule: 'retention-approver-given-by-approver',
    name: 'alice (may approve disposals) gives a guest records-manager rights after erin proposed a lowering; the guest approves',
    keySet: 'records',
    pathGives: true,
    seed: async (w) => seedAssignment(w, 'erin', 'records'),
    first: async (w) => ({ id: await proposeRetentionLowering(w, 'erin') }),
    second: (c, as) => ({ method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }),
    refusal: SOD('retention-approver-given-by-approver').refused,
    bobSet: 'records',
    control: { status: 200 },
    cells: {
      'guest-before': { allowed: 'the guest was given its rights before the proposal: a second person (rules: rights given before the act count)' },
      'guest-after': { na: 'the path is the giving itself (token, key, key of key, set widened)' },
      'guest-after-by-key': { na: 'the path is the giving itself (token, key, key of key, set widened)' },
      'support-grant': { na: 'a support principal gives no rights (support scopes only read)' },
      'key-lost-rights': { na: 'the key no longer gives rights (403 at the giving: no guest to approve)' },
      'key-removed': { na: 'the key no longer gives rights (403 at the giving: no guest to approve)' },
    },
  },
  {
    rule: 'support-self-granted',
    name: 'alice gives a support grant, then acts under it as provider staff',
    keySet: 'tenant-admin',
    pathGives: true,
    first: async () => ({}),
    second: () => ({ method: 'GET', path: 'documents', as: 'support.alice' }),
    refusal: SOD('support-self-granted').refused,
    control: {
      status: 200,
      call: async (_c, w) => {
        await ok(w, grantSupport(w, 'bob'), 201);
        return { method: 'GET', path: 'documents', as: 'support.alice' };
      },
    },
    cells: {
      'guest-before': SECOND_IDENTITY_GRANTS,
      'guest-after': { na: 'a guest given rights after the grant did not give it' },
      'guest-after-by-key': { na: 'a guest given rights after the grant did not give it' },
      'guest-of-guest': SECOND_IDENTITY_GRANTS,
      'set-widened': SECOND_IDENTITY_GRANTS,
      'support-grant': { na: 'the row is the support grant itself' },
      'key-lost-rights': { na: 'the key gives no grant once alice lost support:grant (403 at the giving)' },
      'key-removed': { na: 'the key gives no grant once alice was removed (403 at the giving)' },
    },
  },
];

type Mode = 'tenant' | 'tenant-then-claim';

/** What the paths expect unless a row says otherwise. */
function expected(row: Row, path: Path, mode: Mode): Expect {
  if (path === 'first-by-her-guest') {
    return row.guestCanActFirst
      ? { allowed: 'the first act is her guest\'s, made before it: the approver gave the proposer its rights, which no rule looks at (the README\'s limit: two identities made before the act count as two)' }
      : { na: 'a single act, or a first act (upload, hold) a guest of a tenant-admin cannot do: she cannot give documents:write or holds:place (rights ceiling)' };
  }
  const own = row.cells?.[path] ?? (path === 'guest-after-by-key' || path === 'guest-of-guest' || path === 'claim-restored' ? row.cells?.['guest-after'] : path === 'set-defined' ? row.cells?.['set-widened'] : undefined);
  if (own && !(path === 'claim-restored' && mode === 'tenant' && !('na' in own))) return own;
  if (path === 'claim-restored' && mode === 'tenant') return FORBIDDEN; // without its assignment the account holds nothing
  if (path === 'idp-person-claim') return { na: 'the archive reads no person claim: a token\'s person is its subject (authenticate.ts verifyJwt); another subject is a guest account' };
  if (path === 'support-grant') return FORBIDDEN; // support scopes only read
  if (path === 'key-lost-rights' || path === 'key-removed') return FORBIDDEN;
  return { refused: row.refusal };
}

const stored = storedChanges;

/** alice's credential through `path`, around her first act: the call the row's second act is. */
async function throughPath(w: World, row: Row, path: Path): Promise<{ call: Call; ctx: Record<string, string> }> {
  const set = row.keySet;
  let before: string | null = null;
  if (path === 'guest-before') {
    await ok(w, assign('guest', set, 'alice'));
    later(w);
  }
  if (path === 'set-widened') {
    await ok(w, { method: 'PUT', path: 'rights-sets/narrow', body: { permissions: ['documents:read'] }, as: 'carol' });
    await ok(w, assign('guest2', 'narrow', 'carol'));
    later(w);
  }
  if (path === 'first-by-her-guest') {
    // A guest alice made acts first; she acts second, in her own name.
    await ok(w, assign('guest', set, 'alice'));
    later(w);
    const ctx = await row.first(w, 'guest');
    later(w);
    return { call: await row.second(ctx, 'alice', w), ctx };
  }
  if (path === 'claim-restored') {
    // An account whose identity provider claims the set, held back by the tenant's assignment; one any rights manager
    // may lift (placed by someone holding nothing more), taking nothing a rights manager lacks (documents:read): the path
    // is the claim it hands back, not who may lift it.
    seedAssignment(w, 'guest5', 'docs', START, []);
  }
  if (path === 'key-lost-rights' || path === 'key-removed' || path === 'key-before') before = await mint(w, 'alice', set);
  later(w);
  const ctx = await row.first(w);
  later(w);
  // The credential alice acts with (or, for a row whose path is the giving, gives the second person rights with).
  let as: string;
  if (path === 'token') as = 'alice';
  else if (path === 'key') as = await mint(w, 'alice', set);
  else if (path === 'key-before') as = before!;
  else if (path === 'key-of-key') as = await mint(w, await mint(w, 'alice', set), set);
  else if (path === 'guest-before') as = 'guest';
  else if (path === 'guest-after') {
    await ok(w, assign('guest', set, 'alice'));
    as = 'guest';
  } else if (path === 'guest-after-by-key') {
    await ok(w, assign('guest', set, await mint(w, 'alice', set)));
    as = 'guest';
  } else if (path === 'guest-of-guest') {
    await ok(w, assign('guest', set, 'alice'));
    later(w);
    await ok(w, assign('guest3', set, 'guest'));
    as = 'guest3';
  } else if (path === 'set-widened') {
    await ok(w, { method: 'PUT', path: 'rights-sets/narrow', body: { permissions: SETS[set] }, as: 'alice' });
    as = 'guest2';
  } else if (path === 'set-defined') {
    // alice defines a set; a third person gives it to someone.
    await ok(w, { method: 'PUT', path: 'rights-sets/fresh', body: { permissions: SETS[set] }, as: 'alice' });
    later(w);
    seedAssignment(w, 'guest4', 'fresh', w.clock.now());
    as = 'guest4';
  } else if (path === 'claim-restored') {
    // alice removes the assignment: the claim applies (with rights from the tenant only: nothing).
    await ok(w, { method: 'DELETE', path: 'rights-assignments/guest5', as: 'alice' });
    as = `claim.${set}.guest5`;
  } else if (path === 'support-grant') {
    await ok(w, grantSupport(w, 'alice'), 201);
    as = 'support.staff';
  } else if (path === 'key-lost-rights') {
    await ok(w, assign('alice', 'accountant', 'carol'));
    as = before!;
  } else {
    await ok(w, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' });
    as = before!;
  }
  later(w);
  if (row.pathGives && (path === 'token' || path === 'key' || path === 'key-before' || path === 'key-of-key')) {
    // The credential gives: the grant (support-self-granted), or a guest's rights (given by an approver).
    if (row.rule === 'support-self-granted') await ok(w, grantSupport(w, as), 201);
    else await ok(w, assign('guest', set, as));
    later(w);
    return { call: await row.second(ctx, row.rule === 'support-self-granted' ? 'support.alice' : 'guest', w), ctx };
  }
  if (row.pathGives && row.rule === 'support-self-granted' && (path === 'guest-before' || path === 'set-widened' || path === 'set-defined' || path === 'guest-of-guest')) {
    await ok(w, grantSupport(w, as), 201);
    later(w);
    return { call: await row.second(ctx, 'support.alice', w), ctx };
  }
  return { call: await row.second(ctx, as, w), ctx };
}

async function prepared(row: Row, mode: Mode): Promise<World> {
  const w = newWorld(mode);
  if (row.aliceSet) seedAssignment(w, 'alice', row.aliceSet);
  if (row.bobSet) seedAssignment(w, 'bob', row.bobSet);
  await row.seed?.(w);
  return w;
}

async function judged(w: World, answer: Answer, before: string, want: Expect): Promise<string[]> {
  const found: string[] = [];
  const got = `${answer.status} ${answer.json?.code ?? ''} ${answer.json?.rule ?? ''}`.trim();
  if ('allowed' in want) {
    if (answer.status >= 300) found.push(`expected success (${want.allowed}), answered ${got}`);
    return found;
  }
  if (!('refused' in want)) return found;
  const r = want.refused;
  if (r.code === 'skipped') {
    // A bulk approval: answered, the document skipped naming the rule, and not approved.
    const docs = [...w.deps.catalog.documents.values()].filter((d) => d.createdBy.person === 'alice' || d.createdBy.subject === 'alice');
    if (answer.status !== r.status || docs.length !== 1 || !(answer.json?.skipped ?? []).some((x: { id: string; reason: string }) => x.id === docs[0]!.id && x.reason === r.rule)) found.push(`expected ${r.status} with alice's document skipped (${r.rule ?? ''}), answered ${got} ${JSON.stringify(answer.json)}`);
    if (docs.some((d) => d.disposalApproval)) found.push("alice's document approved for disposal");
    return found;
  }
  if (answer.status !== r.status || answer.json?.code !== r.code || (r.rule !== undefined && answer.json?.rule !== r.rule)) found.push(`expected ${r.status} ${r.code} ${r.rule ?? ''}, answered ${got}`);
  if (stored(w) !== before) found.push('something was stored');
  const refusal = w.deps.audit.entries.filter((e) => e.requestId === answer.requestId && e.outcome !== 'success');
  if (answer.status >= 400 && refusal.length === 0) found.push('no audit entry of the refusal');
  return found;
}

it('every rule about people has rows (SOD_RULES and the four-eyes rules outside it)', () => {
  const rules = new Set(ROWS.map((r) => r.rule));
  expect([...Object.keys(SOD_RULES), 'four-eyes:legal-hold-release'].filter((r) => !rules.has(r))).toEqual([]);
});

describe.each(['tenant-then-claim', 'tenant'] as const)('rights from %s', (mode) => {
describe.each(ROWS.map((r) => [r.rule, r.name, r] as const))('%s: %s', (_rule, _name, row) => {
  it.each(PATHS.map((p) => [p, expected(row, p, mode)] as const))('through %s: %j', async (path, want) => {
    if ('na' in want) return;
    const w = await prepared(row, mode);
    const { call } = await throughPath(w, row, path);
    await settle(w);
    const before = stored(w);
    const answer = await send(w, call);
    await settle(w);
    expect(await judged(w, answer, before, want)).toEqual([]);
  });

  it('control: bob, given his rights before, does the second act', async () => {
    const w = await prepared(row, mode);
    later(w);
    const ctx = await row.first(w);
    later(w);
    const call = row.control.call ? await row.control.call(ctx, w) : await row.second(ctx, 'bob', w);
    const answer = await send(w, call);
    await settle(w);
    expect(`${answer.status} ${answer.json?.code ?? ''} ${answer.json?.rule ?? ''}`.trim()).toBe(String(row.control.status));
    // A bulk approval answers 201 whatever it skipped: bob's approves alice's document.
    if (row.refusal.code === 'skipped') expect(w.deps.catalog.documents.get(`${TENANT}/${ctx.id}`)?.disposalApproval?.approvedBy.subject).toBe('bob');
  });
});
});

describe('removing an assignment hands the person back to their claim (rights from the tenant, then the claim)', () => {
  // rm manages rights with few permissions of its own ('placer'); rm2 with all of a tenant-admin's but retention:approve.
  // dave's identity provider names him tenant-admin; carol, a tenant-admin, holds him to reading.
  async function scene(mode: Mode): Promise<World> {
    const w = newWorld(mode);
    seedAssignment(w, 'rm', 'placer');
    seedAssignment(w, 'rm2', 'records');
    await ok(w, assign('dave', 'docs', 'carol'));
    return w;
  }
  const lift = (subject: string, as: string): Call => ({ method: 'DELETE', path: `rights-assignments/${subject}`, as });
  const held = (w: World, subject: string) => w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId(subject)}`)?.value as { rightsSet: string } | undefined;

  it("only someone holding what its placer held lifts it, also after replacing it with one of their own", async () => {
    const w = await scene('tenant-then-claim');
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(403);
    const before = stored(w);
    const refused = await send(w, lift('dave', 'rm'));
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-ceiling', subject: 'dave' });
    expect(refused.json.permissions).toEqual(expect.arrayContaining(['audit:read', 'retention:approve']));
    await settle(w);
    expect(stored(w)).toBe(before);
    expect(w.deps.audit.entries.filter((e) => e.requestId === refused.requestId).map((e) => [e.action, e.outcome, e.detail])).toEqual([['rights-assignment.delete', 'refused', 'segregation_of_duties:rights-ceiling']]);
    // Re-assigning within rm's own rights first does not make the restriction rm's to lift.
    await ok(w, assign('dave', 'docs', 'rm'));
    expect((await send(w, lift('dave', 'rm'))).json.rule).toBe('rights-ceiling');
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(403);
    // A tenant-admin lifts it; dave acts with his claim.
    await ok(w, lift('dave', 'carol'), 204);
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(200);
  });

  it('its placer, or anyone holding what they held, lifts it; an assignment from before is judged as a tenant-admin placed it', async () => {
    const w = await scene('tenant-then-claim');
    await ok(w, assign('frank', 'docs', 'rm'));
    await ok(w, lift('frank', 'rm'), 204);
    // carol holds all rm2 held: a restriction of rm2's she replaces is hers to lift, no longer rm2's. rm placed one with
    // holds:place, which carol lacks: hers replacing it leaves it rm's (she could not have lifted it).
    await ok(w, assign('frank', 'docs', 'rm2'));
    await ok(w, assign('frank', 'docs', 'carol'));
    expect((await send(w, lift('frank', 'rm2'))).json.rule).toBe('rights-ceiling');
    await ok(w, assign('gina', 'docs', 'rm'));
    await ok(w, assign('gina', 'docs', 'carol'));
    expect((await send(w, lift('gina', 'carol'))).json).toMatchObject({ rule: 'rights-ceiling', permissions: ['holds:place'] });
    await ok(w, lift('gina', 'rm'), 204);
    seedAssignment(w, 'erin', 'docs');
    expect((await send(w, lift('erin', 'rm2'))).json).toMatchObject({ rule: 'rights-ceiling', permissions: ['retention:approve'] });
    await ok(w, lift('erin', 'bob'), 204);
  });

  it('is judged on the assignment it deletes: one a tenant-admin replaced meanwhile is judged again', async () => {
    const w = await scene('tenant-then-claim');
    await ok(w, assign('frank', 'docs', 'rm2'));
    const records = w.deps.tenantRecords;
    const deleteAsStored = records.delete.bind(records);
    let raced = false;
    records.delete = async (...args: Parameters<typeof records.delete>) => {
      if (!raced && args[1] === rightsAssignmentRecordId('frank')) {
        raced = true;
        await ok(w, assign('frank', 'docs', 'carol'));
      }
      return deleteAsStored(...args);
    };
    const answer = await send(w, lift('frank', 'rm2'));
    expect(raced).toBe(true);
    expect(answer.json).toMatchObject({ rule: 'rights-ceiling', permissions: ['retention:approve'] });
    expect(held(w, 'frank')?.rightsSet).toBe('docs');
  });

  it('with rights from the tenant only, removing takes rights away and any rights manager may', async () => {
    const w = await scene('tenant');
    await ok(w, lift('dave', 'rm'), 204);
    expect(held(w, 'dave')).toBeUndefined();
    expect((await send(w, { method: 'GET', path: 'documents', as: 'claim.tenant-admin.dave' })).status).toBe(403);
  });
});

describe('taking rights away (the rights floor): only someone holding a tenant-admin power takes it', () => {
  // rm manages rights with few permissions of its own ('placer'); dave's identity provider names him tenant-admin.
  const demote = (as: string): Call => assign('dave', 'docs', as);
  const lift = (as: string): Call => ({ method: 'DELETE', path: 'rights-assignments/dave', as });
  const held = (w: World) => (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('dave')}`)?.value as { rightsSet: string } | undefined)?.rightsSet;

  it('a person acting with their claim (seen at sign-in) is demoted only by someone holding what the demotion takes', async () => {
    const w = newWorld('tenant-then-claim');
    seedAssignment(w, 'rm', 'placer');
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(200);
    const before = stored(w);
    const refused = await send(w, demote('rm'));
    expect(refused.status).toBe(403);
    expect(refused.json).toMatchObject({ code: 'segregation_of_duties', rule: 'rights-floor', subject: 'dave' });
    expect(refused.json.permissions).toEqual(expect.arrayContaining(['audit:read', 'retention:approve', 'retention:manage']));
    expect(refused.json.permissions).not.toContain('rights:manage'); // rm holds it
    await settle(w);
    expect(stored(w)).toBe(before);
    expect(w.deps.audit.entries.filter((e) => e.requestId === refused.requestId).map((e) => [e.action, e.outcome, e.detail])).toEqual([['rights-assignment.put', 'refused', 'segregation_of_duties:rights-floor']]);
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(200);
    await ok(w, demote('carol'), 200);
    expect((await send(w, { method: 'GET', path: 'audit', as: 'claim.tenant-admin.dave' })).status).toBe(403);
  });

  it('rights from the tenant only: removing an assignment takes all it gave, so it is judged the same way', async () => {
    const w = newWorld('tenant');
    seedAssignment(w, 'rm', 'placer');
    await ok(w, assign('dave', 'auditor', 'carol'));
    const before = stored(w);
    for (const call of [lift('rm'), demote('rm')]) expect((await send(w, call)).json).toMatchObject({ rule: 'rights-floor', subject: 'dave', permissions: ['audit:read', 'documents:download', 'exports:create'] });
    await settle(w);
    expect(stored(w)).toBe(before);
    expect(held(w)).toBe('auditor');
    await ok(w, lift('bob'), 204);
    expect(held(w)).toBeUndefined();
  });

  it('work outside the tenant-admin set (documents:write, holds:place, retention:extend) any rights manager takes away', async () => {
    const w = newWorld('tenant');
    seedAssignment(w, 'rm', 'placer');
    seedAssignment(w, 'dave', 'archivist');
    // carol holds none of those three (documents:write conflicts with her retention:approve), yet stops an uploader.
    await ok(w, demote('carol'), 200);
    expect(held(w)).toBe('docs');
    // rm narrows a set someone holds by what it does not hold itself, outside tenant-admin's: documents:write.
    await ok(w, { method: 'PUT', path: 'rights-sets/wadmin', body: { permissions: ['documents:read', 'rights:manage'] }, as: 'rm' }, 200);
    // Demoting an archivist to a set carol may not give is two steps: carol takes, a manager holding documents:write gives.
    seedAssignment(w, 'erin', 'tenant-admin');
    expect((await send(w, assign('erin', 'archivist', 'wroot'))).json).toMatchObject({ rule: 'rights-floor', subject: 'erin' });
    await ok(w, assign('erin', 'docs', 'carol'), 200);
    await ok(w, assign('erin', 'archivist', 'wroot'), 200);
  });
});

describe('both acts through any route to the accountable person (first act × second act)', () => {
  // Round 10. The rows above vary the second act only, the first being alice's own token. Broke (round 9): a rule read
  // one side up the chain of keys and took the other as stored, so a record made through a key from before persons were
  // kept (`apikey:<id>`, no person), or a key minted through such a key, compared as a second person to its own maker.
  // Here the same alice does both acts, each through every route; every cell must be refused (or skip her document).
  const ROUTES = ['token', 'key', 'key-of-key', 'key-before-persons', 'key-of-key-before-persons'] as const;
  type Route = (typeof ROUTES)[number];
  /**
   * The pairs of routes (first act, second act): every route on each side against the other's token, and the routes
   * from before persons were kept against each other. A rule that reads one side wrong fails where that side's route
   * meets a token; both wrong, where two old routes meet. A token then today's keys the sweep above judges. The full
   * product (25 a rule) cost CI 40 s and found no more.
   */
  const OLD = ['key-before-persons', 'key-of-key-before-persons'] as const;
  const PAIRS: [Route, Route][] = [...ROUTES.map((a) => [a, 'token'] as [Route, Route]), ...OLD.map((b) => ['token', b] as [Route, Route]), ...OLD.flatMap((a) => OLD.map((b) => [a, b] as [Route, Route]))];
  const keyIdOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;

  /**
   * Second routes through another subject: a guest alice gives her set after the first act through a key (or a key of a
   * key) from before persons were kept. Four eyes count it as hers (sod.ts madeSecondBy), the giving read up the keys.
   */
  const GUEST_ROUTES = ['guest-by-key-before-persons', 'guest-by-key-of-key-before-persons'] as const;
  type GuestRoute = (typeof GUEST_ROUTES)[number];

  /** alice's credential through `route`, her keys on `set`; the ids of keys stored as from before persons were kept. */
  async function credential(w: World, route: Route | GuestRoute, set: string, legacyIds: string[]): Promise<string> {
    if (route === 'guest-by-key-before-persons' || route === 'guest-by-key-of-key-before-persons') {
      const key = await credential(w, route === 'guest-by-key-before-persons' ? 'key-before-persons' : 'key-of-key-before-persons', set, legacyIds);
      await ok(w, assign('guest', set, key));
      return 'guest';
    }
    if (route === 'token') return 'alice';
    const first = await mint(w, 'alice', set);
    const key = route === 'key' || route === 'key-before-persons' ? first : await mint(w, first, set);
    if (route === 'key-before-persons') legacyIds.push(keyIdOf(first));
    if (route === 'key-of-key-before-persons') legacyIds.push(keyIdOf(first), keyIdOf(key));
    return key;
  }

  /**
   * Everything stored as before persons were kept for the keys `legacyIds`: the keys name their maker by subject and kind
   * only, and so does every record made through them (a document, a hold, a hold by query, a proposal, a grant).
   */
  async function asBeforePersons(w: World, legacyIds: readonly string[]): Promise<void> {
    const subjects = new Set(legacyIds.map((id) => `apikey:${id}`));
    const strip = (v: unknown, depth = 0): void => {
      if (!v || typeof v !== 'object' || depth > 8) return;
      const o = v as Record<string, unknown>;
      if (typeof o.subject === 'string' && subjects.has(o.subject) && 'person' in o) delete o.person;
      // An approval is sealed, with its approver: one from before persons were kept would be unsealed and witnessed instead.
      for (const [k, child] of Object.entries(o)) if (k !== 'disposalApproval') strip(child, depth + 1);
    };
    for (const id of legacyIds) {
      const key = keyFromBeforeTheSeal(w, id) as unknown as { createdBy: { subject: string; kind: string; person?: string } };
      key.createdBy = { subject: key.createdBy.subject, kind: key.createdBy.kind };
    }
    for (const { value } of w.deps.tenantRecords.records.values()) {
      const record = value as { type?: string; createdBy?: { subject?: string }; mac?: unknown; keyVersion?: unknown };
      // A grant from before persons were kept is from before the archive sealed grants too (key-seal.ts).
      if (record.type === 'support-grant' && subjects.has(record.createdBy?.subject ?? '')) {
        delete record.mac;
        delete record.keyVersion;
      }
      strip(value);
    }
    for (const doc of w.deps.catalog.documents.values()) strip(doc);
    // A proposal is sealed over its proposer: one from before persons were kept is sealed as found (reseal-proposals.ts).
    await resealProposals(w.deps);
  }

  /** alice holds `set` (as stored, by root): the act needs it. */
  const holding = (w: World, set: string) => seedAssignment(w, 'alice', set, w.clock.now());

  interface Cell {
    name: string;
    /** alice's set for the first act, and for the second. */
    sets: [string, string];
    first: (w: World, as: string) => Promise<Record<string, string>>;
    second: (c: Record<string, string>, as: string, w: World) => Call | Promise<Call>;
    /** The refusal (status, code, rule), or for a bulk approval her document skipped, or a withdrawal answered as hers. */
    refused: { status: number; code: string; rule?: string };
  }
  const due = async (w: World, as: string) => {
    const id = await dueDoc(w, as);
    w.clock.set(new Date(Date.UTC(w.clock.now().getUTCFullYear() + 1, 0, 2)));
    return { id };
  };
  const place = async (w: World, as: string) => {
    const id = await dueDoc(w, 'alice');
    return { id, holdId: (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as }, 201)).json.id as string };
  };
  const CELLS: Cell[] = [
    { name: 'uploads, then approves its disposal', sets: ['archkeys', 'tenant-admin'], first: due, second: (c, as, w) => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [c.id] }, as }), refused: SOD('uploader-approves-disposal').refused },
    { name: 'uploads, then approves everything due', sets: ['archkeys', 'tenant-admin'], first: due, second: (_c, as, w) => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as }), refused: { status: 201, code: 'skipped', rule: 'segregation-of-duties:uploader-approves-disposal' } },
    { name: 'places a hold, then releases it', sets: ['archkeys', 'tenant-admin'], first: place, second: (c, as) => ({ method: 'DELETE', path: `documents/${c.id}/legal-holds/${c.holdId}`, body: { reason: 'Closed' }, as }), refused: { status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' } },
    {
      name: 'places a hold by query, then releases it everywhere',
      sets: ['archkeys', 'tenant-admin'],
      first: async (w, as) => {
        await dueDoc(w, 'alice');
        return { holdId: (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: 'LG-9', query: { counterparty: 'ACME GmbH' } }, as }, 201)).json.holdId as string };
      },
      second: (c, as) => ({ method: 'DELETE', path: `legal-holds/${c.holdId}`, body: { reason: 'Closed' }, as }),
      refused: { status: 403, code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' },
    },
    { name: 'proposes weakening the SoD policy, then approves it', sets: ['tenant-admin', 'tenant-admin'], first: async (w, as) => ({ id: await proposeSodWeakening(w, as) }), second: (c, as) => ({ method: 'POST', path: `sod-policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }), refused: SOD('four-eyes-sod-policy').refused },
    { name: 'proposes lowering the retention safeguards, then approves it', sets: ['records', 'records'], first: async (w, as) => ({ id: await proposeRetentionLowering(w, as) }), second: (c, as) => ({ method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as }), refused: SOD('four-eyes-retention-policy').refused },
    // Not a refusal: her own close of her proposal is a withdrawal, not another person's rejection.
    { name: 'proposes weakening the SoD policy, then closes it (withdrawn)', sets: ['tenant-admin', 'tenant-admin'], first: async (w, as) => ({ id: await proposeSodWeakening(w, as) }), second: (c, as) => ({ method: 'DELETE', path: `sod-policy/proposals/${c.id}`, as }), refused: { status: 200, code: 'withdrawn' } },
    { name: 'proposes lowering the retention safeguards, then closes it (withdrawn)', sets: ['records', 'records'], first: async (w, as) => ({ id: await proposeRetentionLowering(w, as) }), second: (c, as) => ({ method: 'DELETE', path: `retention/policy/proposals/${c.id}`, as }), refused: { status: 200, code: 'withdrawn' } },
    // The second act is always staff alice's token: provider staff have no keys.
    { name: 'gives a support grant, then acts under it as provider staff', sets: ['tenant-admin', 'tenant-admin'], first: async (w, as) => (await ok(w, grantSupport(w, as), 201), {}), second: () => ({ method: 'GET', path: 'documents', as: 'support.alice' }), refused: SOD('support-self-granted').refused },
  ];

  /** Run one cell: alice's first act through `firstRoute`, then the second act by `second` (alice through a route, or bob). */
  async function run(cell: Cell, firstRoute: Route, second: Route | GuestRoute | 'bob'): Promise<{ w: World; ctx: Record<string, string>; answer: Answer; before: string }> {
    const w = newWorld('tenant');
    seedAssignment(w, 'bob', cell.sets[1]);
    const legacyIds: string[] = [];
    holding(w, cell.sets[0]);
    later(w);
    const ctx = await cell.first(w, await credential(w, firstRoute, cell.sets[0], legacyIds));
    later(w);
    holding(w, cell.sets[1]);
    later(w);
    const as = second === 'bob' ? 'bob' : await credential(w, second, cell.sets[1], legacyIds);
    await asBeforePersons(w, legacyIds);
    later(w);
    await settle(w);
    const before = stored(w);
    const answer = await send(w, await cell.second(ctx, as, w));
    await settle(w);
    return { w, ctx, answer, before };
  }

  // Provider staff act with their token only; a guest's close of a proposal is another subject's (rejected), so no guests there.
  const pairsOf = (cell: Cell): [Route, Route | GuestRoute][] =>
    cell.name.includes('provider staff') ? ROUTES.map((a) => [a, 'token']) : [...PAIRS, ...(cell.refused.code === 'withdrawn' ? [] : GUEST_ROUTES.map((g) => ['key-of-key-before-persons', g] as [Route, GuestRoute]))];
  const table = CELLS.flatMap((cell) => pairsOf(cell).map(([a, b]) => [cell.name, a, b, cell] as const));
  it.each(table)('%s: first through %s, second through %s', async (_name, firstRoute, secondRoute, cell) => {
    const { w, ctx, answer, before } = await run(cell, firstRoute, secondRoute);
    const got = [answer.status, answer.json?.code, answer.json?.rule];
    if (cell.refused.code === 'withdrawn') expect([answer.status, answer.json?.state]).toEqual([200, 'withdrawn']);
    else if (cell.refused.code === 'skipped') {
      expect([answer.status, answer.json?.approved, answer.json?.skipped]).toEqual([201, [], [{ id: ctx.id, reason: cell.refused.rule }]]);
      expect(w.deps.catalog.documents.get(`${TENANT}/${ctx.id}`)?.disposalApproval).toBeUndefined();
    } else {
      expect(got).toEqual([cell.refused.status, cell.refused.code, cell.refused.rule]);
      expect(stored(w)).toBe(before);
    }
  });

  // Rules about one act on the person herself (her assignment, the set she holds): the act through every route.
  const SELF: [string, string, (as: string) => Call, string][] = [
    ['assigns herself a rights set', 'tenant-admin', (as) => assign('alice', 'accountant', as), 'self-assignment'],
    ['removes her own rights assignment', 'tenant-admin', (as) => ({ method: 'DELETE', path: 'rights-assignments/alice', as }), 'self-assignment'],
    ['changes the rights set she holds', 'admins2', (as) => ({ method: 'PUT', path: 'rights-sets/admins2', body: { permissions: ADMIN.filter((p) => p !== 'support:grant') }, as }), 'own-rights'],
  ];
  // Through a token and today's keys, the sweep above judges these; here the keys from before persons were kept.
  it.each(SELF.flatMap(([name, set, call, rule]) => OLD.map((r) => [name, r, set, call, rule] as const)))('%s, through %s', async (_name, route, set, call, rule) => {
    const w = newWorld('tenant');
    holding(w, set);
    later(w);
    const legacyIds: string[] = [];
    const as = await credential(w, route, set, legacyIds);
    await asBeforePersons(w, legacyIds);
    later(w);
    await settle(w);
    const before = stored(w);
    const answer = await send(w, call(as));
    expect([answer.status, answer.json?.code, answer.json?.rule]).toEqual([403, 'segregation_of_duties', rule]);
    await settle(w);
    expect(stored(w)).toBe(before);
  });

  // approver-lowers-safeguards counts what her keys carry: a key (or a key of a key) from before persons were kept, minted
  // while she was tenant-admin, is hers after she became a records manager.
  it.each(OLD)('a records manager whose %s carries retention:approve may not lower the safeguards', async (route) => {
    const w = newWorld('tenant');
    holding(w, 'tenant-admin');
    later(w);
    const legacyIds: string[] = [];
    await credential(w, route, 'tenant-admin', legacyIds);
    await asBeforePersons(w, legacyIds);
    holding(w, 'records');
    later(w);
    const answer = await send(w, await retentionLowering(w, 'alice'));
    expect([answer.status, answer.json?.code, answer.json?.rule]).toEqual([403, 'segregation_of_duties', 'approver-lowers-safeguards']);
  });

  /**
   * The sweep judges the uploader rule again on every approval it acts on: alice uploads through one route, approves
   * through another while the tenant had the rule off, the rule is turned on again; the sweep must keep her document.
   */
  async function swept(firstRoute: Route, second: Route | 'bob'): Promise<{ w: World; id: string }> {
    const w = newWorld('tenant');
    await requireApproval(w);
    const legacyIds: string[] = [];
    holding(w, 'archkeys');
    later(w);
    const { id } = await due(w, await credential(w, firstRoute, 'archkeys', legacyIds));
    holding(w, 'tenant-admin');
    later(w);
    const as = second === 'bob' ? 'bob' : await credential(w, second, 'tenant-admin', legacyIds);
    const rights = w.deps.rights as { policy: (...a: never[]) => Promise<{ uploaderCannotApproveDisposal: boolean }> };
    const policy = rights.policy.bind(rights);
    rights.policy = async (...a: never[]) => ({ ...(await policy(...a)), uploaderCannotApproveDisposal: false });
    await ok(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [id] }, as }, 201);
    rights.policy = policy;
    await asBeforePersons(w, legacyIds);
    w.clock.advance(40 * 86400_000);
    await sweepNow(w);
    return { w, id };
  }
  it.each(PAIRS)('the disposal sweep: uploaded through %s, approved through %s (rule off then): kept', async (firstRoute, secondRoute) => {
    const { w, id } = await swept(firstRoute, secondRoute);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)?.disposalApproval?.approvedBy.person).toBe('alice');
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)?.status).not.toBe('disposed');
  });
  it('control: the disposal sweep disposes of what bob approved', async () => {
    const { w, id } = await swept('key-of-key-before-persons', 'bob');
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)?.status ?? 'gone').toBe('disposed');
  });

  // Controls: bob, another person, does the second act after alice's first through a key-of-key from before persons.
  it.each(CELLS.filter((c) => !c.name.includes('provider staff')).map((c) => [c.name, c] as const))('control: %s, the second act by bob', async (_name, cell) => {
    const { ctx, answer } = await run(cell, 'key-of-key-before-persons', 'bob');
    if (cell.refused.code === 'withdrawn') expect([answer.status, answer.json?.state]).toEqual([200, 'rejected']);
    else if (cell.refused.code === 'skipped') expect(answer.json?.approved).toEqual([ctx.id]);
    else expect(answer.status).toBeLessThan(300);
  });
});
