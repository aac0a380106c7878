import fc from 'fast-check';
import { samePersonUpTheKeys } from '../../../shared/auth/api-keys/verify-api-key';
import { assertMayApproveDisposal, assertMayLowerSafeguards, assertWithinCeiling, conflictIn, DEFAULT_SOD_POLICY, heldConflicts, samePerson, samePolicy, SOD_RULES, SodPolicy, weakenedBy } from '../../../shared/auth/sod';
import { PERMISSIONS, type Permission, type Principal } from '../../../shared/kernel/principal';
import { ArchiveError } from '../../../shared/kernel/errors';
import { statusOf } from '../../../shared/http/problem';

const principal = (subject: string, kind: Principal['kind'] = 'user'): Principal => ({ tenantId: 'acme', subject, kind, rightsSet: 'tenant-admin', permissions: new Set<Permission>(['retention:approve', 'holds:release']) });

function refusal(fn: () => void): { code: string; rule: unknown; status: number } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArchiveError) return { code: err.code, rule: err.extensions.rule, status: statusOf(err.code) };
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('segregation of duties (action-time rules)', () => {
  it('the uploader of a document cannot approve its disposal; someone else can', () => {
    expect(refusal(() => assertMayApproveDisposal(principal('alice'), { subject: 'alice', kind: 'user' }, DEFAULT_SOD_POLICY))).toEqual({ code: 'segregation_of_duties', rule: 'uploader-approves-disposal', status: 403 });
    expect(() => assertMayApproveDisposal(principal('bob'), { subject: 'alice', kind: 'user' }, DEFAULT_SOD_POLICY)).not.toThrow();
    // A tenant may switch the rule off.
    expect(() => assertMayApproveDisposal(principal('alice'), { subject: 'alice' }, { ...DEFAULT_SOD_POLICY, uploaderCannotApproveDisposal: false })).not.toThrow();
  });

  it('finds a declared conflicting pair only when both halves are held', () => {
    const policy: SodPolicy = { ...DEFAULT_SOD_POLICY, conflicts: [['documents:write', 'retention:approve'], ['keys:manage', 'audit:read']] };
    expect(conflictIn(['documents:write', 'documents:read'], policy)).toBeNull();
    expect(conflictIn(['audit:read', 'documents:read', 'keys:manage'], policy)).toEqual(['keys:manage', 'audit:read']);
  });
});

describe('rights ceiling and person-level identity (#12.5, #12.6)', () => {
  const perms = fc.subarray([...PERMISSIONS]);

  it('a grant passes exactly when every granted permission is held, and a refusal names exactly the excess', () => {
    fc.assert(
      fc.property(perms, perms, (held, granted) => {
        const holder = { permissions: new Set<Permission>(held) };
        const excess = granted.filter((p) => !held.includes(p)).sort();
        try {
          assertWithinCeiling(holder, granted);
          return excess.length === 0;
        } catch (err) {
          return err instanceof ArchiveError && err.code === 'segregation_of_duties' && err.extensions.rule === 'rights-ceiling' && JSON.stringify(err.extensions.permissions) === JSON.stringify(excess);
        }
      }),
    );
  });

  it('a key is the person who created it: its uploads, holds and approvals compare by person; old records by subject', () => {
    const key: Principal = { ...principal('apikey:0123'), kind: 'client', person: 'alice' };
    expect(samePerson(key, { subject: 'alice', kind: 'user' })).toBe(true);
    expect(samePerson(principal('alice'), { subject: 'apikey:0123', kind: 'client', person: 'alice' })).toBe(true);
    expect(samePerson(key, { subject: 'apikey:0123', kind: 'client' })).toBe(true);
    expect(samePerson(key, { subject: 'bob', kind: 'user' })).toBe(false);
    expect(refusal(() => assertMayApproveDisposal(key, { subject: 'alice', kind: 'user', person: 'alice' }, DEFAULT_SOD_POLICY)).rule).toBe('uploader-approves-disposal');
  });

  it('two stored actors compare up the keys the same way on both sides; one whose key cannot be read may be anyone (round 10)', async () => {
    // K1 minted by alice before persons were kept (no person), K2 minted through K1 then too; K9 cannot be read.
    const [K1, K2, K9] = ['a1'.repeat(12), 'b2'.repeat(12), 'c9'.repeat(12)];
    const keys: Record<string, { createdBy: { subject: string; kind: string; person?: string } }> = { [K1]: { createdBy: { subject: 'alice', kind: 'user' } }, [K2]: { createdBy: { subject: `apikey:${K1}`, kind: 'client' } } };
    const read = async (id: string) => keys[id] as never;
    const by = (subject: string, person?: string) => ({ subject, kind: subject.startsWith('apikey:') ? 'client' : 'user', ...(person !== undefined ? { person } : {}) });
    const cases: [string, ReturnType<typeof by>, ReturnType<typeof by>, boolean][] = [
      ['uploaded through K2, approved by her token', by(`apikey:${K2}`), by('alice', 'alice'), true],
      ['approved through K1, uploaded through K2', by(`apikey:${K1}`), by(`apikey:${K2}`), true],
      ['approved through a key that cannot be read', by(`apikey:${K9}`), by('alice', 'alice'), true],
      ['approved with its person blank', by(`apikey:${K9}`, ''), by('alice', 'alice'), true],
      ['bob approves what K2 uploaded', by('bob', 'bob'), by(`apikey:${K2}`), false],
    ];
    for (const [name, a, b, same] of cases) expect([name, await samePersonUpTheKeys(a, b, read)]).toEqual([name, same]);
  });

  it('lowering safeguards looks at what the person holds, not only the credential', () => {
    const managerKey: Principal = { ...principal('apikey:0456'), kind: 'client', person: 'carol', permissions: new Set<Permission>(['retention:manage']), personPermissions: new Set<Permission>(['retention:manage', 'retention:approve']) };
    expect(refusal(() => assertMayLowerSafeguards(managerKey, ['disposal-approval-off'])).rule).toBe('approver-lowers-safeguards');
    expect(() => assertMayLowerSafeguards({ ...managerKey, personPermissions: new Set<Permission>(['retention:manage']) }, ['disposal-approval-off'])).not.toThrow();
  });
});

