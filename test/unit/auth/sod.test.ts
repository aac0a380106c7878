import fc from 'fast-check';
import { assertMayApproveDisposal, assertMayLowerSafeguards, assertWithinCeiling, conflictIn, DEFAULT_SOD_POLICY, samePerson, SodPolicy } from '../../../shared/auth/sod';
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

  it('lowering safeguards looks at what the person holds, not only the credential', () => {
    const managerKey: Principal = { ...principal('apikey:0456'), kind: 'client', person: 'carol', permissions: new Set<Permission>(['retention:manage']), personPermissions: new Set<Permission>(['retention:manage', 'retention:approve']) };
    expect(refusal(() => assertMayLowerSafeguards(managerKey, ['disposal-approval-off'])).rule).toBe('approver-lowers-safeguards');
    expect(() => assertMayLowerSafeguards({ ...managerKey, personPermissions: new Set<Permission>(['retention:manage']) }, ['disposal-approval-off'])).not.toThrow();
  });
});
