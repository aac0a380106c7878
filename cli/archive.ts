#!/usr/bin/env node
/**
 * `archive`: the accountant's command-line client. A thin argv layer over cli/core.ts.
 *
 *   archive login --url http://localhost:7071/api --token <jwt>
 *   archive ls --fiscal-year 2024 [--kind invoice] [--counterparty X] [--from D] [--to D] [--reference R] [--tags a,b]
 *   archive get <id> [--original] [--out DIR] [--via-archive]
 *   archive export --fiscal-year 2024 --out ./2024 [--originals] [--via-archive]
 */
import { parseArgs } from 'node:util';
import { CliError, Client, configDir, exportSummaryText, exportToDir, formatTable, getDocumentFile, listAll, loadCliConfig, login, SearchFilter } from './core';

const USAGE = `usage:
  archive login --url <base, e.g. http://localhost:7071/api> --token <jwt>
  archive ls [--fiscal-year Y] [--from D] [--to D] [--kind K] [--counterparty C] [--reference R] [--tags a,b] [--amount-min N] [--amount-max N]
  archive get <id> [--original] [--out DIR] [--via-archive]
  archive export [search options] --out DIR [--originals] [--via-archive]

Files of 16 MiB or more come straight from storage through a short-lived read-only link the
archive hands out (and audits); --via-archive streams them through the API instead.`;

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  'fiscal-year': { type: 'string' },
  from: { type: 'string' },
  to: { type: 'string' },
  kind: { type: 'string' },
  counterparty: { type: 'string' },
  reference: { type: 'string' },
  tags: { type: 'string' },
  'amount-min': { type: 'string' },
  'amount-max': { type: 'string' },
  original: { type: 'boolean' },
  originals: { type: 'boolean' },
  out: { type: 'string' },
  'via-archive': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function filterOf(v: Record<string, string | boolean | undefined>): SearchFilter {
  const num = (s: unknown) => (typeof s === 'string' ? Number(s) : undefined);
  const str = (s: unknown) => (typeof s === 'string' ? s : undefined);
  const f: SearchFilter = {
    fiscalYear: num(v['fiscal-year']),
    from: str(v.from),
    to: str(v.to),
    kind: str(v.kind) as SearchFilter['kind'], // the archive checks it against its kinds
    counterparty: str(v.counterparty),
    reference: str(v.reference),
    tags: typeof v.tags === 'string' ? v.tags.split(',') : undefined,
    amountMin: num(v['amount-min']),
    amountMax: num(v['amount-max']),
  };
  for (const [k, val] of Object.entries(f)) if (typeof val === 'number' && !Number.isFinite(val)) throw new CliError(`--${k} must be a number`, 2);
  return Object.fromEntries(Object.entries(f).filter(([, val]) => val !== undefined));
}

export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env, fetchImpl: typeof fetch = fetch): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const dir = configDir(env);
  if (command === 'login') {
    if (!values.url || !values.token) throw new CliError('login needs --url and --token', 2);
    console.log(`saved to ${login(dir, { url: values.url, token: values.token })} (readable by you only)`);
    return 0;
  }
  const client: Client = { config: loadCliConfig(dir), fetch: (u, i) => fetchImpl(u, i), progress: (line) => process.stderr.write(`\r${line}\x1b[K`) };
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
      const r = await getDocumentFile(client, id, { original: !!values.original, outDir: values.out ?? '.', viaArchive: !!values['via-archive'] });
      process.stderr.write('\n');
      console.log(`${r.file}: ${r.size} bytes, SHA-256 ${r.sha256} verified against Repr-Digest${r.resumedFrom ? ` (resumed at ${r.resumedFrom})` : ''}`);
      return 0;
    }
    case 'export': {
      if (!values.out) throw new CliError('export needs --out DIR', 2);
      const summary = await exportToDir(client, filterOf(values), { outDir: values.out, includeOriginals: !!values.originals, viaArchive: !!values['via-archive'] });
      process.stderr.write('\n');
      console.log(exportSummaryText(summary));
      return summary.verified === summary.files && summary.mismatched.length + summary.missing.length + summary.unexpected.length === 0 ? 0 : 3;
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
