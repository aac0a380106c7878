import { z } from 'zod';

/**
 * Instants as the archive keeps them: UTC, milliseconds, a four-digit year. Every store compares them as text (the
 * catalog's retain-until and correctedAt, keys' and grants' endsAt, export jobs, the audit log), which is time order
 * only for this one form.
 */
export const STORED_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/**
 * A client's time (valid ISO 8601, any offset) is one the archive can keep: in UTC it falls between 0000-01-01 and
 * 9999-12-31. An offset can carry a valid four-digit date past either end (`9999-12-31T23:30-14:00` is year 10000 in
 * UTC), which a Date writes as `+010000-…` or `-000001-…`: text that compares before every stored instant.
 */
export function withinStoredYears(time: string): boolean {
  const at = Date.parse(time);
  // No time at all (a leap second, 24:00): the format check beside this one refuses it (zod runs both), and toISOString would throw.
  return Number.isNaN(at) || STORED_INSTANT.test(new Date(at).toISOString());
}

export const OUTSIDE_STORED_YEARS = 'must fall between 0000-01-01 and 9999-12-31 in UTC (its offset carries it past either end)';

/** A client's instant: ISO 8601 with its offset, within the years the archive keeps (the one schema every operation reads a time with). */
export const ZClientInstant = z.iso.datetime({ offset: true }).refine(withinStoredYears, OUTSIDE_STORED_YEARS);

/**
 * The instant a stored record's field holds, in milliseconds, or null when it holds none the archive can read: missing,
 * null, a number, or text of another form than an ISO 8601 date (time and offset optional) with a four-digit year. A
 * record an older version wrote, a restore gave back or an operator edited by hand can hold any of them; `Date` reads
 * `'10'` and `'2019'` as past instants, and `null` as 1970, while every store compares the same text as text.
 */
export function readInstant(value: unknown): number | null {
  if (typeof value !== 'string' || !READABLE_INSTANT.test(value) || !onTheCalendar(value)) return null;
  const ms = Date.parse(value);
  return Number.isFinite(ms) ? ms : null;
}

/** How far ahead of this instance's clock another instance's may have written an instant (AUTH_CLOCK_TOLERANCE_SECONDS at most). */
export const WRITTEN_AHEAD_TOLERANCE_MS = 5 * 60_000;

/**
 * A stored instant the archive wrote at its own now (a sign-in, a key's minting), or null: as readInstant, and one later
 * than `now` plus WRITTEN_AHEAD_TOLERANCE_MS is none it wrote (restored, half written, edited by hand). Counted from,
 * `9999-01-01T00:00:00.000Z` kept a limit measured from it (a key's idle days) from ever being reached.
 */
export function readWrittenInstant(value: unknown, now: number): number | null {
  const ms = readInstant(value);
  return ms !== null && ms <= now + WRITTEN_AHEAD_TOLERANCE_MS ? ms : null;
}

/**
 * Whether the date a readable instant starts with is one the calendar has. `Date` rolls a day past its month's end into
 * the next (`2026-02-30` is 2 March), while every store compares the text, which sorts before 1 March: a key's or a
 * grant's `expiresAt` of `2026-02-31` acted three days past what its stores and lists said.
 */
function onTheCalendar(value: string): boolean {
  const [year, month, day] = value.slice(0, 10).split('-').map(Number) as [number, number, number];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return days !== undefined && day >= 1 && day <= days;
}
const READABLE_INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2}))?$/;

/**
 * Whether the end a stored record names (a key's, an export's or a proposal's `expiresAt`) has come at `now`. An end the
 * record holds no readable instant for has: `Date.parse` of it is NaN, and "NaN <= now" is false, so such a record was
 * read as never ending (a key acting, an export downloadable, a proposal open for ever).
 */
export function endReached(end: unknown, now: Date): boolean {
  const ms = readInstant(end);
  return ms === null || ms <= now.getTime();
}
