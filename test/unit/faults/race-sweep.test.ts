/**
 * Two requests at once never give what one at a time would refuse: a generated race sweep.
 * For pairs of write operations on the same thing, both requests run in-process as the hosts run them (route
 * matching, handleRequest, the real authenticator reading the tenant's assignments, keys and grants) over the
 * in-memory ports, every port call of each request waiting on a scheduler that decides which request goes on.
 * The schedules: both serial orders, every single switch from one request to the other (the whole of the first,
 * up to a bound, spread evenly), and a seeded random sample. After both settle and the repairing timers ran (as the
 * fault sweep runs them):
 * - the two answers and the state are those of SOME serial order (the state compared without ids, etags, hashes);
 * - catalog items, blobs and manifests agree; the tenant caps hold;
 * - each request that answered 2xx has exactly one success entry of its action, a refused one none.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { Authenticator, type JwtSettings } from '../../../shared/auth/authenticate';
import { rightsAssignmentRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { loadConfig } from '../../../shared/config';
import { matchRoute } from '../../../shared/http/route-match';
import type { Operation } from '../../../shared/http/operation';
import { BUILT_IN_RIGHTS_SETS, type Permission } from '../../../shared/kernel/principal';
import { isHeld } from '../../../shared/kernel/retention-rules';
import { runSweepTimer } from '../../../shared/retention/timers';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { FakeClock } from '../../support/fake-clock';
import { type Answer, blobsDisagree, type Call, ok, repair, send, settle, TABLE } from '../../support/in-process';
import { minimalLocalEnv } from '../../support/config-env';
import { inMemoryDeps, inMemoryLinks, type InMemoryDeps, type InMemoryExportJobs, type InMemoryOrphanRecords } from '../../support/in-memory';

// A wait in the code (a write polling a disposal claim) is one more turn of the scheduler, not real time: whether the
// other request goes on meanwhile is the schedule's to decide, and the sweep stays fast.
jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const TENANT = 'acme';
/** One instant for every world: the serial runs and the interleaved ones store the same times. */
const START = new Date(Math.floor(Date.now() / 60_000) * 60_000);

// ---- The scheduler ----

const who = new AsyncLocalStorage<{ side: 0 | 1 }>();

