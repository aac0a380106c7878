/**
 * Generated sweep: "the CLI's download ends with the exact file, or says it could not".
 *
 * Generated: every ROW (how a file is fetched: `get` of a rendition, `get --original`, the direct link path
 * through `?delivery=redirect` and storage, support's Range pieces after 422 range_too_large, and `export` of a year:
 * its ZIP downloaded, unpacked and checked against manifest.json) crossed with every
 * COLUMN (a way of being interrupted or lied to: connections cut after 0, 1, half, all-but-one and all bytes; a
 * resume answered 206 right, 200 whole, 206 starting or ending elsewhere or naming another total, 416; the file
 * replaced between attempts with and without If-Range honoured; Repr-Digest missing, malformed or of other bytes;
 * Content-Length shorter or longer than what is sent; a 303 to a link that fails or serves other bytes; a piece
 * missing or repeated; a `.part.json` of another file or edited; an `.archive-export.json` edited; a `.part` longer
 * than the file; the destination already there, with the same or other bytes). The archive and storage are one scripted node:http server of the
 * test's own, writing raw HTTP so that it can cut and lie exactly; a column that has no meaning for a row (pieces
 * for a non-support download, a storage link for support) is not generated.
 *
 * What must hold, after every run of every cell: either the destination holds exactly the true bytes and the result
 * says verified with their SHA-256, or a CliError (exit 75 for the network's doing, see exitOf; 1 for a wrong answer; 4 for a destination already there) naming the
 * problem, with the destination absent or unchanged. Never wrong bytes at the destination, never a silent partial,
 * never a raw TypeError/SyntaxError. And a clean run afterwards (the server behaving; `--force` where the
 * destination was already there) ends verified: whatever part file state a refused run left is usable or cleaned.
 *
 * Decided by design: a resume that is answered with other bytes is caught by the final Repr-Digest check (the part
 * file is removed and the next run starts from zero) rather than by trusting Content-Range; a file replaced between
 * attempts ends as the new file (the archive's bytes now are the true bytes); a destination that already exists is
 * refused even when it holds the same bytes (the CLI never replaces a file without --force), except an export's ZIP,
 * which is unpacked when its SHA-256 is the archive's and otherwise refused even with --force (moved away, it is
 * fetched again); a `.part` longer than the file, or holding other bytes under this file's ETag, is refused once by the
 * digest check and removed, so the next run starts over; a `.part.json` or `.archive-export.json` that is not what
 * the CLI writes is ignored (started over), never a crash.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Client, CliError, type DownloadOutcome, downloadTo, EXIT_RUN_AGAIN, exportToDir, getDocumentFiles } from '../../../cli/core';

const SIZE = 3000;
const PIECE = 1000;
const DOC_TRUE = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 31 + 7) % 251));
const DOC_NEW = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 17 + 3) % 241));
/** The export row's ZIPs (a year export, and the one made again between attempts), padded by their comment to SIZE bytes. */
let ZIP_TRUE: Buffer;
let ZIP_NEW: Buffer;
/** The true file of the row under test, and the one that replaces it between attempts. */
let TRUE: Buffer = DOC_TRUE;
let NEW: Buffer = DOC_NEW;
const OTHER = Buffer.from(Array.from({ length: SIZE }, (_, i) => (i * 13 + 1) % 239));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const reprDigest = (b: Buffer) => `sha-256=:${createHash('sha256').update(b).digest('base64')}:`;
const etagOf = (b: Buffer) => `"${sha(b)}"`;
const HALF = SIZE / 2;

type Row = 'rendition' | 'original' | 'link' | 'pieces' | 'export';
const ROWS: Row[] = ['rendition', 'original', 'link', 'pieces', 'export'];

