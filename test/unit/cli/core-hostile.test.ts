/**
 * The `archive` CLI against a hostile or careless archive, and a hostile folder: where the token may go,
 * which download links it follows, what a server-given name may write, and what reaches the terminal.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type Client, CliError, downloadTo, exportToDir, type FetchLike, formatExports, formatTable, listAll, type ListedDocument, loadCliConfig, login, unpackAndVerify } from '../../../cli/core';

let work: string;
beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'cli-hostile-'));
});
afterEach(() => fs.rmSync(work, { recursive: true, force: true }));

const BYTES = Buffer.from('the archived bytes');
const digest = `sha-256=:${createHash('sha256').update(BYTES).digest('base64')}:`;
const BASE = 'https://archive.example/api';

/** A fetch that answers by URL and records every call (URL and headers). */
function fakeFetch(answer: (url: string) => Response): { fetch: FetchLike; calls: { url: string; headers: Record<string, string> }[] } {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  return { calls, fetch: async (url, init) => (calls.push({ url, headers: init?.headers ?? {} }), answer(url)) };
}
const clientOf = (fetch: FetchLike): Client => ({ config: { url: BASE, token: 'secret-token' }, fetch });

describe('login', () => {
  it('refuses a plain-http archive across the network: the token would travel readable', () => {
    expect(() => login(path.join(work, 'c'), { url: 'http://archive.example/api', token: 't' })).toThrow(CliError);
    expect(fs.existsSync(path.join(work, 'c', 'config.json'))).toBe(false);
    for (const url of ['https://archive.example/api', 'http://localhost:7071/api', 'http://127.0.0.1:7071/api', 'http://[::1]:7071/api']) {
      expect(() => login(path.join(work, 'c'), { url, token: 't' })).not.toThrow();
    }
  });

  it('never writes the token through a config.json that is a link elsewhere, and leaves it 0600', () => {
    const dir = path.join(work, 'c');
    fs.mkdirSync(dir);
    const elsewhere = path.join(work, 'world-readable.txt');
    fs.writeFileSync(elsewhere, 'untouched', { mode: 0o644 });
    fs.symlinkSync(elsewhere, path.join(dir, 'config.json'));
    const file = login(dir, { url: BASE, token: 'secret-token' });
    expect(fs.readFileSync(elsewhere, 'utf8')).toBe('untouched');
    expect(fs.lstatSync(file).isSymbolicLink()).toBe(false);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readdirSync(dir)).toEqual(['config.json']);
  });
});

describe('a saved login', () => {
  it('whose url is plain http across the network (edited, or copied in) is not used: the token would travel readable', () => {
    const dir = path.join(work, 'c');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ url: 'http://archive.example/api', token: 'secret-token' }), { mode: 0o600 });
    expect(() => loadCliConfig(dir)).toThrow(/https/);
  });

  it('readable by others is not used (POSIX), and the error never shows the token', () => {
    if (process.platform === 'win32') return;
    const dir = path.join(work, 'c');
    login(dir, { url: BASE, token: 'secret-token' });
    fs.chmodSync(path.join(dir, 'config.json'), 0o644);
    expect(() => loadCliConfig(dir)).toThrow(/readable by others/);
    expect(() => loadCliConfig(dir)).not.toThrow(/secret-token/);
  });
});

describe('direct download links', () => {
  const linkTo = (location: string) =>
    fakeFetch((url) =>
      url.startsWith(BASE)
        ? new Response(null, { status: 303, headers: { Location: location, ETag: '"e1"', 'Repr-Digest': digest } })
        : new Response(BYTES, { status: 200, headers: { 'Content-Length': String(BYTES.length) } }),
    );

  it.each(['http://storage.example/c/blob?sig=x', 'file:///etc/passwd', 'data:application/pdf;base64,AAAA', 'ftp://storage.example/x'])('does not follow %s', async (location) => {
    const { fetch, calls } = linkTo(location);
    await expect(downloadTo(clientOf(fetch), '/documents/d1/rendition', path.join(work, 'd.pdf'), 'd.pdf', { direct: true })).rejects.toThrow(/not https|not a URL/);
    expect(calls.map((c) => c.url)).toEqual([`${BASE}/documents/d1/rendition?delivery=redirect`]);
  });

  it('follows an https link without the archive token', async () => {
    const { fetch, calls } = linkTo('https://acct.blob.core.windows.net/c/blob?sig=x');
    const r = await downloadTo(clientOf(fetch), '/documents/d1/rendition', path.join(work, 'd.pdf'), 'd.pdf', { direct: true });
    expect(r.verified).toBe(true);
    expect(calls[1]).toEqual({ url: 'https://acct.blob.core.windows.net/c/blob?sig=x', headers: {} });
  });
});

