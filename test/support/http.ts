import { createHash } from 'node:crypto';
import { checkContract } from './contract';

export interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
  json: any;
}

/**
 * fetch, with the body read once as bytes and (when it is JSON) parsed; the answer is checked
 * against the operation it hit (test/support/contract.ts) and a violation fails the test.
 */
export async function call(url: string, init: RequestInit & { token?: string } = {}): Promise<Answer> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set('Authorization', `Bearer ${init.token}`);
  const res = await fetch(url, { ...init, headers });
  const bytes = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type') ?? '';
  const json = /json/.test(type) && bytes.length ? JSON.parse(bytes.toString('utf8')) : undefined;
  checkContract((init.method ?? 'GET').toUpperCase(), url, res.status, { contentType: type, json });
  return { status: res.status, headers: res.headers, bytes, json };
}

/**
 * For a caller that needs the Response itself (a client under test with its own fetch): checks a
 * copy of the answer against the operation it hit, leaving the original unread for the caller.
 */
export async function checkFetched(url: string, init: RequestInit | undefined, res: Response): Promise<void> {
  const copy = res.clone();
  const type = copy.headers.get('content-type') ?? '';
  const json = /json/.test(type) ? await copy.json().catch(() => undefined) : (await copy.arrayBuffer(), undefined);
  checkContract((init?.method ?? 'GET').toUpperCase(), url, res.status, { contentType: type, json });
}

/**
 * A PUT of a policy saved whole (`/retention/policy`, `/sod-policy`) as a client that read it just before: with
 * If-Match, the ETag its GET (with the same credentials) answered; none when that GET was refused.
 */
export async function putAsRead(url: string, body: unknown, init: RequestInit & { token?: string } = {}): Promise<Answer> {
  const read = await call(url, { token: init.token, headers: init.headers });
  const headers = new Headers(init.headers);
  headers.set('Content-Type', 'application/json');
  const etag = read.status === 200 ? read.headers.get('etag') : null;
  if (etag) headers.set('If-Match', etag);
  return call(url, { ...init, method: 'PUT', headers, body: JSON.stringify(body) });
}

export function sha256hex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

export function multipart(files: { bytes: Buffer; name: string; type?: string }[], metadata?: unknown): FormData {
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'application/octet-stream' }), f.name);
  if (metadata !== undefined) form.append('metadata', JSON.stringify(metadata));
  return form;
}

export function rawUpload(bytes: Buffer, type: string, fileName?: string): RequestInit {
  return {
    method: 'POST',
    body: new Uint8Array(bytes),
    headers: { 'Content-Type': type, ...(fileName ? { 'Content-Disposition': `attachment; filename*=UTF-8''${encodeURIComponent(fileName)}` } : {}) },
  };
}

/**
 * `res` with a body that breaks like a dropped connection once `budget.bytes` more bytes have passed. The
 * budget may be shared by several answers (a download cut after so many bytes of all its requests together).
 */
export function breakingAfter(res: Response, budget: { bytes: number }): Response {
  if (!res.body) return res;
  const reader = res.body.getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      if (value.length > budget.bytes) {
        controller.enqueue(value.subarray(0, budget.bytes));
        budget.bytes = 0;
        controller.error(new Error('connection reset (test)'));
        await reader.cancel();
        return;
      }
      budget.bytes -= value.length;
      controller.enqueue(value);
    },
  });
  return new Response(body, { status: res.status, headers: res.headers });
}
