/**
 * The `archive` command-line client's core, for accountants: log in, search, download single
 * files and whole-year exports with resume, and verify every checksum. Every function takes a
 * fetch-like function and file-system paths, so tests drive it without a terminal.
 */
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable, Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { pipeline } from 'node:stream/promises';
import createClient from 'openapi-fetch';
import * as yauzl from 'yauzl';
import type { operations, paths } from './api/openapi-types';
import { type ArchiveProof, caseless, compareWithManifest, type CopyCounts, CSV, folderZips, judgeAgainstRecord, type Manifest, namesNoExport, parseManifest, verifiedOffline, type VerifyResult, withFolderZips, type ZipOddities } from './copy-check';
import { zipLayoutFault } from './zip-layout';

// The judgement of a copy is cli/copy-check.ts's, shared with the web app's "Check a copy".
export { type ArchiveProof, verifiedOffline, type VerifyResult } from './copy-check';

export type FetchLike = (url: string, init?: { method?: string; headers?: Record<string, string>; body?: string; redirect?: 'manual' }) => Promise<Response>;

/**
 * Files at least this large are fetched straight from Blob Storage through the archive's
 * `?delivery=redirect` link (read-only, one blob, short-lived) instead of through the API: storage
 * serves them faster and the API's instances stay free. `--via-archive` turns it off; the archive itself
 * still answers a file above its ARCHIVE_STREAMED_ANSWER_MAX_BYTES (default 16 MiB) with its link, or, to
 * support, with a refusal asking for Range pieces, and the CLI follows either (openViaArchive).
 */
export const DIRECT_MIN_BYTES = 16 * 1024 * 1024;

export interface CliConfig {
  url: string;
  token: string;
}

export interface Client {
  config: CliConfig;
  fetch: FetchLike;
  /** Progress lines (stderr in the real CLI). */
  progress?: (line: string) => void;
}

/**
 * The exit code of a failure that is no one's fault and goes away by itself (sysexits' EX_TEMPFAIL): no answer, a cut
 * connection, a link that expired mid-download, the archive busy or briefly unavailable (429, 502, 503, 504). A script
 * runs the command again (a download resumes from the bytes kept); any other failure (1: refused, damaged, a digest that
 * does not match) needs a person.
 */
export const EXIT_RUN_AGAIN = 75;

/** HTTP statuses that say "later", not "no". */
const RUN_AGAIN_STATUSES = new Set([429, 502, 503, 504]);
const exitForStatus = (status: number) => (RUN_AGAIN_STATUSES.has(status) ? EXIT_RUN_AGAIN : 1);

export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** `$ARCHIVE_CONFIG_DIR`, else `$XDG_CONFIG_HOME/archive`, else `~/.config/archive` (Windows: `%APPDATA%\archive`). */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ARCHIVE_CONFIG_DIR) return env.ARCHIVE_CONFIG_DIR;
  if (env.XDG_CONFIG_HOME) return path.join(env.XDG_CONFIG_HOME, 'archive');
  if (process.platform === 'win32' && env.APPDATA) return path.join(env.APPDATA, 'archive');
  return path.join(os.homedir(), '.config', 'archive');
}

/** Plain http only to this machine (the local host, Azurite); anywhere else a token or link would cross the network readable. */
function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname);
}

/** How the token reaches `login`, for the hints: never as an argument, where shell history and `ps` keep it. */
export const LOGIN_HINT = 'archive login --url <base> --with-token < token.txt (or with the token in ARCHIVE_TOKEN)';

/** A token far longer than any JWT is not one (and is not read whole into memory). */
const TOKEN_MAX_BYTES = 64 * 1024;

/**
 * The token as `login` takes it: one line, surrounding whitespace (the newline `echo` adds) trimmed,
 * then printable ASCII only — a JWT is base64url and dots. Anything else (empty, two lines, a space,
 * a control) is refused without showing it.
 */
export function checkToken(text: string, from: string): string {
  const token = text.trim();
  if (token === '') throw new CliError(`No token ${from}.`, 2);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new CliError(`The token ${from} must be one line without spaces or control characters; not saved.`, 2);
  return token;
}

/** `login --with-token`: the token piped or redirected into standard input, never typed at a terminal that shows it. */
export async function readTokenFrom(stdin: NodeJS.ReadableStream & { isTTY?: boolean }): Promise<string> {
  if (stdin.isTTY) throw new CliError('--with-token reads the token from standard input: pipe or redirect it (archive login --url <base> --with-token < token.txt).', 2);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stdin) {
    const c = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    size += c.length;
    if (size > TOKEN_MAX_BYTES) throw new CliError(`Standard input holds more than ${TOKEN_MAX_BYTES} bytes: not a token; not saved.`, 2);
    chunks.push(c);
  }
  return checkToken(Buffer.concat(chunks).toString('utf8'), 'on standard input');
}

/** Stores base URL and token, readable by the user only (0600, directory 0700). */
export function login(dir: string, config: CliConfig): string {
  checkToken(config.token, 'given');
  let url: URL;
  try {
    url = new URL(config.url);
  } catch {
    throw new CliError(`--url ${config.url} is not a URL.`, 2);
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) throw new CliError(`--url must be https:// (plain http only to localhost): the token would travel unencrypted to ${url.host}.`, 2);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = path.join(dir, 'config.json');
  // A fresh 0600 file renamed into place: an existing config.json (0644, or a link elsewhere) never holds the token, not even for a moment.
  const temp = `${file}.${process.pid}.tmp`;
  fs.rmSync(temp, { force: true });
  fs.writeFileSync(temp, JSON.stringify({ url: url.toString().replace(/\/$/, ''), token: config.token }, null, 2), { mode: 0o600, flag: 'wx' });
  fs.chmodSync(temp, 0o600);
  fs.renameSync(temp, file);
  return file;
}

/** The saved login, held to what `login` writes: a file only its user reads, and an archive the token reaches encrypted. */
export function loadCliConfig(dir: string): CliConfig {
  const file = path.join(dir, 'config.json');
  if (!fs.existsSync(file)) throw new CliError(`Not logged in: run ${LOGIN_HINT} first.`);
  if (process.platform !== 'win32' && (fs.statSync(file).mode & 0o077) !== 0) throw new CliError(`${file} is readable by others, and it holds your token: log in again (archive login writes it 0600).`);
  const config = JSON.parse(fs.readFileSync(file, 'utf8')) as CliConfig;
  let url: URL | null = null;
  try {
    url = new URL(config.url);
  } catch {
    // refused below
  }
  if (!url || (url.protocol !== 'https:' && !isLoopbackHttp(url))) throw new CliError(`${file}: the archive's url must be https:// (plain http only to localhost); the token is not sent. Log in again.`);
  return config;
}

/** A 401 means the token expired or is not valid here: say how to log in again, whatever call met it. */
const tokenRefused = (client: Client) => new CliError(`The archive refused your token (expired or invalid). Log in again: archive login --url ${client.config.url} --with-token < token.txt (or with the new token in ARCHIVE_TOKEN)`);

