import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { Readable } from 'node:stream';
import { csvField } from './names';
import type { ExportManifest, ManifestDocument } from '../kernel/export';

const CSV_COLUMNS = ['documentId', 'path', 'role', 'mediaType', 'size', 'sha256', 'fiscalYear', 'documentDate', 'kind', 'counterparty', 'amount', 'currency', 'reference', 'tags', 'createdAt', 'validation', 'validator', 'validationFailedRules'] as const;

/**
 * The manifest entries of a running export, one JSON line each in a temporary file, so that an
 * export of tens of thousands of documents keeps flat memory: manifest.json and manifest.csv are
 * streamed from the file into the ZIP at the end.
 */
export class ManifestSpool {
  private readonly dir: string;
  /** The temporary file (gone after `dispose`). */
  readonly file: string;
  private readonly out: fs.WriteStream;
  private closed = false;
  count = 0;

  constructor() {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-export-'));
    this.file = path.join(this.dir, 'manifest.ndjson');
    this.out = fs.createWriteStream(this.file);
  }

  async add(doc: ManifestDocument): Promise<void> {
    this.count++;
    if (!this.out.write(`${JSON.stringify(doc)}\n`)) await once(this.out, 'drain');
  }

  /** Finishes writing; the streams below read the file afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.out.end();
    await once(this.out, 'close');
  }

  /** manifest.json: the header fields, then the documents array streamed entry by entry. */
  json(header: Omit<ExportManifest, 'documents'>): Readable {
    const head = JSON.stringify({ ...header, documents: [] }, null, 2);
    // `"documents": []` is the last property: keep everything before its closing bracket.
    const open = head.slice(0, head.lastIndexOf('[') + 1);
    const lines = this.lines.bind(this);
    return Readable.from(
      (async function* () {
        yield open;
        let first = true;
        for await (const line of lines()) {
          yield `${first ? '\n    ' : ',\n    '}${line}`;
          first = false;
        }
        yield first ? ']\n}\n' : '\n  ]\n}\n';
      })(),
    );
  }

  /** manifest.csv: one row per file, RFC 4180, CRLF line ends. */
  csv(header: Omit<ExportManifest, 'documents'>): Readable {
    const lines = this.lines.bind(this);
    return Readable.from(
      (async function* () {
        yield `# export ${header.export.id}; request ${header.export.requestId}; audit entry ${header.export.auditEntryId ?? 'pending'}\r\n${CSV_COLUMNS.join(',')}\r\n`;
        for await (const line of lines()) {
          const d = JSON.parse(line) as ManifestDocument;
          const md = d.metadata;
          for (const f of d.files) {
            const v = f.validation;
            const checked = v && v.status !== 'pending' ? v : null;
            const row = [d.id, f.path, f.role, f.mediaType, f.size, f.sha256, d.fiscalYear, md.documentDate, md.kind, md.counterparty, md.amount, md.currency, md.reference, md.tags, d.createdAt, v?.status, checked && `${checked.validator} ${checked.profile}`, checked?.failedRules];
            yield `${row.map((v) => csvField(v as Parameters<typeof csvField>[0])).join(',')}\r\n`;
          }
        }
      })(),
    );
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
