/**
 * Retention writes racing each other, against real Cosmos and the WORM proxy (locked policies): the
 * request decided on a stale read gets the answer the document as it is now gives (422, 410), never
 * a 500 from storage refusing or missing what the stale read expected, and storage never ends
 * earlier than the catalog.
 */
import { call } from '../support/http';
import { prepareDisposal } from '../../shared/retention/dispose';
import { newTenant } from '../support/harness';
import { gate } from '../support/interleave';
import { ingest, startWormArchive, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-03-01T12:00:00Z');
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

it('an extension decided before a later one landed is refused with 422, and every blob keeps the later date', async () => {
  const tenant = newTenant('race');
  const first = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
  const second = await archive.token({ tenant, sub: 'archivist-2', rights: 'archivist' });
  const id = await ingest(archive, first, { fiscalYear: 2024 });
  // The first request's read of the document waits until the second request has extended it further.
  const catalog = archive.host.deps.retention.catalog;
  const getVersioned = catalog.getVersioned.bind(catalog);
  const laterLanded = gate();
  const staleRead = gate();
  let readsLeft = 1;
  catalog.getVersioned = async (tenantId, documentId) => {
    const read = await getVersioned(tenantId, documentId);
    if (tenantId === tenant && documentId === id && readsLeft-- > 0) {
      staleRead.open();
      await laterLanded.wait;
    }
    return read;
  };
  try {
    const stale = call(`${archive.url}/documents/${id}/retention`, { ...json('POST', { retainUntil: '2040-01-01', reason: 'audit' }), token: first });
    // The later request starts only once the first has read (a fixed wait let a slow first request read second, and hang).
    await staleRead.wait;
    const later = await call(`${archive.url}/documents/${id}/retention`, { ...json('POST', { retainUntil: '2045-01-01', reason: 'litigation' }), token: second });
    expect(later.status).toBe(200);
    laterLanded.open();
    const refused = await stale;
    expect(refused.status).toBe(422);
    expect(refused.json).toMatchObject({ code: 'retention_shortening_refused', retainUntil: '2045-01-01T00:00:00.000Z' });
  } finally {
    catalog.getVersioned = getVersioned;
  }
  const doc = (await call(`${archive.url}/documents/${id}`, { token: first })).json;
  expect(doc.retention.retainUntil).toBe('2045-01-01T00:00:00.000Z');
  for (const blob of [`${id}/original.jpg`, `${id}/rendition.pdf`, `${id}/manifest.json`]) {
    expect(archive.proxy.state(`tenant-${tenant}`, blob)?.until?.toISOString()).toBe('2045-01-01T00:00:00.000Z');
  }
});

it('a legal hold decided on a document the sweep then disposed of is 410 document_disposed, not a 500 from its deleted blobs', async () => {
  const tenant = newTenant('race-dispose');
  const archivist = await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' });
  const id = await ingest(archive, archivist, { fiscalYear: 2024 });
  // The placement's read of the document waits while the sweep claims it and deletes its blobs (its retention long over).
  const catalog = archive.host.deps.retention.catalog;
  const getVersioned = catalog.getVersioned.bind(catalog);
  let read!: () => void;
  const placementRead = new Promise<void>((r) => (read = r));
  let open!: () => void;
  const disposed = new Promise<void>((r) => (open = r));
  let readsLeft = 1;
  catalog.getVersioned = async (tenantId, documentId) => {
    const found = await getVersioned(tenantId, documentId);
    if (tenantId === tenant && documentId === id && readsLeft-- > 0) {
      read();
      await disposed;
    }
    return found;
  };
  const start = archive.clock.now().toISOString();
  try {
    const placing = call(`${archive.url}/documents/${id}/legal-holds`, { ...json('POST', { reason: 'dispute', caseReference: 'case-9' }), token: archivist });
    await placementRead;
    archive.clock.set('2100-01-01T00:00:00Z');
    const prepared = await prepareDisposal(tenant, id, { now: archive.clock.now(), runId: 'race', requireApproval: false }, archive.host.deps);
    expect(prepared).toMatchObject({ id, doc: { status: 'disposing' } });
    open();
    const refused = await placing;
    expect(refused.status).toBe(410);
    expect(refused.json).toMatchObject({ code: 'document_disposed' });
  } finally {
    catalog.getVersioned = getVersioned;
    archive.clock.set(start);
  }
});
