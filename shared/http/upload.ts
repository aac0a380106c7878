import busboy from 'busboy';
import { createHash, Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { ArchiveError } from '../kernel/errors';
import type { SpooledFile } from '../ports';
import { removeSpooled, SpoolShare, spoolPath } from '../spool';
import { sanitiseFileName } from './file-name';
import { memberNamedTwice } from './json-body';
import type { ArchiveRequest } from './types';

/** Where a received file's bytes are: in memory, or (above the spool threshold) in a temporary file. */
type Held =
  | {
      /** Backed by a SharedArrayBuffer: the normaliser's worker thread reads it without a copy. */
      bytes: Buffer;
      spooled?: undefined;
    }
  | { bytes?: undefined; spooled: SpooledFile };

type Received = {
  /** SHA-256 (hex) of the bytes, computed while they arrived. */
  sha256: string;
  size: number;
} & Held;

export type UploadedFile = Received & { fileName: string | null };

export interface ParsedUpload {
  files: UploadedFile[];
  /** The `metadata` part, parsed as JSON but not yet validated. */
  metadata: unknown;
  /** Removes the spooled files; call it in a `finally` once the upload is stored or refused. */
  discard(): Promise<void>;
}

export interface UploadLimits {
  maxBytes: number;
  maxFiles: number;
  /** A file larger than this is spooled to a temporary file as it arrives; default: never. */
  spoolAboveBytes?: number;
  /** Where spooled files go; default os.tmpdir(). */
  spoolDir?: string;
  /**
   * Whose upload it is (the tenant) and how many bytes of spooled files all of its uploads in progress on this instance
   * may hold at once; default: no bound. The disk is the instance's, shared by every tenant.
   */
  spoolShare?: { owner: string; maxBytes: number };
}

const RAW_TYPES = ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf', 'application/octet-stream'];

/**
 * Read an upload from a stream, bounded: a raw body of one accepted type, or
 * multipart/form-data with `file` parts and an optional `metadata` JSON part.
 * A refused upload leaves no spooled file behind.
 */
export async function parseUpload(req: ArchiveRequest, limits: UploadLimits): Promise<ParsedUpload> {
  const spools = new Spools(limits.spoolAboveBytes ?? Infinity, limits.spoolDir, limits.spoolShare);
  try {
    return { ...(await parse(req, limits, spools)), discard: () => spools.discard() };
  } catch (err) {
    await spools.discard();
    throw err;
  }
}

async function parse(req: ArchiveRequest, limits: UploadLimits, spools: Spools): Promise<Omit<ParsedUpload, 'discard'>> {
  const contentType = req.headers.get('content-type') ?? '';
  const declaredSha256 = declaredBodyDigest(req.headers);
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  if (!req.body) throw new ArchiveError('empty_body', { detail: 'The request has no body.' });

  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'multipart/form-data') {
    // The digest covers the multipart body as sent: hashed beside the parse, only when one is declared.
    const bodyHash = declaredSha256 ? hashOf(req.body) : null;
    bodyHash?.catch(() => undefined); // a refused parse never awaits it: no unhandled rejection
    const parsed = await parseMultipart(req.body, contentType, limits, declared, spools);
    if (bodyHash) checkDigest(await bodyHash, declaredSha256!);
    return parsed;
  }
  if (!RAW_TYPES.includes(mediaType)) {
    throw new ArchiveError('unsupported_media_type', {
      detail: `Send the file as multipart/form-data or as a raw body with Content-Type ${RAW_TYPES.slice(0, 4).join(', ')}.`,
    });
  }
  const file = await readBounded(req.body, spools.file(declared, true, limits.maxBytes));
  if (file.size === 0) throw new ArchiveError('empty_body', { detail: 'The request body is empty.' });
  if (declaredSha256) checkDigest(file.sha256, declaredSha256); // the file's own hash, taken while it arrived: no second pass
  return { files: [{ ...file, fileName: sanitiseFileName(fileNameFromDisposition(req.headers.get('content-disposition'))) }], metadata: rawMetadata(req) };
}

