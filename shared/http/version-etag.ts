import { ArchiveError } from '../kernel/errors';

/**
 * A tenant setting stored whole (the retention policy, the SoD policy) named by the version of its record: a strong
 * ETag `"<name>-<the store's etag, base64url>"`, opaque to clients; `"<name>-default"` while none is stored and the
 * built-in default applies (it never changes). A PUT sends it back as If-Match and is written only over that version.
 */
export function versionETag(name: string, etag: string | null): string {
  return `"${name}-${etag === null ? 'default' : Buffer.from(etag, 'utf8').toString('base64url')}"`;
}

/**
 * If-Match of a PUT of such a setting: the store's etag it names (null: the default, none stored). Required, as on a
 * metadata correction: a save without it would be written over whatever is stored, a change made meanwhile included
 * (428, also for `*`, which names no version). Read strictly (RFC 9110 §13.1.1): a weak tag, a list or a tag of
 * anything else never matches (412).
 */
export function parseVersionIfMatch(name: string, header: string | null, readFrom: string): string | null {
  const value = (header ?? '').trim();
  if (value === '' || value === '*') {
    throw new ArchiveError('precondition_required', { detail: `Send If-Match with the ETag of ${readFrom} as you read it, so that a change made since is not overwritten.` });
  }
  const m = new RegExp(`^"${name}-(default|[A-Za-z0-9_-]{1,400})"$`).exec(value);
  if (!m) throw new ArchiveError('precondition_failed', { detail: `If-Match must be the one strong ETag of ${readFrom} (e.g. "${name}-default"); a weak tag, a list or another tag never matches.` });
  return m[1] === 'default' ? null : Buffer.from(m[1]!, 'base64url').toString('utf8');
}
