import { ArchiveError } from '../../../shared/kernel/errors';
import { checkStatedFiscalYear, checkTenantPolicy, DEFAULT_POLICY, fiscalYearOf, loweredSafeguards, resolveRetention, retainUntil, retainUntilFor } from '../../../shared/retention/policy';
import { disposalBlocker } from '../../../shared/kernel/retention-rules';
import type { ArchivedDocument } from '../../../shared/kernel/document';

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as ArchiveError).code;
  }
  return null;
};

describe('retention class arithmetic', () => {
  it('fiscal-7y: until the end of the 7th year after the end of the fiscal year (art. 52 AWR)', () => {
    expect(retainUntil('fiscal-7y', 2024)).toBe('2032-01-01T00:00:00.000Z');
    expect(retainUntil('immovable-property-10y', 2024)).toBe('2035-01-01T00:00:00.000Z');
  });

  it('a document of 31 December and one of 1 January fall in different fiscal years', () => {
    const archived = new Date('2025-06-01T00:00:00Z');
    const dec31 = resolveRetention(DEFAULT_POLICY, { documentDate: '2023-12-31' }, archived);
    const jan1 = resolveRetention(DEFAULT_POLICY, { documentDate: '2024-01-01' }, archived);
    expect(dec31).toEqual({ fiscalYear: 2023, retention: { class: 'fiscal-7y', retainUntil: '2031-01-01T00:00:00.000Z' } });
    expect(jan1).toEqual({ fiscalYear: 2024, retention: { class: 'fiscal-7y', retainUntil: '2032-01-01T00:00:00.000Z' } });
  });

  it('archived at the year end without a date: the year of archiving in Amsterdam, never the UTC year before it', () => {
    expect(fiscalYearOf({}, new Date('2024-12-31T22:59:59.999Z'))).toBe(2024);
    // 00:30 on 1 January 2025 in Amsterdam: fiscal year 2025, kept until 2033, not 2032.
    expect(fiscalYearOf({}, new Date('2024-12-31T23:30:00.000Z'))).toBe(2025);
    expect(resolveRetention(DEFAULT_POLICY, {}, new Date('2024-12-31T23:30:00.000Z')).retention.retainUntil).toBe('2033-01-01T00:00:00.000Z');
    // A year ending in June: 00:30 on 1 July in summer time is 22:30 UTC on 30 June.
    expect(fiscalYearOf({}, new Date('2025-06-30T22:30:00.000Z'), 6)).toBe(2026);
    expect(fiscalYearOf({}, new Date('2025-06-30T21:59:59.999Z'), 6)).toBe(2025);
    expect(fiscalYearOf({ fiscalYear: 2019, documentDate: '2024-05-05' }, new Date())).toBe(2019);
  });

  it('a leap day document is kept for the same whole years as any other day of its year', () => {
    expect(resolveRetention(DEFAULT_POLICY, { documentDate: '2024-02-29' }, new Date('2024-03-01')).retention.retainUntil).toBe('2032-01-01T00:00:00.000Z');
  });

  it('fiscal years ending in February: the end of February of the last year, 28th or 29th', () => {
    const feb = { ...DEFAULT_POLICY, fiscalYearEndMonth: 2 };
    // FY 2021 = Mar 2020 .. Feb 2021; +7 years ends 29 Feb 2028 (leap year): kept until 1 March 2028.
    expect(fiscalYearOf({ documentDate: '2020-03-01' }, new Date(), 2)).toBe(2021);
    expect(fiscalYearOf({ documentDate: '2020-02-29' }, new Date(), 2)).toBe(2020);
    expect(resolveRetention(feb, { documentDate: '2020-03-01' }, new Date()).retention.retainUntil).toBe('2028-03-01T00:00:00.000Z');
    expect(retainUntilFor(7, 2024, 2)).toBe('2031-03-01T00:00:00.000Z');
    // The instant before retain-until is still 29 February in a leap year.
    expect(new Date(new Date(retainUntilFor(7, 2021, 2)).getTime() - 1).toISOString()).toBe('2028-02-29T23:59:59.999Z');
  });

  it('fiscal years ending in June: a July document belongs to the next fiscal year', () => {
    expect(fiscalYearOf({ documentDate: '2024-06-30' }, new Date(), 6)).toBe(2024);
    expect(fiscalYearOf({ documentDate: '2024-07-01' }, new Date(), 6)).toBe(2025);
    expect(retainUntilFor(7, 2025, 6)).toBe('2032-07-01T00:00:00.000Z');
  });
});

describe('tenant retention policies', () => {
  it('may add longer classes and choose the default', () => {
    const policy = { ...DEFAULT_POLICY, classes: [{ name: 'contracts-12y', years: 12 }], defaultClass: 'contracts-12y' };
    expect(() => checkTenantPolicy(policy)).not.toThrow();
    expect(resolveRetention(policy, { fiscalYear: 2024 }, new Date()).retention).toEqual({ class: 'contracts-12y', retainUntil: '2037-01-01T00:00:00.000Z' });
    expect(resolveRetention(policy, { fiscalYear: 2024, retentionClass: 'fiscal-7y' }, new Date()).retention.class).toBe('fiscal-7y');
  });

  it('never below the legal floor of 7 years, never redefining a built-in class, default must exist', () => {
    expect(code(() => checkTenantPolicy({ ...DEFAULT_POLICY, classes: [{ name: 'short', years: 6 }] }))).toBe('retention_below_legal_floor');
    expect(code(() => checkTenantPolicy({ ...DEFAULT_POLICY, classes: [{ name: 'fiscal-7y', years: 8 }] }))).toBe('invalid_retention_policy');
    expect(code(() => checkTenantPolicy({ ...DEFAULT_POLICY, defaultClass: 'nope' }))).toBe('invalid_retention_policy');
    expect(code(() => resolveRetention(DEFAULT_POLICY, { retentionClass: 'nope' }, new Date()))).toBe('invalid_metadata');
  });
});

