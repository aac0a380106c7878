import { ArchiveError } from '../kernel/errors';
import type { SafeguardMark, TTenantRetentionPolicy } from '../kernel/retention';

/**
 * Legal retention per class. `fiscal-7y` (art. 52 AWR): kept until the end of the 7th
 * year after the end of the fiscal year; `immovable-property-10y`: 10 years. Tenants may
 * add classes, never shorter than the legal floor.
 */
export const BUILT_IN_CLASSES = {
  'fiscal-7y': { years: 7, description: 'Art. 52 AWR: 7 years after the end of the fiscal year' },
  'immovable-property-10y': { years: 10, description: 'Immovable property: 10 years after the end of the fiscal year' },
} as const;
export type BuiltInRetentionClass = keyof typeof BUILT_IN_CLASSES;

/** No class may keep documents for less than this many years after the fiscal year ends. */
export const LEGAL_FLOOR_YEARS = 7;

export const DEFAULT_POLICY: TTenantRetentionPolicy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: 12 };

/**
 * First instant after the retention period, UTC: the end of the `years`-th year after the
 * end of the fiscal year. Fiscal year N ends with the last day of `fiscalYearEndMonth` in
 * calendar year N, so retention ends with the last day of that month in year N + years
 * (28 or 29 February handled by the calendar). UTC midnight is 01:00 in the Netherlands:
 * the period only ever runs slightly longer, never shorter.
 */
export function retainUntilFor(years: number, fiscalYear: number, fiscalYearEndMonth = 12): string {
  return new Date(Date.UTC(fiscalYear + years, fiscalYearEndMonth, 1)).toISOString();
}

/** Built-in classes with calendar fiscal years (kept for callers that know only the class). */
export function retainUntil(retentionClass: BuiltInRetentionClass, fiscalYear: number): string {
  return retainUntilFor(BUILT_IN_CLASSES[retentionClass].years, fiscalYear);
}

/** The archive's tenants keep their books in the Netherlands. */
const DUTCH_DATE = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar date (YYYY-MM-DD) of an instant in the Netherlands. */
export const dutchDateOf = (at: Date): string => DUTCH_DATE.format(at);

/**
 * The fiscal year of a document: stated, else the fiscal year its date falls in (named
 * after the calendar year in which that fiscal year ends), else the one it was archived in,
 * by the Dutch calendar: archived at 00:30 on 1 January in Amsterdam (23:30 UTC the day before)
 * is the new year's, not a year kept less.
 */
export function fiscalYearOf(meta: { fiscalYear?: number; documentDate?: string }, archivedAt: Date, fiscalYearEndMonth = 12): number {
  if (meta.fiscalYear !== undefined) return meta.fiscalYear;
  const date = meta.documentDate ?? dutchDateOf(archivedAt);
  const [year, month] = [Number(date.slice(0, 4)), Number(date.slice(5, 7))];
  return month <= fiscalYearEndMonth ? year : year + 1;
}

/**
 * A stated fiscal year may be the one the document's date falls in, a later one, or the one before
 * it (an invoice dated just after the year end, booked in the year it belongs to). An earlier one is
 * refused: it would end retention years before the law allows for a document of that date, and the
 * sweep would dispose of it (`fiscalYear: 1990` on a 2024 invoice). Without a date there is nothing
 * to check against: back-scanning an old year is ordinary.
 */
export function checkStatedFiscalYear(meta: { fiscalYear?: number; documentDate?: string }, fiscalYearEndMonth = 12): void {
  if (meta.fiscalYear === undefined || meta.documentDate === undefined) return;
  const ofDate = fiscalYearOf({ documentDate: meta.documentDate }, new Date(0), fiscalYearEndMonth);
  if (meta.fiscalYear >= ofDate - 1) return;
  const message = `is ${meta.fiscalYear}, but documentDate ${meta.documentDate} falls in fiscal year ${ofDate}: a document belongs to that year, or the one before it at the earliest (${ofDate - 1})`;
  throw new ArchiveError('invalid_metadata', { detail: `fiscalYear ${message}.`, extensions: { errors: [{ path: 'fiscalYear', message }] } });
}

