import { Readable } from 'node:stream';
import type { Deps } from '../deps';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuditInput } from '../ports';
import { type AuditAction, auditOutboxItem } from '../kernel/audit';
import { suppressedRefusalsEntry } from '../auth/refusal-limiter';
import { flushSuppressedRefusals } from '../audit/suppressed-refusals';
import { API_KEY_PATTERN } from '../auth/api-keys/api-key';
import { type Principal, personOf } from '../kernel/principal';
import { ArchiveError, type ErrorCode, toArchiveError } from '../kernel/errors';
import { deceptiveString, parseJsonBody } from './json-body';
import { idempotencyKeyOf } from '../ids';
import { neededPermissions, type Operation, type OperationInput, type RequestBodySpec, type TenantAudit } from './operation';
import { headersOf, problemOf, statusOf } from './problem';
import { securityHeaders } from './respond';
import type { ArchiveRequest, ArchiveResponse } from './types';
import { z } from 'zod';
import { refusedCharacter, replaceRefused } from '../kernel/text';

/** The route table holds operations (shared/http/operation.ts): one definition each. */
export type RouteDef = Operation;
export type TenantRoute = Extract<Operation, { auth: 'tenant' }>;
export type PublicRoute = Extract<Operation, { auth: 'public' }>;

/** A problem+json answer, with the headers every answer carries (also one a host gives outside the pipeline: a 404, 405 or 503). */
export function problemResponse(err: ArchiveError, requestId: string, instance?: string): ArchiveResponse {
  return {
    status: statusOf(err.code),
    headers: { ...securityHeaders(requestId), 'Content-Type': 'application/problem+json', ...headersOf(err) },
    body: JSON.stringify(problemOf(err, requestId, instance)),
  };
}

/**
 * The middleware every route runs through, on Azure and locally alike:
 * authenticate, authorise, call the handler, map errors to problem+json, and
 * append exactly one audit entry for every request that reached a tenant.
 */
