import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ArchiveError } from './errors';

/** What a store's continuation token is made of: printable ASCII (Cosmos's are JSON or `+RID:…#RT:…`). */
const STORE_TOKEN = /^[\x20-\x7e]+$/;

/** Whether a decoded token could have come from the store; anything else cannot even be sent (HTTP header), so it is a 400, not a failed store request. */
export const isStoreToken = (raw: string): boolean => STORE_TOKEN.test(raw);

/**
 * What a page's token is valid for: the tenant, the list and its search and sort (never the page size,
 * which may change between pages). A store's token says only where to resume, not in which query:
 * replayed with another search, sort or tenant it resumed there silently, with a page of other items
 * or none (an empty last page, read as the end). Not a secret: every query stays in the tenant's
 * partition whatever the token says; this refuses a token used for a query it was not issued for.
 */
export type PageScope = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

/** The scope's digest: keys sorted, absent values left out, so that only what the query says counts. */
export function scopeDigest(scope: PageScope): string {
  const entries = Object.keys(scope).sort().flatMap((k) => (scope[k] === undefined ? [] : [[k, scope[k]]]));
  return createHash('sha256').update(JSON.stringify(entries)).digest('base64url').slice(0, 22);
}

/**
 * A continuation token refused: the problem names the parameter (`continuationToken: …`, and in `errors` as a refused
 * filter's members are), so a client, and the web app (web/src/lib/pages.ts refusedToken), knows which part of the query
 * to drop. It said only "The continuation token is not valid.", naming no parameter.
 */
export function invalidPageToken(message = 'not a continuation token this list issued'): ArchiveError {
  return new ArchiveError('invalid_query', { detail: `continuationToken: ${message}`, extensions: { errors: [{ path: 'continuationToken', message }] } });
}

/**
 * A continuation token in a query, as every list takes it: base64url, as every list writes it. Any text up to 4000
 * characters was allowed, and 4000 characters beyond ASCII, percent-encoded, are past what an HTTP server reads as a
 * request line (the local host's 16 KiB): a token the description allowed was answered 431 without a problem.
 */
export const ZContinuationToken = z.string().min(1).max(4000).regex(/^[A-Za-z0-9_-]+$/, 'not a continuation token this list issued');

/** The continuation tokens clients see: the store's token and the scope it was issued for, base64url JSON, opaque and URL-safe. */
export const pageToken = {
  encode: (token: string | null | undefined, scope: PageScope): string | null =>
    token ? Buffer.from(JSON.stringify({ s: scopeDigest(scope), c: token })).toString('base64url') : null,
  /** The store's token; a 400 for one that is not a page token, or was issued for another scope. */
  decode(token: string | undefined, scope: PageScope): string | undefined {
    if (token === undefined) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      throw invalidPageToken();
    }
    const { s, c } = (parsed ?? {}) as { s?: unknown; c?: unknown };
    if (typeof s !== 'string' || typeof c !== 'string' || !isStoreToken(c)) throw invalidPageToken();
    if (s !== scopeDigest(scope)) {
      throw invalidPageToken('issued for another search, sort or list; start again from the first page');
    }
    return c;
  },
};
