/**
 * A fault at any store call leaves nothing half done, and the retry finishes it: generated from the route table.
 * Every write operation is run in-process as the hosts run it (route matching, handleRequest, the route's handler)
 * over the in-memory ports, with every port call counted. For each N the Nth call fails, once as a transient error
 * (nothing done), once as an ambiguous one (done, then the call throws, as a timeout does) and, for a Storage call,
 * once as a repeated one (done, and sent again by the SDK, whose answer the call gives); the request is sent
 * again without the fault (with the same Idempotency-Key where the operation takes one), or not at all, or with a
 * fault of its own before a third attempt, then the timers that repair such states run (reconciler, retention sweep,
 * export maintenance, validation requeue, audit sealing with its outbox drain). Each of those timers is swept the
 * same way from the state it repairs. Then:
 * - the retry's answer is a normal one: 2xx, or a 4xx the operation declares;
 * - catalog items, blobs and manifests agree (every file and kept correction of an active item stored, its hold flag and retention on
 *   every blob, its manifest naming the same hashes, its validation requested; every other folder listed as
 *   orphaned; the same original never catalogued twice);
 * - a request that stored a change (or answered 2xx) has exactly one success entry of its action, one that stored
 *   none has none; every catalogued document has its ingest's or re-index's entry, a timer's change one entry; no
 *   entry is in the log twice (the in-memory log has no hash chain: the chain is checked against Cosmos elsewhere);
 * - nothing the failed attempt started is left counting against a cap (an export left running).
 */
