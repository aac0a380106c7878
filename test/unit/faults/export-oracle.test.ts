/**
 * A year-end export holds exactly the year's documents, as corrected, and says so truly (generated sweep).
 *
 * Generated: a seeded corpus of documents in one tenant (and a few of another tenant, same years) uploaded through the
 * API: stated fiscal years, documents with only a date and with neither (their year is the upload's, by the Dutch
 * calendar), one to three originals, metadata with what matters in a CSV and a file name (`;`, `,`, `"`, a leading
 * `=`/`+`/`-`/`@`, accents, names at the 200-character limit, several documents that give the same file name, amounts
 * negative and fractional); then a correction moving a document to the next fiscal year, a correction of a counterparty
 * and amount, two documents past their retention approved for disposal of which one is held (the sweep disposes of the
 * other). Cases: an export of every fiscal year present and of one with nothing, with and without originals, in both
 * CSV dialects (`,`/`.` and the Dutch `;`/`,`), and search exports (a counterparty prefix matched accent-insensitively,
 * a kind with an amount range, a date range, a tag, and what changed since the corrections: in the year a document was
 * corrected out of, the year it was corrected into, every year). Two more: every byte of manifest.json changed, and
 * (sampled) every byte of a whole ZIP.
 *
 * The oracle is written from the README, not from the archive's export code: the documents are the tenant's active
 * documents the search matches (the fiscal year is the stated one, else the year of `documentDate`, else the year of
 * upload in Amsterdam; the fiscal year ends in December here), with the metadata as last corrected; one rendition under
 * `documents/`, each original under `originals/` only on request, every name unique (compared case-insensitively) and
 * inside its folder; each file's bytes hash to the manifest's and the catalog's SHA-256 (an original's to the bytes
 * uploaded); manifest.csv is UTF-8 with a BOM, CRLF, the README's columns, one row per document, parsed as RFC 4180
 * with the export's separator to the oracle's fields: numbers plain with the chosen decimal mark, text that a
 * spreadsheet would run as a formula, or read as a number, date, time or truth value (`0042`, `1,5`, `3/4`), with a
 * leading `'`, several values joined with ` | `; `archive verify` (the CLI's offline check) says ok, and not-ok after one
 * byte of a file inside the ZIP is changed; any byte of the ZIP changed is either not ok to verify or changes no file.
 *
 * Breaks it found (fixed): verify passed a ZIP whose deflated manifest.json had a byte changed (yauzl checks no CRC-32;
 * cli/core.ts now does); manifest.csv wrote a reference `0042` that a spreadsheet reads as 42 (names.ts csvField).
 *
 * Decided by design: the in-memory catalog has no query engine, so the test gives it one modelled on the Cosmos
 * adapter's WHERE clause (tenant partition, `c.fiscalYear = @fy`, prefix match on the normalised search keys, ORDER BY
 * documentDate with undefined first, as Cosmos now returns items without the property); a year with nothing exports a
 * ZIP with no documents and its two manifests (the README says nothing else happens); `archive verify` checks the
 * files of an export, not the ZIP's own bookkeeping (a changed timestamp in a ZIP header changes no file and is not a
 * difference: the ZIP's own SHA-256 is what a download is checked against); line breaks and tabs in metadata text are
 * refused at upload (README: one line of text), so no CSV cell holds one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as yauzl from 'yauzl';
import { verifyExport } from '../../../cli/core';
import { rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { searchKey, withSearchKeys } from '../../../shared/kernel/search-keys';
import type { CatalogPort, DocumentQuery } from '../../../shared/ports';
import { runSweepTimer } from '../../../shared/retention/timers';
import { parseCsv } from '../../support/csv';
import type { InMemoryExportBlobs, InMemoryExportJobs } from '../../support/in-memory';
import { approval, ok, random, scan, send, settle, TENANT, world, type Call, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));
jest.setTimeout(60_000);

const OTHER = 'acme-2';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

// ---- The world: a search the in-memory catalog lacks, and a second tenant ----

/** The Cosmos adapter's search (catalog.ts searchFilter, ORDER BY documentDate, id), over the in-memory items. */
function modelSearch(w: World): void {
  const catalog = w.deps.catalog;
  const matches = (tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken' | 'sort' | 'order'>) => (item: ArchivedDocument) => {
    const d = withSearchKeys(item); // as the Cosmos adapter stores every item
    const m = d.metadata;
    if (d.tenantId !== tenantId) return false;
    if (q.fiscalYear !== undefined && !(q.correctedSince ? (d.fiscalYearsEver ?? []).includes(q.fiscalYear) : d.fiscalYear === q.fiscalYear)) return false;
    if (q.correctedSince && !(d.correctedAt !== undefined && d.correctedAt >= q.correctedSince)) return false;
    if (q.from && !(m.documentDate !== undefined && m.documentDate >= q.from)) return false;
    if (q.to && !(m.documentDate !== undefined && m.documentDate <= q.to)) return false;
    if (q.kind && m.kind !== q.kind) return false;
    if (q.counterparty && !(d.counterpartyKey ?? '').startsWith(searchKey(q.counterparty))) return false;
    if (q.amountMin !== undefined && !(m.amount !== undefined && m.amount >= q.amountMin)) return false;
    if (q.amountMax !== undefined && !(m.amount !== undefined && m.amount <= q.amountMax)) return false;
    if (q.currency && m.currency !== q.currency) return false;
    if (q.reference && !(d.referenceKey ?? '').startsWith(searchKey(q.reference))) return false;
    return (q.tags ?? []).every((t) => (m.tags ?? []).includes(t));
  };
  const port = catalog as unknown as Pick<CatalogPort, 'list' | 'countMatching' | 'idsUnchangedSince'>;
  port.list = async (tenantId: string, q: DocumentQuery) => {
    const all = [...catalog.documents.values()].filter(matches(tenantId, q));
    const key = (d: ArchivedDocument) => (q.sort === 'documentDate' ? (d.metadata.documentDate ?? '') : q.sort === 'amount' ? String(d.metadata.amount ?? '') : d.createdAt);
    all.sort((a, b) => key(a).localeCompare(key(b)) || a.id.localeCompare(b.id));
    if (q.order !== 'asc') all.reverse();
    const from = Number(q.continuationToken ?? 0);
    const limit = q.limit ?? 100;
    const items = all.slice(from, from + limit).map((d) => structuredClone(d));
    return { items, continuationToken: from + limit < all.length ? String(from + limit) : null };
  };
  port.countMatching = async (tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken'>) => [...catalog.documents.values()].filter((d) => d.status === 'active' && matches(tenantId, q)(d)).length;
  // Nothing changes while the oracle's exports run: every matching document was there, unchanged, all through the walk.
  port.idsUnchangedSince = async (tenantId: string, q: Omit<DocumentQuery, 'limit' | 'continuationToken'>) => [...catalog.documents.values()].filter((d) => d.status === 'active' && matches(tenantId, q)(d)).map((d) => d.id);
}

/** Bearer tokens `o-…` are of the other tenant; `o-up` is its archivist. */
function secondTenant(w: World): void {
  const authenticator = w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<Record<string, unknown>> };
  const verify = authenticator.verifyJwt;
  authenticator.verifyJwt = async (token: string) => ({ ...(await verify(token)), tenantId: token.startsWith('o-') ? OTHER : TENANT });
  w.deps.tenantRecords.records.set(`${OTHER}/${rightsAssignmentRecordId('o-up')}`, {
    value: { id: rightsAssignmentRecordId('o-up'), tenantId: OTHER, type: 'rights-assignment', subject: 'o-up', rightsSet: 'archivist', assignedAt: new Date(0).toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never,
    etag: 999,
  });
}

// ---- The corpus ----


type Metadata = { documentDate?: string; fiscalYear?: number; kind?: string; counterparty?: string; amount?: number; currency?: string; reference?: string; tags?: string[]; retentionClass?: string };

/** What the oracle knows of a document: what was sent and corrected, never what the archive says it exported. */
interface Known {
  id: string;
  tenant: string;
  metadata: Metadata;
  /** The catalog's createdAt (the upload instant), for the year of a document with neither date nor year. */
  createdAt: string;
  originals: Buffer[];
  disposed: boolean;
  version: number;
  /** Every fiscal year it has been in, and when it was last corrected (README: `correctedSince`). */
  years: number[];
  correctedAt?: string;
}

const COUNTERPARTIES = [
  'Bakkerij Jansen B.V.', 'Épicerie Ève', 'epicerie Eve & Zonen', 'Smith; Jones', 'Smith, Jones & Co', 'The "Best" Shop', '=HYPERLINK("http://x","y")', '+31 20 555 0100', '-1+1', '@SUM(A1:A9)',
  'Ærøskøbing Ålborg Øl', 'Zoë Müller-Lüdenscheidt', 'Ünïcödé 日本語の取引先', `${'Lange naam '.repeat(18)}einde`.slice(0, 200), 'a/b\\c:d*e?f<g>h|i', '..', 'CON', ' trimmed ',
];
const REFERENCES = ['INV-001', 'INV-001', '0042', '1,5', '2024-01', '12:30', 'TRUE', '3/4', '1.000', '(5)', '€ 5', 'jan-24', '1 1/2', '12 mrt', '2024-01-15 10:00', 'January 15, 2024', '１２３', '＝1+2', '=1+2', 'R;1', 'R,2', 'R"3"', '-5', '', 'ü-ref'];
const KINDS = ['invoice', 'receipt', 'credit-note', 'bank-statement', 'contract', 'other'];
const YEARS = [2021, 2022, 2023, 2024, 2025];

function corpusMetadata(rand: () => number, i: number): Metadata {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
  const year = pick(YEARS);
  const date = `${year}-${String(1 + Math.floor(rand() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rand() * 28)).padStart(2, '0')}`;
  const m: Metadata = { kind: pick(KINDS), counterparty: COUNTERPARTIES[i % COUNTERPARTIES.length]!.trim() };
  const shape = i % 5; // 0,1: date and year; 2: date only; 3: year only; 4: neither
  if (shape <= 2) m.documentDate = date;
  if (shape <= 1 || shape === 3) m.fiscalYear = shape === 1 && Number(date.slice(5, 7)) <= 2 ? year - 1 : year; // an invoice dated early, booked in the year before
  const ref = REFERENCES[i % REFERENCES.length]!; // every one, in some year
  if (ref) m.reference = ref;
  if (rand() < 0.7) {
    m.amount = pick([12.5, -37.25, 1000, 0.1, 1234567.891, 99.99, -0.5]);
    m.currency = pick(['EUR', 'USD']);
  }
  if (rand() < 0.4) m.tags = pick([['q1'], ['=cmd', 'x'], ['a;b', 'c"d'], ['ü']]);
  return m;
}

function uploadCall(metadata: Metadata, originals: Buffer[], as: string): Call {
  if (originals.length === 1) return { method: 'POST', path: `documents?metadata=${encodeURIComponent(JSON.stringify(metadata))}`, raw: { bytes: originals[0]!, type: 'image/png' }, as };
  const boundary = 'oracle-boundary';
  const part = (headers: string, body: Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), body, Buffer.from('\r\n')];
  const body = Buffer.concat([
    ...originals.flatMap((o, i) => part(`Content-Disposition: form-data; name="file"; filename="p${i + 1}.png"\r\nContent-Type: image/png`, o)),
    ...part('Content-Disposition: form-data; name="metadata"\r\nContent-Type: application/json', Buffer.from(JSON.stringify(metadata))),
    Buffer.from(`--${boundary}--\r\n`),
  ]);
  return { method: 'POST', path: 'documents', raw: { bytes: body, type: `multipart/form-data; boundary=${boundary}` }, as };
}

