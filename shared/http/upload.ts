import busboy from 'busboy';
import type { Readable } from 'node:stream';
import { ArchiveError } from '../kernel/errors';
import { sanitiseFileName } from './file-name';
import type { ArchiveRequest } from './types';

export interface ParsedUpload {
  files: { bytes: Buffer; fileName: string | null }[];
  /** The `metadata` part, parsed as JSON but not yet validated. */
  metadata: unknown;
}

export interface UploadLimits {
  maxBytes: number;
  maxFiles: number;
}

const RAW_TYPES = ['image/jpeg', 'image/png', 'image/tiff', 'application/pdf', 'application/octet-stream'];

/**
 * Read an upload from a stream, bounded: a raw body of one accepted type, or
 * multipart/form-data with `file` parts and an optional `metadata` JSON part.
 */
export async function parseUpload(req: ArchiveRequest, limits: UploadLimits): Promise<ParsedUpload> {
  const contentType = req.headers.get('content-type') ?? '';
  const declared = Number(req.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  if (!req.body) throw new ArchiveError('empty_body', { detail: 'The request has no body.' });

  const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
  if (mediaType === 'multipart/form-data') return parseMultipart(req.body, contentType, limits);
  if (!RAW_TYPES.includes(mediaType)) {
    throw new ArchiveError('unsupported_media_type', {
      detail: `Send the file as multipart/form-data or as a raw body with Content-Type ${RAW_TYPES.slice(0, 4).join(', ')}.`,
    });
  }
  const bytes = await readBounded(req.body, limits.maxBytes);
  if (bytes.length === 0) throw new ArchiveError('empty_body', { detail: 'The request body is empty.' });
  return { files: [{ bytes, fileName: sanitiseFileName(fileNameFromDisposition(req.headers.get('content-disposition'))) }], metadata: rawMetadata(req) };
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
  try {
    return JSON.parse(text!);
  } catch {
    throw new ArchiveError('invalid_metadata', { detail: header !== null ? 'The Archive-Metadata header does not decode to JSON.' : 'The metadata query parameter is not valid JSON.' });
  }
}

/**
 * Collects the body until it ends or passes the limit. Past the limit the
 * rest is discarded, not destroyed: destroying the request would reset the
 * connection before the host can send its 413 answer.
 */
function readBounded(stream: Readable, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      stop();
      stream.resume();
      reject(tooLarge(maxBytes));
    };
    const onEnd = () => { stop(); resolve(Buffer.concat(chunks)); };
    const onError = (cause: Error) => { stop(); reject(new ArchiveError('bad_request', { detail: 'The upload was interrupted.', cause })); };
    const stop = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('error', onError);
  });
}

function parseMultipart(body: Readable, contentType: string, limits: UploadLimits): Promise<ParsedUpload> {
  return new Promise((resolve, reject) => {
    let bb: busboy.Busboy;
    try {
      bb = busboy({ headers: { 'content-type': contentType }, limits: { fileSize: limits.maxBytes, files: limits.maxFiles, fields: 4, fieldSize: 64 * 1024, parts: limits.maxFiles + 4 }, defParamCharset: 'utf8' });
    } catch (cause) {
      reject(new ArchiveError('malformed_multipart', { detail: 'The multipart Content-Type has no valid boundary.', cause }));
      return;
    }
    const files: { bytes: Buffer; fileName: string | null }[] = [];
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
      if (name !== 'file') {
        stream.resume();
        fail(new ArchiveError('malformed_multipart', { detail: `Unexpected file part "${name.slice(0, 40)}"; files go in parts named "file".` }));
        return;
      }
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        total += c.length;
        if (total > limits.maxBytes) fail(tooLarge(limits.maxBytes));
        else chunks.push(c);
      });
      stream.on('limit', () => fail(tooLarge(limits.maxBytes)));
      stream.on('error', (cause: Error) => fail(new ArchiveError('malformed_multipart', { detail: 'The multipart body is malformed or incomplete.', cause })));
      stream.on('end', () => files.push({ bytes: Buffer.concat(chunks), fileName: sanitiseFileName(info.filename) }));
    });
    bb.on('field', (name, value, info) => {
      if (name !== 'metadata') return fail(new ArchiveError('malformed_multipart', { detail: `Unexpected field "${name.slice(0, 40)}"; only "metadata" is accepted.` }));
      if (info.valueTruncated) return fail(new ArchiveError('invalid_metadata', { detail: 'The metadata part is larger than 64 KiB.' }));
      metadataText = value;
    });
    bb.on('filesLimit', () => fail(new ArchiveError('too_many_pages', { detail: `At most ${limits.maxFiles} files may be sent at once.` })));
    bb.on('partsLimit', () => fail(new ArchiveError('malformed_multipart', { detail: 'Too many parts.' })));
    bb.on('fieldsLimit', () => fail(new ArchiveError('malformed_multipart', { detail: 'Too many fields.' })));
    bb.on('error', (cause) => fail(new ArchiveError('malformed_multipart', { detail: 'The multipart body is malformed or incomplete.', cause })));
    bb.on('close', () => {
      if (failed) return;
      if (files.length === 0) return reject(new ArchiveError('empty_body', { detail: 'The multipart body has no "file" part.' }));
      const empty = files.findIndex((f) => f.bytes.length === 0);
      if (empty >= 0) return reject(new ArchiveError('empty_body', { detail: `File part ${empty + 1} is empty.` }));
      let metadata: unknown;
      if (metadataText !== undefined) {
        try {
          metadata = JSON.parse(metadataText);
        } catch {
          return reject(new ArchiveError('invalid_metadata', { detail: 'The metadata part is not valid JSON.' }));
        }
      }
      resolve({ files, metadata });
    });
    body.on('error', (cause) => fail(new ArchiveError('malformed_multipart', { detail: 'The upload was interrupted.', cause })));
    body.pipe(bb);
  });
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
