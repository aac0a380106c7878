/**
 * Requests sent in-process as the hosts send them (route matching, handleRequest, the route's handler) over the
 * in-memory ports, for the generated sweeps (test/unit/faults/fault-sweep.test.ts, race-sweep.test.ts): no HTTP
 * server, so every port call of a request can be counted, faulted or scheduled.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ROUTES } from '../../functions/routes';
import { handleRequest } from '../../shared/http/pipeline';
import { compileRoutes, matchRoute } from '../../shared/http/route-match';
import { exportTimer } from '../../functions/exports';
import { TIMERS } from '../../functions/timers';
import { sealAuditLog } from '../../shared/audit/seal';
import { AUDIT_OUTBOX_CLAIM_LEASE_MS, AUDIT_OUTBOX_GRACE_MS } from '../../shared/kernel/audit';
import { runReconcileTimer, runSweepTimer } from '../../shared/retention/timers';
import { sweep } from '../../shared/retention/sweep';
import { Authenticator, type JwtSettings } from '../../shared/auth/authenticate';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../shared/auth/rights-sets/rights-records';
import { loadConfig } from '../../shared/config';
import type { Operation } from '../../shared/http/operation';
import { BUILT_IN_RIGHTS_SETS, type Permission } from '../../shared/kernel/principal';
import { minimalLocalEnv } from './config-env';
import type { ArchivedDocument } from '../../shared/kernel/document';
import { blobLayout } from '../../shared/kernel/blob-layout';
import { keptManifestOf, sealedManifest } from '../../shared/documents/manifest';
import { isHeld } from '../../shared/kernel/retention-rules';
import { UNRECORDED_HOLD } from '../../shared/retention/reconcile';
import { protectedBlobNamesOf } from '../../shared/retention/update';
import type { FakeClock } from './fake-clock';
import { inMemoryDeps, inMemoryLinks, searchAsWholeTenant, type InMemoryDeps, type InMemoryExportJobs, type InMemoryOrphanRecords, type RecordingLogger } from './in-memory';
import { type RenditionValidator, validationMessageText } from '../../shared/kernel/validation';
import { validateRenditions } from '../../shared/validation/worker';
import { readVeraPdfReport } from '../../shared/validation/verapdf';
import type { ExportJob } from '../../shared/kernel/export';
import { mulberry32 } from './prng';
import { REVOCATIONS_PREFIX } from '../../shared/auth/revocation-blobs';
import { DECISIONS_PREFIX } from '../../shared/auth/decision-blobs';
import { SETTINGS_PREFIX } from '../../shared/auth/rights-sets/settings-blobs';
import type { ApiKeyRecord } from '../../shared/auth/api-keys/api-key';

export const TABLE = compileRoutes(ROUTES, '/api');

export interface Call {
  method: string;
  path: string;
  body?: unknown;
  raw?: { bytes: Buffer; type: string };
  headers?: Record<string, string>;
  /** A subject (Bearer), or `ApiKey <key>`. */
  as?: string;
}

export interface Answer {
  status: number;
  json: any;
  headers: Record<string, string>;
  requestId: string;
  /** The body as sent (a download's bytes). */
  bytes: Buffer;
}

/** A world the helpers send into: its ports, and a counter naming each request. */
export interface RequestWorld {
  deps: InMemoryDeps;
  seq: number;
}

/**
 * How the client behaves beyond its call: where it sends from, with no credential at all (`anonymous`), a body whose
 * stream errors after its first half (`bodyAborts`), or stopping to read the answer after its first chunk (`stopsReading`).
 */
export interface SendClient {
  ip?: string;
  userAgent?: string;
  anonymous?: boolean;
  bodyAborts?: boolean;
  stopsReading?: boolean;
}

export async function send(w: RequestWorld, call: Call, requestId = `req-${++w.seq}`, client: SendClient = {}): Promise<Answer> {
  const url = new URL(`http://localhost/api/${call.path}`);
  const match = matchRoute(TABLE, call.method, url.pathname);
  if ('allow' in match) throw new Error(`no route ${call.method} ${call.path}`);
  const as = call.as ?? 'alice';
  const headers = new Map<string, string>(client.anonymous ? [] : [['authorization', as.startsWith('ApiKey ') ? as : `Bearer ${as}`]]);
  if (client.userAgent !== undefined) headers.set('user-agent', client.userAgent);
  let body: Buffer | null = null;
  if (call.raw) {
    body = call.raw.bytes;
    headers.set('content-type', call.raw.type);
  } else if (call.body !== undefined) {
    body = Buffer.from(JSON.stringify(call.body));
    headers.set('content-type', 'application/json');
  }
  for (const [k, v] of Object.entries(call.headers ?? {})) headers.set(k.toLowerCase(), v);
  // A Content-Length the call names is sent as it is (a client's lie, for the bad-input sweep).
  if (body && !headers.has('content-length')) headers.set('content-length', String(body.length));
  const res = await handleRequest(match.route, { method: call.method, url, params: match.params, headers: { get: (n) => headers.get(n.toLowerCase()) ?? null }, body: body ? (client.bodyAborts ? abortingAfterHalf(body) : Readable.from([body])) : null, clientIp: client.ip ?? '10.0.0.1', requestId }, w.deps);
  const chunks: Buffer[] = [];
  if (typeof res.body === 'string' || Buffer.isBuffer(res.body)) chunks.push(Buffer.from(res.body));
  else if (res.body) {
    const readable = res.body;
    for await (const chunk of readable) {
      chunks.push(Buffer.from(chunk as Uint8Array));
      if (client.stopsReading) {
        readable.destroy();
        break;
      }
    }
  }
  const bytes = Buffer.concat(chunks);
  const text = bytes.toString();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers ?? {}, requestId, bytes };
}