/** How the server misbehaves during one run. */
interface Fault {
  /** Cut the connection once the answer reached this absolute offset. One shot. */
  cutAt?: number;
  /** The cut answer is chunked and closed without its last chunk (fetch reads that as complete). */
  chunked?: boolean;
  /** The answer to the request that resumes at HALF (Range start HALF). */
  resume?: 'ok' | 'whole' | 'start-elsewhere' | 'end-elsewhere' | 'other-total' | '416';
  /** If-Range not evaluated (a ranged request gets the current bytes whatever its If-Range says). */
  ignoreIfRange?: boolean;
  digest?: 'missing' | 'malformed' | 'other';
  contentLength?: 'shorter' | 'longer';
  /** The archive answers 303 to a storage link that then fails or serves other bytes. */
  link?: 'fails' | 'refused' | 'other-bytes';
  piece?: 'missing' | 'repeated-range' | 'repeated-bytes' | 'gone';
  /** The file is replaced right after its first piece was served (support's pieces) or its link given (the link path). */
  replaceMidway?: boolean;
  /** The connection reset before any answer: to the file's request, or to the JSON call before it (document, export). One shot. */
  reset?: 'file' | 'json';
  /** A request without Range answered 416 (nothing to satisfy). */
  freshAs416?: boolean;
  /** A request without Range answered 206 with the whole file (Content-Range bytes 0-). */
  freshAs206?: boolean;
}

interface Column {
  name: string;
  rows?: Row[];
  /** Runs before the clean one: [fault, current file]. */
  runs: { fault: Fault; replaced?: true; says?: RegExp; force?: true }[];
  /** The clean run (or the run that verifies) resumed from this offset: the bytes kept were used, not fetched again. */
  resumedFrom?: number;
  /** Files put in place before the first run (relative to the destination). */
  seed?: (dest: string) => void;
  /** Exit code of a refusal in this column. */
  exit?: number;
  /** Force the final clean run (the destination was already there). */
  forceFinal?: boolean;
}

