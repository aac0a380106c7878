/**
 * `npm run conformance`: every rendition the normaliser makes from the scan corpus, from the
 * seeded random image cases and from each PDF it rewrites is validated by veraPDF (the PDF
 * Association's reference validator), flavour 2b, in one JVM. A rendition that claims PDF/A-2b
 * and fails any rule fails the run; one kept as `conformance: none` is reported, not failed.
 * veraPDF that cannot run fails the run loudly: this check is never skipped.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { normalise } from '../../shared/normalise';
import { ArchiveError } from '../../shared/kernel/errors';
import { statusOf } from '../../shared/http/problem';
import { imageCases } from '../../test/support/image-cases';
import { parseVeraPdfReport, resolveVeraPdf, runVeraPdf, VeraPdfJob } from '../../shared/validation/verapdf';

const ROOT = path.resolve(__dirname, '../../..');
const SHARED_CORPUS = path.resolve(ROOT, '../shared/corpus');
const FIXTURE_CORPUS = path.join(ROOT, 'test/fixtures/corpus');
const SCAN = /\.(jpe?g|png|tiff?|pdf|gif|jb2)$/i;
const RANDOM_CASES = Number(process.env.CONFORMANCE_RANDOM_CASES ?? 240);
const LIMITS = { maxPixelsPerPage: 150_000_000, maxPages: 500 };

interface Rendition {
  source: string;
  file: string;
  conformance: 'PDF/A-2b' | 'none';
  reason?: string;
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? walk(p) : SCAN.test(e.name) ? [p] : [];
  });
}

async function main(): Promise<void> {
  const started = Date.now();
  const verapdf = resolveVeraPdf(ROOT);
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-conformance-'));
  const renditions: Rendition[] = [];
  const refused: string[] = [];
  let n = 0;
  const make = async (source: string, files: Buffer[]) => {
    const id = `0190c0de-0000-7000-8000-${String(++n).padStart(12, '0')}`;
    try {
      const r = await normalise({ files: files.map((bytes) => ({ bytes })), documentId: id, createdAt: '2026-01-01T00:00:00.000Z', title: source, limits: LIMITS });
      const file = path.join(out, `${String(n).padStart(4, '0')}.pdf`);
      fs.writeFileSync(file, r.rendition);
      renditions.push({ source, file, conformance: r.conversion.conformance, ...(r.conversion.conformanceReason ? { reason: r.conversion.conformanceReason } : {}) });
    } catch (err) {
      // Refused input (the corpus's bad/ files) makes no rendition; anything else is a bug.
      if (!(err instanceof ArchiveError) || statusOf(err.code) >= 500) throw err;
      refused.push(`${source}: ${err.code}`);
    }
  };

  // The team's corpus and the test fixtures (which add derived TIFF variants), each file once.
  const corpora = [SHARED_CORPUS, FIXTURE_CORPUS].filter((d) => fs.existsSync(d));
  if (!corpora.includes(SHARED_CORPUS)) console.warn(`!! ${SHARED_CORPUS} not found: validating the test fixtures' copy of the corpus only`);
  const seen = new Set<string>();
  for (const corpus of corpora) {
    for (const f of walk(corpus)) {
      const bytes = fs.readFileSync(f);
      const key = createHash('sha256').update(bytes).digest('hex');
      if (seen.has(key)) continue;
      seen.add(key);
      await make(path.relative(path.dirname(corpus), f), [bytes]);
    }
  }
  const fromCorpus = renditions.length;
  for (const c of await imageCases(RANDOM_CASES, 20261202)) await make(`random ${c.name}`, c.files);

  const report = runVeraPdf(verapdf, renditions.map((r) => r.file));
  const jobs = new Map<string, VeraPdfJob>(parseVeraPdfReport(report.xml).map((j) => [j.file, j]));
  fs.writeFileSync(path.join(out, 'verapdf-report.xml'), report.xml);

  const failures: string[] = [];
  const notClaimed: string[] = [];
  let passed = 0;
  for (const r of renditions) {
    const job = jobs.get(r.file);
    if (r.conformance === 'none') {
      notClaimed.push(`${r.source} (${r.reason ?? 'no reason given'}; veraPDF: ${job ? (job.compliant ? 'would pass' : `fails ${job.failedRules.join(' ')}`) : 'no result'})`);
    } else if (!job) failures.push(`${r.source}: veraPDF gave no result`);
    else if (!job.compliant) failures.push(`${r.source}: ${job.error ?? `fails ${job.failedRules.join(', ')}`}`);
    else passed++;
  }

  console.log(`veraPDF ${report.version}, profile PDF/A-2B, one JVM for ${renditions.length} renditions (${report.seconds.toFixed(1)} s)`);
  console.log(`corpus: ${corpora.join(' + ')} (${seen.size} distinct files, ${fromCorpus} renditions, ${refused.length} files refused as the corpus README expects)`);
  console.log(`random image cases: ${renditions.length - fromCorpus} renditions (seed 20261202)`);
  console.log(`claimed PDF/A-2b: ${passed + failures.length}, passed veraPDF: ${passed}, failed: ${failures.length}`);
  if (notClaimed.length) console.log(`kept as conformance "none" (reported, not failed):\n  ${notClaimed.join('\n  ')}`);
  if (failures.length) console.log(`FAILED:\n  ${failures.join('\n  ')}`);
  console.log(`report: ${path.join(out, 'verapdf-report.xml')}; took ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`conformance: ${passed} passed, ${failures.length} failed`);
  if (failures.length) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`conformance: FAILED TO RUN: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 2;
});
