import type { ArchiveResponse } from './types';

export function json(status: number, value: unknown, headers: Record<string, string> = {}): ArchiveResponse {
  return { status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(value) };
}

export function created(location: string, value: unknown, headers: Record<string, string> = {}): ArchiveResponse {
  return json(201, value, { Location: location, ...headers });
}

/** Headers every answer carries. */
export function securityHeaders(requestId: string): Record<string, string> {
  return {
    'X-Request-Id': requestId,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
    'Referrer-Policy': 'no-referrer',
    'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'; sandbox",
  };
}

/**
 * RFC 6266 Content-Disposition: an ASCII fallback plus RFC 8187 `filename*`, so a
 * hostile name (quotes, CR/LF, path parts) can never break the header.
 */
export function contentDisposition(rawName: string): string {
  // A lone surrogate (a name cut in a character by an older sanitiser) would make encodeURIComponent throw.
  const fileName = rawName.replace(/\p{Cs}/gu, '\uFFFD');
  const ascii = fileName.replace(/[^\x20-\x7e]|["\\%;]/g, '_');
  const encoded = encodeURIComponent(fileName).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
