/**
 * The retention oracle sweep: no document is ever disposable before the law's end of its retention.
 *
 * GENERATED (1,440 cases, about 7 s): every class (the built-in `fiscal-7y` and `immovable-property-10y`, and a tenant
 * class `ledger-12y`) × the tenant's fiscal-year end month (1..12) × the document's date (none; 31 December, 1 January,
 * 29 February, the last day of the end month and the day after) × with or without a stated fiscal year (the earliest
 * one the README allows: the year before the date's). A dated document is archived at one of four instants around
 * midnight in Amsterdam (winter: 22:59:59.999Z / 23:00Z on 31 December; summer: 21:59:59.999Z / 22:00Z on 30 June), in
 * turn; one without a date at all four and at the last and first millisecond of the end month's last day by Amsterdam's
 * clock. Then, per class × end month (a document dated 31 December), each of CHANGES: corrections of the date (later),
 * of the fiscal year (later; earlier: refused; later once retention ended, awaiting approval), of the class (longer;
 * shorter: refused); an extension (with milliseconds) alone, followed by a longer class, and an earlier one (refused); a
 * tenant class lengthened, then a correction of the counterparty; a move of the tenant's fiscal-year end (proposed and
 * approved by two records managers), then a correction of the date; a hold placed and released, a hold kept, a query
 * hold on its fiscal year then that year corrected later; an approval given early, then withdrawn by a hold placed and
 * released or voided by an extension; the catalog item lost and rebuilt by the reconciler (after a correction and an
 * extension, or while held). Each case archives two documents alike (A approved when due, B never), validates their
 * renditions (the report is a blob) before the changes, and runs the reconciler after them. Requests go through the
 * real pipeline in-process (test/support/in-process.ts); the sweep is the timer's own run (runSweepTimer); w.clock
 * moves time.
 *
 * THE ORACLE (written from the README's words, importing none of the archive's retention code): a document belongs to
 * its stated fiscal year, else to the fiscal year its date falls in, else to the one its archive instant falls in by
 * the Amsterdam calendar. A fiscal year ends on the last day of the tenant's end month and is named after the calendar
 * year it ends in (fiscal year N ends in month M of year N). Its retention ends with the last day of month M in year
 * N + years (years: the class's; never below the legal floor of 7); the earliest instant it may be disposed of is the
 * start of the next day in Amsterdam. Each time the archive fixes retention (ingest, every accepted correction) the
 * policy then in force counts, and the document keeps the latest of them and of every extension asked for.
 *
 * WHAT EACH CASE CHECKS: the catalog's retain-until is never before the oracle's instant, and is exactly the archive's
 * stated form of it (README "Retention": the start of the day after in UTC, `2032-01-01T00:00Z` for fiscal year 2024;
 * an extension rounded up to the whole second); every blob is locked (WORM) until at least that, to a whole second;
 * GET /documents/{id} shows the same; a refused change stores nothing; the sweep at the oracle's instant − 1 ms disposes
 * of nothing (one document approved, one not), and from the oracle's instant on only the approved, unheld one.
 *
 * DECIDED BY DESIGN (the archive is stricter than the oracle, which is allowed):
 * - The archive keeps until UTC midnight, the oracle's end is Amsterdam midnight: 1 h (winter) or 2 h (summer) longer.
 *   So at the oracle's instant nothing is disposed yet; the approved document goes at the catalog's retain-until.
 * - A correction never lowers retain-until (the latest fix counts, as in the oracle), and one that would compute an
 *   earlier end from the document's fiscal year and class now is refused (422 `retention_shortening_refused`).
 * - A fiscal-year end moved by a four-eyes approval applies to what is fixed afterwards (new documents, corrections);
 *   documents archived before keep the retain-until they have. The oracle does the same: the policy in force at each fix.
 * - A class lengthened by the tenant does not reach documents already archived in it until something fixes their
 *   retention again (a correction, even of the counterparty, then locks them for the new years): the oracle follows
 *   that (the policy in force at each fix). Whether a lengthened class should reach them at once is the tenant's
 *   question, not the law's: the legal floor (7 years) holds either way.
 * - A fiscal year is named after the calendar year it ends in (the README states it only for calendar years).
 * - A stated fiscal year is trusted down to the year before the date's (README: an invoice dated just after the year
 *   end, booked in the year it belongs to): the oracle follows the stated year, as the law follows the books.
 * - The tenant's policy (classes, end month, required approval) is seeded straight into the store as a stored policy.
 */