/**
 * The SHA-256 (hex) a client declares for its request body, RFC 9530: `Content-Digest` or
 * `Repr-Digest` (the same bytes for an upload, which has no content coding), e.g.
 * `sha-256=:<base64>:`. Null when neither is sent. A declared digest is always checked, so one the
 * archive cannot check (no sha-256 in it, or two that disagree) is refused rather than ignored.
 */
export function declaredBodyDigest(headers: ArchiveRequest['headers']): string | null {
  const found = new Set<string>();
  for (const name of ['content-digest', 'repr-digest']) {
    const value = headers.get(name);
    if (value === null) continue;
    const sha = /(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/]*={0,2}):\s*(?:;[^,]*)?(?=,|$)/i.exec(value);
    const bytes = sha ? Buffer.from(sha[1]!, 'base64') : null;
    if (!bytes || bytes.length !== 32) throw new ArchiveError('bad_request', { detail: `The ${name === 'content-digest' ? 'Content-Digest' : 'Repr-Digest'} header must carry sha-256=:<base64 of 32 bytes>:, the digest the archive checks.` });
    found.add(bytes.toString('hex'));
  }
  if (found.size > 1) throw new ArchiveError('bad_request', { detail: 'Content-Digest and Repr-Digest name different SHA-256 digests.' });
  return found.size === 1 ? [...found][0]! : null;
}

/** Damaged on the way (a proxy, a truncated retry): refused before anything is stored, so a WORM copy of the wrong bytes never exists. */
function checkDigest(received: string, declared: string): void {
  if (received === declared) return;
  throw new ArchiveError('digest_mismatch', {
    detail: `The body's SHA-256 is ${received}, not ${declared} as its digest header says. Nothing was stored; send it again.`,
    extensions: { receivedSha256: received, declaredSha256: declared },
  });
}

/** SHA-256 (hex) of everything the stream delivers, once it has ended (read beside whoever else consumes it). */
function hashOf(stream: Readable): Promise<string> {
  const hash = createHash('sha256');
  stream.on('data', (chunk: Buffer) => hash.update(chunk));
  return new Promise((resolve, reject) => {
    stream.once('end', () => resolve(hash.digest('hex')));
    stream.once('error', reject);
    stream.once('close', () => { if (!stream.readableEnded) reject(new ArchiveError('malformed_multipart', { detail: 'The upload was interrupted.' })); });
  });
}

/**
 * A raw body has no room for metadata: it comes in the `Archive-Metadata` header (base64url of
 * the JSON) or the `metadata` query parameter (the JSON, URL-encoded). Not both.
 */
function rawMetadata(req: ArchiveRequest): unknown {
  const header = req.headers.get('archive-metadata');
  const query = req.url.searchParams.get('metadata');
  if (header !== null && query !== null) throw new ArchiveError('invalid_metadata', { detail: 'Send metadata in the Archive-Metadata header or the metadata query parameter, not both.' });
  if (header === null && query === null) return undefined;
  let text = query;
  if (header !== null) {
    if (!/^[A-Za-z0-9_-]*={0,2}$/.test(header.trim()) || header.length > 64 * 1024) throw new ArchiveError('invalid_metadata', { detail: 'The Archive-Metadata header must be base64url-encoded JSON.' });
    text = Buffer.from(header.trim(), 'base64url').toString('utf8');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text!);
  } catch {
    throw new ArchiveError('invalid_metadata', { detail: header !== null ? 'The Archive-Metadata header does not decode to JSON.' : 'The metadata query parameter is not valid JSON.' });
  }
  const twice = namedTwice(text!);
  if (twice) throw twice;
  return parsed;
}

/**
 * Metadata that reads one way only, as a JSON body must (json-body.ts): a member named twice in one object was taken
 * by its last value (JSON.parse), so `{"counterparty":"A","counterparty":"B"}` archived B under a request that also said A.
 */
