/** The `archive` CLI core against the local host: login, ls, get and export, each interrupted and resumed, then verified. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { main } from '../../cli/archive';
import { Client, configDir, correctDocument, correctionText, downloadTo, exportToDir, FetchLike, getDocumentFiles, listAll, listExports, loadCliConfig, login, verifyExport } from '../../cli/core';
import { breakingAfter, call, checkFetched, multipart, sha256hex } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedDocument, seedMany } from '../support/seed';
import { maintainExports } from '../../shared/exports/maintain-exports';
import type { ExportManifest } from '../../shared/kernel/export';

let archive: TestArchive;
let tenant: string;
let work: string;
let client: Client;
const seen: { url: string; headers: Record<string, string> }[] = [];

/** A fetch whose response bodies break after `cutAfter` bytes, like a dropped connection. */
function flakyFetch(cutAfter: number | null): FetchLike {
  return async (url, init) => {
    seen.push({ url, headers: init?.headers ?? {} });
    const res = await fetch(url, init);
    // The archive's answers are checked against their operations; a storage link's are not the archive's.
    if (url.startsWith(archive.url)) await checkFetched(url, init, res);
    return cutAfter === null ? res : breakingAfter(res, { bytes: cutAfter });
  };
}

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('cli');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-cli-'));
  const token = await archive.token({ tenant, sub: 'accountant@cli.example', rights: 'accountant' });
  login(path.join(work, 'config'), { url: archive.url, token });
  client = { config: loadCliConfig(path.join(work, 'config')), fetch: flakyFetch(null) };
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