import { describe, expect, it } from '@jest/globals';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import { type Answer, type Call, delivering, hold, ok, send, settle, storedChanges, TENANT, upload, validationWorker, world, type World } from '../../support/in-process';

/** The catalog item lost (a restore behind its blobs); once both documents lost theirs, the reconciler rebuilds them from their manifests (its grace window passed). */
async function loseCatalogItem(w: World, id: string, rebuild: boolean): Promise<void> {
  w.deps.catalog.documents.delete(`${TENANT}/${id}`);
  if (!rebuild) return;
  w.clock.advance(3 * 3600_000);
  await runReconcileTimer(w.deps);
  await runReconcileTimer(w.deps);
}

// ---- The oracle (independent of shared/retention) ----

const CLASS_YEARS: Record<string, number> = { 'fiscal-7y': 7, 'immovable-property-10y': 10, 'ledger-12y': 12 };
const LEGAL_FLOOR = 7;

const AMS = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Amsterdam', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });
function amsterdamParts(at: number): { y: number; m: number; d: number; h: number; min: number } {
  const p = Object.fromEntries(AMS.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  return { y: Number(p.year), m: Number(p.month), d: Number(p.day), h: Number(p.hour), min: Number(p.minute) };
}
/** 00:00 in Amsterdam on y-m-d (m 1..12; day and month may overflow as Date.UTC lets them): UTC+1 in winter, UTC+2 in summer. */
function amsterdamMidnight(y: number, m: number, d: number): number {
  const utc = Date.UTC(y, m - 1, d);
  for (const offsetH of [1, 2]) {
    const t = utc - offsetH * 3600_000;
    const p = amsterdamParts(t);
    const want = new Date(utc);
    if (p.h === 0 && p.min === 0 && p.y === want.getUTCFullYear() && p.m === want.getUTCMonth() + 1 && p.d === want.getUTCDate()) return t;
  }
  throw new Error(`no Amsterdam midnight on ${y}-${m}-${d}`);
}

interface Meta {
  fiscalYear?: number;
  documentDate?: string;
  retentionClass: string;
}
/** The fiscal year a document belongs to, by the README: stated, else its date's, else its archive instant's in Amsterdam. */
function oracleFiscalYear(meta: Meta, archivedAt: number, endMonth: number): number {
  if (meta.fiscalYear !== undefined) return meta.fiscalYear;
  let y: number, m: number;
  if (meta.documentDate) [y, m] = [Number(meta.documentDate.slice(0, 4)), Number(meta.documentDate.slice(5, 7))];
  else ({ y, m } = amsterdamParts(archivedAt));
  return m <= endMonth ? y : y + 1;
}
/** One fix: the day after the last day of the end month, `years` after the fiscal year's end. */
function fixOf(meta: Meta, archivedAt: number, endMonth: number, classYears = CLASS_YEARS): { earliest: number; archiveForm: string } {
  const years = Math.max(LEGAL_FLOOR, classYears[meta.retentionClass]!);
  const fy = oracleFiscalYear(meta, archivedAt, endMonth);
  // The first day after month `endMonth` of year fy + years (month 13 rolls into January).
  const [y, m] = [fy + years, endMonth + 1];
  return { earliest: amsterdamMidnight(y, m, 1), archiveForm: new Date(Date.UTC(y, m - 1, 1)).toISOString() };
}

/** What the oracle has seen of one document: every fix and every extension. */
class Expect {
  earliest = -Infinity;
  catalog = '';
  fix(meta: Meta, archivedAt: number, endMonth: number, classYears = CLASS_YEARS): void {
    const f = fixOf(meta, archivedAt, endMonth, classYears);
    this.earliest = Math.max(this.earliest, f.earliest);
    if (f.archiveForm > this.catalog) this.catalog = f.archiveForm;
  }
  extend(to: string): void {
    this.earliest = Math.max(this.earliest, Date.parse(to));
    const whole = new Date(Math.ceil(Date.parse(to) / 1000) * 1000).toISOString();
    if (whole > this.catalog) this.catalog = whole;
  }
}

// ---- The generated cases ----

const CLASSES = ['fiscal-7y', 'immovable-property-10y', 'ledger-12y'] as const;
const END_MONTHS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12] as const;
const ARCHIVED_AT = ['2027-12-31T22:59:59.999Z', '2027-12-31T23:00:00.000Z', '2028-06-30T21:59:59.999Z', '2028-06-30T22:00:00.000Z'] as const;
const lastDayOf = (y: number, m: number) => new Date(Date.UTC(y, m, 0)).getUTCDate();
const iso = (y: number, m: number, d: number) => new Date(Date.UTC(y, m - 1, d)).toISOString().slice(0, 10);
const datesFor = (endMonth: number): [string, string | undefined][] => [
  ['no date', undefined],
  ['31 Dec', '2027-12-31'],
  ['1 Jan', '2028-01-01'],
  ['29 Feb', '2028-02-29'],
  ['last day of the end month', iso(2027, endMonth, lastDayOf(2027, endMonth))],
  ['day after the end month', iso(2027, endMonth, lastDayOf(2027, endMonth) + 1)],
];

