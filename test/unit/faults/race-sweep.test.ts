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
import type { Permission } from '../../../shared/kernel/principal';
import { runSweepTimer } from '../../../shared/retention/timers';
import { ADMIN, approval, assign, type Call, docOf, dueDocs, hold, ok, type Pair, putSet, scan, START, sweepPairs, upload, type World } from '../../support/in-process';

// A wait in the code (a write polling a disposal claim) is one more turn of the scheduler, not real time: whether the
// other request goes on meanwhile is the schedule's to decide, and the sweep stays fast.
jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

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
    // Rights from the tenant, then the claim: the remover must hold what the assignment's placer held. rm2 placed it; a
    // tenant-admin (holding all rm2 holds) replacing it meanwhile makes it hers, and rm2's removal is then refused.
    name: "a rights assignment removed by its placer while a tenant-admin replaces it",
    ignored: ['givenBefore'],
    prepare: async (w) => {
      await ok(w, putSet('records', ADMIN.filter((p) => p !== 'retention:approve')));
      await ok(w, assign('rm2', 'records'));
      await ok(w, assign('frank', 'auditor', 'rm2'));
      return [{ method: 'DELETE', path: 'rights-assignments/frank', as: 'rm2' }, assign('frank', 'accountant', 'carol')];
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


sweepPairs(PAIRS);
