/**
 * The time-edge sweep: every time limit the archive judges, at its edge − 1 ms, the edge and the edge + 1 ms, judged by
 * every place that judges it (requests in-process as the hosts run them over the in-memory ports, timers as the hosts
 * run them; machinery in test/support/in-process.ts). A fresh archive per instant, so nothing one judgment caches or
 * changes decides another's. At each instant all places must agree, with the README's convention: a limit ends AT its
 * instant (a key's or grant's `endsAt`, a proposal's or export's `expiresAt`, a document's retain-until: "at or before
 * now" is over), but for ingest's one-day margin (a document with exactly one day left is kept). Nothing ended may act,
 * and a link handed out before an edge reads no longer than the limit it was given under.
 * Then every operation that takes a time from the client is fed the hostile forms: each is a 400, or means exactly the
 * instant it is stored, compared and shown back as (UTC, milliseconds, four-digit year).
 * A new time limit adds a row to EDGES.
 */
import { exportTimer } from '../../../functions/exports';
import { runSweepTimer } from '../../../shared/retention/timers';
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from 'jose';
import { Authenticator } from '../../../shared/auth/authenticate';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { scopeDigest } from '../../../shared/kernel/page-token';
import { APPROVAL_LEAD_DAYS } from '../../../shared/kernel/retention-rules';
import { retainUntilFor, safeguardsOf } from '../../../shared/retention/policy';
import type { InMemoryExportJobs } from '../../support/in-memory';
import { type Answer, blobsDisagree, type Call, docOf, exportCompleted, hold, ok, send, settle, SETTINGS, TENANT, upload, world, type World } from '../../support/in-process';

/** What one place says of the limit at the instant: still valid (acts), or ended; `broken` collects what must never be. */
type Judge = { place: string; judge: (w: World, ctx: Ctx, broken: string[]) => Promise<boolean> };
type Ctx = { edge: string; [name: string]: any };
interface Edge {
  limit: string;
  /**
   * The last instant still valid: the one before the edge (the README's "ends at"), or the edge itself; or, for a
   * limit that starts at its edge (a token's nbf, an approval's lead), 'from-edge': not before, valid at and after.
   */
  lastValid: 'before-edge' | 'edge' | 'from-edge';
  /** Judged by the wall clock too (jose's exp/nbf, the verified-token cache read Date): Date follows the archive's clock. */
  wallClock?: true;
  /** Sets the scene in a fresh archive (clock at START) and names the edge. */
  prepare: (w: World) => Promise<Ctx>;
  places: Judge[];
}

const get = (path: string, as = 'alice'): Call => ({ method: 'GET', path, as });
const answered = (r: Answer, valid: number[], ended: number[], place: string, broken: string[]): boolean => {
  if (valid.includes(r.status)) return true;
  if (ended.includes(r.status)) return false;
  broken.push(`${place}: answered ${r.status} ${JSON.stringify(r.json)?.slice(0, 200)}`);
  return false;
};
/** A 303's link reads no longer than `limit`. */
function linkWithin(r: Answer, limit: string, place: string, broken: string[]): void {
  if (r.status !== 303) return;
  const until = r.headers['Link-Expires'];
  if (!until || Date.parse(until) > Date.parse(limit)) broken.push(`${place}: a link readable until ${until}, past ${limit}`);
}

/** A key of alice's (tenant-admin), ending `inMs` from now: its secret. */
async function key(w: World, inMs: number, as = 'alice'): Promise<{ key: string; id: string; expiresAt: string }> {
  const r = await ok(w, { method: 'POST', path: 'api-keys', body: { name: `k${w.seq}`, rightsSet: 'tenant-admin', expiresAt: new Date(w.clock.now().getTime() + inMs).toISOString() }, as }, 201);
  return { key: `ApiKey ${r.json.key}`, id: r.json.id, expiresAt: r.json.expiresAt };
}
const listed = async (w: World, path: string, id: string): Promise<boolean> => ((await ok(w, get(path))).json.items as { id: string }[]).some((i) => i.id === id);

