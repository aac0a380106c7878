/**
 * `archive login` through the argv layer: the token comes on standard input (`--with-token`) or in
 * ARCHIVE_TOKEN, never as an argument, where shell history and every user's `ps` would keep it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { main } from '../../../cli/archive';
import { loadCliConfig } from '../../../cli/core';

const URL_ = 'https://archive.example/api';
const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl';

let work: string;
let dir: string;
let logs: string[];
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-login-'));
  dir = path.join(work, 'config');
  logs = [];
  jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
});
afterEach(() => {
  jest.restoreAllMocks();
  fs.rmSync(work, { recursive: true, force: true });
});

const stdinOf = (text: string) => Readable.from([Buffer.from(text)]);
const run = (argv: string[], env: NodeJS.ProcessEnv = {}, stdin: NodeJS.ReadableStream & { isTTY?: boolean } = stdinOf('')) => main(argv, { ARCHIVE_CONFIG_DIR: dir, ...env }, fetch, stdin);
const saved = () => fs.existsSync(path.join(dir, 'config.json'));

describe('archive login', () => {
  it('reads the token from standard input with --with-token (one line, trimmed) and saves it 0600', async () => {
    expect(await run(['login', '--url', URL_, '--with-token'], {}, stdinOf(`  ${JWT}\r\n`))).toBe(0);
    expect(loadCliConfig(dir)).toEqual({ url: URL_, token: JWT });
    expect(fs.statSync(path.join(dir, 'config.json')).mode & 0o777).toBe(0o600);
    expect(logs.join('\n')).not.toContain(JWT);
  });

  it('reads the token from ARCHIVE_TOKEN', async () => {
    expect(await run(['login', '--url', URL_], { ARCHIVE_TOKEN: `${JWT}\n` })).toBe(0);
    expect(loadCliConfig(dir)).toEqual({ url: URL_, token: JWT });
  });

  it('--with-token takes standard input over ARCHIVE_TOKEN', async () => {
    expect(await run(['login', '--url', URL_, '--with-token'], { ARCHIVE_TOKEN: 'other.token' }, stdinOf(JWT))).toBe(0);
    expect(loadCliConfig(dir).token).toBe(JWT);
  });

  it.each([['--token', JWT], [`--token=${JWT}`], ['--token']])('refuses %s on the command line (exit 2), says why and what to use, and saves nothing', async (...flag) => {
    const err = await run(['login', '--url', URL_, ...flag], { ARCHIVE_TOKEN: JWT }, stdinOf(JWT)).then(
      () => null,
      (e: unknown) => e as { exitCode: number; message: string },
    );
    expect(err).toMatchObject({ exitCode: 2, message: expect.stringMatching(/shell history.*ps.*--with-token.*ARCHIVE_TOKEN/s) });
    expect(err!.message).not.toContain(JWT);
    expect(saved()).toBe(false);
    expect(fs.existsSync(dir)).toBe(false);
  });

  it('refuses --token with any command, not only login', async () => {
    await expect(run(['ls', '--token', JWT])).rejects.toMatchObject({ exitCode: 2 });
  });

  it.each([
    ['empty', ''],
    ['only a newline', '\n'],
    ['two lines', `${JWT}\n${JWT}\n`],
    ['a space inside', 'abc def'],
    ['a control character', 'abc\x1bdef'],
    ['non-ASCII', 'abcé'],
  ])('refuses standard input that is %s (exit 2), without showing it, and saves nothing', async (_what, input) => {
    const err = await run(['login', '--url', URL_, '--with-token'], {}, stdinOf(input)).then(
      () => null,
      (e: unknown) => e as { exitCode: number; message: string },
    );
    expect(err).toMatchObject({ exitCode: 2 });
    if (input.trim()) expect(err!.message).not.toContain(input.trim());
    expect(saved()).toBe(false);
  });

  it('refuses an empty ARCHIVE_TOKEN, a terminal as standard input, a stray argument and no token at all', async () => {
    await expect(run(['login', '--url', URL_], { ARCHIVE_TOKEN: ' ' })).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('ARCHIVE_TOKEN') });
    const tty = Object.assign(stdinOf(JWT), { isTTY: true });
    await expect(run(['login', '--url', URL_, '--with-token'], {}, tty)).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('pipe or redirect') });
    const stray = await run(['login', '--url', URL_, JWT]).catch((e: { exitCode: number; message: string }) => e);
    expect(stray).toMatchObject({ exitCode: 2 });
    expect((stray as { message: string }).message).not.toContain(JWT);
    await expect(run(['login', '--url', URL_])).rejects.toMatchObject({ exitCode: 2, message: expect.stringContaining('--with-token') });
    expect(saved()).toBe(false);
  });

  it('refuses more than a token\'s worth of standard input', async () => {
    await expect(run(['login', '--url', URL_, '--with-token'], {}, stdinOf('a'.repeat(70_000)))).rejects.toMatchObject({ exitCode: 2 });
    expect(saved()).toBe(false);
  });

  it('names the way to log in when there is no saved login', async () => {
    await expect(run(['ls'])).rejects.toThrow(/Not logged in: run archive login --url <base> --with-token < token.txt/);
  });
});