interface Corpus {
  /** The instant before the corrections: an earlier export's `createdAt`. */
  before: string;
  w: World;
  known: Map<string, Known>;
  refused: string[];
}

async function add(w: World, known: Map<string, Known>, metadata: Metadata, originals: Buffer[], tenant = TENANT): Promise<string> {
  const r = await ok(w, uploadCall(metadata, originals, tenant === TENANT ? 'up' : 'o-up'), 201);
  const id = r.json.id as string;
  const item = w.deps.catalog.documents.get(`${tenant}/${id}`)!;
  const k: Known = { id, tenant, metadata: structuredClone(metadata), createdAt: item.createdAt, originals, disposed: false, version: 1, years: [] };
  k.years.push(fiscalYearOf(k));
  known.set(id, k);
  return id;
}

async function correct(w: World, k: Known, patch: Metadata, reason: string): Promise<void> {
  await ok(w, { method: 'PATCH', path: `documents/${k.id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason, ...patch })), type: 'application/merge-patch+json' }, headers: { 'If-Match': `"metadata-${k.version}"` }, as: 'alice' });
  k.version++;
  Object.assign(k.metadata, patch);
  if (!k.years.includes(fiscalYearOf(k))) k.years.push(fiscalYearOf(k));
  k.correctedAt = w.clock.now().toISOString();
}

async function buildCorpus(): Promise<Corpus> {
  const w = world();
  modelSearch(w);
  secondTenant(w);
  const rand = random(20261231);
  const known = new Map<string, Known>();
  const refused: string[] = [];
  for (let i = 0; i < 30; i++) {
    const n = i % 4 === 0 ? 2 + (i % 3 === 0 ? 1 : 0) : 1;
    await add(w, known, corpusMetadata(rand, i), Array.from({ length: n }, () => scan()));
  }
  // Two documents that give the same readable name (date, kind, counterparty, reference), one with two originals.
  const same = { documentDate: '2024-06-30', fiscalYear: 2024, kind: 'invoice', counterparty: 'Bakkerij Jansen B.V.', reference: 'INV-001', amount: 10, currency: 'EUR' };
  await add(w, known, same, [scan()]);
  await add(w, known, same, [scan(), scan()]);
  await add(w, known, { ...same, counterparty: 'BAKKERIJ JANSEN B.V.' }, [scan()]); // the same name on a case-insensitive file system
  // Line breaks are refused in metadata text (README: one line of text): nothing of such an upload is stored.
  for (const counterparty of ['line\nbreak', 'line\r\nbreak', 'tab\tcp']) {
    const r = await send(w, uploadCall({ fiscalYear: 2024, counterparty }, [scan()], 'up'));
    await settle(w);
    if (r.status !== 400) throw new Error(`metadata ${JSON.stringify(counterparty)} was not refused: ${r.status}`);
    refused.push(counterparty);
  }
  // The other tenant: the same years, the same names.
  for (const fiscalYear of [2023, 2024, 2024]) await add(w, known, { fiscalYear, kind: 'invoice', counterparty: 'Bakkerij Jansen B.V.', reference: 'INV-001', amount: 5, currency: 'EUR' }, [scan()], OTHER);
  // Two documents whose retention ends first (fiscal year 2017, 10 years: 2028-01-01), one of them held.
  const due = await add(w, known, { fiscalYear: 2017, retentionClass: 'immovable-property-10y', kind: 'contract', counterparty: 'Oude Huur B.V.' }, [scan()]);
  const heldDue = await add(w, known, { fiscalYear: 2017, retentionClass: 'immovable-property-10y', kind: 'contract', counterparty: 'Oude Huur B.V.', reference: 'held' }, [scan()]);
  await ok(w, { method: 'POST', path: `documents/${heldDue}/legal-holds`, body: { reason: 'Dispute', caseReference: 'C-17' }, as: 'up' });
  // Corrections: one document from its fiscal year to the next, one's counterparty and amount.
  w.clock.advance(60_000);
  const before = w.clock.now().toISOString();
  w.clock.advance(60_000);
  const movable = [...known.values()].find((k) => k.tenant === TENANT && k.metadata.fiscalYear === 2023 && k.metadata.documentDate?.startsWith('2023'))!;
  await correct(w, movable, { fiscalYear: 2024 }, 'Booked in 2024');
  const corrected = [...known.values()].find((k) => k.tenant === TENANT && k.metadata.amount !== undefined && k !== movable && k.metadata.fiscalYear !== undefined)!;
  await correct(w, corrected, { counterparty: 'Gecorrigeerd; "Nieuw" B.V.', amount: -1234.5 }, 'Wrong supplier');
  await correct(w, corrected, { reference: '@corrected' }, 'And the reference');
  // The retention of the two ends; the sweep disposes of the unheld one once approved.
  w.clock.set(new Date('2028-01-02T12:00:00.000Z'));
  await ok(w, approval(w), 201);
  await runSweepTimer(w.deps);
  await settle(w);
  const gone = w.deps.catalog.documents.get(`${TENANT}/${due}`);
  if (gone?.status === 'active') throw new Error('the sweep did not dispose of the due document');
  known.get(due)!.disposed = true;
  return { before, w, known, refused };
}

// ---- The oracle ----

const amsterdamYear = (instant: string) => Number(new Intl.DateTimeFormat('en', { timeZone: 'Europe/Amsterdam', year: 'numeric' }).format(new Date(instant)));
const fiscalYearOf = (k: Known) => k.metadata.fiscalYear ?? (k.metadata.documentDate ? Number(k.metadata.documentDate.slice(0, 4)) : amsterdamYear(k.createdAt));

interface Filter {
  fiscalYear?: number;
  counterparty?: string;
  kind?: string;
  amountMin?: number;
  amountMax?: number;
  from?: string;
  to?: string;
  tags?: string[];
  /** `before`: the corpus's instant before its corrections. */
  correctedSince?: 'before';
}

const fold = (s: string) => s.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase().replace(/\s+/gu, ' ').trim();

/** README: the tenant's documents the search matches, never a disposed one. */
function expectedDocuments(c: Corpus, f: Filter): Known[] {
  return [...c.known.values()].filter(
    (k) =>
      k.tenant === TENANT &&
      !k.disposed &&
      // Since a moment, a fiscal year is every one the document has been in: one corrected out of it was in its earlier export.
      (f.correctedSince === undefined ? f.fiscalYear === undefined || fiscalYearOf(k) === f.fiscalYear : k.correctedAt !== undefined && k.correctedAt >= c.before && (f.fiscalYear === undefined || k.years.includes(f.fiscalYear))) &&
      (f.counterparty === undefined || fold(k.metadata.counterparty ?? '\u0000').startsWith(fold(f.counterparty))) &&
      (f.kind === undefined || k.metadata.kind === f.kind) &&
      (f.from === undefined || (k.metadata.documentDate !== undefined && k.metadata.documentDate >= f.from)) &&
      (f.to === undefined || (k.metadata.documentDate !== undefined && k.metadata.documentDate <= f.to)) &&
      (f.tags ?? []).every((t) => (k.metadata.tags ?? []).includes(t)) &&
      (f.amountMin === undefined || (k.metadata.amount !== undefined && k.metadata.amount >= f.amountMin)) &&
      (f.amountMax === undefined || (k.metadata.amount !== undefined && k.metadata.amount <= f.amountMax)),
  );
}

const COLUMNS = ['documentId', 'fiscalYear', 'documentDate', 'kind', 'counterparty', 'amount', 'currency', 'reference', 'tags', 'createdAt', 'renditionPath', 'renditionSize', 'renditionSha256', 'validation', 'validator', 'validationFailedRules', 'originalCount', 'originalPaths', 'originalMediaTypes', 'originalSizes', 'originalSha256s'];

/**
 * What a spreadsheet reads a text cell as something other than text: a number (with either decimal mark, a sign,
 * grouping, an exponent, a percent), a date or time (`2024-01`, `1/2`, `12-3`, `12:30`), a truth value. Opening the
 * CSV, `0042` becomes 42 and `1,5` (Dutch) 1.5: another reference or name than the archive's.
 */
const MONTH = '(?:jan|feb|mar|mrt|apr|may|mei|jun|jul|aug|sep|oct|okt|nov|dec)[a-z]*\\.?';
const TIME = '\\d{1,2}:\\d{2}(?::\\d{2}(?:[.,]\\d+)?)?(?:\\s*[ap]\\.?m\\.?)?';
const DATE = `(?:\\d{1,4}[-/.]\\d{1,2}(?:[-/.]\\d{1,4})?|\\d{1,2}[-/. ]?${MONTH}(?:[-/. ]?\\d{1,4})?|${MONTH}[-/. ]?\\d{1,4}(?:,?\\s*\\d{1,4})?)`;
const READ_AS_VALUE = new RegExp(`^\\s*(?:\\(?[+-]?[€$£¥]?\\s*[+-]?(?:\\d[\\d.,' ]*)?\\d(?:e[+-]?\\d+)?%?\\s*[€$£¥]?\\)?|\\d+\\s+\\d+\\/\\d+|${DATE}(?:(?:\\s+|T)${TIME})?|${TIME}|true|false|waar|onwaar)\\s*$`, 'i');
/** A text cell as a spreadsheet must read it (README manifest.csv): text it would run as a formula, or read as a value, gets a leading `'`. */
const asText = (s: string | undefined) => (s === undefined ? '' : /^[=+\-@\t\r]/.test(s.normalize('NFKC')) || READ_AS_VALUE.test(s.normalize('NFKC')) ? `'${s}` : s);
const asNumber = (n: number | undefined, decimalMark: string) => (n === undefined ? '' : String(n).replace('.', decimalMark));

/** What a spreadsheet reads a number cell as, or null for text: the Dutch one reads `1234,5` as 1234.5. */
function spreadsheetNumber(cell: string, decimalMark: string): number | null {
  const re = decimalMark === ',' ? /^-?\d+(,\d+)?(e[+-]?\d+)?$/i : /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i;
  return re.test(cell) ? Number(cell.replace(',', '.')) : null;
}

// ---- Reading an export ----

interface Entry {
  name: string;
  bytes: Buffer;
  /** Where the entry's data starts and ends in the ZIP. */
  dataStart: number;
  dataEnd: number;
}

async function unzip(zip: Buffer): Promise<Entry[]> {
  const z = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(zip, { lazyEntries: true }, (e, f) => (e ? reject(e) : resolve(f))));
  const out: Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    z.on('entry', (entry: yauzl.Entry) => {
      z.openReadStream(entry, (err, stream) => {
        if (err) return reject(err);
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const at = entry.relativeOffsetOfLocalHeader;
          const start = at + 30 + zip.readUInt16LE(at + 26) + zip.readUInt16LE(at + 28);
          out.push({ name: entry.fileName, bytes: Buffer.concat(chunks), dataStart: start, dataEnd: start + entry.compressedSize });
          z.readEntry();
        });
        stream.on('error', reject);
      });
    });
    z.on('end', resolve);
    z.on('error', reject);
    z.readEntry();
  });
  return out;
}

async function verified(zip: Buffer): Promise<string[]> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'export-oracle-')), 'export.zip');
  fs.writeFileSync(file, zip);
  try {
    const r = await verifyExport(file);
    return [...r.mismatched.map((p) => `DIFFERS ${p}`), ...r.missing.map((p) => `MISSING ${p}`), ...r.unexpected.map((p) => `NOT IN MANIFEST ${p}`), ...(r.verified === r.files ? [] : [`${r.verified}/${r.files} verified`])];
  } catch (err) {
    return [String(err)];
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

async function exported(w: World, body: Record<string, unknown>): Promise<{ zip: Buffer; status: string }> {
  const r = await ok(w, { method: 'POST', path: 'exports', body, as: 'alice' }, 202);
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = jobs.get(`${TENANT}/${r.json.id as string}`)!;
    if (job.status !== 'running') {
      const zip = (w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`);
      if (job.status !== 'completed' || !zip) throw new Error(`export ${job.status}: ${job.error ?? 'no ZIP'}`);
      return { zip, status: job.status };
    }
    if (Date.now() > deadline) throw new Error('export still running');
    await settle(w);
    await new Promise((res) => setTimeout(res, 2));
  }
}

// ---- The cases ----

interface Case {
  name: string;
  filter: Filter;
  originals: boolean;
  dutch: boolean;
}

const DIALECTS = [false, true];
const CASES: Case[] = [
  ...[2017, 2019, ...YEARS, 'upload'].flatMap((year) =>
    [false, true].flatMap((originals) => DIALECTS.map((dutch) => ({ name: `fiscal year ${year}${originals ? ' with originals' : ''}${dutch ? ', Dutch CSV' : ''}`, filter: { fiscalYear: year === 'upload' ? -1 : (year as number) }, originals, dutch }))),
  ),
  { name: 'search: counterparty "epicerie" (accents, prefix)', filter: { counterparty: 'epicerie' }, originals: true, dutch: false },
  { name: 'search: counterparty "bakkerij jansen" (another tenant has the same, the same names thrice)', filter: { counterparty: 'bakkerij jansen' }, originals: true, dutch: false },
  { name: 'search: invoices from 0 to 1000', filter: { kind: 'invoice', amountMin: 0, amountMax: 1000 }, originals: false, dutch: true },
  { name: 'search: documents dated in 2024 (a document without a date has none)', filter: { from: '2024-01-01', to: '2024-12-31' }, originals: true, dutch: true },
  { name: 'search: tagged "=cmd"', filter: { tags: ['=cmd'] }, originals: false, dutch: false },
  { name: 'what changed since: fiscal year 2023 (a document corrected out of it)', filter: { fiscalYear: 2023, correctedSince: 'before' }, originals: true, dutch: false },
  { name: 'what changed since: fiscal year 2024 (a document corrected into it)', filter: { fiscalYear: 2024, correctedSince: 'before' }, originals: false, dutch: true },
  { name: 'what changed since: every year', filter: { correctedSince: 'before' }, originals: false, dutch: false },
];

describe('a year-end export holds exactly the oracle\'s documents, as corrected, and says so truly', () => {
  let c: Corpus;
  beforeAll(async () => {
    c = await buildCorpus();
  }, 60_000);

  it('the corpus is what the sweep needs: every kind of year, originals, corrections, a disposal, refused line breaks', () => {
    const mine = [...c.known.values()].filter((k) => k.tenant === TENANT);
    expect(mine.length).toBeGreaterThanOrEqual(30);
    expect(mine.some((k) => k.metadata.fiscalYear === undefined && k.metadata.documentDate === undefined)).toBe(true);
    expect(mine.some((k) => k.metadata.fiscalYear === undefined && k.metadata.documentDate !== undefined)).toBe(true);
    expect(mine.some((k) => k.originals.length === 3)).toBe(true);
    expect(mine.filter((k) => k.disposed)).toHaveLength(1);
    expect(c.refused).toHaveLength(3);
  });

  it('every single byte of manifest.json changed in the ZIP is a difference to `archive verify` (the break: it was not)', async () => {
    // manifest.json is deflated and covered by no SHA-256 (it cannot hold its own): only the ZIP's CRC-32 catches damage.
    const { zip } = await exported(c.w, { fiscalYear: 2017, includeOriginals: true });
    const json = (await unzip(zip)).find((e) => e.name === 'manifest.json')!;
    const passed: number[] = [];
    for (let at = json.dataStart; at < json.dataEnd; at += Math.max(1, Math.floor((json.dataEnd - json.dataStart) / 120))) {
      const changed = Buffer.from(zip);
      changed[at] = changed[at]! ^ 0x01;
      if ((await verified(changed)).length === 0) passed.push(at);
    }
    expect(passed).toEqual([]);
  });

  it('any byte of the ZIP changed: `archive verify` says not ok, or every file unpacks as exported (the byte was ZIP bookkeeping)', async () => {
    const { zip } = await exported(c.w, { fiscalYear: 2017, includeOriginals: true });
    const truth = new Map((await unzip(zip)).map((e) => [e.name, sha(e.bytes)]));
    const unnoticed: string[] = [];
    const step = Math.max(1, Math.floor(zip.length / 700));
    for (let at = 0; at < zip.length; at += step) {
      const changed = Buffer.from(zip);
      changed[at] = changed[at]! ^ 0x04;
      if ((await verified(changed)).length > 0) continue;
      const got = await unzip(changed).catch(() => null);
      const same = got !== null && got.length === truth.size && got.every((e) => truth.get(e.name) === sha(e.bytes));
      if (!same) unnoticed.push(`byte ${at}: ${got === null ? 'unreadable' : got.map((e) => e.name).join(', ')}`);
    }
    expect(unnoticed).toEqual([]);
  });

  it.each(CASES)('$name', async (kase) => {
    const { w } = c;
    const year = kase.filter.fiscalYear === -1 ? { fiscalYear: amsterdamYear(START_OF(c)) } : {};
    const filter = { ...kase.filter, ...year };
    const asked = { ...filter, ...(filter.correctedSince ? { correctedSince: c.before } : {}) };
    const separator = kase.dutch ? ';' : ',';
    const decimalMark = kase.dutch ? ',' : '.';
    const { zip } = await exported(w, { ...asked, includeOriginals: kase.originals, ...(kase.dutch ? { csv: { separator, decimalMark } } : {}) });
    const entries = await unzip(zip);
    const byName = new Map(entries.map((e) => [e.name, e]));
    const problems: string[] = [];

    // Names: unique as a case-insensitive file system compares them, inside their folder, nothing else.
    const caseless = new Set<string>();
    for (const e of entries) {
      const k = e.name.toUpperCase().toLowerCase();
      if (caseless.has(k)) problems.push(`name collides: ${e.name}`);
      caseless.add(k);
      const inFolder = /^(documents|originals)\/[^/\\]+$/.test(e.name) || e.name === 'manifest.json' || e.name === 'manifest.csv';
      if (!inFolder || /(^|\/)\.\.?($|\/)|[\u0000-\u001f\u007f:*?"<>|]/.test(e.name) || /[. ]$/.test(e.name) || Buffer.byteLength(path.posix.basename(e.name)) > 255) problems.push(`unsafe name: ${JSON.stringify(e.name)}`);
      if (!kase.originals && e.name.startsWith('originals/')) problems.push(`original without includeOriginals: ${e.name}`);
    }

    const manifest = JSON.parse(byName.get('manifest.json')!.bytes.toString('utf8')) as { documents: { id: string; fiscalYear: number; metadata: Metadata; files: { path: string; role: string; size: number; sha256: string; mediaType: string }[] }[]; manifestCsv: { sha256: string; size: number }; export: { csv: { separator: string; decimalMark: string } } };
    const want = expectedDocuments(c, filter);
    if (filter.fiscalYear !== 2019) expect(want.length).toBeGreaterThan(0); // the case tests something
    const got = manifest.documents.map((d) => d.id);
    const missing = want.filter((k) => !got.includes(k.id)).map((k) => k.id);
    const extra = got.filter((id) => !want.some((k) => k.id === id));
    for (const id of missing) problems.push(`missing document ${id} ${JSON.stringify(c.known.get(id)!.metadata)}`);
    for (const id of extra) problems.push(`extra document ${id} ${JSON.stringify(c.known.get(id)?.metadata ?? 'unknown')}`);
    if (new Set(got).size !== got.length) problems.push('a document listed twice');
    expect(manifest.export.csv).toEqual({ separator, decimalMark });

    // Files: each listed one in the ZIP, hashing to the manifest's and the catalog's (and an original to the bytes uploaded).
    const listed = new Set(['manifest.json', 'manifest.csv']);
    for (const d of manifest.documents) {
      const k = c.known.get(d.id);
      const item = w.deps.catalog.documents.get(`${TENANT}/${d.id}`);
      if (!k || !item) continue;
      for (const [field, value] of Object.entries(k.metadata) as [keyof Metadata, unknown][]) {
        if (field !== 'fiscalYear' && JSON.stringify(d.metadata[field]) !== JSON.stringify(value)) problems.push(`${d.id}: manifest.json ${field} ${JSON.stringify(d.metadata[field])}, corrected ${JSON.stringify(value)}`);
      }
      if (d.fiscalYear !== fiscalYearOf(k)) problems.push(`${d.id}: manifest.json fiscalYear ${d.fiscalYear}, oracle ${fiscalYearOf(k)}`);
      const renditions = d.files.filter((f) => f.role === 'rendition');
      const originals = d.files.filter((f) => f.role === 'original');
      if (renditions.length !== 1 || !renditions[0]!.path.startsWith('documents/') || !renditions[0]!.path.endsWith('.pdf')) problems.push(`${d.id}: rendition ${JSON.stringify(renditions.map((f) => f.path))}`);
      if (originals.length !== (kase.originals ? k.originals.length : 0)) problems.push(`${d.id}: ${originals.length} originals, uploaded ${k.originals.length}`);
      const date = k.metadata.documentDate ?? item.createdAt.slice(0, 10);
      if (!path.posix.basename(renditions[0]?.path ?? '').startsWith(date)) problems.push(`${d.id}: name ${renditions[0]?.path} does not start with its date ${date}`);
      for (const f of d.files) {
        listed.add(f.path);
        const e = byName.get(f.path);
        if (!e) {
          problems.push(`${d.id}: ${f.path} not in the ZIP`);
          continue;
        }
        const catalogSha = f.role === 'rendition' ? item.rendition.sha256 : item.originals[originals.indexOf(f)]?.sha256;
        if (sha(e.bytes) !== f.sha256 || f.sha256 !== catalogSha || e.bytes.length !== f.size) problems.push(`${d.id}: ${f.path} hashes to ${sha(e.bytes)}, manifest ${f.sha256}, catalog ${catalogSha}`);
        if (f.role === 'original' && !e.bytes.equals(k.originals[originals.indexOf(f)]!)) problems.push(`${d.id}: ${f.path} is not the original uploaded in that place`);
      }
    }
    for (const e of entries) if (!listed.has(e.name)) problems.push(`in the ZIP, not in manifest.json: ${e.name}`);

    // manifest.csv: BOM, CRLF, the README's columns, one row per document with the oracle's cells.
    const csvBytes = byName.get('manifest.csv')!.bytes;
    if (sha(csvBytes) !== manifest.manifestCsv.sha256 || csvBytes.length !== manifest.manifestCsv.size) problems.push('manifest.csv does not match manifestCsv');
    const csvText = csvBytes.toString('utf8');
    if (!csvText.startsWith('\uFEFF')) problems.push('manifest.csv has no BOM');
    if (/(^|[^\r])\n/.test(csvText.replace(/"[^"]*"/g, ''))) problems.push('manifest.csv has a bare LF');
    const rows = parseCsv(csvText, separator);
    expect(rows[0]).toEqual(COLUMNS);
    const body = rows.slice(1);
    if (body.length !== manifest.documents.length) problems.push(`manifest.csv has ${body.length} rows for ${manifest.documents.length} documents`);
    for (const row of body) {
      if (row.length !== COLUMNS.length) problems.push(`row of ${row.length} cells: ${JSON.stringify(row)}`);
      const cell = Object.fromEntries(COLUMNS.map((col, i) => [col, row[i] ?? '']));
      const k = c.known.get(cell.documentId!);
      const d = manifest.documents.find((x) => x.id === cell.documentId);
      if (!k || !d) {
        problems.push(`CSV row of an unknown document ${cell.documentId}`);
        continue;
      }
      const m = k.metadata;
      const files = d.files;
      const originals = files.filter((f) => f.role === 'original');
      const rendition = files.find((f) => f.role === 'rendition')!;
      const wantCells: Record<string, string> = {
        documentId: k.id,
        fiscalYear: String(fiscalYearOf(k)),
        documentDate: m.documentDate ?? '',
        kind: m.kind ?? '',
        counterparty: asText(m.counterparty),
        amount: asNumber(m.amount, decimalMark),
        currency: m.currency ?? '',
        reference: asText(m.reference),
        tags: asText(m.tags?.join(' | ')),
        createdAt: k.createdAt,
        renditionPath: rendition.path,
        renditionSize: String(rendition.size),
        renditionSha256: rendition.sha256,
        originalCount: String(originals.length),
        originalPaths: originals.map((o) => o.path).join(' | '),
        originalMediaTypes: originals.map((o) => o.mediaType).join(' | '),
        originalSizes: originals.map((o) => String(o.size)).join(' | '),
        originalSha256s: originals.map((o) => o.sha256).join(' | '),
      };
      for (const [col, v] of Object.entries(wantCells)) if (cell[col] !== v) problems.push(`${k.id} CSV ${col}: ${JSON.stringify(cell[col])}, oracle ${JSON.stringify(v)}`);
      // As a spreadsheet reads it: the amount a number equal to the corrected one; no text cell a formula.
      if (m.amount !== undefined && spreadsheetNumber(cell.amount!, decimalMark) !== m.amount) problems.push(`${k.id} CSV amount ${cell.amount} reads as ${spreadsheetNumber(cell.amount!, decimalMark)}, not ${m.amount}`);
      for (const col of COLUMNS) if (/^[=+@\t\r]/.test(cell[col]!) || (/^-/.test(cell[col]!) && spreadsheetNumber(cell[col]!, decimalMark) === null)) problems.push(`${k.id} CSV ${col} would run as a formula: ${cell[col]}`);
    }

    // The CLI's offline verify: ok as built; not ok once one byte of any file's data is changed.
    expect(await verified(zip)).toEqual([]);
    const rand = random(CASES.indexOf(kase) + 1);
    const sample = [entries.find((e) => e.name === 'manifest.json'), entries.find((e) => e.name === 'manifest.csv'), entries.find((e) => e.name.startsWith('documents/')), entries.find((e) => e.name.startsWith('originals/'))];
    for (const e of sample) {
      if (!e || e.dataEnd <= e.dataStart) continue;
      const changed = Buffer.from(zip);
      const at = e.dataStart + Math.floor(rand() * (e.dataEnd - e.dataStart));
      changed[at] = changed[at]! ^ (1 + Math.floor(rand() * 255));
      if ((await verified(changed)).length === 0) problems.push(`verify passes with byte ${at} (in ${e.name}) changed`);
    }
    expect(problems).toEqual([]);
  });
});

function START_OF(c: Corpus): string {
  return [...c.known.values()][0]!.createdAt;
}