function namedTwice(text: string): ArchiveError | null {
  const name = memberNamedTwice(text);
  if (name === null) return null;
  const message = 'sent more than once in one object';
  return new ArchiveError('invalid_metadata', { detail: `${name.slice(0, 100)}: ${message}`, extensions: { errors: [{ path: name.slice(0, 100), message }] } });
}

/** The files of one upload, and the temporary files any of them spooled to. */
class Spools {
  private readonly files: ReceivedFile[] = [];
  constructor(private readonly spoolAbove: number, private readonly dir: string | undefined, private readonly share: UploadLimits['spoolShare']) {}

  file(expected: number, exact: boolean, maxBytes: number): ReceivedFile {
    const file = new ReceivedFile(expected, exact, maxBytes, this.spoolAbove, this.dir, this.share ? new SpoolShare(this.share.owner, this.share.maxBytes) : null);
    this.files.push(file);
    return file;
  }

  async discard(): Promise<void> {
    await Promise.all(this.files.map((f) => f.discard()));
  }
}

/**
 * One file's bytes as they arrive, kept once and hashed chunk by chunk. Up to the spool threshold
 * they go into a buffer pre-sized from Content-Length (grown by doubling when there is none, or it
 * understated); the shared memory lets the normaliser's worker thread read it without a copy.
 * Past the threshold (known from Content-Length, or reached while reading) they go to a
 * temporary file instead, so a large upload costs the host no more than the stream's buffers.
 */
class ReceivedFile {
  private store: Buffer | null = null;
  private size = 0;
  private readonly hash: Hash = createHash('sha256');
  private out: WriteStream | null = null;
  private path: string | undefined;
  private failure: Error | null = null;

  /**
   * `expected`: Content-Length (NaN when absent), `exact` when it is this file's size (a raw body)
   * rather than a bound (a multipart body's); never more than the limit or the threshold is reserved.
   */
  constructor(expected: number, exact: boolean, readonly maxBytes: number, private readonly spoolAbove: number, private readonly dir: string | undefined, private readonly share: SpoolShare | null) {
    const known = Number.isFinite(expected) && expected > 0;
    if (known && exact && Math.min(expected, maxBytes) > spoolAbove) this.spool();
    else this.store = sharedBuffer(Math.min(known ? expected : 64 * 1024, maxBytes, spoolAbove));
  }

  private spool(): WriteStream {
    this.path = spoolPath('upload', this.dir);
    this.out = createWriteStream(this.path, { flags: 'wx', mode: 0o600 });
    this.out.on('error', (err) => (this.failure ??= err));
    return this.out;
  }

  /** The refusal when the chunk would pass the limit, or the owner's spool share (nothing is kept then); else null. */
  append(chunk: Buffer): ArchiveError | null {
    const needed = this.size + chunk.length;
    if (needed > this.maxBytes) return tooLarge(this.maxBytes);
    const crossing = this.store !== null && needed > this.spoolAbove;
    if (this.out || crossing) {
      const refused = this.share?.take(crossing ? needed : chunk.length) ?? null;
      if (refused) return refused;
    }
    this.hash.update(chunk);
    if (crossing) {
      // Crossed the threshold without a Content-Length saying so: what is held so far goes to the file first.
      this.spool().write(this.store!.subarray(0, this.size));
      this.store = null;
    }
    if (this.out) {
      this.out.write(chunk);
    } else {
      if (needed > this.store!.length) {
        const grown = sharedBuffer(Math.min(Math.max(needed, this.store!.length * 2), this.maxBytes));
        this.store!.copy(grown, 0, 0, this.size);
        this.store = grown;
      }
      chunk.copy(this.store!, this.size);
    }
    this.size = needed;
    return null;
  }

  /** Backpressure: when the file is behind, `resume` is called once it has caught up (or failed). */
  holdUntilWritten(pause: () => void, resume: () => void): void {
    const out = this.out;
    if (!out?.writableNeedDrain) return;
    pause();
    const go = () => {
      out.off('drain', go);
      out.off('close', go);
      resume();
    };
    out.on('drain', go);
    out.on('close', go);
  }

