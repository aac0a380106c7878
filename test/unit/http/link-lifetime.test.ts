import { createHash } from 'node:crypto';
import { ROUTES } from '../../../functions/routes';
import { Authenticator, type JwtSettings } from '../../../shared/auth/authenticate';
import { createApiKey } from '../../../shared/auth/api-keys/create-api-key';
import { actor, rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { deliverStoredFile } from '../../../shared/http/download';
import { handleRequest } from '../../../shared/http/pipeline';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { BUILT_IN_RIGHTS_SETS, type Principal } from '../../../shared/kernel/principal';
import type { StoredFileRef } from '../../../shared/ports';
import { inMemoryDeps } from '../../support/in-memory';
import { keepManifest } from '../../support/seed';

const redirect = { delivery: 'redirect' as const, range: null, ifRange: null, ifNoneMatch: null, mayLink: true };
const file = (availableUntil?: string): StoredFileRef => ({
  container: 'exports-acme',
  blobName: 'x.zip',
  sha256: 'ab'.repeat(32),
  size: 10,
  mediaType: 'application/zip',
  name: 'export.zip',
  ...(availableUntil ? { availableUntil } : {}),
  read: () => Promise.reject(new Error('a redirect reads nothing')),
});

it('a read-only link lives ARCHIVE_DOWNLOAD_LINK_SECONDS, and never past the file\'s own availability (an export about to expire)', async () => {
  const deps = inMemoryDeps();
  const now = deps.clock.now().getTime();
  const full = await deliverStoredFile(file(), redirect, deps);
  expect(Date.parse(full.headers['Link-Expires']!)).toBe(now + deps.config.ARCHIVE_DOWNLOAD_LINK_SECONDS * 1000);
  const soon = await deliverStoredFile(file(new Date(now + 120_000).toISOString()), redirect, deps);
  expect(soon.status).toBe(303);
  expect(Date.parse(soon.headers['Link-Expires']!)).toBe(now + 120_000);
});

it('If-None-Match compares weakly (RFC 9110): the ETag sent back as W/"…" is a 304 as well; another one is not', async () => {
  const deps = inMemoryDeps();
  const conditions = (ifNoneMatch: string) => ({ range: null, ifRange: null, ifNoneMatch, mayLink: true });
  expect((await deliverStoredFile(file(), conditions(`"${'ab'.repeat(32)}"`), deps)).status).toBe(304);
  expect((await deliverStoredFile(file(), conditions(`"other", W/"${'ab'.repeat(32)}"`), deps)).status).toBe(304);
  await expect(deliverStoredFile(file(), conditions(`W/"${'cd'.repeat(32)}"`), deps)).rejects.toThrow('a redirect reads nothing');
});

it('a read-only link never outlives the credential that asked for it (an API key about to expire)', async () => {
  const deps = inMemoryDeps();
  const T = 'acme';
  const alice: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'accountant', permissions: new Set(BUILT_IN_RIGHTS_SETS.accountant) };
  await deps.tenantRecords.upsert({ id: rightsAssignmentRecordId('alice'), tenantId: T, type: 'rights-assignment', subject: 'alice', rightsSet: 'accountant', assignedAt: deps.clock.now().toISOString(), assignedBy: { subject: 'root', kind: 'user' } });
  const keyExpires = new Date(deps.clock.now().getTime() + 60_000);
  const { key } = await createApiKey({ tenantId: T, name: 'k', rightsSet: 'accountant', expiresAt: keyExpires, createdBy: actor(alice), ceiling: [...alice.permissions], personPermissions: [...alice.permissions], now: deps.clock.now() }, deps);
  const settings: JwtSettings = { issuer: 'https://idp.example', audience: 'api://archive', jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], tenantClaim: 'tid', rightsClaim: 'rights', kindClaim: 'kind', rightsSource: 'tenant', clockToleranceSeconds: 0, keyPersonIdleDays: 30 };
  deps.authenticator = new Authenticator(settings, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
  const id = '01890a5d-ac96-774b-bcce-b302099a8057';
  const pdf = Buffer.from('%PDF-1.7 the rendition');
  const stored = { blobName: `${id}/rendition.pdf`, sha256: createHash('sha256').update(pdf).digest('hex'), size: pdf.length, mediaType: 'application/pdf' };
  await deps.blobs.putCreateOnly(T, stored.blobName, pdf, 'application/pdf', { retainUntil: '2035-01-01T00:00:00Z', legalHold: false }, {});
  const doc = { id, tenantId: T, type: 'document', status: 'active', original: { ...stored, fileName: null }, originals: [], rendition: stored } as unknown as ArchivedDocument;
  deps.catalog.documents.set(`${T}/${id}`, doc);
  await keepManifest(deps, doc); // a download serves only a folder the archive's manifest witnesses
  const route = ROUTES.find((r) => r.name === 'downloadRendition')!;
  const res = await handleRequest(route, {
    method: 'GET',
    url: new URL(`http://localhost/api/documents/${id}/rendition?delivery=redirect`),
    params: { id },
    headers: { get: (n) => (n === 'authorization' ? `ApiKey ${key}` : null) },
    body: null,
    clientIp: '10.0.0.1',
    requestId: 'req-1',
  }, deps);
  expect(res.status).toBe(303);
  expect(Date.parse(res.headers!['Link-Expires']!)).toBe(keyExpires.getTime());
});