/** A problem+json answer as far as the CLI reads it. */
interface ProblemBody {
  code?: string;
  detail?: string;
  title?: string;
  rule?: string;
  maxRangeBytes?: number;
  size?: number;
}

/** Why fetch failed, for a message: its own words and its cause's code (ECONNRESET, ECONNREFUSED, UND_ERR_SOCKET). */
function whyFailed(err: unknown): string {
  const cause = (err as { cause?: { message?: string; code?: string } }).cause;
  return printable([(err as Error).message, cause?.code ?? cause?.message].filter(Boolean).join(': '));
}

/**
 * A call to the archive whose connection failed before any answer (refused, reset, a proxy dropping it) is the CLI's
 * error naming the call and the cause: fetch's bare TypeError "fetch failed" reached the accountant as
 * `archive: fetch failed`, saying neither what failed nor that running again is the remedy.
 */
async function reach(what: string, send: () => Promise<Response>): Promise<Response> {
  try {
    return await send();
  } catch (err) {
    if (err instanceof CliError) throw err;
    throw new CliError(`${what}: no answer from the archive (${whyFailed(err)}); run again.`, EXIT_RUN_AGAIN);
  }
}

/** `pass`: a refusal this caller handles itself is returned (body readable), not thrown. */
async function request(client: Client, pathAndQuery: string, init: { method?: string; headers?: Record<string, string>; body?: string; redirect?: 'manual'; pass?: (problem: ProblemBody) => boolean } = {}): Promise<Response> {
  // Never followed: fetch would take another host's (or plain http's) answer, bytes and Repr-Digest as the archive's. Only a 303 is read, by readLink.
  const res = await reach(`${init.method ?? 'GET'} ${pathAndQuery}`, () => client.fetch(`${client.config.url}${pathAndQuery}`, { ...init, redirect: 'manual', headers: { Authorization: `Bearer ${client.config.token}`, ...init.headers } }));
  if (res.status === 401) {
    await res.body?.cancel();
    throw tokenRefused(client);
  }
  if (res.status >= 300 && res.status < 400 && init.redirect !== 'manual') {
    await res.body?.cancel();
    throw new CliError(`${init.method ?? 'GET'} ${pathAndQuery} failed with ${res.status}: the archive redirected elsewhere; not followed.`);
  }
  if (res.status >= 400 && res.status !== 416) {
    const text = await res.text().catch(() => '');
    let p: ProblemBody | null = null;
    try {
      p = JSON.parse(text) as ProblemBody;
    } catch {
      p = null;
    }
    if (p && init.pass?.(p)) return new Response(text, { status: res.status, headers: res.headers });
    const detail = p ? printable(`${p.code ?? ''}: ${p.detail ?? p.title ?? ''}`) : printable(res.statusText);
    throw new CliError(`${init.method ?? 'GET'} ${pathAndQuery} failed with ${res.status} ${detail}`, exitForStatus(res.status));
  }
  return res;
}

/**
 * The typed client generated from the archive's OpenAPI description (npm run gen:client) for the
 * JSON calls; it goes through the injected fetch, so tests drive it like the byte downloads.
 */
function api(client: Client) {
  return createClient<paths>({
    baseUrl: client.config.url,
    headers: { Authorization: `Bearer ${client.config.token}` },
    fetch: async (req: Request) => {
      const body = req.body ? { body: await req.text() } : {};
      return reach(`${req.method} ${new URL(req.url).pathname.slice(new URL(client.config.url).pathname.length) || '/'}`, () => client.fetch(req.url, { method: req.method, headers: Object.fromEntries(req.headers), redirect: 'manual', ...body }));
    },
  });
}

/** The data of a typed call, or the CLI's error naming the problem's code and detail. */
function dataOf<T>(client: Client, what: string, r: { data?: T; error?: unknown; response: Response }): T {
  if (r.data !== undefined && r.response.ok) return r.data;
  if (r.response.status === 401) throw tokenRefused(client);
  const p = (r.error ?? {}) as { code?: string; detail?: string; title?: string };
  throw new CliError(`${what} failed with ${r.response.status} ${printable(`${p.code ?? ''}: ${p.detail ?? p.title ?? r.response.statusText}`)}`, exitForStatus(r.response.status));
}

type ListDocumentsQuery = NonNullable<operations['listDocuments']['parameters']['query']>;
type CreateExportBody = operations['createExport']['requestBody']['content']['application/json'];

/** The one search filter, as `POST /exports` takes it in its body (`GET /documents` takes it as query parameters, tags comma-joined). */
export type SearchFilter = Omit<CreateExportBody, 'includeOriginals' | 'csv'>;

export interface ListedDocument {
  id: string;
  fiscalYear: number;
  createdAt: string;
  metadata: { documentDate?: string; kind?: string; counterparty?: string; amount?: number; currency?: string; reference?: string };
  original: { fileName: string | null; size: number; sha256: string; mediaType?: string };
  originals: { fileName: string | null; size: number; sha256: string; mediaType: string }[];
  rendition: { size: number; sha256: string };
}

/** Every document of a search, following continuation tokens. */
export async function listAll(client: Client, filter: SearchFilter, sort: ListDocumentsQuery['sort'] = 'documentDate', order: ListDocumentsQuery['order'] = 'asc'): Promise<ListedDocument[]> {
  const out: ListedDocument[] = [];
  let cont: string | null = null;
  const { tags, ...rest } = filter;
  do {
    // Undefined filters are left out of the URL by openapi-fetch.
    const query: ListDocumentsQuery = { sort, order, limit: 200, ...rest, ...(tags ? { tags: tags.join(',') } : {}), ...(cont ? { continuationToken: cont } : {}) };
    const page = dataOf(client, 'GET /documents', await api(client).GET('/documents', { params: { query } }));
    out.push(...(page.items as ListedDocument[]));
    cont = page.continuationToken;
  } while (cont);
  return out;
}

/**
 * Text from the archive as the terminal shows it: C0/C1 controls (ESC and CSI start escape sequences that
 * move the cursor, rewrite lines or retitle the window; CR and LF forge rows) and bidi overrides become `?`.
 * Whoever uploads writes the metadata; the accountant reads it here.
 */
export function printable(text: string): string {
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '?');
}