import { ROUTES } from '../../../functions/routes';
import { exportTimer } from '../../../functions/exports';
import { TIMERS } from '../../../functions/timers';
import { errorsOf, type Operation } from '../../../shared/http/operation';
import { ERROR_STATUS } from '../../../shared/http/problem';
import { PERMISSIONS, type Permission } from '../../../shared/kernel/principal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { orphanRecordId } from '../../../shared/ports';
import { uuidv7 } from '../../../shared/ids';
import { runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import { sealAuditLog } from '../../../shared/audit/seal';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { ErrorCode } from '../../../shared/kernel/errors';
import type { AuditAction } from '../../../shared/kernel/audit';
import { FakeClock } from '../../support/fake-clock';
import { aroundPortCalls, type Answer, blobsDisagree, type Call, ok, repair, send, settle } from '../../support/in-process';
import { rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { inMemoryDeps, inMemoryLinks, searchAsWholeTenant, type InMemoryDeps, type InMemoryExportJobs, type InMemoryOrphanRecords, type RecordingLogger } from '../../support/in-memory';
import { REVOCATIONS_PREFIX } from '../../../shared/auth/revocation-blobs';
import { DECISIONS_PREFIX } from '../../../shared/auth/decision-blobs';
import { SETTINGS_PREFIX } from '../../../shared/auth/rights-sets/settings-blobs';

const TENANT = 'acme';

/** Where the sweep injects its one fault: the `failAt`th port call while armed. */
class Faults {
  armed = false;
  failAt = 0;
  /** Or the kth call of one method (`blobs.putCreateOnly#3`), for a state to start a timer from. */
  failOn: string | null = null;
  mode: 'transient' | 'ambiguous' | 'repeated' = 'transient';
  calls: string[] = [];
  hit: string | null = null;
}

/** The ports Azure Storage serves (blobs, export blobs, the validation queue), whose SDK sends a write again after a lost answer. */
const STORAGE_PORTS = ['blobs', 'exportBlobs', 'validationQueue'];

/** Every async method of every port counted, and the chosen call failed: before it is done, or after. */
function wrapPorts(deps: InMemoryDeps, faults: Faults): void {
  deps.links = { ...inMemoryLinks };
  const ports: Record<string, object> = {
    blobs: deps.blobs,
    catalog: deps.catalog,
    tenantRecords: deps.tenantRecords,
    audit: deps.audit,
    auditOutboxItems: deps.auditOutboxItems,
    exportJobs: deps.exportJobs,
    exportBlobs: deps.exportBlobs,
    links: deps.links,
    secrets: deps.secrets,
    validationQueue: deps.validationQueue,
    retentionCatalog: deps.retention.catalog,
    policies: deps.retention.policies,
    timers: deps.retention.timers,
    disposer: deps.retention.disposer,
    orphans: deps.retention.orphans,
  };
  aroundPortCalls(ports, async (call, proceed) => {
    if (!faults.armed) return proceed();
    faults.calls.push(call);
    const kth = `${call}#${faults.calls.filter((c) => c === call).length}`;
    if (faults.calls.length !== faults.failAt && kth !== faults.failOn && kth !== `${faults.failOn}#1`) return proceed();
    faults.hit = call;
    if (faults.mode === 'transient') throw new Error(`injected: ${call} failed`);
    await proceed();
    // The SDK sent it again after a lost answer: the call answers what the repeat found (the Storage SDK retries
    // writes so; the Cosmos SDK retries only reads and queries on a lost connection, so the sweep repeats Storage calls only).
    if (faults.mode === 'repeated') return proceed();
    throw new Error(`injected: ${call} timed out after it was done`);
  });
}

/** Everything the sweep needs of one archive: its deps, the fault switch, and the requests sent. */
interface World {
  deps: InMemoryDeps;
  clock: FakeClock;
  faults: Faults;
  seq: number;
}

function world(): World {
  const deps = inMemoryDeps();
  deps.audit.chained = true; // witnesses count only keyed entries (audit-pages.ts auditHolds), as Cosmos DB's log keys them
  const clock = deps.clock as FakeClock;
  // Now, not 2025: the outbox release sends an entry only within minutes of its change by the real clock.
  clock.set(new Date());
  deps.authenticator = {
    // `rm-…`: a records manager, who may lower the retention safeguards (propose, approve) as one without retention:approve.
    authenticate: async (h) => {
      const subject = (h ?? 'Bearer alice').slice('Bearer '.length);
      return { tenantId: TENANT, subject, kind: 'user', rightsSet: 'tenant-admin', permissions: new Set<Permission>(PERMISSIONS.filter((p) => !subject.startsWith('rm-') || p !== 'retention:approve')) };
    },
  };
  // The export worker searches the catalog: one page of all the tenant's documents (searchAsWholeTenant).
  searchAsWholeTenant(deps.catalog);
  // The proposers hold, as the tenant records them, the rights their proposals need when approved (proposals.ts).
  for (const subject of ['alice', 'rm-erin']) {
    const id = rightsAssignmentRecordId(subject);
    deps.tenantRecords.records.set(`${TENANT}/${id}`, { value: { id, tenantId: TENANT, type: 'rights-assignment', subject, rightsSet: 'tenant-admin', assignedAt: clock.now().toISOString(), assignedBy: { subject: 'root', kind: 'user' } } as never, etag: 900 });
  }
  const faults = new Faults();
  wrapPorts(deps, faults);
  return { deps, clock, faults, seq: 0 };
}




let pngSeq = 0;
/** Bytes the upload sniffs as a PNG (the fake normaliser decodes nothing), distinct per call. */
const scan = () => Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${++pngSeq} ${Math.random()}`)]);
const upload = (headers: Record<string, string> = {}): Call => ({ method: 'POST', path: 'documents', raw: { bytes: scan(), type: 'image/png' }, headers });
const docOf = async (w: World) => (await ok(w, upload(), 201)).json.id as string;

/** One row per write operation: what it needs stored first, and the request. */
interface Row {
  name: string;
  op: string;
  prepare: (w: World) => Promise<Call>;
  /** Also a retry that fails too, before a third attempt (the operations whose retry takes another path). */
  twice?: boolean;
  /** The action of the change's success entry, where it is not the route's (a lowering of the retention policy is proposed). */
  action?: AuditAction;
}

const ROWS: Row[] = withTwice([
  { name: 'upload with Idempotency-Key', op: 'uploadDocument', prepare: async () => upload({ 'Idempotency-Key': 'sweep-1' }) },
  { name: 'upload without Idempotency-Key', op: 'uploadDocument', prepare: async () => upload() },
  {
    name: 'upload of several files with metadata and Idempotency-Key',
    op: 'uploadDocument',
    prepare: async () => {
      const boundary = 'sweep-boundary';
      const part = (headers: string, body: Buffer) => [Buffer.from(`--${boundary}\r\n${headers}\r\n\r\n`), body, Buffer.from('\r\n')];
      const body = Buffer.concat([
        ...part('Content-Disposition: form-data; name="file"; filename="p1.png"\r\nContent-Type: image/png', scan()),
        ...part('Content-Disposition: form-data; name="file"; filename="p2.png"\r\nContent-Type: image/png', scan()),
        ...part('Content-Disposition: form-data; name="metadata"\r\nContent-Type: application/json', Buffer.from(JSON.stringify({ kind: 'invoice', counterparty: 'ACME GmbH', amount: 12.5, currency: 'EUR' }))),
        Buffer.from(`--${boundary}--\r\n`),
      ]);
      return { method: 'POST', path: 'documents', raw: { bytes: body, type: `multipart/form-data; boundary=${boundary}` }, headers: { 'Idempotency-Key': 'sweep-2' } };
    },
    twice: false,
  },
  {
    name: 'metadata correction',
    op: 'correctDocumentMetadata',
    prepare: async (w) => {
      const id = await docOf(w);
      return { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty: 'ACME GmbH', fiscalYear: new Date().getUTCFullYear() + 1 })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' } };
    },
  },
  { name: 'legal hold', op: 'placeLegalHold', prepare: async (w) => ({ method: 'POST', path: `documents/${await docOf(w)}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' } }) },
  {
    name: 'legal hold by query',
    op: 'placeLegalHoldsByQuery',
    prepare: async (w) => {
      await docOf(w);
      await docOf(w);
      return { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-2', query: { fiscalYear: new Date().getUTCFullYear() } } };
    },
  },
  {
    name: 'hold release',
    op: 'releaseLegalHold',
    prepare: async (w) => {
      const id = await docOf(w);
      const hold = (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-3' } })).json;
      return { method: 'DELETE', path: `documents/${id}/legal-holds/${hold.id}`, body: { reason: 'Closed' }, as: 'bob' };
    },
  },
  {
    name: 'hold release everywhere',
    op: 'releaseLegalHoldEverywhere',
    prepare: async (w) => {
      await docOf(w);
      await docOf(w);
      const hold = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-4', query: { fiscalYear: new Date().getUTCFullYear() } } })).json;
      return { method: 'DELETE', path: `legal-holds/${hold.holdId}`, body: { reason: 'Closed' }, as: 'bob' };
    },
  },
  {
    name: 'retention extension',
    op: 'extendRetention',
    prepare: async (w) => ({ method: 'POST', path: `documents/${await docOf(w)}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' } }),
  },
  {
    name: 'retention policy',
    op: 'putRetentionPolicy',
    prepare: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'retention/policy' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
      return { method: 'PUT', path: 'retention/policy', body: { ...policy, classes: [...(policy.classes ?? []), { name: 'contracts-12y', years: 12, description: 'Contracts' }] }, headers: { 'If-Match': read.headers.ETag! } };
    },
  },
  { name: 'retention policy (proposed)', op: 'putRetentionPolicy', action: 'retention.policy-propose', prepare: async (w) => retentionProposal(w).then((p) => p.call) },
  { name: 'retention proposal approval', op: 'approveRetentionPolicyProposal', prepare: async (w) => ({ method: 'POST', path: `retention/policy/proposals/${(await retentionProposal(w, true)).id}/approve`, body: { reason: 'Agreed' }, as: 'rm-frank' }) },
  { name: 'retention proposal withdrawal', op: 'withdrawRetentionPolicyProposal', prepare: async (w) => ({ method: 'DELETE', path: `retention/policy/proposals/${(await retentionProposal(w, true)).id}`, as: 'rm-erin' }) },
  {
    name: 'disposal approval',
    op: 'approveDisposal',
    prepare: async (w) => {
      // Two documents: an approval stopped after the first is half done.
      for (let i = 0; i < 2; i++) await ok(w, { ...upload(), path: `documents?metadata=${encodeURIComponent(JSON.stringify({ fiscalYear: 2018, retentionClass: 'immovable-property-10y' }))}` }, 201);
      w.clock.advance(20 * 365 * 86400_000);
      return { method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as: 'bob' };
    },
  },
  { name: 'export', op: 'createExport', prepare: async (w) => (await docOf(w), { method: 'POST', path: 'exports', body: { includeOriginals: true } }) },
  { name: 'API key', op: 'createApiKey', prepare: async () => ({ method: 'POST', path: 'api-keys', body: { name: 'scanner', rightsSet: 'uploader' } }) },
  {
    name: 'API key revocation',
    op: 'revokeApiKey',
    prepare: async (w) => ({ method: 'DELETE', path: `api-keys/${(await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'scanner', rightsSet: 'uploader' } })).json.id}` }),
  },
  { name: 'rights set', op: 'putRightsSet', prepare: async () => ({ method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['documents:read'] } }) },
  {
    name: 'rights set removal',
    op: 'deleteRightsSet',
    prepare: async (w) => (await ok(w, { method: 'PUT', path: 'rights-sets/readers', body: { permissions: ['documents:read'] } }), { method: 'DELETE', path: 'rights-sets/readers' }),
  },
  { name: 'rights assignment', op: 'putRightsAssignment', prepare: async () => ({ method: 'PUT', path: 'rights-assignments/carol', body: { rightsSet: 'auditor' } }) },
  {
    name: 'rights assignment removal',
    op: 'deleteRightsAssignment',
    prepare: async (w) => (await ok(w, { method: 'PUT', path: 'rights-assignments/carol', body: { rightsSet: 'auditor' } }), { method: 'DELETE', path: 'rights-assignments/carol' }),
  },
  {
    name: 'SoD policy (applies at once)',
    op: 'putSodPolicy',
    prepare: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy' });
      return { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! } };
    },
  },
  { name: 'SoD policy (proposed)', op: 'putSodPolicy', prepare: async (w) => proposal(w).then((p) => p.call) },
  { name: 'SoD proposal approval', op: 'approveSodPolicyProposal', prepare: async (w) => ({ method: 'POST', path: `sod-policy/proposals/${(await proposal(w, true)).id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }) },
  { name: 'SoD proposal withdrawal', op: 'withdrawSodPolicyProposal', prepare: async (w) => ({ method: 'DELETE', path: `sod-policy/proposals/${(await proposal(w, true)).id}` }) },
  {
    name: 'support grant',
    op: 'createSupportGrant',
    prepare: async (w) => ({ method: 'POST', path: 'support-grants', body: { ticket: 'SUP-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() } }),
  },
  {
    name: 'support grant revocation',
    op: 'revokeSupportGrant',
    prepare: async (w) => {
      const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() } });
      return { method: 'DELETE', path: `support-grants/${grant.json.id}` };
    },
  },
]);

