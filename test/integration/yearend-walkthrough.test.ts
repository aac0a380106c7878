/**
 * The README's year-end walk-through for the accountant ("The `archive` command-line client"),
 * step by step through the CLI's argv layer: search, correct, export (Dutch CSV), verify offline, and what changed since.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../cli/archive';
import { csvRecords } from '../support/csv';
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedDocument } from '../support/seed';

let archive: TestArchive;
let tenant: string;
let work: string;
let env: NodeJS.ProcessEnv;
let token: string;
const ids: string[] = [];

/** Runs `archive <argv>` (standard input empty unless given) and returns its exit code and what it printed. */
async function archiveCmd(...argv: string[]): Promise<{ code: number; out: string }> {
  return archiveWithInput('', ...argv);
}

async function archiveWithInput(stdin: string, ...argv: string[]): Promise<{ code: number; out: string }> {
  const logs: string[] = [];
  const log = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
  const err = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    return { code: await main(argv, env, fetch, Readable.from([stdin])), out: logs.join('\n') };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('walkthrough');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-walkthrough-'));
  env = { ARCHIVE_CONFIG_DIR: path.join(work, 'config') };
  for (const [date, amount] of [['2024-01-15', 100.25], ['2024-06-30', 250.5], ['2024-11-02', 99.99]] as const) {
    ids.push((await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: date, kind: 'invoice', counterparty: 'Bakkerij Jansen', reference: `INV-${date}`, amount, currency: 'EUR' } })).id);
  }
  await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2024-03-03', kind: 'receipt', counterparty: 'Café Ève', amount: 4.5, currency: 'EUR' } });
  token = await archive.token({ tenant, sub: 'accountant@walkthrough.example', rights: 'accountant' });
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('year-end walk-through (README)', () => {
  it('0. log in: the token on standard input (`npm run -s token -- ... | archive login --url ... --with-token`)', async () => {
    const { code, out } = await archiveWithInput(`${token}\n`, 'login', '--url', archive.url, '--with-token');
    expect(code).toBe(0);
    expect(out).toContain('readable by you only');
  });

  it('1. search: `archive ls --fiscal-year 2024 --counterparty bakkerij` finds the supplier case-insensitively, by prefix', async () => {
    const { code, out } = await archiveCmd('ls', '--fiscal-year', '2024', '--counterparty', 'bakkerij');
    expect(code).toBe(0);
    expect(out).toContain('3 document(s)');
    for (const id of ids) expect(out).toContain(id);
  });

  it('2. correct: `archive correct <id> --amount 205.5 --reason ...` fixes a wrong amount over the version it read, and says what changed', async () => {
    const { code, out } = await archiveCmd('correct', ids[1]!, '--amount', '205.5', '--reason', 'Amount on the invoice is 205.50, typed as 250.50');
    expect(code).toBe(0);
    expect(out).toBe(`${ids[1]}: corrected, metadata version 2\n  amount: 250.5 -> 205.5`);
    const doc = (await call(`${archive.url}/documents/${ids[1]}`, { token })).json;
    expect(doc).toMatchObject({ metadataVersion: 2, metadata: { amount: 205.5 } });
  });

  it('3. export: `archive export --fiscal-year 2024 --out ./2024 --originals --csv-dutch`; the CSV adds up, one row per document', async () => {
    const out = path.join(work, '2024');
    const { code, out: printed } = await archiveCmd('export', '--fiscal-year', '2024', '--out', out, '--originals', '--csv-dutch');
    expect(code).toBe(0);
    expect(printed).toContain('VERIFIED');
    const rows = csvRecords(fs.readFileSync(path.join(out, 'manifest.csv'), 'utf8'), ';');
    expect(rows).toHaveLength(4);
    const cents = rows.map((r) => Math.round(Number(r.amount!.replace(',', '.')) * 100)).reduce((a, b) => a + b, 0);
    expect(cents).toBe(10025 + 20550 + 9999 + 450);
    expect(JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')).export.csv).toEqual({ separator: ';', decimalMark: ',' });
    // `archive exports` lists it.
    expect((await archiveCmd('exports')).out).toContain('completed');
  });

  it('4. verify offline: `archive verify ./2024` (no network), and it notices an edited file', async () => {
    const out = path.join(work, '2024');
    const loggedIn = env;
    env = { ...env, ARCHIVE_CONFIG_DIR: path.join(work, 'no-login') };
    try {
      expect((await archiveCmd('verify', out)).code).toBe(0);
      const file = path.join(out, 'documents', fs.readdirSync(path.join(out, 'documents'))[0]!);
      fs.appendFileSync(file, 'edited');
      const after = await archiveCmd('verify', out);
      expect(after.code).toBe(3);
      expect(after.out).toContain('DIFFERS');
    } finally {
      env = loggedIn;
    }
  });

  it('5. later corrections: `archive ls --fiscal-year 2024 --corrected-since <created>` lists what changed since the export, and `archive export ... --corrected-since` exports just those', async () => {
    // The export's time as `archive exports` prints it.
    const created = /completed\s+(\S+)/.exec((await archiveCmd('exports')).out)![1]!;
    expect(created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect((await archiveCmd('correct', ids[0]!, '--amount', '100.52', '--reason', 'Digits swapped')).code).toBe(0);
    // The correction of step 2 came before the export: not listed.
    const listed = await archiveCmd('ls', '--fiscal-year', '2024', '--corrected-since', created);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain('1 document(s)');
    expect(listed.out).toContain(ids[0]);
    const out = path.join(work, '2024-corrections');
    const exported = await archiveCmd('export', '--fiscal-year', '2024', '--corrected-since', created, '--out', out, '--originals');
    expect(exported.code).toBe(0);
    expect(exported.out).toContain('VERIFIED');
    const rows = csvRecords(fs.readFileSync(path.join(out, 'manifest.csv'), 'utf8'), ',');
    expect(rows.map((r) => [r.documentId, r.amount])).toEqual([[ids[0], '100.52']]);
  });
});
