/**
 * Red team 25: what the second person sees is what is applied. A valid account with the right to propose (or a tenant
 * admin) against a careful colleague who approves a weakening of the SoD policy, a lowering of the retention
 * safeguards, a disposal or a hold's release. Each case marked "Broke" fails without its fix; the others held.
 */
import { ok, send, world, later, type World } from '../../support/in-process';

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

/** A records set (retention:manage, not retention:approve) for rm1 and rm2; the policy rm1 stores first: its ETag. */
async function recordsManagers(w: World): Promise<void> {
  await ok(w, { method: 'PUT', path: 'rights-sets/records', body: { permissions: ['documents:read', 'retention:manage'] }, as: 'carol' });
  for (const rm of ['rm1', 'rm2']) await ok(w, { method: 'PUT', path: `rights-assignments/${rm}`, body: { rightsSet: 'records' }, as: 'carol' });
}
const retentionBody = (years: number, extra: object = {}) => ({ classes: [{ name: 'vastgoed-12y', years }], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12, ...extra });
async function putRetention(w: World, body: object, as: string, status: number) {
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  return ok(w, { method: 'PUT', path: 'retention/policy', body, headers: { 'If-Match': read.headers.ETag! }, as }, status);
}

describe('held: what the second person approves is what was listed', () => {
  it('an SoD proposal applies only over its base: a pair added after it was listed is not silently removed by the approval', async () => {
    const w = world();
    const id = await proposeSod(w, { conflicts: [], uploaderCannotApproveDisposal: true });
    const listed = (await ok(w, { method: 'GET', path: 'sod-policy/proposals', as: 'bob' })).json.items;
    // Meanwhile the proposer strengthens the policy (applies at once): approving the proposal as listed would drop the new pair too.
    const read = await ok(w, { method: 'GET', path: 'sod-policy', as: 'alice' });
    await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [['documents:write', 'retention:approve'], ['holds:place', 'holds:release']], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as: 'alice' }, 200);
    later(w);
    const r = await send(w, { method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'agreed' }, as: 'bob' });
    expect([r.status, r.json.code]).toEqual([409, 'sod_policy_changed']);
    expect((await ok(w, { method: 'GET', path: 'sod-policy/proposals', as: 'bob' })).json.items).toEqual(listed);
    expect((await ok(w, { method: 'GET', path: 'sod-policy', as: 'bob' })).json.conflicts).toHaveLength(2);
  });

  it('a retention proposal cannot be changed under its id, and applies only over the version it was proposed on', async () => {
    const w = world();
    await recordsManagers(w);
    await putRetention(w, retentionBody(12), 'rm1', 200);
    later(w);
    const first = (await putRetention(w, retentionBody(11), 'rm1', 202)).json;
    // The same person proposing another change over the same version makes another proposal: the first keeps its content.
    const second = (await putRetention(w, retentionBody(7, { requireDisposalApproval: false }), 'rm1', 202)).json;
    expect(second.id).not.toBe(first.id);
    const listed = (await ok(w, { method: 'GET', path: 'retention/policy/proposals', as: 'rm2' })).json.items as { id: string; policy: unknown; lowers: string[] }[];
    expect(listed.find((p) => p.id === first.id)).toMatchObject({ policy: first.policy, lowers: ['class-shortened:vastgoed-12y'] });
    later(w);
    await ok(w, { method: 'POST', path: `retention/policy/proposals/${first.id}/approve`, body: { reason: 'agreed' }, as: 'rm2' });
    expect((await ok(w, { method: 'GET', path: 'retention/policy', as: 'rm2' })).json).toMatchObject({ classes: [{ name: 'vastgoed-12y', years: 11 }], requireDisposalApproval: true });
    // The second was made over the version the first replaced: it no longer applies as shown.
    const r = await send(w, { method: 'POST', path: `retention/policy/proposals/${second.id}/approve`, body: { reason: 'agreed' }, as: 'rm2' });
    expect([r.status, r.json.code]).toEqual([409, 'retention_policy_changed']);
  });

  it('a class shortened while another is lengthened is a lowering, named; a fiscal-year end moved either way is too', async () => {
    const w = world();
    await recordsManagers(w);
    await putRetention(w, { ...retentionBody(12), classes: [{ name: 'vastgoed-12y', years: 12 }, { name: 'overig-8y', years: 8 }] }, 'rm1', 200);
    later(w);
    const p = (await putRetention(w, { ...retentionBody(12), classes: [{ name: 'vastgoed-12y', years: 8 }, { name: 'overig-8y', years: 12 }], fiscalYearEndMonth: 6 }, 'rm1', 202)).json;
    expect(p.lowers).toEqual(['class-shortened:vastgoed-12y', 'fiscal-year-end-earlier']);
  });
});