  async finish(): Promise<Received> {
    const sha256 = this.hash.digest('hex');
    if (!this.out) return { bytes: this.store!.subarray(0, this.size), sha256, size: this.size };
    const out = this.out;
    await new Promise<void>((resolve, reject) =>
      out.end((err?: Error | null) => {
        const failure = err ?? this.failure;
        if (failure) reject(failure);
        else resolve();
      }),
    );
    return { spooled: { path: this.path!, size: this.size, sha256 }, sha256, size: this.size };
  }

  async discard(): Promise<void> {
    const out = this.out;
    // The file is opened asynchronously: removing it before the stream has closed could run before
    // the open creates it, and leave it behind.
    if (out && !out.closed) await new Promise<void>((resolve) => (out.once('close', () => resolve()), out.destroy()));
    this.store = null;
    await removeSpooled(this.path);
    this.share?.giveBack();
  }
}

function sharedBuffer(size: number): Buffer {
  return Buffer.from(new SharedArrayBuffer(size));
}

/**
 * Collects the body until it ends or passes the limit. Past the limit the
 * rest is discarded, not destroyed: destroying the request would reset the
 * connection before the host can send its 413 answer.
 */
function readBounded(stream: Readable, file: ReceivedFile): Promise<Received> {
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      const refused = file.append(chunk);
      if (!refused) return file.holdUntilWritten(() => stream.pause(), () => stream.resume());
      stop();
      stream.resume();
      reject(refused);
    };
    const onEnd = () => {
      stop();
      file.finish().then(resolve, reject);
    };
    const onError = (cause: Error) => { stop(); reject(new ArchiveError('bad_request', { detail: 'The upload was interrupted.', cause })); };
    // A body closed before its end without an error (a client gone, as some hosts report it) must not
    // leave the request waiting forever with its temporary file.
    const onClose = () => onError(new Error('The request body closed before its end.'));
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onClose);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
    stream.on('close', onClose);
  });
}