const CHANGES = [
  'date later',
  'fiscal year later',
  'fiscal year earlier (refused)',
  'class longer',
  'class shorter (refused)',
  'extension',
  'extension earlier (refused)',
  'extension, then class longer',
  'tenant class lengthened, then a correction of the counterparty',
  'fiscal year corrected later once retention ended (awaiting approval)',
  'fiscal-year end moved, then date corrected',
  'hold placed and released',
  'hold kept',
  'approved, then held and released (approval withdrawn)',
  'approved, then extended (approval void)',
  'query hold on its fiscal year, then the fiscal year corrected later',
  'fiscal year corrected later, extended, then the catalog item lost and rebuilt by the reconciler',
  'held, then the catalog item lost and rebuilt by the reconciler',
] as const;
type Change = 'none' | (typeof CHANGES)[number];

interface Case {
  cls: string;
  endMonth: number;
  dateName: string;
  documentDate?: string;
  statedYear: boolean;
  archivedAt: string;
  change: Change;
}

const CASES: Case[] = [];
let n = 0;
for (const cls of CLASSES)
  for (const endMonth of END_MONTHS) {
    for (const [dateName, documentDate] of datesFor(endMonth))
      for (const statedYear of [false, true]) {
        // Without a date the archive instant decides: each winter and summer one, and the last/first millisecond of the fiscal year by Amsterdam's clock.
        const yearEnd = amsterdamMidnight(2028, endMonth + 1, 1);
        const instants = documentDate ? [ARCHIVED_AT[n++ % 4]!] : [...ARCHIVED_AT, new Date(yearEnd - 1).toISOString(), new Date(yearEnd).toISOString()];
        for (const archivedAt of instants) CASES.push({ cls, endMonth, dateName, documentDate, statedYear, archivedAt, change: 'none' });
      }
    for (const change of CHANGES) CASES.push({ cls, endMonth, dateName: '31 Dec', documentDate: '2027-12-31', statedYear: false, archivedAt: ARCHIVED_AT[n++ % 4]!, change });
  }

// ---- The world ----

const DOC_PREFIX = (id: string) => `${TENANT}/${id}/`;
const correct = (id: string, version: number, patch: object): Call => ({ method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Correction', ...patch })), type: 'application/merge-patch+json' }, headers: { 'If-Match': `"metadata-${version}"` }, as: 'alice' });
const catalogOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;

async function seedPolicy(w: World, endMonth: number): Promise<void> {
  const policy = { classes: [{ name: 'ledger-12y', years: 12 }], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: endMonth };
  const mark = { classYears: { 'fiscal-7y': 7, 'immovable-property-10y': 10, 'ledger-12y': 12 }, requireDisposalApproval: true, defaultClassYears: 7, fiscalYearEndMonth: endMonth };
  await w.deps.retention.policies.put(TENANT, policy, w.clock.now().toISOString(), { subject: 'root', kind: 'user' }, mark, 1, undefined, { etag: null });
  // Two records managers who may not approve disposals (README: a lowering is theirs to propose and approve).
  const root = { subject: 'root', kind: 'user' };
  const at = w.clock.now().toISOString();
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('keeper')}`, { value: { id: rightsSetRecordId('keeper'), tenantId: TENANT, type: 'rights-set', name: 'keeper', permissions: ['retention:manage', 'documents:read'], updatedAt: at, updatedBy: root } as never, etag: 2000 });
  for (const [i, person] of ['dave', 'erin'].entries()) {
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(person)}`, { value: { id: rightsAssignmentRecordId(person), tenantId: TENANT, type: 'rights-assignment', subject: person, rightsSet: 'keeper', assignedAt: at, assignedBy: root } as never, etag: 2001 + i });
  }
}

