import { ArchiveError } from '../kernel/errors';
import { type Permission, type Principal, personHolds, personOf } from '../kernel/principal';

/** Closed list of segregation-of-duties rules; a refusal names its rule (problem+json `rule`, audit `detail`). */
export const SOD_RULES = {
  'self-assignment': 'Nobody assigns a rights set to, or removes one from, themselves (nor through an API key of theirs).',
  'rights-ceiling': 'Nobody grants a permission they do not hold: an API key, a rights assignment or an added permission of a rights set carries only permissions its creator holds; nor removes an assignment (which hands the person the set their identity provider claims, where rights come from the tenant, then the claim) without holding what everyone who placed it held.',
  'rights-floor': 'Nobody takes from a person a permission of the tenant-admin set they do not hold themselves: replacing or removing a rights assignment, removing a permission from a rights set, or deleting a set, may take away only such permissions the changer holds (documents:write, holds:place and retention:extend, outside that set, anyone with rights:manage may take).',
  'own-rights': 'Nobody changes or deletes the rights set they hold themselves.',
  'conflicting-permissions': 'The tenant declared these permissions as conflicting: one principal may not hold both.',
  'uploader-approves-disposal': 'The uploader of a document cannot approve its disposal.',
  'approver-lowers-safeguards':
    'A principal who may approve disposals (retention:approve) cannot lower the retention safeguards (turn off required approval, shorten a class, move the default to a shorter class, move the fiscal-year end either way) below the strongest policy that has applied, nor through an API key of theirs: neither propose such a lowering nor approve one. A person with retention:manage and without retention:approve proposes it, and a second such person approves it.',
  'support-self-granted': 'A support-access grant is the tenant\'s consent for provider staff: whoever gave it (nor through an API key of theirs) cannot act under it as provider staff; another person of the tenant must grant it.',
  'four-eyes-sod-policy':
    'A change that weakens the segregation-of-duties policy (removes a conflicting pair, or lets the uploader approve disposal) is only proposed; a second person with rights:manage approves it. The proposer cannot approve it, nor through an API key of theirs, nor through someone they gave rights to after proposing it (nor someone such a person gave rights to since).',
  'four-eyes-retention-policy':
    'A change that lowers the retention safeguards is only proposed; a second person with retention:manage (and without retention:approve) approves it. The proposer cannot approve it, nor through an API key of theirs, nor through someone they gave rights to after proposing it (nor someone such a person gave rights to since).',
  'retention-approver-given-by-approver':
    'Nobody approves a lowering of the retention safeguards with rights given to them after it was proposed (anywhere up the chain of givers) by a person who may approve disposals (retention:approve): that person could make a second identity and approve a lowering through it.',
} as const;
export type SodRule = keyof typeof SOD_RULES;

export interface SodPolicy {
  /** Permission pairs no single principal (user, key or rights set) may hold together. */
  conflicts: [Permission, Permission][];
  uploaderCannotApproveDisposal: boolean;
}

/** Applies until a tenant stores its own (`PUT /sod-policy`). */
export const DEFAULT_SOD_POLICY: SodPolicy = {
  conflicts: [['documents:write', 'retention:approve']],
  uploaderCannotApproveDisposal: true,
};

/**
 * Just the policy's rules, from a stored record or a request body (their other fields dropped). A stored record is read
 * on the safe side: every version of the archive wrote both fields, so one missing, null or of another form was restored,
 * half written or edited by hand. Read as they were, an uploader rule that was not `false` was off (an uploader approved
 * the disposal of their own upload) and conflicts that were not a list failed every request judged by the policy.
 * Anything but `false` keeps the uploader rule on; conflicts that are not a list are the default's.
 */
export const sodPolicyOf = (p: SodPolicy): SodPolicy => ({
  conflicts: Array.isArray(p.conflicts) ? readablePairs(p.conflicts) : DEFAULT_SOD_POLICY.conflicts,
  uploaderCannotApproveDisposal: (p.uploaderCannotApproveDisposal as unknown) !== false,
});

const isPair = (c: unknown): c is [Permission, Permission] => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && typeof c[1] === 'string';

/**
 * A stored list of conflicts, a pair in it that cannot be read aside: that pair is not known, so the default's pairs hold
 * beside the readable ones. Taken as read, a pair stored as text was destructured into its first two letters (a conflict
 * no one holds) and null or an object failed every request the policy judges.
 */
