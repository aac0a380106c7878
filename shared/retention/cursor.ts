/**
 * The continuation of a bounded walk over every tenant (sweep, fixity, reconciler): a small JSON
 * position, base64url-encoded so it travels as an opaque string. A string that does not decode to a
 * valid position starts the walk from the beginning (null).
 */
export function walkCursor<T extends { tenant: string }>(valid: (c: Record<string, unknown>) => boolean) {
  return {
    encode: (c: T): string => Buffer.from(JSON.stringify(c)).toString('base64url'),
    decode: (s: string | null): T | null => {
      if (!s) return null;
      try {
        const c = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as Record<string, unknown>;
        return c && typeof c === 'object' && typeof c.tenant === 'string' && valid(c) ? (c as T) : null;
      } catch {
        return null;
      }
    },
  };
}
