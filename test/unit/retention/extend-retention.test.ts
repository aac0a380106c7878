import { extendRetention } from '../../../shared/retention/extend-retention';
import { auditOutboxItem, type AuditStaging } from '../../../shared/kernel/audit';
import type { Principal } from '../../../shared/kernel/principal';
import { inMemoryDeps } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { prepareDisposal } from '../../../shared/retention/dispose';
import type { FakeClock } from '../../support/fake-clock';

const T = 'acme';
const archivist: Principal = { tenantId: T, subject: 'arc', kind: 'user', rightsSet: 'archivist', permissions: new Set(['retention:extend']) };

it('an extension\'s audit entry names the retain-until it set and the one before; a shorter one is refused and changes nothing', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  const details: (string | undefined)[] = [];
  const staging: AuditStaging = {
    item: (target, detail) => {
      details.push(detail);
      return auditOutboxItem([{ tenantId: T, at: '2026-01-01T00:00:00.000Z', actor: { subject: 'arc', kind: 'user' }, action: 'retention.extend', target: target ?? null, outcome: 'success', status: 200, requestId: 'r', clientIp: null, userAgent: null, ...(detail ? { detail } : {}) }]);
    },
    stored: () => undefined,
  };
  const extended = await extendRetention({ principal: archivist, documentId: doc.id, retainUntil: '2100-01-01T00:00:00+01:00', reason: 'litigation', audit: staging }, deps);
  expect(extended.retention.retainUntil).toBe('2099-12-31T23:00:00.000Z');
  expect(details).toEqual([`retain-until=2099-12-31T23:00:00.000Z;from=${doc.retention.retainUntil}`]);
  await expect(extendRetention({ principal: archivist, documentId: doc.id, retainUntil: '2099-12-31', reason: 'oops', audit: staging }, deps)).rejects.toMatchObject({ code: 'retention_shortening_refused' });
  expect((await deps.catalog.get(T, doc.id))!.retention.retainUntil).toBe('2099-12-31T23:00:00.000Z');
});

it('two extensions at once: the one decided on the older read is refused (422) and blobs and catalog keep the later date', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  const other: Principal = { ...archivist, subject: 'arc-2' };
  const outcomes = await Promise.allSettled([
    extendRetention({ principal: archivist, documentId: doc.id, retainUntil: '2140-01-01T00:00:00Z', reason: 'litigation' }, deps),
    extendRetention({ principal: other, documentId: doc.id, retainUntil: '2120-01-01T00:00:00Z', reason: 'audit' }, deps),
  ]);
  expect(outcomes[0].status).toBe('fulfilled');
  expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: 'retention_shortening_refused' } });
  expect((await deps.catalog.get(T, doc.id))!.retention.retainUntil).toBe('2140-01-01T00:00:00.000Z');
  expect((await deps.blobs.documentBlobWorm(T, doc.id)).map((b) => b.retainUntil)).toEqual(['2140-01-01T00:00:00.000Z', '2140-01-01T00:00:00.000Z', '2140-01-01T00:00:00.000Z']);
});

it('an extension decided on a document the sweep then disposed of is document_disposed (410), not the storage error of its deleted blobs', async () => {
  const deps = inMemoryDeps();
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2017-05-01' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  (deps.clock as FakeClock).set('2100-01-01T00:00:00Z');
  // The extension's read waits while the sweep claims the document and deletes its blobs.
  let open!: () => void;
  const disposed = new Promise<void>((r) => (open = r));
  const getVersioned = deps.retention.catalog.getVersioned.bind(deps.retention.catalog);
  let readsLeft = 1;
  deps.retention.catalog.getVersioned = async (tenantId, id) => {
    const found = await getVersioned(tenantId, id);
    if (readsLeft-- > 0) await disposed;
    return found;
  };
  const extending = extendRetention({ principal: archivist, documentId: doc.id, retainUntil: '2200-01-01T00:00:00Z', reason: 'litigation' }, deps).then(() => null, (e: unknown) => e);
  await new Promise((r) => setImmediate(r));
  expect(await prepareDisposal(T, doc.id, { now: deps.clock.now(), runId: 'run', requireApproval: false }, deps)).toMatchObject({ doc: { status: 'disposing' } });
  open();
  expect(await extending).toMatchObject({ code: 'document_disposed' });
});
