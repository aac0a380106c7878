/**
 * Durability for the in-memory Cosmos protocol server (local host only).
 *
 * Every successful write is appended to a journal and fsync'ed *before* its response is
 * released, so a write the archive saw acknowledged survives `kill -9`. Each journal line is
 * an idempotent replay request holding the write's outcome (the whole resulting document, a
 * delete, a database or container definition), so replaying a line twice, or on top of a
 * snapshot that already has it, gives the same state. Now and then the journal is folded into
 * a snapshot (also replay lines), written atomically; the journal is then dropped.
 *
 * Files in `dir`: snapshot.ndjson, journal.ndjson, and journal.compacting.ndjson while a
 * compaction runs (a crash then leaves it to be replayed between the two).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';

/** One replay request: method, path on the server, partition-key header, JSON body. */
export interface JournalEntry {
  m: 'POST' | 'PUT' | 'DELETE';
  p: string;
  /** The write's outcome as an upsert (documents only). */
  upsert?: true;
  /** Raw `x-ms-documentdb-partitionkey` header of the original request. */
  pk?: string;
  b?: Record<string, unknown>;
}

export interface CosmosJournalOptions {
  dir: string;
  /** Fold the journal into the snapshot after this many entries. */
  compactAfter?: number;
  log?: (message: string) => void;
  /**
   * Indexing policies as the code defines them today, by container id: a container replayed from a data directory made
   * before an index was added takes today's policy (the server cannot change a container's policy, and refuses a
   * multi-key ORDER BY without its composite index, so an older data directory broke the query that needs it).
   */
  indexingPolicies?: Readonly<Record<string, unknown>>;
}

const PK_HEADER = 'x-ms-documentdb-partitionkey';

export class CosmosJournal {
  readonly snapshotFile: string;
  readonly journalFile: string;
  readonly compactingFile: string;
  private readonly compactAfter: number;
  private readonly log: (message: string) => void;
  private readonly indexingPolicies: Readonly<Record<string, unknown>>;
  private fd: number | null = null;
  private entries = 0;
  private queue: { text: string; done: (err?: Error) => void }[] = [];
  private writing: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  private replaying = false;
  private endpoint = '';

  constructor(opts: CosmosJournalOptions) {
    fs.mkdirSync(opts.dir, { recursive: true });
    this.snapshotFile = path.join(opts.dir, 'snapshot.ndjson');
    this.journalFile = path.join(opts.dir, 'journal.ndjson');
    this.compactingFile = path.join(opts.dir, 'journal.compacting.ndjson');
    this.compactAfter = opts.compactAfter ?? 5000;
    this.log = opts.log ?? ((m) => console.error(m));
    this.indexingPolicies = opts.indexingPolicies ?? {};
  }