function parseMultipart(body: Readable, contentType: string, limits: UploadLimits, declared: number, spools: Spools): Promise<Omit<ParsedUpload, 'discard'>> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { 'content-type': contentType }, limits: { fileSize: limits.maxBytes, files: limits.maxFiles, fields: 4, fieldSize: 64 * 1024, parts: limits.maxFiles + 4 }, defParamCharset: 'utf8' });
    } catch (cause) {
      reject(new ArchiveError('malformed_multipart', { detail: 'The multipart Content-Type has no valid boundary.', cause }));
      return;
    }
    const files: UploadedFile[] = [];
    const finishing: Promise<void>[] = [];
    const delimiters = new PartCounter(boundaryOf(contentType));
    let seen = 0; // parts busboy handed over (files and fields)
    let metadataText: string | undefined;
    let total = 0;
    let failed: ArchiveError | null = null;
    const fail = (err: ArchiveError) => {
      if (failed) return;
      failed = err;
      body.unpipe(bb);
      body.resume();
      reject(err);
    };
    bb.on('file', (name, stream, info) => {
      seen++;
      if (name !== 'file') {
        stream.resume();
        fail(new ArchiveError('malformed_multipart', { detail: `Unexpected file part ${partLabel(name)}; files go in parts named "file".` }));
        return;
      }
      // At most what the body has left: Content-Length bounds all files together.
      const file = spools.file(declared - total, false, limits.maxBytes - total);
      const index = finishing.length;
      let ended!: () => void;
      finishing.push(new Promise<void>((resolve) => (ended = resolve)));
      stream.on('data', (c: Buffer) => {
        if (failed) return;
        const refused = file.append(c);
        // The limit is the whole body's: named as it is, not as what this part had left of it.
        if (refused) return fail(refused.code === 'payload_too_large' ? tooLarge(limits.maxBytes) : refused);
        total += c.length;
        file.holdUntilWritten(() => stream.pause(), () => stream.resume());
      });
      stream.on('limit', () => fail(tooLarge(limits.maxBytes)));
      stream.on('error', (cause: Error) => fail(new ArchiveError('malformed_multipart', { detail: 'The multipart body is malformed or incomplete.', cause })));
      stream.on('end', () => {
        file.finish().then(
          (f) => {
            files[index] = { ...f, fileName: sanitiseFileName(info.filename) };
            ended();
          },
          (cause: unknown) => {
            fail(new ArchiveError('bad_request', { detail: 'The upload could not be received.', cause }));
            ended();
          },
        );
      });
    });
    bb.on('field', (name, value, info) => {
      seen++;
      if (name !== 'metadata') return fail(new ArchiveError('malformed_multipart', { detail: `Unexpected field ${partLabel(name)}; only "metadata" is accepted.` }));
      if (info.valueTruncated) return fail(new ArchiveError('invalid_metadata', { detail: 'The metadata part is larger than 64 KiB.' }));
      // Not the last one silently: whatever checked the first (a gateway, a log) would disagree with what is archived.
      if (metadataText !== undefined) return fail(new ArchiveError('invalid_metadata', { detail: 'Send one metadata part, not several.' }));
      // A charset busboy cannot decode hands over no value at all: the part was taken as absent, the document archived without the metadata sent.
      if (typeof value !== 'string') return fail(new ArchiveError('invalid_metadata', { detail: 'The metadata part is JSON: send it as UTF-8 (no other charset).' }));
      metadataText = value;
    });
    bb.on('filesLimit', () => fail(new ArchiveError('too_many_pages', { detail: `At most ${limits.maxFiles} files may be sent at once.` })));
    bb.on('partsLimit', () => fail(new ArchiveError('malformed_multipart', { detail: 'Too many parts.' })));
    bb.on('fieldsLimit', () => fail(new ArchiveError('malformed_multipart', { detail: 'Too many fields.' })));
    bb.on('error', (cause) => fail(new ArchiveError('malformed_multipart', { detail: 'The multipart body is malformed or incomplete.', cause })));
    bb.on('close', () => {
      void Promise.all(finishing).then(() => {
        if (failed) return;
        // busboy passes over, without a word, a part with no Content-Disposition or another disposition type than
        // form-data: a page sent so was left out of a document answered 201, or its metadata of the document.
        if (delimiters.afterClose) return reject(new ArchiveError('malformed_multipart', { detail: 'The body goes on after its close delimiter: a file holds the boundary, which must not occur in any part.' }));
        if (delimiters.parts !== seen) return reject(new ArchiveError('malformed_multipart', { detail: 'Every part needs Content-Disposition: form-data with a name ("file" or "metadata"); one had none, or another type, or a file holds the boundary.' }));
        if (files.length === 0) return reject(new ArchiveError('empty_body', { detail: 'The multipart body has no "file" part.' }));
        const empty = files.findIndex((f) => f.size === 0);
        if (empty >= 0) return reject(new ArchiveError('empty_body', { detail: `File part ${empty + 1} is empty.` }));
        let metadata: unknown;
        if (metadataText !== undefined) {
          try {
            metadata = JSON.parse(metadataText);
          } catch {
            return reject(new ArchiveError('invalid_metadata', { detail: 'The metadata part is not valid JSON.' }));
          }
          const twice = namedTwice(metadataText);
          if (twice) return reject(twice);
        }
        resolve({ files, metadata });
      });
    });
    body.on('error', (cause) => fail(new ArchiveError('malformed_multipart', { detail: 'The upload was interrupted.', cause })));
    // Closed before its end without an error: busboy would wait for the rest forever.
    body.on('close', () => {
      if (!body.readableEnded) fail(new ArchiveError('malformed_multipart', { detail: 'The upload was interrupted.' }));
    });
    body.on('data', (chunk: Buffer) => delimiters.write(chunk));
    body.pipe(bb);
  });
}