/** A body whose first half arrives, then its stream errors as a dropped connection's does. */
function abortingAfterHalf(body: Buffer): Readable {
  let sent = false;
  return new Readable({
    read() {
      if (!sent) {
        sent = true;
        this.push(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
      } else setImmediate(() => this.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' })));
    },
  });
}

/**
 * Every async method of each port goes through `around`, named `<port>.<method>`, which calls `proceed` (as often as it
 * likes) or throws: where the fault sweeps put their failures.
 */
export function aroundPortCalls(ports: Record<string, object>, around: (call: string, proceed: () => Promise<unknown>) => Promise<unknown>): void {
  for (const [name, port] of Object.entries(ports)) {
    const methods = new Set<string>();
    for (let p: object | null = port; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) for (const k of Object.getOwnPropertyNames(p)) methods.add(k);
    for (const m of methods) {
      const fn = (port as Record<string, unknown>)[m];
      if (m === 'constructor' || typeof fn !== 'function' || fn.constructor.name !== 'AsyncFunction') continue;
      // async: a wrapper added after this one (the race scheduler's) looks for async methods too.
      (port as Record<string, unknown>)[m] = async (...args: unknown[]) => around(`${name}.${m}`, () => (fn as (...x: unknown[]) => Promise<unknown>).apply(port, args));
    }
  }
}

/**
 * Everything a request could have stored, to compare before and after one: the tenants' records (but sign-in sightings,
 * and a key's lastUsedAt, stamped whenever it authenticates, refused or not), the catalog, exports, blobs' hold flags
 * and retention policies.
 */
export function storedChanges(w: World): string {
  const records = [...w.deps.tenantRecords.records.entries()]
    .filter(([, r]) => r.value.type !== 'person-sighting')
    .map(([k, r]) => [k, { ...r.value, lastUsedAt: undefined }, r.value.type === 'api-key' ? null : r.etag] as const)
    .sort(([a], [b]) => a.localeCompare(b));
  const docs = [...w.deps.catalog.documents.entries()].sort(([a], [b]) => a.localeCompare(b));
  const jobs = [...(w.deps.exportJobs as InMemoryExportJobs).jobs.entries()].sort(([a], [b]) => a.localeCompare(b));
  // A sign-in's kept copy (sightings/…) is the sign-in's record, as its sighting is: not a change the call made.
  const blobs = [...w.deps.blobs.blobs.entries()].filter(([k]) => !k.split('/')[1]?.startsWith('sightings')).map(([k, b]) => [k, b.worm.legalHold]).sort(([a], [b]) => String(a).localeCompare(String(b)));
  return JSON.stringify([records, docs, jobs, blobs, [...w.deps.retention.policies.policies.entries()]]);
}

/** The clock moved on `minutes` (one by default): each act of a scene at its own time. */
export const later = (w: World, minutes = 1) => w.clock.advance(minutes * 60_000);

/** An API key `as` mints on `rightsSet`, ending in a year: its Authorization value. */
export async function mint(w: World, as: string, rightsSet: string): Promise<string> {
  const expiresAt = new Date(w.clock.now().getTime() + 365 * 86400_000).toISOString();
  const r = await ok(w, { method: 'POST', path: 'api-keys', body: { name: `k-${w.seq}`, rightsSet, expiresAt }, as }, 201);
  return `ApiKey ${r.json.key as string}`;
}

/**
 * up (an archivist by claim) given keys:manage too through a tenant set of archivist's permissions, then minting a key on
 * archivist: its Authorization value and key id (the scenes of records made through a key before persons were kept).
 */
export async function upsKey(w: World): Promise<{ key: string; keyId: string }> {
  const set = 'archkeys';
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId(set)}`, { value: { id: rightsSetRecordId(set), tenantId: TENANT, type: 'rights-set', name: set, permissions: [...BUILT_IN_RIGHTS_SETS.archivist!, 'keys:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2000 });
  (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value as unknown as { rightsSet: string }).rightsSet = set;
  const key = await mint(w, 'up', 'archivist');
  return { key, keyId: /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]! };
}

/**
 * The stored key `keyId` as from before the archive sealed keys (key-seal.ts), in a store not yet marked as every key
 * sealed: the only way a shape the archive no longer writes (no person, an odd ceiling) still acts. The record, to edit in place.
 */
export function keyFromBeforeTheSeal(w: RequestWorld, keyId: string): ApiKeyRecord {
  const record = w.deps.tenantRecords.records.get(`${TENANT}/api-key:${keyId}`)!.value as ApiKeyRecord;
  delete record.mac;
  delete record.keyVersion;
  w.deps.tenantRecords.keysSealedMark = false;
  return record;
}

/**
 * Document `id`'s uploader as stored back then (before persons were kept, say), on its catalog item and in its manifest
 * alike, the manifest sealed as ingest wrote it then: four eyes on its disposal judge the uploader by the manifest
 * (retention/uploader-witness.ts), so a scene that edits only the item tests the uploader of today.
 */
export async function uploadedAsThen(w: RequestWorld, id: string, createdBy: ArchivedDocument['createdBy']): Promise<void> {
  w.deps.catalog.documents.get(`${TENANT}/${id}`)!.createdBy = createdBy;
  const name = blobLayout.manifest(id);
  const blob = w.deps.blobs.blobs.get(`${TENANT}/${name}`)!;
  const { document } = keptManifestOf(blob.bytes, null, name);
  w.deps.blobs.blobs.set(`${TENANT}/${name}`, { ...blob, bytes: await sealedManifest({ ...document, createdBy }, w.deps) });
}

/** What follows a request on its instance: the outbox release, gathered validation requests, an export worker started after the answer. */
export async function settle(w: RequestWorld): Promise<void> {
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setImmediate(r));
    await w.deps.auditOutbox.flush();
    await w.deps.validationRequests.flush();
    const running = [...(w.deps.exportJobs as InMemoryExportJobs).jobs.values()].some((j) => j.status === 'running');
    if (!running && i > 2) return;
  }
}

/**
 * Waits for an export started in the scene to complete: its worker writes a ZIP through the file system, which a
 * loaded machine (the whole suite on two cores) can keep longer than any fixed number of turns. Up to a minute.
 */
export async function exportCompleted(w: RequestWorld, id: string): Promise<ExportJob> {
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const job = jobs.get(`${TENANT}/${id}`);
    if (job?.status === 'completed') return job;
    if (Date.now() > deadline) throw new Error(`export ${id} did not complete (${job?.status ?? 'missing'})`);
    await settle(w);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A request that sets the scene: it must succeed (with `status`, if given), and what follows it is let finish. */
export async function ok(w: RequestWorld, call: Call, status?: number): Promise<Answer> {
  const r = await send(w, call);
  await settle(w);
  if (r.status >= 300 || (status !== undefined && r.status !== status)) throw new Error(`seed ${call.method} ${call.path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r;
}

/** The repairs the README names, once their waits are over: reconciler, retention sweep, export maintenance, validation requeue, audit sealing (outbox drain, parked entries). */
export async function repair(w: RequestWorld & { clock: FakeClock }): Promise<void> {
  w.clock.advance(2 * 3600_000);
  await runReconcileTimer(w.deps);
  await runSweepTimer(w.deps);
  await exportTimer.run(w.deps);
  await w.deps.exportWork.idle(); // the restarts it queued, each in its own queue invocation
  await settle(w);
  await TIMERS.find((t) => t.name === 'requeueValidations')!.run(w.deps);
  await drainedAsTheSealingTimer(w);
}

/**
 * A later sealing run (outbox drain, parked entries): past the lease of a claim an interrupted run left (judged by the
 * real clock, kernel/audit.ts), and past the outbox grace of every item waiting (a setting written back from storage).
 */
export async function drainedAsTheSealingTimer(w: RequestWorld & { clock: FakeClock }): Promise<void> {
  const realNow = Date.now.bind(Date);
  const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + AUDIT_OUTBOX_CLAIM_LEASE_MS + 60_000);
  try {
    await sealAuditLog({ now: new Date(w.clock.now().getTime() + AUDIT_OUTBOX_GRACE_MS + 1), deps: w.deps });
  } finally {
    later.mockRestore();
  }
}

/**
 * What is wrong between one catalog item and its blobs: a disposed document's blobs left; a kept correction that is not
 * the catalog's (correction-blobs.ts); a file, kept correction or manifest missing, or without the item's hold flag or
 * retain-until (a flag the catalog cannot explain is kept by design, reconcile.ts, so not counted while the reconciler has
 * recorded seeing it and not yet recorded it as an open hold once its grace window is over, nor when it alerted one it could not record).
 */
export function blobsDisagree(deps: InMemoryDeps, doc: ArchivedDocument): string[] {
  const found: string[] = [];
  const tenant = doc.tenantId;
  if (doc.status === 'disposed') {
    const left = [...deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${tenant}/${doc.id}/`));
    if (left.length > 0) found.push(`disposed ${doc.id} still has blobs: ${left.join(', ')}`);
    return found;
  }
  for (const c of doc.metadataHistory ?? []) {
    const kept = deps.blobs.blobs.get(`${tenant}/${blobLayout.correction(doc.id, c.version)}`);
    if (kept && JSON.stringify(JSON.parse(kept.bytes.toString('utf8')).correction) !== JSON.stringify(c)) found.push(`correction ${c.version} of ${doc.id} kept in storage differs from the catalog's`);
  }
  for (const name of new Set([...protectedBlobNamesOf(doc), blobLayout.manifest(doc.id)])) {
    const blob = deps.blobs.blobs.get(`${tenant}/${name}`);
    if (!blob) {
      found.push(`catalog item ${doc.id} without its blob ${name}`);
      continue;
    }
    // Seen by the reconciler and recorded as an open hold once its grace window is over (reconcile.ts HOLD_WRITE_IN_FLIGHT_MS), or alerted as one it could not record.
    const unrecorded = blob.worm.legalHold && (doc.unrecordedHoldSeenAt !== undefined || (deps.log as RecordingLogger).lines.some((l) => l.message === UNRECORDED_HOLD && l.fields?.documentId === doc.id));
    if (doc.status === 'active' && blob.worm.legalHold !== isHeld(doc, deps.clock.now()) && !unrecorded) found.push(`${name}: legal hold ${blob.worm.legalHold}, catalog ${isHeld(doc, deps.clock.now())}`);
    if (Date.parse(blob.worm.retainUntil) < Date.parse(doc.retention.retainUntil)) found.push(`${name}: locked until ${blob.worm.retainUntil}, catalog keeps it until ${doc.retention.retainUntil}`);
  }
  return found;
}

// ==== The race sweep (test/unit/faults/race-sweep.test.ts, race-timers.test.ts) ====
/*
 * For pairs of write operations on the same thing, both requests run in-process as the hosts run them (route
 * matching, handleRequest, the real authenticator reading the tenant's assignments, keys and grants) over the
 * in-memory ports, every port call of each request waiting on a scheduler that decides which request goes on.
 * A test file using it mocks node:timers/promises as race-sweep.test.ts does (a wait is one turn of the scheduler).
 */
export const TENANT = 'acme';
/** One instant for every world: the serial runs and the interleaved ones store the same times. */
export const START = new Date(Math.floor(Date.now() / 60_000) * 60_000);

// ---- The scheduler ----

export const who = new AsyncLocalStorage<{ side: 0 | 1 }>();

/** Decides, at every port call of either request, which request goes on; calls outside both pass. */
export class Scheduler {
  active = false;
  readonly waiting: [Array<() => void>, Array<() => void>] = [[], []];
  readonly done: [boolean, boolean] = [false, false];
  readonly steps: [number, number] = [0, 0];
  private wake: (() => void) | null = null;

  async gate(): Promise<void> {
    const ctx = who.getStore();
    if (!this.active || !ctx || (this.done[0] && this.done[1])) return;
    // Work after the answer waits for the other request: in a serial order it comes after both.
    if (this.done[ctx.side]) return new Promise<void>((resolve) => this.after.push(resolve));
    await new Promise<void>((resolve) => {
      this.waiting[ctx.side].push(resolve);
      this.poke();
    });
  }

  /** Calls of a request that has answered (work after the answer: an export's worker), held until both have answered. */
  private readonly after: Array<() => void> = [];

  finish(side: 0 | 1): void {
    this.done[side] = true;
    this.after.push(...this.waiting[side].splice(0));
    if (this.done[0] && this.done[1]) for (const r of this.after.splice(0)) r();
    this.poke();
  }

  private poke(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  /** Until the side released last waits at its next call or has finished (or, running two branches, one of them is parked). */
  private async quiet(side: 0 | 1, before: number): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
      if (this.done[side] || this.waiting[side].length > before) return;
      // Its other branch is parked at a call: the released one ended on no call of its own.
      if (before > 0) {
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        if (this.done[side] || this.waiting[side].length >= before) return;
      }
      if (Date.now() > deadline) throw new Error(`race sweep: side ${side} neither called a port nor finished within 10 s`);
      await Promise.race([new Promise<void>((r) => (this.wake = r)), new Promise((r) => setTimeout(r, 20))]);
    }
  }

  /** Runs both, `pick(step)` naming the side that goes on at each step (the other when that one cannot). */
  async run<A, B>(a: () => Promise<A>, b: () => Promise<B>, pick: (step: number) => 0 | 1): Promise<[PromiseSettledResult<A>, PromiseSettledResult<B>]> {
    this.active = true;
    const pa = who.run({ side: 0 }, a).finally(() => this.finish(0));
    const pb = who.run({ side: 1 }, b).finally(() => this.finish(1));
    pa.catch(() => undefined);
    pb.catch(() => undefined);
    // Both to their first call (or done).
    await this.quiet(0, 0);
    await this.quiet(1, 0);
    for (let step = 0; !(this.done[0] && this.done[1]); step++) {
      const ready = ([0, 1] as const).filter((s) => !this.done[s] && this.waiting[s].length > 0);
      if (ready.length === 0) {
        await Promise.race([new Promise<void>((r) => (this.wake = r)), new Promise((r) => setTimeout(r, 5))]);
        continue;
      }
      const wanted = pick(step);
      const side = ready.includes(wanted) ? wanted : ready[0]!;
      this.steps[side]++;
      const before = this.waiting[side].length - 1;
      this.waiting[side].shift()!();
      await this.quiet(side, before);
    }
    this.active = false;
    return Promise.allSettled([pa, pb]);
  }
}

/** Every async method of every port waits on the scheduler first. */
export function wrapPorts(deps: InMemoryDeps, scheduler: Scheduler): void {
  deps.links = { ...inMemoryLinks };
  const ports: object[] = [deps.blobs, deps.catalog, deps.tenantRecords, deps.audit, deps.auditOutboxItems, deps.exportJobs, deps.exportBlobs, deps.links, deps.secrets, deps.validationQueue, deps.retention.catalog, deps.retention.policies, deps.retention.timers, deps.retention.disposer, deps.retention.orphans];
  for (const port of ports) {
    const methods = new Set<string>();
    for (let p: object | null = port; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) for (const k of Object.getOwnPropertyNames(p)) methods.add(k);
    for (const m of methods) {
      const fn = (port as Record<string, unknown>)[m];
      if (m === 'constructor' || typeof fn !== 'function' || (fn.constructor.name !== 'AsyncFunction' && fn.constructor.name !== 'AsyncGeneratorFunction')) continue;
      if (fn.constructor.name === 'AsyncGeneratorFunction') continue;
      (port as Record<string, unknown>)[m] = async (...args: unknown[]) => {
        await scheduler.gate();
        return (fn as (...a: unknown[]) => Promise<unknown>).apply(port, args);
      };
    }
  }
}

// ---- One archive ----



export interface World {
  deps: InMemoryDeps;
  clock: FakeClock;
  scheduler: Scheduler;
  seq: number;
}

export const SETTINGS: JwtSettings = { issuer: 'https://idp.example', audience: 'api://archive', jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], tenantClaim: 'tid', rightsClaim: 'rights', kindClaim: 'kind', rightsSource: 'tenant', clockToleranceSeconds: 0, keyPersonIdleDays: 30 };

