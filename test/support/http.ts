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