export function formatTable(docs: ListedDocument[]): string {
  const rows = docs.map((d) => [d.id, d.metadata.documentDate ?? '', d.metadata.kind ?? '', d.metadata.counterparty ?? '', d.metadata.amount === undefined ? '' : `${d.metadata.amount} ${d.metadata.currency ?? ''}`, d.metadata.reference ?? ''].map(printable));
  const header = ['id', 'date', 'kind', 'counterparty', 'amount', 'reference'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function progressBar(label: string, done: number, total: number): string {
  const pct = total > 0 ? Math.min(1, done / total) : 0;
  const width = 30;
  const filled = Math.round(pct * width);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(pct * 100).toFixed(0).padStart(3)}% ${(done / 1e6).toFixed(1)}/${(total / 1e6).toFixed(1)} MB`;
}

export interface DownloadOutcome {
  file: string;
  size: number;
  sha256: string;
  /** Bytes already on disk from an earlier, interrupted attempt. */
  resumedFrom: number;
  verified: boolean;
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

function digestOf(reprDigest: string | null): string | null {
  const m = reprDigest ? /sha-256=:([A-Za-z0-9+/=]+):/.exec(reprDigest) : null;
  return m ? Buffer.from(m[1]!, 'base64').toString('hex') : null;
}

/**
 * Download to `dest`, through `dest.part`: an interrupted download resumes with Range, guarded by
 * If-Range with the ETag of the first attempt (a changed representation restarts from zero).
 * At the end the whole file is hashed and compared with the server's Repr-Digest (SHA-256).
 */
export async function downloadTo(client: Client, pathAndQuery: string, dest: string, label = path.basename(dest), opts: { direct?: boolean; force?: boolean } = {}): Promise<DownloadOutcome> {
  refuseOverwrite([dest], opts.force);
  const part = `${dest}.part`;
  const meta = `${dest}.part.json`;
  refuseLinks([part, meta]);
  try {
    return await downloadThroughPart(client, pathAndQuery, dest, part, meta, label, opts);
  } catch (err) {
    if (err instanceof CliError) throw err;
    // A connection cut or reset mid-answer (fetch's TypeError "terminated", its cause the socket's error) is an
    // interruption the accountant resumes, not a crash: say so, with what arrived kept in the part file.
    const why = whyFailed(err);
    const kept = fs.existsSync(part) ? fs.statSync(part).size : 0;
    throw new CliError(`${label}: the download was interrupted (${why}); ${kept} bytes kept in ${part}, run again to resume.`, EXIT_RUN_AGAIN);
  }
}

/**
 * The ETag a part file was started with, as `.part.json` records it, or null when that file is missing, not JSON,
 * or edited into something no archive sends (not one line of printable ASCII): the part file is then not resumed but
 * started over. Read as it was, an edited or truncated `.part.json` threw a SyntaxError (or put a line break in the
 * If-Range header) on every run: the download could never succeed again until someone deleted it by hand.
 */
function partEtag(meta: string): string | null {
  if (!fs.existsSync(meta)) return null;
  let etag: unknown;
  try {
    etag = (JSON.parse(fs.readFileSync(meta, 'utf8')) as { etag?: unknown } | null)?.etag;
  } catch {
    return null;
  }
  return typeof etag === 'string' && /^[\x21-\x7e]+$/.test(etag) ? etag : null;
}

async function downloadThroughPart(client: Client, pathAndQuery: string, dest: string, part: string, meta: string, label: string, opts: { direct?: boolean }): Promise<DownloadOutcome> {
  let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
  const etag = have > 0 ? partEtag(meta) : null;
  if (have > 0 && !etag) have = 0;
  const resume = have > 0 && etag ? { have, etag } : null;
  let res = opts.direct ? await openDirect(client, pathAndQuery, resume) : await openViaArchive(client, pathAndQuery, resume);
  let complete = false;
  if (res.status === 416 && !resume) {
    // Nothing was asked for but the whole file: a 416 then says nothing about a part file (there may be none to verify).
    throw new CliError(`${label}: the server answered 416 (range not satisfiable) to a request for the whole file; run again.`);
  }
  if (res.status === 416) {
    // The part file already holds every byte (interrupted between the last byte and the rename): just verify it.
    await res.body?.cancel();
    if (!opts.direct) {
      res = await request(client, pathAndQuery, { headers: { Range: 'bytes=0-0' } });
      await res.body?.cancel();
    }
    complete = true;
  }
  const resumedFrom = res.status === 206 ? have : 0;
  const expected = digestOf(res.headers.get('repr-digest'));
  const total = res.status === 206 ? Number(res.headers.get('content-range')?.split('/')[1]) : Number(res.headers.get('content-length') ?? 0);
  if (res.status === 200) {
    const fd = fs.openSync(meta, NO_FOLLOW_TRUNCATE, 0o666);
    try {
      fs.writeFileSync(fd, JSON.stringify({ etag: res.headers.get('etag') }));
    } finally {
      fs.closeSync(fd);
    }
  }
  if (!complete && res.body && (res.status === 200 || res.status === 206)) {
    let done = resumedFrom;
    let last = 0;
    const out = fs.createWriteStream(part, { fd: fs.openSync(part, res.status === 206 ? NO_FOLLOW_APPEND : NO_FOLLOW_TRUNCATE, 0o666) });
    try {
      for await (const chunk of Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>)) {
        done += (chunk as Buffer).length;
        if (client.progress && (Date.now() - last > 200 || done === total)) {
          last = Date.now();
          client.progress(progressBar(label, done, total));
        }
        if (!out.write(chunk)) await once(out, 'drain');
      }
    } finally {
      // Whatever arrived is on disk before an interruption propagates: the next run resumes after it.
      await new Promise<void>((resolve) => out.end(resolve));
    }
  }
  const sha256 = await sha256File(part);
  const size = fs.statSync(part).size;
  const verified = expected !== null && sha256 === expected;
  if (!verified) {
    fs.rmSync(part, { force: true });
    fs.rmSync(meta, { force: true });
    throw new CliError(`${label}: SHA-256 ${sha256} does not match the server's Repr-Digest ${expected ?? '(none)'}; the partial file was removed, run again.`);
  }
  fs.renameSync(part, dest);
  fs.rmSync(meta, { force: true });
  return { file: dest, size, sha256, resumedFrom, verified };
}

/**
 * Asks the archive for a `?delivery=redirect` link (the archive checks the credential, audits the
 * access and answers 303 with the file's ETag and Repr-Digest), then reads the bytes from storage.
 * The answer looks like the archive's own: the ETag and digest are the archive's, and a resume
 * sends Range only when the ETag is the one the partial file was started with (If-Range, done here
 * because storage has its own ETags).
 */
async function openDirect(client: Client, pathAndQuery: string, resume: { have: number; etag: string } | null): Promise<Response> {
  const link = await request(client, `${pathAndQuery}${pathAndQuery.includes('?') ? '&' : '?'}delivery=redirect`, { redirect: 'manual', pass: (p) => p.rule === 'support-no-links' });
  if (link.status === 403) {
    // Support access gets no links: it reads through the archive, a large file in pieces.
    await link.body?.cancel();
    return openViaArchive(client, pathAndQuery, resume);
  }
  return readLink(client, pathAndQuery, link, resume);
}

/**
 * Through the archive: the bytes in its answer, resumed with Range and If-Range. A file larger than the archive
 * streams in one answer (ARCHIVE_STREAMED_ANSWER_MAX_BYTES) comes as the archive sends it: a 303 to its link
 * (read as openDirect reads one; a resume's Range too is answered so, and storage serves it), or, refused with
 * range_too_large (support, who get no links), in Range pieces of the size the refusal names.
 */
