/**
 * Every way to ask for bytes gets exactly the bytes it asked for, or a clear refusal (generated sweep).
 *
 * Rows: every operation of the route table (functions/routes.ts) that answers bytes (a response with `stream`:
 * original, originals/{n}, rendition, validation report, export download; an operation added later that streams fails
 * this file until it is a row), each for the file kinds its row in ROWS names: a small file, the smallest the archive stores
 * (an upload of the 8-byte PNG signature: the original; its rendition and report are what they are), one above
 * ARCHIVE_STREAMED_ANSWER_MAX_BYTES (the env's floor, 64 KiB, for a 70 KB original; a rendition, report or ZIP that
 * small stays under it, so for those the scene lowers the loaded config below the file's size, as
 * audit-complete.test.ts does), a corrected, a held and a disposed document (an export: completed, above the cap,
 * expired, withdrawn by the disposal of a document it held). Columns (ASKS): no header; HEAD; the Range forms (bytes=0-0, 0-, -1, -0, a suffix longer than the file,
 * first-last past the end, first past the end, last < first, several and overlapping ranges, whitespace, `bytes = 0-1`,
 * another unit, 2^64 and longer numbers, negative, leading zeros, a Range above the streamed cap); If-Range with the
 * ETag, another, a weak one, a date; If-None-Match with the ETag, `*`, a list, a weak form, another; If-Match with the
 * ETag, `*`, another, a weak form; `?delivery=redirect` with and without a Range; a client that stops reading after the
 * first chunk; the same file fetched in two ranges (a resume: the second continues the first exactly), and the same
 * request twice (the same bytes and headers); provider staff under a read-only grant (documents only: support never
 * holds exports:create): no header, bytes=0-, a piece of the cap with If-Range, If-None-Match, `?delivery=redirect`
 * (403 support-no-links), and the whole file in pieces of the cap (above it: 422 range_too_large naming the cap).
 *
 * Each cell computes what RFC 9110 and the README make of the ask (expect()) and checks from the answer: the status;
 * 200/206 with Content-Range, Content-Length and Accept-Ranges agreeing with the body, and the body exactly the asked
 * slice of the stored blob (w.deps.blobs / exportBlobs), as the file's Content-Type, as an attachment; ETag and
 * Repr-Digest those of the whole file (the catalog's SHA-256, which the blob hashes to), the same whatever the range; a
 * 416 with Content-Range `bytes *` + `/<size>` (one string; a comment cannot hold it) and
 * problem+json; a 304 without body; a 303 with Location and Link-Expires; exactly one audit entry of the request, its
 * detail naming what was sent (`sha256=<ETag>`, `;bytes=<Content-Range>`, `;link-until=<Link-Expires>`); nothing stored
 * by the read but that entry (storedChanges); a disposed document or an expired export 410, never bytes or its hashes.
 *
 * Decided by design (the cells say so):
 * - HEAD asks every question again (each column but the client that stops reading): the GET's status and header fields,
 *   Content-Length what the GET would carry, no content, storage not read, one audit entry whose detail is the GET's
 *   after `head;` (RFC 9110 §9.3.2).
 * - a Range the archive does not serve as one range (several or overlapping ranges, last < first, another unit,
 *   `bytes = 0-1`, a negative, `Bytes=` (RFC 9110 lets units match case-insensitively, but need not serve them), a
 *   trailing empty list element) is ignored: the whole file, 200, as RFC 9110 §14.2 allows ("a server MAY ignore the
 *   Range header field"); never a part of it as if it were the asked one.
 * - If-Range with a weak ETag, another ETag or a date drops the range (200, the whole file): If-Range needs a strong
 *   match (RFC 9110 §13.1.5), and the archive's validator is its ETag; a date is never a strong validator here.
 * - If-None-Match compares weakly (W/"…" matches, RFC 9110 §13.1.2); its 304 names the file validated (detail
 *   `sha256=…`), no bytes.
 * - `?delivery=redirect` with an unsatisfiable Range is still the link (storage answers the 416).
 * - support's `?delivery=redirect` of a disposed document is 403 support-no-links, not 410: the rule is about who
 *   asks and is checked before the document is read, the same for any id.
 * - a client that stops reading keeps its success entry naming the whole file (audit-complete.test.ts says why).
 */
