/**
 * Ingest is a declared, ordered list of named steps (paperless-ngx's consumer): the list is the
 * documentation (ARCHITECTURE.md shows it), and a step that refuses stops every later one.
 */
import { INGEST_STEPS, ingestDocument, runIngestSteps } from '../../../shared/documents/ingest';
import type { IngestStep } from '../../../shared/documents/ingest';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Principal } from '../../../shared/kernel/principal';
import type { NormaliseResult } from '../../../shared/normalise/types';
import { FakeNormaliser, inMemoryDeps } from '../../support/in-memory';

const principal: Principal = { tenantId: 'acme', subject: 'u', kind: 'user', rightsSet: 'uploader', permissions: new Set(['documents:write', 'documents:read']) };
const files = [{ bytes: Buffer.from([1, 2, 3]), fileName: 'scan.png' }];

/** Refuses every upload, as the real normaliser refuses an unreadable one. */
class RefusingNormaliser extends FakeNormaliser {
  override async normalise(): Promise<NormaliseResult> {
    throw new ArchiveError('unsupported_media_type', { detail: 'not an image' });
  }
}

it('runs the steps in their declared order', () => {
  expect(INGEST_STEPS.map((s) => s.name)).toEqual(['parseRequest', 'hashContent', 'checkIdempotency', 'startWork', 'fixRetention', 'checkDuplicate', 'normalise', 'describe', 'store', 'index', 'requestValidation']);
});

it('stores, indexes and asks for validation when every step passes', async () => {
  const deps = inMemoryDeps();
  const { document, replayed } = await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);
  expect(replayed).toBe(false);
  await deps.validationRequests.flush();
  expect([...deps.blobs.blobs.keys()].sort()).toEqual([`acme/${document.id}/manifest.json`, `acme/${document.id}/original.png`, `acme/${document.id}/rendition.pdf`]);
  expect(await deps.catalog.get('acme', document.id)).toEqual(document);
  expect(deps.validationQueue.sent).toEqual([{ tenantId: 'acme', documentId: document.id, renditionSha256: document.rendition.sha256 }]);
});

it('a failed normalise stops the later steps: no blob, no catalog item, no validation request', async () => {
  const deps = { ...inMemoryDeps(), normaliser: new RefusingNormaliser() };
  await expect(ingestDocument({ principal, files, metadata: {}, idempotencyKey: 'k-1' }, deps)).rejects.toMatchObject({ code: 'unsupported_media_type' });
  expect(deps.blobs.blobs.size).toBe(0);
  expect(deps.catalog.documents.size).toBe(0);
  await deps.validationRequests.flush();
  expect(deps.validationQueue.sent).toEqual([]);
});

it('the runner stops at the first step that refuses or answers', async () => {
  const ran: string[] = [];
  const step = (name: string, run: IngestStep['run'] = () => undefined): IngestStep => ({ name, run: (ctx) => (ran.push(name), run(ctx)) });
  const deps = inMemoryDeps();
  const ctx = { cmd: { principal, files, metadata: {}, idempotencyKey: null }, deps, temporaryFiles: [], spoolShares: [] };

  await expect(runIngestSteps([step('a'), step('b', () => { throw new ArchiveError('bad_request'); }), step('c')], ctx)).rejects.toBeInstanceOf(ArchiveError);
  expect(ran).toEqual(['a', 'b']);

  ran.length = 0;
  const earlier = await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);
  const answer = await runIngestSteps([step('a', () => earlier), step('b')], ctx);
  expect(answer).toBe(earlier);
  expect(ran).toEqual(['a']);
});

