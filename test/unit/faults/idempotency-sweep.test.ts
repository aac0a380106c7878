/**
 * A retry is the same act by the same person, never more, never someone else's (generated sweep).
 *
 * Rows: the five operations that recognise a retry by its Idempotency-Key (the upload, a legal hold on one document, a
 * legal hold by query, an export, a support grant, a disposal approval). Columns (COLUMNS): the first act done, then a
 * request with the same key: by the same credential with the same body (a replay); with another body; by the same person
 * through an API key lacking the operation's permission, one holding it, a key of a key; by another person of the tenant;
 * by a person of another tenant of the same subject; after the first person lost the permission; after the first act's
 * object changed state (each row's changes); and where the first attempt was refused (the refused request again, then a
 * good one). Each cell states what it expects and why, and checks the status and code, the Idempotent-Replayed header,
 * what is stored (before/after the retry), the retry's audit entries, and that no answer to anyone but the first person
 * carries the id of the first act. Requests run in-process through the real pipeline and authenticator over inMemoryDeps
 * (test/support/in-process.ts). Then two requests with one key racing (the race sweep's scheduler, sweepPairs): every
 * interleaving answers and stores what one serial order does.
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { idFromIdempotencyKey } from '../../../shared/ids';
import type { Permission } from '../../../shared/kernel/principal';
import { runSweepTimer } from '../../../shared/retention/timers';
import { exportTimer } from '../../../functions/exports';
import { withdrawExport } from '../../../shared/exports/withdraw-exports';
import type { InMemoryExportJobs } from '../../support/in-memory';
import { type Answer, assign, type Call, docOf, hold, later, mint, ok, type Pair, scan, send, settle, storedChanges, START, sweepPairs, TENANT, world, type World } from '../../support/in-process';

// As in race-sweep.test.ts: a wait in the code is one more turn of the scheduler, not real time (the racing retries).
jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

// Keys are minted in most cells: scrypt as cheap as stale-instance-sweep.test.ts makes it.
jest.mock('../../../shared/auth/api-keys/api-key', () => ({ ...jest.requireActual<object>('../../../shared/auth/api-keys/api-key'), SCRYPT: { N: 16, r: 1, p: 1, keylen: 32 } }));

const OTHER_TENANT = 'globex';
const KEY = 'retry-1';

/** Rights sets the rows act with (records of both tenants). */
const SETS: Record<string, Permission[]> = {
  /** An archivist who may mint keys: the uploader and hold placer of the rows. */
  'arch-keys': ['documents:read', 'documents:download', 'documents:write', 'documents:correct', 'holds:place', 'retention:extend', 'keys:manage'],
  /** What every "lacking" key carries: reading only. */
  docs: ['documents:read'],
  'placer-k': ['documents:read', 'holds:place'],
  granter: ['documents:read', 'documents:download', 'support:grant'],
  /** May grant, but not the read-only scope (no documents:download): the rights ceiling refuses it. */
  'granter-meta': ['documents:read', 'support:grant'],
  approver: ['documents:read', 'retention:approve'],
  /** Places holds, may not read documents (nor the holds on them). */
  'place-only': ['holds:place'],
  /** A client app's upload key: it may not read documents. */
  'write-only': ['documents:write'],
};
/** Who is who, in both tenants (the other tenant's people have the same subjects). */
const PEOPLE: Record<string, string> = { up: 'arch-keys', up2: 'arch-keys', alice: 'tenant-admin', bob: 'tenant-admin', carol: 'tenant-admin' };

function seedRecord(w: World, tenant: string, id: string, value: object, etag: number): void {
  w.deps.tenantRecords.records.set(`${tenant}/${id}`, { value: { id, tenantId: tenant, ...value } as never, etag });
}

/** A world of two tenants: a bearer token `globex.<x>` is user <x> of the other tenant, any other is a user of acme. */
function newWorld(env: Record<string, string> = {}): World {
  const w = world(env);
  const catalog = w.deps.catalog;
  // The in-process world's catalog search answers acme's documents to anyone: here each tenant its own.
  Object.assign(catalog, {
    list: async (tenantId: string) => (await w.scheduler.gate(), { items: [...catalog.documents.values()].filter((d) => d.tenantId === tenantId), continuationToken: null }),
    countMatching: async (tenantId: string) => catalog.count(tenantId),
  });
  (w.deps.authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => {
    const other = token.startsWith(`${OTHER_TENANT}.`);
    return { tenantId: other ? OTHER_TENANT : TENANT, subject: other ? token.slice(OTHER_TENANT.length + 1) : token, kind: 'user', claimedRightsSet: null, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null };
  };
  let etag = 5000;
  for (const tenant of [TENANT, OTHER_TENANT]) {
    for (const [name, permissions] of Object.entries(SETS)) seedRecord(w, tenant, rightsSetRecordId(name), { type: 'rights-set', name, permissions, updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } }, etag++);
    for (const [subject, rightsSet] of Object.entries(PEOPLE)) seedRecord(w, tenant, rightsAssignmentRecordId(subject), { type: 'rights-assignment', subject, rightsSet, assignedAt: START.toISOString(), assignedBy: { subject: 'root', kind: 'user' } }, etag++);
  }
  return w;
}