function readablePairs(conflicts: unknown[]): [Permission, Permission][] {
  const pairs = conflicts.filter(isPair);
  if (pairs.length === conflicts.length) return pairs;
  const known = new Set(pairs.map(pairKey));
  return [...pairs, ...DEFAULT_SOD_POLICY.conflicts.filter((c) => !known.has(pairKey(c)))];
}

export function sodRefusal(rule: SodRule, extensions: Record<string, unknown> = {}): ArchiveError {
  return new ArchiveError('segregation_of_duties', { detail: SOD_RULES[rule], extensions: { rule, ...extensions } });
}

/** How long a proposed weakening of the SoD policy waits for a second person before it lapses. */
export const SOD_PROPOSAL_LIFETIME_DAYS = 7;

const pairKey = ([a, b]: readonly [Permission, Permission]) => (a < b ? `${a}×${b}` : `${b}×${a}`);

/**
 * What `after` weakens compared with `before`: each declared pair it no longer declares
 * (`conflict-removed:<a>×<b>`, halves in sorted order, whichever way round either policy lists them) and
 * `uploader-rule-off` when the uploader may approve disposal again. Empty for a change that only
 * strengthens or keeps the policy: such a change applies at once, a weakening needs a second person.
 */
export function weakenedBy(before: SodPolicy, after: SodPolicy): string[] {
  const kept = new Set(after.conflicts.map(pairKey));
  const removed = [...new Set(before.conflicts.map(pairKey))].filter((k) => !kept.has(k)).sort().map((k) => `conflict-removed:${k}`);
  return before.uploaderCannotApproveDisposal && !after.uploaderCannotApproveDisposal ? [...removed, 'uploader-rule-off'] : removed;
}

/**
 * The policy as its audit entry names it (`conflicts=a×b,…;uploader-rule=on|off`, pairs sorted): the stored policy keeps
 * no history, so without it the log could not show which pairs were declared, or that the uploader rule was off, for a while.
 */
export function sodPolicyAuditDetail(policy: SodPolicy): string {
  const pairs = [...new Set(policy.conflicts.map(pairKey))].sort();
  return `conflicts=${pairs.join(',') || 'none'};uploader-rule=${policy.uploaderCannotApproveDisposal ? 'on' : 'off'}`;
}

/** The same rules, whatever the order or duplication of the pairs. */
export const samePolicy = (a: SodPolicy, b: SodPolicy): boolean => weakenedBy(a, b).length === 0 && weakenedBy(b, a).length === 0;

/** A rights set as a policy sees it: what it grants and who holds it now. */
export interface RightsHolding {
  rightsSet: string;
  permissions: readonly Permission[];
  /** Subjects the set is assigned to. */
  subjects: string[];
  /** Unrevoked API keys acting with the set. */
  apiKeys: string[];
  /** The principal changing the policy holds it (an assignment or its token's rights claim). */
  caller: boolean;
}

/**
 * The holdings a policy would make conflicting: a tenant set (held or not: its definition would break
 * the policy), or a built-in set somebody holds. A stronger policy is refused while any exist, naming
 * them, so nobody keeps (or is silently locked out by) a pair the tenant just declared.
 */
export function heldConflicts(policy: SodPolicy, holdings: readonly RightsHolding[]): (RightsHolding & { conflict: [Permission, Permission] })[] {
  return holdings.flatMap((h) => {
    const conflict = conflictIn(h.permissions, policy);
    return conflict ? [{ ...h, conflict }] : [];
  });
}

/** The first declared conflicting pair that `permissions` holds completely, if any. */
export function conflictIn(permissions: Iterable<Permission>, policy: SodPolicy): [Permission, Permission] | null {
  const held = new Set(permissions);
  return policy.conflicts.find(([a, b]) => held.has(a) && held.has(b)) ?? null;
}

export function assertNoConflict(permissions: Iterable<Permission>, policy: SodPolicy, extensions: Record<string, unknown> = {}): void {
  const pair = conflictIn(permissions, policy);
  if (pair) throw sodRefusal('conflicting-permissions', { conflict: pair, ...extensions });
}

/**
 * Same accountable person, whatever credential (an API key acts for the person who created it):
 * the identity every SoD and four-eyes check compares. A record from before persons were kept
 * names only its subject, which then stands for the person.
 */