const cut = (n: number): Fault => ({ cutAt: n });
const COLUMNS: Column[] = [
  ...[0, 1, HALF, SIZE - 1, SIZE].map((n) => ({ name: `cut after ${n} bytes`, runs: [{ fault: cut(n), says: /interrupted/ }], ...(n > 0 && n < SIZE ? { resumedFrom: n } : {}) })),
  // Undici takes a chunked answer closed without its last chunk as complete: a silent partial only the digest catches.
  ...[0, 1, HALF, SIZE - 1].map((n) => ({ name: `chunked answer closed after ${n} bytes`, runs: [{ fault: { cutAt: n, chunked: true }, says: /Repr-Digest/ }] })),
  ...(['ok', 'whole', 'start-elsewhere', 'end-elsewhere', 'other-total', '416'] as const).map((r) => ({ name: `cut at half, resume answered ${r}`, runs: [{ fault: cut(HALF) }, { fault: { resume: r } }], ...(r === 'ok' ? { resumedFrom: HALF } : {}) })),
  { name: 'file replaced between attempts, If-Range honoured', runs: [{ fault: cut(HALF) }, { fault: {}, replaced: true }] },
  { name: 'file replaced between attempts, If-Range ignored', runs: [{ fault: cut(HALF) }, { fault: { ignoreIfRange: true }, replaced: true }] },
  ...(['missing', 'malformed', 'other'] as const).map((d) => ({ name: `Repr-Digest ${d}`, runs: [{ fault: { digest: d }, says: /Repr-Digest/ }] })),
  ...(['missing', 'malformed', 'other'] as const).map((d) => ({ name: `cut at half, resume with Repr-Digest ${d}`, runs: [{ fault: cut(HALF) }, { fault: { digest: d } }] })),
  ...(['shorter', 'longer'] as const).map((c) => ({ name: `Content-Length ${c} than sent`, runs: [{ fault: { contentLength: c } }] })),
  ...(['fails', 'refused', 'other-bytes'] as const).map((l) => ({ name: `303 to a link that ${l}`, rows: ['rendition', 'original', 'link', 'export'] as Row[], runs: [{ fault: { link: l } }] })),
  ...(['fails', 'other-bytes'] as const).map((l) => ({ name: `cut at half, resume via a 303 to a link that ${l}`, rows: ['rendition', 'original', 'link', 'export'] as Row[], runs: [{ fault: cut(HALF) }, { fault: { link: l } }] })),
  { name: 'connection reset before the file\'s answer', runs: [{ fault: { reset: 'file' }, says: /interrupted|no answer from the archive/ }] },
  { name: 'connection reset before the document\'s or export\'s JSON', rows: ['rendition', 'original', 'pieces', 'export'] as Row[], runs: [{ fault: { reset: 'json' }, says: /^(GET \/documents\/d1|POST \/exports): no answer from the archive/ }] },
  { name: 'cut at half, then at 2000 on the resume', runs: [{ fault: cut(HALF) }, { fault: cut(2000) }], resumedFrom: 2000 },
  { name: 'file replaced mid-download', rows: ['pieces', 'link'] as Row[], runs: [{ fault: { replaceMidway: true } }] },
  { name: 'the whole file answered 416', rows: ['rendition', 'original', 'link', 'export'] as Row[], runs: [{ fault: { freshAs416: true }, says: /416/ }] },
  { name: 'a stale .part without .part.json, the whole file answered 416', rows: ['rendition', 'original', 'link', 'export'] as Row[], runs: [{ fault: { freshAs416: true }, says: /416/ }], seed: (d: string) => fs.writeFileSync(`${d}.part`, OTHER.subarray(0, 100)) },
  { name: 'a stale .part without .part.json, the whole file answered 206', runs: [{ fault: { freshAs206: true } }], seed: (d: string) => fs.writeFileSync(`${d}.part`, OTHER.subarray(0, 100)) },
  ...(['missing', 'repeated-range', 'repeated-bytes', 'gone'] as const).map((p) => ({ name: `piece ${p}`, rows: ['pieces'] as Row[], runs: [{ fault: { piece: p } }] })),
  { name: '.part.json of another file', runs: [], seed: (d: string) => (fs.writeFileSync(`${d}.part`, OTHER.subarray(0, HALF)), fs.writeFileSync(`${d}.part.json`, JSON.stringify({ etag: etagOf(OTHER) }))) },
  { name: '.part.json naming this file over another file\'s part', runs: [], seed: (d: string) => (fs.writeFileSync(`${d}.part`, OTHER.subarray(0, HALF)), fs.writeFileSync(`${d}.part.json`, JSON.stringify({ etag: etagOf(TRUE) }))) },
  ...['{"etag": "', 'null', '[]', '{"etag": 42}', '{"etag": "\\"x\\"\\r\\nX-Evil: 1"}', ''].map((text) => ({
    name: `.part.json edited to ${JSON.stringify(text)}`,
    runs: [],
    seed: (d: string) => (fs.writeFileSync(`${d}.part`, TRUE.subarray(0, HALF)), fs.writeFileSync(`${d}.part.json`, text)),
  })),
  ...['{"exportId": "e', 'null', '', '{"exportId": 7}'].map((text) => ({
    name: `.archive-export.json edited to ${JSON.stringify(text)}`,
    rows: ['export'] as Row[],
    runs: [],
    seed: (d: string) => fs.writeFileSync(path.join(path.dirname(d), '.archive-export.json'), text),
  })),
  { name: '.part longer than the file', runs: [], seed: (d: string) => (fs.writeFileSync(`${d}.part`, Buffer.concat([TRUE, Buffer.from('junk')])), fs.writeFileSync(`${d}.part.json`, JSON.stringify({ etag: etagOf(TRUE) }))) },
  { name: '.part complete (cut before the rename)', runs: [], seed: (d: string) => (fs.writeFileSync(`${d}.part`, TRUE), fs.writeFileSync(`${d}.part.json`, JSON.stringify({ etag: etagOf(TRUE) }))) },
  { name: 'destination already there, same bytes', runs: [{ fault: {}, says: /Not overwritten|not the ZIP the archive made/ }], seed: (d: string) => fs.writeFileSync(d, TRUE), exit: 4, forceFinal: true },
  // --force replaces the destination only with verified bytes: a refused run leaves the old file as it was.
  ...([
    ['cut at half', cut(HALF), ['rendition', 'original', 'link', 'pieces']],
    ['Repr-Digest of other bytes', { digest: 'other' }, ['rendition', 'original', 'link', 'pieces']],
    ['303 to other bytes', { link: 'other-bytes' }, ['rendition', 'original', 'link']],
  ] as [string, Fault, Row[]][]).map(([what, f, rows]) => ({
    name: `destination already there (other bytes), --force, ${what}`,
    rows,
    runs: [{ fault: f, force: true as const }],
    seed: (d: string) => fs.writeFileSync(d, OTHER),
    forceFinal: true,
  })),
  { name: 'destination already there, other bytes', runs: [{ fault: {}, says: /Not overwritten|not the ZIP the archive made/ }], seed: (d: string) => fs.writeFileSync(d, OTHER), exit: 4, forceFinal: true },
];