/** Who is who: rights from the tenant's assignments, read by the real authenticator at every request. */
export const PEOPLE: Record<string, string> = { up: 'archivist', alice: 'tenant-admin', bob: 'tenant-admin', carol: 'tenant-admin' };

export function world(env: Record<string, string> = {}): World {
  const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ...env }));
  const clock = deps.clock as FakeClock;
  clock.set(START);
  const authenticator = new Authenticator(SETTINGS, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock, blobs: deps.blobs, audit: deps.audit, log: deps.log });
  // The token's signature is not what this sweep is about: a bearer token is its subject, of this tenant.
  (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token, kind: token.startsWith('support.') ? 'support' : 'user', claimedRightsSet: null, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null });
  deps.authenticator = authenticator;
  // The export worker searches the catalog: one page of each tenant's documents.
  searchAsWholeTenant(deps.catalog);
  for (const [subject, rightsSet] of Object.entries(PEOPLE)) {
    deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(subject)}`, {
      value: { id: rightsAssignmentRecordId(subject), tenantId: TENANT, type: 'rights-assignment', subject, rightsSet, assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never,
      etag: 1000 + Object.keys(PEOPLE).indexOf(subject),
    });
  }
  const scheduler = new Scheduler();
  wrapPorts(deps, scheduler);
  return { deps, clock, scheduler, seq: 0 };
}





let pngSeq = 0;
/** Bytes the upload sniffs as a PNG, distinct per call (or the same, given a name). */
export const scan = (name = `${++pngSeq} ${Math.random()}`) => Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${name}`)]);
export const upload = (metadata?: object, bytes = scan()): Call => ({ method: 'POST', path: metadata ? `documents?metadata=${encodeURIComponent(JSON.stringify(metadata))}` : 'documents', raw: { bytes, type: 'image/png' }, as: 'up' });
export const docOf = async (w: World, metadata?: object) => (await ok(w, upload(metadata), 201)).json.id as string;
/** Two documents past their retention (uploaded by `up`, approvable by bob): the clock moved on 20 years. */
export async function dueDocs(w: World): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) ids.push(await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' }));
  w.clock.advance(20 * 365 * 86400_000);
  return ids;
}
export const approval = (w: World, as = 'bob'): Call => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as });
/** The tenant's retention policy with disposal approval required (four eyes before the sweep disposes), set by carol. */
export async function requireApproval(w: World): Promise<void> {
  const r = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = r.json;
  await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: true }, headers: { 'If-Match': r.headers.ETag! }, as: 'carol' }, 200);
}
/** One sweep run now, with room for every due document. */
export const sweepNow = (w: World) => sweep({ now: w.clock.now(), budget: { maxItems: 100, maxMillis: 60_000 }, continuation: null }, w.deps);
export const hold = (id: string, ref = 'C-1', as = 'up'): Call => ({ method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: ref }, as });
export const putSet = (name: string, permissions: Permission[], as = 'carol'): Call => ({ method: 'PUT', path: `rights-sets/${name}`, body: { permissions }, as });
export const assign = (subject: string, rightsSet: string, as = 'carol'): Call => ({ method: 'PUT', path: `rights-assignments/${subject}`, body: { rightsSet }, as });
/**
 * An assignment written straight to the store, as `by` made it when `PUT /rights-assignments` still took a subject naming
 * an API key (`apikey:<id>`; refused since): the scenes of records from back then.
 */
