/**
 * Does the web app say something untrue? What a screen shows against what the archive holds, for screens whose
 * judgement is a plain function: see README (web-truth).
 */
import { en } from '../../../web/src/i18n/en';
import { nl } from '../../../web/src/i18n/nl';
import { firstAuditParam, nextAuditParam, type AuditTrailParam } from '../../../web/src/lib/audit-trail';
import { fieldMessage } from '../../../web/src/lib/field-message';
import { metadataValue } from '../../../web/src/lib/metadata-form';
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