/** The scripted archive + storage. */
let server: Server;
let base: string;
let row: Row;
let file: Buffer = TRUE;
let fault: Fault = {};
let cutDone = false;
let served = 0;
let work: string;

function send(res: ServerResponse, status: number, headers: Record<string, string | number>, body: Buffer, how: { cutAt?: number; bodyStart?: number; length?: number } = {}): void {
  const sock = res.socket!;
  served++;
  const bodyStart = how.bodyStart ?? 0;
  const cutHere = how.cutAt !== undefined && how.cutAt >= bodyStart && how.cutAt <= bodyStart + body.length;
  const n = cutHere ? how.cutAt! - bodyStart : body.length;
  // A cut: the whole length promised (one more when every byte is sent), then the connection reset; chunked, the
  // answer simply ends without its last chunk, which fetch (undici) takes as a complete body: a silent partial.
  const framing = !cutHere ? { 'Content-Length': how.length ?? body.length } : fault.chunked ? { 'Transfer-Encoding': 'chunked' } : { 'Content-Length': n === body.length ? body.length + 1 : body.length };
  const h = { ...headers, Connection: 'close', ...framing };
  const head = Buffer.from(`HTTP/1.1 ${status} X\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
  if (!cutHere) return void sock.end(Buffer.concat([head, body]));
  cutDone = true;
  sock.write(head);
  if (n > 0) sock.write(fault.chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), body.subarray(0, n), Buffer.from('\r\n')]) : body.subarray(0, n));
  setTimeout(() => (fault.chunked ? sock.destroy() : sock.resetAndDestroy()), 5);
}

const json = (res: ServerResponse, status: number, value: unknown) => send(res, status, { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' }, Buffer.from(JSON.stringify(value)));

function parseRange(h: string | undefined): { start: number; end: number } | null {
  const m = h ? /^bytes=(\d+)-(\d*)$/.exec(h) : null;
  return m ? { start: Number(m[1]), end: m[2] ? Math.min(Number(m[2]), file.length - 1) : file.length - 1 } : null;
}

/** The file's bytes as a server answers them, honouring Range (and If-Range when `ifRange`), with the faults of this run. */
function serveBytes(req: IncomingMessage, res: ServerResponse, o: { etag: string; digest: boolean; ifRange: boolean }): void {
  const current = file;
  const headers: Record<string, string> = { ETag: o.etag };
  if (o.digest) {
    if (fault.digest === 'malformed') headers['Repr-Digest'] = 'sha-256=:not base64!:';
    else if (fault.digest === 'other') headers['Repr-Digest'] = reprDigest(OTHER);
    else if (fault.digest !== 'missing') headers['Repr-Digest'] = reprDigest(current);
  }
  let range = parseRange(req.headers.range);
  if (range && o.ifRange && !fault.ignoreIfRange && req.headers['if-range'] !== undefined && req.headers['if-range'] !== o.etag) range = null;
  const cutAt = cutDone ? undefined : fault.cutAt;
  const lengthOf = (n: number) => (fault.contentLength === 'shorter' ? n - 5 : fault.contentLength === 'longer' ? n + 5 : undefined);
  if (range && range.start === HALF && fault.resume && fault.resume !== 'ok') {
    const s = HALF;
    if (fault.resume === 'whole') return send(res, 200, headers, current);
    if (fault.resume === '416') return send(res, 416, { 'Content-Range': `bytes */${current.length}` }, Buffer.alloc(0));
    if (fault.resume === 'start-elsewhere') return send(res, 206, { ...headers, 'Content-Range': `bytes ${s - 100}-${current.length - 1}/${current.length}` }, current.subarray(s - 100));
    if (fault.resume === 'end-elsewhere') return send(res, 206, { ...headers, 'Content-Range': `bytes ${s}-${current.length - 101}/${current.length}` }, current.subarray(s, current.length - 100));
    return send(res, 206, { ...headers, 'Content-Range': `bytes ${s}-${current.length - 1}/${current.length + 10}` }, current.subarray(s));
  }
  if (!range && fault.freshAs416) return send(res, 416, { 'Content-Range': `bytes */${current.length}` }, Buffer.alloc(0));
  if (!range && fault.freshAs206) return send(res, 206, { ...headers, 'Content-Range': `bytes 0-${current.length - 1}/${current.length}` }, current);
  if (range) {
    if (range.start >= current.length) return send(res, 416, { 'Content-Range': `bytes */${current.length}` }, Buffer.alloc(0));
    const body = current.subarray(range.start, range.end + 1);
    const len = lengthOf(body.length);
    return send(res, 206, { ...headers, 'Content-Range': `bytes ${range.start}-${range.end}/${current.length}` }, body, { cutAt, bodyStart: range.start, ...(len !== undefined ? { length: len } : {}) });
  }
  const len = lengthOf(current.length);
  if (len !== undefined && fault.contentLength === 'longer') {
    // Promise five bytes more than sent, then close.
    const sock = res.socket!;
    sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nETag: ${headers.ETag}\r\n${headers['Repr-Digest'] ? `Repr-Digest: ${headers['Repr-Digest']}\r\n` : ''}Content-Length: ${len}\r\nConnection: close\r\n\r\n`), current]));
    return;
  }
  return send(res, 200, headers, current, { cutAt, ...(len !== undefined ? { length: len } : {}) });
}

