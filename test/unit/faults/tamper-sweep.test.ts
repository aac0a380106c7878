/**
 * What is stored changed behind the archive's back is never served or reported as intact (generated sweep).
 *
 * Storage is WORM in Azure, but a backup restore, an operator with data-plane access, a bit flip or Azurite (which
 * ignores WORM) can change it. Each row puts one change into the in-memory stores directly, after a normal upload of two
 * documents (`a`, whose things are changed, and `b`, another document of the tenant), a metadata correction of `a`, an
 * export of everything (its ZIP) and the audit log chained and sealed.
 *
 * Rows (TAMPERS): an original's bytes changed (one bit, same length), truncated, replaced by `b`'s original; the
 * rendition likewise; the manifest's hashes, tenant or document id changed; the kept metadata correction blob changed;
 * the catalog item's sha256 and size set to match changed bytes (an attacker who can write both); the catalog item's
 * blobName pointed at `b`'s original (with, or without, `b`'s sha256 and size), its rendition at `b`'s; the catalog
 * item moved to another tenant's partition; an audit entry's field changed, an entry deleted, two swapped (their
 * places in the chain exchanged), the tail cut, a seal blob changed; a file of an export's ZIP changed after it was
 * built, the ZIP truncated.
 * Columns (READERS): the export's ZIP downloaded; the original streamed whole and as a Range; the rendition streamed;
 * the original's `?delivery=redirect` answer (its ETag and Repr-Digest, the bytes its link reads); GET document; an
 * export run (re-hash); the export's ZIP (built before the change) as the CLI's offline `verify` reads it; the fixity
 * check timer; the reconciler timer; the validation worker (the upload's request; a request the requeue timer sends
 * anew from the catalog as it is now); GET audit/verify.
 * Each cell: a reader the row names as DETECTING (with why) raises a signal within its own run: an error log line (an
 * operator's alert, mostly FIXITY_MISMATCH), a failed system audit entry (document.fixity-failed, blobs-missing) or a
 * document.reindex entry, a 4xx/5xx answer, a failed export, a report naming the problem (CLI verify, audit verify with
 * its kind and seq), and says nothing is ok. In every cell, signal or not: bytes answered without a signal carry
 * either their own checksum or the archived one (never a third), and never another document's bytes under their own
 * checksum as `a`'s.
 * Decided by design (cells with no DETECTS): a streamed download cannot know a same-length change before its last
 * byte: its ETag and Repr-Digest are the archived ones, so the client's check fails (README, CLI Downloads: "the
 * finished file is hashed and compared with the server's Repr-Digest (a mismatch removes the part file and exits
 * non-zero)"; Large downloads: the app "checks the bytes against the SHA-256 the document or export record gives");
 * a Range piece carries the whole file's checksum alike; a `?delivery=redirect` link reads storage directly, checked
 * by the client the same way (a length change is not seen there: no read); GET document reports the catalog's
 * checksums and reads no blob; the reconciler reads folders, kept-correction presence and hold flags, the validation
 * worker only the rendition, audit verify only the audit log; an attacker who rewrites both a blob and the catalog's
 * sha256 and size is found by the fixity check and an export (the WORM manifest is their second witness), not by a
 * download (consistent bytes and checksums); the offline verifier reads the export built before the change (an
 * export built after it fails instead). A refused download is `500 file_damaged`, logged once (FIXITY_MISMATCH).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { sealAuditLog } from '../../../shared/audit/seal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { runFixityTimer, runReconcileTimer } from '../../../shared/retention/timers';
import { verifyExport } from '../../../cli/core';
import { requeuePendingValidations } from '../../../shared/validation/request';
import type { InMemoryExportBlobs, InMemoryExportJobs, RecordingLogger } from '../../support/in-memory';
import { type Answer, delivering, docOf, ok, send, settle, TENANT, validationWorker, world, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const OTHER = 'acme-2';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Scene {
  w: World;
  a: string;
  b: string;
  month: string;
  /** The catalog item of `a` and `b` as uploaded (the truth), and their originals' bytes. */
  truth: Map<string, ArchivedDocument>;
  bytes: Map<string, Buffer>;
  exportId: string;
  /** The SHA-256 of the export's ZIP as built. */
  zipSha: string;
}