/** The boundary of a multipart Content-Type (busboy has accepted it by then). */
function boundaryOf(contentType: string): string {
  const m = /;\s*boundary\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]+))/i.exec(contentType);
  return (m?.[1]?.replace(/\\(.)/g, '$1') ?? m?.[2] ?? '').trim();
}

/**
 * Counts the parts of a multipart body as busboy marks them (CRLF, `--` and the boundary, not followed by `--`), up to
 * the close delimiter (followed by `--`), beside busboy: the parts it skips show as fewer handed over than counted.
 * A delimiter after the close is flagged too: busboy ignores what follows the close (a file's bytes holding the
 * close delimiter ended the upload there, and the pages after it were left out).
 */
class PartCounter {
  parts = 0;
  closed = false;
  /** A delimiter after the close delimiter: parts busboy did not read. */
  afterClose = false;
  private tail: Buffer = Buffer.from('\r\n'); // the body may start with its first delimiter
  private readonly delimiter: Buffer;
  constructor(boundary: string) {
    this.delimiter = Buffer.from(`\r\n--${boundary}`, 'latin1');
  }

  write(chunk: Buffer): void {
    if (this.afterClose) return;
    const buf = Buffer.concat([this.tail, chunk]);
    let from = 0;
    for (;;) {
      const at = buf.indexOf(this.delimiter, from);
      if (at < 0) {
        from = Math.max(from, buf.length - this.delimiter.length - 1);
        break;
      }
      if (this.closed) {
        this.afterClose = true;
        return;
      }
      const after = at + this.delimiter.length;
      if (after + 2 > buf.length) {
        from = at; // what follows decides: kept for the next chunk
        break;
      }
      if (buf[after] === 0x2d && buf[after + 1] === 0x2d) this.closed = true;
      else this.parts++;
      from = after;
    }
    this.tail = Buffer.from(buf.subarray(Math.max(0, from)));
  }
}

/**
 * A part's name for an error message. busboy hands over `undefined` (its types say string) for a part
 * whose Content-Disposition has no `name`: reading it then threw inside busboy's write, out of reach of
 * any handler, and the uncaught exception ended the process.
 */
function partLabel(name: string | undefined): string {
  return name === undefined ? 'without a name' : `"${name.slice(0, 40)}"`;
}

/**
 * RFC 6266: `filename*` (RFC 8187, UTF-8 or ISO-8859-1) wins over `filename`. HTTP header values
 * reach us as Latin-1 strings, so a `filename="…"` sent as raw UTF-8 (what browsers and curl do)
 * is re-read as UTF-8 when its bytes are valid UTF-8.
 */
export function fileNameFromDisposition(header: string | null): string | null {
  if (!header) return null;
  const star = /filename\*\s*=\s*(UTF-8|ISO-8859-1)'[^']*'([^;\s]+)/i.exec(header);
  if (star) {
    const encoded = star[2]!.trim();
    if (star[1]!.toUpperCase() === 'UTF-8') {
      try {
        return decodeURIComponent(encoded);
      } catch {
        return null;
      }
    }
    return encoded.replace(/%([0-9A-Fa-f]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
  }
  const plain = /filename\s*=\s*"((?:[^"\\]|\\.)*)"|filename\s*=\s*([^;]+)/i.exec(header);
  return plain ? asUtf8((plain[1] ?? plain[2] ?? '').replace(/\\(.)/g, '$1').trim()) : null;
}

function asUtf8(latin1: string): string {
  if (!/[\u0080-\u00ff]/.test(latin1) || /[^\u0000-\u00ff]/.test(latin1)) return latin1;
  const bytes = Buffer.from(latin1, 'latin1');
  const text = bytes.toString('utf8');
  // Not valid UTF-8 (a real Latin-1 name such as `café` in ISO-8859-1): keep it as it came.
  return Buffer.from(text, 'utf8').equals(bytes) ? text : latin1;
}

function tooLarge(maxBytes: number): ArchiveError {
  return new ArchiveError('payload_too_large', { detail: `The upload exceeds the limit of ${maxBytes} bytes.`, extensions: { maxBytes } });
}