function linkAnswer(res: ServerResponse): void {
  if (fault.replaceMidway) setTimeout(() => (file = NEW), 0);
  send(res, 303, { Location: `${base.replace('/api', '')}/blob/c/file?sig=x`, ETag: etagOf(file), ...(fault.digest === 'missing' ? {} : { 'Repr-Digest': fault.digest === 'other' ? reprDigest(OTHER) : fault.digest === 'malformed' ? 'sha-256=:!!:' : reprDigest(file) }) }, Buffer.alloc(0));
}

function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  const p = url.pathname;
  const reset = (what: 'file' | 'json') => {
    if (fault.reset !== what || cutDone) return false;
    cutDone = true;
    res.socket!.resetAndDestroy();
    return true;
  };
  if ((p === '/api/documents/d1' || p.startsWith('/api/exports')) && !p.endsWith('/download') && reset('json')) return;
  if ((p.startsWith('/api/documents/d1/') || p.startsWith('/blob/') || p.startsWith('/api/files/') || p.endsWith('/download')) && reset('file')) return;
  if (p === '/api/documents/d1') {
    const f = { fileName: 'scan.pdf', size: file.length, sha256: sha(file) };
    return json(res, 200, { id: 'd1', fiscalYear: 2024, createdAt: '2024-01-01T00:00:00Z', metadataVersion: 1, metadata: {}, original: f, originals: [{ ...f, mediaType: 'application/pdf' }], rendition: { size: file.length, sha256: sha(file) } });
  }
  if (p.startsWith('/blob/')) {
    // Storage: its own ETag, Range without If-Range.
    if (fault.link === 'fails') return json(res, 500, { code: 'internal' });
    if (fault.link === 'refused') return json(res, 403, { code: 'AuthenticationFailed' });
    if (fault.link === 'other-bytes') return send(res, 200, { ETag: '"blob"' }, OTHER);
    return serveBytes(req, res, { etag: '"blob"', digest: false, ifRange: false });
  }
  if ((p === '/api/exports' && req.method === 'POST') || p === '/api/exports/e1') {
    return json(res, p === '/api/exports' ? 202 : 200, { id: 'e1', status: 'completed', progress: { total: 1, documents: 1, files: 2, bytes: file.length }, archive: { size: file.length, sha256: sha(file) }, expiresAt: '2099-01-01T00:00:00Z' });
  }
  if (p === '/api/documents/d1/rendition' || p === '/api/documents/d1/originals/1' || p === '/api/files/large' || p === '/api/exports/e1/download') {
    if (row === 'link' && url.searchParams.get('delivery') === 'redirect') return linkAnswer(res);
    if (fault.link && row !== 'pieces') return linkAnswer(res);
    if (row === 'pieces') return servePieces(req, res);
    return serveBytes(req, res, { etag: etagOf(file), digest: true, ifRange: true });
  }
  json(res, 404, { code: 'not_found' });
}