async function moveEndMonth(w: World, to: number): Promise<void> {
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'dave' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = read.json;
  const p = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, fiscalYearEndMonth: to }, headers: { 'If-Match': read.headers.ETag! }, as: 'dave' }, 202);
  await ok(w, { method: 'POST', path: `retention/policy/proposals/${(p.json.id ?? p.json.proposalId) as string}/approve`, body: { reason: 'New fiscal year' }, as: 'erin' });
}

/** Everything wrong between one document, the oracle's expectation and storage. */
async function judged(w: World, id: string, e: Expect): Promise<string[]> {
  const found: string[] = [];
  const doc = catalogOf(w, id);
  const ru = doc.retention.retainUntil;
  if (Date.parse(ru) < e.earliest) found.push(`${id}: catalog retain-until ${ru} is before the oracle's ${new Date(e.earliest).toISOString()}`);
  if (ru !== e.catalog) found.push(`${id}: catalog retain-until ${ru}, the archive's stated form is ${e.catalog}`);
  const blobs = [...w.deps.blobs.blobs.entries()].filter(([k]) => k.startsWith(DOC_PREFIX(id)));
  if (blobs.length === 0) found.push(`${id}: no blobs`);
  for (const [k, b] of blobs) {
    const locked = Date.parse(b.worm.retainUntil);
    if (!(locked >= Date.parse(ru))) found.push(`${k}: locked until ${b.worm.retainUntil}, catalog ${ru}`);
    if (locked % 1000 !== 0) found.push(`${k}: locked until ${b.worm.retainUntil}, not a whole second`);
  }
  const shown = await send(w, { method: 'GET', path: `documents/${id}`, as: 'alice' });
  if (shown.status !== 200 || shown.json?.retention?.retainUntil !== ru) found.push(`${id}: GET shows ${shown.status} ${JSON.stringify(shown.json?.retention)}, catalog ${ru}`);
  return found;
}

async function refusedStoresNothing(w: World, call: Call, status: number, code: string, found: string[]): Promise<void> {
  const before = storedChanges(w);
  const r: Answer = await send(w, call);
  if (r.status !== status || r.json?.code !== code) found.push(`refused change answered ${r.status} ${r.json?.code as string}, expected ${status} ${code}`);
  if (storedChanges(w) !== before) found.push('a refused change stored something');
}

