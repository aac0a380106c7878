/**
 * Normaliser benchmark: our in-process PDF/A-2b normaliser against Debian's img2pdf
 * (which embeds without re-encoding but makes plain PDF) on the same files in the
 * same run, per format group, and ghostscript's PDF/A-2 conversion as the PDF/A peer
 * on a small subset.
 *
 *   npm run bench:normalise [-- EXTRA_DIR]
 *
 * Files: the test corpus (test/fixtures/corpus) plus, when present, the synthetic
 * corpus made by shared/corpus/make-corpus.sh (EXTRA_DIR, default /tmp/archive-corpus:
 * its jpeg/, png/ and tiff/ folders).
 */
import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { PDFDocument, PDFName, PDFRawStream } from 'pdf-lib';
import { normalise } from '../shared/normalise';
import { resolveVeraPdf, runVeraPdf } from '../shared/validation/verapdf';

const ROOT = [join(__dirname, '..'), join(__dirname, '../..'), process.cwd()].find((d) => existsSync(join(d, 'test/fixtures/corpus')));
if (!ROOT) throw new Error('test/fixtures/corpus not found');
const CORPUS = join(ROOT, 'test/fixtures/corpus');
const EXTRA = process.argv[2] ?? '/tmp/archive-corpus';
const LIMITS = { maxPixelsPerPage: 150_000_000, maxPages: 500 };

const GROUPS: Record<string, string[]> = {
  JPEG: ['img2pdf/normal.jpg', 'img2pdf/CMYK.jpg', 'ocrmypdf/baiona_color.jpg', 'ocrmypdf/baiona_cmyk.jpg', 'derived/baiona-progressive.jpg', 'derived/baiona-gray.jpg', 'derived/baiona-exif-orientation-8.jpg'].map((f) => join(CORPUS, f)),
  'G4 TIFF': ['derived/linn-g4.tif', 'derived/linn-g4-multistrip.tif', 'derived/two-pages-g4.tif'].map((f) => join(CORPUS, f)),
  PNG: ['img2pdf/normal.png', 'img2pdf/gray.png', 'img2pdf/mono.png', 'ocrmypdf/baiona.png', 'ocrmypdf/baiona_gray.png', 'ocrmypdf/baiona_colormapped.png', 'ocrmypdf/baiona_alpha.png', 'ocrmypdf/crom.png', 'ocrmypdf/linn.png', 'ocrmypdf/typewriter.png', 'derived/baiona-16bit.png', 'derived/baiona-interlaced.png'].map((f) => join(CORPUS, f)),
};
for (const [group, dir, ext] of [['JPEG', 'jpeg', '.jpg'], ['G4 TIFF', 'tiff', '.tif'], ['PNG', 'png', '.png']] as const) {
  const d = join(EXTRA, dir);
  if (existsSync(d)) GROUPS[group]!.push(...readdirSync(d).filter((f) => f.endsWith(ext)).sort().slice(0, 40).map((f) => join(d, f)));
}
/**
 * Full-page scans made here from the corpus's letter-size 300-dpi brochure scan (linn.png): what an
 * archive mostly receives, where img2pdf's start-up weighs less than on the tiny corpus files.
 */
async function synthesizeScans(dir: string): Promise<void> {
  const sharp = (await import('sharp')).default;
  const src = join(CORPUS, 'ocrmypdf/linn.png');
  for (let i = 0; i < 4; i++) {
    const base = () => sharp(src).modulate({ brightness: 1 - i * 0.03 }).withMetadata({ density: 300 });
    GROUPS.JPEG!.push(join(dir, `scan-${i}.jpg`));
    await base().jpeg({ quality: 85, progressive: i % 2 === 1 }).toFile(join(dir, `scan-${i}.jpg`));
    GROUPS['G4 TIFF']!.push(join(dir, `scan-${i}.tif`));
    const bw = await sharp(src).threshold(120 + i * 10).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
    await sharp(bw.data, { raw: { width: bw.info.width, height: bw.info.height, channels: 1 } })
      .toColourspace('b-w')
      .tiff({ compression: 'ccittfax4', bitdepth: 1, tileHeight: bw.info.height, xres: 300 / 25.4, yres: 300 / 25.4 })
      .toFile(join(dir, `scan-${i}.tif`));
    GROUPS.PNG!.push(join(dir, `scan-${i}.png`));
    await base().png({ compressionLevel: 6 }).toFile(join(dir, `scan-${i}.png`));
  }
}

const GS_SUBSET = ['ocrmypdf/baiona_color.jpg', 'derived/linn-g4.tif', 'ocrmypdf/baiona.png'].map((f) => join(CORPUS, f));

const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const mb = (n: number) => n / 1e6;
const fmt = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');

async function ours(file: string): Promise<Buffer> {
  const r = await normalise({ files: [{ bytes: readFileSync(file) }], documentId: 'bench', createdAt: '2026-01-01T00:00:00Z', limits: LIMITS });
  return r.rendition;
}