async function openViaArchive(client: Client, pathAndQuery: string, resume: { have: number; etag: string } | null): Promise<Response> {
  const res = await request(client, pathAndQuery, { redirect: 'manual', pass: (p) => p.code === 'range_too_large', headers: resume ? { Range: `bytes=${resume.have}-`, 'If-Range': resume.etag } : {} });
  // A 303 is the archive's link, read as openDirect reads one (https only, its ETag and digest); any other redirect is not followed.
  if (res.status === 303) return readLink(client, pathAndQuery, res, resume);
  if (res.status >= 300 && res.status < 400) {
    await res.body?.cancel();
    throw new CliError(`GET ${pathAndQuery} failed with ${res.status}: the archive redirected elsewhere; not followed.`);
  }
  if (res.status !== 422) return res;
  const p = (await res.json()) as ProblemBody;
  if (!(Number(p.maxRangeBytes) > 0) || !(Number(p.size) > 0)) throw new CliError(`${pathAndQuery}: the archive refused to send it whole and named no piece size.`);
  return inPieces(client, pathAndQuery, resume, Number(p.maxRangeBytes), Number(p.size));
}

/**
 * The file from `resume.have` (or 0) to its end as one answer read piece by piece, each piece a Range of at most
 * `piece` bytes under If-Range with the first piece's ETag: a piece of another representation ends the download
 * (what arrived stays in the part file; the next run resumes). A resume whose ETag is stale starts again at 0.
 */
async function inPieces(client: Client, pathAndQuery: string, resume: { have: number; etag: string } | null, piece: number, size: number): Promise<Response> {
  const fetchPiece = (start: number, ifRange: string | null) =>
    request(client, pathAndQuery, { redirect: 'manual', pass: (p) => p.code === 'range_too_large', headers: { Range: `bytes=${start}-${Math.min(size, start + piece) - 1}`, ...(ifRange ? { 'If-Range': ifRange } : {}) } });
  const fits = (res: Response, start: number) => res.status === 206 && res.headers.get('content-range') === `bytes ${start}-${Math.min(size, start + piece) - 1}/${size}`;
  let start = resume && resume.have < size ? resume.have : 0;
  let first = await fetchPiece(start, start > 0 ? resume!.etag : null);
  if (start > 0 && !fits(first, start)) {
    // If-Range did not match: the range was dropped, the whole file refused (or, to a user, linked). Start over.
    await first.body?.cancel();
    start = 0;
    first = await fetchPiece(0, null);
  }
  if (!fits(first, start)) {
    await first.body?.cancel();
    throw new CliError(`${pathAndQuery}: the archive did not answer the piece asked for (status ${first.status}); run again.`);
  }
  const etag = first.headers.get('etag') ?? '';
  async function* bytes(): AsyncGenerator<Uint8Array> {
    yield* first.body as unknown as AsyncIterable<Uint8Array>;
    for (let from = start + piece; from < size; from += piece) {
      const next = await fetchPiece(from, etag);
      if (!fits(next, from)) {
        await next.body?.cancel();
        // Another representation (If-Range did not match) is the file changing: run again. A 206 of another range is a lie.
        throw new CliError(`${pathAndQuery} changed while it was fetched in pieces (status ${next.status}); run again.`, next.status === 206 ? 1 : EXIT_RUN_AGAIN);
      }
      yield* next.body as unknown as AsyncIterable<Uint8Array>;
    }
  }
  const headers = new Headers({ etag, 'repr-digest': first.headers.get('repr-digest') ?? '', 'content-length': String(size - start) });
  if (start > 0) headers.set('content-range', `bytes ${start}-${size - 1}/${size}`);
  return new Response(Readable.toWeb(Readable.from(bytes())) as ReadableStream<Uint8Array>, { status: start > 0 ? 206 : 200, headers });
}

/** A 303 to a storage link, read: the answer looks like the archive's own (its ETag and Repr-Digest), see openDirect. */
async function readLink(client: Client, pathAndQuery: string, link: Response, resume: { have: number; etag: string } | null): Promise<Response> {
  const location = link.headers.get('location');
  if (link.status !== 303 || !location) throw new CliError(`${pathAndQuery}: the archive gave no download link (status ${link.status}); run again with --via-archive.`);
  await link.body?.cancel();
  const target = storageLink(location, `${client.config.url}${pathAndQuery}`);
  const etag = link.headers.get('etag') ?? '';
  const ranged = resume !== null && resume.etag === etag;
  // No Authorization header: the link is the credential, and storage must not see the archive's token.
  // Storage answers, never redirects: a redirect would lead past the https check above, to any host.
  const blob = await client.fetch(target, { headers: ranged ? { Range: `bytes=${resume.have}-` } : {}, redirect: 'manual' });
  if (blob.status === 403) {
    await blob.body?.cancel();
    throw new CliError(`${pathAndQuery}: the download link was refused or expired; run again to resume.`, EXIT_RUN_AGAIN);
  }
  if (blob.status !== 200 && blob.status !== 206 && blob.status !== 416) {
    await blob.body?.cancel();
    throw new CliError(`${pathAndQuery}: storage answered ${blob.status}.`);
  }
  const headers = new Headers(blob.headers);
  headers.set('etag', etag);
  headers.set('repr-digest', link.headers.get('repr-digest') ?? '');
  return new Response(blob.body, { status: blob.status, headers });
}

/** The 303's Location as an absolute URL the CLI will read: https, or plain http to this machine (Azurite); never file:, data: or http across the network. */
function storageLink(location: string, requested: string): string {
  let url: URL;
  try {
    url = new URL(location, requested);
  } catch {
    throw new CliError(`The archive's download link is not a URL; run again with --via-archive.`);
  }
  if (url.protocol !== 'https:' && !isLoopbackHttp(url)) throw new CliError(`The archive's download link (${url.protocol}//${url.host}) is not https; not followed. Run again with --via-archive.`);
  return url.toString();
}

// The part file is opened as itself, never through a symbolic link planted in its place (no O_NOFOLLOW on Windows).
const { O_WRONLY, O_CREAT, O_TRUNC, O_APPEND, O_NOFOLLOW = 0 } = fs.constants;
const NO_FOLLOW_TRUNCATE = O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW;
const NO_FOLLOW_APPEND = O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW;

/** A symbolic link where a part file goes would have the download written (and resumed, and renamed) wherever it leads. */
function refuseLinks(files: string[]): void {
  const links = files.filter((f) => {
    try {
      return fs.lstatSync(f).isSymbolicLink();
    } catch {
      return false;
    }
  });
  if (links.length > 0) throw new CliError(`Not written through a symbolic link (remove it and run again): ${links.join(', ')}`, 4);
}

/** Throws, naming them, when any of `files` exists and `force` is not set: the CLI never replaces a file silently. */
export function refuseOverwrite(files: string[], force = false): void {
  const existing = force ? [] : files.filter((f) => fs.existsSync(f));
  if (existing.length > 0) throw new CliError(`Not overwritten (use --force to replace): ${existing.join(', ')}`, 4);
}

/**
 * The names `archive get` saves a document under, which cannot collide with each other:
 * `<name>.rendition.pdf` and `<name>.original-<n>.<ext>` (n from 1, in upload order), where
 * `<name>` is the first original's file name without its extension (else the document id).
 */
