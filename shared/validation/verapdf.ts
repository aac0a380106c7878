/**
 * veraPDF from Maven Central: the version is pinned in tools/verapdf/pom.xml (and only there);
 * Maven resolves it into a git-ignored cache (.cache/m2) and writes the classpath, and one JVM
 * validates every file of a run (the CLI's batch mode), answering a machine-readable report.
 */
import { execFile, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PDFA_2B, RenditionValidator, StoredReportOutcome, ValidatorBatch } from '../kernel/validation';

export interface VeraPdf {
  classpath: string;
}

export interface VeraPdfJob {
  file: string;
  compliant: boolean;
  /** ISO 19005-2 rule ids (`clause-testNumber`, e.g. `6.2.4.3-2`) that failed. */
  failedRules: string[];
  /** Set when veraPDF could not validate the file at all (parse error, exception). */
  error?: string;
}

function run(cmd: string, args: string[], what: string, okStatuses = [0]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 });
  if (r.error) throw new Error(`${what}: cannot run ${cmd} (${r.error.message}). veraPDF needs a JDK (java) and Maven (mvn) on PATH.`);
  if (!okStatuses.includes(r.status ?? -1)) throw new Error(`${what}: ${cmd} exited ${r.status}\n${r.stderr.slice(-4000)}`);
  return r.stdout;
}

/** Resolves the pinned veraPDF through Maven (cached after the first run). */
export function resolveVeraPdf(root: string): VeraPdf {
  const cache = path.join(root, '.cache');
  const pom = path.join(root, 'tools/verapdf/pom.xml');
  const cpFile = path.join(cache, 'verapdf-classpath.txt');
  const stamp = `${fs.statSync(pom).mtimeMs}`;
  const stampFile = `${cpFile}.pom-mtime`;
  const fresh = fs.existsSync(cpFile) && fs.existsSync(stampFile) && fs.readFileSync(stampFile, 'utf8') === stamp;
  if (!fresh) {
    fs.mkdirSync(cache, { recursive: true });
    run('mvn', ['-q', '-B', '-f', pom, `-Dmaven.repo.local=${path.join(cache, 'm2')}`, 'dependency:build-classpath', `-Dmdep.outputFile=${cpFile}`], 'resolving veraPDF through Maven');
    fs.writeFileSync(stampFile, stamp);
  }
  const classpath = fs.readFileSync(cpFile, 'utf8').trim();
  const missing = classpath.split(path.delimiter).filter((jar) => !fs.existsSync(jar));
  if (!classpath || missing.length) throw new Error(`veraPDF classpath is incomplete (${missing.slice(0, 3).join(', ')}); delete ${cache} and run again`);
  return { classpath };
}

/** Validates the files against PDF/A-2B in one JVM; the report is veraPDF's own XML ("mrr"). */
export function runVeraPdf(vera: VeraPdf, files: string[]): { xml: string; version: string; seconds: number } {
  const started = Date.now();
  const xml = run('java', ['-cp', vera.classpath, 'org.verapdf.apps.GreenfieldCliWrapper', '--flavour', '2b', '--format', 'mrr', '--maxfailuresdisplayed', '5', ...files], 'veraPDF', [0, 1]); // 1: some file is not compliant
  const version = /<releaseDetails id="core" version="([^"]+)"/.exec(xml)?.[1];
  if (!version || !xml.includes('</report>')) throw new Error(`veraPDF did not answer a complete report:\n${xml.slice(0, 2000)}`);
  return { xml, version, seconds: (Date.now() - started) / 1000 };
}

const attr = (tag: string, name: string): string | undefined => new RegExp(`\\b${name}="([^"]*)"`).exec(tag)?.[1];
const unescapeXml = (s: string) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&');

/** One entry per validated file, from veraPDF's machine-readable report. */
export function parseVeraPdfReport(xml: string): VeraPdfJob[] {
  const jobs: VeraPdfJob[] = [];
  for (const [, body] of xml.matchAll(/<job>([\s\S]*?)<\/job>/g)) {
    const file = unescapeXml(/<name>([\s\S]*?)<\/name>/.exec(body!)?.[1] ?? '');
    const report = /<validationReport\b[^>]*>/.exec(body!)?.[0];
    const failedRules = [...body!.matchAll(/<rule\b[^>]*\bstatus="failed"[^>]*>/g)].map(([tag]) => `${attr(tag, 'clause')}-${attr(tag, 'testNumber')}`);
    if (!report) {
      const exception = /<taskException\b[^>]*>([\s\S]*?)<\/taskException>/.exec(body!);
      jobs.push({ file, compliant: false, failedRules, error: `not validated: ${exception ? unescapeXml(exception[1]!).trim().slice(0, 300) : 'no validation report'}` });
      continue;
    }
    jobs.push({ file, compliant: attr(report, 'isCompliant') === 'true', failedRules });
  }
  return jobs;
}