export function storedAssignment(w: World, subject: string, rightsSet: string, by: string): void {
  w.deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(subject)}`, {
    value: { id: rightsAssignmentRecordId(subject), tenantId: TENANT, type: 'rights-assignment', subject, rightsSet, assignedAt: w.clock.now().toISOString(), assignedBy: { subject: by, kind: 'user', person: by } } as never,
    etag: 3000 + w.deps.tenantRecords.records.size,
  });
}
export const ADMIN = [...BUILT_IN_RIGHTS_SETS['tenant-admin']!];

// ---- The pairs ----

/** A request, or a timer run as the host runs it (its "answer": 200, or 500 when it threw). */
export type Step = Call | { timer: string; run: (w: World) => Promise<unknown> };

export interface Pair {
  name: string;
  env?: Record<string, string>;
  /** Fields the serial comparison leaves out: where two orders may differ in them and both are right. */
  ignored?: string[];
  /**
   * A request (or timer) of the pair changes many documents one at a time (holds by query, an approval, the sweep):
   * each document's state is that of one serial order, not all of them the same one's.
   */
  perDocument?: boolean;
  /** Mints a key every run (scrypt, tens of milliseconds): fewer schedules, to keep the file fast. */
  mints?: boolean;
  prepare: (w: World) => Promise<[Step, Step]>;
  /** What else must hold once both ran and the timers repaired (a download's answer, an audit chain): what broke. */
  check?: (w: World, sent: Sent[], before: ReadonlyMap<string, ArchivedDocument>) => string[] | Promise<string[]>;
}

// ---- Outcomes and invariants ----

export const routeFor = (call: Call) => {
  const match = matchRoute(TABLE, call.method, new URL(`http://localhost/api/${call.path}`).pathname);
  if ('allow' in match) throw new Error(`no route ${call.method} ${call.path}`);
  return match.route as Extract<Operation, { auth: 'tenant' }>;
};