  /** Hold every write's response until its journal entry is on disk. Call before `listen`. */
  attach(server: http.Server): void {
    const handlers = server.listeners('request') as ((req: http.IncomingMessage, res: http.ServerResponse) => void)[];
    server.removeAllListeners('request');
    server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      this.intercept(req, res);
      for (const handler of handlers) handler.call(server, req, res);
    });
  }

  /** Replay snapshot and journals into the (empty, listening) server, then compact. Returns the replayed entry count. */
  async restore(endpoint: string): Promise<number> {
    this.endpoint = endpoint;
    let replayed = 0;
    this.replaying = true;
    try {
      for (const file of [this.snapshotFile, this.compactingFile, this.journalFile]) replayed += await this.replayFile(file);
    } finally {
      this.replaying = false;
    }
    this.fd = fs.openSync(this.journalFile, 'a');
    await this.compact();
    return replayed;
  }

  /** Wait for pending appends, fold everything into the snapshot and close the journal. */
  async close(): Promise<void> {
    while (this.writing || this.compacting) {
      await this.writing;
      await this.compacting;
    }
    // Nothing in flight now, and compact() rotates before its first await: no append interleaves.
    if (this.fd !== null) await this.compact();
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private intercept(req: http.IncomingMessage, res: http.ServerResponse): void {
    if (req.method === 'GET' || req.method === 'HEAD') return;
    // A batch's deletes are only described in its request body.
    const chunks: Buffer[] = [];
    if (isTrue(req.headers['x-ms-cosmos-is-batch-request'])) req.on('data', (c: Buffer) => chunks.push(c));
    const end = res.end.bind(res) as (chunk?: unknown) => http.ServerResponse;
    res.end = ((chunk?: unknown) => {
      let entries: JournalEntry[];
      try {
        entries = this.replaying ? [] : entriesFor(req, res.statusCode, chunk, chunks);
      } catch (err) {
        this.log(`cosmos journal: cannot describe ${req.method} ${req.url}: ${String(err)}`);
        entries = [];
      }
      if (entries.length === 0) return end(chunk);
      this.append(entries).then(
        () => end(chunk),
        (err: unknown) => {
          // The write happened in memory but is not durable: the client must not take it as done.
          this.log(`cosmos journal: append failed: ${String(err)}`);
          res.statusCode = 503;
          end(JSON.stringify({ code: 'ServiceUnavailable', message: 'journal write failed' }));
        },
      );
      return res;
    }) as typeof res.end;
  }

  private append(entries: JournalEntry[]): Promise<void> {
    const text = entries.map((e) => `${JSON.stringify(e)}\n`).join('');
    return new Promise((resolve, reject) => {
      this.queue.push({ text, done: (err) => (err === undefined ? resolve() : reject(err)) });
      this.entries += entries.length;
      this.writing ??= this.drain().finally(() => {
        this.writing = null;
      });
    });
  }

  /** Group commit: everything queued while the previous fsync ran goes out in one write + fsync. */
  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      try {
        if (this.fd === null) throw new Error('journal is not open');
        const fd = this.fd;
        await new Promise<void>((resolve, reject) => fs.write(fd, batch.map((b) => b.text).join(''), (err) => (err ? reject(err) : resolve())));
        await new Promise<void>((resolve, reject) => fs.fdatasync(fd, (err) => (err ? reject(err) : resolve())));
        for (const b of batch) b.done();
      } catch (err) {
        for (const b of batch) b.done(err instanceof Error ? err : new Error('journal write failed'));
      }
      if (this.entries >= this.compactAfter && !this.compacting) {
        this.compacting = this.compact()
          .catch((err: unknown) => this.log(`cosmos journal: compaction failed: ${String(err)}`))
          .finally(() => {
            this.compacting = null;
          });
      }
    }
  }

  /**
   * Rotate the journal (no append is in flight: called from the writer or when idle), read the
   * whole state, write it as the new snapshot atomically, then drop the rotated journal. Writes
   * that land during the read go to the new journal, whose replay on top is idempotent.
   */
  private async compact(): Promise<void> {
    if (!fs.existsSync(this.compactingFile)) {
      if (this.fd !== null) fs.closeSync(this.fd);
      fs.renameSync(this.journalFile, this.compactingFile);
      this.fd = fs.openSync(this.journalFile, 'a');
      fsyncDir(path.dirname(this.journalFile));
    }
    this.entries = 0;
    const lines = (await this.readState()).map((e) => `${JSON.stringify(e)}\n`);
    const tmp = `${this.snapshotFile}.tmp`;
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, lines.join(''));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, this.snapshotFile);
    fs.rmSync(this.compactingFile, { force: true });
    fsyncDir(path.dirname(this.snapshotFile));
  }

  private async readState(): Promise<JournalEntry[]> {
    const out: JournalEntry[] = [];
    const { Databases } = (await this.request('GET', '/dbs')).body as { Databases: Record<string, unknown>[] };
    for (const db of Databases) {
      const dbPath = `/dbs/${encodeURIComponent(String(db.id))}`;
      out.push({ m: 'POST', p: '/dbs', b: withoutSystemKeys(db) });
      const { DocumentCollections } = (await this.request('GET', `${dbPath}/colls`)).body as { DocumentCollections: Record<string, unknown>[] };
      for (const coll of DocumentCollections) {
        const collPath = `${dbPath}/colls/${encodeURIComponent(String(coll.id))}`;
        out.push({ m: 'POST', p: `${dbPath}/colls`, b: withoutSystemKeys(coll) });
        const keyPath = ((coll.partitionKey as { paths?: string[] } | undefined)?.paths ?? [])[0];
        const { Documents } = (await this.request('GET', `${collPath}/docs`)).body as { Documents: Record<string, unknown>[] };
        for (const doc of Documents) {
          const key = keyPath ? valueAt(doc, keyPath) : undefined;
          out.push({ m: 'POST', p: `${collPath}/docs`, upsert: true, ...(key === undefined ? {} : { pk: JSON.stringify([key]) }), b: withoutSystemKeys(doc) });
        }
      }
    }
    return out;
  }

  private async replayFile(file: string): Promise<number> {
    if (!fs.existsSync(file)) return 0;
    const lines = fs.readFileSync(file, 'utf8').split('\n');
    let replayed = 0;
    for (let i = 0; i < lines.length; i++) {
      if (lines[i]!.trim() === '') continue;
      let entry: JournalEntry;
      try {
        entry = JSON.parse(lines[i]!) as JournalEntry;
      } catch (err) {
        // A torn last line is a write cut by the crash before its fsync: never acknowledged.
        if (lines.slice(i + 1).every((l) => l.trim() === '')) break;
        throw new Error(`${file} line ${i + 1} is not a journal entry: ${String(err)}`);
      }
      if (entry.m === 'POST' && /^\/dbs\/[^/]+\/colls$/.test(entry.p) && entry.b && Object.hasOwn(this.indexingPolicies, String(entry.b.id))) {
        entry.b = { ...entry.b, indexingPolicy: this.indexingPolicies[String(entry.b.id)] };
      }
      const { status, body } = await this.request(entry.m, entry.p, entry.b, { ...(entry.upsert ? { 'x-ms-documentdb-is-upsert': 'true' } : {}), ...(entry.pk ? { [PK_HEADER]: entry.pk } : {}) });
      const already = (entry.m === 'DELETE' && status === 404) || (entry.m === 'POST' && !entry.upsert && status === 409);
      if (status >= 300 && !already) throw new Error(`${file} line ${i + 1}: replay of ${entry.m} ${entry.p} answered ${status} ${JSON.stringify(body)}`);
      replayed++;
    }
    return replayed;
  }

  private request(method: string, p: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const req = http.request(`${this.endpoint}${p}`, { method, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as unknown) : null });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }
}