/** Decides, at every port call of either request, which request goes on; calls outside both pass. */
class Scheduler {
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
function wrapPorts(deps: InMemoryDeps, scheduler: Scheduler): void {
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



interface World {
  deps: InMemoryDeps;
  clock: FakeClock;
  scheduler: Scheduler;
  seq: number;
}

const SETTINGS: JwtSettings = { issuer: 'https://idp.example', audience: 'api://archive', jwksUri: 'http://127.0.0.1:1/jwks', algorithms: ['RS256'], tenantClaim: 'tid', rightsClaim: 'rights', kindClaim: 'kind', rightsSource: 'tenant', clockToleranceSeconds: 0, keyPersonIdleDays: 30 };

/** Who is who: rights from the tenant's assignments, read by the real authenticator at every request. */
const PEOPLE: Record<string, string> = { up: 'archivist', alice: 'tenant-admin', bob: 'tenant-admin', carol: 'tenant-admin' };

function world(env: Record<string, string> = {}): World {
  const deps = inMemoryDeps(loadConfig({ ...minimalLocalEnv, ...env }));
  const clock = deps.clock as FakeClock;
  clock.set(START);
  const authenticator = new Authenticator(SETTINGS, { tenantRecords: deps.tenantRecords, secrets: deps.secrets, config: deps.config, rights: deps.rights, clock: deps.clock });
  // The token's signature is not what this sweep is about: a bearer token is its subject, of this tenant.
  (authenticator as unknown as { verifyJwt: (t: string) => Promise<unknown> }).verifyJwt = async (token: string) => ({ tenantId: TENANT, subject: token, kind: token.startsWith('support.') ? 'support' : 'user', claimedRightsSet: null, expiresAt: '9999-01-01T00:00:00.000Z', issuedAt: null });
  deps.authenticator = authenticator;
  deps.catalog.list = async () => ({ items: [...deps.catalog.documents.values()].filter((d) => d.tenantId === TENANT), continuationToken: null });
  deps.catalog.countMatching = async () => deps.catalog.count(TENANT);
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
const scan = (name = `${++pngSeq} ${Math.random()}`) => Buffer.concat([Buffer.from('\x89PNG\r\n\x1a\n', 'latin1'), Buffer.from(`scan ${name}`)]);
const upload = (metadata?: object, bytes = scan()): Call => ({ method: 'POST', path: metadata ? `documents?metadata=${encodeURIComponent(JSON.stringify(metadata))}` : 'documents', raw: { bytes, type: 'image/png' }, as: 'up' });
const docOf = async (w: World, metadata?: object) => (await ok(w, upload(metadata), 201)).json.id as string;
/** Two documents past their retention (uploaded by `up`, approvable by bob): the clock moved on 20 years. */
async function dueDocs(w: World): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < 2; i++) ids.push(await docOf(w, { fiscalYear: 2018, retentionClass: 'immovable-property-10y' }));
  w.clock.advance(20 * 365 * 86400_000);
  return ids;
}
const approval = (w: World, as = 'bob'): Call => ({ method: 'POST', path: 'retention/approvals', body: { before: w.clock.now().toISOString(), reason: 'Annual review' }, as });
const hold = (id: string, ref = 'C-1', as = 'up'): Call => ({ method: 'POST', path: `documents/${id}/legal-holds`, body: { reason: 'Audit', caseReference: ref }, as });
const putSet = (name: string, permissions: Permission[], as = 'carol'): Call => ({ method: 'PUT', path: `rights-sets/${name}`, body: { permissions }, as });
const assign = (subject: string, rightsSet: string, as = 'carol'): Call => ({ method: 'PUT', path: `rights-assignments/${subject}`, body: { rightsSet }, as });
const ADMIN = [...BUILT_IN_RIGHTS_SETS['tenant-admin']!];

// ---- The pairs ----

/** A request, or a timer run as the host runs it (its "answer": 200, or 500 when it threw). */
type Step = Call | { timer: string; run: (w: World) => Promise<unknown> };

interface Pair {
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
}

const PAIRS: Pair[] = [
  {
    name: 'metadata corrected twice on the same If-Match',
    prepare: async (w) => {
      const id = await docOf(w);
      const patch = (counterparty: string): Call => ({ method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', counterparty })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' });
      return [patch('ACME GmbH'), patch('Other BV')];
    },
  },
  {
    name: 'two legal holds placed on one document',
    prepare: async (w) => {
      const id = await docOf(w);
      return [hold(id, 'C-1'), hold(id, 'C-2')];
    },
  },
  {
    name: 'a hold released while another is placed',
    prepare: async (w) => {
      const id = await docOf(w);
      const first = (await ok(w, hold(id, 'C-1'))).json;
      return [{ method: 'DELETE', path: `documents/${id}/legal-holds/${first.id}`, body: { reason: 'Closed' }, as: 'bob' }, hold(id, 'C-2')];
    },
  },
  {
    name: 'a hold released everywhere while the document gets another',
    prepare: async (w) => {
      const id = await docOf(w, { fiscalYear: 2020 });
      const everywhere = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-4', query: { fiscalYear: 2020 } }, as: 'up' })).json;
      return [{ method: 'DELETE', path: `legal-holds/${everywhere.holdId}`, body: { reason: 'Closed' }, as: 'bob' }, hold(id, 'C-5')];
    },
  },
  {
    name: 'a disposal approved while a hold is placed',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      return [approval(w), hold(first!, 'C-6')];
    },
  },
  {
    name: 'a disposal approved while the approver\'s rights are removed',
    prepare: async (w) => {
      await dueDocs(w);
      return [approval(w), { method: 'DELETE', path: 'rights-assignments/bob', as: 'carol' }];
    },
  },
  {
    name: 'a disposal approved while the approver is given the uploader\'s rights',
    prepare: async (w) => {
      await dueDocs(w);
      return [approval(w), assign('bob', 'archivist')];
    },
  },
  {
    name: 'two disposal approvals at once',
    perDocument: true,
    // Each document is approved once, by either approver (an approval is per document, not one change of them all).
    ignored: ['approvedBy'],
    prepare: async (w) => (await dueDocs(w), [approval(w, 'bob'), approval(w, 'carol')]),
  },
  {
    name: 'a disposal approved while a hold on one of the documents is released',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      const placed = (await ok(w, hold(first!, 'C-9'))).json;
      return [approval(w), { method: 'DELETE', path: `documents/${first}/legal-holds/${placed.id}`, body: { reason: 'Closed' }, as: 'carol' }];
    },
  },
  {
    name: 'a disposal approved while the retention policy changes',
    prepare: async (w) => {
      await dueDocs(w);
      const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
      return [approval(w), { method: 'PUT', path: 'retention/policy', body: { ...body, classes: [...(body.classes ?? []), { name: 'contracts-12y', years: 12, description: 'Contracts' }], requireDisposalApproval: true }, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' }];
    },
  },
  {
    name: 'a disposal approved while a retention extension is made',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      return [approval(w), { method: 'POST', path: `documents/${first}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' }];
    },
  },
  {
    name: 'a disposal approved while a correction moves the fiscal year on',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      return [approval(w), { method: 'PATCH', path: `documents/${first}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Wrong year', fiscalYear: START.getUTCFullYear() + 19 })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' }];
    },
  },
  {
    name: 'holds placed by query while the sweep disposes',
    perDocument: true,
    prepare: async (w) => {
      await dueDocs(w);
      await ok(w, approval(w), 201);
      return [{ method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-10', query: { fiscalYear: 2018 } }, as: 'up' }, { timer: 'retention sweep', run: (x) => runSweepTimer(x.deps) }];
    },
  },
  {
    name: 'a hold released everywhere while the sweep disposes',
    perDocument: true,
    prepare: async (w) => {
      await dueDocs(w);
      const everywhere = (await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-11', query: { fiscalYear: 2018 } }, as: 'up' })).json;
      await ok(w, approval(w), 201);
      return [{ method: 'DELETE', path: `legal-holds/${everywhere.holdId}`, body: { reason: 'Closed' }, as: 'bob' }, { timer: 'retention sweep', run: (x) => runSweepTimer(x.deps) }];
    },
  },
  {
    name: 'a hold placed while the sweep disposes',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      await ok(w, approval(w), 201);
      return [hold(first!, 'C-7'), { timer: 'retention sweep', run: (x) => runSweepTimer(x.deps) }];
    },
  },
  {
    name: 'a retention extension while the sweep disposes',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      await ok(w, approval(w), 201);
      return [{ method: 'POST', path: `documents/${first}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' }, { timer: 'retention sweep', run: (x) => runSweepTimer(x.deps) }];
    },
  },
  {
    name: 'an SoD proposal approved while its proposer widens the approver\'s set',
    prepare: async (w) => {
      const narrow = ADMIN.filter((p) => p !== 'support:grant');
      await ok(w, putSet('approvers', narrow));
      await ok(w, assign('bob', 'approvers'));
      const id = await proposeWeakening(w);
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, putSet('approvers', ADMIN, 'alice')];
    },
  },
  {
    name: 'an SoD proposal approved while its proposer assigns the approver',
    prepare: async (w) => {
      await ok(w, putSet('approvers', ADMIN.filter((p) => p !== 'support:grant')));
      const id = await proposeWeakening(w);
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, assign('bob', 'approvers', 'alice')];
    },
  },
  {
    name: 'an SoD proposal approved while it is withdrawn',
    prepare: async (w) => {
      const id = await proposeWeakening(w);
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, { method: 'DELETE', path: `sod-policy/proposals/${id}`, as: 'alice' }];
    },
  },
  {
    name: 'an SoD proposal approved while the policy is changed directly',
    prepare: async (w) => {
      const id = await proposeWeakening(w);
      const read = await ok(w, { method: 'GET', path: 'sod-policy' });
      const tighter = { conflicts: [...read.json.conflicts, ['exports:create', 'support:grant']], uploaderCannotApproveDisposal: true };
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, { method: 'PUT', path: 'sod-policy', body: tighter, headers: { 'If-Match': read.headers.ETag! }, as: 'carol' }];
    },
  },
  {
    name: 'the SoD policy tightened while a set is widened into the conflict',
    prepare: async (w) => {
      await ok(w, putSet('exporters', ['documents:read', 'exports:create']));
      await ok(w, assign('dave', 'exporters'));
      const read = await ok(w, { method: 'GET', path: 'sod-policy' });
      const tighter = { conflicts: [...read.json.conflicts, ['exports:create', 'audit:read']], uploaderCannotApproveDisposal: read.json.uploaderCannotApproveDisposal };
      return [{ method: 'PUT', path: 'sod-policy', body: tighter, headers: { 'If-Match': read.headers.ETag! }, as: 'alice' }, putSet('exporters', ['documents:read', 'exports:create', 'audit:read'], 'bob')];
    },
  },
  {
    name: 'a key minted while its minter\'s rights are removed',
    mints: true,
    prepare: async () => [{ method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'auditor' }, as: 'alice' }, { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' }],
  },
  {
    name: 'a support grant given while its giver\'s rights are removed',
    prepare: async (w) => [
      { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-2', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' },
      { method: 'DELETE', path: 'rights-assignments/alice', as: 'carol' },
    ],
  },
  {
    name: 'a rights assignment changed twice',
    prepare: async () => [assign('dave', 'auditor', 'alice'), assign('dave', 'accountant', 'bob')],
  },
  {
    name: 'an SoD proposal approved while the approver\'s rights are removed',
    prepare: async (w) => {
      const id = await proposeWeakening(w);
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, { method: 'DELETE', path: 'rights-assignments/bob', as: 'carol' }];
    },
  },
  {
    name: 'the SoD policy put twice on the same If-Match',
    prepare: async (w) => {
      const read = await ok(w, { method: 'GET', path: 'sod-policy' });
      const put = (pair: [Permission, Permission], as: string): Call => ({ method: 'PUT', path: 'sod-policy', body: { conflicts: [...read.json.conflicts, pair], uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! }, as });
      return [put(['exports:create', 'support:grant'], 'alice'), put(['audit:read', 'support:grant'], 'bob')];
    },
  },
  {
    name: 'a set widened by someone whose own set is narrowed meanwhile',
    prepare: async (w) => {
      await ok(w, putSet('admins', ADMIN));
      await ok(w, assign('alice', 'admins'));
      await ok(w, putSet('helpers', ['documents:read']));
      return [putSet('helpers', ['documents:read', 'support:grant'], 'alice'), putSet('admins', ADMIN.filter((p) => p !== 'support:grant'), 'carol')];
    },
  },
  {
    name: 'two API keys at the cap',
    mints: true,
    env: { ARCHIVE_MAX_API_KEYS: '1' },
    prepare: async () => [
      { method: 'POST', path: 'api-keys', body: { name: 'one', rightsSet: 'auditor' }, as: 'alice' },
      { method: 'POST', path: 'api-keys', body: { name: 'two', rightsSet: 'auditor' }, as: 'bob' },
    ],
  },
  {
    name: 'two rights assignments at the cap',
    env: { ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '5' },
    prepare: async () => [assign('dave', 'auditor', 'alice'), assign('erin', 'auditor', 'bob')],
  },
  {
    name: 'a rights assignment at the cap while another is removed',
    env: { ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: '5' },
    prepare: async (w) => (await ok(w, assign('dave', 'auditor')), [assign('erin', 'auditor', 'alice'), { method: 'DELETE', path: 'rights-assignments/dave', as: 'bob' }]),
  },
  {
    name: 'two rights sets at the cap',
    env: { ARCHIVE_MAX_RIGHTS_SETS: '1' },
    prepare: async () => [putSet('one', ['documents:read'], 'alice'), putSet('two', ['documents:read'], 'bob')],
  },
  {
    name: 'two exports at the cap',
    env: { ARCHIVE_EXPORT_MAX_RUNNING: '1' },
    prepare: async (w) => {
      await docOf(w);
      return [
        { method: 'POST', path: 'exports', body: {}, as: 'alice' },
        { method: 'POST', path: 'exports', body: {}, as: 'bob' },
      ];
    },
  },
  {
    name: 'a key minted at the cap while another is revoked',
    mints: true,
    env: { ARCHIVE_MAX_API_KEYS: '1' },
    prepare: async (w) => {
      const old = (await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'old', rightsSet: 'auditor' }, as: 'alice' })).json;
      return [{ method: 'POST', path: 'api-keys', body: { name: 'new', rightsSet: 'auditor' }, as: 'alice' }, { method: 'DELETE', path: `api-keys/${old.id}`, as: 'bob' }];
    },
  },
  {
    name: 'a key revoked twice',
    mints: true,
    prepare: async (w) => {
      const key = (await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'k', rightsSet: 'auditor' }, as: 'alice' })).json;
      return [{ method: 'DELETE', path: `api-keys/${key.id}`, as: 'alice' }, { method: 'DELETE', path: `api-keys/${key.id}`, as: 'bob' }];
    },
  },
  {
    name: 'a key minted on a set while the set is narrowed',
    mints: true,
    prepare: async (w) => {
      await ok(w, putSet('readers', ['documents:read', 'documents:download']));
      return [{ method: 'POST', path: 'api-keys', body: { name: 'r', rightsSet: 'readers' }, as: 'alice' }, putSet('readers', ['documents:read'], 'bob')];
    },
  },
  {
    name: 'a support grant revoked twice',
    prepare: async (w) => {
      const grant = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-3', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' })).json;
      return [{ method: 'DELETE', path: `support-grants/${grant.id}`, as: 'alice' }, { method: 'DELETE', path: `support-grants/${grant.id}`, as: 'bob' }];
    },
  },
  {
    name: 'an export started while the sweep disposes',
    prepare: async (w) => {
      await dueDocs(w);
      await ok(w, approval(w), 201);
      return [{ method: 'POST', path: 'exports', body: { includeOriginals: true }, as: 'alice' }, { timer: 'retention sweep', run: (x) => runSweepTimer(x.deps) }];
    },
  },
  {
    name: 'a key revoked while it acts',
    mints: true,
    prepare: async (w) => {
      const key = (await ok(w, { method: 'POST', path: 'api-keys', body: { name: 'admin', rightsSet: 'tenant-admin' }, as: 'alice' })).json;
      return [assign('dave', 'auditor', `ApiKey ${key.key}`), { method: 'DELETE', path: `api-keys/${key.id}`, as: 'bob' }];
    },
  },
  {
    name: 'a key minted on a set while the set is deleted',
    mints: true,
    prepare: async (w) => {
      await ok(w, putSet('readers', ['documents:read']));
      return [{ method: 'POST', path: 'api-keys', body: { name: 'r', rightsSet: 'readers' }, as: 'alice' }, { method: 'DELETE', path: 'rights-sets/readers', as: 'bob' }];
    },
  },
  {
    name: 'a support grant revoked while it acts',
    prepare: async (w) => {
      const id = await docOf(w);
      const grant = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'SUP-1', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 86400_000).toISOString() }, as: 'alice' })).json;
      // Provider staff act through the grant by reading (every scope is read-only): a read, audited, while it is revoked.
      return [{ method: 'GET', path: `documents/${id}`, as: 'support.sam' }, { method: 'DELETE', path: `support-grants/${grant.id}`, as: 'bob' }];
    },
  },
  {
    name: 'a rights set deleted while it is assigned',
    prepare: async (w) => {
      await ok(w, putSet('readers', ['documents:read']));
      return [{ method: 'DELETE', path: 'rights-sets/readers', as: 'alice' }, assign('dave', 'readers', 'bob')];
    },
  },
  {
    name: 'a rights set deleted while it is widened',
    prepare: async (w) => {
      await ok(w, putSet('readers', ['documents:read']));
      return [{ method: 'DELETE', path: 'rights-sets/readers', as: 'alice' }, putSet('readers', ['documents:read', 'documents:download'], 'bob')];
    },
  },
  {
    name: 'a rights assignment removed while it is changed',
    // The change may keep who gave the removed assignment (read before the removal): four eyes only the stricter.
    ignored: ['givenBefore'],
    prepare: async (w) => {
      await ok(w, assign('dave', 'auditor'));
      return [{ method: 'DELETE', path: 'rights-assignments/dave', as: 'alice' }, assign('dave', 'accountant', 'bob')];
    },
  },
  {
    name: 'an SoD proposal approved by two people at once',
    prepare: async (w) => {
      const id = await proposeWeakening(w);
      return [{ method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as: 'bob' }, { method: 'POST', path: `sod-policy/proposals/${id}/approve`, body: { reason: 'Agreed too' }, as: 'carol' }];
    },
  },
  {
    name: 'an upload while the retention policy changes its default class',
    prepare: async (w) => {
      const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
      return [upload(), { method: 'PUT', path: 'retention/policy', body: { ...body, classes: [...(body.classes ?? []), { name: 'contracts-12y', years: 12, description: 'Contracts' }], defaultClass: 'contracts-12y' }, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' }];
    },
  },
  {
    name: 'a rights assignment removed twice',
    prepare: async (w) => {
      await ok(w, assign('dave', 'auditor'));
      return [{ method: 'DELETE', path: 'rights-assignments/dave', as: 'alice' }, { method: 'DELETE', path: 'rights-assignments/dave', as: 'bob' }];
    },
  },
  {
    name: 'the retention policy lowered while its author is given retention:approve',
    prepare: async (w) => {
      await ok(w, putSet('records-manager', ['documents:read', 'retention:manage']));
      await ok(w, putSet('approver', ['documents:read', 'retention:manage', 'retention:approve']));
      const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
      const on = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: true }, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' });
      await ok(w, assign('dave', 'records-manager'));
      return [{ method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: false }, headers: { 'If-Match': on.headers.ETag! }, as: 'dave' }, assign('dave', 'approver', 'carol')];
    },
  },
  {
    name: 'a retention lowering approved by two records managers at once',
    prepare: async (w) => {
      const id = await proposeLowering(w);
      return [approveLowering(id, 'erin'), approveLowering(id, 'fay')];
    },
  },
  {
    name: 'a retention lowering approved while it is withdrawn',
    prepare: async (w) => {
      const id = await proposeLowering(w);
      return [approveLowering(id, 'erin'), { method: 'DELETE', path: `retention/policy/proposals/${id}`, as: 'dave' }];
    },
  },
  {
    name: 'a retention lowering approved while its approver is given retention:approve',
    prepare: async (w) => {
      const id = await proposeLowering(w);
      return [approveLowering(id, 'erin'), assign('erin', 'approver')];
    },
  },
  {
    name: 'a retention lowering approved while the policy is changed directly',
    prepare: async (w) => {
      const id = await proposeLowering(w);
      const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
      const raised = { ...body, classes: [...(body.classes ?? []), { name: 'contracts-12y', years: 12, description: 'contracts' }] };
      return [approveLowering(id, 'erin'), { method: 'PUT', path: 'retention/policy', body: raised, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' }];
    },
  },
  {
    name: 'the retention policy put twice on the same If-Match',
    prepare: async (w) => {
      const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
      const put = (name: string, as: string): Call => ({ method: 'PUT', path: 'retention/policy', body: { ...body, classes: [...(body.classes ?? []), { name, years: 12, description: name }] }, headers: { 'If-Match': policy.headers.ETag! }, as });
      return [put('contracts-12y', 'alice'), put('leases-12y', 'bob')];
    },
  },
  {
    name: 'the same bytes uploaded twice',
    prepare: async () => {
      const bytes = scan();
      return [upload(undefined, bytes), upload(undefined, bytes)];
    },
  },
  {
    name: 'the same upload sent twice with one Idempotency-Key',
    prepare: async () => {
      const bytes = scan();
      const keyed = (): Call => ({ ...upload(undefined, bytes), headers: { 'Idempotency-Key': 'race-1' } });
      return [keyed(), keyed()];
    },
  },
  {
    name: 'the same support grant sent twice with one Idempotency-Key',
    prepare: async () => {
      const keyed = (): Call => ({ method: 'POST', path: 'support-grants', body: { ticket: 'SUP-1', scope: 'read-only', expiresAt: new Date(START.getTime() + 2 * 86400_000).toISOString() }, headers: { 'Idempotency-Key': 'race-grant' }, as: 'alice' });
      return [keyed(), keyed()];
    },
  },
  {
    name: 'the same bulk disposal approval sent twice with one Idempotency-Key',
    // Each document is approved once, under the one approval, by either request.
    perDocument: true,
    prepare: async (w) => {
      await dueDocs(w);
      const keyed = (): Call => ({ ...approval(w), headers: { 'Idempotency-Key': 'race-approval' } });
      return [keyed(), keyed()];
    },
  },
  {
    name: 'the same approval of one document sent twice with one Idempotency-Key',
    prepare: async (w) => {
      const [first] = await dueDocs(w);
      const keyed = (): Call => ({ ...approval(w), body: { before: w.clock.now().toISOString(), reason: 'Annual review', documentIds: [first] }, headers: { 'Idempotency-Key': 'race-approval' } });
      return [keyed(), keyed()];
    },
  },
  {
    name: 'a retention extension while the metadata is corrected',
    prepare: async (w) => {
      const id = await docOf(w);
      return [
        { method: 'POST', path: `documents/${id}/retention`, body: { retainUntil: '2090-01-01', reason: 'Litigation' }, as: 'up' },
        { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', fiscalYear: START.getUTCFullYear() + 1 })), type: 'application/merge-patch+json' }, headers: { 'If-Match': '"metadata-1"' }, as: 'alice' },
      ];
    },
  },
];

/** A weakening of the SoD policy (the uploader rule off once alice turned it on), proposed by alice: its id. */
/** Required disposal approval turned on by carol, then proposed off by dave, a records manager; erin and fay are records managers too (appointed before). */
async function proposeLowering(w: World): Promise<string> {
  await ok(w, putSet('records-manager', ['documents:read', 'retention:manage']));
  await ok(w, putSet('approver', ['documents:read', 'retention:manage', 'retention:approve']));
  const policy = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
  const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = policy.json;
  const on = await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: true }, headers: { 'If-Match': policy.headers.ETag! }, as: 'carol' });
  for (const person of ['dave', 'erin', 'fay']) await ok(w, assign(person, 'records-manager'));
  // Appointed before the proposal, not at its instant: a giving at the proposal's time counts as one since it.
  w.clock.advance(60_000);
  return (await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: false }, headers: { 'If-Match': on.headers.ETag! }, as: 'dave' }, 202)).json.id;
}

const approveLowering = (id: string, as: string): Call => ({ method: 'POST', path: `retention/policy/proposals/${id}/approve`, body: { reason: 'Agreed' }, as });

async function proposeWeakening(w: World): Promise<string> {
  const read = await ok(w, { method: 'GET', path: 'sod-policy' });
  const on = await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: true }, headers: { 'If-Match': read.headers.ETag! } });
  return (await ok(w, { method: 'PUT', path: 'sod-policy', body: { conflicts: read.json.conflicts, uploaderCannotApproveDisposal: false }, headers: { 'If-Match': on.headers.ETag! } }, 202)).json.id;
}

// ---- Outcomes and invariants ----

const routeFor = (call: Call) => {
  const match = matchRoute(TABLE, call.method, new URL(`http://localhost/api/${call.path}`).pathname);
  if ('allow' in match) throw new Error(`no route ${call.method} ${call.path}`);
  return match.route as Extract<Operation, { auth: 'tenant' }>;
};

/**
 * Ids, etags, hashes, instants-free text of a stored value: the same in two worlds that stored the same things. Also
 * without what no one reads as an outcome: when a key was last used (a use racing its revocation may not be stamped),
 * and which change moved the tenant's rights gate last (bookkeeping of the order the writes reached the store in).
 */
const DROPPED = /^(etag|_etag|hash|secretHash|salt|keyHash|pepperVersion|requestId|contentKey|sha256|sha256s|size|id|documentId|holdId|proposalId|keyId|grantId|approvalId|jobId|seq|prevHash|lastModified|heartbeatAt|expiresAt|createdAt|updatedAt|at|assignedAt|approvedAt|placedAt|releasedAt|deletedAt|revokedAt|endsAt|decidedAt|startedAt|completedAt|requestedAt|seenAt|disposedAt|prefix|key|fileName|name|lastUsedAt|lastChange)$/;
function neutral(value: unknown, ignored: readonly string[] = []): unknown {
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
function stateView(w: World, ignored: readonly string[] = []): string {
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

interface Outcome {
  answers: string[];
  state: string;
}

const answerOf = (r: PromiseSettledResult<Answer | 'ran'>): string => (r.status === 'rejected' ? `threw ${String(r.reason)}` : r.value === 'ran' ? 'ran' : `${r.value.status}${r.value.json?.code ? ` ${r.value.json.code}` : ''}`);

/** The invariants that hold of any state, whatever the order. */
interface Sent {
  step: Step;
  result: PromiseSettledResult<Answer | 'ran'>;
}

function problems(w: World, sent: Sent[]): string[] {
  const { deps } = w;
  const found: string[] = [];
  const docs: ArchivedDocument[] = [...deps.catalog.documents.values()].filter((d) => d.tenantId === TENANT);
  for (const doc of docs) {
    if (doc.status !== 'active' && doc.status !== 'disposed') found.push(`${doc.id} left ${doc.status}`);
    if (doc.status === 'disposed' && isHeld(doc)) found.push(`disposed ${doc.id} while held`);
    found.push(...blobsDisagree(deps, doc));
  }
  const folders = new Set([...deps.blobs.blobs.keys()].filter((k) => k.startsWith(`${TENANT}/`) && !k.startsWith(`${TENANT}/audit-seals/`)).map((k) => k.split('/')[1]!));
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
    const expected = answer.status >= 200 && answer.status < 300 ? 1 : 0;
    if (success !== expected) found.push(`request ${i + 1} (${answer.status}): ${success} success entries of ${action}, expected ${expected}`);
  });
  if (deps.catalog.outbox.size > 0) found.push(`${deps.catalog.outbox.size} audit outbox items left after sealing`);
  return found;
}

/** Prepare a world, run the pair under `pick`, settle and repair: the outcome and what broke. */
async function runPair(pair: Pair, pick: (step: number) => 0 | 1): Promise<{ outcome: Outcome; broken: string[]; steps: [number, number] }> {
  const w = world(pair.env);
  pngSeq = 0;
  const steps = await pair.prepare(w);
  await settle(w);
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
    broken = problems(w, sent);
  } catch (err) {
    broken = [`a timer failed: ${String(err)}`];
  }
  return { outcome: { answers, state: `${before}\n${stateView(w, pair.ignored)}` }, broken, steps: [...w.scheduler.steps] };
}

/** Every document's stored state (and every other store's) is one that a serial order left. */
function eachDocumentOf(state: string, serial: string[]): boolean {
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
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SWITCHES_EACH_WAY = Number(process.env.RACE_SWEEP_SWITCHES ?? 6);
const RANDOM_SAMPLES = Number(process.env.RACE_SWEEP_SAMPLES ?? 6);

/** Every schedule of the sweep for a pair whose sides take `n` port calls each when alone. */
function schedules(n: [number, number], seed: number, light = false): { name: string; pick: (step: number) => 0 | 1 }[] {
  const SWITCHES = light ? Math.min(3, SWITCHES_EACH_WAY) : SWITCHES_EACH_WAY;
  const SAMPLES = light ? Math.min(3, RANDOM_SAMPLES) : RANDOM_SAMPLES;
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

describe.each(PAIRS.map((p, i) => [p.name, p, i] as const))('%s', (_name, pair, index) => {
  it('at once, the answers and the state are those of one serial order, and nothing is left half done', async () => {
    const serial = [await runPair(pair, () => 0), await runPair(pair, () => 1)];
    const broken: string[] = [];
    for (const [i, s] of serial.entries()) for (const p of s.broken) broken.push(`serial ${i === 0 ? 'first, second' : 'second, first'}: ${p}`);
    const n: [number, number] = [serial[0]!.steps[0], serial[1]!.steps[1]];
    for (const schedule of schedules(n, 1000 + index, pair.mints === true)) {
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