/** Support's path: nothing larger than PIECE in one answer (422 range_too_large), pieces under If-Range. */
function servePieces(req: IncomingMessage, res: ServerResponse): void {
  let range = parseRange(req.headers.range);
  const etag = etagOf(file);
  if (range && !fault.ignoreIfRange && req.headers['if-range'] !== undefined && req.headers['if-range'] !== etag) range = null;
  if (!range || range.end - range.start + 1 > PIECE) {
    if (range && range.start >= file.length) return send(res, 416, { 'Content-Range': `bytes */${file.length}` }, Buffer.alloc(0));
    return json(res, 422, { code: 'range_too_large', maxRangeBytes: PIECE, size: file.length });
  }
  if (fault.piece === 'gone' && range.start === PIECE) return json(res, 404, { code: 'not_found', detail: 'no such document' });
  if (fault.replaceMidway && range.start === 0) {
    serveBytes(req, res, { etag, digest: true, ifRange: true });
    file = NEW;
    return;
  }
  if (fault.piece && range.start === PIECE) {
    const other = fault.piece === 'missing' ? { start: 2 * PIECE, end: 3 * PIECE - 1 } : { start: 0, end: PIECE - 1 };
    const cr = fault.piece === 'repeated-bytes' ? range : other;
    return send(res, 206, { ETag: etag, 'Repr-Digest': reprDigest(file), 'Content-Range': `bytes ${cr.start}-${cr.end}/${file.length}` }, file.subarray(other.start, other.end + 1));
  }
  return serveBytes(req, res, { etag, digest: true, ifRange: true });
}

/** A year export's ZIP holding `scan`, stored (not deflated), its comment padding it to exactly SIZE bytes. */
async function exportZip(scan: Buffer): Promise<Buffer> {
  const { ZipFile } = await import('yazl');
  const manifest = Buffer.from(JSON.stringify({ documents: [{ id: 'd1', files: [{ path: 'documents/a.pdf', sha256: sha(scan), size: scan.length }] }] }));
  const build = async (comment: string) => {
    const zip = new ZipFile();
    zip.addBuffer(scan, 'documents/a.pdf', { compress: false, mtime: new Date(0) });
    zip.addBuffer(manifest, 'manifest.json', { compress: false, mtime: new Date(0) });
    zip.end({ comment, forceZip64Format: false });
    const chunks: Buffer[] = [];
    for await (const c of zip.outputStream) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  };
  const bare = await build('');
  const padded = await build('x'.repeat(SIZE - bare.length));
  expect(padded.length).toBe(SIZE);
  return padded;
}