/**
 * A retry that fails too for every row but those whose N×M runs cost seconds (an export's worker, a key's hashing,
 * several documents or files) and add no retry path of their own (the single-file upload has the upload's).
 */
function withTwice(rows: Row[]): Row[] {
  const slow = ['createExport', 'createApiKey', 'revokeApiKey', 'placeLegalHoldsByQuery', 'releaseLegalHoldEverywhere', 'approveDisposal', 'approveSodPolicyProposal', 'approveRetentionPolicyProposal'];
  return rows.map((r) => ({ ...r, twice: r.twice ?? !slow.includes(r.op) }));
}

/** A weakening of the SoD policy (turning the uploader rule off once it is on): its PUT, or, proposed already, its id. */
async function proposal(w: World, propose = false): Promise<{ call: Call; id: string }> {
  const read = await ok(w, { method: 'GET', path: 'sod-policy' });
  const on = await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! } });
  const call: Call = { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: false }, headers: { 'If-Match': on.headers.ETag! } };
  return { call, id: propose ? (await ok(w, call, 202)).json.id : '' };
}

/** A lowering of the retention safeguards (required approval off once it is on) by a records manager: its PUT, or, proposed already, its id. */
async function retentionProposal(w: World, propose = false): Promise<{ call: Call; id: string }> {
  const read = await ok(w, { method: 'GET', path: 'retention/policy' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, ...policy } = read.json;
  const on = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: true }, headers: { 'If-Match': read.headers.ETag! } });
  const call: Call = { method: 'PUT', path: 'retention/policy', body: { ...policy, requireDisposalApproval: false }, headers: { 'If-Match': on.headers.ETag! }, as: 'rm-erin' };
  return { call, id: propose ? (await ok(w, call, 202)).json.id : '' };
}

