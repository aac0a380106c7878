/**
 * Concurrent uploads with one Idempotency-Key, over every interleaving fast-check's scheduler
 * finds: exactly one request owns the document, the others replay it (same files), are told
 * the key was reused (different files) or to retry (owner not finished), and every stored blob
 * of the document matches the catalog. The stores are small in-memory fakes with the real
 * create-only semantics; the normaliser is replaced by one whose rendition, like the real one,
 * embeds createdAt (so two requests with the same files can still make different renditions).
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Principal } from '../../../shared/kernel/principal';
import { ingestDocument, IngestResult } from '../../../shared/documents/ingest';
import { ArchiveError } from '../../../shared/kernel/errors';
import type { Normaliser } from '../../../shared/normalise/pool';
import type { NormaliseInput } from '../../../shared/normalise/types';
import { inMemoryDeps } from '../../support/in-memory';

/** Every upload here is in memory (no spooling). */
const bytesOf = (f: NormaliseInput['files'][number]): Buffer => {
  if (!f.bytes) throw new Error('this test uploads in memory only');
  return f.bytes;
};

const normaliser: Normaliser = {
  normalise: async (input) => ({
    rendition: Buffer.from(`%PDF-fake ${input.createdAt} ${input.files.map((f) => bytesOf(f).toString('hex')).join(',')}`),
    pageCount: input.files.length,
    // The first byte picks the type, so different files can have different original names.
    originals: input.files.map((f) => (bytesOf(f)[0]! % 2 === 0 ? { mediaType: 'image/png', extension: 'png' } : { mediaType: 'image/jpeg', extension: 'jpg' })),
    conversion: { normaliser: 'fake', pageCount: input.files.length, pages: [], conformance: 'none' },
  }),
  normaliseToFile: async () => {
    throw new Error('this test uploads in memory only');
  },
  close: async () => undefined,
};

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function fakes(s: fc.Scheduler, tick: boolean) {
  const base = inMemoryDeps();
  const b = base.blobs;
  const c = base.catalog;
  const p = base.retention.policies;
  // Every store call is a point where fast-check's scheduler may let another request run.
  const blobs = Object.assign(b, {
    prepareTenant: s.scheduleFunction(b.prepareTenant.bind(b)),
    putCreateOnly: s.scheduleFunction(b.putCreateOnly.bind(b)),
    exists: s.scheduleFunction(b.exists.bind(b)),
    readAll: s.scheduleFunction(b.readAll.bind(b)),
    readIfExists: s.scheduleFunction(b.readIfExists.bind(b)),
    metadataOf: s.scheduleFunction(b.metadataOf.bind(b)),
  });
  const catalog = Object.assign(c, {
    get: s.scheduleFunction(c.get.bind(c)),
    create: s.scheduleFunction(c.create.bind(c)),
    findByContentKey: s.scheduleFunction(c.findByContentKey.bind(c)),
  });
  const policies = Object.assign(p, { get: s.scheduleFunction(p.get.bind(p)) });
  let t = Date.parse('2025-03-01T12:00:00Z');
  const deps = {
    ...base,
    blobs,
    catalog,
    clock: { now: () => new Date(tick ? t++ : t) },
    retention: { ...base.retention, policies },
    normaliser,
    // Validation requests are fire-and-forget after the catalog write; the race is about the blobs (unscheduled).
  };
  return { deps, blobs: b.blobs, catalog: c.documents };
}

/** One person's requests through several credentials (keys she created): an Idempotency-Key is the person's. */
const principal = (n: number): Principal => ({ tenantId: 'acme', subject: `key-${n}`, person: 'anna', kind: 'client', rightsSet: 'uploader', permissions: new Set(['documents:write']) });
const FILES = [Buffer.from([2, 1, 1]), Buffer.from([3, 2, 2]), Buffer.from([4, 3, 3])];

describe('ingest: concurrent requests with one Idempotency-Key', () => {
  it('exactly one owns the document, the others replay, 422 or 409, and every stored blob matches the catalog', async () => {
    await fc.assert(
      fc.asyncProperty(fc.scheduler(), fc.array(fc.integer({ min: 0, max: FILES.length - 1 }), { minLength: 2, maxLength: 5 }), fc.boolean(), async (s, picks, tick) => {
        const { deps, blobs, catalog } = fakes(s, tick);
        const outcomes: (IngestResult | ArchiveError)[] = [];
        const requests = picks.map((pick, n) =>
          ingestDocument({ principal: principal(n), files: [{ bytes: FILES[pick]!, fileName: null }], metadata: {}, idempotencyKey: 'order-42' }, deps).then(
            (r) => void (outcomes[n] = r),
            (e: unknown) => {
              if (!(e instanceof ArchiveError)) throw e;
              outcomes[n] = e;
            },
          ),
        );
        await s.waitFor(Promise.all(requests));

        const owners = outcomes.filter((o): o is IngestResult => !(o instanceof ArchiveError) && !o.replayed);
        expect(owners).toHaveLength(1);
        const doc = owners[0]!.document;
        expect([...catalog.values()]).toEqual([doc]);
        outcomes.forEach((o, n) => {
          const same = sha(FILES[picks[n]!]!) === doc.contentKey;
          if (o instanceof ArchiveError) expect(o.code).toBe(same ? 'idempotency_in_flight' : 'idempotency_key_reused');
          else expect(o.document).toEqual(doc);
          if (o instanceof ArchiveError && o.code === 'idempotency_in_flight') expect(o.retryAfterSeconds).toBeGreaterThan(0);
        });
        // Nothing stored disagrees with the catalog; nothing is stored that it does not list.
        const listed = new Map([...doc.originals, doc.rendition].map((f) => [f.blobName, f.sha256]));
        for (const [key, { bytes }] of blobs) {
          const name = key.slice('acme/'.length);
          if (name === `${doc.id}/manifest.json`) expect(JSON.parse(bytes.toString('utf8'))).toEqual({ ...doc, mac: expect.any(String) }); // sealed by the archive
          else expect(sha(bytes)).toBe(listed.get(name));
        }
      }),
      { numRuns: 300 },
    );
  });
});
