/**
 * A four-eyes refusal in the reader's words: someone refused as the first person's second identity (their rights given
 * by that person after the act, or through someone that person gave rights to) is told so, naming the person, not
 * told that they did it themselves, which a colleague refused this way would read as wrong.
 */
import { en } from '../../../web/src/i18n/en';
import { nl } from '../../../web/src/i18n/nl';
import { failedExportProblem, problemSentence } from '../../../web/src/lib/problem-sentence';
import type { Problem } from '../../../web/src/problem';

const refusal = (code: Problem['code'], rule: string, extra: Record<string, unknown> = {}): Problem => ({ type: 'about:blank', title: 't', status: 403, code, requestId: 'r', rule, ...extra });

it.each([
  ['segregation_of_duties', 'four-eyes-sod-policy', 'proposed'],
  ['segregation_of_duties', 'four-eyes-retention-policy', 'proposed'],
  ['segregation_of_duties', 'uploader-approves-disposal', 'archived'],
  ['four_eyes_required', 'four-eyes:legal-hold-release', 'placed'],
] as const)('%s %s: the first person themselves, or a second identity of theirs', (code, rule, act) => {
  const self = problemSentence(refusal(code, rule), en).join(' ');
  expect(self).not.toContain('Your rights were given');
  const second = problemSentence(refusal(code, rule, { approverRightsGivenBy: 'alice', approverRightsGivenThrough: 'rights-assignment by guest-1, who was given rights-assignment' }), en).join(' ');
  expect(second).toContain('Your rights were given after');
  expect(second).toContain(act);
  expect(second).toContain('alice');
  expect(second).not.toMatch(/yourself/);
  expect(problemSentence(refusal(code, rule, { approverRightsGivenBy: 'alice' }), nl).join(' ')).toContain('alice');
  // A chain too long to follow names nobody.
  expect(problemSentence(refusal(code, rule, { approverRightsGivenBy: '' }), en).join(' ')).toContain('too long');
});

it('a retention lowering approved with rights a disposal approver gave since it was proposed: names that person, in en and nl', () => {
  const given = refusal('segregation_of_duties', 'retention-approver-given-by-approver', { proposedBy: 'guest-1', approverRightsGivenBy: 'carol' });
  expect(problemSentence(given, en).join(' ')).toMatch(/given after this change of the retention policy was proposed, by carol .*who may approve disposals/);
  expect(problemSentence(given, nl).join(' ')).toMatch(/door carol .*vernietiging mag goedkeuren/);
});

// Broke: a failed export was shown as `internal` whatever its reason: "something went wrong", never "narrow it".
it.each([
  ['export_stalled: The export\'s worker stopped 3 times', 'export_stalled', /narrow the selection/i, /selectie kleiner/],
  ['export_incomplete: The export would have left out documents', 'export_incomplete', /start it again later/, /later opnieuw/],
  ['internal', 'internal', /./, /./],
  ['made_up_code: text', 'internal', /./, /./],
  [undefined, 'internal', /./, /./],
] as const)('a failed export whose reason is %s reads as %s', (error, code, inEn, inNl) => {
  const p = failedExportProblem(error, 'req-1', en);
  expect(p.code).toBe(code);
  expect(problemSentence(p, en).join(' ')).toMatch(inEn);
  expect(problemSentence(failedExportProblem(error, 'req-1', nl), nl).join(' ')).toMatch(inNl);
});