it('the duplicate check runs while the upload is converted, and its verdict comes first', async () => {
  const deps = inMemoryDeps();
  const { document } = await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);
  // Same bytes again, with a normaliser that would refuse them: the answer is the duplicate, not the conversion's refusal.
  const refusing = { ...deps, normaliser: new RefusingNormaliser() };
  await expect(ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, refusing)).rejects.toMatchObject({ code: 'duplicate_document', extensions: { documentId: document.id } });
  expect(deps.blobs.blobs.size).toBe(3);

  // Overlap: the conversion has started before the duplicate look-up answers.
  const order: string[] = [];
  const catalog = deps.catalog;
  const slowCatalog = Object.assign(Object.create(Object.getPrototypeOf(catalog)), catalog, {
    findByContentKey: async (...args: Parameters<typeof catalog.findByContentKey>) => {
      order.push('look-up');
      await new Promise((r) => setTimeout(r, 10));
      order.push('verdict');
      return catalog.findByContentKey(...args);
    },
  });
  const normaliser = new FakeNormaliser();
  const normalise = normaliser.normalise.bind(normaliser);
  normaliser.normalise = async (input) => (order.push('conversion'), normalise(input));
  await ingestDocument({ principal, files: [{ bytes: Buffer.from([7, 7, 7]), fileName: 'other.png' }], metadata: {}, idempotencyKey: null }, { ...deps, catalog: slowCatalog, normaliser });
  expect(order).toEqual(['look-up', 'conversion', 'verdict']);
});

it('the stored policy is read while the duplicate look-up and the conversion run, and its refusal comes first however fast the others answer', async () => {
  const deps = inMemoryDeps();
  await ingestDocument({ principal, files, metadata: {}, idempotencyKey: null }, deps);
  const order: string[] = [];
  const policies = deps.retention.policies;
  const slowPolicies = Object.assign(Object.create(Object.getPrototypeOf(policies)), policies, {
    getVersioned: async (...args: Parameters<typeof policies.getVersioned>) => {
      order.push('policy read');
      await new Promise((r) => setTimeout(r, 10));
      order.push('policy');
      return policies.getVersioned(...args);
    },
  });
  const catalog = deps.catalog;
  const lookups = Object.assign(Object.create(Object.getPrototypeOf(catalog)), catalog, {
    findByContentKey: async (...args: Parameters<typeof catalog.findByContentKey>) => (order.push('look-up'), catalog.findByContentKey(...args)),
  });
  const normaliser = new FakeNormaliser();
  const normalise = normaliser.normalise.bind(normaliser);
  normaliser.normalise = async (input) => (order.push('conversion'), normalise(input));
  const slow = { ...deps, catalog: lookups, normaliser, retention: { ...deps.retention, policies: slowPolicies } };
  // The same bytes with a class the policy does not know: the duplicate is found at once, but the answer is the policy's.
  await expect(ingestDocument({ principal, files, metadata: { retentionClass: 'no-such-class' }, idempotencyKey: null }, slow)).rejects.toMatchObject({ code: 'invalid_metadata' });
  expect(order).toEqual(['policy read', 'look-up', 'conversion', 'policy']);
  expect(deps.blobs.blobs.size).toBe(3);
});

it('a stated fiscal year more than one before the document date\'s is refused (400 invalid_metadata): nothing stored, no retention cut short', async () => {
  const deps = inMemoryDeps();
  const refused = ingestDocument({ principal, files, metadata: { documentDate: '2024-05-01', fiscalYear: 1990 }, idempotencyKey: null }, deps);
  await expect(refused).rejects.toMatchObject({ code: 'invalid_metadata', extensions: { errors: [{ path: 'fiscalYear' }] } });
  expect(deps.blobs.blobs.size).toBe(0);
  expect(deps.catalog.documents.size).toBe(0);
  // The year before the date's (an invoice dated after the year end) and later years are the client's to state.
  const accrued = await ingestDocument({ principal, files: [{ bytes: Buffer.from([4]), fileName: 'a.png' }], metadata: { documentDate: '2025-01-03', fiscalYear: 2024 }, idempotencyKey: null }, deps);
  expect(accrued.document.retention.retainUntil).toBe('2032-01-01T00:00:00.000Z');
});