export function documentFileNames(doc: Pick<ListedDocument, 'id' | 'original' | 'originals'>): { rendition: string; originals: string[] } {
  const first = doc.originals[0]?.fileName ?? doc.original.fileName;
  const base = withinBytes((first ? safeName(first).replace(/\.[^.]*$/, '') : '') || safeName(doc.id), 200);
  // The extension is the type the archive found in the bytes (as the archive's own download and the export name it), the
  // uploader's spelling of that type kept: taken from the file name, a JPEG uploaded as `statement.html` or `run.bat` was
  // saved so, and opened (by a browser, by cmd.exe) as what its name said rather than as the scan it is.
  const extOf = (o: { fileName: string | null; mediaType?: string }) => {
    const own = o.fileName ? /\.([A-Za-z0-9]{1,8})$/.exec(o.fileName)?.[1]?.toLowerCase() : undefined;
    const archived = MEDIA_EXTENSIONS[o.mediaType ?? ''];
    const spellings = archived ? (SAME_TYPE[archived] ?? [archived]) : Object.values(MEDIA_EXTENSIONS).flatMap((e) => SAME_TYPE[e] ?? [e]);
    return own !== undefined && spellings.includes(own) ? own : (archived ?? 'bin');
  };
  const originals = doc.originals.length > 0 ? doc.originals : [doc.original];
  return { rendition: `${base}.rendition.pdf`, originals: originals.map((o, i) => `${base}.original-${i + 1}.${extOf(o)}`) };
}

/**
 * The first whole characters of `s` within `max` bytes of UTF-8. A name is at most 255 bytes on ext4 and APFS; the
 * archive keeps 200 characters of a file name, 600 bytes in CJK letters, and saving it failed (ENAMETOOLONG). The rest
 * of 255 is room for `.original-<n>.<ext>`.
 */
function withinBytes(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch) > max) break;
    out += ch;
  }
  return out;
}

const MEDIA_EXTENSIONS: Record<string, string> = { 'application/pdf': 'pdf', 'image/jpeg': 'jpg', 'image/png': 'png', 'image/tiff': 'tif', 'image/webp': 'webp', 'image/heic': 'heic' };
/** Other spellings of an extension that name the same type (shared/documents/download.ts keeps them alike). */
const SAME_TYPE: Record<string, readonly string[]> = { jpg: ['jpg', 'jpeg', 'jpe', 'jfif'], tif: ['tif', 'tiff'] };

/**
 * `archive get <id> [--original]`: the document's rendition, or every one of its originals, into
 * `outDir`. Every target name is checked before the first byte is fetched, so a refusal changes nothing.
 */
export async function getDocumentFiles(client: Client, id: string, opts: { original?: boolean; outDir: string; viaArchive?: boolean; force?: boolean }): Promise<DownloadOutcome[]> {
  const doc = dataOf(client, `GET /documents/${id}`, await api(client).GET('/documents/{id}', { params: { path: { id } } })) as ListedDocument;
  const names = documentFileNames(doc);
  const route = `/documents/${encodeURIComponent(id)}`;
  const wanted = opts.original
    ? (doc.originals.length > 0 ? doc.originals : [doc.original]).map((o, i) => ({ name: names.originals[i]!, route: `${route}/originals/${i + 1}`, size: o.size }))
    : [{ name: names.rendition, route: `${route}/rendition`, size: doc.rendition.size }];
  refuseOverwrite(wanted.map((w) => path.join(opts.outDir, w.name)), opts.force);
  fs.mkdirSync(opts.outDir, { recursive: true });
  const out: DownloadOutcome[] = [];
  for (const w of wanted) out.push(await downloadTo(client, w.route, path.join(opts.outDir, w.name), w.name, { direct: !opts.viaArchive && w.size >= DIRECT_MIN_BYTES, force: opts.force }));
  return out;
}

/** A field of the document's metadata a correction sets (a value) or removes (null). */
export type MetadataPatch = Record<string, string | number | string[] | null>;

export interface CorrectionOutcome {
  metadataVersion: number;
  changes: { field: string; from: unknown; to: unknown }[];
}

/**
 * `archive correct <id>`: a merge patch of the document's catalog metadata with a reason, applied only over the
 * version read just before (If-Match): a correction someone made in between is never overwritten (412 naming
 * the version now; run again to correct on top of it). The scan, its rendition and their hashes never change.
 */
export async function correctDocument(client: Client, id: string, patch: MetadataPatch, reason: string): Promise<CorrectionOutcome> {
  const doc = dataOf(client, `GET /documents/${id}`, await api(client).GET('/documents/{id}', { params: { path: { id } } }));
  const res = await request(client, `/documents/${encodeURIComponent(id)}/metadata`, {
    method: 'PATCH',
    headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': `"metadata-${doc.metadataVersion}"` },
    body: JSON.stringify({ ...patch, reason }),
  });
  const corrected = (await res.json()) as { metadataVersion: number; correction?: { changes: CorrectionOutcome['changes'] } };
  return { metadataVersion: corrected.metadataVersion, changes: corrected.correction?.changes ?? [] };
}

/** A correction as the terminal shows it: one line per changed field, old → new. */
export function correctionText(id: string, r: CorrectionOutcome): string {
  if (r.changes.length === 0) return `${printable(id)}: nothing changed (the metadata already says so), still version ${r.metadataVersion}`;
  const value = (v: unknown) => (v === null || v === undefined ? '(none)' : printable(typeof v === 'string' ? v : JSON.stringify(v)));
  return [`${printable(id)}: corrected, metadata version ${r.metadataVersion}`, ...r.changes.map((c) => `  ${printable(c.field)}: ${value(c.from)} -> ${value(c.to)}`)].join('\n');
}

/**
 * A file name the uploader chose, as a name on this machine: no path, no controls or bidi overrides
 * (it is shown, and `gnp.exe` reversed reads as a PDF), no character or device name Windows reserves.
 */
