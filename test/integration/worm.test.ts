/** Immutable storage through the WORM proxy: policies on every write, refusals, enforce mode, holds and extensions. */
import { RestError } from '@azure/storage-blob';
import { AUDIT_OUTBOX_GRACE_MS } from '../../shared/kernel/audit';
import { call, sha256hex } from '../support/http';
import { depsForOnlyTenant, newTenant, tenantState } from '../support/harness';
import { reconcile } from '../../shared/retention/reconcile';
import { sweep } from '../../shared/retention/sweep';
import { ingest, startWormArchive, uniqueJpeg, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-03-01T12:00:00Z');
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const httpDate = (iso: string) => new Date(iso).toUTCString();

async function tenantWith(prefix: string) {
  const tenant = newTenant(prefix);
  return {
    tenant,
    container: `tenant-${tenant}`,
    archivist: await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' }),
    archivist2: await archive.token({ tenant, sub: 'archivist-2', rights: 'archivist' }),
    admin: await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' }),
  };
}

describe('every blob is written create-only with its retention policy and hold flag', () => {
  it('sends retain-until (from the class), Locked mode and the hold flag on original, rendition and manifest', async () => {
    const t = await tenantWith('worm');
    const id = await ingest(archive, t.archivist, { documentDate: '2024-12-31', kind: 'invoice' });
    const puts = archive.proxy.records.filter((r) => r.container === t.container && !r.blob.startsWith('sightings/') && r.op === 'put');
    expect(puts.map((p) => p.blob).sort()).toEqual([`${id}/manifest.json`, `${id}/original.jpg`, `${id}/rendition.pdf`]);
    for (const p of puts) {
      expect(p).toMatchObject({ status: 201, until: httpDate('2032-01-01T00:00:00Z'), mode: 'Locked', legalHold: 'false' });
    }
    const doc = (await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json;
    expect(doc.retention).toEqual({ class: 'fiscal-7y', retainUntil: '2032-01-01T00:00:00.000Z' });

    const immovable = await ingest(archive, t.archivist, { fiscalYear: 2024, retentionClass: 'immovable-property-10y' });
    for (const p of archive.proxy.records.filter((r) => r.blob.startsWith(immovable) && r.op === 'put')) expect(p.until).toBe(httpDate('2035-01-01T00:00:00Z'));
  });

  it('refuses early delete and overwrite (409 BlobImmutableDueToPolicy); the document is unchanged', async () => {
    const t = await tenantWith('worm-del');
    const id = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const before = await call(`${archive.url}/documents/${id}/original`, { token: t.archivist });
    const blob = archive.storage.getContainerClient(t.container).getBlockBlobClient(`${id}/original.jpg`);
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(() => null, (e: unknown) => e as RestError);
      return err && { status: err.statusCode, code: err.code };
    };
    expect(await refusal(blob.delete())).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(blob.upload(Buffer.from('forged'), 6))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    expect(await refusal(blob.setMetadata({ x: 'y' }))).toEqual({ status: 409, code: 'BlobImmutableDueToPolicy' });
    // A locked policy cannot be shortened at storage level either.
    expect(await refusal(blob.setImmutabilityPolicy({ expiriesOn: new Date('2026-01-01'), policyMode: 'Locked' }))).toMatchObject({ status: 409 });
    const after = await call(`${archive.url}/documents/${id}/original`, { token: t.archivist });
    expect(after.status).toBe(200);
    expect(sha256hex(after.bytes)).toBe(sha256hex(before.bytes));
    // Re-sending the same upload with the same Idempotency-Key replays; nothing is overwritten.
    const puts = archive.proxy.records.filter((r) => r.container === t.container && !r.blob.startsWith('sightings/') && r.op === 'put' && r.status === 201);
    expect(puts).toHaveLength(3);
  });

  it('ARCHIVE_WORM=enforce: a container without version-level immutability → 503 worm_unavailable, nothing stored', async () => {
    const t = await tenantWith('worm-off');
    archive.proxy.disableImmutability(t.container);
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, token: t.archivist });
    expect(res.status).toBe(503);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json.code).toBe('worm_unavailable');
    expect(await tenantState(archive, t.tenant)).toEqual({ blobs: [], documents: 0 });
    expect(archive.proxy.records.filter((r) => r.container === t.container && !r.blob.startsWith('sightings/') && r.op === 'put')).toEqual([]);
  });
});

