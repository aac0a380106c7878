#!/usr/bin/env node
/**
 * `archive`: the accountant's command-line client. A thin argv layer over cli/core.ts.
 *
 *   archive login --url http://localhost:7071/api --with-token < token.txt   (or the token in ARCHIVE_TOKEN)
 *   archive ls --fiscal-year 2024 [--kind invoice] [--counterparty X] [--from D] [--to D] [--reference R] [--tags a,b]
 *   archive get <id> [--original] [--out DIR] [--via-archive] [--force]
 *   archive export --fiscal-year 2024 --out ./2024 [--originals] [--csv-dutch] [--via-archive] [--force]
 *   archive correct <id> --reason R [--amount N] [--currency C] [--counterparty C] [--reference R] [--document-date D] [--kind K] [--fiscal-year Y] [--tags a,b] [--unset f,g]
 *   archive exports
 *   archive verify <folder|zip> [--against-archive]
 */
import { parseArgs } from 'node:util';
import { checkToken, CliError, Client, configDir, correctDocument, correctionText, MetadataPatch, exportSummaryText, exportToDir, formatExports, formatTable, getDocumentFiles, listAll, listExports, loadCliConfig, login, LOGIN_HINT, readTokenFrom, SearchFilter, proveAgainstArchive, verifiedOffline, verifyExport, verifyText } from './core';

const USAGE = `usage:
  archive login --url <base, e.g. http://localhost:7071/api> --with-token < token.txt
  ARCHIVE_TOKEN=... archive login --url <base>
  archive ls [--fiscal-year Y] [--from D] [--to D] [--kind K] [--counterparty C] [--reference R] [--tags a,b] [--amount-min N] [--amount-max N]
             [--corrected-since <date or instant>]
  archive get <id> [--original] [--out DIR] [--via-archive] [--force]
  archive export [search options] --out DIR [--originals] [--csv-dutch] [--via-archive] [--force]
  archive correct <id> --reason R [--amount N] [--currency C] [--counterparty C] [--reference R]
                  [--document-date YYYY-MM-DD] [--kind K] [--fiscal-year Y] [--tags a,b] [--unset field,field]
  archive exports
  archive verify <folder|zip> [--against-archive]

login reads the token from standard input (--with-token: one line, piped or redirected) or from
ARCHIVE_TOKEN, never from the command line, where shell history and ps would show it.
get saves <name>.rendition.pdf, or with --original every original as <name>.original-<n>.<ext>.
export picks up the unfinished export recorded in DIR instead of starting another (of the same
search and options only; another exits 4, --force starts the one asked for).
correct changes the document's catalog metadata (never the scan), with a reason, over the version it
has just read: a correction someone made meanwhile is refused (run again), never overwritten.
No command replaces an existing file unless --force is given; verify works offline.
verify --against-archive also asks the archive (logged in) whether manifest.json, which holds every
file's SHA-256, is the one it handed out in that export: offline, an edited scan with its SHA-256
edited in manifest.json too verifies; against the archive it does not. The archive keeps that record
after the export's ZIP has expired.
--csv-dutch writes manifest.csv with ';' between fields and ',' as decimal mark.
--corrected-since T finds the documents whose details were corrected since T (an export's time, as
archive exports shows it); with --fiscal-year, also those corrected out of that year.

Files of 16 MiB or more come straight from storage through a short-lived read-only link the
archive hands out (and audits); --via-archive asks the API for them instead, which streams files up
to its limit (ARCHIVE_STREAMED_ANSWER_MAX_BYTES) and answers larger ones with that link all the same.
Support access gets no links: it reads large files through the API in pieces (Range), resumable.`;