function safeName(name: string): string {
  const safe = printable(path.basename(name)).replace(/[\\/:*?"<>|]/g, '_') || 'document';
  return WINDOWS_DEVICE.test(safe) ? `_${safe}` : safe;
}

/**
 * A name Windows opens as a device, whatever its extension: also COM¹–COM³ and LPT¹–LPT³ (superscript digits, which
 * `\d` does not match), CONIN$ and CONOUT$, and a device name with spaces before its extension (Windows drops them).
 * A scan the uploader named `COM¹.jpg` was written into the serial port's device.
 */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|conin\$|conout\$|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)/i;

/** GET /exports/{id}'s answer, as the generated types describe it. */
type ExportStatus = paths['/exports/{id}']['get']['responses'][200]['content']['application/json'];

export interface ExportSummary extends CopyCounts {
  exportId: string;
  zip: string;
  resumedFrom: number;
}

/**
 * `archive export`: start (or, after an interruption, pick up) an export, wait for it with a
 * progress line, download the ZIP with resume, unpack it into `outDir` and check every file
 * against manifest.json's SHA-256.
 */
export async function exportToDir(client: Client, filter: SearchFilter, opts: { outDir: string; includeOriginals?: boolean; csv?: { separator: ';' | ','; decimalMark: ',' | '.' }; pollMs?: number; viaArchive?: boolean; force?: boolean }): Promise<ExportSummary> {
  fs.mkdirSync(opts.outDir, { recursive: true });
  const stateFile = path.join(opts.outDir, '.archive-export.json');
  refuseLinks([stateFile]);
  let status: ExportStatus | null = null;
  const state = exportState(stateFile);
  const body = { ...filter, includeOriginals: !!opts.includeOriginals, ...(opts.csv ? { csv: opts.csv } : {}) } satisfies CreateExportBody;
  const request = JSON.stringify(body);
  if (state.exportId) {
    try {
      status = dataOf(client, `GET /exports/${state.exportId}`, await api(client).GET('/exports/{id}', { params: { path: { id: state.exportId } } }));
      if (status.status === 'failed' || status.status === 'expired') status = null;
    } catch {
      status = null;
    }
    // The export the folder records is picked up only for the search it was started with: run into the same folder with
    // another year (or with --originals, or --csv-dutch), it was downloaded and reported VERIFIED as if it were the one asked for.
    const differences = status ? (state.request !== undefined ? (state.request === request ? [] : ['search or options']) : exportDiffers(status, body)) : [];
    if (status && differences.length > 0) {
      if (!opts.force) throw new CliError(`${opts.outDir} holds the unfinished export ${printable(status.id)} of another search (${differences.join(', ')} differ): run the command that started it to finish it, choose another --out, or give --force to start the export asked for.`, 4);
      // Its download's part files go with it: left there, they are no file of the export asked for (verify names them).
      if (/^[0-9A-Za-z-]{1,64}$/.test(status.id)) for (const f of [`export-${status.id}.zip.part`, `export-${status.id}.zip.part.json`]) fs.rmSync(path.join(opts.outDir, f), { force: true });
      status = null;
    }
  }
  if (!status) {
    // The key is saved before the request is sent: when the answer is lost on the way (a dropped connection), running
    // the command again sends the same key, and the archive answers the export the first run started instead of
    // starting a second. A new one for another search, or after an export that failed or expired.
    const idempotencyKey = !state.exportId && state.idempotencyKey && state.request === request ? state.idempotencyKey : randomUUID();
    fs.writeFileSync(stateFile, JSON.stringify({ idempotencyKey, request }));
    status = dataOf(client, 'POST /exports', await api(client).POST('/exports', { body, headers: { 'Idempotency-Key': idempotencyKey } }));
    fs.writeFileSync(stateFile, JSON.stringify({ exportId: status.id, request }));
  }
  // The id comes from the server and names a file in `outDir` and a route: `../` in it would write outside the folder.
  const checkId = (id: string) => {
    if (!/^[0-9A-Za-z-]{1,64}$/.test(id)) throw new CliError(`The archive answered an export id that cannot name a file: ${printable(JSON.stringify(id))}.`);
  };
  checkId(status.id);
  while (status.status === 'running') {
    // The counts are the server's JSON, numbers only by its word: the line is made printable as a whole.
    client.progress?.(printable(`export ${status.id}: ${status.progress.documents}/${status.progress.total} documents, ${(Number(status.progress.bytes) / 1e6).toFixed(1)} MB`));
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 1000));
    status = dataOf(client, `GET /exports/${status.id}`, await api(client).GET('/exports/{id}', { params: { path: { id: status.id } } }));
  }
  checkId(status.id);
  if (status.status !== 'completed') throw new CliError(printable(`Export ${status.id} ${status.status}${status.error ? `: ${status.error}` : ''}.`));

  const zipFile = path.join(opts.outDir, `export-${status.id}.zip`);
  let resumedFrom = 0;
  const direct = !opts.viaArchive && (status.archive?.size ?? 0) >= DIRECT_MIN_BYTES;
  if (!fs.existsSync(zipFile)) resumedFrom = (await downloadTo(client, `/exports/${status.id}/download`, zipFile, 'export.zip', { direct })).resumedFrom;
  // A ZIP already in the folder (an earlier run's, or put there) is unpacked only when it is the one the archive made: its own manifest vouches for nothing.
  else if (!status.archive || (await sha256File(zipFile)) !== status.archive.sha256) {
    throw new CliError(`${zipFile} is not the ZIP the archive made for export ${status.id} (its SHA-256 differs); move it away and run again.`, 4);
  }
  const check = await unpackAndVerify(zipFile, opts.outDir, { force: opts.force });
  fs.rmSync(stateFile, { force: true });
  return { exportId: status.id, zip: zipFile, resumedFrom, ...check };
}

/**
 * What `.archive-export.json` records, its string fields only; nothing when it is missing, not JSON or not an object.
 * Read as it was, a state file cut short (a full disk, a crash mid-write) or edited threw a SyntaxError or TypeError
 * on every run: `export` into that folder could never succeed again until someone deleted it by hand. Without it the
 * run starts a new export, as on a first run.
 */
function exportState(stateFile: string): { exportId?: string; idempotencyKey?: string; request?: string } {
  if (!fs.existsSync(stateFile)) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  } catch {
    return {};
  }
  if (typeof parsed !== 'object' || parsed === null) return {};
  const field = (k: string) => (typeof (parsed as Record<string, unknown>)[k] === 'string' ? { [k]: (parsed as Record<string, string>)[k] } : {});
  return { ...field('exportId'), ...field('idempotencyKey'), ...field('request') };
}

/** JSON with its object keys sorted and undefined members left out: the same search written in another order is the same. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/**
 * What differs between an export the archive records and the request this run would send, for a state file that does
 * not record its request (an earlier CLI's): the archive's record of the search, originals and CSV dialect. The search
 * as the archive keeps it: text in NFC, trimmed, `correctedSince` as an instant.
 */
function exportDiffers(status: ExportStatus, body: CreateExportBody): string[] {
  const { includeOriginals, csv, ...asked } = body;
  const norm = Object.fromEntries(Object.entries(asked as Record<string, unknown>).map(([k, v]): [string, unknown] => {
    if (k === 'correctedSince' && typeof v === 'string' && !Number.isNaN(Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v))) return [k, new Date(v.length === 10 ? `${v}T00:00:00Z` : v).toISOString()];
    if (typeof v === 'string') return [k, v.normalize('NFC').trim()];
    if (Array.isArray(v)) return [k, v.map((t: unknown) => (typeof t === 'string' ? t.normalize('NFC').trim() : t))];
    return [k, v];
  }));
  return [
    ...(canonical(status.filter) !== canonical(norm) ? ['search'] : []),
    ...(status.includeOriginals !== !!includeOriginals ? ['originals'] : []),
    ...(canonical(status.csv ?? { separator: ',', decimalMark: '.' }) !== canonical(csv ?? { separator: ',', decimalMark: '.' }) ? ['CSV'] : []),
  ];
}