const item = (s: Scene, id: string) => s.w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
const blob = (s: Scene, name: string) => s.w.deps.blobs.blobs.get(`${TENANT}/${name}`) ?? (() => { throw new Error(`no blob ${name}`); })();
const setBytes = (s: Scene, name: string, bytes: Buffer) => void (blob(s, name).bytes = bytes);
const half = (b: Buffer) => b.subarray(0, Math.floor(b.length / 2));
const flip = (b: Buffer) => {
  const c = Buffer.from(b);
  c[c.length - 1] = c[c.length - 1]! ^ 1;
  return c;
};
/** Changes `a`'s catalog item as a data-plane write would (no etag change the code could notice). */
const edit = (s: Scene, change: (d: ArchivedDocument) => ArchivedDocument) => void s.w.deps.catalog.documents.set(`${TENANT}/${s.a}`, change(structuredClone(item(s, s.a))));

async function scene(): Promise<Scene> {
  const w = world();
  w.deps.audit.chained = true;
  const a = await docOf(w);
  const b = await docOf(w);
  await ok(w, { method: 'PATCH', path: `documents/${a}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', reference: 'INV-2' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
  const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
  await settledExport(w, job.id as string);
  await sealAuditLog({ now: w.clock.now(), deps: w.deps });
  const truth = new Map([a, b].map((id) => [id, structuredClone(w.deps.catalog.documents.get(`${TENANT}/${id}`)!)]));
  const bytes = new Map<string, Buffer>();
  for (const d of truth.values()) bytes.set(d.originals[0]!.blobName, w.deps.blobs.blobs.get(`${TENANT}/${d.originals[0]!.blobName}`)!.bytes);
  const zipSha = (w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${job.id}`)!.archive!.sha256;
  return { w, a, b, month: w.clock.now().toISOString().slice(0, 7), truth, bytes, exportId: job.id as string, zipSha };
}

async function settledExport(w: World, id: string) {
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = jobs.get(`${TENANT}/${id}`);
    if (job && job.status !== 'running') return job;
    if (Date.now() > deadline) throw new Error(`export ${id} still ${job?.status ?? 'missing'}`);
    await settle(w);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// ---- The tampers ----

type ReaderName = 'validation worker (requeued)' | 'export ZIP downloaded' | 'original streamed' | 'original Range' | 'rendition streamed' | 'original redirect' | 'GET document' | 'export run' | 'export ZIP verified offline' | 'fixity check' | 'reconciler' | 'validation worker' | 'audit verify';

interface Tamper {
  name: string;
  apply: (s: Scene) => void | Promise<void>;
  /** The readers that must raise a signal, each with why. */
  detects: Partial<Record<ReaderName, string>>;
  /** The tampered export ZIP (only the offline verifier reads it as changed). */
  zip?: (zip: Buffer) => Buffer;
}

const original = (s: Scene, id = s.a) => item(s, id).originals[0]!;
const rendition = (s: Scene, id = s.a) => item(s, id).rendition;
const manifest = (s: Scene, change: (m: Record<string, unknown>) => void) => {
  const name = blobLayout.manifest(s.a);
  const m = JSON.parse(blob(s, name).bytes.toString('utf8')) as Record<string, unknown>;
  change(m);
  setBytes(s, name, Buffer.from(JSON.stringify(m)));
};

const FIXITY = 'the fixity check re-hashes every file and compares the manifest (FIXITY_MISMATCH, document.fixity-failed)';
const EXPORT = 'the export re-hashes each file it writes against the catalog (fails, FIXITY_MISMATCH)';
const VALIDATION = "the validation worker checks the rendition's hash before it validates";
const STREAM_SIZE = 'storage answers the stored length before the first byte: a length that is not the catalog size is refused (FIXITY_MISMATCH)';
const FOLDER = "a catalog file outside the document's own folder is refused before a byte is served";

const TAMPERS: Tamper[] = [
  { name: "an original's bytes: one bit flipped", apply: (s) => setBytes(s, original(s).blobName, flip(blob(s, original(s).blobName).bytes)), detects: { 'export run': EXPORT, 'fixity check': FIXITY } },
  { name: 'an original truncated', apply: (s) => setBytes(s, original(s).blobName, half(blob(s, original(s).blobName).bytes)), detects: { 'original streamed': STREAM_SIZE, 'original Range': STREAM_SIZE, 'export run': EXPORT, 'fixity check': FIXITY } },
  { name: "an original replaced by another document's original", apply: (s) => setBytes(s, original(s).blobName, Buffer.from(s.bytes.get(original(s, s.b).blobName)!)), detects: { 'export run': EXPORT, 'fixity check': FIXITY } },
  { name: 'the rendition: one bit flipped', apply: (s) => setBytes(s, rendition(s).blobName, flip(blob(s, rendition(s).blobName).bytes)), detects: { 'export run': EXPORT, 'fixity check': FIXITY, 'validation worker': VALIDATION } },
  { name: 'the rendition truncated', apply: (s) => setBytes(s, rendition(s).blobName, half(blob(s, rendition(s).blobName).bytes)), detects: { 'rendition streamed': STREAM_SIZE, 'export run': EXPORT, 'fixity check': FIXITY, 'validation worker': VALIDATION } },
  { name: "the rendition replaced by another document's", apply: (s) => setBytes(s, rendition(s).blobName, Buffer.from(blob(s, rendition(s, s.b).blobName).bytes)), detects: { 'export run': EXPORT, 'fixity check': FIXITY, 'validation worker': VALIDATION } },
  { name: "the manifest's hashes changed", apply: (s) => manifest(s, (m) => void ((m.rendition as { sha256: string }).sha256 = '0'.repeat(64))), detects: { 'export run': 'the export compares each document with its WORM manifest (fails, FIXITY_MISMATCH)', 'fixity check': FIXITY } },
  { name: "the manifest's tenant changed", apply: (s) => manifest(s, (m) => void (m.tenantId = OTHER)), detects: { 'export run': 'the export compares each document with its WORM manifest (fails, FIXITY_MISMATCH)', 'fixity check': FIXITY } },
  { name: "the manifest's document id changed", apply: (s) => manifest(s, (m) => void (m.id = s.b)), detects: { 'export run': 'the export compares each document with its WORM manifest (fails, FIXITY_MISMATCH)', 'fixity check': FIXITY } },
  {
    name: 'the kept metadata correction blob changed',
    apply: (s) => {
      const name = blobLayout.correction(s.a, 2);
      const kept = JSON.parse(blob(s, name).bytes.toString('utf8')) as { correction: { reason: string } };
      kept.correction.reason = 'Forged';
      setBytes(s, name, Buffer.from(JSON.stringify(kept)));
    },
    detects: { 'fixity check': 'the fixity check compares kept corrections with the catalog, as the manifest (a rebuild indexes from both)' },
  },
  {
    name: "an original changed and the catalog's sha256 and size set to match",
    apply: (s) => {
      const forged = Buffer.from('\x89PNG\r\n\x1a\nforged');
      setBytes(s, original(s).blobName, forged);
      edit(s, (d) => ({ ...d, originals: [{ ...d.originals[0]!, sha256: sha(forged), size: forged.length }, ...d.originals.slice(1)], ...(d.originals[0]!.blobName === d.original.blobName ? { original: { ...d.original, sha256: sha(forged), size: forged.length } } : {}) }));
    },
    detects: { 'export run': 'the export compares the catalog with the WORM manifest before it re-hashes against the catalog', 'fixity check': FIXITY },
  },
  {
    name: "the catalog's blobName pointed at another document's original",
    apply: (s) => edit(s, (d) => ({ ...d, originals: [{ ...d.originals[0]!, blobName: original(s, s.b).blobName }] })),
    detects: { 'original streamed': FOLDER, 'original Range': FOLDER, 'original redirect': FOLDER, 'export run': EXPORT, 'fixity check': FIXITY },
  },
  {
    name: "the catalog's blobName, sha256 and size pointed at another document's original",
    apply: (s) => edit(s, (d) => ({ ...d, originals: [{ ...d.originals[0]!, blobName: original(s, s.b).blobName, sha256: original(s, s.b).sha256, size: original(s, s.b).size }] })),
    detects: { 'original streamed': FOLDER, 'original Range': FOLDER, 'original redirect': FOLDER, 'export run': FOLDER, 'fixity check': FIXITY },
  },
  {
    name: "the catalog's rendition (blobName, sha256, size) pointed at another document's",
    apply: (s) => edit(s, (d) => ({ ...d, rendition: { ...d.rendition, blobName: rendition(s, s.b).blobName, sha256: rendition(s, s.b).sha256, size: rendition(s, s.b).size } })),
    detects: { 'rendition streamed': FOLDER, 'export run': FOLDER, 'fixity check': FIXITY, 'validation worker': 'the upload asked for the rendition as archived: its checksum is not the catalog\'s', 'validation worker (requeued)': "the worker validates only a rendition in the document's own folder" },
  },
  {
    name: "the catalog item moved to another tenant's partition",
    apply: (s) => {
      const d = item(s, s.a);
      s.w.deps.catalog.documents.delete(`${TENANT}/${s.a}`);
      s.w.deps.catalog.documents.set(`${OTHER}/${s.a}`, { ...d, tenantId: OTHER });
    },
    detects: { 'original streamed': 'not found in its tenant (404)', 'original Range': 'not found (404)', 'rendition streamed': 'not found (404)', 'original redirect': 'not found (404)', 'GET document': 'not found (404)', reconciler: 'its folder has no catalog item in its tenant: indexed again from its WORM manifest (document.reindex entry)' },
  },
  ...auditTampers(),
  {
    name: "a file of an export's ZIP changed after it was built",
    apply: () => undefined,
    zip: (zip) => {
      // The first stored rendition's bytes: a `%PDF` inside the ZIP (stored, not deflated, or found deflated: then any byte of the data).
      const at = zip.indexOf(Buffer.from('%PDF'));
      const c = Buffer.from(zip);
      c[at + 5] = c[at + 5]! ^ 1;
      return c;
    },
    detects: { 'export ZIP verified offline': 'the CLI re-hashes every file against manifest.json' },
  },
  {
    name: "an export's ZIP truncated after it was built",
    apply: () => undefined,
    zip: (zip) => zip.subarray(0, zip.length - 22),
    detects: { 'export ZIP downloaded': 'storage answers the stored length before the first byte: one that is not the ZIP built is refused (FIXITY_MISMATCH)', 'export ZIP verified offline': 'the CLI cannot read the ZIP: NOT VERIFIED' },
  },
];

function auditTampers(): Tamper[] {
  const VERIFY = 'GET audit/verify recomputes the keyed chain against its seals';
  const entries = (s: Scene) => s.w.deps.audit.entries;
  const of = (s: Scene) => entries(s).filter((e) => e.partition === `${TENANT}:${s.month}`);
  return [
    { name: "an audit entry's field changed", apply: (s) => void ((of(s)[1] as { detail: string | null }).detail = 'forged'), detects: { 'audit verify': VERIFY } },
    { name: 'an audit entry deleted', apply: (s) => void entries(s).splice(entries(s).indexOf(of(s)[1]!), 1), detects: { 'audit verify': VERIFY } },
    {
      name: 'two audit entries swapped',
      apply: (s) => {
        // Their places in the chain exchanged (seq and id: what orders them), each keeping its own hash.
        const [x, y] = [of(s)[1]!, of(s)[2]!];
        const place = (e: typeof x) => ({ seq: e.seq, id: e.id });
        const [px, py] = [place(x), place(y)];
        Object.assign(x, py);
        Object.assign(y, px);
      },
      detects: { 'audit verify': VERIFY },
    },
    { name: "the audit log's tail cut", apply: (s) => void entries(s).splice(entries(s).indexOf(of(s).at(-1)!), 1), detects: { 'audit verify': `${VERIFY} (the seal fixes the tail)` } },
    {
      name: 'a seal blob changed',
      apply: (s) => {
        const name = [...s.w.deps.blobs.blobs.keys()].find((k) => k.startsWith(`${TENANT}/audit-seals/`))!;
        const b = s.w.deps.blobs.blobs.get(name)!;
        const seal = JSON.parse(b.bytes.toString('utf8')) as { hash: string };
        seal.hash = '0'.repeat(64);
        b.bytes = Buffer.from(JSON.stringify(seal));
      },
      detects: { 'audit verify': VERIFY },
    },
  ];
}

// ---- The readers ----

interface Reading {
  /** What the reader's own run signalled. */
  signals: string[];
  /** Bytes answered under `a`'s id, and the checksum they were answered under. */
  served?: { bytes: Buffer; claimed: string | null; blobName?: string };
  /** The reader's verdict on what it read, where it gives one ('ok' = intact). */
  verdict?: 'ok' | 'problem';
}

const digestOf = (r: Answer) => {
  const d = /^sha-256=:(.+):$/.exec(r.headers['Repr-Digest'] ?? '')?.[1];
  return d ? Buffer.from(d, 'base64').toString('hex') : null;
};
const answered = (r: Answer, bytes = r.bytes): Reading => (r.status >= 400 ? { signals: [`${r.status} ${r.json?.code ?? ''}`] } : { signals: [], served: { bytes, claimed: digestOf(r) } });

const READERS: Record<ReaderName, (s: Scene) => Promise<Reading>> = {
  'original streamed': async (s) => answered(await send(s.w, { method: 'GET', path: `documents/${s.a}/original` })),
  'original Range': async (s) => {
    const r = await send(s.w, { method: 'GET', path: `documents/${s.a}/original`, headers: { Range: 'bytes=0-3' } });
    // A piece carries the whole file's checksum: only the piece's own bytes can be compared with what was archived.
    if (r.status >= 400) return { signals: [`${r.status} ${r.json?.code ?? ''}`] };
    const truth = s.bytes.get(s.truth.get(s.a)!.originals[0]!.blobName)!.subarray(0, 4);
    return { signals: [], served: { bytes: r.bytes, claimed: r.bytes.equals(truth) ? sha(r.bytes) : digestOf(r) } };
  },
  'rendition streamed': async (s) => answered(await send(s.w, { method: 'GET', path: `documents/${s.a}/rendition` })),
  'original redirect': async (s) => {
    const r = await send(s.w, { method: 'GET', path: `documents/${s.a}/original?delivery=redirect` });
    if (r.status >= 400) return { signals: [`${r.status} ${r.json?.code ?? ''}`] };
    // The link reads the blob it names, straight from storage.
    const name = decodeURIComponent(new URL(r.headers.Location!).pathname.split('/').slice(2).join('/'));
    return { signals: [], served: { bytes: s.w.deps.blobs.blobs.get(`${TENANT}/${name}`)?.bytes ?? Buffer.alloc(0), claimed: digestOf(r), blobName: name } };
  },
  'GET document': async (s) => {
    const r = await send(s.w, { method: 'GET', path: `documents/${s.a}` });
    return r.status >= 400 ? { signals: [`${r.status} ${r.json?.code ?? ''}`] } : { signals: [] };
  },
  'export run': async (s) => {
    const job = (await send(s.w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
    const done = await settledExport(s.w, job.id as string);
    return { signals: done.status === 'completed' ? [] : [`export ${done.status}`], verdict: done.status === 'completed' ? 'ok' : 'problem' };
  },
  'export ZIP downloaded': async (s) => answered(await send(s.w, { method: 'GET', path: `exports/${s.exportId}/download`, as: 'alice' })),
  'export ZIP verified offline': async (s) => {
    const job = (s.w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${s.exportId}`)!;
    const zip = (s.w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`)!;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tamper-')), 'export.zip');
    fs.writeFileSync(file, zip);
    try {
      const r = await verifyExport(file);
      const bad = [...r.mismatched, ...r.missing, ...r.unexpected];
      return { signals: bad.map((n) => `verify: ${n}`), verdict: bad.length ? 'problem' : 'ok' };
    } catch (err) {
      return { signals: [String(err)], verdict: 'problem' };
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  },
  'fixity check': async (s) => {
    s.w.clock.advance(400 * 86400_000);
    await runFixityTimer(s.w.deps);
    const fixity = s.w.deps.catalog.documents.get(`${TENANT}/${s.a}`)?.fixity;
    return { signals: [], verdict: fixity?.ok === true ? 'ok' : 'problem' };
  },
  reconciler: async (s) => {
    await runReconcileTimer(s.w.deps);
    s.w.clock.advance(3600_000);
    await runReconcileTimer(s.w.deps);
    return { signals: [] };
  },
  'validation worker': async (s) => {
    delivering(s.w);
    await (validationWorker as { run: (w: World) => Promise<unknown> }).run(s.w);
    await settle(s.w);
    return { signals: [] };
  },
  'validation worker (requeued)': async (s) => {
    // The upload's request lost: the requeue timer asks again, naming the rendition as the catalog holds it now.
    s.w.deps.validationQueue.messages.length = 0;
    s.w.clock.advance(3600_000);
    await requeuePendingValidations({ now: s.w.clock.now(), olderThanSeconds: 60, max: 500 }, s.w.deps);
    delivering(s.w);
    await (validationWorker as { run: (w: World) => Promise<unknown> }).run(s.w);
    await settle(s.w);
    return { signals: [] };
  },
  'audit verify': async (s) => {
    const r = await send(s.w, { method: 'GET', path: `audit/verify?month=${s.month}`, as: 'alice' });
    if (r.status >= 400) return { signals: [`${r.status} ${r.json?.code ?? ''}`], verdict: 'problem' };
    return { signals: r.json.ok ? [] : [`verify: ${JSON.stringify(r.json.problems).slice(0, 200)}`], verdict: r.json.ok ? 'ok' : 'problem' };
  },
};

/** Error lines (operators' alerts) and failed system audit entries written since `mark`. */
function alerts(s: Scene, mark: { lines: number; entries: number }): string[] {
  const lines = (s.w.deps.log as RecordingLogger).lines.slice(mark.lines).filter((l) => l.level === 'error').map((l) => `alert: ${l.message}`);
  const entries = s.w.deps.audit.entries.slice(mark.entries).filter((e) => e.actor.kind === 'system' && (e.outcome === 'failed' || e.action === 'document.reindex')).map((e) => `entry: ${e.action} ${e.detail ?? ''}`);
  return [...lines, ...entries];
}

const CELLS = TAMPERS.flatMap((t) => (Object.keys(READERS) as ReaderName[]).map((r) => [t.name, r, t] as const));

describe.each(TAMPERS.map((t) => [t.name, t] as const))('%s', (_name, tamper) => {
  it.each((Object.keys(READERS) as ReaderName[]).map((r) => [r, tamper.detects[r] ?? null] as const))('read by %s (detects: %s)', async (reader, why) => {
    const s = await scene();
    await tamper.apply(s);
    if (tamper.zip) {
      const job = (s.w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${s.exportId}`)!;
      (s.w.deps.exportBlobs as InMemoryExportBlobs).blobs.set(`${TENANT}/${job.blobName}`, tamper.zip((s.w.deps.exportBlobs as InMemoryExportBlobs).blobs.get(`${TENANT}/${job.blobName}`)!));
    }
    const mark = { lines: (s.w.deps.log as RecordingLogger).lines.length, entries: s.w.deps.audit.entries.length };
    const reading = await READERS[reader](s);
    const signals = [...reading.signals, ...alerts(s, mark)];
    const broken: string[] = [];
    if (why !== null && signals.length === 0) broken.push(`no signal (expected: ${why})`);
    if (why !== null && reading.verdict === 'ok') broken.push('says ok about what was changed');
    const truth = s.truth.get(s.a)!;
    if (reading.served && signals.length === 0) {
      const { bytes, claimed } = reading.served;
      const own = reader === 'export ZIP downloaded' ? s.zipSha : reader === 'rendition streamed' ? truth.rendition.sha256 : truth.originals[0]!.sha256;
      // By design: bytes under the catalog's own (archived) checksum: the client's check fails.
      if (sha(bytes) !== claimed && claimed !== own && reader !== 'original Range') broken.push(`served under ${claimed}, neither its own checksum nor the archived one`);
      const other = s.bytes.get(s.truth.get(s.b)!.originals[0]!.blobName)!;
      if (bytes.equals(other) && !bytes.equals(s.bytes.get(truth.originals[0]!.blobName)!) && sha(bytes) === claimed) broken.push("another document's bytes served under this document's id and their own checksum, without a signal");
    }
    if (process.env.TAMPER_TRACE) process.stdout.write(`${tamper.name} / ${reader}: ${signals.join(" | ")}\n`);
    expect(broken).toEqual([]);
  });
});

it('the sweep has its cells', () => expect(CELLS.length).toBe(TAMPERS.length * Object.keys(READERS).length));
void FIXITY_MISMATCH;
