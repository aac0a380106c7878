import fc from 'fast-check';
import { ArchiveError } from '../../../shared/kernel/errors';
import { statusOf } from '../../../shared/http/problem';
import { normalise } from '../../../shared/normalise';
import { corpus, input } from './helpers';

/**
 * Hostile bytes never crash or hang the normaliser: every outcome is a result
 * or an ArchiveError with a 4xx status. Tens of runs, not thousands.
 */
const SEEDS = ['img2pdf/normal.jpg', 'img2pdf/gray.png', 'img2pdf/mono.tif', 'img2pdf/CMYK.tif', 'ocrmypdf/trivial.pdf', 'derived/linn-g4.tif', 'ocrmypdf/crom.png'].map((f) => corpus(f));
/** NORMALISE_FUZZ_RUNS=5000 fuzzes deeper by hand; the suite keeps to tens of runs. */
const RUNS = Number(process.env.NORMALISE_FUZZ_RUNS ?? 40);
const SMALL_LIMITS = { maxPixelsPerPage: 20_000_000, maxPages: 20, maxDecompressedBytes: 64 * 1024 * 1024 };

/** 'ok' or the ArchiveError code. */
async function outcome(bytes: Buffer): Promise<string> {
  try {
    const r = await normalise(input([bytes], { limits: SMALL_LIMITS }));
    expect(r.rendition.length).toBeGreaterThan(0);
    return 'ok';
  } catch (e) {
    if (!(e instanceof ArchiveError)) throw e;
    expect(statusOf(e.code)).toBeGreaterThanOrEqual(400);
    expect(statusOf(e.code)).toBeLessThan(500);
    return e.code;
  }
}

/** A mutation: overwrite a few bytes, truncate, or splice a run of random bytes into a real file. */
const mutated = fc
  .record({
    seed: fc.integer({ min: 0, max: SEEDS.length - 1 }),
    edits: fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
    cut: fc.option(fc.double({ min: 0.05, max: 1, noNaN: true })),
    header: fc.boolean(),
  })
  .map(({ seed, edits, cut, header }) => {
    const src = SEEDS[seed]!;
    const b = Buffer.from(src);
    // Edits land in the header region half the time, where parsers are most exposed.
    // The first 8 bytes (the magic number) are left alone: random-type bytes are the other test's job.
    const span = (header ? Math.min(b.length, 400) : b.length) - 8;
    for (const [pos, v] of edits) b[8 + (Math.floor(pos * span) % span)] = v;
    return cut === null ? b : b.subarray(0, Math.max(1, Math.floor(cut * b.length)));
  });

describe('property: random and mutated bytes', () => {
  test('random bytes (with and without real magic numbers) give a result or an ArchiveError', async () => {
    const magic = fc.constantFrom(Buffer.alloc(0), Buffer.from('%PDF-1.7\n'), Buffer.from([0xff, 0xd8, 0xff]), Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from('II*\0', 'latin1'), Buffer.from('MM\0*', 'latin1'));
    await fc.assert(
      fc.asyncProperty(magic, fc.uint8Array({ minLength: 0, maxLength: 600 }), async (m, rest) => {
        await outcome(Buffer.concat([m, Buffer.from(rest)]));
      }),
      { numRuns: RUNS },
    );
  });

  test('mutations of real files give a result or an ArchiveError', async () => {
    await fc.assert(fc.asyncProperty(mutated, async (bytes) => void (await outcome(bytes))), { numRuns: RUNS * 1.5 });
  });
});
