import { ArchiveError } from '../http/errors';
import type { Permission, Principal } from './types';

/** Closed list of segregation-of-duties rules; a refusal names its rule (problem+json `rule`, audit `detail`). */
export const SOD_RULES = {
  'self-assignment': 'Nobody assigns a rights set to, or removes one from, themselves.',
  'own-rights': 'Nobody changes or deletes the rights set they hold themselves.',
  'conflicting-permissions': 'The tenant declared these permissions as conflicting: one principal may not hold both.',
  'uploader-approves-disposal': 'The uploader of a document cannot approve its disposal.',
  'approver-lowers-safeguards':
    'A principal who may approve disposals (retention:approve) cannot lower the retention safeguards (turn off required approval, shorten a class, move the default to a shorter class, end the fiscal year earlier); a principal with retention:manage and without retention:approve can.',
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

export function sodRefusal(rule: SodRule, extensions: Record<string, unknown> = {}): ArchiveError {
  return new ArchiveError('segregation_of_duties', { detail: SOD_RULES[rule], extensions: { rule, ...extensions } });
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

/** Same human, whatever credential: a principal's identity for four-eyes checks. */
export function sameActor(principal: Pick<Principal, 'subject' | 'kind'>, other: { subject: string; kind?: string }): boolean {
  return principal.subject === other.subject && (other.kind === undefined || other.kind === principal.kind);
}

/** For retention (issue #4): call at action time before approving a disposal. */
export function assertMayApproveDisposal(principal: Principal, uploadedBy: { subject: string; kind?: string }, policy: SodPolicy): void {
  if (policy.uploaderCannotApproveDisposal && sameActor(principal, uploadedBy)) throw sodRefusal('uploader-approves-disposal');
}

/**
 * For the retention policy (always on, like the legal-hold four-eyes rule): whoever may approve
 * disposals must not also be able to switch that control off or shorten retention, else one
 * principal could both remove the safeguard and act under it. `lowered` names what the change lowers.
 */
export function assertMayLowerSafeguards(principal: Principal, lowered: string[]): void {
  if (lowered.length > 0 && principal.permissions.has('retention:approve')) throw sodRefusal('approver-lowers-safeguards', { lowered });
}

/*
 * Legal holds: the placer of a hold cannot release it. Enforced by shared/retention/holds.ts
 * (issue #4; code four_eyes_required, rule four-eyes:legal-hold-release), for every tenant.
 */
