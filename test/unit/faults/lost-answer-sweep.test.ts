/**
 * An answer lost on the way never makes a second change: a generated lost-answer sweep.
 * For every write operation of the route table the request runs in-process as the hosts run it (route matching,
 * handleRequest, the real authenticator reading the tenant's assignments, keys and grants) over the in-memory ports.
 * The client's first answer is lost (the archive did the work; the answer is ignored), so it sends the very same
 * request again (the same Idempotency-Key where the operation takes one, the same If-Match where it takes one), and a
 * third time after the repairing timers ran. Then, compared with a world where the request was sent once:
 * - the stored state is that of one application (compared as the race sweep compares worlds: without ids, etags,
 *   hashes, instants): no second document, hold, export, grant, approval, key, proposal, assignment, correction,
 *   extension; no cap counted twice;
 * - each retry answers the same success, replayed (`Idempotent-Replayed: true` where the operation takes a key), or a
 *   4xx the operation declares that names what was done (who changed it and when, the proposal closed …); never a 5xx;
 * - the audit log: the first request has exactly one success entry of the change; a retry answered 2xx has its own
 *   success entry (marked `replayed` where it was replayed by its key), a refused retry none.
 * The rows whose retry today makes a second change by design say so with the README sentence (`deliberate`).
 */
import { ROUTES } from '../../../functions/routes';
import { errorsOf } from '../../../shared/http/operation';
import type { AuditAction } from '../../../shared/kernel/audit';
import type { ErrorCode } from '../../../shared/kernel/errors';
import { type Answer, assign, type Call, docOf, dueDocs, ok, putSet, repair, routeFor, scan, send, settle, stateView, upload, type World, world } from '../../support/in-process';

/** One row per write operation: the world it needs, and the request whose answer is lost. */
interface Row {
  name: string;
  op: string;
  prepare: (w: World) => Promise<Call>;
  /** The action of the change's success entry, where it is not the route's (a lowering of the retention policy is proposed). */
  action?: AuditAction;
  /** What the retry answers (and the third attempt): `201 replayed`, `200`, `412 precondition_failed` … */
  retry: string;
  /**
   * Fields the comparison leaves out. `givenBefore`: a PUT of a rights set or assignment sent again rewrites its record,
   * which keeps the giving it replaced (the same person's, rights-records.ts `carriedGivings`): a four-eyes trace that
   * only makes later checks stricter, no second right given.
   */
  ignored?: string[];
  /** The README sentence under which a retry makes a second change on purpose; the state comparison is then skipped. */
  deliberate?: string;
  /** A retry that answers 2xx and changes nothing by its nature (no key): what its own success entry's detail says instead. */
  unchanged?: RegExp;
}

const keyed = (call: Call, key: string): Call => ({ ...call, headers: { ...call.headers, 'Idempotency-Key': key } });
const grantBody = (w: World) => ({ ticket: 'SUP-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() });

/** The retention policy as read, without what the PUT does not take, and its ETag. */
async function policyOf(w: World): Promise<{ body: Record<string, unknown>; etag: string }> {
  const read = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = read.json;
  return { body, etag: read.headers.ETag! };
}

/** Required disposal approval turned on by carol; dave, erin and fay are records managers (without retention:approve). The PUT that lowers it, by dave. */
async function lowering(w: World): Promise<Call> {
  await ok(w, putSet('records-manager', ['documents:read', 'retention:manage']));
  const { body, etag } = await policyOf(w);
  const on = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: true }, headers: { 'If-Match': etag }, as: 'carol' });
  for (const person of ['dave', 'erin', 'fay']) await ok(w, assign(person, 'records-manager'));
  // Appointed before the proposal, not at its instant: a giving at the proposal's time counts as one since it.
  w.clock.advance(60_000);
  return { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: false }, headers: { 'If-Match': on.headers.ETag! }, as: 'dave' };
}
const proposedLowering = async (w: World): Promise<string> => (await ok(w, await lowering(w), 202)).json.id;

/** The uploader rule turned on by alice; the PUT that turns it off again (a weakening, proposed). */
async function weakening(w: World): Promise<Call> {
  const read = await ok(w, { method: 'GET', path: 'sod-policy' });
  const on = await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! } });
  return { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: false }, headers: { 'If-Match': on.headers.ETag! } };
}
const proposedWeakening = async (w: World): Promise<string> => (await ok(w, await weakening(w), 202)).json.id;

