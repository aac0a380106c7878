import fc from 'fast-check';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { CATALOG_RULES, disposalBlocker, satisfies } from '../../../shared/kernel/retention-rules';

const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }).map((t) => new Date(t).toISOString());

/** Just the fields the retention rules read; a document whose holds agree with its `legalHold` flag. */
const doc = fc
  .record({ status: fc.constantFrom('active', 'disposing', 'disposed'), retainUntil: instant, held: fc.boolean(), audited: fc.boolean() })
  .map(({ status, retainUntil, held, audited }) => ({
    status,
    retention: { class: 'fiscal-7y', retainUntil },
    legalHold: held,
    holds: held ? [{ id: 'h', reason: 'audit', placedAt: retainUntil }] : [],
    ...(status === 'active' ? {} : { disposal: { audited } }),
  }) as unknown as ArchivedDocument);

describe('retention rules: the catalog query and the in-memory check are one rule', () => {
  it('an active document is sweep work exactly when nothing but an approval could block its disposal', () => {
    fc.assert(
      fc.property(doc, instant, (d, now) => {
        fc.pre(d.status === 'active');
        expect(satisfies(d, CATALOG_RULES.sweepWork, { now })).toBe(disposalBlocker(d, new Date(now), false) === null);
      }),
    );
  });

  it('where approval is required, an active document is sweep work exactly when it may be disposed of with approval required (an approval within its lead)', () => {
    // An approval for its retain-until, another one's, or none; given within APPROVAL_LEAD_DAYS of it (as every approval is).
    const approval = fc.constantFrom('same', 'other', 'none');
    fc.assert(
      fc.property(doc, instant, approval, (d, now, a) => {
        fc.pre(d.status === 'active');
        const retainUntil = a === 'same' ? d.retention.retainUntil : '2019-01-01T00:00:00.000Z';
        const withApproval = a === 'none' ? d : ({ ...d, disposalApproval: { approvalId: 'ap', approvedAt: d.retention.retainUntil, approvedBy: { subject: 'ann', kind: 'user' }, reason: 'r', retainUntil } } as ArchivedDocument);
        expect(satisfies(withApproval, CATALOG_RULES.sweepWorkApproved, { now })).toBe(disposalBlocker(withApproval, new Date(now), true) === null);
        // Never more than the sweep's work without it.
        if (satisfies(withApproval, CATALOG_RULES.sweepWorkApproved, { now })) expect(satisfies(withApproval, CATALOG_RULES.sweepWork, { now })).toBe(true);
      }),
    );
  });

  it('unfinished disposals are always sweep work until audited; disposed and audited never', () => {
    fc.assert(
      fc.property(doc, instant, (d, now) => {
        fc.pre(d.status !== 'active');
        const unfinished = d.status === 'disposing' || d.disposal?.audited === false;
        expect(satisfies(d, CATALOG_RULES.sweepWork, { now })).toBe(unfinished);
      }),
    );
  });

  it('due by an instant means active with retention over by then', () => {
    fc.assert(
      fc.property(doc, instant, (d, before) => {
        expect(satisfies(d, CATALOG_RULES.due, { before })).toBe(d.status === 'active' && d.retention.retainUntil <= before);
      }),
    );
  });
});