import { createHash } from 'node:crypto';
import { runSweepTimer } from '../../../shared/retention/timers';
import { type Answer, approval, type Call, delivering, dueDocs, exportCompleted, ok, send, settle, storedChanges, TABLE, TENANT, validationWorker, world, type World } from '../../support/in-process';
import { matchRoute } from '../../../shared/http/route-match';
import type { InMemoryExportBlobs, InMemoryExportJobs } from '../../support/in-memory';

const CAP_ENV = 64 * 1024;
const PNG = Buffer.from('\x89PNG\r\n\x1a\n', 'latin1');
const png = (n: number, tag: string) => Buffer.concat([PNG, Buffer.alloc(Math.max(0, n - PNG.length), tag)]).subarray(0, Math.max(n, PNG.length));

type FileKind = 'small' | 'smallest' | 'large' | 'corrected' | 'held' | 'disposed' | 'expired' | 'withdrawn';

/** What a row's cell reads: the path, the stored bytes and the catalog's SHA-256 (null: gone, expect 410). */
interface Target {
  w: World;
  path: string;
  stored: Buffer | null;
  sha256: string | null;
  /** The Content-Type its bytes are sent as. */
  mediaType?: string;
  /** Provider staff holding a read-only grant may ask too (documents, not exports: they never hold exports:create). */
  support?: boolean;
  gone?: { status: number; code: string };
}

// ---- Scenes ----

async function uploadDoc(w: World, bytes: Buffer): Promise<string> {
  return (await ok(w, { method: 'POST', path: 'documents', raw: { bytes, type: 'image/png' }, as: 'up' }, 201)).json.id as string;
}

async function documentScene(kind: FileKind): Promise<{ w: World; id: string }> {
  const w = world({ ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP_ENV) });
  if (kind === 'disposed') {
    const [id] = await dueDocs(w);
    await ok(w, approval(w), 201);
    await runSweepTimer(w.deps);
    await settle(w);
    return { w, id: id! };
  }
  const bytes = kind === 'smallest' ? PNG : kind === 'large' ? png(70_000, `large ${Math.random()}`) : png(40, `${kind} ${Math.random()} `);
  const id = await uploadDoc(w, bytes);
  if (kind === 'corrected') {
    const etag = (await ok(w, { method: 'GET', path: `documents/${id}` })).headers.ETag!;
    await ok(w, { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-2' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': etag }, as: 'up' });
  }
  if (kind === 'held') await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }, 201);
  return { w, id };
}

async function runValidation(w: World): Promise<void> {
  delivering(w);
  await (validationWorker as { run: (w: World) => Promise<unknown> }).run(w);
  await settle(w);
}

/** Lowers the loaded cap below a file the env's floor cannot go under (README: at least 65536). */
function capBelow(w: World, size: number): void {
  if (size > w.deps.config.ARCHIVE_STREAMED_ANSWER_MAX_BYTES) return;
  (w.deps.config as { ARCHIVE_STREAMED_ANSWER_MAX_BYTES: number }).ARCHIVE_STREAMED_ANSWER_MAX_BYTES = Math.max(1, Math.floor(size / 2));
}

function documentRow(representation: 'original' | 'part' | 'rendition' | 'validation') {
  return async (kind: FileKind): Promise<Target> => {
    const { w, id } = await documentScene(kind);
    if (representation === 'validation' && kind !== 'disposed') await runValidation(w);
    const path = `documents/${id}/${{ original: 'original', part: 'originals/1', rendition: 'rendition', validation: 'validation' }[representation]}`;
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 72 * 3600_000).toISOString() }, as: 'alice' }, 201);
    if (doc.status !== 'active') return { w, path, stored: null, sha256: null, support: true, gone: { status: 410, code: 'document_disposed' } };
    const file = representation === 'rendition' ? doc.rendition : representation === 'validation' ? { mediaType: 'application/json', ...(doc.validation as { report: { blobName: string; sha256: string } }).report } : doc.originals[0]!;
    const stored = w.deps.blobs.blobs.get(`${TENANT}/${file.blobName}`)!.bytes;
    if (kind === 'large') capBelow(w, stored.length);
    return { w, path, stored, sha256: file.sha256, mediaType: file.mediaType, support: true };
  };
}

