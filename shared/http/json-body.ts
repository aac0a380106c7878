import { z } from 'zod';
import { ArchiveError } from '../kernel/errors';
import type { ArchiveRequest } from './types';
import { refusedCharacter } from '../kernel/text';

const MAX_JSON_BYTES = 64 * 1024;

/** application/json or a +json type, with at most a UTF-8 charset (RFC 8259: JSON between systems is UTF-8). */
const JSON_TYPE = /^application\/(?:[\w.-]+\+)?json\s*(?:;|$)/i;
const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)"?/i;

/**
 * Reads a small JSON request body (bounded) and parses it with zod. A body sent as anything
 * but JSON is a 415; bad JSON or a body the schema refuses is a 400 listing every problem.
 * An empty body parses as `{}` (so the schema decides what is required).
 * Only what reads one way is taken: bytes that are not UTF-8 (decoded leniently, they were stored
 * as U+FFFD) and a member named twice in one object (JSON.parse kept the last) are refused.
 */
export async function parseJsonBody<T extends z.ZodType>(req: ArchiveRequest, schema: T): Promise<z.infer<T>> {
  const type = req.headers.get('content-type');
  if (type !== null && type.trim() !== '') {
    if (!JSON_TYPE.test(type)) throw new ArchiveError('unsupported_media_type', { detail: 'Send the request body as application/json.' });
    const charset = CHARSET.exec(type)?.[1];
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) throw new ArchiveError('unsupported_media_type', { detail: `Send the request body as UTF-8 JSON, not ${charset.slice(0, 40)}.` });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  if (req.body) {
    try {
      for await (const chunk of req.body) {
        const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
        size += b.length;
        if (size > MAX_JSON_BYTES) throw new ArchiveError('payload_too_large', { detail: `JSON bodies are limited to ${MAX_JSON_BYTES} bytes.` });
        chunks.push(b);
      }
    } catch (err) {
      if (err instanceof ArchiveError) throw err;
      // The client stopped sending (its body stream errored mid-way): its refusal, as an interrupted upload is
      // (upload.ts). It was answered 500 internal, audited `failed` and logged `unhandled error`, so the audit log
      // showed a client's abort as the archive failing (and an alert fired), on every operation taking a JSON body.
      throw new ArchiveError('bad_request', { detail: 'The request body was interrupted.', cause: err });
    }
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks)).trim();
  } catch {
    throw new ArchiveError('bad_request', { detail: 'The request body is not valid UTF-8.' });
  }
  // Bytes without a media type are not read as JSON on a guess (an empty body needs none).
  if (text !== '' && (type === null || type.trim() === '')) throw new ArchiveError('unsupported_media_type', { detail: 'Send the request body as application/json.' });
  let raw: unknown;
  try {
    raw = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ArchiveError('bad_request', { detail: 'The request body is not valid JSON.' });
  }
  const twice = text === '' ? null : memberNamedTwice(text);
  if (twice !== null) throw new ArchiveError('bad_request', { detail: `The member ${JSON.stringify(twice.slice(0, 100))} is sent more than once in one object.` });
  const deceptive = deceptiveString(raw);
  if (deceptive !== null) {
    const message = `must not contain ${deceptive.refused}`;
    throw new ArchiveError('bad_request', { detail: `${deceptive.path || 'body'}: ${message}`, extensions: { errors: [{ path: deceptive.path, message }] } });
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    throw new ArchiveError('bad_request', {
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
      extensions: { errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}

/**
 * The path of the first string in the parsed body with a character no text shown to people may hold, and
 * which (kernel/text.ts, as for a reason of several lines: a field's own schema may ask for less), member
 * names included (as one line), so no route's schema can forget it; null if none. Iterative: bodies nest deep.
 */
export function deceptiveString(value: unknown): { path: string; refused: string } | null {
  const pending: [unknown, string][] = [[value, '']];
  while (pending.length > 0) {
    const [item, path] = pending.pop()!;
    if (typeof item === 'string') {
      const refused = refusedCharacter(item, 'prose');
      if (refused !== null) return { path, refused };
    } else if (Array.isArray(item)) {
      item.forEach((v, i) => pending.push([v, path ? `${path}.${i}` : String(i)]));
    } else if (item !== null && typeof item === 'object') {
      for (const [k, v] of Object.entries(item)) {
        const at = path ? `${path}.${k}` : k;
        const refused = refusedCharacter(k, 'line');
        if (refused !== null) return { path: JSON.stringify(at.slice(0, 100)), refused };
        pending.push([v, at.slice(0, 200)]);
      }
    }
  }
  return null;
}

/**
 * The first member name an object of this (valid) JSON text has twice, compared unescaped; null if none.
 * One pass over the text: a stack of the names seen per open object (null for an array).
 */
export function memberNamedTwice(text: string): string | null {
  const open: (Set<string> | null)[] = [];
  let nameNext = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let end = i + 1;
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
      if (nameNext) {
        const name = JSON.parse(text.slice(i, end + 1)) as string;
        const names = open[open.length - 1]!;
        if (names.has(name)) return name;
        names.add(name);
        nameNext = false;
      }
      i = end;
    } else if (c === '{') {
      open.push(new Set());
      nameNext = true;
    } else if (c === '[') {
      open.push(null);
    } else if (c === '}' || c === ']') {
      open.pop();
      nameNext = false;
    } else if (c === ',') {
      nameNext = open[open.length - 1] instanceof Set;
    }
  }
  return null;
}

/** The same, under the name the access routes use. */
export const readJsonBody = parseJsonBody;
