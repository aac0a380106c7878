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
