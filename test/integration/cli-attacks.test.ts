/**
 * The `archive` CLI attacked as its users would be hurt: could an accountant using it as documented believe they hold a
 * complete, unchanged copy when they do not, lose files or overwrite their own? Against the local host; what the other
 * CLI tests hold (the resume sweep, hostile ZIPs, leftovers in a folder, the proof against the archive) is not repeated.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, CliError, correctDocument, exportToDir, FetchLike, listAll, listExports, loadCliConfig, login, proveAgainstArchive, verifiedOffline, verifyExport } from '../../cli/core';
import { archiveRecording, CSV, EVIL, GOOD, manifestFor, sha } from '../support/export-copy';
import { breakingAfter, call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { seedDocument } from '../support/seed';

let archive: TestArchive;
let tenant: string;
let work: string;
let client: Client;

beforeAll(async () => {
  archive = await startTestArchive();
  tenant = newTenant('clia');
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-cli-attacks-'));
  const token = await archive.token({ tenant, sub: 'accountant@clia.example', rights: 'accountant' });
  login(path.join(work, 'config'), { url: archive.url, token });
  client = { config: loadCliConfig(path.join(work, 'config')), fetch: (url, init) => fetch(url, init) };
  await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2023-06-01', kind: 'invoice', counterparty: 'Oud Jaar', amount: 10, currency: 'EUR' } });
  await seedDocument(archive.host.deps, tenant, { metadata: { documentDate: '2024-06-01', kind: 'invoice', counterparty: 'Nieuw Jaar', amount: 20, currency: 'EUR' } });
});
afterAll(async () => {
  await archive.stop();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A fetch whose ZIP downloads are cut after 40 bytes: an export run stops with its export started and a part file kept. */
const noDownloads: FetchLike = async (url, init) => {
  if (/\/exports\/[^/]+\/download/.test(url)) return breakingAfter(await fetch(url, init), { bytes: 40 });
  return fetch(url, init);
};

async function exitOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 0;
  } catch (e) {
    if (e instanceof CliError) return e.exitCode;
    throw e;
  }
}

describe('export: the unfinished export recorded in the folder', () => {
  it('is not handed out for another search run into the same folder', async () => {
    const out = path.join(work, 'same-folder');
    // 2023 started, its download interrupted: the folder records that export.
    expect(await exitOf(exportToDir({ ...client, fetch: noDownloads }, { fiscalYear: 2023 }, { outDir: out, pollMs: 20 }))).toBe(75);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.zip.part'))).toHaveLength(1);
    // The accountant now asks for 2024 into that folder. It used to download 2023's export and say VERIFIED.
    const run = exportToDir(client, { fiscalYear: 2024 }, { outDir: out, pollMs: 20 });
    await expect(run).rejects.toThrow(/another search/);
    expect(await exitOf(run)).toBe(4);
    expect(fs.existsSync(path.join(out, 'manifest.json'))).toBe(false);
    // With --force it starts the export asked for.
    const summary = await exportToDir(client, { fiscalYear: 2024 }, { outDir: out, pollMs: 20, force: true });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { export: { filter: unknown }; documents: { metadata: { counterparty: string } }[] };
    expect(manifest.documents.map((d) => d.metadata.counterparty)).toEqual(['Nieuw Jaar']);
    expect(summary.documents).toBe(1);
    // The abandoned export's part files went with it: the folder verifies as the export asked for.
    expect(verifiedOffline(await verifyExport(out))).toBe(true);
  });

  it('is not handed out when the same search is asked with its originals or in Dutch CSV', async () => {
    const out = path.join(work, 'options');
    expect(await exitOf(exportToDir({ ...client, fetch: noDownloads }, { fiscalYear: 2024 }, { outDir: out, pollMs: 20 }))).toBe(75);
    expect(await exitOf(exportToDir(client, { fiscalYear: 2024 }, { outDir: out, pollMs: 20, includeOriginals: true }))).toBe(4);
    expect(await exitOf(exportToDir(client, { fiscalYear: 2024 }, { outDir: out, pollMs: 20, csv: { separator: ';', decimalMark: ',' } }))).toBe(4);
    // The same search as the first run picks its export up.
    const summary = await exportToDir(client, { fiscalYear: 2024 }, { outDir: out, pollMs: 20 });
    expect(summary).toMatchObject({ documents: 1, files: 1, verified: 1 });
    expect((await verifyExport(out)).verified).toBe(1);
  });

  it("recorded by an earlier CLI (no request in the state file) is judged by the archive's record of its search", async () => {
    const started = await call(`${archive.url}/exports`, { method: 'POST', token: client.config.token, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ fiscalYear: 2024, correctedSince: '2024-01-01' }) });
    expect(started.status).toBe(202);
    const out = path.join(work, 'legacy');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, '.archive-export.json'), JSON.stringify({ exportId: started.json.id }));
    expect(await exitOf(exportToDir(client, { fiscalYear: 2023, correctedSince: '2024-01-01' }, { outDir: out, pollMs: 20 }))).toBe(4);
    // The same search, its date as the accountant typed it (the archive keeps it as an instant), is picked up.
    const summary = await exportToDir(client, { fiscalYear: 2024, correctedSince: '2024-01-01' }, { outDir: out, pollMs: 20 });
    expect(summary.exportId).toBe(started.json.id);
  });
});