/** manifest.json's text as an export manifest, or the CLI's error saying it is none. */
function manifestOf(text: string, where: string): Manifest {
  const m = parseManifest(text);
  if (m) return m;
  throw new CliError(`${where}: manifest.json is not an export manifest.`);
}

/**
 * An entry name that cannot name the same file on every accountant's machine: controls and bidi
 * overrides (the name is shown), Windows' reserved names and characters (`a.pdf:x` writes a hidden
 * stream, `CON.pdf` a device), a trailing dot or space (Windows drops it, so two names meet), empty
 * or `.` parts. yauzl itself refuses `..`, absolute paths and drive letters.
 */
function unsafeEntryName(name: string): boolean {
  return name.split('/').some((part) => part === '' || part === '.' || printable(part) !== part || /[<>:"|?*]/.test(part) || /[. ]$/.test(part) || WINDOWS_DEVICE.test(part));
}

/** CRC-32 (ZIP's): Node's own where it has one (20.15 and later), else table-driven. */
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32: (data: Buffer, value?: number) => number =
  (zlib as { crc32?: (data: Buffer, value?: number) => number }).crc32 ??
  ((data, value = 0) => {
    let c = ~value >>> 0;
    for (const b of data) c = CRC_TABLE[(c ^ b) & 0xff]! ^ (c >>> 8);
    return ~c >>> 0;
  });

/**
 * Reads every entry of an export ZIP, handing each to `onEntry` once (the first of a name held twice);
 * answers what it did not hand on, which a verification reports rather than skips.
 */
async function readZip(zipFile: string, onEntry: (name: string, stream: Readable) => Promise<void>): Promise<ZipOddities> {
  // yauzl stops at a name reaching outside the folder (`../`, `/`, `C:`) or a damaged ZIP; its message holds the raw name.
  const unreadable = (e: Error) => new CliError(`${zipFile}: ${printable(e.message)}; NOT VERIFIED.`, 3);
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.open(zipFile, { lazyEntries: true }, (e, z) => (e ? reject(unreadable(e)) : resolve(z))));
  const odd: ZipOddities = { refused: [], duplicates: [], damaged: [] };
  const seen = new Set<string>();
  const entries: yauzl.Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      const name = entry.fileName;
      const twice = seen.has(caseless(name));
      seen.add(caseless(name));
      if (name.endsWith('/') || twice || unsafeEntryName(name)) {
        if (twice) odd.duplicates.push(name);
        else if (!name.endsWith('/')) odd.refused.push(name);
        zip.readEntry();
        return;
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        // yauzl does not check an entry's CRC-32. A deflated entry (manifest.json) with one byte changed still
        // inflates, to other text, and nothing else covers manifest.json: verify said ok. The CRC catches it.
        let crc = 0;
        const checked = new Transform({
          transform(chunk: Buffer, _enc, cb) {
            crc = crc32(chunk, crc);
            cb(null, chunk);
          },
          flush(cb) {
            if (crc >>> 0 !== entry.crc32 >>> 0) odd.damaged.push(name);
            cb();
          },
        });
        stream.on('error', (e) => checked.destroy(e));
        onEntry(name, stream.pipe(checked)).then(() => zip.readEntry(), reject);
      });
    });
    zip.on('end', resolve);
    zip.on('error', (e: Error) => reject(unreadable(e)));
    zip.readEntry();
  });
  zip.close();
  // Bytes the central directory does not list are read by unzip tools that stream local headers: see zip-layout.ts.
  const fault = zipLayoutFault(zipFile, entries);
  if (fault) throw new CliError(`${zipFile}: ${fault}; NOT VERIFIED.`, 3);
  return odd;
}

async function hashStream(stream: Readable, sink?: fs.WriteStream, keep?: Buffer[]): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  stream.on('data', (c: Buffer) => {
    hash.update(c);
    size += c.length;
    keep?.push(c);
  });
  if (sink) await pipeline(stream, sink);
  else {
    stream.resume();
    await once(stream, 'end');
  }
  return { sha256: hash.digest('hex'), size };
}

/**
 * Unpack every entry into `outDir`, hashing on the way, and compare with manifest.json. Each entry
 * goes to a temporary file first: a file already there with the same bytes is left as it is, one
 * with other bytes (e.g. edited after an earlier run) is never replaced without `force` — the run
 * ends with an error naming it.
 */
export async function unpackAndVerify(zipFile: string, outDir: string, opts: { force?: boolean } = {}): Promise<VerifyResult> {
  const root = path.resolve(outDir);
  const found = new Map<string, { sha256: string; size: number }>();
  const refused: string[] = [];
  let manifestText = '';
  const odd = await readZip(zipFile, async (name, stream) => {
    const target = path.resolve(root, name);
    // A folder of the entry's path that is a symbolic link (left in --out) would take the file wherever it leads.
    const parts = name.split('/');
    refuseLinks(parts.slice(0, -1).map((_, i) => path.join(root, ...parts.slice(0, i + 1))));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const temp = `${target}.unpacking`;
    const chunks: Buffer[] = [];
    refuseLinks([temp]);
    const got = await hashStream(stream, fs.createWriteStream(temp, { fd: fs.openSync(temp, NO_FOLLOW_TRUNCATE, 0o666) }), name === 'manifest.json' ? chunks : undefined);
    if (name === 'manifest.json') manifestText = Buffer.concat(chunks).toString('utf8');
    found.set(name, got);
    if (fs.existsSync(target) && !opts.force && (await sha256File(target)) !== got.sha256) {
      refused.push(target);
      fs.rmSync(temp, { force: true });
    } else fs.renameSync(temp, target);
  });
  if (!manifestText) throw new CliError(`${zipFile}: no manifest.json in the export.`);
  if (refused.length > 0) throw new CliError(`Not overwritten, they differ from the export (check them; --force replaces them): ${refused.join(', ')}`, 4);
  return compareWithManifest(manifestOf(manifestText, zipFile), found, odd);
}

/**
 * `archive verify <folder|zip>`: checks a downloaded export offline against its manifest.json —
 * SHA-256 and size of every listed file and of manifest.csv (when recorded), files missing, files
 * the manifest does not list. Needs no login and no network.
 */