beforeAll(async () => {
  ZIP_TRUE = await exportZip(DOC_TRUE.subarray(0, 1200));
  ZIP_NEW = await exportZip(DOC_NEW.subarray(0, 1200));
  server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/api`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'resume-sweep-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const client = (): Client => ({ config: { url: base, token: 't' }, fetch: (url, init) => fetch(url, init) });
const destOf = (r: Row) => path.join(work, { original: 'scan.original-1.pdf', link: 'large.pdf', export: 'export-e1.zip', rendition: 'scan.rendition.pdf', pieces: 'scan.rendition.pdf' }[r]);

async function runRow(r: Row, force: boolean): Promise<DownloadOutcome[]> {
  if (r === 'export') {
    // The export as `archive export` runs it: the ZIP downloaded with resume, unpacked and every file checked.
    const s = await exportToDir(client(), { fiscalYear: 2024 }, { outDir: work, pollMs: 1, force });
    expect(s).toMatchObject({ verified: 1, mismatched: [], missing: [], unexpected: [] });
    return [{ file: s.zip, size: fs.statSync(s.zip).size, sha256: sha(fs.readFileSync(s.zip)), resumedFrom: s.resumedFrom, verified: true }];
  }
  if (r === 'link') return [await downloadTo(client(), '/files/large', destOf(r), 'large.pdf', { direct: true, force })];
  return getDocumentFiles(client(), 'd1', { outDir: work, original: r === 'original', force });
}

/** One run, judged: verified with the true bytes, or a CliError with the destination as it was. */
async function judgedRun(r: Row, truth: Buffer, force: boolean, exit: number, says?: RegExp, resumedFrom?: number): Promise<'verified' | 'refused'> {
  const dest = destOf(r);
  const before = fs.existsSync(dest) ? fs.readFileSync(dest) : null;
  let outcome: DownloadOutcome[] | null = null;
  let error: unknown = null;
  const timer = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('run did not end within 5 s (a loop?)')), 5000).unref());
  try {
    outcome = await Promise.race([runRow(r, force), timer]);
  } catch (err) {
    error = err;
  }
  if (outcome) {
    expect(outcome).toHaveLength(1);
    expect(outcome[0]).toMatchObject({ file: dest, verified: true, sha256: sha(truth), size: truth.length });
    expect(sha(fs.readFileSync(dest))).toBe(sha(truth));
    expect(fs.existsSync(`${dest}.part`)).toBe(false);
    if (resumedFrom !== undefined) expect(outcome[0]!.resumedFrom).toBe(resumedFrom);
    return 'verified';
  }
  if (!(error instanceof CliError)) throw new Error(`not a CliError: ${String(error)}\n${(error as Error)?.stack ?? ''}`);
  expect(error.exitCode).toBe(exit);
  expect(error.message).toMatch(says ?? /\w+.{10,}/);
  const after = fs.existsSync(dest) ? fs.readFileSync(dest) : null;
  expect(after === null ? null : sha(after)).toBe(before === null ? null : sha(before));
  return 'refused';
}

/**
 * A refusal's exit code, from the fault alone: the network's doing (a cut or reset connection, an answer shorter than its
 * Content-Length, a link expired mid-download, a file replaced between support's pieces) goes away by itself, 75 (run again);
 * anything the answer says wrong (a digest, other bytes, a lie about ranges) needs a person, 1.
 */
function exitOf(f: Fault, r: Row): number {
  const network = (f.cutAt !== undefined && !f.chunked) || f.reset !== undefined || f.link === 'refused' || f.contentLength === 'longer' || (f.replaceMidway === true && r === 'pieces');
  return network ? EXIT_RUN_AGAIN : 1;
}

const cells = ROWS.flatMap((r) => COLUMNS.filter((c) => !c.rows || c.rows.includes(r)).map((c) => [r, c.name, c] as const));

describe('resume sweep: every download ends with the exact file, or says it could not', () => {
  it.each(cells)('%s × %s', async (r, _name, col) => {
    row = r;
    [TRUE, NEW] = r === 'export' ? [ZIP_TRUE, ZIP_NEW] : [DOC_TRUE, DOC_NEW];
    file = TRUE;
    cutDone = false;
    served = 0;
    col.seed?.(destOf(r));
    // A seeded state is met by one run of a behaving server first (it may refuse it), then by the clean run.
    const runs: Column['runs'] = col.seed && col.runs.length === 0 ? [{ fault: {} }] : col.runs;
    for (const run of runs) {
      fault = run.fault;
      cutDone = false;
      if (run.replaced) file = NEW;
      // Verified already (a resume answered right, a seeded state usable): the true file is there, nothing left to run.
      if ((await judgedRun(r, file, run.force ?? false, col.exit ?? exitOf(run.fault, r), run.says, col.resumedFrom)) === 'verified') return;
    }
    fault = {};
    cutDone = false;
    // The export's ZIP already there is not replaced even with --force: the accountant moves it away, as told.
    if (col.forceFinal && r === 'export') fs.rmSync(destOf(r), { force: true });
    const outcome = await judgedRun(r, file, col.forceFinal ?? false, col.exit ?? 1, undefined, col.resumedFrom);
    expect(outcome).toBe('verified');
    expect(fs.readdirSync(work).filter((f) => f.endsWith('.part') || f.endsWith('.part.json'))).toEqual([]);
    expect(served).toBeLessThan(40);
  });
});