/** Every class a tenant may use, built-in first. */
export function classesOf(policy: TTenantRetentionPolicy): Map<string, number> {
  const all = new Map<string, number>(Object.entries(BUILT_IN_CLASSES).map(([name, c]) => [name, c.years]));
  for (const c of policy.classes) all.set(c.name, c.years);
  return all;
}

/**
 * The policy to judge a document by: a class since removed from it still holds the documents archived
 * in it, so it counts for them with the most years it has kept (the safeguard mark keeps removed
 * classes); without that, no correction of such a document could be judged at all.
 */
export function withDocumentClass(policy: TTenantRetentionPolicy, name: string, mark: SafeguardMark | undefined): TTenantRetentionPolicy {
  if (classesOf(policy).has(name) || !mark || !Object.prototype.hasOwnProperty.call(mark.classYears, name)) return policy;
  return { ...policy, classes: [...policy.classes, { name, years: mark.classYears[name]! }] };
}

/** A tenant policy must keep the legal floor, not redefine built-in classes, and name a known default. */
export function checkTenantPolicy(policy: TTenantRetentionPolicy): void {
  const names = new Set<string>();
  for (const c of policy.classes) {
    if (c.name in BUILT_IN_CLASSES) throw new ArchiveError('invalid_retention_policy', { detail: `The class ${c.name} is built in and cannot be redefined.` });
    if (names.has(c.name)) throw new ArchiveError('invalid_retention_policy', { detail: `The class ${c.name} is defined twice.` });
    names.add(c.name);
    if (c.years < LEGAL_FLOOR_YEARS) {
      throw new ArchiveError('retention_below_legal_floor', {
        detail: `The class ${c.name} keeps documents ${c.years} years; the legal floor is ${LEGAL_FLOOR_YEARS} years after the end of the fiscal year.`,
        extensions: { retentionClass: c.name, years: c.years, floorYears: LEGAL_FLOOR_YEARS },
      });
    }
  }
  if (!classesOf(policy).has(policy.defaultClass)) throw new ArchiveError('invalid_retention_policy', { detail: `The default class ${policy.defaultClass} is not defined.` });
}

/**
 * The stored policy a new document's retention is fixed by (and its blobs locked for) keeps what PUT
 * /retention/policy demands, and its fiscal year ends in a month: one written around the API (an
 * operator's direct write to the tenants container) would otherwise lock documents for fewer years
 * than the law. Refused, never repaired: which class was meant is not ours to guess.
 */
export function checkStoredPolicy(policy: TTenantRetentionPolicy): void {
  const month = policy.fiscalYearEndMonth;
  try {
    // Years as text (`'10'`) passed the floor check ('10' < 7 is false) and made the retain-until of fiscal year 2018 the
    // year 201811 (2018 + '10' is '201810'), written `+201811-…`, text that sorts before every instant: the sweep's query
    // listed the document as due every run. A fraction ends retention within a year no class names. Whole numbers
    // only, as PUT /retention/policy takes them.
    for (const c of policy.classes) if (!Number.isInteger(c.years)) throw new ArchiveError('invalid_retention_policy', { detail: `The class ${c.name} keeps documents ${JSON.stringify(c.years)} years, not a whole number.` });
    checkTenantPolicy(policy);
    if (!Number.isInteger(month) || month < 1 || month > 12) throw new ArchiveError('invalid_retention_policy', { detail: `The fiscal year cannot end in month ${month}.` });
  } catch (err) {
    if (!(err instanceof ArchiveError)) throw err;
    throw new ArchiveError('invalid_retention_policy', {
      detail: `The tenant's stored retention policy is not valid (${err.detail ?? err.code}), so no retention can be fixed and nothing was archived; a retention manager sets it again with PUT /retention/policy.`,
    });
  }
}

/** Class, fiscal year and retain-until of a new document, fixed at ingest. */
export function resolveRetention(policy: TTenantRetentionPolicy, meta: { fiscalYear?: number; documentDate?: string; retentionClass?: string }, archivedAt: Date): { fiscalYear: number; retention: { class: string; retainUntil: string } } {
  const name = meta.retentionClass ?? policy.defaultClass;
  const years = classesOf(policy).get(name);
  if (years === undefined) {
    throw new ArchiveError('invalid_metadata', { detail: `retentionClass: ${name} is not a retention class of this archive.`, extensions: { errors: [{ path: 'retentionClass', message: 'unknown retention class' }] } });
  }
  const fiscalYear = fiscalYearOf(meta, archivedAt, policy.fiscalYearEndMonth);
  return { fiscalYear, retention: { class: name, retainUntil: retainUntilFor(years, fiscalYear, policy.fiscalYearEndMonth) } };
}

