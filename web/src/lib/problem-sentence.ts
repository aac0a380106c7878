/**
 * The API's problem+json as sentences in the reader's language: what went wrong, and the segregation-of-duties or
 * four-eyes rule or missing permission behind a refusal. Pure, so the screens and the tests share it.
 */
import type { Problem } from '../problem';
import type { Dictionary } from '../i18n/en';
import { inWords } from './permissions';

export function problemSentence(problem: Problem, t: Dictionary): string[] {
  const sentences = [t.problem.problems[problem.code] ?? problem.title];
  const rule = typeof problem.rule === 'string' ? problem.rule : undefined;
  // A second identity refused (its rights given by the first person after the act, or through someone they gave rights
  // to): say that, not "you did it yourself", which a colleague refused this way would read as wrong.
  const givenBy = typeof problem.approverRightsGivenBy === 'string' ? problem.approverRightsGivenBy : undefined;
  const madeSecond = rule !== undefined && givenBy !== undefined ? (givenBy === '' ? t.problem.madeSecondUnresolved : t.problem.madeSecond[rule]?.(givenBy)) : undefined;
  if (madeSecond) sentences.push(madeSecond);
  else if (problem.code === 'segregation_of_duties' && rule) sentences.push(t.problem.sod[rule] ?? '');
  // Which pair conflicts, or which permissions lie beyond the caller's own: the person can act on that.
  const [a, b] = Array.isArray(problem.conflict) ? problem.conflict : [];
  if (problem.code === 'segregation_of_duties' && a && b) sentences.push(t.problem.conflictPair(permissionName(a, t), permissionName(b, t)));
  if (problem.code === 'segregation_of_duties' && Array.isArray(problem.permissions) && problem.permissions.length > 0) sentences.push(t.problem.beyondCeiling(problem.permissions.map((p) => permissionName(p, t))));
  if (problem.code === 'four_eyes_required' && rule && !madeSecond) sentences.push(t.problem.fourEyes[rule] ?? '');
  if (problem.code === 'forbidden' && problem.permission) sentences.push(t.problem.missingPermission(problem.permission));
  return sentences.filter(Boolean);
}

/** `documents:read` in the reader's words, with the technical name an administrator may look for. */
export function permissionName(permission: string, t: Dictionary): string {
  return inWords(permission, t.permissions);
}

/**
 * A failed export's reason (the job's `error`: `<code>: <message>`, or `internal`) as a problem, so it reads in the
 * reader's words. Shown as `internal` whatever its code, a stalled or incomplete export told the accountant only that
 * something went wrong, not to narrow the search or to start it again later.
 */
export function failedExportProblem(error: string | undefined, requestId: string, t: Dictionary): Problem {
  const code = /^([a-z_]+)(?::|$)/.exec(error ?? '')?.[1];
  const known = code !== undefined && Object.hasOwn(t.problem.problems, code) ? (code as Problem['code']) : 'internal';
  return { type: 'about:blank', title: error ?? '', status: 500, code: known, requestId, ...(error ? { detail: error } : {}) };
}