/** An export of everything, its worker let finish (on a loaded machine its ZIP's file writes take more than a fixed number of turns): its id. */
async function exported(w: World): Promise<string> {
  const job = (await ok(w, { method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' })).json;
  return (await exportCompleted(w, job.id as string)).id;
}

/** The identity provider's key; the world's authenticator verifies tokens as the hosts' does (jose), with `tolerance`. */
const idp = generateKeyPair('RS256');
async function jwt(w: World, tolerance: number, claims: { exp: number; nbf?: number; jti?: string }): Promise<string> {
  const { privateKey, publicKey } = await idp;
  const authenticator = new Authenticator({ ...SETTINGS, clockToleranceSeconds: tolerance }, { tenantRecords: w.deps.tenantRecords, secrets: w.deps.secrets, config: w.deps.config, rights: w.deps.rights, clock: w.deps.clock, blobs: w.deps.blobs, audit: w.deps.audit, log: w.deps.log });
  (authenticator as unknown as { jwks: ReturnType<typeof createLocalJWKSet> }).jwks = createLocalJWKSet({ keys: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256' }] });
  if (!(w.deps.authenticator instanceof Authenticator) || (w.deps.authenticator as unknown as { tolerance?: number }).tolerance !== tolerance) {
    Object.assign(authenticator, { tolerance });
    w.deps.authenticator = authenticator;
  }
  return new SignJWT({ tid: TENANT, ...(claims.nbf !== undefined ? { nbf: claims.nbf } : {}), ...(claims.jti ? { jti: claims.jti } : {}) })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
    .setSubject('alice')
    .setIssuer(SETTINGS.issuer)
    .setAudience(SETTINGS.audience)
    .setIssuedAt(Math.floor(w.clock.now().getTime() / 1000) - 60)
    .setExpirationTime(claims.exp)
    .sign(privateKey);
}

const FY = 2018;
const CLASS = 'immovable-property-10y';
const RETAIN_UNTIL = retainUntilFor(10, FY);

/** A link to the original asked for with the scene's token: 303 with a link ending by its exp, or 401 (never a link already ended). */
const LINK_WITH_TOKEN: Judge = {
  place: 'a download link asked for with it',
  judge: async (w, c, b) => {
    const r = await send(w, { ...get(`documents/${c.doc}/original?delivery=redirect`), as: c.token });
    linkWithin(r, c.exp, 'link', b);
    if (r.status === 303 && Date.parse(r.headers['Link-Expires']!) <= w.clock.now().getTime()) b.push(`link: ended (${r.headers['Link-Expires']}) when given`);
    return answered(r, [303], [401], 'link', b);
  },
};

const EDGES: Edge[] = [
  {
    limit: "an API key's end (expiresAt)",
    lastValid: 'before-edge',
    prepare: async (w) => {
      const doc = await docOf(w);
      const k = await key(w, 5 * 60_000);
      // Used once: the instance has verified it (verify-api-key.ts), the later requests take the cached path.
      const cached = await key(w, 5 * 60_000);
      await ok(w, { ...get('documents'), as: cached.key });
      // A support grant given through the key stands on it (and ends with it).
      const grant = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-1', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: k.key }, 201)).json;
      // A key minted with it (its default 90 days capped to this key's end), and one of its own.
      const child = (await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'child', rightsSet: 'auditor' }, as: k.key }, 201)).json;
      // A rights assignment made through it stays, marked for review once the key ends.
      await ok(w, { method: 'PUT', path: 'rights-assignments/dave', body: { rightsSet: 'auditor' }, as: k.key });
      return { edge: k.expiresAt, key: k.key, id: k.id, cached: cached.key, doc, grant: grant.id, child: `ApiKey ${child.key}`, childId: child.id };
    },
    places: [
      { place: 'a request with the key', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.key }), [200], [401], 'request', b) },
      { place: 'a request with the key this instance verified before', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.cached }), [200], [401], 'cached request', b) },
      { place: 'a request with a key minted with it', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.child }), [200], [401], 'child key', b) },
      { place: 'GET /api-keys: the key minted with it (in use)', judge: async (w, c) => listed(w, 'api-keys?state=in-use', c.childId) },
      { place: 'GET /api-keys (in use)', judge: async (w, c) => listed(w, 'api-keys?state=in-use', c.id) },
      { place: 'GET /api-keys?state=expired (not listed)', judge: async (w, c) => !(await listed(w, 'api-keys?state=expired', c.id)) },
      { place: 'minting a key with the key', judge: async (w, c, b) => answered(await send(w, { method: 'POST', path: 'api-keys', body: { name: 'minted', rightsSet: 'auditor' }, as: c.key }), [201], [401], 'mint', b) },
      {
        // Its expiry is the key's (a grant acts no longer than the key it was given through).
        place: 'GET /support-grants: the grant given through it (active, not marked ended with it)',
        judge: async (w, c) => ((await ok(w, get('support-grants?state=active'))).json.items as { id: string; endedWithKey?: string }[]).some((g) => g.id === c.grant && !g.endedWithKey),
      },
      {
        place: 'GET /rights-assignments: the assignment made through it (not marked ended with it)',
        judge: async (w) => ((await ok(w, get('rights-assignments'))).json.items as { subject: string; endedWithKey?: string }[]).some((a) => a.subject === 'dave' && !a.endedWithKey),
      },
      { place: 'support access given through the key', judge: async (w, c, b) => answered(await send(w, get('documents', 'support.sam')), [200], [401, 403], 'support', b) },
      {
        place: 'a download link asked for with the key',
        judge: async (w, c, b) => {
          const r = await send(w, { ...get(`documents/${c.doc}/original?delivery=redirect`), as: c.key });
          linkWithin(r, c.edge, 'link', b);
          return answered(r, [303], [401], 'link', b);
        },
      },
    ],
  },
  {
    limit: "a support grant's end (expiresAt)",
    lastValid: 'before-edge',
    prepare: async (w) => {
      const grant = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-2', expiresAt: new Date(w.clock.now().getTime() + 3600_000).toISOString() }, as: 'alice' }, 201)).json;
      return { edge: grant.expiresAt, id: grant.id };
    },
    places: [
      { place: 'a support request', judge: async (w, _c, b) => answered(await send(w, get('documents', 'support.sam')), [200], [403], 'support', b) },
      { place: 'GET /support-grants (active)', judge: async (w, c) => listed(w, 'support-grants?state=active', c.id) },
      { place: 'GET /support-grants?state=expired (not listed)', judge: async (w, c) => !(await listed(w, 'support-grants?state=expired', c.id)) },
    ],
  },
  {
    limit: "an SoD proposal's expiry (expiresAt)",
    lastValid: 'before-edge',
    prepare: async (w) => {
      const read = await ok(w, get('sod-policy', 'carol'));
      const r = await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: [], uploaderCannotApproveDisposal: false }, headers: { 'If-Match': read.headers.ETag ?? '*' }, as: 'carol' }, 202);
      return { edge: r.json.expiresAt, id: r.json.id ?? r.json.proposalId };
    },
    places: [
      { place: 'GET /sod-policy/proposals (pending)', judge: async (w, c) => listed(w, 'sod-policy/proposals?state=pending', c.id) },
      { place: 'GET /sod-policy/proposals?state=expired (not listed)', judge: async (w, c) => !(await listed(w, 'sod-policy/proposals?state=expired', c.id)) },
      { place: 'approving it', judge: async (w, c, b) => answered(await send(w, { method: 'POST', path: `sod-policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }), [200], [409, 410, 422], 'approve', b) },
    ],
  },
  {
    limit: "a retention policy proposal's expiry (expiresAt)",
    lastValid: 'before-edge',
    prepare: async (w) => {
      // Lowering is for two people who may manage retention but not approve disposals, given their rights by no one who
      // may (README: four eyes): set up as the tenant's first administrator left them.
      const root = { subject: 'root', kind: 'user' };
      const at = w.clock.now().toISOString();
      w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('keeper')}`, { value: { id: rightsSetRecordId('keeper'), tenantId: TENANT, type: 'rights-set', name: 'keeper', permissions: ['retention:manage', 'documents:read'], updatedAt: at, updatedBy: root } as never, etag: 2000 });
      for (const [i, person] of ['dave', 'erin'].entries()) {
        w.deps.tenantRecords.records.set(`${TENANT}/${rightsAssignmentRecordId(person)}`, { value: { id: rightsAssignmentRecordId(person), tenantId: TENANT, type: 'rights-assignment', subject: person, rightsSet: 'keeper', assignedAt: at, assignedBy: root } as never, etag: 2001 + i });
      }
      const read = await ok(w, get('retention/policy', 'dave'));
      const r = await ok(w, { method: 'PUT', path: 'retention/policy', body: { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: 6 }, headers: { 'If-Match': read.headers.ETag ?? '*' }, as: 'dave' }, 202);
      return { edge: r.json.expiresAt, id: r.json.id ?? r.json.proposalId };
    },
    places: [
      { place: 'GET /retention/policy/proposals (pending)', judge: async (w, c) => listed(w, 'retention/policy/proposals?state=pending', c.id) },
      { place: 'GET /retention/policy/proposals?state=expired (not listed)', judge: async (w, c) => !(await listed(w, 'retention/policy/proposals?state=expired', c.id)) },
      { place: 'approving it', judge: async (w, c, b) => answered(await send(w, { method: 'POST', path: `retention/policy/proposals/${c.id}/approve`, body: { reason: 'Agreed' }, as: 'erin' }), [200], [409, 410, 422], 'approve', b) },
    ],
  },
  {
    limit: "an export's expiry (expiresAt)",
    lastValid: 'before-edge',
    prepare: async (w) => {
      await docOf(w);
      const id = await exported(w);
      return { edge: (w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${id}`)!.expiresAt, id };
    },
    places: [
      { place: 'GET /exports/{id}', judge: async (w, c) => (await ok(w, get(`exports/${c.id}`))).json.status !== 'expired' },
      { place: 'downloading it', judge: async (w, c, b) => answered(await send(w, get(`exports/${c.id}/download`)), [200], [410], 'download', b) },
      {
        place: 'a link to it',
        judge: async (w, c, b) => {
          const r = await send(w, get(`exports/${c.id}/download?delivery=redirect`));
          linkWithin(r, c.edge, 'link', b);
          return answered(r, [303], [410], 'link', b);
        },
      },
      {
        place: 'export maintenance',
        judge: async (w, c) => {
          await exportTimer.run(w.deps);
          return (w.deps.exportJobs as InMemoryExportJobs).jobs.get(`${TENANT}/${c.id}`)!.status !== 'expired';
        },
      },
    ],
  },
  {
    limit: "a document's retain-until",
    lastValid: 'before-edge',
    prepare: async (w) => ({ edge: RETAIN_UNTIL, doc: await docOf(w, { fiscalYear: FY, retentionClass: CLASS }) }),
    places: [
      { place: 'GET /retention/due (not due)', judge: async (w, c) => !((await ok(w, get('retention/due', 'bob'))).json.items as { id: string }[]).some((i) => i.id === c.doc) },
      { place: 'the retention sweep (kept)', judge: async (w, c) => (await runSweepTimer(w.deps), w.deps.catalog.documents.get(`${TENANT}/${c.doc}`)!.status === 'active') },
      { place: 'downloading it after the sweep', judge: async (w, c, b) => (await runSweepTimer(w.deps), answered(await send(w, get(`documents/${c.doc}/original`)), [200], [404, 410], 'download', b)) },
    ],
  },
  {
    limit: "a held document's retain-until, its hold released at the instant",
    lastValid: 'before-edge',
    prepare: async (w) => {
      const doc = await docOf(w, { fiscalYear: FY, retentionClass: CLASS });
      const placed = (await ok(w, hold(doc, 'C-7'))).json;
      return { edge: RETAIN_UNTIL, doc, hold: placed.id };
    },
    places: [
      {
        place: 'release, then the sweep (kept)',
        judge: async (w, c) => {
          await ok(w, { method: 'DELETE', path: `documents/${c.doc}/legal-holds/${c.hold}`, body: { reason: 'Closed' }, as: 'bob' });
          await runSweepTimer(w.deps);
          return w.deps.catalog.documents.get(`${TENANT}/${c.doc}`)!.status === 'active';
        },
      },
    ],
  },
  {
    limit: "ingest's one-day margin before retain-until (retention_ended)",
    lastValid: 'edge',
    prepare: async () => ({ edge: new Date(Date.parse(RETAIN_UNTIL) - 86400_000).toISOString() }),
    places: [{ place: 'an upload of that fiscal year', judge: async (w, _c, b) => answered(await send(w, upload({ fiscalYear: FY, retentionClass: CLASS })), [201], [422], 'upload', b) }],
  },
  {
    limit: "a disposal approval's lead (given at most 366 days before the retain-until it covers)",
    lastValid: 'from-edge',
    prepare: async (w) => {
      const policy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 };
      await w.deps.retention.policies.put(TENANT, policy, w.clock.now().toISOString(), { subject: 'carol', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null });
      const doc = await docOf(w, { fiscalYear: FY, retentionClass: CLASS });
      return { edge: new Date(Date.parse(RETAIN_UNTIL) - APPROVAL_LEAD_DAYS * 86400_000).toISOString(), doc };
    },
    places: [
      { place: 'approving its disposal', judge: async (w, c, b) => answered(await send(w, { method: 'POST', path: 'retention/approvals', body: { before: RETAIN_UNTIL, reason: 'Annual review' }, as: 'bob' }), [200, 201], [400], 'approve', b) },
      {
        place: 'the sweep at its retain-until, approved then',
        judge: async (w, c) => {
          await send(w, { method: 'POST', path: 'retention/approvals', body: { before: RETAIN_UNTIL, reason: 'Annual review' }, as: 'bob' });
          w.clock.set(RETAIN_UNTIL);
          await runSweepTimer(w.deps);
          return w.deps.catalog.documents.get(`${TENANT}/${c.doc}`)!.status === 'disposed';
        },
      },
      {
        place: 'GET /retention/due at its retain-until (approved), approved then',
        judge: async (w, c) => {
          await send(w, { method: 'POST', path: 'retention/approvals', body: { before: RETAIN_UNTIL, reason: 'Annual review' }, as: 'bob' });
          w.clock.set(RETAIN_UNTIL);
          return ((await ok(w, get('retention/due', 'bob'))).json.items as { id: string; approved: boolean }[]).some((i) => i.id === c.doc && i.approved);
        },
      },
    ],
  },
  {
    limit: 'an audit month (UTC): a request in its last millisecond',
    lastValid: 'before-edge',
    prepare: async (w) => {
      const now = w.clock.now();
      const edge = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
      const last = new Date(edge.getTime() - 1);
      return { edge: edge.toISOString(), month: last.toISOString().slice(0, 7), day: last.toISOString().slice(0, 10) };
    },
    places: [
      {
        place: "the entry's month as stored",
        judge: async (w, c) => {
          const r = await send(w, { ...get('documents'), as: 'alice' });
          await settle(w);
          return w.deps.audit.entries.find((e) => e.requestId === r.requestId)!.partition === `${TENANT}:${c.month}`;
        },
      },
      {
        place: 'GET /audit?month= of that month',
        judge: async (w, c) => {
          const r = await send(w, { ...get('documents'), as: 'alice' });
          await settle(w);
          return ((await ok(w, get(`audit?month=${c.month}`))).json.items as { requestId: string }[]).some((e) => e.requestId === r.requestId);
        },
      },
      {
        place: 'GET /audit?to= its last day',
        judge: async (w, c) => {
          const r = await send(w, { ...get('documents'), as: 'alice' });
          await settle(w);
          const from = `${c.month}-01`;
          return ((await ok(w, get(`audit?from=${from}&to=${c.day}`))).json.items as { requestId: string }[]).some((e) => e.requestId === r.requestId);
        },
      },
    ],
  },
  {
    limit: 'the fiscal year of an upload without a date (the Dutch new year, 23:00 UTC on 31 December)',
    lastValid: 'before-edge',
    prepare: async (w) => {
      const year = w.clock.now().getUTCFullYear();
      return { edge: `${year}-12-31T23:00:00.000Z`, year: String(year) };
    },
    places: [
      { place: 'the fiscal year stored', judge: async (w, c) => (await ok(w, get(`documents/${await docOf(w)}`))).json.fiscalYear === Number(c.year) },
      // Its retain-until follows that year (the catalog search and exports filter by the stored field; not modelled in memory).
      { place: 'the retain-until stored', judge: async (w, c) => (await ok(w, get(`documents/${await docOf(w)}`))).json.retention.retainUntil === retainUntilFor(7, Number(c.year)) },
    ],
  },
  ...[0, 30].map((tolerance): Edge => ({
    limit: `a bearer token's exp, clock tolerance ${tolerance} s`,
    lastValid: 'before-edge',
    wallClock: true,
    prepare: async (w) => {
      const doc = await docOf(w);
      const exp = Math.floor(w.clock.now().getTime() / 1000) + 600;
      const token = await jwt(w, tolerance, { exp });
      // Verified once, well before: the instance's cache holds it (verified-tokens.ts) until exp.
      await ok(w, { ...get('documents'), as: token });
      return { edge: new Date((exp + tolerance) * 1000).toISOString(), token, fresh: await jwt(w, tolerance, { exp, jti: 'fresh' }), exp: new Date(exp * 1000).toISOString(), doc };
    },
    places: [
      { place: 'a request with a token not seen before', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.fresh }), [200], [401], 'fresh token', b) },
      { place: 'a request with the token verified before', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.token }), [200], [401], 'cached token', b) },
      // Within the tolerance no link: it would end (at exp) before it was read (the edge below).
      ...(tolerance === 0 ? [LINK_WITH_TOKEN] : []),
    ],
  })),
  ...(['signed in since', 'minted by the sign-in'] as const).map((after): Edge => ({
    limit: `a key whose person's rights come from the claim, its person idle (ARCHIVE_KEY_PERSON_IDLE_DAYS, 30) after their last sign-in${after === 'minted by the sign-in' ? ', the key minted by a sign-in the sightings did not record again (its own 30 days)' : ''}`,
    lastValid: 'before-edge',
    prepare: async (w) => {
      // Rights from the tenant, then the claim; a bearer token `claim.<set>.<x>` is user <x> whose token claims <set>.
      const { tenantRecords, secrets, config, rights, clock, blobs, audit, log } = w.deps;
      const authenticator = new Authenticator({ ...SETTINGS, rightsSource: 'tenant-then-claim', keyPersonIdleDays: 30 }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log });
      (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token.replace(/^claim\.[a-z-]+\./, ''), kind: 'user', claimedRightsSet: /^claim\.([a-z-]+)\./.exec(token)?.[1] ?? null, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null });
      w.deps.authenticator = authenticator;
      const dave = 'claim.tenant-admin.dave';
      await ok(w, { ...get('documents'), as: dave });
      // Minted half a day after that sign-in: the sighting is not written again within a day, so the key's own days end later.
      if (after === 'minted by the sign-in') w.clock.advance(12 * 3600_000);
      const minted = await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'auditor', expiresAt: new Date(w.clock.now().getTime() + 365 * 86400_000).toISOString() }, as: dave }, 201);
      if (after === 'signed in since') {
        w.clock.advance(2 * 86400_000);
        await ok(w, { ...get('documents'), as: dave });
      }
      return { edge: new Date(w.clock.now().getTime() + 30 * 86400_000).toISOString(), key: `ApiKey ${minted.json.key as string}` };
    },
    places: [{ place: 'a request with the key', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.key }), [200], [403], 'key', b) }],
  })),
  {
    limit: "a download link asked for with a bearer token: none once its exp has passed, though the token is accepted within the clock tolerance (30 s)",
    lastValid: 'before-edge',
    wallClock: true,
    prepare: async (w) => {
      const doc = await docOf(w);
      const exp = Math.floor(w.clock.now().getTime() / 1000) + 600;
      const token = await jwt(w, 30, { exp });
      await ok(w, { ...get('documents'), as: token });
      return { edge: new Date(exp * 1000).toISOString(), token, exp: new Date(exp * 1000).toISOString(), doc };
    },
    places: [LINK_WITH_TOKEN],
  },
  ...[0, 30].map((tolerance): Edge => ({
    limit: `a bearer token's nbf, clock tolerance ${tolerance} s`,
    lastValid: 'from-edge',
    wallClock: true,
    prepare: async (w) => {
      const nbf = Math.floor(w.clock.now().getTime() / 1000) + 600;
      return { edge: new Date((nbf - tolerance) * 1000).toISOString(), token: await jwt(w, tolerance, { nbf, exp: nbf + 3600 }) };
    },
    places: [{ place: 'a request with the token', judge: async (w, c, b) => answered(await send(w, { ...get('documents'), as: c.token }), [200], [401], 'token', b) }],
  })),
];