/** Bytes of embedded ICC profiles (OutputIntent and ICCBased) in a rendition: the PDF/A overhead allowance. */
async function iccBytes(pdf: Buffer): Promise<number> {
  const doc = await PDFDocument.load(pdf, { updateMetadata: false });
  let n = 0;
  for (const [, o] of doc.context.enumerateIndirectObjects()) {
    if (o instanceof PDFRawStream && o.dict.has(PDFName.of('N')) && !o.dict.has(PDFName.of('Subtype'))) n += o.contents.length;
  }
  return n;
}

interface Row { tool: string; files: number; seconds: number; inBytes: number; outBytes: number; failed: number }
const rows: Record<string, Row[]> = {};

function print(title: string, list: Row[]): void {
  console.log(`\n${title}`);
  console.log(`  ${'tool'.padEnd(34)} ${'files'.padStart(6)} ${'files/s'.padStart(9)} ${'MB/s'.padStart(8)} ${'out/in'.padStart(7)} ${'failed'.padStart(6)}`);
  for (const r of list) {
    console.log(`  ${r.tool.padEnd(34)} ${String(r.files).padStart(6)} ${fmt(r.files / r.seconds).padStart(9)} ${fmt(mb(r.inBytes) / r.seconds, 2).padStart(8)} ${fmt(r.outBytes / r.inBytes, 3).padStart(7)} ${String(r.failed).padStart(6)}`);
  }
}

