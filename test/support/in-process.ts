/**
 * Requests sent in-process as the hosts send them (route matching, handleRequest, the route's handler) over the
 * in-memory ports, for the generated sweeps (test/unit/faults/fault-sweep.test.ts, race-sweep.test.ts): no HTTP
 * server, so every port call of a request can be counted, faulted or scheduled.
 */
import { Readable } from 'node:stream';
import { ROUTES } from '../../functions/routes';
import { handleRequest } from '../../shared/http/pipeline';
import { compileRoutes, matchRoute } from '../../shared/http/route-match';
import { exportTimer } from '../../functions/exports';
import { TIMERS } from '../../functions/timers';
import { sealAuditLog } from '../../shared/audit/seal';
import { AUDIT_OUTBOX_CLAIM_LEASE_MS } from '../../shared/kernel/audit';
import { runReconcileTimer, runSweepTimer } from '../../shared/retention/timers';
import type { ArchivedDocument } from '../../shared/kernel/document';
import { blobLayout } from '../../shared/kernel/blob-layout';
import { isHeld } from '../../shared/kernel/retention-rules';
import { UNRECORDED_HOLD } from '../../shared/retention/reconcile';
import { protectedBlobNamesOf } from '../../shared/retention/update';
import type { FakeClock } from './fake-clock';
import type { InMemoryDeps, InMemoryExportJobs, RecordingLogger } from './in-memory';

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
}

/** A world the helpers send into: its ports, and a counter naming each request. */
export interface RequestWorld {
  deps: InMemoryDeps;
  seq: number;
}

export async function send(w: RequestWorld, call: Call, requestId = `req-${++w.seq}`): Promise<Answer> {
  const url = new URL(`http://localhost/api/${call.path}`);
  const match = matchRoute(TABLE, call.method, url.pathname);
  if ('allow' in match) throw new Error(`no route ${call.method} ${call.path}`);
  const as = call.as ?? 'alice';
  const headers = new Map<string, string>([['authorization', as.startsWith('ApiKey ') ? as : `Bearer ${as}`]]);
  let body: Buffer | null = null;
  if (call.raw) {
    body = call.raw.bytes;
    headers.set('content-type', call.raw.type);
  } else if (call.body !== undefined) {
    body = Buffer.from(JSON.stringify(call.body));
    headers.set('content-type', 'application/json');
  }
  for (const [k, v] of Object.entries(call.headers ?? {})) headers.set(k.toLowerCase(), v);
  if (body) headers.set('content-length', String(body.length));
  const res = await handleRequest(match.route, { method: call.method, url, params: match.params, headers: { get: (n) => headers.get(n.toLowerCase()) ?? null }, body: body ? Readable.from([body]) : null, clientIp: '10.0.0.1', requestId }, w.deps);
  let text = '';
  if (typeof res.body === 'string' || Buffer.isBuffer(res.body)) text = res.body.toString();
  else if (res.body) for await (const chunk of res.body) text += Buffer.from(chunk as Uint8Array).toString();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers ?? {}, requestId };
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
  await settle(w);
  await TIMERS.find((t) => t.name === 'requeueValidations')!.run(w.deps);
  // A later sealing run: past the lease of a claim an interrupted run left (judged by the real clock, kernel/audit.ts).
  const realNow = Date.now.bind(Date);
  const later = jest.spyOn(Date, 'now').mockImplementation(() => realNow() + AUDIT_OUTBOX_CLAIM_LEASE_MS + 60_000);
  try {
    await sealAuditLog({ now: w.clock.now(), deps: w.deps });
  } finally {
    later.mockRestore();
  }
}

/**
 * What is wrong between one catalog item and its blobs: a disposed document's blobs left; a kept correction that is not
 * the catalog's (correction-blobs.ts); a file, kept correction or manifest missing, or without the item's hold flag or
 * retain-until (a flag the catalog cannot explain is kept and alerted by design, reconcile.ts, so not counted).
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
    const unrecorded = blob.worm.legalHold && (deps.log as RecordingLogger).lines.some((l) => l.message === UNRECORDED_HOLD && l.fields?.documentId === doc.id);
    if (doc.status === 'active' && blob.worm.legalHold !== isHeld(doc) && !unrecorded) found.push(`${name}: legal hold ${blob.worm.legalHold}, catalog ${isHeld(doc)}`);
    if (Date.parse(blob.worm.retainUntil) < Date.parse(doc.retention.retainUntil)) found.push(`${name}: locked until ${blob.worm.retainUntil}, catalog keeps it until ${doc.retention.retainUntil}`);
  }
  return found;
}