describe('a storage link that redirects', () => {
  it('is not followed to another host (nor to plain http): the link is checked, where it redirects to is not', async () => {
    const { createServer } = await import('node:http');
    const hits: string[] = [];
    const elsewhere = createServer((req, res) => (hits.push(req.url ?? ''), res.end(BYTES)));
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
    const storage = createServer((_req, res) => res.writeHead(302, { Location: `http://127.0.0.2:${(elsewhere.address() as { port: number }).port}/other` }).end());
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    try {
      const link = `http://127.0.0.1:${(storage.address() as { port: number }).port}/c/blob?sig=x`;
      const fetchImpl: FetchLike = async (url, init) => (url.startsWith(BASE) ? new Response(null, { status: 303, headers: { Location: link, ETag: '"e1"', 'Repr-Digest': digest } }) : fetch(url, init));
      await expect(downloadTo(clientOf(fetchImpl), '/documents/d1/rendition', path.join(work, 'd.pdf'), 'd.pdf', { direct: true })).rejects.toThrow(/storage answered 302/);
      expect(hits).toEqual([]);
    } finally {
      await new Promise((r) => storage.close(r));
      await new Promise((r) => elsewhere.close(r));
    }
  });
});

describe('the archive redirecting elsewhere', () => {
  it('is not followed: answers from another host (or plain http) are not taken as the archive\'s', async () => {
    const { createServer } = await import('node:http');
    const hits: string[] = [];
    const elsewhere = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"e1"', 'Repr-Digest': digest });
      res.end(req.url?.includes('rendition') ? BYTES : JSON.stringify({ items: [], continuationToken: null }));
    });
    await new Promise<void>((resolve) => elsewhere.listen(0, '127.0.0.2', resolve));
    const archive = createServer((req, res) => res.writeHead(307, { Location: `http://127.0.0.2:${(elsewhere.address() as { port: number }).port}${req.url}` }).end());
    await new Promise<void>((resolve) => archive.listen(0, '127.0.0.1', resolve));
    try {
      const client: Client = { config: { url: `http://127.0.0.1:${(archive.address() as { port: number }).port}/api`, token: 'secret-token' }, fetch: (url, init) => fetch(url, init) };
      await expect(listAll(client, { fiscalYear: 2024 })).rejects.toThrow(/307/);
      await expect(downloadTo(client, '/documents/d1/rendition', path.join(work, 'd.pdf'))).rejects.toThrow(/307/);
      expect(hits).toEqual([]);
    } finally {
      await new Promise((r) => archive.close(r));
      await new Promise((r) => elsewhere.close(r));
    }
  });
});