describe('archive CLI', () => {
  it('keeps its config readable by the user only, under the config dir', () => {
    const file = path.join(work, 'config', 'config.json');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(configDir({ XDG_CONFIG_HOME: '/x' })).toBe('/x/archive');
    expect(configDir({ ARCHIVE_CONFIG_DIR: '/y' })).toBe('/y');
  });

  it('get: a download interrupted mid-way resumes with Range and ends verified against Repr-Digest', async () => {
    const original = randomBytes(3 * 1024 * 1024);
    const doc = await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2024-02-02', kind: 'invoice' }, original, originalType: 'image/jpeg', fileName: 'big-scan.jpg' });
    const out = path.join(work, 'get');
    await expect(getDocumentFiles({ ...client, fetch: flakyFetch(1024 * 1024) }, doc.id, { original: true, outDir: out })).rejects.toThrow(/connection reset/);
    const part = path.join(out, 'big-scan.original-1.jpg.part');
    const have = fs.statSync(part).size;
    expect(have).toBeGreaterThan(0);
    expect(have).toBeLessThanOrEqual(1024 * 1024);
    seen.length = 0;
    const [r] = await getDocumentFiles(client, doc.id, { original: true, outDir: out });
    expect(seen.find((s) => s.url.endsWith('/originals/1'))!.headers).toMatchObject({ Range: `bytes=${have}-`, 'If-Range': `"${sha256hex(original)}"` });
    expect(r).toMatchObject({ resumedFrom: have, verified: true, sha256: sha256hex(original), size: original.length });
    expect(sha256hex(fs.readFileSync(path.join(out, 'big-scan.original-1.jpg')))).toBe(sha256hex(original));
    expect(fs.existsSync(part)).toBe(false);
  });

  it('direct: a large file comes from storage through the audited link, resumes after a cut and is verified', async () => {
    const original = randomBytes(2 * 1024 * 1024);
    const doc = await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2023-03-03', kind: 'invoice' }, original, originalType: 'application/pdf', fileName: 'large.pdf' });
    const dest = path.join(work, 'direct', 'large.pdf');
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const route = `/documents/${doc.id}/original`;
    seen.length = 0;
    await expect(downloadTo({ ...client, fetch: flakyFetch(700_000) }, route, dest, 'large.pdf', { direct: true })).rejects.toThrow(/connection reset/);
    const have = fs.statSync(`${dest}.part`).size;
    expect(have).toBeGreaterThan(0);
    seen.length = 0;
    const r = await downloadTo(client, route, dest, 'large.pdf', { direct: true });
    expect(r).toMatchObject({ resumedFrom: have, verified: true, sha256: sha256hex(original), size: original.length });
    // The archive was asked for the link (with the token); storage got the range and never the token.
    const [asked, fetched] = seen;
    expect(asked!.url).toContain(`${route}?delivery=redirect`);
    expect(asked!.headers.Authorization).toMatch(/^Bearer /);
    expect(new URL(fetched!.url).searchParams.get('sp')).toBe('r');
    expect(fetched!.headers).toEqual({ Range: `bytes=${have}-` });
    expect(sha256hex(fs.readFileSync(dest))).toBe(sha256hex(original));
  });

  it('export: a fiscal year, download interrupted and resumed, unpacked and every checksum verified', async () => {
    await seedMany(archive.host.deps, tenant, Array.from({ length: 24 }, (_, i) => ({ metadata: { documentDate: `2024-0${1 + (i % 9)}-15`, kind: 'receipt' as const, counterparty: `Shop ${i}` }, original: randomBytes(40_000) })));
    const out = path.join(work, '2024');
    await expect(exportToDir({ ...client, fetch: flakyFetch(200_000) }, { fiscalYear: 2024 }, { outDir: out, includeOriginals: true, pollMs: 50 })).rejects.toThrow(/connection reset/);
    expect(fs.existsSync(path.join(out, '.archive-export.json'))).toBe(true);
    const summary = await exportToDir(client, { fiscalYear: 2024 }, { outDir: out, includeOriginals: true, pollMs: 50 });
    expect(summary.resumedFrom).toBeGreaterThan(0);
    expect(summary).toMatchObject({ documents: 25, files: 50, verified: 50, mismatched: [], missing: [], unexpected: [] });
    const listed = await listAll(client, { fiscalYear: 2024 });
    expect(listed.length).toBe(25);

    // A file changed after unpacking is caught by a re-check.
    const { unpackAndVerify } = await import('../../cli/core');
    const victim = fs.readdirSync(path.join(out, 'documents'))[0]!;
    const again = await unpackAndVerify(summary.zip, path.join(work, 'recheck'));
    expect(again.verified).toBe(50);
    fs.appendFileSync(path.join(out, 'documents', victim), 'x');
    expect(sha256hex(fs.readFileSync(path.join(out, 'documents', victim)))).not.toBe(sha256hex(fs.readFileSync(path.join(work, 'recheck', 'documents', victim))));
  });

  it('get --original fetches every original of a multi-file document; names never collide; nothing is overwritten without --force', async () => {
    const archivist = await archive.token({ tenant, sub: 'archivist@cli.example', rights: 'archivist' });
    const files = [{ bytes: corpusFile('img2pdf/normal.png'), name: 'scan-04.png' }, { bytes: corpusFile('img2pdf/mono.tif'), name: 'p2.tif' }];
    const up = await call(`${archive.url}/documents`, { method: 'POST', token: archivist, body: multipart(files, { documentDate: '2022-06-01', kind: 'invoice' }) });
    expect(up.status).toBe(201);
    const out = path.join(work, 'multi');
    const originals = await getDocumentFiles(client, up.json.id, { original: true, outDir: out });
    expect(originals.map((r) => path.basename(r.file))).toEqual(['scan-04.original-1.png', 'scan-04.original-2.tif']);
    expect(originals.map((r) => r.sha256)).toEqual(files.map((f) => sha256hex(f.bytes)));
    const [rendition] = await getDocumentFiles(client, up.json.id, { outDir: out });
    expect(path.basename(rendition!.file)).toBe('scan-04.rendition.pdf');
    expect(fs.readdirSync(out).sort()).toEqual(['scan-04.original-1.png', 'scan-04.original-2.tif', 'scan-04.rendition.pdf']);

    // A second run refuses, names the file and changes nothing; --force replaces.
    fs.writeFileSync(path.join(out, 'scan-04.original-2.tif'), 'my notes');
    await expect(getDocumentFiles(client, up.json.id, { original: true, outDir: out })).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining('scan-04.original-1.png') });
    expect(fs.readFileSync(path.join(out, 'scan-04.original-2.tif'), 'utf8')).toBe('my notes');
    await getDocumentFiles(client, up.json.id, { original: true, outDir: out, force: true });
    expect(sha256hex(fs.readFileSync(path.join(out, 'scan-04.original-2.tif')))).toBe(sha256hex(files[1]!.bytes));
  });

  it('export re-run refuses to overwrite a tampered file; verify checks a folder and a ZIP offline and names every difference', async () => {
    await seedMany(archive.host.deps, tenant, [1, 2, 3].map((i) => ({ metadata: { documentDate: `2021-0${i}-01`, kind: 'receipt' as const, counterparty: `Kiosk ${i}` } })));
    const out = path.join(work, 'verify');
    const first = await exportToDir(client, { fiscalYear: 2021 }, { outDir: out, includeOriginals: true, pollMs: 50 });
    expect(first.missing).toEqual([]);
    expect(await verifyExport(out)).toMatchObject({ verified: first.files, mismatched: [], missing: [], unexpected: [] });
    expect(await verifyExport(first.zip)).toMatchObject({ verified: first.files, mismatched: [], missing: [], unexpected: [] });

    const [victim, gone] = fs.readdirSync(path.join(out, 'documents')).sort();
    fs.appendFileSync(path.join(out, 'documents', victim!), 'x');
    const tampered = fs.readFileSync(path.join(out, 'documents', victim!));
    await expect(exportToDir(client, { fiscalYear: 2021 }, { outDir: out, includeOriginals: true, pollMs: 50 })).rejects.toMatchObject({ exitCode: 4, message: expect.stringContaining(victim!) });
    expect(fs.readFileSync(path.join(out, 'documents', victim!)).equals(tampered)).toBe(true);

    fs.rmSync(path.join(out, 'documents', gone!));
    fs.writeFileSync(path.join(out, 'documents', 'stray.pdf'), 'not from the archive');
    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    try {
      expect(await main(['verify', out], { ARCHIVE_CONFIG_DIR: path.join(work, 'nowhere') })).toBe(3);
      expect(await main(['verify', first.zip], { ARCHIVE_CONFIG_DIR: path.join(work, 'nowhere') })).toBe(0);
    } finally {
      spy.mockRestore();
    }
    expect(logs[0]).toContain(`DIFFERS  documents/${victim}`);
    expect(logs[0]).toContain(`MISSING  documents/${gone}`);
    expect(logs[0]).toContain('NOT IN MANIFEST documents/stray.pdf');
    expect(logs[0]).toContain('NOT VERIFIED');
    expect(logs[1]).toContain('VERIFIED: every file');
  });

  it('export: an answer lost on the way (the export started) and the command run again picks up that export, never a second', async () => {
    await seedMany(archive.host.deps, tenant, [1, 2].map((i) => ({ metadata: { documentDate: `2017-0${i}-01`, kind: 'invoice' as const, counterparty: `Lost ${i}` } })));
    const out = path.join(work, 'lost-answer');
    const before = (await listExports(client)).length;
    const sent: (string | null)[] = [];
    // The request reaches the archive and is done; its answer never arrives.
    const losing: FetchLike = async (url, init) => {
      const res = await client.fetch(url, init);
      if (url.endsWith('/exports') && init?.method === 'POST') {
        sent.push(new Headers(init.headers).get('idempotency-key'));
        throw new Error('connection reset');
      }
      return res;
    };
    await expect(exportToDir({ ...client, fetch: losing }, { fiscalYear: 2017 }, { outDir: out, pollMs: 50 })).rejects.toThrow(/connection reset/);
    const summary = await exportToDir({ ...client, fetch: async (url, init) => {
      if (url.endsWith('/exports') && init?.method === 'POST') sent.push(new Headers(init.headers).get('idempotency-key'));
      return client.fetch(url, init);
    } }, { fiscalYear: 2017 }, { outDir: out, pollMs: 50 });
    expect(summary).toMatchObject({ documents: 2, mismatched: [], missing: [] });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(sent[1]).toBe(sent[0]);
    expect((await listExports(client)).length).toBe(before + 1);
  });

  it('manifest.csv is covered: manifest.json records its SHA-256, so an edited CSV is a mismatch; an export made before says it was not covered', async () => {
    await seedMany(archive.host.deps, tenant, [1, 2].map((i) => ({ metadata: { documentDate: `2019-0${i}-01`, kind: 'invoice' as const, counterparty: `Supplier ${i}`, amount: 100 * i, currency: 'EUR' } })));
    const out = path.join(work, 'csv');
    const summary = await exportToDir(client, { fiscalYear: 2019 }, { outDir: out, pollMs: 50 });
    const csvFile = path.join(out, 'manifest.csv');
    const manifestFile = path.join(out, 'manifest.json');
    const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
    expect(manifest.manifestCsv).toEqual({ sha256: sha256hex(fs.readFileSync(csvFile)), size: fs.statSync(csvFile).size });
    expect(summary).toMatchObject({ csvCovered: true, mismatched: [], missing: [] });

    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    const verify = (target: string) => main(['verify', target], { ARCHIVE_CONFIG_DIR: path.join(work, 'nowhere') });
    try {
      expect(await verify(out)).toBe(0);
      expect(await verify(summary.zip)).toBe(0);
      expect(logs[0]).toContain('manifest.csv matches its SHA-256 and size in manifest.json');
      expect(logs[1]).toContain('manifest.csv matches its SHA-256 and size in manifest.json');

      // One byte of an amount changed, as a spreadsheet edit would: the CSV is named, nothing else.
      const original = fs.readFileSync(csvFile);
      const edited = Buffer.from(original);
      const at = edited.indexOf(',200,') + 1; // the amount column of Supplier 2
      expect(at).toBeGreaterThan(0);
      edited[at] = '9'.charCodeAt(0);
      fs.writeFileSync(csvFile, edited);
      logs.length = 0;
      expect(await verify(out)).toBe(3);
      expect(logs[0]).toContain('DIFFERS  manifest.csv');
      expect(logs[0]).toContain('NOT VERIFIED');
      expect(await verifyExport(out)).toMatchObject({ mismatched: ['manifest.csv'], missing: [], unexpected: [], verified: summary.files });

      // Gone is no better than edited.
      fs.rmSync(csvFile);
      expect(await verifyExport(out)).toMatchObject({ mismatched: [], missing: ['manifest.csv'] });

      // An export made before the archive recorded the CSV: its files still verify, and verify says plainly the CSV was not checked.
      // (Its folder holds no ZIP of this test's export: one left there is checked against manifest.json, verify-folder-leftovers.test.ts.)
      fs.rmSync(summary.zip);
      fs.writeFileSync(csvFile, edited);
      const { manifestCsv: _, ...older } = manifest;
      fs.writeFileSync(manifestFile, JSON.stringify(older, null, 2));
      logs.length = 0;
      expect(await verify(out)).toBe(0);
      expect(logs[0]).toContain('NOTE     manifest.csv is not covered');
      expect(logs[0]).toContain('VERIFIED: every file manifest.json lists is what the archive exported.');
      expect(await verifyExport(out)).toMatchObject({ csvCovered: false, verified: summary.files, mismatched: [], missing: [], unexpected: [] });
    } finally {
      spy.mockRestore();
    }
  });

  it('export resumes the unfinished export recorded in the folder instead of starting another; exports lists them', async () => {
    const out = path.join(work, 'resume');
    fs.mkdirSync(out, { recursive: true });
    const before = await listExports(client);
    const started = await call(`${archive.url}/exports`, { method: 'POST', token: client.config.token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2022 }) });
    fs.writeFileSync(path.join(out, '.archive-export.json'), JSON.stringify({ exportId: started.json.id }));
    const summary = await exportToDir(client, { fiscalYear: 2022 }, { outDir: out, pollMs: 50 });
    expect(summary.exportId).toBe(started.json.id);
    const after = await listExports(client);
    expect(after.length).toBe(before.length + 1);
    expect(after[0]!.id).toBe(started.json.id);
  });

  it('correct: sets and removes fields over the version it read; a correction made in between is refused (412), never overwritten; bad usage exits 2', async () => {
    const doc = await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2023-05-05', kind: 'invoice', counterparty: 'Drukkerij Smit', reference: 'F-1', amount: 10, currency: 'EUR' } });
    const first = await correctDocument(client, doc.id, { amount: 12.5, reference: null, tags: ['q2'] }, 'Amount and reference as on the invoice');
    expect(first).toEqual({ metadataVersion: 2, changes: [{ field: 'amount', from: 10, to: 12.5 }, { field: 'reference', from: 'F-1', to: null }, { field: 'tags', from: null, to: ['q2'] }] });
    expect(correctionText(doc.id, first)).toBe(`${doc.id}: corrected, metadata version 2\n  amount: 10 -> 12.5\n  reference: F-1 -> (none)\n  tags: (none) -> ["q2"]`);

    // Someone corrects the document between the CLI's read and its write: the CLI's correction is refused, theirs stays.
    const token = client.config.token;
    const racing: FetchLike = async (url, init) => {
      const res = await fetch(url, init);
      if ((init?.method ?? 'GET') === 'GET' && url.endsWith(`/documents/${doc.id}`)) {
        const other = await call(`${archive.url}/documents/${doc.id}/metadata`, { method: 'PATCH', token, headers: { 'Content-Type': 'application/merge-patch+json', 'If-Match': '"metadata-2"' }, body: JSON.stringify({ reason: 'counterparty name', counterparty: 'Drukkerij Smit B.V.' }) });
        expect(other.status).toBe(200);
      }
      return res;
    };
    await expect(correctDocument({ ...client, fetch: racing }, doc.id, { amount: 99 }, 'typo')).rejects.toThrow(/failed with 412 precondition_failed: The document's metadata is at version 3 \(corrected by accountant@cli\.example at [^)]+\), not 2/);
    expect((await call(`${archive.url}/documents/${doc.id}`, { token })).json).toMatchObject({ metadataVersion: 3, metadata: { amount: 12.5, counterparty: 'Drukkerij Smit B.V.' } });

    const env = { ARCHIVE_CONFIG_DIR: path.join(work, 'config') };
    await expect(main(['correct', doc.id, '--amount', '5'], env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/needs --reason/) });
    await expect(main(['correct', doc.id, '--reason', 'why'], env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/at least one field/) });
    await expect(main(['correct', doc.id, '--reason', 'why', '--amount', '5,00'], env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/decimal point/) });
    await expect(main(['correct', doc.id, '--reason', 'why', '--from', '2024-01-01', '--amount', '5'], env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/does not take --from/) });
    await expect(main(['correct', doc.id, '--reason', 'why', '--unset', 'amount', '--amount', '5'], env)).rejects.toMatchObject({ exitCode: 2 });
    await expect(main(['correct', doc.id, '--reason', 'why', '--unset', 'password'], env)).rejects.toMatchObject({ exitCode: 2, message: expect.stringMatching(/not a metadata field/) });
    expect((await call(`${archive.url}/documents/${doc.id}`, { token })).json.metadataVersion).toBe(3);
  });

  it('an expired or invalid token says how to log in again', async () => {
    const stale = { ...client, config: { ...client.config, token: 'not-a-token' } };
    await expect(listAll(stale, { fiscalYear: 2024 })).rejects.toThrow(/Log in again: archive login --url .* --with-token < token.txt \(or with the new token in ARCHIVE_TOKEN\)/);
  });

  it('argv layer: ls prints a table; bad usage exits 2', async () => {
    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    try {
      expect(await main(['ls', '--fiscal-year', '2024', '--kind', 'invoice'], { ARCHIVE_CONFIG_DIR: path.join(work, 'config') })).toBe(0);
      expect(logs.join('\n')).toMatch(/1 document\(s\)/);
      await expect(main(['get'], { ARCHIVE_CONFIG_DIR: path.join(work, 'config') })).rejects.toMatchObject({ exitCode: 2 });
      await expect(main(['ls'], { ARCHIVE_CONFIG_DIR: path.join(work, 'nowhere') })).rejects.toThrow(/Not logged in/);
    } finally {
      spy.mockRestore();
    }
  });

  // Last in the file: it expires the tenant's exports.
  it('verify --against-archive: the archive vouches for manifest.json, so a scan edited with its SHA-256 edited too is caught, as is a copy of another tenant; the record outlives the ZIP', async () => {
    await seedMany(archive.host.deps, tenant, [1, 2].map((i) => ({ metadata: { documentDate: `2016-0${i}-01`, kind: 'invoice' as const, counterparty: `Proven ${i}` } })));
    const out = path.join(work, 'proof');
    const summary = await exportToDir(client, { fiscalYear: 2016 }, { outDir: out, pollMs: 50 });
    const manifestFile = path.join(out, 'manifest.json');
    const manifestBytes = fs.readFileSync(manifestFile);
    const manifest = JSON.parse(manifestBytes.toString('utf8')) as ExportManifest;

    // The job and the completion's audit entry keep manifest.json's fingerprint.
    const recorded = { sha256: sha256hex(manifestBytes), size: manifestBytes.length };
    expect((await call(`${archive.url}/exports/${summary.exportId}`, { token: client.config.token })).json).toMatchObject({ manifestJson: recorded });
    const entries = (await archive.host.deps.audit.list(tenant, new Date().toISOString().slice(0, 7), 500)).items;
    expect(entries.find((e) => e.action === 'export.completed' && e.target === summary.exportId)?.detail).toContain(`manifest-json-sha256=${recorded.sha256};manifest-json-size=${recorded.size}`);

    const logs: string[] = [];
    const spy = jest.spyOn(console, 'log').mockImplementation((m: string) => void logs.push(m));
    const verify = async (target: string, configName = 'config') => {
      logs.length = 0;
      const code = await main(['verify', target, '--against-archive'], { ARCHIVE_CONFIG_DIR: path.join(work, configName) });
      return { code, text: logs.join('\n') };
    };
    try {
      expect(await verify(out)).toEqual({ code: 0, text: expect.stringContaining(`VERIFIED AGAINST THE ARCHIVE: every file is what the archive handed out in export ${summary.exportId}.`) });
      expect(await verify(summary.zip)).toEqual({ code: 0, text: expect.stringContaining('VERIFIED AGAINST THE ARCHIVE') });

      // A rendition edited, and its SHA-256 and size edited in manifest.json to match (and the ZIP, which would tell, taken
      // out of the folder: verify-folder-leftovers.test.ts): offline it verifies ...
      fs.rmSync(summary.zip);
      const file = manifest.documents[0]!.files[0]!;
      const edited = Buffer.concat([fs.readFileSync(path.join(out, file.path)), Buffer.from('\n% edited\n')]);
      fs.writeFileSync(path.join(out, file.path), edited);
      Object.assign(file, { sha256: sha256hex(edited), size: edited.length });
      fs.writeFileSync(manifestFile, JSON.stringify(manifest, null, 2));
      expect(await main(['verify', out], { ARCHIVE_CONFIG_DIR: path.join(work, 'nowhere') })).toBe(0);
      // ... against the archive it does not.
      const forged = await verify(out);
      expect(forged.code).toBe(3);
      expect(forged.text).toContain(`ARCHIVE  manifest.json DIFFERS from the one export ${summary.exportId} handed out (the archive recorded SHA-256 ${recorded.sha256}, ${recorded.size} bytes)`);
      expect(forged.text).toContain('NOT VERIFIED');

      // Pointed at another export id, or a made-up one: nothing vouches for it.
      fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, export: { ...manifest.export, id: '0190f2a4-0000-7000-8000-000000000000' } }, null, 2));
      expect(await verify(out)).toEqual({ code: 3, text: expect.stringContaining('the archive has no export 0190f2a4-0000-7000-8000-000000000000 for the tenant you are logged in to') });
      fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, export: { ...manifest.export, id: '../exports' } }, null, 2));
      expect((await verify(out)).code).toBe(3);
      fs.writeFileSync(manifestFile, JSON.stringify({ ...manifest, export: undefined }, null, 2));
      expect(await verify(out)).toEqual({ code: 3, text: expect.stringContaining('manifest.json names no export') });

      // The genuine copy, checked by someone of another tenant: not one of their archive's exports.
      fs.writeFileSync(path.join(out, file.path), edited.subarray(0, edited.length - Buffer.byteLength('\n% edited\n')));
      fs.writeFileSync(manifestFile, manifestBytes);
      const other = newTenant('cli-other');
      login(path.join(work, 'config-other'), { url: archive.url, token: await archive.token({ tenant: other, sub: 'accountant@other.example', rights: 'accountant' }) });
      expect(await verify(out, 'config-other')).toEqual({ code: 3, text: expect.stringContaining(`the archive has no export ${summary.exportId} for the tenant you are logged in to`) });

      // Years later: the ZIP has expired (and is deleted), the record that proves the copy has not.
      const expired = await maintainExports({ now: new Date(Date.now() + 400 * 86_400_000), deps: archive.host.deps, tenantId: tenant });
      expect(expired.expired).toContain(summary.exportId);
      const after = (await call(`${archive.url}/exports/${summary.exportId}`, { token: client.config.token })).json as { status: string; archive?: unknown; manifestJson: unknown };
      expect(after).toMatchObject({ status: 'expired', manifestJson: recorded });
      expect(after.archive).toBeUndefined();
      expect(await verify(out)).toEqual({ code: 0, text: expect.stringContaining('VERIFIED AGAINST THE ARCHIVE') });
    } finally {
      spy.mockRestore();
    }
  });
});