/** The call with the sweep's key (a call naming its own keeps it). */
const keyed = (call: Call, key = KEY): Call => ({ ...call, headers: { 'Idempotency-Key': key, ...call.headers } });

/** Documents of fiscal year 2018, kept 10 years from its end: due once the clock moves on 20 years. */
const META = { fiscalYear: 2018, retentionClass: 'immovable-property-10y', counterparty: 'ACME GmbH' };
const uploadOf = (as: string, bytes: Buffer, metadata: object = META): Call => ({ method: 'POST', path: `documents?metadata=${encodeURIComponent(JSON.stringify(metadata))}`, raw: { bytes, type: 'image/png' }, as });
const docBy = async (w: World, as = 'up', metadata: object = META) => (await ok(w, uploadOf(as, scan(), metadata), 201)).json.id as string;
const YEARS_20 = 20 * 365 * 86400_000;
/** `act` done by `subject` as an uploader ('arch-keys', assigned directly), then back to their own set. */
async function asUploader<T>(w: World, subject: string, act: () => Promise<T>): Promise<T> {
  const id = `${TENANT}/${rightsAssignmentRecordId(subject)}`;
  const own = w.deps.tenantRecords.records.get(id)!;
  w.deps.tenantRecords.records.set(id, { ...own, value: { ...own.value, rightsSet: 'arch-keys' } as never, etag: own.etag + 1 });
  try {
    return await act();
  } finally {
    w.deps.tenantRecords.records.set(id, { ...own, etag: own.etag + 2 });
  }
}

/** Everything due approved by bob, then disposed of by the retention sweep. */
async function disposeDue(w: World): Promise<void> {
  await ok(w, { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as: 'bob' }, 201);
  later(w);
  await runSweepTimer(w.deps);
  await settle(w);
}

/** Until no export of either tenant is running (a fresh one's worker writes after the answer). */
async function exportsDone(w: World): Promise<void> {
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  const deadline = Date.now() + 60_000;
  while ([...jobs.values()].some((j) => j.status === 'running')) {
    if (Date.now() > deadline) throw new Error('an export did not complete');
    await settle(w);
    await new Promise((r) => setTimeout(r, 5));
  }
}

const stored = storedChanges;

type Ctx = Record<string, string>;
interface Change {
  name: string;
  run: (w: World, ctx: Ctx, first: Answer) => Promise<void>;
}
interface Row {
  name: string;
  env?: Record<string, string>;
  /** The first person, and another of the same tenant with the same rights. */
  actor: string;
  peer: string;
  /** A set holding the operation's permission(s), for the first person's keys. */
  keySet: string;
  status: number;
  seed: (w: World) => Promise<Ctx>;
  call: (ctx: Ctx, as: string, w: World) => Call;
  otherBody: (ctx: Ctx, as: string, w: World) => Call;
  /** The id of what the act made (a document, hold, export, grant, approval). */
  made: (a: Answer) => string;
  /** What the first act goes on to do before the retry (an export's worker). */
  afterFirst?: (w: World) => Promise<unknown>;
  changes: Change[];
  /** A first attempt the archive refuses, and its refusal; `as`, a credential of the first person to send it with. */
  refused: { name: string; call: (ctx: Ctx, as: string, w: World) => Call; as?: (w: World) => Promise<string>; refusal: { status: number; code: string } };
  cells?: Partial<Record<string, Expect>>;
  /** Columns of this row alone: the retry after the first act, and what it expects. */
  extra?: { name: string; retry: (w: World, ctx: Ctx, first: Answer) => Promise<Call>; expect: Expect }[];
}

/** What a cell expects of the retry, with why. */
type Expect =
  | { replayed: string; check?: (w: World, ctx: Ctx, a: Answer) => string[] }
  | { refused: { status: number; code: string }; why: string }
  | { fresh: string; storesNothing?: true }
  /** The same act, carried further (a live hold by query reaching a document matching only now): its id, a change, not a replay. */
  | { continued: string; check: (w: World, ctx: Ctx, a: Answer) => string[] }
  | { na: string };