/** The journal entries that make a successful write durable; none for reads, queries and failures. */
export function entriesFor(req: http.IncomingMessage, status: number, responseBody: unknown, requestChunks: Buffer[]): JournalEntry[] {
  if (status < 200 || status >= 300) return [];
  const method = req.method ?? 'GET';
  if (method === 'POST' && (isTrue(req.headers['x-ms-documentdb-isquery']) || req.headers['content-type'] === 'application/query+json')) return [];
  const p = normalisePath(new URL(req.url ?? '/', 'http://cosmos').pathname);
  const segs = p.split('/').slice(1);
  const pk = typeof req.headers[PK_HEADER] === 'string' ? req.headers[PK_HEADER] : undefined;
  const parsed = () => JSON.parse(typeof responseBody === 'string' ? responseBody : Buffer.from(responseBody as Buffer).toString('utf8')) as Record<string, unknown>;
  const docsPath = segs.slice(0, 4).join('/');
  const upsertOf = (doc: Record<string, unknown>, key: string | undefined): JournalEntry => ({ m: 'POST', p: `/${docsPath}/docs`, upsert: true, ...(key ? { pk: key } : {}), b: withoutSystemKeys(doc) });
  const isDocs = segs[0] === 'dbs' && segs[2] === 'colls' && segs[4] === 'docs';
  if (isDocs && segs.length === 5 && method === 'POST') {
    if (!isTrue(req.headers['x-ms-cosmos-is-batch-request'])) return [upsertOf(parsed(), pk)];
    return batchEntries(`/${docsPath}/docs`, JSON.parse(Buffer.concat(requestChunks).toString('utf8')) as BatchOp[], parsed() as unknown as BatchResult[]);
  }
  if (isDocs && segs.length === 6 && (method === 'PUT' || method === 'PATCH')) return [upsertOf(parsed(), pk)];
  if (isDocs && segs.length === 6 && method === 'DELETE') return [{ m: 'DELETE', p, ...(pk ? { pk } : {}) }];
  if (segs[0] !== 'dbs' || segs.includes('udfs')) return [];
  if (method === 'POST' && (segs.length === 1 || segs.length === 3)) return [{ m: 'POST', p, b: withoutSystemKeys(parsed()) }];
  if (method === 'PUT' && segs.length === 4) return [{ m: 'PUT', p, b: withoutSystemKeys(parsed()) }];
  if (method === 'DELETE' && (segs.length === 2 || segs.length === 4)) return [{ m: 'DELETE', p }];
  return [];
}

interface BatchOp {
  operationType?: string;
  id?: string;
  partitionKey?: string;
}
interface BatchResult {
  statusCode: number;
  resourceBody?: Record<string, unknown>;
}

function batchEntries(docs: string, ops: BatchOp[], results: BatchResult[]): JournalEntry[] {
  const out: JournalEntry[] = [];
  ops.forEach((op, i) => {
    const result = results[i];
    if (!result || result.statusCode < 200 || result.statusCode >= 300 || op.operationType === 'Read') return;
    const pk = op.partitionKey;
    if (op.operationType === 'Delete') out.push({ m: 'DELETE', p: `${docs}/${encodeURIComponent(String(op.id))}`, ...(pk ? { pk } : {}) });
    else if (result.resourceBody) out.push({ m: 'POST', p: docs, upsert: true, ...(pk ? { pk } : {}), b: withoutSystemKeys(result.resourceBody) });
  });
  return out;
}

/** As the server's router does: @azure/cosmos sends `//dbs/...`; trailing slashes do not count. */
function normalisePath(p: string): string {
  let out = p.startsWith('//') ? p.slice(1) : p;
  while (out.length > 1 && out.endsWith('/')) out = out.slice(0, -1);
  return out;
}

function isTrue(value: string | string[] | undefined): boolean {
  return (Array.isArray(value) ? value : [value]).some((v) => v?.toLowerCase() === 'true');
}

/** The server regenerates _rid, _etag, _ts, _self and friends on replay. */
function withoutSystemKeys(item: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(item)) if (!k.startsWith('_')) out[k] = v;
  return out;
}

function valueAt(doc: Record<string, unknown>, keyPath: string): unknown {
  let value: unknown = doc;
  for (const part of keyPath.split('/').slice(1)) value = value && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  return value;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, 'r');
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}
