import fc from 'fast-check';
import { DEFAULT_POLICY, loweredSafeguards, nextSafeguards, safeguardsOf } from '../../../shared/retention/policy';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';

/** Random valid policies over a few class names, so sequences remove and re-add classes. */
const policy: fc.Arbitrary<TTenantRetentionPolicy> = fc
  .record({
    classes: fc.uniqueArray(fc.record({ name: fc.constantFrom('contracts', 'payroll', 'permits'), years: fc.integer({ min: 7, max: 20 }) }), { selector: (c) => c.name, maxLength: 3 }),
    requireDisposalApproval: fc.boolean(),
    fiscalYearEndMonth: fc.integer({ min: 1, max: 12 }),
    pick: fc.nat(),
  })
  .map(({ classes, requireDisposalApproval, fiscalYearEndMonth, pick }) => {
    const names = ['fiscal-7y', 'immovable-property-10y', ...classes.map((c) => c.name)];
    return { classes, requireDisposalApproval, fiscalYearEndMonth, defaultClass: names[pick % names.length]! };
  });

const yearsOf = (p: TTenantRetentionPolicy, name: string) => safeguardsOf(p).classYears[name];

describe('retention safeguards are judged against the strongest policy that has applied (#12.7)', () => {
  it('whatever sequence an approver tries, no accepted policy is weaker than any accepted before it, in any safeguard', () => {
    fc.assert(
      fc.property(fc.array(policy, { minLength: 1, maxLength: 12 }), (attempts) => {
        let mark = safeguardsOf(DEFAULT_POLICY);
        const accepted: TTenantRetentionPolicy[] = [DEFAULT_POLICY];
        for (const p of attempts) {
          const lowered = loweredSafeguards(mark, p);
          if (lowered.length > 0) continue; // refused to an approver
          mark = nextSafeguards(mark, p, lowered);
          for (const earlier of accepted) {
            for (const [name, years] of Object.entries(safeguardsOf(p).classYears)) {
              if ((yearsOf(earlier, name) ?? 0) > years) return false;
            }
            if (earlier.requireDisposalApproval && !p.requireDisposalApproval) return false;
            if (safeguardsOf(earlier).defaultClassYears > safeguardsOf(p).defaultClassYears) return false;
            if (earlier.fiscalYearEndMonth !== p.fiscalYearEndMonth) return false; // either way shortens some documents
          }
          accepted.push(p);
        }
        return true;
      }),
      { numRuns: 500 },
    );
  });

  it('removing a class and adding it back shorter lowers it; a lowering a non-approver made becomes the new mark', () => {
    const twelve = { ...DEFAULT_POLICY, classes: [{ name: 'contracts', years: 12 }] };
    const without = DEFAULT_POLICY;
    const eight = { ...DEFAULT_POLICY, classes: [{ name: 'contracts', years: 8 }] };
    let mark = nextSafeguards(safeguardsOf(DEFAULT_POLICY), twelve, []);
    expect(loweredSafeguards(mark, without)).toEqual([]);
    mark = nextSafeguards(mark, without, []);
    expect(loweredSafeguards(mark, eight)).toEqual(['class-shortened:contracts']);
    // A records manager without retention:approve may lower it; from then on 8 years is the mark.
    mark = nextSafeguards(mark, eight, loweredSafeguards(mark, eight));
    expect(loweredSafeguards(mark, eight)).toEqual([]);
    expect(loweredSafeguards(mark, { ...DEFAULT_POLICY, classes: [{ name: 'contracts', years: 7 }] })).toEqual(['class-shortened:contracts']);
  });
});

describe('moving the fiscal-year end', () => {
  it('is refused to an approver either way (a tenant-admin moving June to December would keep July invoices half a year less); a records manager proposes it, a second one approves', async () => {
    const { setRetentionPolicy } = await import('../../../shared/retention/set-retention-policy');
    const { setPolicyWithSecondPerson } = await import('../../support/retention-policy');
    const { BUILT_IN_RIGHTS_SETS } = await import('../../../shared/kernel/principal');
    const { inMemoryDeps } = await import('../../support/in-memory');
    const deps = inMemoryDeps();
    const user = (subject: string, permissions: readonly string[]) => ({ tenantId: 'acme', subject, kind: 'user' as const, rightsSet: 'x', permissions: new Set(permissions) }) as Parameters<typeof setRetentionPolicy>[0];
    const manager = user('bob', ['retention:manage']);
    const admin = user('alice', BUILT_IN_RIGHTS_SETS['tenant-admin']!);
    const at = (fiscalYearEndMonth: number) => ({ ...DEFAULT_POLICY, requireDisposalApproval: true, fiscalYearEndMonth });
    await setPolicyWithSecondPerson(manager, at(6), deps);
    await expect(setRetentionPolicy(admin, at(12), deps)).rejects.toMatchObject({ extensions: { rule: 'approver-lowers-safeguards', lowered: ['fiscal-year-end-later'] } });
    await expect(setRetentionPolicy(admin, at(3), deps)).rejects.toMatchObject({ extensions: { rule: 'approver-lowers-safeguards', lowered: ['fiscal-year-end-earlier'] } });
    expect((await deps.retention.policies.get('acme'))?.fiscalYearEndMonth).toBe(6);
    // A records manager only proposes it; a second one approves, and then it applies.
    await expect(setRetentionPolicy(manager, at(12), deps)).resolves.toMatchObject({ proposed: { lowers: ['fiscal-year-end-later'] } });
    expect((await deps.retention.policies.get('acme'))?.fiscalYearEndMonth).toBe(6);
    await setPolicyWithSecondPerson(manager, at(12), deps);
    expect((await deps.retention.policies.get('acme'))?.fiscalYearEndMonth).toBe(12);
    await expect(setRetentionPolicy(admin, at(12), deps)).resolves.toMatchObject({ applied: { policy: { fiscalYearEndMonth: 12 } } });
  });
});
