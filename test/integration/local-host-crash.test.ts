/**
 * `npm start` as a real process: what it acknowledged survives `kill -9` (the Cosmos protocol
 * server is in memory; local/cosmos-journal.ts makes each write durable before its answer).
 * Needs `npm run build` (CI builds before testing).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TIMERS } from '../../functions/timers';
import { startAzurite } from '../../local/emulators';
import { LOCAL_AUDIENCE, mintToken } from '../../local/oidc';
import { readEmulators } from '../support/emulators-file';
import { corpusFile, newTenant } from '../support/harness';
import { call, rawUpload } from '../support/http';

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

const HOST = path.resolve(__dirname, '..', '..', 'dist', 'local', 'host.js');

interface Spawned {
  child: ChildProcess;
  url: string;
  banner: string;
}

async function spawnHost(env: NodeJS.ProcessEnv): Promise<Spawned> {
  if (!fs.existsSync(HOST)) throw new Error(`${HOST} is missing: run npm run build first`);
  const child = spawn(process.execPath, [HOST], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local host did not start:\n${output}`)), 60_000);
    const onData = (d: Buffer) => {
      output += d.toString();
      const m = /API\s+(http:\/\/\S+\/api)/.exec(output);
      if (m && /Timers/.test(output)) {
        clearTimeout(timer);
        resolve(m[1]!.replace('localhost', '127.0.0.1'));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the local host exited with ${code}:\n${output}`));
    });
  });
  return { child, url, banner: output };
}

async function kill(host: Spawned, signal: NodeJS.Signals): Promise<void> {
  if (host.child.exitCode !== null || host.child.signalCode !== null) return;
  const exited = once(host.child, 'exit');
  host.child.kill(signal);
  await exited;
}

it('keeps every acknowledged write (legal hold, audit entries) across kill -9, and audit sequence numbers go on without reuse', async () => {
  const emu = readEmulators();
  const azurite = await startAzurite(); // its own blob store: the host re-indexes every manifest it finds
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'archive-crash-'));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(COSMOS_|STORAGE_|AUTH_|AUDIT_CHAIN_KEY|LOCAL_)/.test(k)) delete env[k];
  Object.assign(env, {
    ARCHIVE_LOCAL_DIR: dataDir,
    LOCAL_ARCHIVE_PORT: '0',
    LOCAL_OIDC_PORT: '0',
    LOCAL_COSMOS_PORT: '0',
    STORAGE_CONNECTION_STRING: azurite.connectionString,
    AUTH_ISSUER: emu.issuer,
    AUTH_JWKS_URI: emu.jwksUri,
    AUTH_AUDIENCE: LOCAL_AUDIENCE,
  });
  const tenant = newTenant('crash');
  const archivist = await mintToken(emu.signingKey, emu.issuer, { tenant, sub: 'hana', rights: 'archivist' });
  const auditor = await mintToken(emu.signingKey, emu.issuer, { tenant, sub: 'ivo', rights: 'auditor' });
  let first: Spawned | null = null;
  let second: Spawned | null = null;
  try {
    first = await spawnHost(env);
    // npm start runs every timer of the one table, and keeps an owner-only audit-chain key.
    for (const t of TIMERS) expect(first.banner).toContain(t.name);
    expect(fs.statSync(path.join(dataDir, 'audit-chain-key')).mode & 0o777).toBe(0o600);

    const up = await call(`${first.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.jpg'), 'image/jpeg'), token: archivist });
    expect(up.status).toBe(201);
    const hold = await call(`${first.url}/documents/${up.json.id}/legal-holds`, { ...json('POST', { reason: 'tax audit', caseReference: 'BD-9' }), token: archivist });
    expect(hold.status).toBe(201);
    await call(`${first.url}/audit`, { token: auditor });
    const listed = await call(`${first.url}/audit`, { token: auditor });
    expect(listed.status).toBe(200);
    const bySeq = <T extends { seq: number }>(items: T[]) => [...items].sort((a, b) => a.seq - b.seq);
    const acknowledged = bySeq(listed.json.items as { seq: number; hash: string; action: string }[]);
    expect(acknowledged.map((e) => e.action)).toEqual(expect.arrayContaining(['document.ingest', 'legal-hold.place', 'audit.read']));
    await kill(first, 'SIGKILL'); // at once: no time for any debounce or shutdown hook

    second = await spawnHost(env);
    const doc = await call(`${second.url}/documents/${up.json.id}`, { token: archivist });
    expect(doc.json.legalHold).toBe(true);
    expect(doc.json.holds.map((h: { id: string }) => h.id)).toEqual([hold.json.id]);
    const after = bySeq((await call(`${second.url}/audit`, { token: auditor })).json.items as { seq: number; hash: string }[]);
    // Every acknowledged entry is back unchanged, and new ones continue the sequence.
    expect(after.slice(0, acknowledged.length)).toEqual(acknowledged);
    const seqs = after.map((e) => e.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(seqs.length).toBeGreaterThan(acknowledged.length);
    expect(new Set(after.map((e) => e.hash)).size).toBe(after.length);
    const verify = await call(`${second.url}/audit/verify`, { token: auditor });
    expect(verify.json.ok).toBe(true);
  } finally {
    if (first) await kill(first, 'SIGKILL');
    if (second) await kill(second, 'SIGTERM'); // a clean stop: timers end, the journal is compacted
    await azurite.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
