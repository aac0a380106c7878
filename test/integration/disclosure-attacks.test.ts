/**
 * What a person learns that their rights do not give them, attacked from a valid account against the local host (what
 * reveal-sweep, isolation-sweep, security-matrix and the other attack files do not already hold: they judge statuses,
 * bytes, links and the other tenant's names, not which of the tenant's own fields reach a principal without
 * documents:read, nor the answers to a credential that names a key it does not hold).
 */
import { call, multipart } from '../support/http';
import { corpusFile, newTenant } from '../support/harness';
import { seedRightsSet } from '../support/rights-seed';
import { startWormArchive, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
let tenant: string;
let archivist: string;
let admin: string;
const jpeg = corpusFile('ocrmypdf/baiona_color.jpg');

const json = (method: string, body: unknown, headers: Record<string, string> = {}): RequestInit => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json', ...headers } });
const withKey = (key: string, init: RequestInit = {}): RequestInit => ({ ...init, headers: { ...(init.headers as Record<string, string> | undefined), Authorization: `ApiKey ${key}` } });

/** What only a reader of documents may learn of the held document: its counterparty, the hold's reason and case. */
const SECRETS = ['Hidden Counterparty BV', 'FIOD-2026-0042', 'Tax audit of the fiscal year'];

let held: string;

beforeAll(async () => {
  archive = await startWormArchive('2026-06-01T12:00:00Z');
  tenant = newTenant('discl');
  archivist = await archive.token({ tenant, sub: 'archivist@discl.example', rights: 'archivist' });
  admin = await archive.token({ tenant, sub: 'admin@discl.example', rights: 'tenant-admin' });
  const up = await call(`${archive.url}/documents`, { method: 'POST', token: archivist, body: multipart([{ bytes: jpeg, name: 'scan.jpg' }], { documentDate: '2024-03-01', kind: 'invoice', counterparty: SECRETS[0] }) });
  expect(up.status).toBe(201);
  held = up.json.id as string;
  const hold = await call(`${archive.url}/documents/${held}/legal-holds`, { ...json('POST', { reason: SECRETS[2], caseReference: SECRETS[1] }), token: archivist });
  expect(hold.status).toBe(201);
});
afterAll(async () => {
  await archive.stop();
});

function leaks(text: string): string[] {
  return SECRETS.filter((s) => text.includes(s));
}

describe('a principal without documents:read is told what it did, not the document', () => {
  it('an extension of retention by retention:extend alone names no metadata, hold reason or case reference', async () => {
    await seedRightsSet(archive, tenant, 'extender', ['retention:extend']);
    const extender = await archive.token({ tenant, sub: 'records@discl.example', rights: 'extender' });
    expect((await call(`${archive.url}/documents/${held}`, { token: extender })).status).toBe(403);
    const extended = await call(`${archive.url}/documents/${held}/retention`, { ...json('POST', { retainUntil: '2045-01-01T00:00:00Z', reason: 'Long contract' }), token: extender });
    expect(extended.status).toBe(200);
    expect(leaks(JSON.stringify(extended.json))).toEqual([]);
    expect(extended.json.retention.retainUntil).toBe('2045-01-01T00:00:00.000Z');
    // The same date again (a retry of a lost answer) answers alike.
    const again = await call(`${archive.url}/documents/${held}/retention`, { ...json('POST', { retainUntil: '2045-01-01T00:00:00Z', reason: 'Long contract' }), token: extender });
    expect(again.status).toBe(200);
    expect(leaks(JSON.stringify(again.json))).toEqual([]);
    // A reader who extends is answered the document as before.
    const reader = await call(`${archive.url}/documents/${held}/retention`, { ...json('POST', { retainUntil: '2045-01-01T00:00:00Z', reason: 'Long contract' }), token: archivist });
    expect(reader.status).toBe(200);
    expect(reader.json.metadata.counterparty).toBe(SECRETS[0]);
  });

  it('a correction by documents:correct alone: its refusals and answer name no hold reason or case reference', async () => {
    await seedRightsSet(archive, tenant, 'corrector', ['documents:correct']);
    const corrector = await archive.token({ tenant, sub: 'clerk@discl.example', rights: 'corrector' });
    const without = await call(`${archive.url}/documents/${held}/metadata`, { ...json('PATCH', { reference: 'INV-1', reason: 'typo' }, { 'Content-Type': 'application/merge-patch+json' }), token: corrector });
    expect(without.status).toBe(428);
    const stale = await call(`${archive.url}/documents/${held}/metadata`, { ...json('PATCH', { reference: 'INV-1', reason: 'typo' }, { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-9"' }), token: corrector });
    expect(stale.status).toBe(412);
    expect(leaks(JSON.stringify(without.json) + JSON.stringify(stale.json) + JSON.stringify([...stale.headers]))).toEqual([]);
    const fixed = await call(`${archive.url}/documents/${held}/metadata`, { ...json('PATCH', { reference: 'INV-1', reason: 'typo' }, { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-1"' }), token: corrector });
    expect(fixed.status).toBe(200);
    // Told only what it corrected (correct-metadata.ts correctionAnswer): not the rest of the metadata (the counterparty),
    // nor the holds, their reasons and cases.
    expect(leaks(JSON.stringify(fixed.json))).toEqual([]);
    // Told what it changed: the correction, the new version.
    expect(fixed.json).toMatchObject({ id: held, metadataVersion: 2, correction: { version: 2, changes: [expect.objectContaining({ field: 'reference' })] } });
    expect(fixed.headers.get('etag')).toBe('"metadata-2"');
  });
});

describe('a HEAD is refused as its GET is, and tells nothing in its headers', () => {
  it('a reader without documents:download learns no hash, file name, size or link of a file by HEAD; a write-only key no version', async () => {
    await seedRightsSet(archive, tenant, 'reader-only', ['documents:read']);
    await seedRightsSet(archive, tenant, 'writer-only', ['documents:write']);
    const readOnly = await archive.token({ tenant, sub: 'reader@discl.example', rights: 'reader-only' });
    const writeOnly = await archive.token({ tenant, sub: 'scanner@discl.example', rights: 'writer-only' });
    const asked: [string, string][] = [
      [readOnly, `documents/${held}/original`],
      [readOnly, `documents/${held}/originals/1`],
      [readOnly, `documents/${held}/rendition`],
      [readOnly, `documents/${held}/rendition?delivery=redirect`],
      [readOnly, `documents/${held}/validation`],
      [writeOnly, `documents/${held}`],
      [writeOnly, `documents/${held}/metadata/history`],
    ];
    for (const [token, path] of asked) {
      const head = await call(`${archive.url}/${path}`, { method: 'HEAD', token });
      expect([path, head.status]).toEqual([path, 403]);
      for (const h of ['etag', 'repr-digest', 'content-disposition', 'location', 'link', 'content-range', 'accept-ranges']) expect([path, h, head.headers.get(h)]).toEqual([path, h, null]);
    }
  });
});

describe('across tenants', () => {
  it('the same bytes archived in another tenant are no duplicate there, and its answer names nothing of this one', async () => {
    const other = newTenant('discl-o');
    const uploader = await archive.token({ tenant: other, sub: 'archivist@discl.example', rights: 'uploader' });
    const up = await call(`${archive.url}/documents`, { method: 'POST', token: uploader, body: multipart([{ bytes: jpeg, name: 'scan.jpg' }], { documentDate: '2024-03-01', kind: 'invoice' }) });
    expect(up.status).toBe(201);
    expect(up.json.id).not.toBe(held);
    expect(JSON.stringify(up.json)).not.toContain(held);
  });

  it("someone who knows a key's id (audit entries, logs) cannot tell by guessing its secret whether the key still exists", async () => {
    const made = await call(`${archive.url}/api-keys`, { ...json('POST', { name: 'scanner', rightsSet: 'auditor' }), token: admin });
    expect(made.status).toBe(201);
    const id = made.json.id as string;
    const wrong = 'A'.repeat(43);
    const statuses = async (keyId: string) => {
      const seen: string[] = [];
      for (let i = 0; i < 36; i++) {
        const a = await call(`${archive.url}/documents`, withKey(`arch_${tenant}_${keyId}_${wrong}`));
        // Retry-After counts down with the clock between requests, not with the key: only whether it is there.
        seen.push(`${a.status} ${a.json?.code} ${a.json?.detail} ${a.headers.has('retry-after')}`);
      }
      return seen;
    };
    // Past the ten checks a source may make of one key, and past the thirty refusals a principal may have at once.
    const existing = await statuses(id);
    const madeUp = await statuses('0123456789abcdef01234567');
    expect(existing).toEqual(madeUp);
    expect(existing.filter((x) => x.startsWith('429'))).toHaveLength(26);
    // The tenant still sees the guessing, and its chain is still spared the flood: past thirty, refusals are counted.
    const seen = await call(`${archive.url}/audit?actor=${encodeURIComponent(`apikey:${id}`)}&limit=500`, { token: admin });
    expect(seen.status).toBe(200);
    const entries = seen.json.items as { status: number }[];
    expect(entries.length).toBeGreaterThanOrEqual(30);
    expect(entries.length).toBeLessThan(36);
  });
});

describe('a release by holds:release alone', () => {
  it('is told the hold it released, not the disposal approval another person gave and the hold withdrew', async () => {
    const was = archive.clock.now();
    try {
      const t = newTenant('discl-r');
      const placer = await archive.token({ tenant: t, sub: 'archivist@discl-r.example', rights: 'archivist' });
      const up = await call(`${archive.url}/documents`, { method: 'POST', token: placer, body: multipart([{ bytes: corpusFile('img2pdf/normal.png'), name: 'scan.png' }], { fiscalYear: 2020, kind: 'receipt' }) });
      expect(up.status).toBe(201);
      archive.clock.set('2027-12-01T00:00:00.000Z');
      const approver = await archive.token({ tenant: t, sub: 'admin@discl-r.example', rights: 'tenant-admin' });
      const approved = await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2028-01-01', reason: 'Yearly review', documentIds: [up.json.id] }), token: approver });
      expect(approved.status).toBe(201);
      expect(approved.json.approved).toEqual([up.json.id]);
      const placed = await call(`${archive.url}/documents/${up.json.id}/legal-holds`, { ...json('POST', { reason: 'Dispute', caseReference: 'LG-77' }), token: await archive.token({ tenant: t, sub: 'archivist@discl-r.example', rights: 'archivist' }) });
      expect(placed.status).toBe(201);
      expect(placed.json.withdrewDisposalApproval?.approvalId).toBe(approved.json.approvalId);
      await seedRightsSet(archive, t, 'releaser', ['holds:release']);
      const releaser = await archive.token({ tenant: t, sub: 'legal@discl-r.example', rights: 'releaser' });
      const released = await call(`${archive.url}/documents/${up.json.id}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'Settled' }), token: releaser });
      expect(released.status).toBe(200);
      expect(released.json).toMatchObject({ id: placed.json.id, caseReference: 'LG-77', releasedBy: expect.objectContaining({ subject: 'legal@discl-r.example' }) });
      expect(JSON.stringify(released.json)).not.toContain(approved.json.approvalId);
      expect(JSON.stringify(released.json)).not.toContain('admin@discl-r.example');
    } finally {
      archive.clock.set(was);
    }
  });
});
