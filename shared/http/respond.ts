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

/** HSTS: a browser that reached the archive over https keeps to https, for this host and its subdomains, for a year. */
export const STRICT_TRANSPORT_SECURITY = 'max-age=31536000; includeSubDomains';

/**
 * Headers of how an answer travels, which only the host knows: each host adds them to every answer it sends
 * (API, problem, web app), so both send the same from here. Strict-Transport-Security only over https: the
 * Function App is httpsOnly (infra/main.bicep), so in Azure every answer goes over https; the local host is plain
 * http on loopback and sends none (a browser ignores HSTS received over http anyway, RFC 6797 §8.1).
 */
export function transportHeaders(scheme: 'https' | 'http'): Record<string, string> {
  return scheme === 'https' ? { 'Strict-Transport-Security': STRICT_TRANSPORT_SECURITY } : {};
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
