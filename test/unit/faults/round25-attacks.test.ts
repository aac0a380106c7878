/**
 * Red team 25: what the second person sees is what is applied. A valid account with the right to propose (or a tenant
 * admin) against a careful colleague who approves a weakening of the SoD policy, a lowering of the retention
 * safeguards, a disposal or a hold's release. Each case marked "Broke" fails without its fix; the others held.
 */
import { ok, world, later, type World } from '../../support/in-process';

const approvals = (w: World, action: string) => w.deps.audit.entries.filter((e) => e.action === action && e.outcome === 'success' && e.status === 200);

/** `as` proposes `body` as the SoD policy over the one in force: its proposal's id. */
async function proposeSod(w: World, body: object, as = 'alice'): Promise<string> {
  const read = await ok(w, { method: 'GET', path: 'sod-policy', as });
  return (await ok(w, { method: 'PUT', path: 'sod-policy', body, headers: { 'If-Match': read.headers.ETag! }, as }, 202)).json.id as string;
}

describe('the audit entry of an approval states what it applied', () => {
  // Broke: the approval's entry named only the policy after it (`conflicts=none;uploader-rule=off`), and the proposal's
  // entry only `proposed`: an auditor could not see what the approval took away (the default policy it replaced has no
  // entry of its own). The retention approval's entry names what it lowered; this one now names what it weakened.
  it('an SoD approval names the pairs it removed and the uploader rule turned off', async () => {
    const w = world();
    const id = await proposeSod(w, { conflicts: [], uploaderCannotApproveDisposal: false });
    later(w);
    await ok(w, { method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'agreed' }, as: 'bob' });
    expect(approvals(w, 'sod-policy.proposal-approve').map((e) => e.detail)).toEqual([
      expect.stringMatching(/^conflicts=none;uploader-rule=off;weakened=conflict-removed:documents:write×retention:approve,uploader-rule-off;kept-revision=\d+;kept-digest=[0-9a-f]{64}$/),
    ]);
  });

  it('held: a retention approval names the policy it applied and what it lowered', async () => {
    const w = world();
    await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ['documents:read', 'retention:manage'] }, as: 'carol' });
    for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
    const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
    await ok(w, { method: 'PUT', path: 'retention/policy', body: { classes: [{ name: 'vastgoed-12y', years: 12 }], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 }, headers: { 'If-Match': read.headers.ETag! }, as: 'rm1' }, 200);
    const again = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
    later(w);
    const id = (await ok(w, { method: 'PUT', path: 'retention/policy', body: { classes: [{ name: 'vastgoed-12y', years: 9 }], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 }, headers: { 'If-Match': again.headers.ETag! }, as: 'rm1' }, 202)).json.id as string;
    later(w);
    await ok(w, { method: 'POST', path: `retention/policy/proposals/${id}/approve`, body: { reason: 'agreed' }, as: 'rm2' });
    expect(approvals(w, 'retention.policy-proposal-approve').map((e) => e.detail)).toEqual([expect.stringMatching(/^approval=required;fiscal-year-end=12;default=fiscal-7y;classes=fiscal-7y:7,immovable-property-10y:10,vastgoed-12y:9;lowered=class-shortened:vastgoed-12y;/)]);
  });
});
