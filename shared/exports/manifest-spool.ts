import { createHash } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { csvField } from './names';
import type { CsvFormat, ExportManifest, ManifestDocument } from '../kernel/export';

/**
 * One row per document, so that summing a column never counts a document twice. The originals of
 * a document share one cell per attribute, joined with ` | ` in upload order (`originalCount` says
 * how many).
 */
const CSV_COLUMNS = ['documentId', 'fiscalYear', 'documentDate', 'kind', 'counterparty', 'amount', 'currency', 'reference', 'tags', 'createdAt', 'renditionPath', 'renditionSize', 'renditionSha256', 'validation', 'validator', 'validationFailedRules', 'originalCount', 'originalPaths', 'originalMediaTypes', 'originalSizes', 'originalSha256s'] as const;

/** The columns of text people typed: a value a spreadsheet would read there as a number or date is kept text (names.ts csvField). */
const TEXT_COLUMNS = new Set<string>(['counterparty', 'reference', 'tags']);

export interface FileFingerprint {
  sha256: string;
  size: number;
}

/** SHA-256 and size of the bytes that pass through it, as they go into the ZIP. */
export class Fingerprint {
  private readonly hash = createHash('sha256');
  private size = 0;

  add(chunk: Buffer | string): Buffer {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.hash.update(bytes);
    this.size += bytes.length;
    return bytes;
  }

  /** The SHA-256 and size so far; more may be added after. */
  sofar(): FileFingerprint {
    return { sha256: this.hash.copy().digest('hex'), size: this.size };
  }

  /** Once, after the last chunk. */
  result(): FileFingerprint {
    return { sha256: this.hash.digest('hex'), size: this.size };
  }
}

/**
 * The manifest entries of a running export, one JSON line each in a temporary file, so that an
 * export of tens of thousands of documents keeps flat memory: manifest.json and manifest.csv are
 * streamed from the file into the ZIP at the end. manifest.csv is written to a second temporary
 * file first (`writeCsv`), so that manifest.json, streamed before it, can record its SHA-256.
 */
export class ManifestSpool {
  private readonly dir: string;
  /** The temporary file (gone after `dispose`). */
  readonly file: string;
  private readonly out: fs.WriteStream;
  private closed = false;
  /**
   * A failed write, thrown by the next call. The file stream reports one as an 'error' event, and also a write still in
   * flight when `dispose` destroys it (an export that fails mid-way, e.g. a document disposed of under it): with no
   * listener that event was an uncaught exception, which ends the host process.
   */
  private failure: Error | null = null;
  count = 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-export-'));
    this.file = path.join(this.dir, 'manifest.ndjson');
    this.out = fs.createWriteStream(this.file);
    this.out.on('error', (err) => void (this.failure ??= err));
  }

  async add(doc: ManifestDocument): Promise<void> {
    if (this.failure) throw this.failure;
    this.count++;
    if (!this.out.write(`${JSON.stringify(doc)}\n`)) await once(this.out, 'drain');
  }

  /** manifest.csv as `writeCsv` writes it (gone after `dispose`). */
  private get csvFile(): string {
    return path.join(this.dir, 'manifest.csv');
  }

  /** Finishes writing; the streams below read the file afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.out.end();
    await once(this.out, 'close');
    if (this.failure) throw this.failure;
  }

  /** manifest.json: the header fields, then the documents array streamed entry by entry. */
  json(header: Omit<ExportManifest, 'documents'>, fingerprint: Fingerprint): Readable {
    const head = JSON.stringify({ ...header, documents: [] }, null, 2);
    // `"documents": []` is the last property: keep everything before its closing bracket.
    const open = head.slice(0, head.lastIndexOf('[') + 1);
    const lines = this.lines.bind(this);
    return Readable.from(
      (async function* () {
        yield fingerprint.add(open);
        let first = true;
        for await (const line of lines()) {
          yield fingerprint.add(`${first ? '\n    ' : ',\n    '}${line}`);
          first = false;
        }
        yield fingerprint.add(first ? ']\n}\n' : '\n  ]\n}\n');
      })(),
    );
  }

  /** manifest.csv: UTF-8 with a BOM (spreadsheets then read it as UTF-8), a header row, one row per document, CRLF line ends. */
  csv(format: CsvFormat): Readable {
    const lines = this.lines.bind(this);
    const field = (v: unknown, i: number) => csvField(v as Parameters<typeof csvField>[0], format, TEXT_COLUMNS.has(CSV_COLUMNS[i]!));
    return Readable.from(
      (async function* () {
        yield `\uFEFF${CSV_COLUMNS.join(format.separator)}\r\n`;
        for await (const line of lines()) {
          const d = JSON.parse(line) as ManifestDocument;
          const md = d.metadata;
          const rendition = d.files.find((f) => f.role === 'rendition');
          const originals = d.files.filter((f) => f.role === 'original');
          const v = rendition?.validation;
          const checked = v && v.status !== 'pending' ? v : null;
          const many = (values: (string | number)[]) => (values.length > 0 ? values.map(String) : null);
          const row = [
            d.id, d.fiscalYear, md.documentDate, md.kind, md.counterparty, md.amount, md.currency, md.reference, md.tags, d.createdAt,
            rendition?.path, rendition?.size, rendition?.sha256, v?.status, checked && `${checked.validator} ${checked.profile}`, checked?.failedRules,
            originals.length, many(originals.map((o) => o.path)), many(originals.map((o) => o.mediaType)), many(originals.map((o) => o.size)), many(originals.map((o) => o.sha256)),
          ];
          yield `${row.map(field).join(format.separator)}\r\n`;
        }
      })(),
    );
  }

  /** Renders manifest.csv into `csvFile`, hashing on the way: its SHA-256 and size, for manifest.json. */
  async writeCsv(format: CsvFormat): Promise<FileFingerprint> {
    const fingerprint = new Fingerprint();
    const hashing = new Transform({
      transform(chunk: Buffer | string, _enc, cb) {
        cb(null, fingerprint.add(chunk));
      },
    });
    await pipeline(this.csv(format), hashing, fs.createWriteStream(this.csvFile, { flags: 'wx' }));
    return fingerprint.result();
  }

  /** The bytes `writeCsv` wrote, as they go into the ZIP. */
  writtenCsv(): Readable {
    return fs.createReadStream(this.csvFile);
  }

  private async *lines(): AsyncGenerator<string> {
    const input = fs.createReadStream(this.file, { encoding: 'utf8' });
    try {
      for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) if (line) yield line;
    } finally {
      input.destroy();
    }
  }

  /** Removes the temporary file; safe to call more than once. */
  async dispose(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.out.destroy();
    }
    await fs.promises.rm(this.dir, { recursive: true, force: true });
  }
}