/**
 * Ids, etags, hashes, instants-free text of a stored value: the same in two worlds that stored the same things. Also
 * without what no one reads as an outcome: when a key was last used (a use racing its revocation may not be stamped),
 * and which change moved the tenant's rights gate last (bookkeeping of the order the writes reached the store in), and
 * since when storage refused a disposal (a hold racing the sweep's delete leaves it; the next run disposes of the
 * document, or a refusal lasting days is alerted: the alarm sweep judges that, not a state one order leaves), and
 * when the reconciler saw the blobs locked later than the item (an extension between its lock and its catalog write
 * leaves it; the next run removes it, reconcile.ts retentionOfBlobs), and a rights record's revision (the instant of its
 * change, settings-blobs.ts).
 */
export const DROPPED = /^(etag|_etag|hash|secretHash|salt|keyHash|pepperVersion|requestId|contentKey|sha256|sha256s|size|id|documentId|holdId|proposalId|keyId|grantId|approvalId|jobId|seq|prevHash|lastModified|heartbeatAt|expiresAt|createdAt|updatedAt|at|assignedAt|approvedAt|placedAt|extendedAt|releasedAt|deletedAt|revokedAt|endsAt|decidedAt|startedAt|completedAt|requestedAt|seenAt|disposedAt|prefix|key|fileName|name|lastUsedAt|lastChange|disposalRefused|retentionBehindSeenAt|revision)$/;
export function neutral(value: unknown, ignored: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((v) => neutral(v, ignored)).map((v) => JSON.stringify(v)).sort();
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value).sort(([a], [b]) => a.localeCompare(b))) if (!DROPPED.test(k) && !ignored.includes(k)) out[k] = neutral(v, ignored);
    return out;
  }
  if (typeof value === 'string') return value.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, 'ID').replace(/[0-9a-f]{16,}/g, 'HEX').replace(/apikey:\S+/g, 'apikey:ID');
  return value;
}