/** The safeguards one policy sets. */
export function safeguardsOf(policy: TTenantRetentionPolicy): SafeguardMark {
  const classes = classesOf(policy);
  return { classYears: Object.fromEntries(classes), requireDisposalApproval: policy.requireDisposalApproval, defaultClassYears: classes.get(policy.defaultClass) ?? 0, fiscalYearEndMonth: policy.fiscalYearEndMonth };
}

const yearsIn = (mark: SafeguardMark, name: string): number => (Object.prototype.hasOwnProperty.call(mark.classYears, name) ? mark.classYears[name]! : 0);

/** The stronger of two marks, safeguard by safeguard. */
export function strongestOf(a: SafeguardMark, b: SafeguardMark): SafeguardMark {
  const classYears: Record<string, number> = { ...a.classYears };
  for (const [name, years] of Object.entries(b.classYears)) classYears[name] = Math.max(yearsIn(a, name), years);
  return {
    classYears,
    requireDisposalApproval: a.requireDisposalApproval || b.requireDisposalApproval,
    defaultClassYears: Math.max(a.defaultClassYears, b.defaultClassYears),
    fiscalYearEndMonth: Math.max(a.fiscalYearEndMonth, b.fiscalYearEndMonth),
  };
}

/**
 * What a policy lowers, compared with the strongest safeguards that have applied (a mark, or for
 * a plain comparison a previous policy): required approval turned off, a class kept fewer years
 * (also one removed earlier and added back), a default class kept fewer years, a moved fiscal-year
 * end. Moving it either way shortens someone: an earlier end moves the retain-until of a stated
 * fiscal year earlier, a later one puts the documents dated after the old end into the fiscal year
 * before (a year ending in June → December: a July invoice kept until 1 January, not 1 July).
 * Empty when nothing is lowered.
 */
export function loweredSafeguards(strongest: SafeguardMark | TTenantRetentionPolicy, after: TTenantRetentionPolicy): string[] {
  const mark = 'classYears' in strongest ? strongest : safeguardsOf(strongest);
  const now = safeguardsOf(after);
  const lowered: string[] = [];
  if (mark.requireDisposalApproval && !now.requireDisposalApproval) lowered.push('disposal-approval-off');
  for (const [name, years] of Object.entries(now.classYears)) if (yearsIn(mark, name) > years) lowered.push(`class-shortened:${name}`);
  if (now.defaultClassYears < mark.defaultClassYears) lowered.push('default-class-shorter');
  if (now.fiscalYearEndMonth < mark.fiscalYearEndMonth) lowered.push('fiscal-year-end-earlier');
  if (now.fiscalYearEndMonth > mark.fiscalYearEndMonth) lowered.push('fiscal-year-end-later');
  return lowered;
}

/**
 * The mark after an accepted change: it only rises, except where the change lowered something,
 * which only a person without retention:approve may do: that lowering is the new mark there
 * (classes removed keep their mark, so adding one back is judged against it).
 */
export function nextSafeguards(mark: SafeguardMark, after: TTenantRetentionPolicy, lowered: string[]): SafeguardMark {
  const now = safeguardsOf(after);
  if (lowered.length === 0) return strongestOf(mark, now);
  return { ...now, classYears: { ...mark.classYears, ...now.classYears } };
}

/**
 * What the policy set now is, and what it lowered, in its audit entry: the stored policy keeps no
 * history, so without this the log could not show that disposal approval was off, or a class
 * shorter, for a while (and which disposals that let through).
 */
export function policyAuditDetail(policy: TTenantRetentionPolicy, lowered: string[]): string {
  const classes = [...classesOf(policy)].map(([name, years]) => `${name}:${years}`).join(',');
  return `approval=${policy.requireDisposalApproval ? 'required' : 'off'};fiscal-year-end=${policy.fiscalYearEndMonth};default=${policy.defaultClass};classes=${classes};lowered=${lowered.join(',') || 'none'}`;
}