const WRITE_OPS = ROUTES.filter((r) => r.auth === 'tenant' && r.method !== 'GET' && r.method !== 'HEAD');
const routeOf = (name: string) => ROUTES.find((r) => r.name === name)! as Extract<Operation, { auth: 'tenant' }>;

/** Everything stored but the document blobs and the audit log, to tell whether a request stored a write. */
function stateOf(deps: InMemoryDeps): string {
  const sorted = (m: Map<string, unknown>) => JSON.stringify([...m.entries()].sort(([a], [b]) => a.localeCompare(b)));
  return [
    sorted(deps.catalog.documents),
    // A removal's trace ('rights-unassignment') is written ahead of the removal on purpose (rights-records.ts): it only
    // makes four eyes stricter, and the retry writes it again; it is not the change the request's entry records.
    // With its etag: a write of the same value is a stored write too (a PUT sent again), with its own entry.
    sorted(new Map([...deps.tenantRecords.records.entries()].filter(([, v]) => v.value.type !== 'rights-unassignment').map(([k, v]) => [k, v]))),
    sorted((deps.exportJobs as InMemoryExportJobs).jobs),
    sorted(deps.retention.policies.policies),
    sorted((deps.retention.orphans as InMemoryOrphanRecords).records),
  ].join('\n');
}

