import { ArchiveError } from './errors';

/** What a store's continuation token is made of: printable ASCII (Cosmos's are JSON or `+RID:…#RT:…`). */
const STORE_TOKEN = /^[\x20-\x7e]+$/;

/** Whether a decoded token could have come from the store; anything else cannot even be sent (HTTP header), so it is a 400, not a failed store request. */
export const isStoreToken = (raw: string): boolean => STORE_TOKEN.test(raw);

/** The continuation tokens clients see: the store's token, base64url, so it stays opaque and URL-safe. */
export const pageToken = {
  encode: (token: string | null | undefined): string | null => (token ? Buffer.from(token).toString('base64url') : null),
  decode(token: string | undefined): string | undefined {
    if (token === undefined) return undefined;
    const raw = Buffer.from(token, 'base64url').toString('utf8');
    if (!isStoreToken(raw)) throw new ArchiveError('invalid_query', { detail: 'The continuation token is not valid.' });
    return raw;
  },
};