export async function handleRequest(route: RouteDef, req: ArchiveRequest, deps: Deps): Promise<ArchiveResponse> {
  let response: ArchiveResponse;
  let principal: Principal | null = null;
  let failure: ArchiveError | null = null;
  const audit: TenantAudit = {
    target: pathTarget(req.params.id),
    staging: (status, action) => ({
      item: (target, detail) => {
        if (!principal || route.auth !== 'tenant') throw new Error('audit staging: only a tenant route\'s handler stages its entry');
        return auditOutboxItem([auditEntryOf(principal, route, req, deps.clock.now(), { target: target ?? audit.target, outcome: 'success', status, ...(detail !== undefined ? { detail } : {}), ...(action ? { action } : {}) })]);
      },
      stored: (item) => {
        audit.outboxed = item;
        audit.target = item.entries[0]!.target;
      },
      unchanged: (detail) => void (audit.detail = detail),
    }),
  };
  try {
    if (route.auth === 'public') {
      response = toResponse(route, await route.handler(await parseInput(route, req), deps));
    } else {
      // The target first, from well-formed parameters: a refused request's entry names what it was aimed at too.
      const early = route.params && !paramRefusal(route, req) ? route.params.safeParse(req.params) : { success: !route.params, data: {} };
      if (route.target && early.success) audit.target = route.target(early.data);
      principal = await deps.authenticator.authenticate(req.headers.get('authorization'), req.clientIp);
      // A valid credential the tenant refuses as a whole (support without grant, conflicting rights).
      if (principal.denial) throw principal.denial;
      const missing = neededPermissions(route).find((p) => !principal!.permissions.has(p));
      if (missing) {
        throw new ArchiveError('forbidden', { detail: `This needs the permission ${missing}.`, extensions: { permission: missing } });
      }
      const params = early.success ? early.data : parseParams(route, req); // malformed: parseParams throws the refusal
      const input = await parseInput(route, req, params);
      response = toResponse(route, await route.handler({ ...input, principal, audit }, deps));
    }
  } catch (err) {
    failure = toArchiveError(err);
    if (failure.code === 'internal') {
      deps.log.error('unhandled error', { requestId: req.requestId, route: route.name, error: describe(err) });
    }
    response = problemResponse(failure, req.requestId, req.url.pathname);
    // No tenant known (a bad token or key): no chain to write to, and an unverified credential must not pick one. The app log
    // keeps it, so a credential-stuffing run is visible somewhere: from where, with what, against which key.
    if (route.auth === 'tenant' && !principal && failure.code !== 'internal') {
      deps.log.warn('request refused before a tenant was known', { requestId: req.requestId, route: route.name, status: response.status, code: failure.code, detail: failure.message, clientIp: req.clientIp, userAgent: req.headers.get('user-agent')?.slice(0, 300) ?? null, credential: credentialOf(req.headers.get('authorization')) });
    }
  }

  if (route.auth === 'tenant' && principal) {
    const now = deps.clock.now();
    const outcome = failure ? (statusOf(failure.code) >= 500 ? 'failed' : 'refused') : 'success';
    // The change stored its own success entry (the audit outbox): it goes into the chain after the answer. It does
    // so whatever the outcome: a request that failed after a stored change (a bulk change stopped half-way) made that
    // change, and its chain shows the success entry of what was done beside the entry of the failure.
    const outboxed = audit.outboxed ?? null;
    if (outboxed) deps.auditOutbox.release(outboxed);
    let limited: { first: boolean } | null = null;
    if (outcome === 'refused') {
      const verdict = deps.refusals.take(principal.tenantId, personOf(principal), now);
      if (!verdict.allowed && answeredAsUnknownKey(principal, failure)) {
        // Still limited (entries counted, not written each), but answered as an id naming no key is, which this limiter
        // never sees: its 429 after thirty wrong secrets told whoever knows a key's id that it is a key of that tenant.
        limited = { first: verdict.first };
      } else if (!verdict.allowed) {
        (response.body as Readable | undefined)?.destroy?.();
        failure = new ArchiveError('too_many_refusals', {
          detail: `Too many refused requests from this principal; retry after ${verdict.retryAfterSeconds} s.`,
          retryAfterSeconds: verdict.retryAfterSeconds,
        });
        response = problemResponse(failure, req.requestId, req.url.pathname);
        limited = { first: verdict.first };
      }
    }
    const entry = auditEntryOf(principal, route, req, now, {
      target: audit.target,
      outcome,
      status: response.status,
      ...(failure ? { detail: typeof failure.extensions.rule === 'string' ? `${failure.code}:${failure.extensions.rule}` : failure.code } : req.method === 'HEAD' ? { detail: audit.detail ? `head;${audit.detail}` : 'head' } : audit.detail ? { detail: audit.detail } : {}),
      ...(outcome === 'success' && audit.action ? { action: audit.action } : {}),
    });
    // Past the first 429 of a run, refusals are only counted: one entry for them all, with the principal's
    // next audited request or this instance's next flush (shared/audit/suppressed-refusals.ts).
    if (limited && !limited.first) deps.refusals.suppress(entry);
    else {
      const pending = deps.refusals.takeSuppressed(principal.tenantId, personOf(principal));
      const suppressed = pending ? suppressedRefusalsEntry(pending, now) : null;
      const entries: AuditInput[] = [
        ...(suppressed ? [suppressed] : []),
        ...(outboxed && outcome === 'success' ? [] : [entry]),
      ];
      const stateChanged = outcome === 'success' && req.method !== 'GET' && req.method !== 'HEAD';
      try {
        if (entries.length > 0) await (stateChanged ? appendAfterChange(entries, deps, req.requestId) : deps.audit.appendBatch(entries));
      } catch (err) {
        // Fail closed: an access that cannot be audited is not served.
        // The entries go with it: the refusal or read happened, and the log is the only record of it left.
        deps.log.error('audit append failed', { requestId: req.requestId, route: route.name, entries, error: describe(err) });
        if (suppressed) deps.refusals.retryUnsure(suppressed); // the count waits for the next flush, which sends it unless it was stored
        (response.body as Readable | undefined)?.destroy?.();
        response = problemResponse(new ArchiveError('dependency_unavailable', { detail: 'The audit log is unavailable; the request was not served.' }), req.requestId);
      }
    }
    // Counts of buckets the limiter had to drop (more principals than it keeps) have nowhere to wait: written now, after the answer.
    if (deps.refusals.needsFlush) void flushSuppressedRefusals(now, deps, 'spilled');
  }
  const answer = { ...response, headers: { ...securityHeaders(req.requestId), ...response.headers } };
  return req.method === 'HEAD' ? withoutContent(answer) : answer;
}

/**
 * A HEAD's answer: the GET's status and header fields, its content left out (RFC 9110 §9.3.2). Content-Length
 * says what a GET would carry; a file's stream is closed (its download already answers HEAD without reading storage).
 */
function withoutContent(answer: ArchiveResponse): ArchiveResponse {
  const { body, ...rest } = answer;
  if (body instanceof Readable) {
    body.destroy();
    return rest;
  }
  return body === undefined ? rest : { ...rest, headers: { ...rest.headers, 'Content-Length': String(Buffer.byteLength(body)) } };
}