/**
 * The RenditionValidator port's local adapter: veraPDF in one JVM per batch (async, so a host's
 * event loop keeps serving), its JSON report cut into one report per rendition.
 */
export class VeraPdfValidator implements RenditionValidator {
  readonly name = 'veraPDF';

  /**
   * `limit`: how long one run may take before its JVM is killed (a rendition veraPDF loops on would
   * otherwise hold the worker, and every tenant's validation, for ever): `baseMs` plus `perRenditionMs` each.
   */
  constructor(
    private readonly vera: VeraPdf,
    private readonly limit: { baseMs: number; perRenditionMs: number } = { baseMs: 120_000, perRenditionMs: 60_000 },
  ) {}

  async validate(renditions: { name: string; bytes: Buffer }[]): Promise<ValidatorBatch> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'archive-validation-'));
    try {
      const files = await Promise.all(renditions.map(async (r, i) => {
        const file = path.join(dir, `${i}.pdf`);
        await fs.promises.writeFile(file, r.bytes);
        return file;
      }));
      const out = await runAsync('java', ['-cp', this.vera.classpath, 'org.verapdf.apps.GreenfieldCliWrapper', '--flavour', '2b', '--format', 'json', '--maxfailuresdisplayed', '5', ...files], this.limit.baseMs + this.limit.perRenditionMs * renditions.length);
      const parsed = JSON.parse(out) as VeraJsonReport;
      const version = parsed.report.buildInformation.releaseDetails.find((d) => d.id === 'core')?.version;
      if (!version) throw new Error('veraPDF answered a report without its version');
      const byFile = new Map(parsed.report.jobs.map((j) => [j.itemDetails.name, j]));
      return {
        validator: { name: this.name, version },
        profile: PDFA_2B,
        results: renditions.map((r, i) => {
          const job = byFile.get(files[i]!);
          if (!job) throw new Error(`veraPDF reported nothing for ${r.name}`);
          // The worker's temporary path means nothing to a reader: the report names the rendition instead.
          const report = { report: { buildInformation: parsed.report.buildInformation, jobs: [{ ...job, itemDetails: { ...job.itemDetails, name: r.name } }] } };
          return { ...outcomeOfJob(job), report: Buffer.from(JSON.stringify(report, null, 2)) };
        }),
      };
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  readReport(report: Buffer): StoredReportOutcome {
    return readVeraPdfReport(report);
  }
}

/** The outcome a stored veraPDF JSON report of one rendition states (written here or by the Java app, validator/). */
export function readVeraPdfReport(report: Buffer): StoredReportOutcome {
  const parsed = JSON.parse(report.toString('utf8')) as VeraJsonReport;
  const job = parsed.report?.jobs?.[0];
  const version = parsed.report?.buildInformation?.releaseDetails?.find((d) => d.id === 'core')?.version;
  if (!job || !version || parsed.report.jobs.length !== 1) throw new Error('not a veraPDF report of one rendition');
  return { validator: { name: 'veraPDF', version }, profile: PDFA_2B, ...outcomeOfJob(job) };
}

/** Whether a JDK and Maven are on PATH (the local host runs the worker only then). */
export function javaToolsPresent(): boolean {
  return ['java', 'mvn'].every((cmd) => spawnSync(cmd, ['-version'], { stdio: 'ignore' }).status === 0);
}

interface VeraJsonJob {
  itemDetails: { name: string; size: number };
  validationResult?: { compliant: boolean; profileName: string; details?: { ruleSummaries?: { clause: string; testNumber: number; status: string }[] } }[];
  taskException?: unknown;
  [more: string]: unknown;
}
interface VeraJsonReport {
  report: { buildInformation: { releaseDetails: { id: string; version: string }[] }; jobs: VeraJsonJob[] };
}

function outcomeOfJob(job: VeraJsonJob): { passed: boolean; failedRules: string[] } {
  const results = job.validationResult ?? [];
  const failedRules = results.flatMap((v) => (v.details?.ruleSummaries ?? []).filter((s) => s.status === 'failed').map((s) => `${s.clause}-${s.testNumber}`));
  // No validation result (parse error, exception) is a failure, never a pass. Broke: `compliant` was read by
  // truthiness, so a planted report's "false" (a string: false to the Java validator, which signed it) passed here.
  return { passed: results.length > 0 && results.every((v) => (v.compliant as unknown) === true), failedRules: [...new Set(failedRules)] };
}

function runAsync(cmd: string, args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err && (err as { killed?: boolean }).killed) return reject(new Error(`veraPDF: ${cmd} killed at its time limit (${timeoutMs} ms)`));
      // Exit status 1 only means "some file is not compliant".
      const status = err && typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : err ? -1 : 0;
      if (status === 0 || status === 1) resolve(stdout);
      else reject(new Error(`veraPDF: ${cmd} failed (${err?.message ?? status}); it needs a JDK (java) on PATH\n${stderr.slice(-2000)}`));
    });
  });
}