describe('retention oracle: no document is disposable before the end of its retention', () => {
  it.each(CASES.map((c) => [`${c.change} | ${c.cls} | fiscal year ends in ${c.endMonth} | ${c.dateName}${c.statedYear ? ' | stated fiscal year' : ''} | archived ${c.archivedAt}`, c] as const))('%s', async (_name, c) => {
    const w = world();
    w.clock.set(c.archivedAt);
    await seedPolicy(w, c.endMonth);
    const archivedAt = w.clock.now().getTime();
    const meta: Meta = { retentionClass: c.cls, ...(c.documentDate ? { documentDate: c.documentDate } : {}) };
    if (c.statedYear) meta.fiscalYear = oracleFiscalYear({ retentionClass: c.cls, documentDate: c.documentDate }, archivedAt, c.endMonth) - 1;
    // A: approved when due; B: never approved. Same metadata, same expectation.
    const ids: string[] = [];
    for (let i = 0; i < 2; i++) ids.push((await ok(w, upload(meta), 201)).json.id as string);
    const [a, b] = ids as [string, string];
    // The rendition validated (its report is a blob of the document's, locked like the others) before any change.
    await settle(w);
    delivering(w);
    if ('run' in validationWorker) await validationWorker.run(w);
    const expect_ = new Expect();
    expect_.fix(meta, archivedAt, c.endMonth);
    const found: string[] = [];
    let held: string | null = null;
    // The approval given by the case itself, not again when due: A must then stay.
    let approvedEarlier = false;
    const approveNow = async (before: string) => ok(w, { method: 'POST', path: 'retention/approvals', body: { before, reason: 'Annual review', documentIds: [a] }, as: 'bob' });
    let endMonth = c.endMonth;

    for (const id of ids) {
      const e = expect_;
      const now = () => w.clock.now().getTime();
      w.clock.advance(60_000);
      switch (c.change) {
        case 'none':
          break;
        case 'date later': {
          const m2 = { ...meta, documentDate: '2029-03-15' };
          await ok(w, correct(id, 1, { documentDate: m2.documentDate }));
          if (id === a) e.fix(m2, archivedAt, endMonth);
          break;
        }
        case 'fiscal year later': {
          const fy = oracleFiscalYear(meta, archivedAt, endMonth) + 2;
          await ok(w, correct(id, 1, { fiscalYear: fy }));
          if (id === a) e.fix({ ...meta, fiscalYear: fy }, archivedAt, endMonth);
          break;
        }
        case 'fiscal year earlier (refused)':
          await refusedStoresNothing(w, correct(id, 1, { fiscalYear: oracleFiscalYear(meta, archivedAt, endMonth) - 1 }), 422, 'retention_shortening_refused', found);
          break;
        case 'class longer': {
          const longer = c.cls === 'ledger-12y' ? 'ledger-12y' : c.cls === 'fiscal-7y' ? 'immovable-property-10y' : 'ledger-12y';
          if (longer === c.cls) break;
          await ok(w, correct(id, 1, { retentionClass: longer }));
          if (id === a) e.fix({ ...meta, retentionClass: longer }, archivedAt, endMonth);
          break;
        }
        case 'class shorter (refused)':
          if (c.cls === 'fiscal-7y') break;
          await refusedStoresNothing(w, correct(id, 1, { retentionClass: 'fiscal-7y' }), 422, 'retention_shortening_refused', found);
          break;
        case 'extension':
        case 'extension, then class longer': {
          const to = new Date(Date.parse(catalogOf(w, id).retention.retainUntil) + 400 * 86400_000 + 1234).toISOString();
          await ok(w, { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: to, reason: 'Litigation' }, as: 'up' });
          if (id === a) e.extend(to);
          if (c.change === 'extension' || c.cls === 'ledger-12y') break;
          const longer = c.cls === 'fiscal-7y' ? 'immovable-property-10y' : 'ledger-12y';
          w.clock.advance(60_000);
          await ok(w, correct(id, 1, { retentionClass: longer }));
          if (id === a) e.fix({ ...meta, retentionClass: longer }, archivedAt, endMonth);
          break;
        }
        case 'extension earlier (refused)': {
          const to = new Date(Date.parse(catalogOf(w, id).retention.retainUntil) - 86400_000 + 1).toISOString();
          await refusedStoresNothing(w, { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: to, reason: 'Litigation' }, as: 'up' }, 422, 'retention_shortening_refused', found);
          break;
        }
        case 'tenant class lengthened, then a correction of the counterparty': {
          if (id === a) {
            const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
            const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = read.json;
            await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, classes: [{ name: 'ledger-12y', years: 15 }] }, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' }, 200);
            w.clock.advance(60_000);
          }
          await ok(w, correct(id, 1, { counterparty: 'Corrected BV' }));
          if (id === a) e.fix(meta, archivedAt, endMonth, { ...CLASS_YEARS, 'ledger-12y': 15 });
          break;
        }
        case 'fiscal year corrected later once retention ended (awaiting approval)': {
          if (id === a) w.clock.set(new Date(Date.parse(catalogOf(w, id).retention.retainUntil) + 3600_000));
          const fy = oracleFiscalYear(meta, archivedAt, endMonth) + 2;
          await ok(w, correct(id, 1, { fiscalYear: fy }));
          if (id === a) e.fix({ ...meta, fiscalYear: fy }, archivedAt, endMonth);
          break;
        }
        case 'fiscal-year end moved, then date corrected': {
          if (id === a) {
            endMonth = c.endMonth === 6 ? 12 : 6;
            await moveEndMonth(w, endMonth);
          }
          const m2 = { ...meta, documentDate: '2028-01-01' };
          await ok(w, correct(id, 1, { documentDate: m2.documentDate }));
          if (id === a) e.fix(m2, now(), endMonth);
          break;
        }
        case 'approved, then held and released (approval withdrawn)':
        case 'approved, then extended (approval void)': {
          const due = catalogOf(w, id).retention.retainUntil;
          if (id === a) {
            w.clock.set(new Date(Date.parse(due) - 10 * 86400_000));
            await approveNow(due);
            approvedEarlier = true;
            w.clock.advance(60_000);
          }
          if (c.change === 'approved, then extended (approval void)') {
            const to = new Date(Date.parse(due) + 30 * 86400_000).toISOString();
            await ok(w, { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: to, reason: 'Litigation' }, as: 'up' });
            if (id === a) e.extend(to);
            break;
          }
          if (id !== a) break;
          const placed = (await ok(w, hold(a))).json.id as string;
          w.clock.advance(60_000);
          await ok(w, { method: 'DELETE', path: `documents/${a}/legal-holds/${placed}`, body: { reason: 'Closed' }, as: 'bob' });
          break;
        }
        case 'query hold on its fiscal year, then the fiscal year corrected later': {
          const fy = oracleFiscalYear(meta, archivedAt, endMonth);
          if (id === a) held = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-Q', query: { fiscalYear: fy } }, as: 'up' })).json.id as string;
          w.clock.advance(60_000);
          await ok(w, correct(id, 1, { fiscalYear: fy + 1 }));
          if (id === a) e.fix({ ...meta, fiscalYear: fy + 1 }, archivedAt, endMonth);
          break;
        }
        case 'fiscal year corrected later, extended, then the catalog item lost and rebuilt by the reconciler': {
          const fy = oracleFiscalYear(meta, archivedAt, endMonth) + 1;
          await ok(w, correct(id, 1, { fiscalYear: fy }));
          if (id === a) e.fix({ ...meta, fiscalYear: fy }, archivedAt, endMonth);
          const to = new Date(Date.parse(catalogOf(w, id).retention.retainUntil) + 800 * 86400_000 + 1234).toISOString();
          await ok(w, { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: to, reason: 'Litigation' }, as: 'up' });
          if (id === a) e.extend(to);
          await loseCatalogItem(w, id, id === b);
          break;
        }
        case 'held, then the catalog item lost and rebuilt by the reconciler':
          if (id === a) held = (await ok(w, hold(a))).json.id as string;
          await loseCatalogItem(w, id, id === b);
          break;
        case 'hold placed and released':
        case 'hold kept':
          if (id !== a) break;
          held = (await ok(w, hold(a))).json.id as string;
          if (c.change === 'hold placed and released') {
            w.clock.advance(60_000);
            await ok(w, { method: 'DELETE', path: `documents/${a}/legal-holds/${held}`, body: { reason: 'Closed' }, as: 'bob' });
            held = null;
          }
          break;
      }
    }

    // Judged as the requests left it, and again after the reconciler (which brings storage and catalog together: it may
    // lengthen, never shorten), so a repair by the reconciler hides no request that left a blob locked shorter.
    for (const id of ids) found.push(...(await judged(w, id, expect_)).map((f) => `before the reconciler: ${f}`));
    await runReconcileTimer(w.deps);
    for (const id of ids) found.push(...(await judged(w, id, expect_)));
    for (const id of ids) if (![...w.deps.blobs.blobs.keys()].some((k) => k === `${DOC_PREFIX(id)}validation.json`)) found.push(`${id}: no validation report`);
    const retainUntil = catalogOf(w, a).retention.retainUntil;
    expect(catalogOf(w, b).retention.retainUntil).toBe(retainUntil);

    const statuses = () => ids.map((id) => catalogOf(w, id).status);
    const blobsLeft = (id: string) => [...w.deps.blobs.blobs.keys()].some((k) => k.startsWith(DOC_PREFIX(id)));
    // The oracle's instant − 1 ms: approved where it can be, and nothing goes.
    w.clock.set(new Date(expect_.earliest - 1));
    if (!approvedEarlier) {
      const approval = await send(w, { method: 'POST', path: 'retention/approvals', body: { before: retainUntil, reason: 'Annual review', documentIds: [a] }, as: 'bob' });
      if (held === null && approval.status >= 300) found.push(`approval answered ${approval.status} ${approval.json?.code as string}`);
    }
    await runSweepTimer(w.deps);
    if (statuses().some((s) => s !== 'active') || !ids.every(blobsLeft)) found.push(`disposed before the oracle's instant: ${statuses().join(',')}`);
    // From the oracle's instant: only the approved, unheld one, once the archive's retain-until has come.
    for (const at of [expect_.earliest, Date.parse(retainUntil)]) {
      w.clock.set(new Date(at));
      await runSweepTimer(w.deps);
      const gone = statuses();
      if (gone[1] !== 'active' || !blobsLeft(b)) found.push(`the unapproved document was disposed at ${new Date(at).toISOString()}`);
      if (held !== null && gone[0] !== 'active') found.push(`the held document was disposed at ${new Date(at).toISOString()}`);
    }
    if (approvedEarlier && catalogOf(w, a).status !== 'active') found.push(`disposed under an approval a hold withdrew or an extension voided (${catalogOf(w, a).status})`);
    if (!approvedEarlier && held === null && (catalogOf(w, a).status !== 'disposed' || blobsLeft(a))) found.push(`the approved, unheld document was not disposed at its retain-until ${retainUntil} (${catalogOf(w, a).status})`);
    expect(found).toEqual([]);
  });
});