export function samePerson(principal: Pick<Principal, 'subject' | 'person'>, other: { subject: string; kind?: string; person?: string }): boolean {
  // A stored person that is there but not a name (null, '', a number: restored, half written or edited by hand) may be
  // anyone. Read as `person ?? subject`, null stood for a key's id, and the person behind the key was a second person to
  // themselves (approving the disposal of their own upload, releasing their own hold).
  // Either side: a stored approver read up a key that cannot be read (withKeyPerson: '') is anyone too. Broke: read on
  // the second side only, the disposal sweep, comparing two stored actors, took such an approver for a second person.
  const unknown = (p: unknown) => p !== undefined && (typeof p !== 'string' || p === '');
  if (unknown(other.person) || unknown(principal.person)) return true;
  return principal.subject === other.subject || personOf(principal) === personOf(other);
}

/**
 * Rights ceiling: nobody grants what they do not hold. `granted` are the permissions a new key, a
 * rights assignment or a rights-set change would hand out; any beyond the creator's own is a 403
 * naming them (`permissions`).
 */
export function assertWithinCeiling(principal: Pick<Principal, 'permissions'>, granted: Iterable<Permission>, extensions: Record<string, unknown> = {}): void {
  const exceeding = [...new Set(granted)].filter((p) => !principal.permissions.has(p)).sort();
  if (exceeding.length > 0) throw sodRefusal('rights-ceiling', { permissions: exceeding, ...extensions });
}

/** For retention (issue #4): call at action time before approving a disposal. */
export function assertMayApproveDisposal(principal: Principal, uploadedBy: { subject: string; kind?: string; person?: string }, policy: SodPolicy, madeSecond: RightsGiven | null = null): void {
  // `madeSecond`: rights the uploader gave the approver after the upload (madeSecondBy): not a second person either.
  if (!policy.uploaderCannotApproveDisposal) return;
  if (samePerson(principal, uploadedBy)) throw sodRefusal('uploader-approves-disposal');
  if (madeSecond) throw sodRefusal('uploader-approves-disposal', { uploadedBy: personOf(uploadedBy), approverRightsGivenBy: personOf(madeSecond.by), approverRightsGivenAt: madeSecond.at, approverRightsGivenThrough: madeSecond.through });
}

/**
 * For the retention policy (always on, like the legal-hold four-eyes rule): whoever may approve
 * disposals must not also be able to switch that control off or shorten retention, else one
 * principal could both remove the safeguard and act under it. `lowered` names what the change lowers.
 * It is the person who must not hold retention:approve, through any credential: an approver's
 * retention:manage key is refused as the approver is.
 */
export function assertMayLowerSafeguards(principal: Principal, lowered: string[], heldThroughKeys: ReadonlySet<Permission> = new Set()): void {
  if (lowered.length > 0 && (personHolds(principal, 'retention:approve') || heldThroughKeys.has('retention:approve'))) throw sodRefusal('approver-lowers-safeguards', { lowered });
}

/*
 * Legal holds: the placer of a hold cannot release it. Enforced by shared/retention/holds/release-hold.ts
 * (issue #4; code four_eyes_required, rule four-eyes:legal-hold-release), for every tenant.
 */

/** How a person came by the rights they act with: their rights assignment, or a rights set widened (sod.ts `madeSecondBy`). */
export interface RightsGiven {
  /** `rights-assignment`, or `rights-set:<name>` for a permission added to that set. */
  through: string;
  at: string;
  by: { subject: string; person?: string };
  /**
   * The chain of givers was too long to follow (`at` empty), or a record on it dropped givings as old as `at` (rights-given.ts):
   * whoever the first person is, not judged a second person when `at` is empty or not before the act.
   */
  unresolved?: true;
}

/**
 * Four eyes, for the second person: what of `approver`'s rights `first`'s person gave at or after `since`
 * (the act they now approve or undo), if anything: their rights assignment, or a permission added to a rights
 * set they act with. Such a person may be a second identity of the first (a guest account given rights for the
 * purpose, or assigned a harmless set earlier and that set widened now), so they do not count as a second person.
 * `approver` holds the givings up the chain too (rights-given.ts), each dated by the earliest giving on its way; a chain
 * too long to follow matches whoever `first` is.
 */
export function madeSecondBy(approver: readonly RightsGiven[], first: { subject: string; person?: string }, since: string): RightsGiven | null {
  return approver.find((g) => (g.unresolved && g.at === '') || (g.at >= since && (g.unresolved || samePerson({ subject: g.by.subject, person: personOf(g.by) }, first)))) ?? null;
}