const COLUMNS = ['same credential, same body', 'another body', 'her key lacking the permission', 'her key holding it', 'a key of her key', 'another person of the tenant', 'the same subject in another tenant', 'after she lost the permission', 'after: *', 'a refused first attempt'] as const;

const GOAL = { fiscalYear: 2018, counterparty: 'ACME GmbH' };

const ROWS: Row[] = [
  {
    name: 'upload',
    actor: 'up',
    peer: 'up2',
    keySet: 'arch-keys',
    status: 201,
    seed: async () => ({ bytes: scan().toString('latin1') }),
    call: (ctx, as) => uploadOf(as, Buffer.from(ctx.bytes!, 'latin1')),
    otherBody: (_c, as) => uploadOf(as, scan()),
    made: (a) => a.json.id,
    changes: [
      { name: 'the document was corrected', run: async (w, _c, first) => void (await ok(w, { method: 'PATCH', path: `documents/${first.json.id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty: 'ACME BV' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' })) },
      {
        name: 'the document was disposed of',
        run: async (w) => {
          w.clock.advance(YEARS_20);
          await disposeDue(w);
        },
      },
    ],
    extra: [
      {
        name: 'her write-only key, after others held and corrected the document',
        retry: async (w, ctx, first) => {
          await ok(w, { method: 'POST', path: `documents/${first.json.id}/legal-holds`, body: { reason: 'Audit', caseReference: 'SECRET-CASE' }, as: 'up2' });
          await ok(w, { method: 'PATCH', path: `documents/${first.json.id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty: 'ACME BV' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
          return uploadOf(await mint(w, 'up', 'write-only'), Buffer.from(ctx.bytes!, 'latin1'));
        },
        expect: {
          replayed: 'her upload, by a key that may not read documents: the first answer (the document as ingested), not what others added since (a hold and its case, a correction)',
          check: (_w, _c, a) => (JSON.stringify(a.json).includes('SECRET-CASE') || a.json.legalHold !== false || a.json.metadata.counterparty !== 'ACME GmbH' ? [`the replay shows what others did since: ${JSON.stringify(a.json)}`] : []),
        },
      },
    ],
    refused: { name: 'retention ended', call: (ctx, as) => uploadOf(as, Buffer.from(ctx.bytes!, 'latin1'), { ...META, fiscalYear: 1990 }), refusal: { status: 422, code: 'retention_ended' } },
    cells: {
      'after: the document was disposed of': {
        replayed: 'her upload was done, and the document since disposed of at the end of its retention: she is told so (its tombstone), not that the key was used for another upload (a client would send it again under a new key and archive it anew)',
        check: (_w, _c, a) => (a.json.status === 'disposed' ? [] : [`answered the document as ${a.json.status}`]),
      },
      'another person of the tenant': { refused: { status: 409, code: 'duplicate_document' }, why: "a fresh upload of his own: the same bytes are archived once per tenant, whoever sends them with whatever key (he may read the document, so he is told which)" },
    },
  },
  {
    name: 'legal hold on one document',
    actor: 'up',
    peer: 'up2',
    keySet: 'placer-k',
    status: 201,
    seed: async (w) => ({ doc: await docBy(w) }),
    call: (ctx, as) => ({ method: 'POST', path: `documents/${ctx.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as }),
    otherBody: (ctx, as) => ({ method: 'POST', path: `documents/${ctx.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-2' }, as }),
    made: (a) => a.json.id,
    changes: [{ name: 'the hold was released', run: async (w, ctx, first) => void (await ok(w, { method: 'DELETE', path: `documents/${ctx.doc}/legal-holds/${first.json.id}`, body: { reason: 'Closed' }, as: 'bob' })) }],
    extra: [
      {
        name: 'the same body on another document',
        retry: async (w, _c) => ({ method: 'POST', path: `documents/${await docBy(w)}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }),
        expect: { fresh: "another document is another request (its path names it): a hold of its own, with its own id (derived from the document too), never the first hold's id on a second document" },
      },
      {
        name: 'her key that may not read documents, after bob released the hold',
        retry: async (w, ctx, first) => {
          await ok(w, { method: 'DELETE', path: `documents/${ctx.doc}/legal-holds/${first.json.id}`, body: { reason: 'SECRET-RELEASE' }, as: 'bob' });
          return { method: 'POST', path: `documents/${ctx.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: await mint(w, 'up', 'place-only') };
        },
        expect: {
          replayed: 'her hold, by a key that may not read documents or their holds: the first answer (the hold as she placed it), not who released it and why (as an upload replayed to a write-only key is the document as ingested)',
          check: (_w, _c, a) => (JSON.stringify(a.json).includes('SECRET-RELEASE') || JSON.stringify(a.json).includes('bob') ? [`the replay shows another person's release: ${JSON.stringify(a.json)}`] : []),
        },
      },
      {
        name: 'a hold placed before its id named the document',
        retry: async (w, ctx, first) => {
          // As stored then: the hold's id derived from tenant, person and key alone.
          const stored = w.deps.catalog.documents.get(`${TENANT}/${ctx.doc}`)!;
          const before = idFromIdempotencyKey(TENANT, 'up', KEY, 'legal-hold');
          w.deps.catalog.documents.set(`${TENANT}/${ctx.doc}`, { ...stored, holds: stored.holds!.map((h) => (h.id === first.json.id ? { ...h, id: before } : h)) });
          ctx.before = before;
          return { method: 'POST', path: `documents/${ctx.doc}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' };
        },
        expect: {
          replayed: 'a retry across the change of how hold ids are derived is still her retry: answered the hold as placed, not a second hold',
          check: (w, ctx, a) => (a.json.id === ctx.before && w.deps.catalog.documents.get(`${TENANT}/${ctx.doc}`)!.holds!.length === 1 ? [] : [`answered ${a.json.id as string}; holds ${JSON.stringify(w.deps.catalog.documents.get(`${TENANT}/${ctx.doc}`)!.holds)}`]),
        },
      },
    ],
    refused: { name: 'no such document', call: (_c, as) => ({ method: 'POST', path: 'documents/01890000-0000-7000-8000-000000000000/legal-holds', body: { reason: 'Audit', caseReference: 'C-1' }, as }), refusal: { status: 404, code: 'document_not_found' } },
    cells: {
      'the same subject in another tenant': { refused: { status: 404, code: 'document_not_found' }, why: 'the document is not of his tenant: the same answer as for one that does not exist' },
    },
  },
  {
    name: 'legal hold by query',
    env: { ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS: '3' },
    actor: 'up',
    peer: 'up2',
    keySet: 'placer-k',
    status: 201,
    seed: async (w) => ({ a: await docBy(w), b: await docBy(w), c: await docBy(w, 'up', { ...META, counterparty: 'Other BV' }), d: await docBy(w, 'up', { ...META, counterparty: 'Third BV' }) }),
    call: (_c, as) => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: 'LG-1', query: { counterparty: 'ACME GmbH' } }, as }),
    // Another query (it matches none of the documents held): the key names the first hold, whatever it would hold now.
    otherBody: (_c, as) => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: 'LG-1', query: { counterparty: 'Other BV' } }, as }),
    made: (a) => a.json.holdId,
    changes: [
      {
        name: 'the hold was released everywhere, and a matching document archived since',
        run: async (w, _c, first) => {
          await ok(w, { method: 'DELETE', path: `legal-holds/${first.json.holdId}`, body: { reason: 'Closed' }, as: 'bob' });
          await docBy(w);
        },
      },
      {
        name: 'the hold was released everywhere, its documents disposed of since, and a matching document archived',
        run: async (w, _c, first) => {
          await ok(w, { method: 'DELETE', path: `legal-holds/${first.json.holdId}`, body: { reason: 'Closed' }, as: 'bob' });
          w.clock.advance(YEARS_20);
          await disposeDue(w);
          await docBy(w, 'up', { ...META, fiscalYear: w.clock.now().getUTCFullYear() });
        },
      },
      {
        name: 'the hold was released on one document, that one disposed of since, and a matching document archived',
        run: async (w, c, first) => {
          await ok(w, { method: 'DELETE', path: `documents/${c.a}/legal-holds/${first.json.holdId}`, body: { reason: 'Not in the case' }, as: 'bob' });
          w.clock.advance(YEARS_20);
          await disposeDue(w);
          await docBy(w, 'up', { ...META, fiscalYear: w.clock.now().getUTCFullYear() });
        },
      },
    ],
    refused: { name: 'too broad', call: (_c, as) => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: 'LG-1', query: { fiscalYear: 2018 } }, as }), refusal: { status: 400, code: 'invalid_query' } },
    cells: {
      'after: the hold was released everywhere, and a matching document archived since': {
        replayed: 'released by four eyes: the retry is told it holds nothing now, and holds no document matching only now (the hold two people ended does not come back)',
        check: (_w, _c, a) => (a.json.documents === 0 && a.json.documentIds.length === 0 ? [] : [`answered as holding ${JSON.stringify(a.json.documentIds)}`]),
      },
      'after: the hold was released everywhere, its documents disposed of since, and a matching document archived': {
        replayed: 'no document says the hold was released once those it held are gone: its record does (markHoldByQueryReleased), so the hold two people ended does not come back on the new document',
        check: (_w, _c, a) => (a.json.documents === 0 && a.json.documentIds.length === 0 ? [] : [`answered as holding ${JSON.stringify(a.json.documentIds)}`]),
      },
      'after: the hold was released on one document, that one disposed of since, and a matching document archived': {
        continued: 'released on one document by four eyes, the hold is still open (a hold by query holds what its query matches while it is open): the retry places it on the new document as the reconciler would, and on none it was released from',
        check: (w, c, a) => {
          const ids = a.json.documentIds as string[];
          const fresh = ids.find((id) => id !== c.b);
          const hold = fresh ? w.deps.catalog.documents.get(`${TENANT}/${fresh}`)?.holds?.find((h) => h.id === a.json.holdId) : undefined;
          return ids.length === 2 && ids.includes(c.b!) && !ids.includes(c.a!) && hold && !hold.releasedAt ? [] : [`answered as holding ${JSON.stringify(ids)}`];
        },
      },
    },
  },
  {
    name: 'export',
    actor: 'alice',
    peer: 'bob',
    keySet: 'accountant',
    status: 202,
    seed: async (w) => ({ doc: await docBy(w) }),
    call: (_c, as) => ({ method: 'POST', path: 'exports', body: { ...GOAL }, as }),
    otherBody: (_c, as) => ({ method: 'POST', path: 'exports', body: { ...GOAL, includeOriginals: true }, as }),
    made: (a) => a.json.id,
    afterFirst: (w) => exportsDone(w),
    changes: [
      {
        name: 'the export expired',
        run: async (w) => {
          w.clock.advance((w.deps.config.ARCHIVE_EXPORT_TTL_HOURS + 1) * 3600_000);
          await exportTimer.run(w.deps);
          await settle(w);
        },
      },
      {
        name: 'the export was withdrawn (a document it held disposed of)',
        // As the retention sweep withdraws it (withdraw-exports.ts), without waiting the years to its document's end.
        run: async (w, ctx, first) => void (await withdrawExport((await w.deps.exportJobs.getVersioned(TENANT, first.json.id))!, [ctx.doc!], w.clock.now(), w.deps)),
      },
    ],
    cells: {
      'after: the export was withdrawn (a document it held disposed of)': {
        replayed: 'the same person asks again for what she did: the export as it is now, withdrawn, not started again (a new export is a new key)',
        check: (_w, _c, a) => (a.json.status === 'expired' ? [] : [`answered the export as ${a.json.status as string}`]),
      },
    },
    refused: { name: 'bad input', call: (_c, as) => ({ method: 'POST', path: 'exports', body: { ...GOAL, amountMin: 10, amountMax: 1 }, as }), refusal: { status: 400, code: 'bad_request' } },
  },
  {
    name: 'support grant',
    actor: 'alice',
    peer: 'bob',
    keySet: 'granter',
    status: 201,
    seed: async (w) => ({ expiresAt: new Date(w.clock.now().getTime() + 5 * 86400_000).toISOString() }),
    call: (ctx, as) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'read-only', expiresAt: ctx.expiresAt }, as }),
    otherBody: (ctx, as) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-2', scope: 'read-only', expiresAt: ctx.expiresAt }, as }),
    made: (a) => a.json.id,
    changes: [
      { name: 'the grant was revoked', run: async (w, _c, first) => void (await ok(w, { method: 'DELETE', path: `support-grants/${first.json.id}`, as: 'bob' })) },
      { name: 'the grant expired', run: async (w) => void w.clock.advance(6 * 86400_000) },
    ],
    extra: [
      {
        name: 'her key holding support:grant, not the scope it gave',
        retry: async (w, ctx) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'read-only', expiresAt: ctx.expiresAt }, as: await mint(w, 'alice', 'granter-meta') }),
        expect: { refused: { status: 403, code: 'segregation_of_duties' }, why: 'the key could not give this grant (rights ceiling: documents:download): refused before the replay, as the same request by it would be without a key, so a narrower credential is never told of a grant it could not give' },
      },
    ],
    refused: { name: 'above the rights ceiling (her key without documents:download asks read-only)', as: (w) => mint(w, 'alice', 'granter-meta'), call: (ctx, as) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'INC-1', scope: 'read-only', expiresAt: ctx.expiresAt }, as }), refusal: { status: 403, code: 'segregation_of_duties' } },
  },
  {
    name: 'disposal approval',
    actor: 'alice',
    peer: 'bob',
    keySet: 'approver',
    status: 201,
    seed: async (w) => {
      const ctx = { a: await docBy(w), b: await docBy(w), c: await docBy(w), own: await asUploader(w, 'alice', () => docBy(w, 'alice')) };
      w.clock.advance(YEARS_20);
      return ctx;
    },
    call: (ctx, as) => ({ method: 'POST', path: 'retention/approvals', body: { before: new Date(Date.parse(START.toISOString()) + YEARS_20).toISOString(), reason: 'Annual review', documentIds: [ctx.a, ctx.b] }, as}),
    otherBody: (ctx, as) => ({ method: 'POST', path: 'retention/approvals', body: { before: new Date(Date.parse(START.toISOString()) + YEARS_20).toISOString(), reason: 'Annual review', documentIds: [ctx.a] }, as }),
    made: (a) => a.json.approvalId,
    changes: [
      {
        name: 'the approved documents were disposed of',
        run: async (w) => {
          later(w);
          await runSweepTimer(w.deps);
          await settle(w);
        },
      },
    ],
    extra: [
      {
        name: 'another key of hers: a first attempt refused by the uploader rule, the same again, then a good request',
        retry: async (w, ctx) => {
          const approve = (ids: string[]): Call => ({ method: 'POST', path: 'retention/approvals', body: { before: new Date(Date.parse(START.toISOString()) + YEARS_20).toISOString(), reason: 'Annual review', documentIds: ids }, headers: { 'Idempotency-Key': 'retry-2' }, as: 'alice' });
          const before = stored(w);
          for (let i = 0; i < 2; i++) {
            const refused = await send(w, approve([ctx.c!, ctx.own!]));
            await settle(w);
            if (refused.status !== 403 || refused.json?.rule !== 'uploader-approves-disposal' || stored(w) !== before) throw new Error(`attempt ${i + 1} naming her own document: ${refused.status} ${JSON.stringify(refused.json)}`);
          }
          return approve([ctx.c!]);
        },
        expect: { fresh: 'the refusals stored nothing under the key (the record of a keyed approval is made after the rule is checked): the good request after them is judged afresh and done, the refused one never let through' },
      },
    ],
    refused: { name: 'bad input (before too far ahead)', call: (ctx, as) => ({ method: 'POST', path: 'retention/approvals', body: { before: new Date(Date.parse(START.toISOString()) + 2 * YEARS_20).toISOString(), reason: 'Annual review', documentIds: [ctx.a, ctx.b] }, as }), refusal: { status: 400, code: 'bad_request' } },
  },
];

const FORBIDDEN = { status: 403, code: 'forbidden' };
const REPLAYED = 'the same person asks again for what she did: the first answer, and nothing more done';

/** What the columns expect unless a row says otherwise. */
function expected(row: Row, column: string): Expect {
  const own = row.cells?.[column] ?? row.extra?.find((x) => x.name === column)?.expect ?? (column.startsWith('after: ') ? row.cells?.['after: *'] : undefined);
  if (own) return own;
  switch (column) {
    case 'same credential, same body':
      return { replayed: REPLAYED };
    case 'another body':
      return { refused: { status: 422, code: 'idempotency_key_reused' }, why: 'the key names the first request: another under it is a client error, not a second act nor the first answer' };
    case 'her key lacking the permission':
      return { refused: FORBIDDEN, why: 'the credential may not do the act: refused before anything of the earlier act is looked at (pipeline: permission first)' };
    case 'her key holding it':
    case 'a key of her key':
      return { replayed: "a key acts for the person who made it (personOf): the act is hers, and this credential may do it; it is told only what it could have done itself" };
    case 'another person of the tenant':
      return { fresh: 'the key is the first person\'s (the id is derived from tenant, person and key): his request is an act of his own' };
    case 'the same subject in another tenant':
      return { fresh: 'another tenant, another person: the tenant is part of the derived id and of every store' };
    case 'after she lost the permission':
      return { refused: FORBIDDEN, why: 'rights are judged at every request: a retry is no way around losing them' };
    case 'a refused first attempt':
      return { fresh: 'a refusal stores nothing under the key: the good request after it is judged afresh, and done' };
    default:
      // After a change of the first act's object.
      return { replayed: `${REPLAYED}: the object as it is now, neither done again nor revived` };
  }
}

function columnsOf(row: Row): string[] {
  return [...COLUMNS.flatMap((c) => (c === 'after: *' ? row.changes.map((ch) => `after: ${ch.name}`) : [c])), ...(row.extra ?? []).map((x) => x.name)];
}

async function cell(row: Row, column: string, want: Expect): Promise<string[]> {
  const found: string[] = [];
  const w = newWorld(row.env);
  const ctx = await row.seed(w);
  later(w);
  let first: Answer;
  if (column === 'a refused first attempt') {
    const as = row.refused.as ? await row.refused.as(w) : row.actor;
    await settle(w);
    const before = stored(w);
    first = await send(w, keyed(row.refused.call(ctx, as, w)));
    await settle(w);
    if (first.status !== row.refused.refusal.status || first.json?.code !== row.refused.refusal.code) found.push(`first attempt (${row.refused.name}): expected ${row.refused.refusal.status} ${row.refused.refusal.code}, answered ${first.status} ${first.json?.code ?? ''}`);
    if (stored(w) !== before) found.push('the refused first attempt stored something');
    // The refused request again: judged afresh, refused again (a refusal is not replayed as a success, nor let through).
    const again = await send(w, keyed(row.refused.call(ctx, as, w)));
    await settle(w);
    if (again.status !== first.status || again.json?.code !== first.json?.code) found.push(`the refused request again answered ${again.status} ${again.json?.code ?? ''}, the first ${first.status} ${first.json?.code ?? ''}`);
    if (stored(w) !== before) found.push('the refused request sent again stored something');
  } else {
    first = await send(w, keyed(row.call(ctx, row.actor, w)));
    await settle(w);
    if (first.status !== row.status) return [`the first act answered ${first.status} ${JSON.stringify(first.json)}`];
    await row.afterFirst?.(w);
  }
  const firstId = first.status < 300 ? row.made(first) : null;
  later(w);
  let retry: Call;
  switch (column) {
    case 'same credential, same body':
    case 'a refused first attempt':
      retry = row.call(ctx, row.actor, w);
      break;
    case 'another body':
      retry = row.otherBody(ctx, row.actor, w);
      break;
    case 'her key lacking the permission':
      retry = row.call(ctx, await mint(w, row.actor, 'docs'), w);
      break;
    case 'her key holding it':
      retry = row.call(ctx, await mint(w, row.actor, row.keySet), w);
      break;
    case 'a key of her key':
      // The middle key carries her own set (minting needs keys:manage), the one acting the row's.
      retry = row.call(ctx, await mint(w, await mint(w, row.actor, PEOPLE[row.actor]!), row.keySet), w);
      break;
    case 'another person of the tenant':
      retry = row.call(ctx, row.peer, w);
      break;
    case 'the same subject in another tenant':
      // The other tenant has a document like the first's of its own.
      await docBy(w, `${OTHER_TENANT}.up`, { ...META, fiscalYear: w.clock.now().getUTCFullYear() });
      await exportsDone(w);
      retry = row.call(ctx, `${OTHER_TENANT}.${row.actor}`, w);
      break;
    case 'after she lost the permission':
      await ok(w, assign(row.actor, 'docs', 'carol'));
      retry = row.call(ctx, row.actor, w);
      break;
    default: {
      const extra = row.extra?.find((x) => x.name === column);
      if (extra) {
        retry = await extra.retry(w, ctx, first);
        break;
      }
      const change = row.changes.find((c) => `after: ${c.name}` === column)!;
      await change.run(w, ctx, first);
      retry = row.call(ctx, row.actor, w);
    }
  }
  later(w);
  await settle(w);
  const before = stored(w);
  const answer = await send(w, keyed(retry));
  await settle(w);
  const got = `${answer.status} ${answer.json?.code ?? ''}`.trim();
  const replayedHeader = answer.headers['Idempotent-Replayed'] === 'true';
  // The request's own entries (an export's worker records its completion under the request's id, after the answer).
  const entries = w.deps.audit.entries.filter((e) => e.requestId === answer.requestId && e.userAgent !== 'export-worker');
  const text = JSON.stringify([answer.json, answer.headers]);
  if ('replayed' in want) {
    if (answer.status !== row.status || !replayedHeader) found.push(`expected a replay (${row.status}, Idempotent-Replayed: true), answered ${got} ${answer.headers['Idempotent-Replayed'] ?? ''} ${JSON.stringify(answer.json)}`);
    else if (row.made(answer) !== firstId && row.made(answer) !== ctx.before) found.push(`replayed ${row.made(answer)}, the first act made ${firstId}`);
    if (stored(w) !== before) found.push('the replay stored something');
    if (entries.length !== 1 || entries[0]!.outcome !== 'success' || !String(entries[0]!.detail ?? '').includes('replayed')) found.push(`audit: ${JSON.stringify(entries.map((e) => [e.action, e.outcome, e.detail]))}, expected one success entry saying replayed`);
    found.push(...(want.check?.(w, ctx, answer) ?? []));
  } else if ('refused' in want) {
    if (answer.status !== want.refused.status || answer.json?.code !== want.refused.code) found.push(`expected ${want.refused.status} ${want.refused.code} (${want.why}), answered ${got}`);
    if (replayedHeader) found.push('a refusal says Idempotent-Replayed');
    if (stored(w) !== before) found.push('the refused retry stored something');
    if (entries.length !== 1 || entries[0]!.outcome !== 'refused') found.push(`audit: ${JSON.stringify(entries.map((e) => [e.action, e.outcome, e.detail]))}, expected one refused entry`);
    // What the first act made is named only to its person: a refusal by the permission or to another person leaks nothing.
    if (firstId && column !== 'another body' && text.includes(firstId) && column !== 'another person of the tenant') found.push(`the refusal names the first act's ${firstId}`);
  } else if ('continued' in want) {
    if (answer.status !== row.status || replayedHeader) found.push(`expected the same act carried further (${row.status}, not replayed: ${want.continued}), answered ${got} ${replayedHeader ? 'replayed' : ''} ${JSON.stringify(answer.json)}`);
    else if (row.made(answer) !== firstId) found.push(`answered ${row.made(answer)}, the first act made ${firstId}`);
    if (stored(w) === before) found.push('the act carried further stored nothing');
    if (entries.filter((e) => e.outcome === 'success' && !String(e.detail ?? '').includes('replayed')).length !== 1) found.push(`audit: ${JSON.stringify(entries.map((e) => [e.action, e.outcome, e.detail]))}, expected one success entry of a change`);
    found.push(...want.check(w, ctx, answer));
  } else if ('fresh' in want) {
    if (answer.status !== row.status || replayedHeader) found.push(`expected a fresh act (${row.status}, not replayed: ${want.fresh}), answered ${got} ${replayedHeader ? 'replayed' : ''} ${JSON.stringify(answer.json)}`);
    if (firstId && text.includes(firstId)) found.push(`the answer carries the first act's ${firstId}`);
    if (!want.storesNothing && stored(w) === before) found.push('the fresh act stored nothing');
    const success = entries.filter((e) => e.outcome === 'success');
    if (entries.length !== 1 || success.length !== 1 || String(success[0]!.detail ?? '').includes('replayed')) found.push(`audit: ${JSON.stringify(entries.map((e) => [e.action, e.outcome, e.detail]))}, expected one success entry of a change`);
  }
  await exportsDone(w);
  return found;
}

describe.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  it.each(columnsOf(row).map((c) => [c, expected(row, c)] as const))('retried: %s: %j', async (column, want) => {
    if ('na' in want) return;
    expect(await cell(row, column, want)).toEqual([]);
  });
});

// ---- Two retries racing: every interleaving of their port calls answers and stores what one serial order does ----

const keyedBy = (call: Call, key: string): Call => ({ ...call, headers: { 'Idempotency-Key': key } });
const byQuery = (ref: string, as = 'up'): Call => ({ method: 'POST', path: 'legal-holds', body: { reason: 'Litigation', caseReference: ref, query: { fiscalYear: START.getUTCFullYear() } }, as });
const RACES: Pair[] = [
  {
    name: 'the same legal hold on one document sent twice with one key',
    prepare: async (w) => {
      const id = await docOf(w, { fiscalYear: START.getUTCFullYear() });
      return [keyedBy(hold(id), 'race-hold'), keyedBy(hold(id), 'race-hold')];
    },
  },
  {
    name: 'the same hold by query sent twice with one key',
    perDocument: true,
    prepare: async (w) => {
      for (let i = 0; i < 2; i++) await docOf(w, { fiscalYear: START.getUTCFullYear() });
      return [keyedBy(byQuery('LG-1'), 'race-query'), keyedBy(byQuery('LG-1'), 'race-query')];
    },
  },
  {
    name: 'a hold by query and another request with its key at once (one is a 422, nothing of it held)',
    perDocument: true,
    prepare: async (w) => {
      for (let i = 0; i < 2; i++) await docOf(w, { fiscalYear: START.getUTCFullYear() });
      return [keyedBy(byQuery('LG-1'), 'race-query'), keyedBy(byQuery('LG-2'), 'race-query')];
    },
  },
  {
    name: 'the same export sent twice with one key',
    prepare: async (w) => {
      await docOf(w, { fiscalYear: START.getUTCFullYear() });
      const start: Call = { method: 'POST', path: 'exports', body: { fiscalYear: START.getUTCFullYear() }, as: 'alice' };
      return [keyedBy(start, 'race-export'), keyedBy(start, 'race-export')];
    },
  },
];
/*
 * Not a pair here: a retry of a hold by query racing its release everywhere. Interleaved, the retry reads the matches
 * before the release and places the hold on a document matching only now after the release went over the documents
 * carrying it; it then finds the release in the hold's record and releases that document as it was released everywhere
 * (test/unit/retention/live-holds-by-query.test.ts, as for the reconciler extending the hold).
 */
describe('two retries racing', () => {
  sweepPairs(RACES);
});
