/**
 * Lowering the retention safeguards over HTTP: a tenant-admin's guest account with retention:manage (and reading) proposes
 * turning required disposal approval off (202, nothing applied); a second guest the admin makes after the proposal is
 * refused as approver, naming her; a records manager she appointed before it approves, and only then does it apply.
 */
import { call, putAsRead } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive?.stop());

const json = (method: string, body: unknown, token: string) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' }, token });

it('a lowering through a guest account is proposed; a guest made after it cannot approve; a records manager appointed before it can', async () => {
  const url = archive.url;
  const tenant = newTenant('retprop');
  const carol = await archive.token({ tenant, sub: 'carol', rights: 'tenant-admin' });
  const policyUrl = `${url}/retention/policy`;
  const strict = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
  expect((await putAsRead(policyUrl, strict, { token: carol })).status).toBe(200);
  expect((await call(`${url}/rights-sets/rm`, json('PUT', { permissions: ['documents:read', 'retention:manage'] }, carol))).status).toBe(200);
  for (const subject of ['carol-guest', 'rita']) expect((await call(`${url}/rights-assignments/${subject}`, json('PUT', { rightsSet: 'rm' }, carol))).status).toBe(200);
  const guest = await archive.token({ tenant, sub: 'carol-guest' });
  const rita = await archive.token({ tenant, sub: 'rita' });

  const proposed = await putAsRead(policyUrl, { ...strict, requireDisposalApproval: false }, { token: guest });
  expect(proposed.status).toBe(202);
  expect(proposed.headers.get('location')).toMatch(new RegExp(`/retention/policy/proposals/${proposed.json.id}$`));
  expect(proposed.json).toMatchObject({ state: 'pending', lowers: ['disposal-approval-off'], proposedBy: { subject: 'carol-guest' }, policy: { requireDisposalApproval: false }, base: { requireDisposalApproval: true } });
  expect((await call(policyUrl, { token: carol })).json.requireDisposalApproval).toBe(true);
  const pending = await call(`${url}/retention/policy/proposals`, { token: rita });
  expect(pending.json.items.map((p: { id: string }) => p.id)).toEqual([proposed.json.id]);

  // Carol makes a second guest now: its approval is refused, naming her (she holds retention:approve).
  expect((await call(`${url}/rights-assignments/carol-guest-2`, json('PUT', { rightsSet: 'rm' }, carol))).status).toBe(200);
  const guest2 = await archive.token({ tenant, sub: 'carol-guest-2' });
  const approveUrl = `${url}/retention/policy/proposals/${proposed.json.id}/approve`;
  const refused = await call(approveUrl, json('POST', { reason: 'Fine by me' }, guest2));
  expect(refused.json).toMatchObject({ status: 403, code: 'segregation_of_duties', rule: 'retention-approver-given-by-approver', approverRightsGivenBy: 'carol', proposedBy: 'carol-guest' });
  expect((await call(approveUrl, json('POST', { reason: 'Mine' }, guest))).json).toMatchObject({ status: 403, rule: 'four-eyes-retention-policy' });
  expect((await call(approveUrl, json('POST', { reason: 'Admin' }, carol))).json).toMatchObject({ status: 403, rule: 'approver-lowers-safeguards' });
  expect((await call(policyUrl, { token: carol })).json.requireDisposalApproval).toBe(true);

  // Rita, appointed before the proposal, is a second person: it applies.
  const approved = await call(approveUrl, json('POST', { reason: 'Approval moves to the accountant' }, rita));
  expect(approved.status).toBe(200);
  expect(approved.json).toMatchObject({ state: 'approved', decidedBy: { subject: 'rita' }, decisionReason: 'Approval moves to the accountant' });
  expect((await call(policyUrl, { token: carol })).json).toMatchObject({ requireDisposalApproval: false, updatedBy: { subject: 'rita' } });
  expect((await call(`${url}/retention/policy/proposals?state=approved`, { token: rita })).json.items.map((p: { id: string }) => p.id)).toEqual([proposed.json.id]);
  expect((await call(approveUrl, json('POST', { reason: 'Again' }, rita))).json).toMatchObject({ status: 409, code: 'retention_policy_proposal_closed' });
});
