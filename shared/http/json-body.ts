import { z } from 'zod';
import { ArchiveError } from '../kernel/errors';
import type { ArchiveRequest } from './types';

const MAX_JSON_BYTES = 64 * 1024;

/**
 * Reads a small JSON request body (bounded) and parses it with zod. A body sent as anything
 * but JSON is a 415; bad JSON or a body the schema refuses is a 400 listing every problem.
 * An empty body parses as `{}` (so the schema decides what is required).
 */
export async function parseJsonBody<T extends z.ZodType>(req: ArchiveRequest, schema: T): Promise<z.infer<T>> {
  const type = req.headers.get('content-type');
  if (type && !/^application\/([\w.+-]+\+)?json\b/i.test(type)) throw new ArchiveError('unsupported_media_type', { detail: 'Send the request body as application/json.' });
  const chunks: Buffer[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body) {
      const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array);
      size += b.length;
      if (size > MAX_JSON_BYTES) throw new ArchiveError('payload_too_large', { detail: `JSON bodies are limited to ${MAX_JSON_BYTES} bytes.` });
      chunks.push(b);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  let raw: unknown;
  try {
    raw = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new ArchiveError('bad_request', { detail: 'The request body is not valid JSON.' });
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

/** The same, under the name the access routes use. */
export const readJsonBody = parseJsonBody;
