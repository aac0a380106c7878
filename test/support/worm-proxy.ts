/**
 * A test double for the storage wire protocol's WORM behaviour. Azurite ignores
 * immutability policies and legal holds, so this HTTP proxy sits in front of it and:
 *  - records the immutability headers of every write (Put Blob, Put Block List);
 *  - answers container Get Properties with `x-ms-immutable-storage-with-versioning-enabled`
 *    (per container, so the enforce/503 path can be tested both ways);
 *  - refuses overwrite, metadata change and delete of a blob still under retention or legal
 *    hold, with Azure's status and error codes (409 BlobImmutableDueToPolicy /
 *    BlobImmutableDueToLegalHold);
 *  - implements Set/Delete Immutability Policy (`comp=immutabilityPolicies`) and Set Legal
 *    Hold (`comp=legalhold`) by recording them (a Locked policy can only be extended);
 *  - refuses an immutability policy that expires in the past, on a write or a Set Immutability
 *    Policy (400 InvalidExpiryTime, as Azure answers: Azure/azure-sdk-for-net#35194);
 *  - reports the current policy and hold on Get Blob / Get Blob Properties, as Azure does.
 * Everything else is forwarded to Azurite unchanged (Shared Key signatures do not cover
 * the host, so they still verify).
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';

export interface WormRecord {
  at: string;
  op: 'put' | 'set-immutability-policy' | 'delete-immutability-policy' | 'set-legal-hold' | 'delete';
  container: string;
  blob: string;
  /** Request headers as sent by the client (absent ones are null). */
  until: string | null;
  mode: string | null;
  legalHold: string | null;
  /** Status the proxy answered with. */
  status: number;
  errorCode?: string;
}

export interface BlobWormState {
  until: Date | null;
  mode: 'Locked' | 'Unlocked' | null;
  legalHold: boolean;
}

export interface WormProxyOptions {
  /** Azurite's blob endpoint port. */
  upstreamPort: number;
  /** The proxy's notion of now (retention expiry); a test passes its fake clock. */
  now?: () => Date;
  /** Whether a container reports version-level immutability; default: every container does. */
  immutableContainer?: (container: string) => boolean;
}

export interface WormProxy {
  port: number;
  /** A connection string for the account behind the proxy. */
  connectionString(azuriteConnectionString: string): string;
  records: WormRecord[];
  state(container: string, blob: string): BlobWormState | undefined;
  /** Containers reported without version-level immutability. */
  disableImmutability(container: string): void;
  stop(): Promise<void>;
}