describe('what keeps a document from disposal', () => {
  const doc = (over: Partial<ArchivedDocument>) => ({ status: 'active', legalHold: false, holds: [], retention: { class: 'fiscal-7y', retainUntil: '2032-01-01T00:00:00.000Z' }, ...over }) as ArchivedDocument;
  it('judges retain-until to the millisecond, then holds, then approval', () => {
    expect(disposalBlocker(doc({}), new Date('2031-12-31T23:59:59.999Z'), false)).toBe('not-expired');
    expect(disposalBlocker(doc({}), new Date('2032-01-01T00:00:00.000Z'), false)).toBeNull();
    expect(disposalBlocker(doc({ legalHold: true }), new Date('2040-01-01'), false)).toBe('legal-hold');
    expect(disposalBlocker(doc({}), new Date('2040-01-01'), true)).toBe('approval-required');
    const approval = { approvalId: 'a', approvedAt: '2031-06-01T00:00:00.000Z', approvedBy: { subject: 's', kind: 'user' }, reason: 'r', retainUntil: '2032-01-01T00:00:00.000Z' };
    expect(disposalBlocker(doc({ disposalApproval: approval }), new Date('2040-01-01'), true)).toBeNull();
    // An extension after the approval voids it.
    expect(disposalBlocker(doc({ disposalApproval: approval, retention: { class: 'fiscal-7y', retainUntil: '2035-01-01T00:00:00.000Z' } }), new Date('2040-01-01'), true)).toBe('approval-required');
  });
});

describe('what a policy change lowers', () => {
  const strict = { ...DEFAULT_POLICY, requireDisposalApproval: true, classes: [{ name: 'contracts-12y', years: 12 }, { name: 'permits-20y', years: 20 }], defaultClass: 'contracts-12y' };
  it('names approval off, a shortened class, a shorter default and an earlier fiscal-year end', () => {
    expect(loweredSafeguards(strict, strict)).toEqual([]);
    expect(loweredSafeguards(strict, { ...strict, requireDisposalApproval: false })).toEqual(['disposal-approval-off']);
    expect(loweredSafeguards(strict, { ...strict, classes: [{ name: 'contracts-12y', years: 10 }, { name: 'permits-20y', years: 20 }], defaultClass: 'permits-20y' })).toEqual(['class-shortened:contracts-12y']);
    expect(loweredSafeguards(strict, { ...strict, defaultClass: 'fiscal-7y' })).toEqual(['default-class-shorter']);
    expect(loweredSafeguards(strict, { ...strict, fiscalYearEndMonth: 6 })).toEqual(['fiscal-year-end-earlier']);
  });
  it('a later fiscal-year end lowers too: documents dated after the old end fall into the fiscal year before', () => {
    const june = { ...strict, fiscalYearEndMonth: 6 };
    // A July 2024 invoice: fiscal year 2025 (ends June 2025) → 1 July 2032; with December: fiscal year 2024 → 1 January 2032.
    expect(resolveRetention(june, { documentDate: '2024-07-15', retentionClass: 'fiscal-7y' }, new Date()).retention.retainUntil).toBe('2032-07-01T00:00:00.000Z');
    expect(resolveRetention(strict, { documentDate: '2024-07-15', retentionClass: 'fiscal-7y' }, new Date()).retention.retainUntil).toBe('2032-01-01T00:00:00.000Z');
    expect(loweredSafeguards(june, strict)).toEqual(['fiscal-year-end-later']);
  });
  it('raising a safeguard, adding a class or dropping an unused one lowers nothing', () => {
    expect(loweredSafeguards(DEFAULT_POLICY, strict)).toEqual([]);
    expect(loweredSafeguards(strict, { ...strict, classes: [...strict.classes, { name: 'extra-9y', years: 9 }] })).toEqual([]);
    expect(loweredSafeguards(strict, { ...strict, classes: [{ name: 'contracts-12y', years: 12 }] })).toEqual([]);
  });
});

describe('a stated fiscal year against the document date', () => {
  it('may be the date\'s fiscal year, a later one or the one before; an earlier one is refused', () => {
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-05-01', fiscalYear: 2024 }))).toBeNull();
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-05-01', fiscalYear: 2023 }))).toBeNull();
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-05-01', fiscalYear: 2026 }))).toBeNull();
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-05-01', fiscalYear: 2022 }))).toBe('invalid_metadata');
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-05-01', fiscalYear: 1990 }))).toBe('invalid_metadata');
    expect(code(() => checkStatedFiscalYear({ fiscalYear: 2017 }))).toBeNull(); // no date: back-scanning an old year
  });

  it('follows the tenant\'s fiscal year end: a July date in a year ending in June belongs to the next year', () => {
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-07-15', fiscalYear: 2024 }, 6))).toBeNull();
    expect(code(() => checkStatedFiscalYear({ documentDate: '2024-07-15', fiscalYear: 2023 }, 6))).toBe('invalid_metadata');
  });
});