async function main(): Promise<void> {
  const img2pdf = has('img2pdf');
  const gs = has('gs');
  console.log(`normaliser benchmark — node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`);
  if (img2pdf) console.log(`peer: ${spawnSync('img2pdf', ['--version'], { encoding: 'utf8' }).stdout.trim()}${gs ? `, gs ${spawnSync('gs', ['--version'], { encoding: 'utf8' }).stdout.trim()}` : ''}`);
  else console.log('img2pdf is not on PATH: peer figures are missing (apt-get install img2pdf)');
  const tmp = mkdtempSync(join(tmpdir(), 'bench-norm-'));
  const renditions: Buffer[] = [];
  let ourSeconds = 0;
  let ourFiles = 0;
  const scans = join(tmp, 'scans');
  mkdirSync(scans);
  await synthesizeScans(scans);
  console.log('files: test corpus + 4 full-page 300-dpi scans per group made from linn.png (2550×3300)' + (existsSync(EXTRA) ? ` + ${EXTRA}` : ''));
  const sizeReport: string[] = [];
  let sizeFailures = 0;
  try {
    for (const [group, files] of Object.entries(GROUPS)) {
      const inBytes = files.reduce((n, f) => n + statSync(f).size, 0);
      const list: Row[] = (rows[group] = []);
      // Ours: warm up once (ICC profiles are read on first use), then repeat for at least 1.5 s.
      const outs = new Map<string, Buffer>();
      for (const f of files) outs.set(f, await ours(f));
      renditions.push(...outs.values());
      let reps = 0;
      let out = 0;
      const t0 = performance.now();
      while (reps < 3 || performance.now() - t0 < 1500) {
        for (const f of files) out += (await ours(f)).length;
        reps++;
      }
      const secs = (performance.now() - t0) / 1000;
      list.push({ tool: 'normalise (in-process, PDF/A-2b)', files: files.length * reps, seconds: secs, inBytes: inBytes * reps, outBytes: out, failed: 0 });
      ourSeconds += secs;
      ourFiles += files.length * reps;

      if (img2pdf) {
        // img2pdf, one process per file (as an upload pipeline would run it).
        let okIn = 0;
        let okOut = 0;
        let failed = 0;
        const t1 = performance.now();
        const peerOut = new Map<string, string>();
        for (const [i, f] of files.entries()) {
          const o = join(tmp, `p${i}.pdf`);
          const r = spawnSync('img2pdf', [f, '-o', o]);
          if (r.status === 0) {
            okIn += statSync(f).size;
            okOut += statSync(o).size;
            peerOut.set(f, o);
          } else failed++;
        }
        const s1 = (performance.now() - t1) / 1000;
        list.push({ tool: 'img2pdf (one process per file)', files: files.length, seconds: s1, inBytes: okIn, outBytes: okOut, failed });
        // img2pdf, every file of the group in one invocation (start-up paid once).
        const okFiles = [...peerOut.keys()];
        const o = join(tmp, 'batch.pdf');
        const t2 = performance.now();
        const rb = spawnSync('img2pdf', [...okFiles, '-o', o]);
        const s2 = (performance.now() - t2) / 1000;
        if (rb.status === 0) list.push({ tool: 'img2pdf (all files, one process)', files: okFiles.length, seconds: s2, inBytes: okIn, outBytes: statSync(o).size, failed: 0 });
        // Size target: ours ≤ img2pdf × 1.01 + the ICC profiles PDF/A makes us embed.
        for (const f of okFiles) {
          const theirs = statSync(peerOut.get(f)!).size;
          const mine = outs.get(f)!;
          const icc = await iccBytes(mine);
          const limit = theirs * 1.01 + icc;
          const ok = mine.length <= limit;
          if (!ok) sizeFailures++;
          sizeReport.push(`  ${ok ? 'ok  ' : 'OVER'} ${f.replace(`${CORPUS}/`, '').replace(`${scans}/`, 'made: ').padEnd(40)} ours ${String(mine.length).padStart(8)}  img2pdf ${String(theirs).padStart(8)}  icc ${String(icc).padStart(7)}  ours−icc / img2pdf ${fmt((mine.length - icc) / theirs, 3)}`);
        }
      }
      print(`${group}: ${files.length} files, ${fmt(mb(inBytes), 2)} MB`, list);
      if (img2pdf) {
        const o = list[0]!;
        const p = list[1]!;
        console.log(`  → normalise vs img2pdf per file: ${fmt((o.files / o.seconds) / (p.files / p.seconds))}× files/s`);
      }
    }

    if (img2pdf) {
      console.log('\nRendition size vs img2pdf (target: ours ≤ img2pdf × 1.01 + embedded ICC bytes)');
      for (const l of sizeReport) console.log(l);
      console.log(`  ${sizeReport.length - sizeFailures}/${sizeReport.length} within target`);
    }

    if (gs && img2pdf) {
      // The PDF/A peer: ghostscript converting img2pdf's PDFs to PDF/A-2 (it re-encodes images).
      const list: Row[] = [];
      let inB = 0;
      let outB = 0;
      let secs = 0;
      let failed = 0;
      for (const [i, f] of GS_SUBSET.entries()) {
        const src = join(tmp, `g${i}.pdf`);
        if (spawnSync('img2pdf', [f, '-o', src]).status !== 0) { failed++; continue; }
        const dst = join(tmp, `g${i}-a.pdf`);
        const t = performance.now();
        const r = spawnSync('gs', ['-q', '-dPDFA=2', '-dBATCH', '-dNOPAUSE', '-dSAFER', '-sDEVICE=pdfwrite', '-dPDFACompatibilityPolicy=1', '-sColorConversionStrategy=RGB', `-sOutputFile=${dst}`, src]);
        secs += (performance.now() - t) / 1000;
        if (r.status !== 0) { failed++; continue; }
        inB += statSync(f).size;
        outB += statSync(dst).size;
      }
      list.push({ tool: 'gs -dPDFA=2 pdfwrite (per file)', files: GS_SUBSET.length - failed, seconds: secs, inBytes: inB, outBytes: outB, failed });
      let reps = 0;
      let out = 0;
      const t0 = performance.now();
      while (reps < 3 || performance.now() - t0 < 1000) {
        for (const f of GS_SUBSET) out += (await ours(f)).length;
        reps++;
      }
      const s = (performance.now() - t0) / 1000;
      list.unshift({ tool: 'normalise (in-process, PDF/A-2b)', files: GS_SUBSET.length * reps, seconds: s, inBytes: GS_SUBSET.reduce((n, f) => n + statSync(f).size, 0) * reps, outBytes: out, failed: 0 });
      print(`PDF/A peer on ${GS_SUBSET.length} files (${GS_SUBSET.map((f) => f.replace(`${CORPUS}/`, '')).join(', ')})`, list);
    }
    veraPdfTimes(renditions, tmp, ourSeconds / ourFiles);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * veraPDF (what the validation worker runs on every stored rendition) beside our normaliser: time per
 * rendition in a warm JVM, i.e. a batch of all renditions minus a batch of one (JVM start-up and rule loading).
 */
function veraPdfTimes(renditions: Buffer[], dir: string, ourSecondsPerFile: number): void {
  let vera;
  try {
    vera = resolveVeraPdf(ROOT!);
  } catch (err) {
    console.log(`\nveraPDF: not measured (${err instanceof Error ? err.message.split('\n')[0] : String(err)})`);
    return;
  }
  const files = renditions.map((r, i) => {
    const f = join(dir, `vera-${i}.pdf`);
    writeFileSync(f, r);
    return f;
  });
  const one = runVeraPdf(vera, files.slice(0, 1));
  const all = runVeraPdf(vera, files);
  const perFile = (all.seconds - one.seconds) / Math.max(1, files.length - 1);
  console.log(`\nveraPDF ${all.version} (PDF/A-2B, one JVM per batch) on the ${files.length} renditions above`);
  console.log(`  JVM start-up + first file ${fmt(one.seconds, 2)} s; warm JVM ${fmt(perFile * 1000, 1)} ms per rendition; normalise ${fmt(ourSecondsPerFile * 1000, 1)} ms per file`);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