interface Sent {
  requestId: string;
  status: number;
  changed: boolean;
  code?: string;
}

/** The invariants after the faulted request, its retry and the timers. */
function problems(w: World, op: Extract<Operation, { auth: 'tenant' }> | null, sent: Sent[], lastClean = true): string[] {
  const { deps } = w;
  const found: string[] = [];
  // Catalog <-> blobs <-> manifests.
  const docs: ArchivedDocument[] = [...deps.catalog.documents.values()].filter((d) => d.tenantId === TENANT);
  for (const doc of docs) {
    if (doc.status !== 'active' && doc.status !== 'disposed') found.push(`${doc.id} left ${doc.status}`);
    // Its files and the corrections kept beside them (correction-blobs.ts), with the item's protection.
    found.push(...blobsDisagree(deps, doc));
    if (doc.status === 'disposed') continue;
    const manifest = deps.blobs.blobs.get(`${TENANT}/${blobLayout.manifest(doc.id)}`);
    if (manifest) {
      const m = JSON.parse(manifest.bytes.toString('utf8')) as ArchivedDocument;
      const hashes = (d: ArchivedDocument) => JSON.stringify([d.id, d.tenantId, d.contentKey, d.rendition.sha256, d.originals.map((o) => o.sha256)]);
      if (hashes(m) !== hashes(doc)) found.push(`manifest of ${doc.id} names ${hashes(m)}, the catalog ${hashes(doc)}`);
    }
    // The change that catalogued it is in the log: an ingest's, or a re-index's.
    if (!deps.audit.entries.some((e) => e.target === doc.id && e.outcome === 'success' && (e.action === 'document.ingest' || e.action === 'document.reindex'))) found.push(`${doc.id} catalogued without a success entry of its ingest or re-index`);
    // The rendition's validation is asked for (at the upload, or again by the requeue timer).
    if (doc.status === 'active' && !deps.validationQueue.sent.some((r) => r.documentId === doc.id)) found.push(`${doc.id}: its validation was never requested`);
  }
  const folders = new Set([...deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/`) && !k.startsWith(`${TENANT}/audit-seals/`) && !k.startsWith(`${TENANT}/${REVOCATIONS_PREFIX}`) && !k.startsWith(`${TENANT}/${DECISIONS_PREFIX}`) && !k.startsWith(`${TENANT}/${SETTINGS_PREFIX}`)).map((k) => k.split('/')[1]!));
  for (const folder of folders) {
    if (deps.catalog.documents.has(`${TENANT}/${folder}`)) continue;
    // Listed, and not resolved: a folder with blobs and no catalog item is orphaned still.
    const orphan = (deps.retention.orphans as InMemoryOrphanRecords).records.get(`${TENANT}/${folder}`);
    if (!orphan || orphan.resolvedAt) found.push(`folder ${folder} with blobs (${deps.blobs.blobs.has(`${TENANT}/${blobLayout.manifest(folder)}`) ? 'manifest' : 'no manifest'}) but no catalog item and ${orphan ? 'its listing resolved' : 'not listed as orphaned'}`);
  }
  // And the other way: a listing not resolved names a folder with blobs and no catalog item (readiness counts it).
  for (const r of (deps.retention.orphans as InMemoryOrphanRecords).records.values()) {
    if (r.resolvedAt) {
      if (!deps.audit.entries.some((e) => e.action === 'document.blobs-orphan-resolved' && e.target === r.documentId)) found.push(`listing of ${r.documentId} resolved without its entry`);
      continue;
    }
    if (deps.catalog.documents.get(`${r.tenantId}/${r.documentId}`)?.status === 'active') found.push(`listing of ${r.documentId} not resolved, though it is indexed`);
    else if (!folders.has(r.documentId)) found.push(`listing of ${r.documentId} not resolved, though no blob is left`);
  }
  // Documents: the same bytes never twice.
  const contents = docs.filter((d) => d.status !== 'disposed').map((d) => d.contentKey);
  if (new Set(contents).size !== contents.length) found.push(`the same bytes catalogued ${contents.length - new Set(contents).size} more time(s)`);
  // Audit: one success entry of each stored change, none of a change not stored, nothing twice.
  const entries = deps.audit.entries;
  // A timer's change too: a document re-indexed once has one re-index entry, one never re-indexed none.
  const reindexed = new Map<string, number>();
  for (const e of entries) if (e.action === 'document.reindex' && e.outcome === 'success') reindexed.set(e.target ?? '', (reindexed.get(e.target ?? '') ?? 0) + 1);
  // And every timer's change is audited once: the same action on the same target by a system actor twice is one change told twice.
  const bySystem = new Map<string, number>();
  for (const e of entries.filter((x) => x.actor.kind === 'system')) bySystem.set(`${e.action} ${e.target ?? ''} ${e.outcome}`, (bySystem.get(`${e.action} ${e.target ?? ''} ${e.outcome}`) ?? 0) + 1);
  for (const [what, count] of bySystem) if (count > 1) found.push(`${count} entries of one timer change: ${what}`);
  for (const [id, count] of reindexed) {
    if (count > 1) found.push(`${id}: ${count} re-index entries`);
    if (!deps.catalog.documents.has(`${TENANT}/${id}`)) found.push(`${id}: a re-index entry, and no catalog item`);
  }
  const seen = new Set<string>();
  for (const e of entries) {
    const key = `${e.requestId} ${e.action} ${e.outcome} ${e.target ?? ''}`;
    if (seen.has(key)) found.push(`audit entry twice: ${key}`);
    seen.add(key);
  }
  for (const s of sent) {
    const success = entries.filter((e) => e.requestId === s.requestId && e.action === op?.action && e.outcome === 'success');
    const expected = s.changed || (s.status >= 200 && s.status < 300) ? 1 : 0;
    if (success.length !== expected) found.push(`${s.requestId} (status ${s.status}${s.changed ? ', change stored' : ''}): ${success.length} success entries, expected ${expected}`);
    const others = entries.filter((e) => e.requestId === s.requestId && e.outcome !== 'success');
    // Fail closed (pipeline.ts): a request whose entry the log refused is not served (503), the entry kept in the error log.
    const unaudited = s.code === 'dependency_unavailable' && (deps.log as RecordingLogger).lines.some((l) => l.message === 'audit append failed' && l.fields?.requestId === s.requestId);
    if (s.status >= 400 && (unaudited ? others.length > 1 : others.length !== 1)) found.push(`${s.requestId} (status ${s.status}): ${others.length} entries of its failure`);
  }
  if (deps.audit.pending.length > 0) found.push(`${deps.audit.pending.length} parked audit entries left after sealing`);
  if (deps.catalog.outbox.size > 0) found.push(`${deps.catalog.outbox.size} audit outbox items left after sealing`);
  // Caps: nothing the failed attempt began still counts.
  const running = [...(deps.exportJobs as InMemoryExportJobs).jobs.values()].filter((j) => j.status === 'running');
  if (running.length > 0) found.push(`${running.length} export(s) still running after export maintenance`);
  // The retry's answer is a normal one.
  if (!op || sent.length < 2 || !lastClean) return found;
  const retry = sent[sent.length - 1]!;
  const declared = new Set<number>(errorsOf(op).map((c: ErrorCode) => ERROR_STATUS[c]));
  if (!(retry.status >= 200 && retry.status < 300) && !(retry.status < 500 && declared.has(retry.status) && retry.code !== undefined && errorsOf(op).includes(retry.code as ErrorCode))) {
    found.push(`the retry answered ${retry.status} ${retry.code ?? ''}`);
  }
  return found;
}


/** Prepare, count the port calls of a clean run, then one run per call and fault mode. */
async function sweepRow(row: Row): Promise<{ calls: number; broken: string[] }> {
  const op = { ...routeOf(row.op), ...(row.action ? { action: row.action } : {}) };
  const clean = world();
  const call = await row.prepare(clean);
  clean.faults.armed = true;
  clean.faults.failAt = -1;
  const first = await send(clean, call);
  await settle(clean);
  clean.faults.armed = false;
  if (first.status >= 300) throw new Error(`${row.name}: the clean run answered ${first.status} ${JSON.stringify(first.json)}`);
  const total = clean.faults.calls.length;
  const broken: string[] = [];
  for (const mode of ['transient', 'ambiguous', 'repeated'] as const) {
    for (const retried of [true, false]) {
      for (let n = 1; n <= total; n++) {
        if (mode === 'repeated' && !STORAGE_PORTS.includes(clean.faults.calls[n - 1]!.split('.')[0]!)) continue;
        const w = world();
        const request = await row.prepare(w);
        const before = stateOf(w.deps);
        w.faults.armed = true;
        w.faults.failAt = n;
        w.faults.mode = mode;
        const a = await send(w, request);
        await settle(w);
        w.faults.armed = false;
        const between = stateOf(w.deps);
        const sent: Sent[] = [{ requestId: a.requestId, status: a.status, changed: before !== between, ...(a.json?.code ? { code: a.json.code } : {}) }];
        let b: Answer | null = null;
        if (retried) {
          const again = await send(w, request);
          await settle(w);
          b = again;
          sent.push({ requestId: again.requestId, status: again.status, changed: between !== stateOf(w.deps), ...(again.json?.code ? { code: again.json.code } : {}) });
        }
        await repair(w).catch((err: unknown) => broken.push(`${row.name}, ${mode} fault at call ${n}: a timer failed: ${String(err)}`));
        const what = `${row.name}, ${mode} fault at call ${n} (${w.faults.hit}), answered ${a.status}${b ? ` then ${b.status}` : ', not sent again'}`;
        for (const p of problems(w, op, sent)) broken.push(`${what}: ${p}`);
      }
    }
  }
  // The retry fails too (at any call, the same way), and a third attempt goes through, or none.
  for (const mode of row.twice ? (['transient', 'ambiguous'] as const) : []) {
    for (const third of [true, false])
    for (let n = 1; n <= total; n++) {
      for (let m = 1; m <= total; m++) {
        const w = world();
        const request = await row.prepare(w);
        const sent: Sent[] = [];
        const hits: string[] = [];
        for (const failAt of third ? [n, m, -1] : [n, m]) {
          const before = stateOf(w.deps);
          Object.assign(w.faults, { armed: true, failAt, mode, calls: [], hit: null });
          const r = await send(w, request);
          await settle(w);
          w.faults.armed = false;
          hits.push(`${w.faults.hit ?? '-'} ${r.status}`);
          sent.push({ requestId: r.requestId, status: r.status, changed: before !== stateOf(w.deps), ...(r.json?.code ? { code: r.json.code } : {}) });
        }
        await repair(w).catch((err: unknown) => broken.push(`${row.name}, ${mode} faults at calls ${n} and ${m}: a timer failed: ${String(err)}`));
        for (const p of problems(w, op, sent, third)) broken.push(`${row.name}, ${mode} faults at calls ${n} and ${m}${third ? '' : ', not sent a third time'} (${hits.join(', ')}): ${p}`);
      }
    }
  }
  if (process.env.FAULT_SWEEP_TRACE) process.stdout.write(`${row.name}: ${total} port calls: ${clean.faults.calls.join(' ')}\n`);
  return { calls: total, broken };
}

/** A request that fails at the first call of `failOn` (`port.method`, or its kth call: `port.method#k`), leaving a state a timer repairs. */
async function failing(w: World, failOn: string, call: Call, mode: Faults['mode'] = 'transient'): Promise<Answer> {
  Object.assign(w.faults, { armed: true, failAt: -1, failOn, mode });
  const answer = await send(w, call);
  await settle(w);
  Object.assign(w.faults, { armed: false, failOn: null, calls: [], hit: null });
  if (answer.status < 500 && !failOn.startsWith('audit.') && !failOn.startsWith('validationQueue.')) throw new Error(`prepare: ${call.method} ${call.path} answered ${answer.status} with a fault at ${failOn}`);
  return answer;
}

/** One row per repair the README names: the state it repairs, and the timer, which faults too. */
interface TimerRow {
  name: string;
  prepare: (w: World) => Promise<void>;
  run: (w: World) => Promise<unknown>;
}

const reconciler = (w: World) => runReconcileTimer(w.deps);

/** An orphan listing of `documentId`'s folder, as a run before found it (its entry is not what these rows check). */
async function listed(w: World, documentId: string): Promise<void> {
  const now = w.clock.now().toISOString();
  await w.deps.retention.orphans.create({ id: orphanRecordId(documentId), tenantId: TENANT, type: 'orphaned-blobs', documentId, folder: blobLayout.folder(documentId), blobs: [{ name: `${documentId}/original.jpg`, size: 1, lastModified: now }], firstSeen: now, audited: true });
}
const TIMER_ROWS: TimerRow[] = [
  { name: 'reconciler: a manifest without its catalog item', prepare: async (w) => void (await failing(w, 'catalog.create', upload())), run: reconciler },
  { name: 'reconciler: blobs without a manifest', prepare: async (w) => void (await failing(w, 'blobs.putCreateOnly#3', upload())), run: reconciler },
  {
    name: 'reconciler: the same original archived again by a retry',
    prepare: async (w) => {
      const call = upload();
      await failing(w, 'catalog.create', call);
      await ok(w, call, 201);
    },
    run: reconciler,
  },
  {
    name: 'reconciler: a release that stopped before clearing the flags',
    prepare: async (w) => {
      const id = await docOf(w);
      const hold = (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-5' } })).json;
      await failing(w, 'blobs.setLegalHold', { method: 'DELETE', path: `documents/${id}/legal-holds/${hold.id}`, body: { reason: 'Closed' }, as: 'bob' });
    },
    run: reconciler,
  },
  {
    name: 'reconciler: a listed folder that it indexes now',
    prepare: async (w) => {
      await failing(w, 'catalog.create', upload());
      const folder = [...w.deps.blobs.blobs.keys()].find((k) => k.startsWith(`${TENANT}/`) && k.endsWith('/manifest.json'))!.split('/')[1]!;
      await listed(w, folder);
    },
    run: reconciler,
  },
  { name: 'reconciler: a listed folder indexed since, and one whose blobs are gone', prepare: async (w) => (await listed(w, await docOf(w)), await listed(w, uuidv7())), run: reconciler },
  {
    name: 'retention sweep: an approved document past its retention',
    prepare: async (w) => {
      const call = await ROWS.find((r) => r.op === 'approveDisposal')!.prepare(w);
      await ok(w, call, 201);
    },
    run: (w) => runSweepTimer(w.deps),
  },
  { name: 'export maintenance: an export whose worker never started', prepare: async (w) => (await docOf(w), void (await failing(w, 'exportJobs.createGated', { method: 'POST', path: 'exports', body: {} }, 'ambiguous'))), run: (w) => exportTimer.run(w.deps) },
  { name: 'validation requeue: a lost validation request', prepare: async (w) => void (await failing(w, 'validationQueue.send', upload())), run: (w) => TIMERS.find((t) => t.name === 'requeueValidations')!.run(w.deps) },
  { name: 'audit sealing: an outbox item the release left', prepare: async (w) => void (await failing(w, 'audit.appendBatch', upload())), run: (w) => sealAuditLog({ now: w.clock.now(), deps: w.deps }) },
];

/** A timer with a fault at each of its port calls, then every repair run cleanly: the same invariants hold. */
async function sweepTimer(row: TimerRow): Promise<{ calls: number; broken: string[] }> {
  const clean = world();
  await row.prepare(clean);
  clean.clock.advance(2 * 3600_000);
  Object.assign(clean.faults, { armed: true, failAt: -1 });
  await row.run(clean);
  await settle(clean);
  clean.faults.armed = false;
  const total = clean.faults.calls.length;
  const broken: string[] = [];
  for (const mode of ['transient', 'ambiguous', 'repeated'] as const) {
    for (let n = 1; n <= total; n++) {
      if (mode === 'repeated' && !STORAGE_PORTS.includes(clean.faults.calls[n - 1]!.split('.')[0]!)) continue;
      const w = world();
      await row.prepare(w);
      w.clock.advance(2 * 3600_000);
      Object.assign(w.faults, { armed: true, failAt: n, mode });
      const failed = await row.run(w).then(() => null, (err: unknown) => String(err));
      await settle(w);
      w.faults.armed = false;
      await repair(w).catch((err: unknown) => broken.push(`${row.name}, ${mode} fault at call ${n}: a repair failed: ${String(err)}`));
      for (const p of problems(w, null, [])) broken.push(`${row.name}, ${mode} fault at call ${n} (${w.faults.hit})${failed ? ', the run failed' : ''}: ${p}`);
    }
  }
  if (process.env.FAULT_SWEEP_TRACE) process.stdout.write(`${row.name}: ${total} port calls: ${clean.faults.calls.join(' ')}\n`);
  return { calls: total, broken };
}

describe.each(TIMER_ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  it('a fault at any port call of the timer: the next runs finish the repair', async () => {
    const { calls, broken } = await sweepTimer(row);
    expect(calls).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });
});

it('every write operation of the route table has a row', () => {
  const covered = new Set(ROWS.map((r) => r.op));
  expect(WRITE_OPS.map((r) => r.name).filter((n) => !covered.has(n))).toEqual([]);
});

describe.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  it('a fault at any port call: nothing half done after the retry and the timers', async () => {
    const { calls, broken } = await sweepRow(row);
    expect(calls).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });
});