/** The longest path `id` an audit entry keeps before it is validated (the route schemas' ids are at most 128). */
export const MAX_PATH_TARGET = 128;

/** The longest User-Agent an audit entry keeps. */
const MAX_USER_AGENT = 300;

/**
 * The requester's own text as an audit entry keeps it (a path `id` before any schema has checked it, the
 * User-Agent): bounded by characters, never inside one, and what one line shown to people may not hold (controls,
 * bidirectional overrides, invisible characters; kernel/text.ts) shown as U+FFFD (a 6 KB id with line breaks and escape sequences went into the chain as it came, and showed as
 * other text where the log is read; a User-Agent with a raw C1 control did too).
 */
function requesterText(text: string, max: number): string {
  const points = [...replaceRefused(text, 'line', '\uFFFD')];
  return points.length > max ? `${points.slice(0, max).join('')}…` : points.join('');
}

const userAgentOf = (req: ArchiveRequest): string | null => {
  const ua = req.headers.get('user-agent');
  return ua === null ? null : requesterText(ua, MAX_USER_AGENT);
};

function pathTarget(id: string | undefined): string | null {
  return id === undefined ? null : requesterText(id, MAX_PATH_TARGET);
}

/**
 * A key's credential refused as one that does not exist is (a wrong secret, or too many checks of it from one address:
 * shared/auth/api-keys/verify-api-key.ts): its answer must stay the one an unknown id gets, whatever the tenant's limits.
 */
function answeredAsUnknownKey(principal: Principal, failure: ArchiveError | null): boolean {
  return principal.kind === 'client' && failure !== null && failure === principal.denial && (failure.code === 'unauthenticated' || failure.code === 'too_many_refusals');
}

/** One audit entry of a tenant request: who (the accountable person behind any key or grant), what, when, from where, with what outcome. */
function auditEntryOf(principal: Principal, route: TenantRoute, req: ArchiveRequest, at: Date, fields: Pick<AuditInput, 'target' | 'outcome' | 'status' | 'detail'> & { action?: AuditAction }): AuditInput {
  const actor = { subject: principal.subject, kind: principal.kind, person: personOf(principal), ...(principal.keyId ? { keyId: principal.keyId } : {}), ...(principal.grantId ? { grantId: principal.grantId } : {}) };
  return {
    tenantId: principal.tenantId,
    at: at.toISOString(),
    actor,
    action: fields.action ?? route.action,
    target: fields.target,
    outcome: fields.outcome,
    status: fields.status,
    requestId: req.requestId,
    clientIp: req.clientIp,
    userAgent: userAgentOf(req),
    ...(fields.detail !== undefined ? { detail: fields.detail } : {}),
  };
}

/**
 * `name: must not contain U+XXXX (…)` for a path parameter with a character no id, subject or name the archive keeps has
 * (one line, kernel/text.ts), or `name: …percent-encoding…` for one whose percent-encoding is not UTF-8: the route matcher
 * then passes its text on undecoded, so `PUT rights-assignments/%E0%A4%A` assigned rights to the subject `%E0%A4%A`, a name
 * the client never meant (its bytes were cut off). Read from the path as sent, segment by segment against the route template.
 */
function paramRefusal(op: Operation, req: ArchiveRequest): string | undefined {
  const template = op.route.split('/');
  const sent = req.url.pathname.split('/').slice(-template.length);
  for (const [i, part] of template.entries()) {
    const name = /^\{(\w+)\??\}$/.exec(part)?.[1];
    if (name !== undefined && sent[i] !== undefined && decoded(sent[i]) === null) return `${name}: invalid percent-encoding (not UTF-8)`;
  }
  for (const [name, value] of Object.entries(req.params)) {
    const refused = refusedCharacter(value, 'line');
    if (refused !== null) return `${name}: must not contain ${refused}`;
  }
  return undefined;
}

function parsedJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // its reader refuses it, naming it
  }
}

