/**
 * The duplicate check is one point read on a content-key marker written with the catalog item:
 * never a query, kept in step with disposal (the same bytes may be archived again once the
 * document is disposed of), and given to documents archived before markers by the reconciler
 * (idempotent, re-runnable).
 */
import { randomBytes } from 'node:crypto';
import { contentMarkerId } from '../../shared/adapters/azure/catalog';
import { reconcile } from '../../shared/retention/reconcile';
import { sweep } from '../../shared/retention/sweep';
import { call, multipart, sha256hex } from '../support/http';
import { depsForOnlyTenant, newTenant } from '../support/harness';
import { startWormArchive, uniqueJpeg, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-03-01T12:00:00Z', { COSMOS_DATABASE: `markers-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

const upload = (token: string, bytes: Buffer, metadata: unknown = {}) => call(`${archive.url}/documents`, { method: 'POST', body: multipart([{ bytes, name: 'scan.jpg', type: 'image/jpeg' }], metadata), token });
const marker = async (tenant: string, contentKey: string) => {
  try {
    return (await archive.host.deps.cosmos.documents.item(contentMarkerId(contentKey), tenant).read()).resource ?? null;
  } catch {
    return null;
  }
};
/** The cross-tenant timers narrowed to one tenant (other files' tenants share the emulators). */
const onlyTenant = (tenant: string) => depsForOnlyTenant(archive.host.deps, tenant);

describe('content-key markers', () => {
  it('a duplicate upload is refused without any catalog query', async () => {
    const tenant = newTenant('marker');
    const token = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
    const bytes = uniqueJpeg();
    const first = await upload(token, bytes);
    expect(first.status).toBe(201);
    expect(await marker(tenant, sha256hex(bytes))).toMatchObject({ type: 'content-key', documentId: first.json.id });

    const items = archive.host.deps.cosmos.documents.items;
    const query = jest.spyOn(Object.getPrototypeOf(items) as { query: () => unknown }, 'query');
    try {
      const again = await upload(token, bytes);
      expect(again.status).toBe(409);
      expect(again.json).toMatchObject({ code: 'duplicate_document', documentId: first.json.id });
      expect(query).not.toHaveBeenCalled();
    } finally {
      query.mockRestore();
    }
  });

  it('disposal removes the marker: the same bytes can be archived again afterwards', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const tenant = newTenant('markerdisp');
    const token = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
    const bytes = uniqueJpeg();
    const first = await upload(token, bytes, { fiscalYear: 2018 });
    expect(first.status).toBe(201);
    archive.clock.set('2026-01-02T00:00:00Z');
    const swept = await sweep({ now: archive.clock.now(), budget: { maxItems: 1000, maxMillis: 60_000 }, continuation: null }, onlyTenant(tenant));
    expect(swept.disposed).toContain(`${tenant}/${first.json.id}`);
    expect(await marker(tenant, sha256hex(bytes))).toBeNull();

    const again = await upload(token, bytes, { fiscalYear: 2025 });
    expect(again.status).toBe(201);
    expect(await marker(tenant, sha256hex(bytes))).toMatchObject({ documentId: again.json.id });
  });

  it('the reconciler gives documents archived before markers their marker, and re-running it changes nothing', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const tenant = newTenant('markermig');
    const token = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
    const bytes = uniqueJpeg();
    const first = await upload(token, bytes);
    expect(first.status).toBe(201);
    const contentKey = sha256hex(bytes);
    // As if archived before markers existed.
    await archive.host.deps.cosmos.documents.item(contentMarkerId(contentKey), tenant).delete();

    const run = () => reconcile({ now: archive.clock.now(), maxItems: 1000, continuation: null, orphanGraceMinutes: 60 }, onlyTenant(tenant));
    await run();
    const migrated = await marker(tenant, contentKey);
    expect(migrated).toMatchObject({ type: 'content-key', contentKey, documentId: first.json.id });
    await run();
    expect((await marker(tenant, contentKey))?._etag).toBe(migrated?._etag);

    const again = await upload(token, bytes);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'duplicate_document', documentId: first.json.id });
  });

  it('two uploads of the same bytes that both passed the duplicate check: one is indexed, the other is the 409', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const tenant = newTenant('markerrace');
    const token = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
    const bytes = uniqueJpeg();
    // Both duplicate checks answer before either upload is indexed (the marker was upserted: both were).
    const catalog = archive.host.deps.catalog;
    const find = catalog.findByContentKey.bind(catalog);
    let checks = 0;
    let bothChecked!: () => void;
    const barrier = new Promise<void>((r) => (bothChecked = r));
    const spy = jest.spyOn(catalog, 'findByContentKey').mockImplementation(async (t, key) => {
      const found = await find(t, key);
      if (t === tenant && ++checks === 2) bothChecked();
      if (t === tenant && checks <= 2) await barrier;
      return found;
    });
    try {
      const answers = await Promise.all([upload(token, bytes), upload(token, bytes)]);
      expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
      const winner = answers.find((a) => a.status === 201)!;
      expect(answers.find((a) => a.status === 409)!.json).toMatchObject({ code: 'duplicate_document', documentId: winner.json.id });
      expect(await marker(tenant, sha256hex(bytes))).toMatchObject({ documentId: winner.json.id });
    } finally {
      spy.mockRestore();
    }
  });

  it('a marker left naming a document that is gone (its drop failed) does not block the bytes', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const tenant = newTenant('markerstale');
    const token = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
    const bytes = uniqueJpeg();
    const contentKey = sha256hex(bytes);
    await archive.host.deps.cosmos.documents.items.create({ id: contentMarkerId(contentKey), tenantId: tenant, type: 'content-key', contentKey, documentId: '01900000-0000-7000-8000-000000000000' });
    const first = await upload(token, bytes);
    expect(first.status).toBe(201);
    expect(await marker(tenant, contentKey)).toMatchObject({ documentId: first.json.id });
  });
});