export async function startWormProxy(opts: WormProxyOptions): Promise<WormProxy> {
  const now = opts.now ?? (() => new Date());
  const disabled = new Set<string>();
  const immutable = (c: string) => !disabled.has(c) && (opts.immutableContainer?.(c) ?? true);
  const blobs = new Map<string, BlobWormState>();
  const records: WormRecord[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const [, , container, ...rest] = url.pathname.split('/');
    const blob = decodeURIComponent(rest.join('/'));
    const comp = url.searchParams.get('comp')?.toLowerCase() ?? null;
    const restype = url.searchParams.get('restype');
    const key = `${container}/${blob}`;
    const h = (name: string) => {
      const v = req.headers[name];
      return v === undefined ? null : Array.isArray(v) ? v.join(',') : v;
    };
    const record = (op: WormRecord['op'], status: number, errorCode?: string) =>
      records.push({ at: now().toISOString(), op, container: container ?? '', blob, until: h('x-ms-immutability-policy-until-date'), mode: h('x-ms-immutability-policy-mode'), legalHold: h('x-ms-legal-hold'), status, ...(errorCode ? { errorCode } : {}) });
    const refuse = (status: number, code: string, message: string) => {
      req.resume();
      res.writeHead(status, { 'Content-Type': 'application/xml', 'x-ms-error-code': code, 'x-ms-request-id': randomUUID(), 'x-ms-version': '2025-01-05' });
      res.end(`<?xml version="1.0" encoding="utf-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`);
    };
    const ok = (status: number, headers: Record<string, string>) => {
      req.resume();
      res.writeHead(status, { 'x-ms-request-id': randomUUID(), 'x-ms-version': '2025-01-05', 'Content-Length': '0', ...headers });
      res.end();
    };
    /** Why this blob cannot be changed or deleted now, or null. */
    const protection = (): [string, string] | null => {
      const s = blobs.get(key);
      if (!s) return null;
      if (s.legalHold) return ['BlobImmutableDueToLegalHold', 'This operation is not permitted as the blob has a legal hold.'];
      if (s.until && s.until.getTime() > now().getTime()) return ['BlobImmutableDueToPolicy', 'This operation is not permitted as the blob is immutable due to a policy.'];
      return null;
    };
    const isBlob = container !== undefined && blob !== '' && restype === null;

    if (isBlob && req.method === 'PUT' && comp === 'immutabilitypolicies') {
      const s = blobs.get(key);
      const until = h('x-ms-immutability-policy-until-date');
      const mode = (h('x-ms-immutability-policy-mode') ?? 'Unlocked') as 'Locked' | 'Unlocked';
      if (!s || !until) {
        record('set-immutability-policy', 404, 'BlobNotFound');
        return refuse(404, 'BlobNotFound', 'The specified blob does not exist.');
      }
      if (new Date(until).getTime() <= now().getTime()) {
        record('set-immutability-policy', 400, 'InvalidExpiryTime');
        return refuse(400, 'InvalidExpiryTime', 'The immutability policy expiry time must be in the future.');
      }
      if (s.mode === 'Locked' && s.until && new Date(until).getTime() < s.until.getTime()) {
        record('set-immutability-policy', 409, 'ImmutabilityPolicyCannotBeShortened');
        return refuse(409, 'ImmutabilityPolicyCannotBeShortened', 'A locked immutability policy can only be extended.');
      }
      if (s.mode === 'Locked' && mode === 'Unlocked') {
        record('set-immutability-policy', 409, 'ImmutabilityPolicyCannotBeUnlocked');
        return refuse(409, 'ImmutabilityPolicyCannotBeUnlocked', 'A locked immutability policy cannot be unlocked.');
      }
      s.until = new Date(until);
      s.mode = mode;
      record('set-immutability-policy', 200);
      return ok(200, { 'x-ms-immutability-policy-until-date': s.until.toUTCString(), 'x-ms-immutability-policy-mode': mode.toLowerCase() });
    }
    if (isBlob && req.method === 'DELETE' && comp === 'immutabilitypolicies') {
      const s = blobs.get(key);
      if (s?.mode === 'Locked') {
        record('delete-immutability-policy', 409, 'ImmutabilityPolicyDeleteOnLockedPolicy');
        return refuse(409, 'ImmutabilityPolicyDeleteOnLockedPolicy', 'A locked immutability policy cannot be deleted.');
      }
      if (s) Object.assign(s, { until: null, mode: null });
      record('delete-immutability-policy', 200);
      return ok(200, {});
    }
    if (isBlob && req.method === 'PUT' && comp === 'legalhold') {
      const s = blobs.get(key);
      if (!s) {
        record('set-legal-hold', 404, 'BlobNotFound');
        return refuse(404, 'BlobNotFound', 'The specified blob does not exist.');
      }
      s.legalHold = h('x-ms-legal-hold') === 'true';
      record('set-legal-hold', 200);
      return ok(200, { 'x-ms-legal-hold': String(s.legalHold) });
    }
    const writes = isBlob && req.method === 'PUT' && (comp === null || comp === 'blocklist' || comp === 'metadata' || comp === 'properties' || comp === 'tier');
    const deletes = isBlob && req.method === 'DELETE' && comp === null;
    const requestedUntil = h('x-ms-immutability-policy-until-date');
    if (writes && requestedUntil && new Date(requestedUntil).getTime() <= now().getTime()) {
      record('put', 400, 'InvalidExpiryTime');
      return refuse(400, 'InvalidExpiryTime', 'The immutability policy expiry time must be in the future.');
    }
    if (writes || deletes) {
      const why = protection();
      if (why) {
        record(deletes ? 'delete' : 'put', 409, why[0]);
        return refuse(409, why[0], why[1]);
      }
    }

    const upstream = http.request(
      { host: '127.0.0.1', port: opts.upstreamPort, method: req.method, path: req.url, headers: { ...req.headers, host: `127.0.0.1:${opts.upstreamPort}` } },
      (up) => {
        const headers = { ...up.headers };
        const status = up.statusCode ?? 502;
        const success = status >= 200 && status < 300;
        if (container && restype === 'container' && comp === null && (req.method === 'GET' || req.method === 'HEAD') && success) {
          headers['x-ms-immutable-storage-with-versioning-enabled'] = String(immutable(container));
        }
        if (writes && (comp === null || comp === 'blocklist')) {
          if (success) {
            const until = h('x-ms-immutability-policy-until-date');
            const mode = h('x-ms-immutability-policy-mode');
            blobs.set(key, { until: until ? new Date(until) : null, mode: mode ? (mode.toLowerCase() === 'locked' ? 'Locked' : 'Unlocked') : null, legalHold: h('x-ms-legal-hold') === 'true' });
          }
          record('put', status, success ? undefined : String(up.headers['x-ms-error-code'] ?? ''));
        }
        if (deletes) {
          if (success) blobs.delete(key);
          record('delete', status, success ? undefined : String(up.headers['x-ms-error-code'] ?? ''));
        }
        if (isBlob && (req.method === 'GET' || req.method === 'HEAD') && comp === null && success) {
          const s = blobs.get(key);
          if (s?.until) {
            headers['x-ms-immutability-policy-until-date'] = s.until.toUTCString();
            headers['x-ms-immutability-policy-mode'] = (s.mode ?? 'Unlocked').toLowerCase();
          }
          if (s) headers['x-ms-legal-hold'] = String(s.legalHold);
        }
        res.writeHead(status, headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (err) => {
      if (!res.headersSent) res.writeHead(502);
      res.end(String(err));
    });
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connectionString: (cs) => cs.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+\//, `BlobEndpoint=http://127.0.0.1:${port}/`),
    records,
    state: (c, b) => blobs.get(`${c}/${b}`),
    disableImmutability: (c) => disabled.add(c),
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