describe('legal holds', () => {
  it('set the hold flag on every blob, block deletion after retention ends, and need a second principal to release', async () => {
    const t = await tenantWith('hold');
    const id = await ingest(archive, t.archivist, { fiscalYear: 2018 }); // retain-until 2026-01-01
    const placed = await call(`${archive.url}/documents/${id}/legal-holds`, { ...json('POST', { reason: 'tax audit 2016', caseReference: 'BD-2025-17' }), token: t.archivist });
    expect(placed.status).toBe(201);
    expect(placed.json).toMatchObject({ reason: 'tax audit 2016', caseReference: 'BD-2025-17', placedBy: { subject: 'archivist-1', kind: 'user' } });
    const second = await call(`${archive.url}/documents/${id}/legal-holds`, { ...json('POST', { reason: 'dispute', caseReference: 'C-1' }), token: t.archivist2 });
    expect(second.status).toBe(201);
    for (const name of ['original.jpg', 'rendition.pdf', 'manifest.json']) expect(archive.proxy.state(t.container, `${id}/${name}`)?.legalHold).toBe(true);
    // The placements' entries, which a release judges four eyes by: under a clock set back to 2025 each request's own
    // send is past its send-by time, and the sealing timer's drain appends them.
    await archive.host.deps.auditOutbox.drain(new Date(archive.clock.now().getTime() + AUDIT_OUTBOX_GRACE_MS + 60_000), 500);
    const doc = (await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json;
    expect(doc.legalHold).toBe(true);
    expect(doc.holds).toHaveLength(2);

    // Once retention has ended, the hold alone still keeps every blob.
    const now = archive.clock.now();
    archive.clock.set('2026-01-02T00:00:00Z');
    try {
      const blob = archive.storage.getContainerClient(t.container).getBlobClient(`${id}/original.jpg`);
      expect(await blob.delete().then(() => 'deleted', (e: RestError) => e.code)).toBe('BlobImmutableDueToLegalHold');
    } finally {
      archive.clock.set(now);
    }

    // Four eyes: the admin who wants to release is fine; the placer is not, even with the permission.
    const placerAdmin = await archive.token({ tenant: t.tenant, sub: 'archivist-1', rights: 'tenant-admin' });
    const self = await call(`${archive.url}/documents/${id}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'done' }), token: placerAdmin });
    expect(self.status).toBe(403);
    expect(self.json).toMatchObject({ code: 'four_eyes_required', rule: 'four-eyes:legal-hold-release' });
    const noRight = await call(`${archive.url}/documents/${id}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'done' }), token: t.archivist2 });
    expect(noRight.status).toBe(403);
    expect(noRight.json.code).toBe('forbidden');

    const released = await call(`${archive.url}/documents/${id}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'audit closed' }), token: t.admin });
    expect(released.status).toBe(200);
    expect(released.json).toMatchObject({ releasedBy: { subject: 'admin-1' }, releaseReason: 'audit closed' });
    // Still held by the second hold: flags stay.
    expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json.legalHold).toBe(true);
    expect(archive.proxy.state(t.container, `${id}/original.jpg`)?.legalHold).toBe(true);
    const again = await call(`${archive.url}/documents/${id}/legal-holds/${placed.json.id}`, { ...json('DELETE', { reason: 'x' }), token: t.admin });
    expect(again.json.code).toBe('hold_already_released');

    expect((await call(`${archive.url}/documents/${id}/legal-holds/${second.json.id}`, { ...json('DELETE', { reason: 'settled' }), token: t.admin })).status).toBe(200);
    expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json.legalHold).toBe(false);
    for (const name of ['original.jpg', 'rendition.pdf', 'manifest.json']) expect(archive.proxy.state(t.container, `${id}/${name}`)?.legalHold).toBe(false);
    // The manifest is the ingest-time record: unchanged.
    const manifest = JSON.parse((await archive.storage.getContainerClient(t.container).getBlobClient(`${id}/manifest.json`).downloadToBuffer()).toString());
    expect(manifest.legalHold).toBe(false);
    expect(manifest.holds).toBeUndefined();
  });

  it('by query: every document of a fiscal year, one hold id; bad input and unknown holds are refused', async () => {
    const t = await tenantWith('hold-q');
    const a = await ingest(archive, t.archivist, { fiscalYear: 2021, counterparty: 'ACME' });
    const b = await ingest(archive, t.archivist, { fiscalYear: 2021 });
    const c = await ingest(archive, t.archivist, { fiscalYear: 2022, counterparty: 'ACME' });
    const res = await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'tax audit', caseReference: 'BD-1', query: { fiscalYear: 2021 } }), token: t.archivist });
    expect(res.status).toBe(201);
    expect(res.json.documentIds.sort()).toEqual([a, b].sort());
    const docC = (await call(`${archive.url}/documents/${c}`, { token: t.archivist })).json;
    expect(docC.legalHold).toBe(false);
    const docA = (await call(`${archive.url}/documents/${a}`, { token: t.archivist })).json;
    expect(docA.holds[0]).toMatchObject({ id: res.json.holdId, query: { fiscalYear: 2021 } });

    // Released in one call by a second principal; the placer may not.
    const selfRelease = await call(`${archive.url}/legal-holds/${res.json.holdId}`, { ...json('DELETE', { reason: 'done' }), token: await archive.token({ tenant: t.tenant, sub: 'archivist-1', rights: 'tenant-admin' }) });
    expect(selfRelease.json.code).toBe('four_eyes_required');
    const releasedAll = await call(`${archive.url}/legal-holds/${res.json.holdId}`, { ...json('DELETE', { reason: 'audit closed' }), token: t.admin });
    expect(releasedAll.status).toBe(200);
    expect(releasedAll.json.documentIds.sort()).toEqual([a, b].sort());
    expect((await call(`${archive.url}/documents/${a}`, { token: t.archivist })).json.legalHold).toBe(false);
    expect(archive.proxy.state(t.container, `${b}/original.jpg`)?.legalHold).toBe(false);
    expect((await call(`${archive.url}/legal-holds/${res.json.holdId}`, { ...json('DELETE', { reason: 'again' }), token: t.admin })).json.code).toBe('hold_not_found');

    expect((await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'x', caseReference: 'y', query: {} }), token: t.archivist })).status).toBe(400);
    expect((await call(`${archive.url}/documents/${a}/legal-holds`, { ...json('POST', { reason: 'x' }), token: t.archivist })).status).toBe(400);
    expect((await call(`${archive.url}/documents/${a}/legal-holds/nope`, { ...json('DELETE', { reason: 'x' }), token: t.admin })).json.code).toBe('hold_not_found');
    const uploader = await archive.token({ tenant: t.tenant, sub: 'u', rights: 'uploader' });
    expect((await call(`${archive.url}/documents/${a}/legal-holds`, { ...json('POST', { reason: 'x', caseReference: 'y' }), token: uploader })).status).toBe(403);
    // Another tenant's document answers like a missing one.
    const other = await tenantWith('hold-o');
    expect((await call(`${archive.url}/documents/${a}/legal-holds`, { ...json('POST', { reason: 'x', caseReference: 'y' }), token: other.archivist })).json.code).toBe('document_not_found');
  });

  it('by query, live: a receipt of the year archived after the hold is kept by the sweep, reached by the reconciler (flags set), and released with the rest', async () => {
    const start = archive.clock.now();
    try {
      const t = await tenantWith('hold-live');
      const onlyTenant = depsForOnlyTenant(archive.host.deps, t.tenant);
      const early = await ingest(archive, t.archivist, { fiscalYear: 2018 }); // retain-until 2026-01-01
      const hold = await call(`${archive.url}/legal-holds`, { ...json('POST', { reason: 'tax audit 2018', caseReference: 'BD-18', query: { fiscalYear: 2018 } }), token: t.archivist });
      expect(hold.json.documentIds).toEqual([early]);
      // Listed as open, with what it holds, whether or not a document carries it.
      const listed = await call(`${archive.url}/legal-holds/by-query`, { token: t.archivist });
      expect(listed.json.items).toEqual([{ holdId: hold.json.holdId, reason: 'tax audit 2018', caseReference: 'BD-18', query: { fiscalYear: 2018 }, placedAt: expect.any(String), placedBy: { subject: 'archivist-1', kind: 'user', person: 'archivist-1' }, documents: 1 }]);
      const elsewhere = await tenantWith('hold-live-other');
      expect((await call(`${archive.url}/legal-holds/by-query`, { token: elsewhere.archivist })).json.items).toEqual([]);
      archive.clock.set('2025-06-01T00:00:00Z');
      const late = await ingest(archive, t.archivist, { fiscalYear: 2018 });
      expect((await call(`${archive.url}/documents/${late}`, { token: t.archivist })).json).toMatchObject({ legalHold: false, holds: [] });

      // Its retention over, not reached yet: the disposal review and the sweep keep it for the open hold.
      archive.clock.set('2026-01-02T00:00:00Z');
      const review = await call(`${archive.url}/retention/due`, { token: t.admin });
      expect(review.json.items.find((i: { id: string }) => i.id === late)).toMatchObject({ legalHold: true, blockedBy: 'legal-hold' });
      const swept = await sweep({ now: archive.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, onlyTenant);
      expect(swept.disposed).toEqual([]);
      expect(swept.blocked).toContainEqual({ tenantId: t.tenant, documentId: late, reason: 'legal-hold' });

      const reconciled = await reconcile({ now: archive.clock.now(), maxItems: 100, continuation: null }, onlyTenant);
      expect(reconciled.holdsExtended).toEqual([{ tenantId: t.tenant, documentId: late, holdId: hold.json.holdId }]);
      const reached = (await call(`${archive.url}/documents/${late}`, { token: t.archivist })).json;
      expect(reached.legalHold).toBe(true);
      expect(reached.holds).toMatchObject([{ id: hold.json.holdId, placedBy: { subject: 'archivist-1' }, extendedAt: '2026-01-02T00:00:00.000Z' }]);
      for (const name of ['original.jpg', 'rendition.pdf', 'manifest.json']) expect(archive.proxy.state(t.container, `${late}/${name}`)?.legalHold).toBe(true);
      expect((await call(`${archive.url}/legal-holds/by-query`, { token: t.archivist })).json.items).toMatchObject([{ holdId: hold.json.holdId, documents: 2 }]);
      const open = (await call(`${archive.url}/legal-holds?status=open`, { token: t.archivist })).json.items.map((i: { documentId: string }) => i.documentId);
      expect(open.sort()).toEqual([early, late].sort());
      expect((await reconcile({ now: archive.clock.now(), maxItems: 100, continuation: null }, onlyTenant)).holdsExtended).toEqual([]);

      // A release in a shape no release writes (restored, edited by hand) leaves it open, as the store's query reads it.
      const record = archive.host.deps.cosmos.tenants.item(`legal-hold-by-query:${hold.json.holdId}`, t.tenant);
      const asPlaced = (await record.read()).resource;
      for (const releasedAt of [null, '', 'soon', 0, '2031-01-01T00:00:00.000Z']) {
        await record.replace({ ...asPlaced, releasedAt });
        expect([releasedAt, (await call(`${archive.url}/legal-holds/by-query`, { token: t.archivist })).json.items.length]).toEqual([releasedAt, 1]);
      }
      await record.replace(asPlaced);
      const released = await call(`${archive.url}/legal-holds/${hold.json.holdId}`, { ...json('DELETE', { reason: 'audit closed' }), token: t.admin });
      expect(released.json.documentIds.sort()).toEqual([early, late].sort());
      expect((await call(`${archive.url}/legal-holds/by-query`, { token: t.archivist })).json.items).toEqual([]);
      const disposed = await sweep({ now: archive.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, onlyTenant);
      expect(disposed.disposed.sort()).toEqual([early, late].map((id) => `${t.tenant}/${id}`).sort());
    } finally {
      archive.clock.set(start);
    }
  });
});

describe('retention extension', () => {
  it('moves retain-until later on every blob and in the catalog, never earlier', async () => {
    const t = await tenantWith('extend');
    const id = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const res = await call(`${archive.url}/documents/${id}/retention`, { ...json('POST', { retainUntil: '2040-01-01', reason: 'pending litigation' }), token: t.archivist });
    expect(res.status).toBe(200);
    expect(res.json.retention).toMatchObject({ class: 'fiscal-7y', retainUntil: '2040-01-01T00:00:00.000Z', extensions: [{ from: '2032-01-01T00:00:00.000Z', to: '2040-01-01T00:00:00.000Z', reason: 'pending litigation' }] });
    const sets = archive.proxy.records.filter((r) => r.container === t.container && r.op === 'set-immutability-policy');
    expect(sets.map((s) => s.blob).sort()).toEqual([`${id}/manifest.json`, `${id}/original.jpg`, `${id}/rendition.pdf`]);
    for (const s of sets) expect(s).toMatchObject({ status: 200, until: httpDate('2040-01-01T00:00:00Z'), mode: 'Locked' });
    expect(archive.proxy.state(t.container, `${id}/rendition.pdf`)?.until?.toISOString()).toBe('2040-01-01T00:00:00.000Z');

    const shorter = await call(`${archive.url}/documents/${id}/retention`, { ...json('POST', { retainUntil: '2035-01-01T00:00:00Z', reason: 'oops' }), token: t.archivist });
    expect(shorter.status).toBe(422);
    expect(shorter.json).toMatchObject({ code: 'retention_shortening_refused', retainUntil: '2040-01-01T00:00:00.000Z' });
    const accountant = await archive.token({ tenant: t.tenant, sub: 'acc', rights: 'accountant' });
    expect((await call(`${archive.url}/documents/${id}/retention`, { ...json('POST', { retainUntil: '2050-01-01', reason: 'x' }), token: accountant })).status).toBe(403);
  });
});

describe('retention that has already ended', () => {
  it('a document whose retention ended before it is archived is a 422 retention_ended, nothing written (storage refuses a lock until a past date)', async () => {
    const t = await tenantWith('ended');
    const form = new FormData();
    form.append('metadata', JSON.stringify({ fiscalYear: 2016 })); // kept until 2024-01-01; now is 2025-03-01
    form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
    const res = await call(`${archive.url}/documents`, { method: 'POST', body: form, token: t.archivist });
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(res.json).toMatchObject({ code: 'retention_ended', retainUntil: '2024-01-01T00:00:00.000Z', retentionClass: 'fiscal-7y' });
    expect(await tenantState(archive, t.tenant)).toEqual({ blobs: [], documents: 0 });
    expect(archive.proxy.records.filter((r) => r.container === t.container && !r.blob.startsWith('sightings/') && r.op === 'put')).toEqual([]);
  });
});