export async function verifyExport(target: string): Promise<VerifyResult> {
  if (!fs.existsSync(target)) throw new CliError(`${target}: no such file or folder.`, 2);
  const found = new Map<string, { sha256: string; size: number }>();
  if (fs.statSync(target).isFile()) {
    let manifestText = '';
    const odd = await readZip(target, async (name, stream) => {
      const chunks: Buffer[] = [];
      found.set(name, await hashStream(stream, undefined, name === 'manifest.json' ? chunks : undefined));
      if (name === 'manifest.json') manifestText = Buffer.concat(chunks).toString('utf8');
    });
    if (!manifestText) throw new CliError(`${target}: no manifest.json in the export.`);
    return compareWithManifest(manifestOf(manifestText, target), found, odd);
  }
  const manifestFile = path.join(target, 'manifest.json');
  if (!fs.existsSync(manifestFile)) throw new CliError(`${target}: no manifest.json; is this an unpacked export?`);
  // Each file read once, its hash and size from the same bytes: manifest.json was hashed, then read again to be parsed
  // (and every size taken apart from its hash), so a file changed in between was judged by bytes other than those checked.
  const manifestChunks: Buffer[] = [];
  for (const entry of fs.readdirSync(target, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const full = path.join(entry.parentPath, entry.name);
    const rel = path.relative(target, full).split(path.sep).join('/');
    found.set(rel, await hashStream(fs.createReadStream(full), undefined, rel === 'manifest.json' ? manifestChunks : undefined));
  }
  const manifest = manifestOf(Buffer.concat(manifestChunks).toString('utf8'), target);
  return leftoverZips(target, manifest, compareWithManifest(manifest, found, 'folder'));
}

/**
 * The ZIP a folder holds beside the files (folderZips): `export-<id>.zip` of the export manifest.json names is the one
 * they were unpacked from when it verifies as a ZIP and holds this very manifest.json.
 */
async function leftoverZips(target: string, manifest: Manifest, r: VerifyResult): Promise<VerifyResult> {
  const zips = folderZips(await fs.promises.readdir(target), manifest);
  if (!zips.own) return withFolderZips(r, zips, false);
  // A folder or a link by that name is no ZIP the CLI left.
  const file = path.join(target, zips.own);
  const zip = fs.lstatSync(file).isFile() ? await verifyExport(file).catch((e: unknown) => {
    if (e instanceof CliError) return null; // not a ZIP, or not one that verifies: a difference, not a failure of verify
    throw e;
  }) : null;
  const same = !!zip?.copyOf && !!r.copyOf && zip.copyOf.manifestJson.sha256 === r.copyOf.manifestJson.sha256 && zip.copyOf.manifestJson.size === r.copyOf.manifestJson.size;
  return withFolderZips(r, zips, !!zip && verifiedOffline(zip) && same);
}

export function verifyText(target: string, r: VerifyResult, proof?: ArchiveProof): string {
  const ok = verifiedOffline(r);
  const lines = [
    `${target}: ${r.documents} documents, ${r.files} files in manifest.json; ${r.verified} match their SHA-256 and size`,
    ...csvLines(r),
    ...r.mismatched.map((p) => `DIFFERS  ${printable(p)}`),
    ...r.missing.map((p) => `MISSING  ${printable(p)}`),
    ...r.unexpected.map((p) => `NOT IN MANIFEST ${printable(p)}`),
  ];
  if (!proof) return [...lines, ok ? `VERIFIED: every file${r.csvCovered ? '' : ' manifest.json lists'} is what the archive exported.` : 'NOT VERIFIED: see above.'].join('\n');
  lines.push(`ARCHIVE  ${proofText(proof)}`);
  return [...lines, ok && proof.status === 'proven' ? `VERIFIED AGAINST THE ARCHIVE: every file${r.csvCovered ? '' : ' manifest.json lists'} is what the archive handed out in export ${proof.exportId}.` : 'NOT VERIFIED: see above.'].join('\n');
}

/** `archive verify --against-archive`: asks the archive (GET /exports/{id}) whether this manifest.json is the one it handed out. */
export async function proveAgainstArchive(client: Client, r: VerifyResult): Promise<ArchiveProof> {
  if (!r.copyOf) return { status: 'no-export-id' };
  const { exportId } = r.copyOf;
  const answer = await api(client).GET('/exports/{id}', { params: { path: { id: exportId } } });
  if (namesNoExport(answer.response.status)) return judgeAgainstRecord(r.copyOf, null);
  return judgeAgainstRecord(r.copyOf, dataOf(client, `GET /exports/${exportId}`, answer));
}

function proofText(p: ArchiveProof): string {
  switch (p.status) {
    case 'proven':
      return `manifest.json is the one export ${printable(p.exportId)} handed out on ${p.completedAt} (started by ${printable(p.createdBy)}): its SHA-256 and size are those the archive recorded.`;
    case 'differs':
      return `manifest.json DIFFERS from the one export ${printable(p.exportId)} handed out (the archive recorded SHA-256 ${p.recorded.sha256}, ${p.recorded.size} bytes): it was changed after the export, so its checksums vouch for nothing.`;
    case 'unknown-export':
      return `the archive has no export ${printable(p.exportId)} for the tenant you are logged in to: this is not a copy of one of its exports.`;
    case 'not-recorded':
      return `export ${printable(p.exportId)} (${printable(p.exportStatus)}) has no recorded manifest.json: it never completed, or it was made before the archive kept that record, so it cannot be proven against the archive.`;
    case 'no-export-id':
      return 'manifest.json names no export, so it cannot be proven against the archive.';
  }
}

/** What was found of manifest.csv: checked and matching (a difference is listed with the others), or not covered at all. */
function csvLines(r: VerifyResult): string[] {
  if (!r.csvCovered) return [`NOTE     ${CSV} is not covered: this export's manifest.json (made before the archive recorded the CSV's checksum) holds no SHA-256 for it, so it was not checked.`];
  return r.mismatched.includes(CSV) || r.missing.includes(CSV) ? [] : [`${CSV} matches its SHA-256 and size in manifest.json`];
}

export interface ListedExport {
  id: string;
  status: string;
  filter: Record<string, unknown>;
  includeOriginals: boolean;
  createdAt: string;
  progress: { total: number; documents: number };
  expiresAt: string;
}

/** `archive exports`: the tenant's exports, newest first. */
export async function listExports(client: Client, limit = 50): Promise<ListedExport[]> {
  const page = dataOf(client, 'GET /exports', await api(client).GET('/exports', { params: { query: { limit } } }));
  return page.items;
}

export function formatExports(items: ListedExport[]): string {
  const rows = items.map((e) => [e.id, e.status, e.createdAt /* whole: `--corrected-since` takes it as printed */, `${e.progress.documents}/${e.progress.total}`, e.includeOriginals ? 'yes' : 'no', JSON.stringify(e.filter), e.expiresAt.slice(0, 10)].map(printable));
  const header = ['id', 'status', 'created', 'documents', 'originals', 'search', 'expires'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function exportSummaryText(s: ExportSummary): string {
  const ok = verifiedOffline(s);
  return [
    `export ${s.exportId}: ${s.documents} documents, ${s.files} files, ${(s.bytes / 1e6).toFixed(1)} MB${s.resumedFrom ? ` (download resumed at ${s.resumedFrom} bytes)` : ''}`,
    `${s.verified}/${s.files} files match the SHA-256 in manifest.json`,
    ...csvLines(s),
    ...s.mismatched.map((p) => `MISMATCH ${printable(p)}`),
    ...s.missing.map((p) => `MISSING  ${printable(p)}`),
    ...s.unexpected.map((p) => `NOT IN MANIFEST ${printable(p)}`),
    ok ? `VERIFIED: every file${s.csvCovered ? '' : ' manifest.json lists'} is what the archive holds.` : 'NOT VERIFIED: see above.',
  ].join('\n');
}