describe('verify <folder>: what it excuses as the CLI\'s own', () => {
  const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000dd';
  function folder(): string {
    const dir = fs.mkdtempSync(path.join(work, 'leftover-'));
    fs.mkdirSync(path.join(dir, 'documents'));
    fs.writeFileSync(path.join(dir, 'documents/a.pdf'), GOOD);
    fs.writeFileSync(path.join(dir, 'manifest.json'), manifestFor(EXPORT_ID, GOOD));
    fs.writeFileSync(path.join(dir, 'manifest.csv'), CSV);
    return dir;
  }
  const recorded = { sha256: sha(manifestFor(EXPORT_ID, GOOD)), size: manifestFor(EXPORT_ID, GOOD).length };

  it('the unpacked export alone is proven', async () => {
    const r = await verifyExport(folder());
    expect(verifiedOffline(r)).toBe(true);
    expect((await proveAgainstArchive(archiveRecording(EXPORT_ID, recorded), r)).status).toBe('proven');
  });

  // A download's part file never stays beside an unpacked export (it is renamed to the ZIP before anything is unpacked):
  // excused unread, one holding other scans (a whole ZIP, one rename from opening) left the folder VERIFIED AGAINST THE ARCHIVE.
  it.each([`export-${EXPORT_ID}.zip.part`, `export-${EXPORT_ID}.zip.part.json`, 'export-0190f2a4-0000-7000-8000-0000000000ee.zip.part'])('%s beside the files is not in the manifest', async (name) => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, name), EVIL);
    const r = await verifyExport(dir);
    expect(r.unexpected).toEqual([name]);
    expect(verifiedOffline(r)).toBe(false);
  });

  it('.archive-export.json (what export records while it runs) stays excused', async () => {
    const dir = folder();
    fs.writeFileSync(path.join(dir, '.archive-export.json'), JSON.stringify({ exportId: EXPORT_ID }));
    expect(verifiedOffline(await verifyExport(dir))).toBe(true);
  });
});

describe('what changed since an export (ls --corrected-since, as archive exports prints its time)', () => {
  it('finds a document corrected out of the year and on again, and one corrected twice, each once', async () => {
    const t = newTenant('clic');
    const token = await archive.token({ tenant: t, sub: 'accountant@clic.example', rights: 'accountant' });
    const c: Client = { ...client, config: { url: archive.url, token } };
    const moved = await seedDocument(archive.host.deps, t, { metadata: { documentDate: '2024-03-01', kind: 'invoice', counterparty: 'Verhuisd', amount: 5, currency: 'EUR' } });
    const twice = await seedDocument(archive.host.deps, t, { metadata: { documentDate: '2024-04-01', kind: 'invoice', counterparty: 'Tweemaal', amount: 7, currency: 'EUR' } });
    await seedDocument(archive.host.deps, t, { metadata: { documentDate: '2024-05-01', kind: 'invoice', counterparty: 'Ongemoeid', amount: 9, currency: 'EUR' } });
    await exportToDir(c, { fiscalYear: 2024 }, { outDir: path.join(work, 'since'), pollMs: 20 });
    const since = (await listExports(c))[0]!.createdAt;
    await correctDocument(c, moved.id, { documentDate: '2025-03-01' }, 'wrong year');
    await correctDocument(c, moved.id, { documentDate: '2026-03-01' }, 'still the wrong year');
    await correctDocument(c, twice.id, { amount: 8 }, 'amount');
    await correctDocument(c, twice.id, { amount: 7.5 }, 'amount again');
    const changed = await listAll(c, { fiscalYear: 2024, correctedSince: since });
    expect(changed.map((d) => d.id).sort()).toEqual([moved.id, twice.id].sort());
    // And an export of just those holds each once, as corrected.
    const out = path.join(work, 'since-corrections');
    const summary = await exportToDir(c, { fiscalYear: 2024, correctedSince: since }, { outDir: out, pollMs: 20 });
    expect(summary).toMatchObject({ documents: 2, verified: 2, mismatched: [], missing: [], unexpected: [] });
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8')) as { documents: { id: string; fiscalYear: number; metadata: { amount?: number } }[] };
    expect(manifest.documents.map((d) => [d.id, d.fiscalYear, d.metadata.amount]).sort()).toEqual([[moved.id, 2026, 5], [twice.id, 2024, 7.5]].sort());
  });
});