/** What is stored, without what differs between two worlds that stored the same: per store, the sorted neutral values. */
export function stateView(w: World, ignored: readonly string[] = []): string {
  const { deps } = w;
  const of = (values: unknown[]) => values.map((v) => JSON.stringify(neutral(v, ignored))).sort();
  const docs = [...deps.catalog.documents.values()].map((d) => ({ ...d, blobs: [...deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${d.tenantId}/${d.id}/`)).length }));
  // The blobs of catalogued documents: a losing upload's folder stays (WORM), listed as orphaned (checked in `problems`).
  const blobFlags = [...deps.blobs.blobs.entries()].filter(([k]) => deps.catalog.documents.has(k.split('/').slice(0, 2).join('/'))).map(([, b]) => ({ legalHold: b.worm.legalHold, retainUntil: b.worm.retainUntil }));
  return JSON.stringify({
    documents: of(docs),
    blobs: of(blobFlags),
    records: of([...deps.tenantRecords.records.values()].map((r) => r.value).filter((v) => v.type !== 'rights-unassignment' && v.type !== 'person-sighting')),
    // How many, not how far their workers got (they run after the answers, at their own pace).
    exports: [...(deps.exportJobs as InMemoryExportJobs).jobs.values()].length,
    policy: of([...deps.retention.policies.policies.values()]),
  });
}

export interface Outcome {
  answers: string[];
  state: string;
}

export const answerOf = (r: PromiseSettledResult<Answer | 'ran'>): string => (r.status === 'rejected' ? `threw ${String(r.reason)}` : r.value === 'ran' ? 'ran' : `${r.value.status}${r.value.json?.code ? ` ${r.value.json.code}` : ''}`);

/** The invariants that hold of any state, whatever the order. */
export interface Sent {
  step: Step;
  result: PromiseSettledResult<Answer | 'ran'>;
}

export function problems(w: World, sent: Sent[]): string[] {
  const { deps } = w;
  const found: string[] = [];
  const docs: ArchivedDocument[] = [...deps.catalog.documents.values()].filter((d) => d.tenantId === TENANT);
  for (const doc of docs) {
    if (doc.status !== 'active' && doc.status !== 'disposed') found.push(`${doc.id} left ${doc.status}`);
    if (doc.status === 'disposed' && isHeld(doc, deps.clock.now())) found.push(`disposed ${doc.id} while held`);
    found.push(...blobsDisagree(deps, doc));
  }
  const folders = new Set([...deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/`) && !k.startsWith(`${TENANT}/audit-seals/`) && !k.startsWith(`${TENANT}/${REVOCATIONS_PREFIX}`) && !k.startsWith(`${TENANT}/${DECISIONS_PREFIX}`) && !k.startsWith(`${TENANT}/${SETTINGS_PREFIX}`)).map((k) => k.split('/')[1]!));
  for (const folder of folders) {
    if (!deps.catalog.documents.has(`${TENANT}/${folder}`) && !(deps.retention.orphans as InMemoryOrphanRecords).records.has(`${TENANT}/${folder}`)) found.push(`folder ${folder} with blobs but no catalog item and not listed as orphaned`);
  }
  const contents = docs.filter((d) => d.status !== 'disposed').map((d) => d.contentKey);
  if (new Set(contents).size !== contents.length) found.push('the same bytes catalogued twice');
  // Caps.
  const at = w.clock.now().toISOString();
  const keysInUse = deps.tenantRecords.stored<{ type: string; revokedAt?: string | null; endsAt?: string } & { id: string; tenantId: string }>(TENANT, 'api-key').filter((k) => !k.revokedAt && (k.endsAt ?? '') > at).length;
  if (keysInUse > deps.config.ARCHIVE_MAX_API_KEYS) found.push(`${keysInUse} keys in use, the cap ${deps.config.ARCHIVE_MAX_API_KEYS}`);
  const sets = deps.tenantRecords.stored(TENANT, 'rights-set').length;
  if (sets > deps.config.ARCHIVE_MAX_RIGHTS_SETS) found.push(`${sets} rights sets, the cap ${deps.config.ARCHIVE_MAX_RIGHTS_SETS}`);
  const assignments = deps.tenantRecords.stored(TENANT, 'rights-assignment').length;
  if (assignments > deps.config.ARCHIVE_MAX_RIGHTS_ASSIGNMENTS) found.push(`${assignments} assignments, the cap ${deps.config.ARCHIVE_MAX_RIGHTS_ASSIGNMENTS}`);
  // Audit: one success entry of each request's action if it answered 2xx, none if refused.
  sent.forEach(({ step, result: r }, i) => {
    if ('timer' in step || r.status !== 'fulfilled' || r.value === 'ran') return;
    const answer = r.value;
    // A lowering of the retention policy answered 202 is a proposal, audited as one (functions/retention.ts).
    const action = routeFor(step).name === 'putRetentionPolicy' && answer.status === 202 ? 'retention.policy-propose' : routeFor(step).action;
    const success = deps.audit.entries.filter((e) => e.requestId === answer.requestId && e.action === action && e.outcome === 'success').length;
    // A 303 (a download sent as a link) and a 304 are answered reads, audited as such.
    const expected = answer.status >= 200 && answer.status < 400 ? 1 : 0;
    if (success !== expected) found.push(`request ${i + 1} (${answer.status}): ${success} success entries of ${action}, expected ${expected}`);
  });
  if (deps.catalog.outbox.size > 0) found.push(`${deps.catalog.outbox.size} audit outbox items left after sealing`);
  return found;
}

/** Prepare a world, run the pair under `pick`, settle and repair: the outcome and what broke. */
export async function runPair(pair: Pair, pick: (step: number) => 0 | 1): Promise<{ outcome: Outcome; broken: string[]; steps: [number, number] }> {
  const w = world(pair.env);
  pngSeq = 0;
  const steps = await pair.prepare(w);
  await settle(w);
  const catalogBefore = new Map([...w.deps.catalog.documents.entries()].map(([k, d]) => [k, structuredClone(d)]));
  const go = (s: Step) => async (): Promise<Answer | 'ran'> => ('timer' in s ? (await s.run(w), 'ran' as const) : send(w, s));
  const first = await w.scheduler.run(go(steps[0]), go(steps[1]), pick);
  await settle(w);
  // A 503 asks the client to try again: it does, once both have answered (the first attempt's entries still checked).
  const sent: Sent[] = first.map((result, k) => ({ step: steps[k]!, result }));
  const results = [...first];
  for (const k of [0, 1] as const) {
    const r = first[k];
    if (r.status !== 'fulfilled' || r.value === 'ran' || r.value.status !== 503) continue;
    const [again] = await Promise.allSettled([send(w, steps[k] as Call)]);
    await settle(w);
    sent.push({ step: steps[k], result: again });
    results[k] = again!;
  }
  const answers = results.map(answerOf);
  const before = stateView(w, pair.ignored);
  let broken: string[] = [];
  try {
    await repair(w);
    broken = [...problems(w, sent), ...((await pair.check?.(w, sent, catalogBefore)) ?? [])];
  } catch (err) {
    broken = [`a timer failed: ${String(err)}`];
  }
  return { outcome: { answers, state: `${before}\n${stateView(w, pair.ignored)}` }, broken, steps: [...w.scheduler.steps] };
}

const EXPORT_DOWNLOAD = /^exports\/([^/?]+)\/(download)(\?|$)/;
const DOWNLOAD = /^documents\/([^/?]+)\/(original|rendition|originals\/(\d+))(\?|$)/;

/**
 * A document download (or an export's) answers the bytes archived before the pair ran, with their checksum (ETag, Repr-Digest), or a
 * link to them (303), or 304; or a clear 404/410, with no success entry (problems() counts those). Never bytes of
 * another version, a body its checksum header does not describe, nor a 5xx or a thrown request.
 */
export function downloadsAnswered(_w: World, sent: Sent[], before: ReadonlyMap<string, ArchivedDocument>): string[] {
  const found: string[] = [];
  sent.forEach(({ step, result }, i) => {
    if ('timer' in step || step.method !== 'GET') return;
    const m = DOWNLOAD.exec(step.path) ?? EXPORT_DOWNLOAD.exec(step.path);
    if (!m) return;
    if (result.status === 'rejected') return void found.push(`download ${i + 1} threw ${String(result.reason)}`);
    const answer = result.value as Answer;
    if (answer.status === 404 || answer.status === 410 || answer.status === 304) return;
    if (answer.status !== 200 && answer.status !== 303) return void found.push(`download ${i + 1} answered ${answer.status} ${answer.json?.code ?? ''}, neither the file nor a clear 404/410`);
    const digest = /^sha-256=:(.+):$/.exec(answer.headers['Repr-Digest'] ?? '')?.[1];
    const claimed = digest ? Buffer.from(digest, 'base64').toString('hex') : null;
    // An export's ZIP is no archived file: its checksum headers and body must agree.
    const doc = before.get(`${TENANT}/${m[1]}`);
    const archived = m[2] === 'download' ? claimed : (m[2] === 'rendition' ? doc?.rendition : doc?.originals[Number(m[3] ?? 1) - 1])?.sha256;
    if (!claimed || claimed !== archived || answer.headers.ETag !== `"${claimed}"`) found.push(`download ${i + 1}: checksum headers ${claimed} / ${answer.headers.ETag}, archived ${archived}`);
    if (answer.status === 200 && createHash('sha256').update(answer.bytes).digest('hex') !== claimed) found.push(`download ${i + 1}: a body whose SHA-256 is not its Repr-Digest`);
    if (answer.status === 303 && !answer.headers.Location) found.push(`download ${i + 1}: 303 without a link`);
  });
  return found;
}

/** Every document's stored state (and every other store's) is one that a serial order left. */
export function eachDocumentOf(state: string, serial: string[]): boolean {
  const parse = (x: string) => x.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
  const run = parse(state);
  const orders = serial.map(parse);
  return run.every((part, i) =>
    Object.entries(part).every(([store, items]) => {
      if (store !== 'documents' && store !== 'blobs') return orders.some((o) => JSON.stringify(o[i]![store]) === JSON.stringify(items));
      return (items as string[]).every((item) => orders.some((o) => (o[i]![store] as string[]).includes(item)));
    }),
  );
}

/** A seeded generator (mulberry32): the same sample every run. */
export const random = mulberry32;

export const SWITCHES_EACH_WAY = Number(process.env.RACE_SWEEP_SWITCHES ?? 6);
export const RANDOM_SAMPLES = Number(process.env.RACE_SWEEP_SAMPLES ?? 6);

/**
 * Every schedule of the sweep for a pair whose sides take `n` port calls each when alone. `every`: one switch at every
 * port call each way (test/unit/faults/alarm-truth.test.ts), rather than SWITCHES_EACH_WAY spread over them.
 */
export function schedules(n: [number, number], seed: number, light = false, every = false): { name: string; pick: (step: number) => 0 | 1 }[] {
  const SWITCHES = every ? Math.max(n[0], n[1]) : light ? Math.min(3, SWITCHES_EACH_WAY) : SWITCHES_EACH_WAY;
  const SAMPLES = every ? 0 : light ? Math.min(3, RANDOM_SAMPLES) : RANDOM_SAMPLES;
  const out: { name: string; pick: (step: number) => 0 | 1 }[] = [];
  for (const first of [0, 1] as const) {
    const len = n[first];
    const ks = len <= 1 ? [] : [...new Set(Array.from({ length: Math.min(SWITCHES, len - 1) }, (_, i) => 1 + Math.floor((i * (len - 1)) / Math.min(SWITCHES, len - 1))))];
    // `first` makes k calls, the other runs to its end, then `first` finishes.
    for (const k of ks) out.push({ name: `${first === 0 ? 'first' : 'second'} ${k} call(s), then the other`, pick: (step) => (step < k ? first : ((1 - first) as 0 | 1)) });
  }
  const rnd = random(seed);
  for (let i = 0; i < SAMPLES; i++) {
    const choices = Array.from({ length: 400 }, () => (rnd() < 0.5 ? 0 : 1));
    out.push({ name: `random #${i}`, pick: (step) => choices[step % choices.length]! });
  }
  return out;
}

export function sweepPairs(PAIRS: Pair[], options: { everySwitch?: boolean } = {}): void {
describe.each(PAIRS.map((p, i) => [p.name, p, i] as const))('%s', (_name, pair, index) => {
  it('at once, the answers and the state are those of one serial order, and nothing is left half done', async () => {
    const serial = [await runPair(pair, () => 0), await runPair(pair, () => 1)];
    const broken: string[] = [];
    for (const [i, s] of serial.entries()) for (const p of s.broken) broken.push(`serial ${i === 0 ? 'first, second' : 'second, first'}: ${p}`);
    const n: [number, number] = [serial[0]!.steps[0], serial[1]!.steps[1]];
    for (const schedule of schedules(n, 1000 + index, pair.mints === true, options.everySwitch === true)) {
      const run = await runPair(pair, schedule.pick);
      for (const p of run.broken) broken.push(`${schedule.name}: ${p}`);
      const same = serial.find((s) => (s.outcome.state === run.outcome.state || (pair.perDocument === true && eachDocumentOf(run.outcome.state, serial.map((x) => x.outcome.state)))) && s.outcome.answers.join() === run.outcome.answers.join());
      if (!same && process.env.RACE_SWEEP_TRACE) {
        const near = serial.find((s) => s.outcome.answers.join() === run.outcome.answers.join()) ?? serial[0]!;
        const items = (state: string) => state.split('\n').flatMap((line, i) => Object.entries(JSON.parse(line) as Record<string, string[]>).flatMap(([k, v]) => [v].flat().map((x) => `${i ? 'repaired' : 'answered'} ${k} ${x}`)));
        const a = items(near.outcome.state);
        const b = items(run.outcome.state);
        process.stdout.write(`${pair.name} / ${schedule.name}:\n  serial: ${a.filter((x) => !b.includes(x)).join('\n  serial: ')}\n  here:   ${b.filter((x) => !a.includes(x)).join('\n  here:   ')}\n`);
      }
      if (!same) broken.push(`${schedule.name}: answered ${run.outcome.answers.join(', ')}, no serial order gives that (serial: ${serial.map((s) => s.outcome.answers.join(', ')).join(' | ')})${serial.some((s) => s.outcome.answers.join() === run.outcome.answers.join()) ? ' with this state' : ''}`);
    }
    if (process.env.RACE_SWEEP_TRACE) process.stdout.write(`${pair.name}: ${n.join('+')} calls; serial ${serial.map((s) => s.outcome.answers.join(', ')).join(' | ')}\n`);
    expect(serial.map((s) => s.steps.every((x) => x > 0) || pair.name)).toEqual(serial.map(() => true));
    expect([...new Set(broken)]).toEqual([]);
  });
});

}

/** veraPDF as the worker runs it: every rendition passes. */
export const REPORT = Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.28.2' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant: true, profileName: 'PDF/A-2B', details: { ruleSummaries: [] } }] }] } }));
export const VALIDATOR: RenditionValidator = {
  name: 'veraPDF',
  validate: async (items) => ({ validator: { name: 'veraPDF', version: '1.28.2' }, profile: 'PDF/A-2B', results: items.map(() => ({ passed: true, failedRules: [], report: REPORT })) }),
  readReport: readVeraPdfReport,
};
export const validationWorker: Step = { timer: 'validation worker', run: (w) => validateRenditions({ now: w.clock.now(), max: 16 }, { ...w.deps, validator: VALIDATOR }) };

/** The validation requests the uploads sent, delivered to the worker's next receive (the in-memory queue delivers nothing). */
export function delivering(w: World): void {
  const queue = w.deps.validationQueue;
  const waiting = queue.messages.map((requests, i) => ({ messageId: `m${i}`, popReceipt: 'p', dequeueCount: 1, text: validationMessageText(requests) }));
  if (waiting.length === 0) throw new Error('no validation request was sent');
  queue.receive = async () => (await w.scheduler.gate(), waiting.splice(0));
}

/** A document disposable now: past its retention, approved. */
export async function disposable(w: World): Promise<string> {
  const [first] = await dueDocs(w);
  await ok(w, approval(w), 201);
  return first!;
}