const OPTIONS = {
  url: { type: 'string' },
  reason: { type: 'string' },
  amount: { type: 'string' },
  currency: { type: 'string' },
  'document-date': { type: 'string' },
  unset: { type: 'string' },
  'with-token': { type: 'boolean' },
  'fiscal-year': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  kind: { type: 'string' },
  counterparty: { type: 'string' },
  reference: { type: 'string' },
  tags: { type: 'string' },
  'amount-min': { type: 'string' },
  'amount-max': { type: 'string' },
  'corrected-since': { type: 'string' },
  original: { type: 'boolean' },
  originals: { type: 'boolean' },
  out: { type: 'string' },
  'via-archive': { type: 'boolean' },
  force: { type: 'boolean' },
  'csv-dutch': { type: 'boolean' },
  'against-archive': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/**
 * A number given as an option: decimal digits, a sign, and for an amount a decimal point. `Number()` read more: '' as 0,
 * '0x10' as 16, '1e3' as 1000. An amount whose point is followed by exactly three digits after one to three others
 * (`1.000`) is a thousand to a Dutch reader and one by this option's contract: refused, never guessed.
 */
function numberOption(option: string, raw: string, kind: 'whole' | 'amount'): number {
  const s = raw.trim();
  if (!(kind === 'whole' ? /^-?\d{1,15}$/ : /^-?\d{1,16}(\.\d{1,20})?$/).test(s)) {
    throw new CliError(`--${option} must be a number in decimal digits${kind === 'amount' ? ' with a decimal point, such as 1234.50 (not a comma, no thousands separator)' : ''}; got ${JSON.stringify(raw)}`, 2);
  }
  if (kind === 'amount' && /^-?[1-9]\d{0,2}\.\d{3}$/.test(s)) {
    throw new CliError(`--${option} ${s} could be ${s.replace('.', '')} or ${s.slice(0, -1)}: write the one you mean (no thousands separator)`, 2);
  }
  return Number(s);
}

function filterOf(v: Record<string, string | boolean | undefined>): SearchFilter {
  const num = (option: string, kind: 'whole' | 'amount') => (typeof v[option] === 'string' ? numberOption(option, v[option], kind) : undefined);
  const str = (s: unknown) => (typeof s === 'string' ? s : undefined);
  const f: SearchFilter = {
    fiscalYear: num('fiscal-year', 'whole'),
    from: str(v.from),
    to: str(v.to),
    kind: str(v.kind) as SearchFilter['kind'], // the archive checks it against its kinds
    counterparty: str(v.counterparty),
    reference: str(v.reference),
    tags: typeof v.tags === 'string' ? v.tags.split(',') : undefined,
    amountMin: num('amount-min', 'amount'),
    amountMax: num('amount-max', 'amount'),
    correctedSince: str(v['corrected-since']),
  };
  return Object.fromEntries(Object.entries(f).filter(([, val]) => val !== undefined));
}

/** Options `correct` takes: the fields it sets (`--unset` removes), and its reason. Search-only options are refused, not ignored. */
const CORRECTION_FIELDS = { amount: 'amount', currency: 'currency', counterparty: 'counterparty', reference: 'reference', 'document-date': 'documentDate', kind: 'kind', 'fiscal-year': 'fiscalYear', tags: 'tags' } as const;
const CORRECT_OPTIONS = new Set<string>([...Object.keys(CORRECTION_FIELDS), 'reason', 'unset', 'help']);

function correctionOf(v: Record<string, string | boolean | undefined>): { patch: MetadataPatch; reason: string } {
  const stray = Object.keys(v).filter((k) => v[k] !== undefined && !CORRECT_OPTIONS.has(k));
  if (stray.length > 0) throw new CliError(`correct does not take ${stray.map((k) => `--${k}`).join(', ')}`, 2);
  const reason = typeof v.reason === 'string' ? v.reason.trim() : '';
  if (!reason) throw new CliError('correct needs --reason: every correction says why (it is kept with the correction and in the audit log)', 2);
  const patch: MetadataPatch = {};
  for (const [option, field] of Object.entries(CORRECTION_FIELDS)) {
    const raw = v[option];
    if (typeof raw !== 'string') continue;
    if (field === 'amount' || field === 'fiscalYear') patch[field] = numberOption(option, raw, field === 'amount' ? 'amount' : 'whole');
    else patch[field] = field === 'tags' ? raw.split(',').map((t) => t.trim()).filter(Boolean) : raw;
  }
  for (const option of typeof v.unset === 'string' ? v.unset.split(',').map((f) => f.trim()).filter(Boolean) : []) {
    const field = (CORRECTION_FIELDS as Record<string, string>)[option] ?? Object.values(CORRECTION_FIELDS).find((f) => f === option);
    if (!field) throw new CliError(`--unset ${option}: not a metadata field (${Object.keys(CORRECTION_FIELDS).join(', ')})`, 2);
    if (field in patch) throw new CliError(`--unset ${option} and --${option} both given`, 2);
    patch[field] = null;
  }
  if (Object.keys(patch).length === 0) throw new CliError('correct needs at least one field to set or --unset', 2);
  return { patch, reason };
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, fetchImpl: typeof fetch = fetch, stdin: NodeJS.ReadableStream & { isTTY?: boolean } = process.stdin): Promise<number> {
  // Before parsing: `--token` with its value missing is refused as firmly as with one.
  const options = argv.slice(0, argv.includes('--') ? argv.indexOf('--') : argv.length);
  if (options.some((a) => a === '--token' || a.startsWith('--token='))) {
    throw new CliError('--token is refused: a token on the command line stays in your shell history and shows in every user\'s `ps`. Nothing was saved. Pass it on standard input (archive login --url <base> --with-token < token.txt) or in ARCHIVE_TOKEN, and treat the one you typed as exposed.', 2);
  }
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    // An unknown option or a missing value is a usage error, like every other (exit 2).
    throw new CliError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`, 2);
  }
  const { values, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const dir = configDir(env);
  // Read when a command needs the archive: verify alone works without a login.
  const connect = (): Client => ({ config: loadCliConfig(dir), fetch: (u, i) => fetchImpl(u, i), progress: (line) => process.stderr.write(`\r${line}\x1b[K`) });
  if (command === 'verify') {
    const target = rest[0];
    if (!target) throw new CliError('verify needs a folder or a ZIP', 2);
    const r = await verifyExport(target);
    if (!values['against-archive']) {
      console.log(verifyText(target, r));
      return verifiedOffline(r) ? 0 : 3;
    }
    const proof = await proveAgainstArchive(connect(), r);
    console.log(verifyText(target, r, proof));
    return verifiedOffline(r) && proof.status === 'proven' ? 0 : 3;
  }
  if (command === 'login') {
    // A stray argument may well be the token itself: refused, and not shown.
    if (rest.length > 0) throw new CliError(`login takes no arguments; the token comes on standard input or in ARCHIVE_TOKEN: ${LOGIN_HINT}`, 2);
    if (!values.url) throw new CliError(`login needs --url: ${LOGIN_HINT}`, 2);
    let token: string;
    if (values['with-token']) token = await readTokenFrom(stdin);
    else if (env.ARCHIVE_TOKEN !== undefined) token = checkToken(env.ARCHIVE_TOKEN, 'in ARCHIVE_TOKEN');
    else throw new CliError(`login needs the token on standard input or in ARCHIVE_TOKEN: ${LOGIN_HINT}`, 2);
    console.log(`saved to ${login(dir, { url: values.url, token })} (readable by you only)`);
    return 0;
  }
  const client = connect();
  switch (command) {
    case 'ls': {
      const docs = await listAll(client, filterOf(values));
      console.log(formatTable(docs));
      console.log(`${docs.length} document(s)`);
      return 0;
    }
    case 'get': {
      const id = rest[0];
      if (!id) throw new CliError('get needs a document id', 2);
      const files = await getDocumentFiles(client, id, { original: !!values.original, outDir: values.out ?? '.', viaArchive: !!values['via-archive'], force: !!values.force });
      process.stderr.write('\n');
      for (const r of files) console.log(`${r.file}: ${r.size} bytes, SHA-256 ${r.sha256} verified against Repr-Digest${r.resumedFrom ? ` (resumed at ${r.resumedFrom})` : ''}`);
      return 0;
    }
    case 'correct': {
      const id = rest[0];
      if (!id || rest.length > 1) throw new CliError('correct needs one document id', 2);
      const { patch, reason } = correctionOf(values);
      console.log(correctionText(id, await correctDocument(client, id, patch, reason)));
      return 0;
    }
    case 'exports': {
      console.log(formatExports(await listExports(client)));
      return 0;
    }
    case 'export': {
      if (!values.out) throw new CliError('export needs --out DIR', 2);
      const summary = await exportToDir(client, filterOf(values), { outDir: values.out, includeOriginals: !!values.originals, viaArchive: !!values['via-archive'], force: !!values.force, ...(values['csv-dutch'] ? { csv: { separator: ';', decimalMark: ',' } as const } : {}) });
      process.stderr.write('\n');
      console.log(exportSummaryText(summary));
      return verifiedOffline(summary) ? 0 : 3;
    }
    default:
      throw new CliError(`unknown command ${command}\n${USAGE}`, 2);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`\narchive: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(err instanceof CliError ? err.exitCode : 1);
    },
  );
}