describe('weakening the SoD policy needs a second person: what counts as a weakening', () => {
  const W: [Permission, Permission] = ['documents:write', 'retention:approve'];
  const policy = (conflicts: [Permission, Permission][], uploaderCannotApproveDisposal = true): SodPolicy => ({ conflicts, uploaderCannotApproveDisposal });

  it('names each removed pair and the uploader rule turned off; adding pairs or turning the rule on weakens nothing', () => {
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([]))).toEqual(['conflict-removed:documents:write×retention:approve']);
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([W], false))).toEqual(['uploader-rule-off']);
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([], false))).toEqual(['conflict-removed:documents:write×retention:approve', 'uploader-rule-off']);
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([W, ['audit:read', 'keys:manage']]))).toEqual([]);
    expect(weakenedBy(policy([W], false), policy([W], true))).toEqual([]);
    // A mixed change (one pair swapped for another) is a weakening.
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([['audit:read', 'keys:manage']]))).toEqual(['conflict-removed:documents:write×retention:approve']);
  });

  it('a pair is the same pair either way round, and listing it twice changes nothing', () => {
    expect(weakenedBy(DEFAULT_SOD_POLICY, policy([['retention:approve', 'documents:write']]))).toEqual([]);
    expect(weakenedBy(policy([W, W, ['retention:approve', 'documents:write']]), policy([W]))).toEqual([]);
    expect(samePolicy(policy([W, ['keys:manage', 'audit:read']]), policy([['audit:read', 'keys:manage'], ['retention:approve', 'documents:write']]))).toBe(true);
    expect(samePolicy(DEFAULT_SOD_POLICY, policy([W], false))).toBe(false);
  });

  it('property: nothing is weakened exactly when every pair is kept and the uploader rule is not turned off', () => {
    const pair = fc.tuple(fc.constantFrom(...PERMISSIONS), fc.constantFrom(...PERMISSIONS)).filter(([a, b]) => a !== b);
    const arbPolicy = fc.record({ conflicts: fc.array(pair, { maxLength: 6 }), uploaderCannotApproveDisposal: fc.boolean() });
    fc.assert(
      fc.property(arbPolicy, arbPolicy, (before, after) => {
        const key = ([a, b]: [Permission, Permission]) => [a, b].sort().join(' ');
        const kept = new Set(after.conflicts.map(key));
        const safe = before.conflicts.every((p) => kept.has(key(p))) && (!before.uploaderCannotApproveDisposal || after.uploaderCannotApproveDisposal);
        return (weakenedBy(before, after).length === 0) === safe && weakenedBy(before, before).length === 0;
      }),
    );
  });

  it('a stronger policy names every holding it would make conflicting, and only those', () => {
    const holding = (rightsSet: string, permissions: Permission[], subjects: string[] = []) => ({ rightsSet, permissions, subjects, apiKeys: [], caller: false });
    const stronger = policy([W, ['documents:download', 'audit:read']]);
    const found = heldConflicts(stronger, [holding('auditor', ['documents:read', 'documents:download', 'audit:read'], ['erin']), holding('uploader', ['documents:read', 'documents:write'])]);
    expect(found.map((h) => [h.rightsSet, h.conflict, h.subjects])).toEqual([['auditor', ['documents:download', 'audit:read'], ['erin']]]);
    expect(heldConflicts(DEFAULT_SOD_POLICY, [holding('auditor', ['documents:download', 'audit:read'])])).toEqual([]);
  });

  it('the four-eyes rule is declared, and a changed policy or conflicting holders answer 409', () => {
    expect(SOD_RULES['four-eyes-sod-policy']).toMatch(/second person/);
    expect(statusOf('sod_policy_changed')).toBe(409);
    expect(statusOf('conflicting_rights_held')).toBe(409);
  });
});
