import { assertMayApproveDisposal, conflictIn, DEFAULT_SOD_POLICY, SodPolicy } from '../../../shared/auth/sod';
import type { Permission, Principal } from '../../../shared/auth/types';
import { ArchiveError } from '../../../shared/http/errors';

const principal = (subject: string, kind: Principal['kind'] = 'user'): Principal => ({ tenantId: 'acme', subject, kind, rightsSet: 'tenant-admin', permissions: new Set<Permission>(['retention:approve', 'holds:release']) });

function refusal(fn: () => void): { code: string; rule: unknown; status: number } {
  try {
    fn();
  } catch (err) {
    if (err instanceof ArchiveError) return { code: err.code, rule: err.extensions.rule, status: err.status };
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
