import type { RetentionClass } from '../documents/types';

/**
 * Legal retention per class. `fiscal-7y` (art. 52 AWR): kept until the end of the
 * 7th year after the end of the fiscal year; `immovable-property-10y`: 10 years.
 * Fiscal years are taken as calendar years.
 */
export const RETENTION_YEARS: Record<RetentionClass, number> = {
  'fiscal-7y': 7,
  'immovable-property-10y': 10,
};

/** First instant after the retention period: 1 January of (fiscalYear + years + 1), UTC. */
export function retainUntil(retentionClass: RetentionClass, fiscalYear: number): string {
  return new Date(Date.UTC(fiscalYear + RETENTION_YEARS[retentionClass] + 1, 0, 1)).toISOString();
}

/** The fiscal year of a document: stated, else the year of its date, else the year it was archived. */
export function fiscalYearOf(meta: { fiscalYear?: number; documentDate?: string }, archivedAt: Date): number {
  if (meta.fiscalYear !== undefined) return meta.fiscalYear;
  if (meta.documentDate) return Number(meta.documentDate.slice(0, 4));
  return archivedAt.getUTCFullYear();
}