describe('part files', () => {
  it.each(['.part', '.part.json'])('refuses to write or resume through a symbolic link at <file>%s', async (suffix) => {
    const victim = path.join(work, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    const dest = path.join(work, 'd.pdf');
    fs.symlinkSync(victim, `${dest}${suffix}`);
    const { fetch } = fakeFetch(() => new Response(BYTES, { status: 200, headers: { ETag: '"e1"', 'Repr-Digest': digest } }));
    await expect(downloadTo(clientOf(fetch), '/documents/d1/rendition', dest)).rejects.toThrow(/symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
    expect(fs.existsSync(dest)).toBe(false);
  });
});

describe('export ids from the server', () => {
  it('an id with ../ in it names no file outside --out', async () => {
    const out = path.join(work, 'nested', 'out');
    const id = '/../../../escaped';
    const job = { id, status: 'completed', filter: {}, includeOriginals: false, createdAt: '2024-01-01T00:00:00Z', expiresAt: '2024-02-01T00:00:00Z', progress: { total: 1, documents: 1, files: 1, bytes: BYTES.length }, archive: { size: BYTES.length, sha256: 'x' } };
    const { fetch, calls } = fakeFetch((url) =>
      url.endsWith('/exports') ? Response.json(job, { status: 202 }) : new Response(BYTES, { status: 200, headers: { ETag: '"e1"', 'Repr-Digest': digest } }),
    );
    await expect(exportToDir(clientOf(fetch), { fiscalYear: 2024 }, { outDir: out, pollMs: 1 })).rejects.toThrow(/export id/);
    expect(calls.some((c) => c.url.includes('/download'))).toBe(false);
    expect(fs.readdirSync(work).sort()).toEqual(['nested']);
  });
});

describe('an export still running', () => {
  it('its id and progress from the server reach the progress line printable, and an id that cannot name a file is refused before polling', async () => {
    const running = { id: 'e1\u001b]0;owned\u0007', status: 'running', filter: {}, includeOriginals: false, createdAt: '2024-01-01T00:00:00Z', expiresAt: '2024-02-01T00:00:00Z', progress: { total: 1, documents: '\u001b[2J', files: 1, bytes: 1 } };
    const lines: string[] = [];
    let n = 0;
    const { fetch, calls } = fakeFetch(() => (n++ === 0 ? Response.json(running, { status: 202 }) : Response.json({ ...running, status: 'completed' })));
    const client: Client = { ...clientOf(fetch), progress: (line) => lines.push(line) };
    await expect(exportToDir(client, { fiscalYear: 2024 }, { outDir: path.join(work, 'out'), pollMs: 1 })).rejects.toThrow(/export id/);
    expect(lines.join('\n')).not.toMatch(/[\u0000-\u001f]/);
    expect(calls).toHaveLength(1);
  });

  it('its progress counts reach the progress line printable', async () => {
    let n = 0;
    const job = (status: string) => ({ id: 'e1', status, filter: {}, includeOriginals: false, createdAt: '2024-01-01T00:00:00Z', expiresAt: '2024-02-01T00:00:00Z', progress: { total: '\u001b]8;;https://evil.example\u0007', documents: '\u001b[2J', files: 1, bytes: 1 } });
    const lines: string[] = [];
    const { fetch } = fakeFetch(() => (n++ === 0 ? Response.json(job('running'), { status: 202 }) : Response.json(job('failed'))));
    const client: Client = { ...clientOf(fetch), progress: (line) => lines.push(line) };
    await expect(exportToDir(client, { fiscalYear: 2024 }, { outDir: path.join(work, 'out'), pollMs: 1 })).rejects.toThrow(/failed/);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toMatch(/[\u0000-\u001f]/);
  });
});

describe('what reaches the terminal', () => {
  it('escape sequences and line breaks in metadata never reach it', () => {
    const doc = { id: 'd1', fiscalYear: 2024, createdAt: '', metadata: { counterparty: 'Bakker\x1b[2K\x1b[1A\rOK\nforged row\x9b31m', reference: 'inv\u202Efdp.exe' } } as ListedDocument;
    const table = formatTable([doc]);
    expect(table).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(table.split('\n')).toHaveLength(2);
    const exports = formatExports([{ id: 'e\x1b]0;pwned\x07', status: 'completed', filter: { counterparty: '\x9b2J' }, includeOriginals: false, createdAt: '2024-01-01T00:00:00Z', progress: { total: 1, documents: 1 }, expiresAt: '2024-02-01T00:00:00Z' }]);
    expect(exports).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f]/);
  });
});

describe('unpacking an export', () => {
  it('never writes an entry through a symbolic link left at its temporary name', async () => {
    const { ZipFile } = await import('yazl');
    const zipFile = path.join(work, 'export.zip');
    const zip = new ZipFile();
    zip.addBuffer(Buffer.from('{"documents":[]}'), 'manifest.json');
    zip.addBuffer(BYTES, 'documents/a.pdf');
    zip.end();
    await new Promise<void>((resolve, reject) => zip.outputStream.pipe(fs.createWriteStream(zipFile)).on('close', resolve).on('error', reject));
    const out = path.join(work, 'out');
    fs.mkdirSync(path.join(out, 'documents'), { recursive: true });
    const victim = path.join(work, 'victim.txt');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(out, 'documents', 'a.pdf.unpacking'));
    await expect(unpackAndVerify(zipFile, out)).rejects.toThrow(/symbolic link/);
    expect(fs.readFileSync(victim, 'utf8')).toBe('precious');
  });
});
