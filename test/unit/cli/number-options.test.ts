/**
 * A number given to the `archive` CLI is the number its user wrote, or refused (exit 2) before anything is sent:
 * `Number()` read '' as 0, '0x10' as 16 and '1e3' as 1000, and `--amount 1.000` (a thousand to a Dutch accountant)
 * corrected a receipt to 1.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../../cli/archive';
import { CliError } from '../../../cli/core';

let dir: string;
let sent: string[];
const fetchImpl: typeof fetch = async (url) => {
  sent.push(typeof url === 'string' ? url : url instanceof URL ? url.href : url.url);
  throw new CliError('stopped after the first request', 9);
};
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-number-'));
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ url: 'http://127.0.0.1:9/api', token: 't' }), { mode: 0o600 });
  sent = [];
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const run = (argv: string[]) => main(argv, { ARCHIVE_CONFIG_DIR: dir }, fetchImpl).then(() => null, (e: unknown) => e as CliError);

it.each([
  [['correct', 'd1', '--reason', 'typo', '--amount', '1.000'], /--amount 1\.000 could be 1000 or 1\.00/],
  [['correct', 'd1', '--reason', 'typo', '--amount', '12.345'], /could be 12345 or 12\.34/],
  [['correct', 'd1', '--reason', 'typo', '--amount', '1,50'], /--amount must be a number .*decimal point/],
  [['correct', 'd1', '--reason', 'typo', '--amount', '0x10'], /--amount must be a number/],
  [['correct', 'd1', '--reason', 'typo', '--fiscal-year', '2.024e3'], /--fiscal-year must be a number in decimal digits/],
  [['ls', '--amount-min', ''], /--amount-min must be a number/],
  [['ls', '--amount-max', '1e3'], /--amount-max must be a number/],
  [['ls', '--amount-min=-100.000'], /could be -100000 or -100\.00/],
  [['export', '--fiscal-year', ' ', '--out', '/tmp/never'], /--fiscal-year must be a number/],
])('%j is refused with exit 2 before anything is sent', async (argv, message) => {
  const err = await run(argv);
  expect(err).toBeInstanceOf(CliError);
  expect(err?.exitCode).toBe(2);
  expect(err?.message).toMatch(message);
  expect(sent).toEqual([]);
});

it('sends what only one way of writing means', async () => {
  const err = await run(['ls', '--amount-min', '1234.50', '--amount-max', '0.125', '--fiscal-year', '2024']);
  expect(err?.exitCode).toBe(9);
  const query = new URL(sent[0]!).searchParams;
  expect([query.get('amountMin'), query.get('amountMax'), query.get('fiscalYear')]).toEqual(['1234.5', '0.125', '2024']);
});