/** The text percent-decoded; null where its percent-encoding is not UTF-8. */
function decoded(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

/**
 * The query as sent, before URLSearchParams decodes it: a value whose percent-encoding is not UTF-8 (decoded, it became
 * U+FFFD, and `?counterparty=%E0%A4%A` searched for text the client never sent), or with a character no text the archive
 * reads may hold (kernel/text.ts, as a JSON body's strings: a NUL or a bidi override in a filter), is refused naming it.
 */
function queryRefusal(search: string): { name: string; message: string } | undefined {
  for (const pair of search.replace(/^\?/, '').split('&')) {
    if (pair === '') continue;
    const [rawName = '', rawValue = ''] = pair.split(/=(.*)/s);
    const plus = (t: string) => t.replace(/\+/g, ' ');
    const fullName = decoded(plus(rawName));
    if (fullName === null) return { name: 'query', message: 'a parameter name with invalid percent-encoding (not UTF-8)' };
    const name = fullName.slice(0, 100);
    const value = decoded(plus(rawValue));
    if (value === null) return { name, message: 'invalid percent-encoding (not UTF-8)' };
    // A JSON value (the upload's metadata) is named member by member, as a JSON body is.
    const json = /^\s*[{[]/.test(value) ? parsedJson(value) : undefined;
    const deceptive = json === undefined ? null : deceptiveString(json);
    if (deceptive !== null) return { name: deceptive.path ? `${name}.${deceptive.path}` : name, message: `must not contain ${deceptive.refused}` };
    const refused = json === undefined ? refusedCharacter(value, 'prose') : null;
    if (refused !== null) return { name, message: `must not contain ${refused}` };
  }
  return undefined;
}

/**
 * Path parameters by the operation's schema; one it refuses names a resource that cannot exist. So does one with
 * a deceptive character, whatever the schema says (a subject of any text was stored with ESC and RLO in it).
 */
function parseParams(op: Operation, req: ArchiveRequest): unknown {
  if (!op.params) return {};
  const refused = paramRefusal(op, req);
  if (refused !== undefined) throw new ArchiveError(op.paramsError ?? 'route_not_found', { detail: refused });
  const parsed = op.params.safeParse(req.params);
  if (!parsed.success) throw new ArchiveError(op.paramsError ?? 'route_not_found', { detail: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
  return parsed.data;
}

/** Query and body by the operation's schemas, so handlers only see validated, typed input. */
async function parseInput(op: Operation, req: ArchiveRequest, params: unknown = parseParams(op, req)): Promise<OperationInput<z.ZodType, z.ZodType, RequestBodySpec>> {
  const idempotencyKey = idempotencyKeyFor(op, req);
  const badly = queryRefusal(req.url.search);
  if (badly) throw new ArchiveError('invalid_query', { detail: `${badly.name}: ${badly.message}`, extensions: { errors: [{ path: badly.name, message: badly.message }] } });
  // An operation without a query takes none: `?dryRun=true` on a DELETE must not go unnoticed while the DELETE is done.
  const query = parseQuery(op.query ?? z.strictObject({}), req.url.searchParams);
  // An operation without a body takes none, as with the query: `{"reason":"leaked"}` sent with a revocation was dropped
  // unread while the revocation was done, and the client believed its reason kept (schemathesis and by hand).
  if (!op.body && (await carriesContent(req))) throw new ArchiveError('bad_request', { detail: `${op.method} ${op.route} takes no request body; send its input in the path${op.query ? ' or the query' : ''}.` });
  const body = !op.body ? undefined : 'json' in op.body ? await parseJsonBody(req, op.body.json) : req.body;
  return { params, query, body, req, idempotencyKey };
}

/**
 * Whether the request has content: a length above zero said, or (a chunked body, or a proxy's stream whose length it does
 * not say) a first byte read. Not judged by the headers alone: a proxy in front of the worker may forward an empty body
 * chunked, and every DELETE would have been refused. Only where the host passes a body on: a GET's or HEAD's it drops, as
 * a Fetch Request (the Functions worker's) cannot hold one. Read only to its first chunk: the operation takes none.
 */
async function carriesContent(req: ArchiveRequest): Promise<boolean> {
  if (req.body === null) return false;
  const length = req.headers.get('content-length');
  if (length !== null && length.trim() !== '0') return true;
  // Broke: the body was destroyed after its first byte (as a for-await left early does); on the local host the body is
  // the request, whose destruction closes the socket, so the client met a reset, not the 400. Now only paused: the host
  // drains what it did not read after the answer (red team 26).
  const body = req.body;
  // Its end already passed emits nothing more.
  if (body.readableEnded || body.destroyed) return false;
  return new Promise<boolean>((resolve, reject) => {
    const done = (result: boolean | Error) => {
      body.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', done);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string) => {
      if (chunk.length === 0) return;
      body.pause();
      done(true);
    };
    const onEnd = () => done(false);
    body.on('data', onData).once('end', onEnd).once('close', onEnd).once('error', done);
  });
}

/** The `Idempotency-Key` of an operation that declares it, validated here once for every one of them; on any other a 400. */
function idempotencyKeyFor(op: Operation, req: ArchiveRequest): string | null {
  const header = req.headers.get('idempotency-key');
  // A retry the client believes recognised would be done twice.
  if (!op.idempotencyKey && header !== null) {
    throw new ArchiveError('bad_request', { detail: 'This operation does not take Idempotency-Key: a retry with it would be done again. Only the upload, legal-hold placements, exports, support grants and disposal approvals recognise retries by their key.' });
  }
  return idempotencyKeyOf(header);
}

/**
 * The query string by a zod schema; a value it refuses is a 400 invalid_query naming each problem. No
 * parameter is a list: one given twice is refused, not read as its last value (`?delivery=redirect&delivery=stream`).
 */
export function parseQuery<T extends z.ZodType>(schema: T, params: URLSearchParams, code: ErrorCode = 'invalid_query'): z.infer<T> {
  const names = [...params.keys()];
  const repeated = [...new Set(names.filter((name, i) => names.indexOf(name) !== i))];
  if (repeated.length > 0) throw new ArchiveError(code, { detail: repeated.slice(0, 10).map((name) => `${name.slice(0, 100)}: given more than once`).join('; ') });
  const parsed = schema.safeParse(Object.fromEntries(params));
  if (!parsed.success) {
    throw new ArchiveError(code, {
      detail: parsed.error.issues.map((i) => `${i.path.join('.') || 'query'}: ${i.message}`).join('; '),
      // As a body's refusal has them: the web app shows each beside its field (a search's counterparty).
      extensions: { errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}

/** A handler's typed reply as bytes: a declared JSON body is serialised here, streams pass through. */
function toResponse(op: Operation, reply: { status: number; headers?: Record<string, string>; body?: unknown }): ArchiveResponse {
  const declared = op.responses[reply.status];
  if (declared?.json) {
    return { status: reply.status, headers: { 'Content-Type': 'application/json; charset=utf-8', ...reply.headers }, body: JSON.stringify(reply.body) };
  }
  return { status: reply.status, ...(reply.headers ? { headers: reply.headers } : {}), ...(reply.body !== undefined ? { body: reply.body as ArchiveResponse['body'] } : {}) };
}

/** Operators are alerted on this exact phrase (infra/main.bicep, auditEntryUnwrittenAlert): the entry is then only in this log line, for them to append. */
export const AUDIT_ENTRY_UNWRITTEN = 'audit entry of a completed change could not be written or parked';

/** Retries of the audit append after a completed state change, with these pauses (ms) between them. */
export const AUDIT_RETRY_DELAYS_MS = [25, 50, 100, 200, 400, 800];

/**
 * The audit entries of a completed state change. The change is done and cannot be taken back, so
 * answering 503 would misreport it: a transient failure is retried (bounded, with backoff), and if
 * the log still refuses, the entries are parked for the sealing timer to append
 * (`AuditLog.savePending`); if even that fails, the entries go to the error log. Never throws.
 */
async function appendAfterChange(entries: AuditInput[], deps: Deps, requestId: string): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt <= AUDIT_RETRY_DELAYS_MS.length; attempt++) {
    if (attempt > 0) await sleep(AUDIT_RETRY_DELAYS_MS[attempt - 1]);
    try {
      // A failed attempt may have been stored all the same (a timeout): a retry appends only if it was not.
      if (attempt === 0) await deps.audit.appendBatch(entries);
      else await deps.audit.appendOnce(entries);
      return;
    } catch (err) {
      last = err;
    }
  }
  try {
    await deps.audit.savePending(entries);
    deps.log.warn('audit append failed after retries; entry parked for the sealing timer', { requestId, error: describe(last) });
  } catch (err) {
    // The last place left: the log keeps the entry for an operator to append.
    deps.log.error(AUDIT_ENTRY_UNWRITTEN, { requestId, entries, error: describe(err), appendError: describe(last) });
  }
}

/**
 * What kind of credential a refused request presented, for the log, never its secret: an API key's
 * non-secret prefix (`arch_<tenant>_<key id>`, as the key list shows it), else only the scheme.
 */
function credentialOf(authorization: string | null): string {
  const header = authorization?.trim() ?? '';
  if (header === '') return 'none';
  const key = /^ApiKey (\S+)$/.exec(header);
  if (!key) return /^Bearer /.test(header) ? 'bearer' : 'other';
  const parts = API_KEY_PATTERN.exec(key[1]!);
  return parts ? `api-key arch_${parts[1]!}_${parts[2]!}` : 'api-key (malformed)';
}

function describe(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err);
}
