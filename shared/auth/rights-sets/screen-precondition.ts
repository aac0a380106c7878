import { ArchiveError } from '../../kernel/errors';

/**
 * What the caller saw before a change of a rights record (the web app always says): the record at this version
 * (If-Match, its ETag; `*`: any, as long as it exists), or none of this name (If-None-Match: *, a new one). Without one
 * the record is written over whatever is stored, as before (API clients that do not ask).
 */
export type ScreenPrecondition = { version: string } | { absent: true };

/** Which record a precondition is about: its ETag's prefix, its name in a message, the list that names its version. */
export interface ScreenRecord {
  tag: string;
  what: string;
  listedBy: string;
}

/**
 * The version (ETag) an If-Match names, or `*`; null when absent. Read strictly: a weak tag, a list or a tag of
 * anything else never matches (412), as on the policies (version-etag.ts).
 */
export function screenPrecondition(record: ScreenRecord, ifMatch: string | null, ifNoneMatch: string | null): ScreenPrecondition | null {
  const match = ifMatch?.trim() ?? '';
  const noneMatch = ifNoneMatch?.trim() ?? '';
  if (noneMatch !== '') {
    if (noneMatch !== '*' || match !== '') throw new ArchiveError('precondition_failed', { detail: `If-None-Match on a ${record.what} can only be *, for a new one, and never with If-Match.` });
    return { absent: true };
  }
  if (match === '') return null;
  if (match !== '*' && !new RegExp(`^"${record.tag}-[A-Za-z0-9_-]{1,400}"$`).test(match)) {
    throw new ArchiveError('precondition_failed', { detail: `If-Match must be the one strong ETag of the ${record.what} as ${record.listedBy} lists it (its version); a weak tag, a list or another tag never matches.` });
  }
  return { version: match };
}

/** What a refusal says: its detail and extensions. */
interface Refusal {
  detail: string;
  extensions?: Record<string, unknown>;
}

/**
 * 412 unless the record as stored (`current`) is the one the caller saw (`precondition`); nothing is written. `say`
 * words the three refusals: one exists where none was expected, it is gone, or it is another version now.
 */
export function assertAsSeen<T>(precondition: ScreenPrecondition | null, current: T | undefined, etagOf: (record: T) => string, say: { exists: (record: T) => Refusal; gone: () => Refusal; changed: (record: T) => Refusal }): void {
  if (!precondition) return;
  if ('absent' in precondition) {
    if (current) throw new ArchiveError('precondition_failed', say.exists(current));
    return;
  }
  if (!current) throw new ArchiveError('precondition_failed', say.gone());
  if (precondition.version !== '*' && precondition.version !== etagOf(current)) throw new ArchiveError('precondition_failed', say.changed(current));
}
