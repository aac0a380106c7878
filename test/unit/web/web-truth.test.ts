/**
 * Does the web app say something untrue? What a screen shows against what the archive holds, for screens whose
 * judgement is a plain function: see README (web-truth).
 */
import { en } from '../../../web/src/i18n/en';
import { nl } from '../../../web/src/i18n/nl';
import { firstAuditParam, nextAuditParam, type AuditTrailParam } from '../../../web/src/lib/audit-trail';
import { fieldMessage } from '../../../web/src/lib/field-message';
import { metadataValue } from '../../../web/src/lib/metadata-form';
import { retentionProposalChanges } from '../../../web/src/lib/retention-changes';
import { typedNumber } from '../../../web/src/lib/typed-number';

/** The number of months a query reads, as the API counts them (at most 24). */
const months = (from: string, to: string) => (Number(to.slice(0, 4)) - Number(from.slice(0, 4))) * 12 + Number(to.slice(5, 7)) - Number(from.slice(5, 7)) + 1;

describe("a document's audit trail", () => {
  const now = new Date('2026-12-06T17:00:00Z');

  it('reads back to the archiving of a document kept for years, 24 months per query, never only the latest 24', () => {
    // Before, the trail read the last 24 months only: a document archived in 2021 showed "No audit entries yet".
    const createdAt = '2021-03-15T23:30:00.000Z';
    const windows: AuditTrailParam['window'][] = [];
    let param: AuditTrailParam | undefined = firstAuditParam(createdAt, now);
    while (param) {
      windows.push(param.window);
      param = nextAuditParam({ continuationToken: null }, param, createdAt, now);
    }
    expect(windows).toEqual([
      { from: '2025-01-01' },
      { from: '2023-01-01', to: '2024-12-31' },
      { from: '2021-03-15', to: '2022-12-31' },
    ]);
    for (const w of windows) expect(months(w.from, w.to ?? now.toISOString())).toBeLessThanOrEqual(24);
  });

  it('keeps to its window while the API has more of it, and stops at the month of a recent archiving', () => {
    const createdAt = '2026-02-01T08:00:00.000Z';
    const first = firstAuditParam(createdAt, now);
    expect(first).toEqual({ window: { from: '2026-02-01' } });
    expect(nextAuditParam({ continuationToken: 'tok' }, first, createdAt, now)).toEqual({ window: { from: '2026-02-01' }, token: 'tok' });
    expect(nextAuditParam({}, { window: first.window, token: 'tok' }, createdAt, now)).toBeUndefined();
  });
});

describe('a number typed into a form', () => {
  it('is never read as another number: "1,000" and "1.000" are a thousand to one reader and one to another, so they go to the API as typed', () => {
    // Before, an English "1,000" and a Dutch "1.000" were both sent as 1: a receipt of a thousand archived, corrected or
    // searched as one. As typed, the API refuses them beside the field ("without a thousands separator").
    for (const typed of ['1,000', '1.000', '12.345', '-999,000', ' 100.000 ']) {
      expect(typedNumber(typed)).toBe(typed.trim());
      expect(metadataValue('amount', typed.trim())).toBe(typed.trim());
    }
    expect(fieldMessage('Invalid input: expected number, received string', en)).toBe(en.problem.notANumber);
    expect(fieldMessage('must be a number in decimal digits', nl)).toBe(nl.problem.notANumber);
  });

  it('reads what only one way of writing means: a decimal comma or point, fewer or more than three decimals, a leading zero', () => {
    const read: Array<[string, number]> = [['1234.50', 1234.5], ['1234,50', 1234.5], ['12,5', 12.5], ['1000', 1000], ['0,125', 0.125], ['0.125', 0.125], ['1234.567', 1234.567], ['1,0000', 1], ['-12,50', -12.5], [' 7 ', 7]];
    for (const [typed, number] of read) expect(typedNumber(typed)).toBe(number);
    for (const text of ['1.234,56', '1,234.56', '12 345', 'abc', '1e3']) expect(typedNumber(text)).toBe(text);
  });
});

describe('a proposed change of the retention policy, as the second person is shown it', () => {
  const month = (m: number) => ['', 'January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'][m]!;
  const base = { classes: [{ name: 'vastgoed-12y', years: 12 }, { name: 'contracten-10y', years: 10 }], defaultClass: 'contracten-10y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };

  it('shows everything it applies, not only what it lowers, and each lowering beside the value in force', () => {
    // Broke (red team 25): the card listed only `lowers` in their new values ("Class vastgoed-12y then keeps documents
    // only 11 years"): the removal of a class, the new default class, a new class and a new description applied with
    // the approval, unseen by the person who gave it.
    const proposal = {
      base,
      policy: { classes: [{ name: 'vastgoed-12y', years: 11 }, { name: 'overig-8y', years: 8, description: 'Wettelijke termijn' }], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 6 },
      lowers: ['class-shortened:vastgoed-12y', 'default-class-shorter', 'fiscal-year-end-earlier'],
    };
    expect(retentionProposalChanges(proposal, en, month)).toEqual([
      'Class vastgoed-12y then keeps documents only 11 years (now 12)',
      'The default class becomes fiscal-7y, which keeps documents fewer years (now contracten-10y)',
      'The fiscal year then ends in June (now December)',
      'Adds class overig-8y, which keeps documents 8 years',
      'Class overig-8y is then described as “Wettelijke termijn”',
      'Removes class contracten-10y (10 years); documents archived in it keep their retention',
    ]);
    expect(retentionProposalChanges(proposal, nl, month)).toHaveLength(6);
  });

  it('shows a change that lowers nothing against the strongest policy: the fiscal year end moved back, a description removed', () => {
    // Broke (red team 26): `lowers` is judged against the strongest policy that has applied, the rest against the base;
    // a fiscal year end moved back to the strongest policy's month lowers nothing and was shown nowhere, nor a class's
    // description removed, and the approval applied both.
    const described = { ...base, classes: [{ name: 'vastgoed-12y', years: 12, description: 'Onroerend goed' }, base.classes[1]!], fiscalYearEndMonth: 6 };
    const proposal = { base: described, policy: { ...base, fiscalYearEndMonth: 12 }, lowers: [] };
    expect(retentionProposalChanges(proposal, en, month)).toEqual(['Class vastgoed-12y then has no description', 'The fiscal year then ends in December (now June)']);
    expect(retentionProposalChanges(proposal, nl, month)).toHaveLength(2);
  });

  it('a lowering alone reads as before, with the value in force', () => {
    const proposal = { base, policy: { ...base, requireDisposalApproval: false }, lowers: ['disposal-approval-off'] };
    expect(retentionProposalChanges(proposal, en, month)).toEqual([en.retention.lowers.approvalOff]);
  });
});
