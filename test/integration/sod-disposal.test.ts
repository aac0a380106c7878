/** Segregation of duties at action time: the uploader of a document cannot approve its disposal. */
import { randomBytes } from 'node:crypto';
import { call } from '../support/http';
import { newTenant } from '../support/harness';
import { seedRightsSet, seedSodPolicy } from '../support/rights-seed';
import { ingest, startWormArchive, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-03-01T12:00:00Z', { COSMOS_DATABASE: `sod-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

it('refuses the uploader (403 naming the rule, audited), skips their documents in a bulk approval, lets someone else approve', async () => {
  const tenant = newTenant('sod-disp');
  const admin = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  // A tenant that lets one clerk both upload and approve (no declared conflict), so only the action-time rule stands.
  await seedSodPolicy(archive, tenant, { conflicts: [] });
  // tenant-admin may not grant documents:write (rights ceiling): the clerk's set comes from the operator, named in the token.
  await seedRightsSet(archive, tenant, 'clerk', ['documents:read', 'documents:write', 'retention:approve']);
  const clerk = await archive.token({ tenant, sub: 'clerk-1', rights: 'clerk' });
  const own = await ingest(archive, clerk, { fiscalYear: 2020 });
  const other = await ingest(archive, await archive.token({ tenant, sub: 'arch-1', rights: 'archivist' }), { fiscalYear: 2020 });

  archive.clock.set('2028-01-01T00:00:00.000Z');
  const named = await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2028-01-01', reason: 'batch', documentIds: [own] }), token: clerk });
  expect(named.status).toBe(403);
  expect(named.json).toMatchObject({ code: 'segregation_of_duties', rule: 'uploader-approves-disposal' });

  const releases = jest.spyOn(archive.host.deps.auditOutbox, 'release');
  const bulk = await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2028-01-01', reason: 'batch' }), token: clerk });
  expect(bulk.status).toBe(201);
  // The approval's one entry was stored with the first document it changed (the audit outbox).
  expect(releases.mock.calls.map(([item]) => item.entries.map((e) => `${e.action} ${e.target} ${e.status} ${e.actor.subject}`))).toEqual([[`retention.approve approval:${bulk.json.approvalId} 201 clerk-1`]]);
  releases.mockRestore();
  expect(bulk.json.approved).toEqual([other]);
  expect(bulk.json.skipped).toEqual([{ id: own, reason: 'segregation-of-duties:uploader-approves-disposal' }]);

  const byAdmin = await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2028-01-01', reason: 'batch', documentIds: [own] }), token: admin });
  expect(byAdmin.json.approved).toEqual([own]);

  const auditor = await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' });
  const entries = (await call(`${archive.url}/audit?month=2028-01&action=retention.approve`, { token: auditor })).json.items;
  expect(entries.map((e: { status: number; detail?: string; actor: { subject: string } }) => [e.status, e.detail ?? null, e.actor.subject])).toEqual([
    [201, null, 'admin-1'],
    [201, null, 'clerk-1'],
    [403, 'segregation_of_duties:uploader-approves-disposal', 'clerk-1'],
  ]);
});
