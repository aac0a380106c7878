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