const INSTANTS = [
  { at: 'edge − 1 ms', offset: -1 },
  { at: 'edge', offset: 0 },
  { at: 'edge + 1 ms', offset: 1 },
] as const;

/** Rows judged where the code reads the wall clock (jose's exp/nbf, the verified-token cache): only Date is faked, the requests' own waits run as they do. */
const fakeDate = (at: Date) => {
  jest.useFakeTimers({ now: at, doNotFake: ['hrtime', 'nextTick', 'performance', 'queueMicrotask', 'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'setImmediate', 'clearImmediate', 'setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
};
afterEach(() => jest.useRealTimers());

describe.each(EDGES.map((e) => [e.limit, e] as const))('%s', (_limit, edge) => {
  it('every place judges it alike at edge − 1 ms, the edge and edge + 1 ms, as the README says, and nothing ended acts', async () => {
    const broken: string[] = [];
    for (const instant of INSTANTS) {
      const shouldBeValid = edge.lastValid === 'from-edge' ? instant.offset >= 0 : instant.offset < 0 || (instant.offset === 0 && edge.lastValid === 'edge');
      for (const place of edge.places) {
        const w = world();
        if (edge.wallClock) fakeDate(w.clock.now());
        const ctx = await edge.prepare(w);
        w.clock.set(new Date(Date.parse(ctx.edge) + instant.offset));
        if (edge.wallClock) jest.setSystemTime(w.clock.now());
        const valid = await place.judge(w, ctx, broken);
        jest.useRealTimers();
        if (valid !== shouldBeValid) broken.push(`${instant.at} (${new Date(Date.parse(ctx.edge) + instant.offset).toISOString()}): ${place.place} says ${valid ? 'still valid' : 'ended'}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

// ==== Times from the client ====

/**
 * The forms an attacker sends for a time: a leap second, 24:00, no zone, the widest offsets, the first and last
 * four-digit years and offsets that carry them past either end (year 10000, year −1: text that compares before
 * every instant the archive stores), 29 February of a year without one, and plain dates at both ends.
 */
const HOSTILE = [
  '2025-12-31T23:59:60Z',
  '2025-12-31T24:00:00Z',
  '2025-12-31T12:00:00',
  '2025-12-31T12:00:00.123456789Z',
  '2027-06-30T23:30:00+14:00',
  '2027-06-30T00:30:00-12:00',
  '9999-12-31T23:30:00-14:00',
  '9999-12-31T23:59:59.999Z',
  '0000-01-01T00:30:00+14:00',
  '0000-01-01T00:00:00Z',
  '2025-02-29T00:00:00Z',
  '2025-02-29',
  '9999-12-31',
  '0000-01-01',
  '+010000-01-01T00:00:00.000Z',
  '2027-06-30T23:30:00+24:00',
  '2090-06-30T23:30:00+14:00',
  '2090-12-31T12:00:00',
  '2090-12-31T23:59:60Z',
  '2090-12-31T12:00:00.123456789Z',
  '2090-06-30T12:00:00.5Z',
  '2030-06-30T00:00:00Z',
] as const;

/** Every operation that takes a time from the client: how it is sent. */
const TAKES_A_TIME: { op: string; call: (w: World, t: string) => Promise<Call>; sane?: (w: World) => string }[] = [
  { op: 'POST /documents/{id}/retention retainUntil', call: async (w, t) => ({ method: 'POST', path: `documents/${await docOf(w)}/retention`, body: { retainUntil: t, reason: 'Litigation' }, as: 'up' }), sane: () => '2090-01-01T00:00:00Z' },
  {
    op: 'POST /documents/{id}/retention retainUntil, its retention ended (awaiting approval)',
    call: async (w, t) => {
      const id = await docOf(w, { fiscalYear: FY, retentionClass: CLASS });
      w.clock.set('2031-01-01T00:00:00Z');
      return { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: t, reason: 'Litigation' }, as: 'up' };
    },
    sane: () => '2090-01-01T00:00:00Z',
  },
  { op: 'GET /retention/due?before=', call: async (_w, t) => get(`retention/due?before=${encodeURIComponent(t)}`, 'bob') },
  { op: 'POST /retention/approvals before', call: async (_w, t) => ({ method: 'POST', path: 'retention/approvals', body: { before: t, reason: 'Annual review' }, as: 'bob' }) },
  { op: 'GET /documents?correctedSince=', call: async (_w, t) => get(`documents?correctedSince=${encodeURIComponent(t)}`) },
  { op: 'POST /exports correctedSince', call: async (_w, t) => ({ method: 'POST', path: 'exports', body: { includeOriginals: false, correctedSince: t }, as: 'alice' }) },
  { op: 'POST /api-keys expiresAt', call: async (_w, t) => ({ method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'auditor', expiresAt: t }, as: 'alice' }), sane: (w) => new Date(w.clock.now().getTime() + 86400_000).toISOString() },
  { op: 'POST /support-grants expiresAt', call: async (_w, t) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'SUP-9', expiresAt: t }, as: 'alice' }), sane: (w) => new Date(w.clock.now().getTime() + 86400_000).toISOString() },
  { op: 'GET /audit?from=', call: async (_w, t) => get(`audit?from=${encodeURIComponent(t)}`) },
  { op: 'GET /audit?to=', call: async (_w, t) => get(`audit?to=${encodeURIComponent(t)}`) },
  { op: 'an upload with metadata documentDate', call: async (_w, t) => upload({ documentDate: t }), sane: () => '2024-02-29' },
];

/** Instants as the archive keeps them: UTC, milliseconds, four-digit year (compared as text everywhere). */
const STORED_FORM = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** Text that a Date wrote for an instant past year 9999 or before year 0: compares as text before every stored instant. */
const EXPANDED_YEAR = /^[+-]\d{6}-/;

function expandedYears(value: unknown, at: string, found: string[]): void {
  if (typeof value === 'string' && EXPANDED_YEAR.test(value)) found.push(`${at} = ${value}`);
  else if (Array.isArray(value)) value.forEach((v, i) => expandedYears(v, `${at}[${i}]`, found));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) expandedYears(v, `${at}.${k}`, found);
}

describe.each(TAKES_A_TIME.map((t) => [t.op, t] as const))('%s', (_op, taker) => {
  it('each hostile form of a time is a clear 4xx problem, or means exactly the instant it is stored and shown back as', async () => {
    const broken: string[] = [];
    // The call as built is one the operation takes (a hostile form refused for another reason would prove nothing).
    const sample = world();
    const sane = await send(sample, await taker.call(sample, taker.sane?.(sample) ?? '2026-01-01T00:00:00Z'));
    if (sane.status >= 300) broken.push(`a plain time: ${sane.status} ${JSON.stringify(sane.json).slice(0, 200)}`);
    for (const t of HOSTILE) {
      const w = world();
      const call = await taker.call(w, t);
      const r = await send(w, call);
      await settle(w);
      // A time no stored instant is (past year 9999 or before year 0 in UTC) cannot mean what it says in any store.
      const utc = new Date(t.length === 10 ? `${t}T00:00:00Z` : t);
      if (r.status < 400 && !Number.isNaN(utc.getTime()) && !STORED_FORM.test(utc.toISOString())) broken.push(`${t}: answered ${r.status}, though it is ${utc.toISOString()} in UTC`);
      if (r.status >= 500) broken.push(`${t}: ${r.status} ${JSON.stringify(r.json).slice(0, 200)}`);
      else if (r.status >= 400 && (typeof r.json?.code !== 'string' || r.headers['Content-Type'] !== 'application/problem+json')) broken.push(`${t}: ${r.status} without a problem`);
      const found: string[] = [];
      expandedYears(r.json, 'answer', found);
      expandedYears([...w.deps.catalog.documents.values()], 'catalog', found);
      expandedYears([...w.deps.tenantRecords.records.values()].map((x) => x.value), 'records', found);
      expandedYears([...(w.deps.exportJobs as InMemoryExportJobs).jobs.values()], 'exports', found);
      expandedYears(w.deps.audit.entries, 'audit', found);
      for (const f of found) broken.push(`${t}: answered ${r.status}, kept as text no stored instant compares with: ${f}`);
      // Storage locks a blob until a whole second (the header is RFC 1123), never until a past one: a retain-until kept is
      // one storage can lock, in the future, and every blob of the document is locked at least that long.
      const kept = r.status < 300 ? (r.json?.retention?.retainUntil as string | undefined) : undefined;
      if (kept && taker.op.includes('retainUntil')) {
        if (!kept.endsWith('.000Z')) broken.push(`${t}: kept until ${kept}, which storage locks only to ${kept.slice(0, 19)}Z`);
        if (Date.parse(kept) <= w.clock.now().getTime()) broken.push(`${t}: kept until ${kept}, already past (storage refuses to lock until a past date)`);
        if (Date.parse(kept) < Date.parse(t)) broken.push(`${t}: kept until ${kept}, earlier than asked`);
      }
      for (const doc of w.deps.catalog.documents.values()) for (const d of blobsDisagree(w.deps, doc)) broken.push(`${t}: ${d}`);
      // What it answers of the time it took is that time, as stored.
      if (r.status < 300 && t.includes('T')) {
        const said = [r.json?.retention?.retainUntil, r.json?.expiresAt, r.json?.filter?.correctedSince].filter((x): x is string => typeof x === 'string');
        // A retain-until is kept to the whole second at or after it (what storage can lock); the rest exactly.
        const meant = taker.op.includes('retainUntil') ? new Date(Math.ceil(Date.parse(t) / 1000) * 1000).toISOString() : new Date(t).toISOString();
        for (const s of said) if (taker.op.includes(s === r.json?.expiresAt ? 'expiresAt' : s === r.json?.filter?.correctedSince ? 'correctedSince' : 'retainUntil') && (s !== meant || !STORED_FORM.test(s))) broken.push(`${t}: shown back as ${s}, meant ${meant}`);
      }
    }
    expect(broken).toEqual([]);
  });
});

// ==== Fiscal-year boundaries ====

/** A document dated on the last day of a fiscal year, the first of the next, 29 February: its year and retain-until (7 years after its fiscal year ends). */
const FISCAL_EDGES: { endMonth: number; documentDate: string; fiscalYear: number; retainUntil: string }[] = [
  { endMonth: 12, documentDate: '2024-12-31', fiscalYear: 2024, retainUntil: '2032-01-01T00:00:00.000Z' },
  { endMonth: 12, documentDate: '2025-01-01', fiscalYear: 2025, retainUntil: '2033-01-01T00:00:00.000Z' },
  { endMonth: 2, documentDate: '2024-02-29', fiscalYear: 2024, retainUntil: '2031-03-01T00:00:00.000Z' },
  { endMonth: 2, documentDate: '2024-03-01', fiscalYear: 2025, retainUntil: '2032-03-01T00:00:00.000Z' },
  { endMonth: 2, documentDate: '2023-02-28', fiscalYear: 2023, retainUntil: '2030-03-01T00:00:00.000Z' },
  { endMonth: 2, documentDate: '2023-03-01', fiscalYear: 2024, retainUntil: '2031-03-01T00:00:00.000Z' },
  { endMonth: 6, documentDate: '2024-06-30', fiscalYear: 2024, retainUntil: '2031-07-01T00:00:00.000Z' },
  { endMonth: 6, documentDate: '2024-07-01', fiscalYear: 2025, retainUntil: '2032-07-01T00:00:00.000Z' },
];

it.each(FISCAL_EDGES)('a document dated $documentDate (fiscal year ending in month $endMonth) belongs to $fiscalYear and is kept until $retainUntil', async ({ endMonth, documentDate, fiscalYear, retainUntil }) => {
  const w = world();
  const policy = { classes: [], defaultClass: 'fiscal-7y', requireDisposalApproval: false, fiscalYearEndMonth: endMonth };
  await w.deps.retention.policies.put(TENANT, policy, w.clock.now().toISOString(), { subject: 'carol', kind: 'user' }, safeguardsOf(policy), 1, undefined, { etag: null });
  const doc = (await ok(w, get(`documents/${await docOf(w, { documentDate })}`))).json;
  expect([doc.fiscalYear, doc.retention.retainUntil]).toEqual([fiscalYear, retainUntil]);
  // Stated, the year before the date's is allowed (booked in the year it belongs to), two before is not.
  expect((await send(w, upload({ documentDate, fiscalYear: fiscalYear - 1 }))).status).toBe(201);
  expect((await send(w, upload({ documentDate, fiscalYear: fiscalYear - 2 }))).status).toBe(400);
});

// ==== Times in page tokens ====

/** A state list's page token carries the instant its first page judged states at (auth/state-walk.ts); a client can rewrite it. */
it.each(['api-keys?state=in-use', 'support-grants?state=active', 'sod-policy/proposals?state=pending'])('GET %s with a page token whose instant is not one the archive issues: a 400, or the instant it names', async (list) => {
  const w = world();
  const scope = { list: list.split('?')[0]!.replace('sod-policy/proposals', 'sod-policy-proposals'), tenantId: TENANT, state: list.split('=')[1]! };
  const broken: string[] = [];
  for (const at of ['2025-01-01T00:00:00Z', '2025-01-01T00:00:00.5Z', '2025-12-31T23:59:60Z', '9999-12-31T23:59:59.999Z', '0000-01-01T00:00:00.000Z', w.clock.now().toISOString()]) {
    const token = Buffer.from(JSON.stringify({ s: scopeDigest(scope), c: Buffer.from(JSON.stringify({ at, c: '0' })).toString() })).toString('base64url');
    const r = await send(w, get(`${list}&continuationToken=${token}`));
    if (r.status >= 500) broken.push(`${at}: ${r.status}`);
    else if (r.status < 400 && !STORED_FORM.test(at)) broken.push(`${at}: answered ${r.status}, judged as text that is not the instant it names`);
    else if (r.status >= 400 && STORED_FORM.test(at) && at.startsWith('20')) broken.push(`${at}: a token as the archive issues refused (${r.status} ${JSON.stringify(r.json).slice(0, 150)})`);
  }
  expect(broken).toEqual([]);
});