const ROWS: Row[] = [
  { name: 'upload', op: 'uploadDocument', retry: '201 replayed', prepare: async () => keyed(upload(undefined, scan('lost-1')), 'lost-upload') },
  {
    name: 'metadata correction',
    op: 'correctDocumentMetadata',
    retry: '412 precondition_failed',
    prepare: async (w) => ({ method: 'PATCH', path: `documents/${await docOf(w)}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty: 'ACME GmbH' })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' }),
  },
  { name: 'legal hold', op: 'placeLegalHold', retry: '201 replayed', prepare: async (w) => keyed({ method: 'POST', path: `documents/${await docOf(w)}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-1' }, as: 'up' }, 'lost-hold') },
  {
    name: 'legal hold by query',
    op: 'placeLegalHoldsByQuery',
    retry: '201 replayed',
    prepare: async (w) => {
      await docOf(w, { fiscalYear: 2020 });
      await docOf(w, { fiscalYear: 2020 });
      return keyed({ method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-2', query: { fiscalYear: 2020 } }, as: 'up' }, 'lost-holds');
    },
  },
  {
    name: 'hold release',
    op: 'releaseLegalHold',
    retry: '409 hold_already_released',
    prepare: async (w) => {
      const id = await docOf(w);
      const hold = (await ok(w, { method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: 'C-3' }, as: 'up' })).json;
      return { method: 'DELETE', path: `documents/${id}/legal-holds/${hold.id}`, body: { reason: 'Closed' }, as: 'bob' };
    },
  },
  {
    name: 'hold release everywhere',
    op: 'releaseLegalHoldEverywhere',
    retry: '404 hold_not_found',
    prepare: async (w) => {
      await docOf(w, { fiscalYear: 2020 });
      await docOf(w, { fiscalYear: 2020 });
      const hold = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-4', query: { fiscalYear: 2020 } }, as: 'up' })).json;
      return { method: 'DELETE', path: `legal-holds/${hold.holdId}`, body: { reason: 'Closed' }, as: 'bob' };
    },
  },
  { name: 'retention extension', op: 'extendRetention', retry: '200', unchanged: /^unchanged:retain-until=2090-01-01T00:00:00\.000Z$/, prepare: async (w) => ({ method: 'POST', path: `documents/${await docOf(w)}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' }) },
  {
    name: 'retention policy (applies at once)',
    op: 'putRetentionPolicy',
    retry: '412 precondition_failed',
    prepare: async (w) => {
      const { body, etag } = await policyOf(w);
      return { method: 'PUT', path: 'retention/policy', body: { ...body, classes: [...((body.classes as unknown[]) ?? []), { name: 'contracts-12y', years: 12, description: 'Contracts' }] }, headers: { 'If-Match': etag }, as: 'carol' };
    },
  },
  { name: 'retention policy (a lowering, proposed)', op: 'putRetentionPolicy', action: 'retention.policy-propose', retry: '202 replayed', prepare: lowering },
  { name: 'retention proposal approval', op: 'approveRetentionPolicyProposal', retry: '409 retention_policy_proposal_closed', prepare: async (w) => ({ method: 'POST', path: `retention/policy/proposals/${await proposedLowering(w)}/approve`, body: { reason: 'Agreed' }, as: 'erin' }) },
  { name: 'retention proposal withdrawal', op: 'withdrawRetentionPolicyProposal', retry: '409 retention_policy_proposal_closed', prepare: async (w) => ({ method: 'DELETE', path: `retention/policy/proposals/${await proposedLowering(w)}`, as: 'dave' }) },
  {
    name: 'disposal approval',
    op: 'approveDisposal',
    retry: '201 replayed',
    prepare: async (w) => {
      await dueDocs(w);
      return keyed({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as: 'bob' }, 'lost-approval');
    },
  },
  { name: 'export', op: 'createExport', retry: '202 replayed', prepare: async (w) => (await docOf(w), keyed({ method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' }, 'lost-export')) },
  {
    name: 'API key',
    op: 'createApiKey',
    retry: '201',
    deliberate:
      'README *Retries of creates*: "Not taken (400, as before): `POST /api-keys` (its secret is shown once and stored only as a salted hash, so no retry could be answered with it; a lost answer leaves a key nobody holds the secret of, listed and revocable)"',
    prepare: async () => ({ method: 'POST', path: 'api-keys', body: { name: 'scanner', rightsSet: 'auditor' }, as: 'alice' }),
  },
  { name: 'API key revocation', op: 'revokeApiKey', retry: '200', unchanged: /^already-revoked$/, prepare: async (w) => ({ method: 'DELETE', path: `api-keys/${(await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'scanner', rightsSet: 'auditor' }, as: 'alice' })).json.id}`, as: 'alice' }) },
  { name: 'rights set', op: 'putRightsSet', retry: '200', ignored: ['givenBefore'], prepare: async () => putSet('readers', ['documents:read']) },
  { name: 'rights set removal', op: 'deleteRightsSet', retry: '404 rights_set_not_found', prepare: async (w) => (await ok(w, putSet('readers', ['documents:read'])), { method: 'DELETE', path: 'rights-sets/readers', as: 'carol' }) },
  { name: 'rights assignment', op: 'putRightsAssignment', retry: '200', ignored: ['givenBefore'], prepare: async () => assign('dave', 'auditor') },
  { name: 'rights assignment removal', op: 'deleteRightsAssignment', retry: '404 rights_assignment_not_found', prepare: async (w) => (await ok(w, assign('dave', 'auditor')), { method: 'DELETE', path: 'rights-assignments/dave', as: 'carol' }) },
  {
    name: 'SoD policy (applies at once)',
    op: 'putSodPolicy',
    retry: '412 precondition_failed',
    prepare: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy' });
      return { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! } };
    },
  },
  { name: 'SoD policy (a weakening, proposed)', op: 'putSodPolicy', retry: '202 replayed', prepare: weakening },
  { name: 'SoD proposal approval', op: 'approveSodPolicyProposal', retry: '409 sod_policy_proposal_closed', prepare: async (w) => ({ method: 'POST', path: `sod-policy/proposals/${await proposedWeakening(w)}/approve`, body: { reason: 'Agreed' }, as: 'bob' }) },
  { name: 'SoD proposal withdrawal', op: 'withdrawSodPolicyProposal', retry: '409 sod_policy_proposal_closed', prepare: async (w) => ({ method: 'DELETE', path: `sod-policy/proposals/${await proposedWeakening(w)}`, as: 'alice' }) },
  { name: 'support grant', op: 'createSupportGrant', retry: '201 replayed', prepare: async (w) => keyed({ method: 'POST', path: 'support-grants', body: grantBody(w), as: 'alice' }, 'lost-grant') },
  {
    name: 'support grant revocation',
    op: 'revokeSupportGrant',
    retry: '200',
    unchanged: /^already-revoked$/,
    prepare: async (w) => ({ method: 'DELETE', path: `support-grants/${(await ok(w, { method: 'POST', path: 'support-grants', body: grantBody(w), as: 'alice' })).json.id}`, as: 'alice' }),
  },
];

const WRITE_OPS = ROUTES.filter((r) => r.auth === 'tenant' && r.method !== 'GET' && r.method !== 'HEAD');

const answerOf = (a: Answer): string => `${a.status}${a.json?.code ? ` ${a.json.code}` : ''}${a.headers['Idempotent-Replayed'] === 'true' ? ' replayed' : ''}`;

/** Sent once (its answer read), then the repairs: the state one application leaves. */
async function once(row: Row): Promise<{ state: string; answer: Answer }> {
  const w = world();
  const call = await row.prepare(w);
  await settle(w);
  const answer = await send(w, call);
  await settle(w);
  await repair(w);
  await repair(w);
  return { state: stateView(w, row.ignored), answer };
}

/** Sent, its answer lost; sent again; the repairs; a third time; the repairs again. */
async function lost(row: Row): Promise<{ state: string; answers: Answer[]; shown: string[]; broken: string[] }> {
  const w = world();
  const call = await row.prepare(w);
  await settle(w);
  const answers: Answer[] = [];
  answers.push(await send(w, call));
  await settle(w);
  answers.push(await send(w, call));
  await settle(w);
  await repair(w);
  answers.push(await send(w, call));
  await settle(w);
  await repair(w);
  const op = routeFor(call);
  const action = row.action ?? op.action;
  const broken: string[] = [];
  answers.forEach((a, i) => {
    const entries = w.deps.audit.entries.filter((e) => e.requestId === a.requestId);
    const success = entries.filter((e) => e.action === action && e.outcome === 'success');
    const ok2xx = a.status >= 200 && a.status < 300;
    if (success.length !== (ok2xx ? 1 : 0)) broken.push(`attempt ${i + 1} (${answerOf(a)}): ${success.length} success entries of ${action}, expected ${ok2xx ? 1 : 0}`);
    if (i === 0) return;
    if (a.status >= 500) broken.push(`attempt ${i + 1} answered ${answerOf(a)}`);
    if (a.status >= 400 && !errorsOf(op).includes(a.json?.code as ErrorCode)) broken.push(`attempt ${i + 1} answered ${answerOf(a)}, a code the operation does not declare`);
    // A replay is marked in its own entry: the log tells the change from the retries that found it.
    if (a.headers['Idempotent-Replayed'] === 'true' && !success.every((e) => /(^|;)replayed$/.test(e.detail ?? ''))) broken.push(`attempt ${i + 1} replayed, its entry's detail ${JSON.stringify(success.map((e) => e.detail))} does not say so`);
    // Done already and nothing stored: the retry's entry says so, so the log does not show the change twice.
    if (row.unchanged && ok2xx && !success.every((e) => row.unchanged!.test(e.detail ?? ''))) broken.push(`attempt ${i + 1} changed nothing, its entry's detail ${JSON.stringify(success.map((e) => e.detail))} does not say so`);
    // Who changed it and when: the client tells its own change from someone else's.
    if (a.status === 412 && !(a.json?.updatedBy && a.json?.updatedAt)) broken.push(`attempt ${i + 1} answered 412 without naming who changed it and when: ${JSON.stringify(a.json)}`);
    if (op.idempotencyKey && ok2xx && a.headers['Idempotent-Replayed'] !== 'true') broken.push(`attempt ${i + 1} answered ${answerOf(a)}: a success that is no replay`);
  });
  // A replay: by its key (`Idempotent-Replayed`), or a proposal answered again (its own entry says so).
  const shown = answers.map((a) => {
    const marked = w.deps.audit.entries.some((e) => e.requestId === a.requestId && e.outcome === 'success' && /(^|;)replayed$/.test(e.detail ?? ''));
    return `${a.status}${a.json?.code ? ` ${a.json.code}` : ''}${a.headers['Idempotent-Replayed'] === 'true' || marked ? ' replayed' : ''}`;
  });
  return { state: stateView(w, row.ignored), answers, shown, broken };
}

/** What one state stores that the other does not, item by item. */
function differences(once: string, lost: string): string {
  const items = (state: string) => Object.entries(JSON.parse(state) as Record<string, string[] | number>).flatMap(([store, v]) => [v].flat().map((x) => `${store} ${String(x)}`));
  const a = items(once);
  const b = items(lost);
  return [...a.filter((x) => !b.includes(x)).map((x) => `  once only: ${x}`), ...b.filter((x) => !a.includes(x)).map((x) => `  lost only: ${x}`)].join('\n');
}

it('every write operation of the route table has a row', () => {
  const covered = new Set(ROWS.map((r) => r.op));
  expect(WRITE_OPS.map((r) => r.name).filter((n) => !covered.has(n))).toEqual([]);
});

describe.each(ROWS.map((r) => [r.name, r] as const))('%s', (_name, row) => {
  it('sent again after a lost answer (and after the repairs): one application, a clear answer, one success entry of the change', async () => {
    const single = await once(row);
    const retried = await lost(row);
    const broken = [...retried.broken];
    if (single.answer.status >= 300) broken.push(`sent once it answered ${answerOf(single.answer)}`);
    if (answerOf(retried.answers[0]!) !== answerOf(single.answer)) broken.push(`the first attempt answered ${answerOf(retried.answers[0]!)}, sent once ${answerOf(single.answer)}`);
    if (!row.deliberate && retried.state !== single.state) broken.push(`the stored state is not that of one application:\n${differences(single.state, retried.state)}`);
    if (row.deliberate && retried.state === single.state) broken.push('listed as deliberately applied twice, but the retry changed nothing: drop `deliberate`');
    expect({ broken, retries: retried.shown.slice(1) }).toEqual({ broken: [], retries: [row.retry, row.retry] });
  });
});