async function exportRow(kind: FileKind): Promise<Target> {
  const w = world({ ARCHIVE_STREAMED_ANSWER_MAX_BYTES: String(CAP_ENV) });
  // Withdrawn: it holds documents past their retention, disposed of after it completed (README, *Exports*).
  if (kind === 'withdrawn') await dueDocs(w);
  else await uploadDoc(w, png(40, `export ${Math.random()} `));
  const id = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'carol' }, 202)).json.id as string;
  const job = await exportCompleted(w, id);
  const path = `exports/${id}/download`;
  if (kind === 'withdrawn') {
    await ok(w, approval(w), 201);
    await runSweepTimer(w.deps);
    await settle(w);
    if (!(w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${id}`)?.withdrawn) throw new Error(`export ${id} was not withdrawn`);
    return { w, path, stored: null, sha256: null, gone: { status: 410, code: 'export_expired' } };
  }
  if (kind === 'expired') {
    w.clock.set(new Date(Date.parse(job.expiresAt) + 1000));
    return { w, path, stored: null, sha256: null, gone: { status: 410, code: 'export_expired' } };
  }
  const stored = (w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`)!;
  if (kind === 'large') capBelow(w, stored.length);
  return { w, path, stored, sha256: job.archive!.sha256, mediaType: 'application/zip' };
}

/** Each streaming operation: how to reach its file of each kind. */
const ROWS: Record<string, { kinds: FileKind[]; target: (kind: FileKind) => Promise<Target> }> = {
  downloadOriginal: { kinds: ['small', 'smallest', 'large', 'corrected', 'held', 'disposed'], target: documentRow('original') },
  downloadOriginalPart: { kinds: ['small', 'smallest', 'large', 'corrected', 'held', 'disposed'], target: documentRow('part') },
  downloadRendition: { kinds: ['small', 'smallest', 'large', 'corrected', 'held', 'disposed'], target: documentRow('rendition') },
  downloadValidationReport: { kinds: ['small', 'smallest', 'large', 'corrected', 'held', 'disposed'], target: documentRow('validation') },
  downloadExport: { kinds: ['small', 'large', 'expired', 'withdrawn'], target: exportRow },
};

const STREAMING = TABLE.map((t) => t.route).filter((op) => Object.values(op.responses ?? {}).some((r) => typeof r === 'object' && r !== null && 'stream' in r));

// ---- Asks and what they should get ----

interface Ctx {
  size: number;
  etag: string;
  cap: number;
}
/** What an ask should get: the status, and for 206 the range; for 303 the range the entry names (or none). */
interface Expect {
  status: 200 | 206 | 303 | 304 | 403 | 412 | 416 | 422;
  range?: [number, number];
  why?: string;
}
interface Ask {
  name: string;
  /** HEAD instead of GET: the same question, the answer without content. */
  head?: boolean;
  headers?: (c: Ctx) => Record<string, string>;
  query?: string;
  stopsReading?: boolean;
  /** Asked by provider staff under a read-only grant (they get no links: rule support-no-links). */
  support?: boolean;
  expect: (c: Ctx) => Expect;
}

/** A range as served: within the cap, 206; above, the link naming it (README, *Large downloads*). */
const ranged = (c: Ctx, s: number, e: number): Expect => (e - s + 1 > c.cap ? { status: 303, range: [s, e] } : { status: 206, range: [s, e] });
const whole = (c: Ctx, why?: string): Expect => (c.size > c.cap ? { status: 303, why } : { status: 200, why });
const TWO_64 = '18446744073709551616';
const LONG = '9'.repeat(400);

const ASKS: Ask[] = [
  { name: 'no header', expect: (c) => whole(c) },
  { name: 'bytes=0-0', headers: () => ({ Range: 'bytes=0-0' }), expect: (c) => ranged(c, 0, 0) },
  { name: 'bytes=0-', headers: () => ({ Range: 'bytes=0-' }), expect: (c) => ranged(c, 0, c.size - 1) },
  { name: 'bytes=1-3', headers: () => ({ Range: 'bytes=1-3' }), expect: (c) => ranged(c, 1, Math.min(3, c.size - 1)) },
  { name: 'bytes=-1', headers: () => ({ Range: 'bytes=-1' }), expect: (c) => ranged(c, c.size - 1, c.size - 1) },
  { name: 'bytes=-0 (416)', headers: () => ({ Range: 'bytes=-0' }), expect: () => ({ status: 416 }) },
  { name: 'a suffix longer than the file', headers: (c) => ({ Range: `bytes=-${c.size + 10}` }), expect: (c) => ranged(c, 0, c.size - 1) },
  { name: 'first-last past the end', headers: (c) => ({ Range: `bytes=2-${c.size + 10}` }), expect: (c) => ranged(c, 2, c.size - 1) },
  { name: 'first at the end (416)', headers: (c) => ({ Range: `bytes=${c.size}-` }), expect: () => ({ status: 416 }) },
  { name: 'first-last both past the end (416)', headers: (c) => ({ Range: `bytes=${c.size + 5}-${c.size + 9}` }), expect: () => ({ status: 416 }) },
  { name: 'last < first (ignored)', headers: () => ({ Range: 'bytes=3-1' }), expect: (c) => whole(c, 'an invalid range-spec: the field is ignored') },
  { name: 'several ranges (ignored)', headers: () => ({ Range: 'bytes=0-1,3-4' }), expect: (c) => whole(c, 'one range served, several ignored') },
  { name: 'overlapping ranges (ignored)', headers: () => ({ Range: 'bytes=0-3,2-5' }), expect: (c) => whole(c, 'one range served, several ignored') },
  { name: 'spaces around the field value', headers: () => ({ Range: '  bytes=0-1 ' }), expect: (c) => ranged(c, 0, 1) },
  { name: 'bytes = 0-1 (ignored)', headers: () => ({ Range: 'bytes = 0-1' }), expect: (c) => whole(c, 'not the grammar: ignored') },
  { name: 'bytes=0 - 1 (ignored)', headers: () => ({ Range: 'bytes=0 - 1' }), expect: (c) => whole(c, 'not the grammar: ignored') },
  { name: 'a tab after the value', headers: () => ({ Range: 'bytes=0-1\t' }), expect: (c) => ranged(c, 0, 1) },
  { name: 'bytes=0-1, (a trailing empty element: ignored)', headers: () => ({ Range: 'bytes=0-1,' }), expect: (c) => whole(c, 'not one range as served: ignored') },
  { name: 'Bytes=0-1 (unit case: ignored)', headers: () => ({ Range: 'Bytes=0-1' }), expect: (c) => whole(c, 'the unit is matched as sent: ignored') },
  { name: 'another unit items=0-1 (ignored)', headers: () => ({ Range: 'items=0-1' }), expect: (c) => whole(c, 'a unit not served: ignored') },
  { name: 'bytes=- (ignored)', headers: () => ({ Range: 'bytes=-' }), expect: (c) => whole(c, 'not the grammar: ignored') },
  { name: 'last 2^64', headers: () => ({ Range: `bytes=1-${TWO_64}` }), expect: (c) => ranged(c, 1, c.size - 1) },
  { name: 'first 2^64 (416)', headers: () => ({ Range: `bytes=${TWO_64}-` }), expect: () => ({ status: 416 }) },
  { name: 'suffix 2^64', headers: () => ({ Range: `bytes=-${TWO_64}` }), expect: (c) => ranged(c, 0, c.size - 1) },
  { name: 'a 400-digit last', headers: () => ({ Range: `bytes=0-${LONG}` }), expect: (c) => ranged(c, 0, c.size - 1) },
  { name: 'a 400-digit first (416)', headers: () => ({ Range: `bytes=${LONG}-` }), expect: () => ({ status: 416 }) },
  { name: 'last < first, both above 2^53 (ignored)', headers: () => ({ Range: 'bytes=9007199254740993-9007199254740992' }), expect: (c) => whole(c, 'an invalid range-spec: the field is ignored') },
  { name: 'negative first (ignored)', headers: () => ({ Range: 'bytes=-1-2' }), expect: (c) => whole(c, 'not the grammar: ignored') },
  { name: 'negative last (ignored)', headers: () => ({ Range: 'bytes=0--1' }), expect: (c) => whole(c, 'not the grammar: ignored') },
  { name: 'leading zeros', headers: () => ({ Range: 'bytes=0001-0002' }), expect: (c) => ranged(c, 1, Math.min(2, c.size - 1)) },
  { name: 'a Range above the streamed cap', headers: (c) => ({ Range: `bytes=0-${c.cap}` }), expect: (c) => ranged(c, 0, Math.min(c.cap, c.size - 1)) },
  { name: 'If-Range the ETag', headers: (c) => ({ Range: 'bytes=1-2', 'If-Range': c.etag }), expect: (c) => ranged(c, 1, Math.min(2, c.size - 1)) },
  { name: 'If-Range another ETag', headers: () => ({ Range: 'bytes=1-2', 'If-Range': '"0000"' }), expect: (c) => whole(c, 'If-Range fails: the whole file') },
  { name: 'If-Range a weak ETag', headers: (c) => ({ Range: 'bytes=1-2', 'If-Range': `W/${c.etag}` }), expect: (c) => whole(c, 'If-Range compares strongly') },
  { name: 'If-Range a date', headers: () => ({ Range: 'bytes=1-2', 'If-Range': 'Sat, 01 Jan 2000 00:00:00 GMT' }), expect: (c) => whole(c, 'a date is no strong validator here') },
  { name: 'If-None-Match the ETag', headers: (c) => ({ 'If-None-Match': c.etag }), expect: () => ({ status: 304 }) },
  { name: 'If-None-Match *', headers: () => ({ 'If-None-Match': '*' }), expect: () => ({ status: 304 }) },
  { name: 'If-None-Match a list', headers: (c) => ({ 'If-None-Match': `"0000", ${c.etag}` }), expect: () => ({ status: 304 }) },
  { name: 'If-None-Match weak', headers: (c) => ({ 'If-None-Match': `W/${c.etag}` }), expect: () => ({ status: 304 }) },
  { name: 'If-None-Match another, with a Range', headers: () => ({ 'If-None-Match': '"0000"', Range: 'bytes=0-0' }), expect: (c) => ranged(c, 0, 0) },
  { name: 'If-Match the ETag', headers: (c) => ({ 'If-Match': c.etag, Range: 'bytes=0-0' }), expect: (c) => ranged(c, 0, 0) },
  { name: 'If-Match *', headers: () => ({ 'If-Match': '*' }), expect: (c) => whole(c) },
  { name: 'If-Match another (412)', headers: () => ({ 'If-Match': '"0000"', Range: 'bytes=0-0' }), expect: () => ({ status: 412 }) },
  { name: 'If-Match weak (412: strong comparison)', headers: (c) => ({ 'If-Match': `W/${c.etag}` }), expect: () => ({ status: 412 }) },
  { name: '?delivery=redirect', query: 'delivery=redirect', expect: () => ({ status: 303 }) },
  { name: '?delivery=redirect with a Range', query: 'delivery=redirect', headers: () => ({ Range: 'bytes=1-2' }), expect: (c) => ({ status: 303, range: [1, Math.min(2, c.size - 1)] }) },
  { name: '?delivery=redirect with a Range past the end', query: 'delivery=redirect', headers: (c) => ({ Range: `bytes=${c.size}-` }), expect: () => ({ status: 303, why: 'storage answers the 416' }) },
  { name: 'a client that stops reading after the first chunk', stopsReading: true, expect: (c) => whole(c) },
  // Support: never a link; above the cap a refusal naming the piece to ask for (README, *Large downloads*).
  { name: 'support: no header', support: true, expect: (c) => (c.size > c.cap ? { status: 422 } : { status: 200 }) },
  { name: 'support: bytes=0-', support: true, headers: () => ({ Range: 'bytes=0-' }), expect: (c) => (c.size > c.cap ? { status: 422 } : { status: 206, range: [0, c.size - 1] }) },
  { name: 'support: a piece of the cap', support: true, headers: (c) => ({ Range: `bytes=0-${c.cap - 1}`, 'If-Range': c.etag }), expect: (c) => ({ status: 206, range: [0, Math.min(c.cap, c.size) - 1] }) },
  { name: 'support: If-None-Match the ETag', support: true, headers: (c) => ({ 'If-None-Match': c.etag }), expect: () => ({ status: 304 }) },
  { name: 'support: ?delivery=redirect (403)', support: true, query: 'delivery=redirect', expect: () => ({ status: 403 }) },
];

// ---- Checks ----

const digestOf = (sha: string) => `sha-256=:${Buffer.from(sha, 'hex').toString('base64')}:`;
let reqSeq = 0;

async function ask(t: Target, a: Pick<Ask, 'headers' | 'query' | 'stopsReading' | 'support' | 'head'>, c: Ctx): Promise<Answer> {
  const call: Call = { method: a.head ? 'HEAD' : 'GET', path: a.query ? `${t.path}?${a.query}` : t.path, headers: a.headers?.(c) ?? {}, as: a.support ? 'support.staff' : 'alice' };
  const r = await send(t.w, call, `dl-${++reqSeq}`, { stopsReading: a.stopsReading });
  await settle(t.w);
  return r;
}

/** What is wrong with an answer to an ask expected `e` of the file `t` (`head`: asked with HEAD). */
function judge(t: Target, r: Answer, e: Expect, c: Ctx, stopsReading = false, head = false): string[] {
  const found: string[] = [];
  const h = r.headers;
  if (r.status !== e.status) found.push(`status ${r.status} ${r.json?.code ?? ''}, expected ${e.status}${e.why ? ` (${e.why})` : ''}`);
  const entries = t.w.deps.audit.entries.filter((x) => x.requestId === r.requestId);
  if (entries.length !== 1) found.push(`${entries.length} audit entries`);
  // A HEAD's entry says so; what it would have read, the GET's detail, follows.
  const asked = entries[0]?.detail ?? '';
  const detail = head && r.status < 400 ? (asked.startsWith('head;') ? asked.slice(5) : `(no head;) ${asked}`) : asked;
  const read = `sha256=${t.sha256}`;
  if (head && r.bytes.length !== 0) found.push(`a HEAD answered with ${r.bytes.length} bytes of content`);
  if (r.status >= 400) {
    if (h['Content-Type'] !== 'application/problem+json') found.push(`a ${r.status} as ${h['Content-Type']}`);
    if (head) {
      if (entries[0] && entries[0].outcome === 'success') found.push('a refusal audited as a success');
      if (h.ETag || h['Repr-Digest']) found.push('a refusal carries the checksum headers');
      if (r.status === 416 && h['Content-Range'] !== `bytes */${c.size}`) found.push(`416 Content-Range ${h['Content-Range']}`);
      return found;
    }
    if (r.json?.status !== r.status) found.push('problem status differs');
    if (h.ETag || h['Repr-Digest']) found.push('a refusal carries the checksum headers');
    if (r.status === 416 && h['Content-Range'] !== `bytes */${c.size}`) found.push(`416 Content-Range ${h['Content-Range']}`);
    if (r.status === 422 && (r.json?.code !== 'range_too_large' || r.json?.maxRangeBytes !== c.cap || r.json?.size !== c.size)) found.push(`422 ${r.json?.code} maxRangeBytes ${r.json?.maxRangeBytes} size ${r.json?.size}`);
    if (r.status === 403 && r.json?.rule !== 'support-no-links') found.push(`403 rule ${r.json?.rule}`);
    if (entries[0] && entries[0].outcome === 'success') found.push('a refusal audited as a success');
    return found;
  }
  if (h.ETag !== c.etag) found.push(`ETag ${h.ETag}, the whole file's is ${c.etag}`);
  if (h['Repr-Digest'] !== digestOf(t.sha256!)) found.push(`Repr-Digest ${h['Repr-Digest']}`);
  if (h['Accept-Ranges'] !== 'bytes') found.push(`Accept-Ranges ${h['Accept-Ranges']}`);
  if (entries[0] && entries[0].outcome !== 'success') found.push(`a ${r.status} audited ${entries[0].outcome}`);
  if (r.status === 304) {
    if (r.bytes.length !== 0) found.push('a 304 with a body');
    if (detail !== read) found.push(`detail ${detail}, expected ${read}`);
  } else if (r.status === 303) {
    if (!h.Location) found.push('303 without Location');
    if (r.bytes.length !== 0) found.push('a 303 with bytes');
    const want = `${read}${e.range ? `;bytes=${e.range[0]}-${e.range[1]}` : ''};link-until=${h['Link-Expires']}`;
    if (detail !== want) found.push(`detail ${detail}, expected ${want}`);
  } else {
    const [s, end] = r.status === 206 ? e.range ?? [0, c.size - 1] : [0, c.size - 1];
    const slice = t.stored!.subarray(s, end + 1);
    if (r.status === 206 && h['Content-Range'] !== `bytes ${s}-${end}/${c.size}`) found.push(`Content-Range ${h['Content-Range']}, expected bytes ${s}-${end}/${c.size}`);
    if (r.status === 200 && h['Content-Range'] !== undefined) found.push(`a 200 with Content-Range ${h['Content-Range']}`);
    if (h['Content-Type'] !== t.mediaType) found.push(`Content-Type ${h['Content-Type']}, the file is ${t.mediaType}`);
    if (!h['Content-Disposition']?.startsWith('attachment')) found.push(`Content-Disposition ${h['Content-Disposition']}`);
    if (h['Content-Length'] !== String(slice.length)) found.push(`Content-Length ${h['Content-Length']}, the slice has ${slice.length}`);
    if (!head && (stopsReading ? !slice.subarray(0, r.bytes.length).equals(r.bytes) : !r.bytes.equals(slice))) found.push(`body of ${r.bytes.length} bytes is not bytes ${s}-${end} of the stored file`);
    const want = r.status === 206 ? `${read};bytes=${s}-${end}` : read;
    if (detail !== want) found.push(`detail ${detail}, expected ${want}`);
  }
  return found;
}

function judgeGone(t: Target, r: Answer, a: Ask): string[] {
  const found: string[] = [];
  // By design: support's link is refused for what they are (rule support-no-links) before any document is looked at,
  // the same 403 for any id, so it tells nothing of the document.
  const gone = a.support && a.query === 'delivery=redirect' ? { status: 403, code: 'forbidden' } : t.gone!;
  // A HEAD's refusal has no content to name its code: its status says it.
  if (r.status !== gone.status || (!a.head && r.json?.code !== gone.code)) found.push(`answered ${r.status} ${r.json?.code ?? ''}, expected ${gone.status} ${gone.code}`);
  if (a.head && r.bytes.length !== 0) found.push('a HEAD answered with content');
  if (r.headers['Content-Type'] !== 'application/problem+json') found.push(`as ${r.headers['Content-Type']}`);
  if (r.headers.ETag || r.headers['Repr-Digest'] || r.headers.Location || r.headers['Content-Range']) found.push('a gone file answered with its headers');
  const entries = t.w.deps.audit.entries.filter((x) => x.requestId === r.requestId);
  if (entries.length !== 1 || entries[0]!.outcome === 'success') found.push(`${entries.length} entries, ${entries[0]?.outcome}`);
  return found;
}

// ---- The sweep ----

it('every operation that answers bytes is a row', () => {
  expect(STREAMING.map((op) => op.name).sort()).toEqual(Object.keys(ROWS).sort());
});

it('HEAD is routed to the GET operation of every path that answers bytes', () => {
  for (const op of STREAMING) {
    const path = `/api/${op.route.replace(/\{[^}]+\}/g, '1')}`;
    const m = matchRoute(TABLE, 'HEAD', path);
    expect('route' in m ? m.route.name : m.allow).toBe(op.name);
  }
});

/** Every question asked again with HEAD but the client that stops reading (a HEAD has nothing to read). */
const ASKED = [...ASKS.map((a) => [a.name, a] as const), ...ASKS.filter((a) => !a.stopsReading).map((a) => [`HEAD, ${a.name}`, { ...a, head: true }] as const)];

const CELLS = STREAMING.flatMap((op) => (ROWS[op.name]?.kinds ?? []).map((kind) => [`${op.name} ${kind}`, op.name, kind] as const));

describe.each(CELLS)('%s', (_n, opName, kind) => {
  let t: Target;
  let c: Ctx;
  let before: string;
  beforeAll(async () => {
    t = await ROWS[opName]!.target(kind);
    c = { size: t.stored?.length ?? 0, etag: `"${t.sha256}"`, cap: t.w.deps.config.ARCHIVE_STREAMED_ANSWER_MAX_BYTES };
    before = storedChanges(t.w);
  });

  it('the stored file is what the catalog says', () => {
    if (!t.stored) return;
    expect(createHash('sha256').update(t.stored).digest('hex')).toBe(t.sha256);
    if (kind === 'large') expect(c.size).toBeGreaterThan(c.cap);
    else expect(c.size).toBeLessThanOrEqual(c.cap);
  });

  it.each(ASKED)('%s', async (_a, a) => {
    if (a.support && !t.support) return; // an export: support never holds exports:create (reveal-sweep.test.ts)
    const reads = [jest.spyOn(t.w.deps.blobs, 'read'), jest.spyOn(t.w.deps.exportBlobs, 'readIfExists')];
    const r = await ask(t, a, c).finally(() => reads.forEach((spy) => spy.mockRestore()));
    const found = t.gone ? judgeGone(t, r, a) : judge(t, r, a.expect(c), c, a.stopsReading, a.head);
    if (a.head && reads.some((spy) => spy.mock.calls.length > 0)) found.push('a HEAD read the file from storage');
    expect(storedChanges(t.w) === before || 'a read stored something').toBe(true);
    expect(found).toEqual([]);
  });

  it('the same file in two ranges: the second continues the first exactly (If-Range its ETag)', async () => {
    if (t.gone) return;
    const k = Math.max(1, Math.min(Math.floor(c.size / 2), c.cap));
    const first = await ask(t, { headers: () => ({ Range: `bytes=0-${k - 1}` }) }, c);
    const second = await ask(t, { headers: () => ({ Range: `bytes=${k}-`, 'If-Range': first.headers.ETag! }) }, c);
    const found = [...judge(t, first, ranged(c, 0, k - 1), c), ...judge(t, second, ranged(c, k, c.size - 1), c)];
    if (first.headers.ETag !== second.headers.ETag || first.headers['Repr-Digest'] !== second.headers['Repr-Digest']) found.push('checksum headers differ between the pieces');
    if (first.status === 206 && second.status === 206 && !Buffer.concat([first.bytes, second.bytes]).equals(t.stored!)) found.push('the two pieces are not the file');
    // The same request again answers the same bytes and headers (but its request id).
    const again = await ask(t, { headers: () => ({ Range: `bytes=0-${k - 1}` }) }, c);
    const same = (x: Answer) => JSON.stringify([x.status, x.bytes.toString('base64'), Object.entries(x.headers).filter(([n]) => !/^(x-request-id|request-id|Link-Expires|Location)$/i.test(n))]);
    if (same(again) !== same(first)) found.push(`the same request answered differently: ${same(first)} then ${same(again)}`);
    expect(storedChanges(t.w) === before || 'a read stored something').toBe(true);
    expect(found).toEqual([]);
  });

  it('support fetches the whole file in pieces of the cap, each with If-Range: the pieces are the file', async () => {
    if (t.gone || !t.support) return;
    const found: string[] = [];
    const pieces: Buffer[] = [];
    for (let s = 0; s < c.size; s += c.cap) {
      const e = Math.min(s + c.cap, c.size) - 1;
      const r = await ask(t, { support: true, headers: () => ({ Range: `bytes=${s}-${e}`, 'If-Range': c.etag }) }, c);
      found.push(...judge(t, r, { status: 206, range: [s, e] }, c).map((x) => `piece ${s}-${e}: ${x}`));
      pieces.push(r.bytes);
    }
    if (!Buffer.concat(pieces).equals(t.stored!)) found.push('the pieces are not the file');
    expect(storedChanges(t.w) === before || 'a read stored something').toBe(true);
    expect(found).toEqual([]);
  });
});
