/**
 * The retention sweep, disposal review, fixity check and reconciler, with a fake clock,
 * through the WORM proxy (ARCHIVE_WORM=enforce). This file uses its own Cosmos database,
 * so the cross-tenant timers see only its tenants' catalog items.
 */
import { BlobServiceClient } from '@azure/storage-blob';
import { randomBytes } from 'node:crypto';
import { hashEntry, verifyChain } from '../../shared/kernel/audit-chain';
import { AUDIT_OUTBOX_GRACE_MS } from '../../shared/kernel/audit';
import { checkFixity } from '../../shared/retention/fixity';
import { HOLD_WRITE_IN_FLIGHT_MS, reconcile } from '../../shared/retention/reconcile';
import { sweep, SweepInput } from '../../shared/retention/sweep';
import { call, putAsRead } from '../support/http';
import { newTenant } from '../support/harness';
import { ingest, startWormArchive, uniqueJpeg, WormArchive } from '../support/worm-archive';

let archive: WormArchive;
beforeAll(async () => {
  archive = await startWormArchive('2025-03-01T12:00:00Z', { COSMOS_DATABASE: `sweep-${randomBytes(4).toString('hex')}` });
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const EXPIRY = '2028-01-01T00:00:00.000Z'; // fiscal year 2020 + 7
const run = (over: Partial<SweepInput> = {}) => sweep({ now: archive.clock.now(), budget: { maxItems: 1000, maxMillis: 60_000 }, continuation: null, ...over }, archive.host.deps);
/** The sealing timer's take-over of audit outbox items, run as it would be once their grace period has passed. */
const drainAsTheSealingTimerDoes = () => archive.host.deps.auditOutbox.drain(new Date(archive.clock.now().getTime() + AUDIT_OUTBOX_GRACE_MS + 60_000), 500);
const mine = (tenant: string, keys: string[]) => keys.filter((k) => k.startsWith(`${tenant}/`)).map((k) => k.split('/')[1]).sort();

async function tenantWith(prefix: string) {
  const tenant = newTenant(prefix);
  return {
    tenant,
    container: `tenant-${tenant}`,
    archivist: await archive.token({ tenant, sub: 'archivist-1', rights: 'archivist' }),
    admin: await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' }),
    auditor: await archive.token({ tenant, sub: 'auditor-1', rights: 'auditor' }),
  };
}

async function auditOf(token: string, month: string) {
  return (await call(`${archive.url}/audit?month=${month}&limit=500`, { token })).json.items as { action: string; target: string; actor: { subject: string }; detail?: string; requestId: string }[];
}

/** Direct Azurite access, bypassing the WORM proxy: what a broken disk or an attacker with account keys could do. */
const behindTheProxy = () => BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString);

describe('retention sweep', () => {
  it('disposes exactly the expired, unheld documents, leaves tombstones and audit entries, resumes, and a second run does nothing', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('sweep');
    const expired = [
      await ingest(archive, t.archivist, { fiscalYear: 2020, counterparty: 'ACME BV', kind: 'invoice' }),
      await ingest(archive, t.archivist, { fiscalYear: 2020 }),
      await ingest(archive, t.archivist, { documentDate: '2020-12-31' }),
    ].sort();
    const held = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    const young = await ingest(archive, t.archivist, { documentDate: '2021-01-01' });
    const hold = await call(`${archive.url}/documents/${held}/legal-holds`, { ...json('POST', { reason: 'tax audit', caseReference: 'BD-9' }), token: t.archivist });
    expect(hold.status).toBe(201);
    // Its placement's entry in the audit log (a release judges four eyes by it): the clock set years back, each request's
    // own send is past its send-by time, and the sealing timer's drain appends it.
    await drainAsTheSealingTimerDoes();

    // One millisecond before the end of retention: nothing.
    archive.clock.set('2027-12-31T23:59:59.999Z');
    expect(mine(t.tenant, (await run()).disposed)).toEqual([]);

    archive.clock.set(EXPIRY);
    const first = await run({ budget: { maxItems: 2, maxMillis: 60_000 } });
    expect(first.continuation).not.toBeNull();
    const second = await run({ continuation: first.continuation });
    expect(second.continuation).toBeNull();
    const disposed = mine(t.tenant, [...first.disposed, ...second.disposed]);
    expect(disposed).toEqual(expired);
    // Nothing but these three: this file's database holds only its own documents (a test host does
    // not adopt the manifests that other test files leave in the shared Azurite).
    expect(first.disposed.length + second.disposed.length).toBe(3);

    for (const id of expired) {
      const doc = (await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json;
      expect(doc).toMatchObject({ id, status: 'disposed', fiscalYear: 2020, retention: { class: 'fiscal-7y', retainUntil: EXPIRY }, disposal: { at: EXPIRY, by: { subject: 'system:retention-sweep', kind: 'system' } } });
      expect(doc.disposal.reason).toMatch(/retention ended/);
      expect(doc.original.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(doc.rendition.sha256).toMatch(/^[0-9a-f]{64}$/);
      expect(doc.original.fileName).toBeNull();
      expect(doc.metadata.counterparty).toBeUndefined();
      const dl = await call(`${archive.url}/documents/${id}/original`, { token: t.archivist });
      expect(dl.status).toBe(410);
      expect(dl.json.code).toBe('document_disposed');
      const left: string[] = [];
      for await (const b of archive.storage.getContainerClient(t.container).listBlobsFlat({ prefix: `${id}/` })) left.push(b.name);
      expect(left).toEqual([]);
    }
    const deletes = archive.proxy.records.filter((r) => r.container === t.container && r.op === 'delete');
    expect(deletes.every((d) => d.status === 202)).toBe(true);
    expect(deletes).toHaveLength(9);

    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose');
    expect(entries.map((e) => e.target).sort()).toEqual(expired);
    expect(entries.every((e) => e.actor.subject === 'system:retention-sweep')).toBe(true);

    // Idempotent: nothing new.
    const again = await run();
    expect(mine(t.tenant, [...again.disposed, ...again.completed])).toEqual([]);
    expect((await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose')).toHaveLength(3);

    // The held one stays until its hold is released (by someone else), then goes.
    expect((await call(`${archive.url}/documents/${held}`, { token: t.archivist })).json.status).toBe('active');
    expect((await call(`${archive.url}/documents/${young}`, { token: t.archivist })).json.status).toBe('active');
    expect((await call(`${archive.url}/documents/${held}/legal-holds/${hold.json.id}`, { ...json('DELETE', { reason: 'closed' }), token: t.admin })).status).toBe(200);
    expect(mine(t.tenant, (await run()).disposed)).toEqual([held]);
  });

  it('with approval required, disposes only what a principal approved; due list shows why', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('approve');
    const policy = await putAsRead(`${archive.url}/retention/policy`, { classes: [{ name: 'contracts-12y', years: 12 }], defaultClass: 'fiscal-7y', requireDisposalApproval: true }, { token: t.admin });
    expect(policy.status).toBe(200);
    expect(policy.json.effectiveClasses).toContainEqual({ name: 'contracts-12y', years: 12 });
    const tooShort = await putAsRead(`${archive.url}/retention/policy`, { classes: [{ name: 'short-5y', years: 5 }] }, { token: t.admin });
    expect(tooShort.status).toBe(422);
    expect(tooShort.json.code).toBe('retention_below_legal_floor');
    expect((await call(`${archive.url}/retention/policy`, { ...json('PUT', { requireDisposalApproval: false }), token: t.archivist })).status).toBe(403);

    const a = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    const b = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    const contract = await ingest(archive, t.archivist, { fiscalYear: 2020, retentionClass: 'contracts-12y' });
    expect((await call(`${archive.url}/documents/${contract}`, { token: t.archivist })).json.retention.retainUntil).toBe('2033-01-01T00:00:00.000Z');

    archive.clock.set(EXPIRY);
    const blocked = await run();
    expect(mine(t.tenant, blocked.disposed)).toEqual([]);
    // Awaiting approval: no work for the sweep (not listed, so not named blocked); both stay.
    expect(blocked.blocked.filter((x) => x.tenantId === t.tenant)).toEqual([]);

    const due = await call(`${archive.url}/retention/due?before=2028-01-01`, { token: t.admin });
    expect(due.status).toBe(200);
    expect(due.json.requireDisposalApproval).toBe(true);
    expect(due.json.items.map((i: { id: string }) => i.id).sort()).toEqual([a, b].sort());
    expect(due.json.items[0]).toMatchObject({ approved: false, blockedBy: 'approval-required', retention: { retainUntil: EXPIRY } });

    const approval = await call(`${archive.url}/retention/approvals`, { ...json('POST', { before: '2028-01-01', reason: 'reviewed 2028 batch', documentIds: [a] }), token: t.admin });
    expect(approval.status).toBe(201);
    expect(approval.json.approved).toEqual([a]);
    expect(mine(t.tenant, (await run()).disposed)).toEqual([a]);
    expect((await call(`${archive.url}/documents/${a}`, { token: t.archivist })).json.disposal).toMatchObject({ by: { subject: 'system:retention-sweep' } });
    expect((await call(`${archive.url}/documents/${b}`, { token: t.archivist })).json.status).toBe('active');
    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose');
    expect(entries).toHaveLength(1);
    expect(entries[0]!.detail).toBe(`retention-ended;approval=${approval.json.approvalId}`);
  });

  it('a crash between blob deletion and the tombstone, or an append refused after it, is finished with one audit entry', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('crash');
    const id = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    archive.clock.set(EXPIRY);
    const { audit } = archive.host.deps;
    const catalog = archive.host.deps.retention.catalog;
    const replace = catalog.replace.bind(catalog);
    const appendBatch = audit.appendBatch.bind(audit);
    // 1st run: crashes writing the tombstone (blobs gone, no entry). 2nd run: the tombstone is stored with its entry, whose append the log refuses.
    const auditSpy = jest.spyOn(audit, 'appendBatch').mockImplementation(async (inputs, opts) => {
      if (inputs.some((i) => i.target === id && i.action === 'document.dispose')) throw new Error('injected refusal');
      return appendBatch(inputs, opts);
    });
    let crashes = 0;
    const spy = jest.spyOn(catalog, 'replace').mockImplementation(async (doc, etag, outbox) => {
      if (doc.id === id && doc.status === 'disposed' && crashes === 0) {
        crashes++;
        throw new Error('injected crash');
      }
      return replace(doc, etag, outbox);
    });
    try {
      await expect(run()).rejects.toThrow('injected crash');
      const half = (await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json;
      expect(half.status).toBe('disposing');
      expect((await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose' && e.target === id)).toHaveLength(0);
      const left: string[] = [];
      for await (const b of archive.storage.getContainerClient(t.container).listBlobsFlat({ prefix: `${id}/` })) left.push(b.name);
      expect(left).toEqual([]);
      // While disposing, a legal hold is refused rather than placed on a half-removed document.
      expect((await call(`${archive.url}/documents/${id}/legal-holds`, { ...json('POST', { reason: 'x', caseReference: 'y' }), token: t.archivist })).json.code).toBe('document_disposed');

      const done = await run(); // tombstone and entry stored together; the append refused is only logged
      expect(mine(t.tenant, done.completed)).toEqual([id]);
      expect((await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose' && e.target === id)).toHaveLength(0);
    } finally {
      spy.mockRestore();
      auditSpy.mockRestore();
    }
    // The sealing timer appends what the run left in the outbox, once however often it runs.
    await drainAsTheSealingTimerDoes();
    await drainAsTheSealingTimerDoes();
    expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json).toMatchObject({ status: 'disposed', disposal: { at: EXPIRY } });
    const tombstone = (await catalog.getVersioned(t.tenant, id))!.item;
    expect(tombstone.disposal).toMatchObject({ at: EXPIRY, audited: true });
    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose' && e.target === id);
    expect(entries).toHaveLength(1);
    // The entry names the run that claimed the document, as the tombstone does, and the document: one request id per disposal.
    expect(entries[0]).toMatchObject({ requestId: `${tombstone.disposal!.runId}:${id}` });
    expect(mine(t.tenant, [...(await run()).disposed, ...(await run()).completed])).toEqual([]);
  });

  it('a crash halfway through appending a batch of disposal entries: the tombstones hold them, the sealing timer appends only the missing ones, and the chain stays whole', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('crash-batch');
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await ingest(archive, t.archivist, { fiscalYear: 2020 }));
    ids.sort();
    archive.clock.set(EXPIRY);
    // The audit container's writes: the first two disposal entries of this tenant go in, then the
    // writes fail. (A round's entries go in one atomic batch, so "halfway" is two rounds: the
    // batch is split here into a stored part and a failure.)
    type Entry = { tenantId: string; action: string };
    const items = (archive.host.deps.audit as unknown as { container: { items: { create: (e: Entry) => Promise<unknown>; batch: (ops: { resourceBody: Entry }[], pk: string) => Promise<unknown> } } }).container.items;
    const create = items.create.bind(items);
    const batch = items.batch.bind(items);
    let mineCreated = 0;
    const isMine = (entry: Entry) => entry.tenantId === t.tenant && entry.action === 'document.dispose';
    const createSpy = jest.spyOn(items, 'create').mockImplementation(async (entry: Entry) => {
      if (isMine(entry) && ++mineCreated >= 3) throw new Error('injected crash');
      return create(entry);
    });
    const batchSpy = jest.spyOn(items, 'batch').mockImplementation(async (ops: { resourceBody: Entry }[], pk: string) => {
      if (!ops.some((op) => isMine(op.resourceBody))) return batch(ops, pk);
      for (const op of ops) {
        if (isMine(op.resourceBody) && ++mineCreated >= 3) throw new Error('injected crash');
        await create(op.resourceBody);
      }
      return { result: ops.map(() => ({ statusCode: 201 })) };
    });
    try {
      expect(mine(t.tenant, (await run({ concurrency: 4 })).disposed)).toEqual(ids);
    } finally {
      createSpy.mockRestore();
      batchSpy.mockRestore();
    }
    expect((await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose')).toHaveLength(2);
    for (const id of ids) expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json.status).toBe('disposed');

    await drainAsTheSealingTimerDoes();
    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose');
    expect(entries.map((e) => e.target).sort()).toEqual(ids);
    const report = (await call(`${archive.url}/audit/verify?month=2028-01`, { token: t.auditor })).json;
    expect(report).toMatchObject({ ok: true, problems: [] });
    expect(report.lastSeq).toBe(report.entries);
  });

  it('two runs at once (an expired timer lease, `npm run sweep` beside the host) dispose of each document once, with one entry', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('overlap');
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push(await ingest(archive, t.archivist, { fiscalYear: 2020 }));
    ids.sort();
    archive.clock.set(EXPIRY);
    // Run A stops after deleting the first document's blobs until run B has swept everything.
    const { disposer } = archive.host.deps.retention;
    const deleteDocument = disposer.deleteDocument.bind(disposer);
    let paused = false;
    let resume!: () => void;
    const resumed = new Promise<void>((r) => (resume = r));
    let reached!: () => void;
    const atPause = new Promise<void>((r) => (reached = r));
    const spy = jest.spyOn(disposer, 'deleteDocument').mockImplementation(async (tenantId, documentId, ordered, now) => {
      const deleted = await deleteDocument(tenantId, documentId, ordered, now);
      if (tenantId === t.tenant && !paused) {
        paused = true;
        reached();
        await resumed;
      }
      return deleted;
    });
    try {
      const a = run({ concurrency: 1 });
      await atPause;
      const b = await run();
      resume();
      const first = await a;
      expect(mine(t.tenant, [...first.disposed, ...first.completed, ...b.disposed, ...b.completed])).toEqual(ids);
    } finally {
      spy.mockRestore();
    }
    await drainAsTheSealingTimerDoes();
    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose');
    expect(entries.map((e) => e.target).sort()).toEqual(ids);
    for (const id of ids) expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).json.status).toBe('disposed');
  });

  it('finishes what an earlier version left: a claim without a planned record, a claim whose entry it appended, and a tombstone not yet audited', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('legacy');
    const claimedId = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    const loggedId = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    const tombId = await ingest(archive, t.archivist, { fiscalYear: 2020 });
    archive.clock.set(EXPIRY);
    const catalog = archive.host.deps.retention.catalog;
    const claimed = (await catalog.getVersioned(t.tenant, claimedId))!;
    expect(await catalog.replace({ ...claimed.item, status: 'disposing' }, claimed.etag)).not.toBe('conflict');
    const oldRun = 'sweep-earlier-version';
    const planned = { at: EXPIRY, by: { subject: 'system:retention-sweep', kind: 'system' as const }, reason: 'retention ended', runId: oldRun, audited: false };
    // An earlier version appended the entry before writing the tombstone, under the run's id, and stopped in between.
    const logged = (await catalog.getVersioned(t.tenant, loggedId))!;
    expect(await catalog.replace({ ...logged.item, status: 'disposing', disposal: planned }, logged.etag)).not.toBe('conflict');
    await archive.host.deps.audit.append({ tenantId: t.tenant, at: EXPIRY, actor: planned.by, action: 'document.dispose', target: loggedId, outcome: 'success', status: 200, requestId: oldRun, clientIp: null, userAgent: null, detail: 'retention-ended' });
    const tomb = (await catalog.getVersioned(t.tenant, tombId))!;
    expect(await catalog.replace({ ...tomb.item, status: 'disposed', disposal: planned }, tomb.etag)).not.toBe('conflict');

    // The claim with no plan and no entry is no claim the archive can tell it made (claims are sealed now): put back to
    // active, intact, and disposed of by the next run as any due document.
    const done = await run();
    expect(mine(t.tenant, done.completed)).toEqual([loggedId, tombId].sort());
    expect(mine(t.tenant, (await run()).disposed)).toEqual([claimedId]);
    for (const id of [claimedId, loggedId, tombId]) expect((await catalog.getVersioned(t.tenant, id))!.item).toMatchObject({ status: 'disposed', disposal: { audited: true } });
    await drainAsTheSealingTimerDoes();
    const entries = (await auditOf(t.auditor, '2028-01')).filter((e) => e.action === 'document.dispose');
    expect(entries.map((e) => e.target).sort()).toEqual([claimedId, loggedId, tombId].sort());
    expect(entries.find((e) => e.target === loggedId)!.requestId).toBe(oldRun);
    expect(entries.find((e) => e.target === tombId)!.requestId).toBe(`${oldRun}:${tombId}`);
    expect(mine(t.tenant, [...(await run()).disposed, ...(await run()).completed])).toEqual([]);
  });

  it('disposal entries of one batch are chained like single appends, also when other writers append meanwhile', async () => {
    const { audit } = archive.host.deps;
    const tenant = newTenant('batch');
    const entry = (i: number) => ({ tenantId: tenant, at: `2028-02-01T00:00:0${i % 10}.000Z`, actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose' as const, target: `doc-${i}`, outcome: 'success' as const, status: 200, requestId: 'r', clientIp: null, userAgent: null });
    const [batch] = await Promise.all([audit.appendBatch(Array.from({ length: 12 }, (_, i) => entry(i))), ...Array.from({ length: 6 }, (_, i) => audit.append(entry(100 + i)))]);
    expect(batch.map((e) => e.target)).toEqual(Array.from({ length: 12 }, (_, i) => `doc-${i}`));
    const stored = await audit.all(tenant, '2028-02');
    expect(stored.map((e) => e.seq).sort((a, b) => a - b)).toEqual(Array.from({ length: 18 }, (_, i) => i + 1));
    expect(verifyChain(`${tenant}:2028-02`, stored, [], { headSeq: await audit.headSeq(tenant, '2028-02'), key: await audit.chainKey() })).toMatchObject({ ok: true, problems: [] });
    // Each batch entry links to whatever entry precedes it in the chain, and carries the hash a single append would give it.
    const bySeq = new Map(stored.map((e) => [e.seq, e]));
    for (const e of batch) {
      expect(e.prevHash).toBe(bySeq.get(e.seq - 1)?.hash ?? '0'.repeat(64));
      expect(hashEntry(e, await audit.chainKey())).toBe(e.hash);
    }
  });
});

describe('fixity check and reconciler', () => {
  /** The reconciler's blob walk is bounded per run and covers every tenant in the shared Azurite: run it to the end. */
  async function reconcileAllFolders() {
    const first = await reconcile({ now: archive.clock.now(), maxItems: 1000, continuation: null }, archive.host.deps);
    for (let next = first.folderContinuation; next; ) {
      const more = await reconcile({ now: archive.clock.now(), maxItems: 1000, continuation: null, folderContinuation: next }, archive.host.deps);
      first.indexed.push(...more.indexed);
      next = more.folderContinuation;
    }
    return first;
  }

  it('finds a corrupted blob, audits it and reports it on /health/ready', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('fixity');
    const good = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const bad = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const clean = await checkFixity({ now: archive.clock.now(), cycleDays: 30, maxItems: 1000, continuation: null }, archive.host.deps);
    expect(clean.failures.filter((f) => f.tenantId === t.tenant)).toEqual([]);

    // Bit rot (or tampering past the store's protection): overwrite the original behind the proxy.
    const forged = uniqueJpeg();
    await behindTheProxy().getContainerClient(t.container).getBlockBlobClient(`${bad}/original.jpg`).upload(forged, forged.length);
    archive.clock.set('2025-05-01T00:00:00Z'); // a cycle later
    const result = await checkFixity({ now: archive.clock.now(), cycleDays: 30, maxItems: 1000, continuation: null }, archive.host.deps);
    expect(result.failures.filter((f) => f.tenantId === t.tenant)).toEqual([{ tenantId: t.tenant, documentId: bad, mismatched: [`${bad}/original.jpg`], missing: [] }]);
    expect((await call(`${archive.url}/documents/${good}`, { token: t.archivist })).status).toBe(200);
    const entries = (await auditOf(t.auditor, '2025-05')).filter((e) => e.action === 'document.fixity-failed');
    expect(entries).toMatchObject([{ target: bad, actor: { subject: 'system:fixity-check' }, detail: 'mismatch:original.jpg' }]);
    const ready = await call(`${archive.url}/health/ready`);
    expect(ready.json.fixity).toMatchObject({ status: 'failures' });
    expect(ready.json.fixity.damagedDocuments).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(ready.json)).not.toContain(t.tenant);
  });

  it('indexes a document whose catalog write crashed, and flags a catalog item without blobs', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('recon');
    const catalog = archive.host.deps.catalog;
    const spy = jest.spyOn(catalog, 'create').mockRejectedValueOnce(new Error('injected crash before indexing'));
    const form = new FormData();
    form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
    const failed = await call(`${archive.url}/documents`, { method: 'POST', body: form, token: t.archivist });
    spy.mockRestore();
    expect(failed.status).toBe(500);
    const stored: string[] = [];
    // Not the archivist's sign-in kept copy (sightings/…): the document's blobs.
    for await (const b of archive.storage.getContainerClient(t.container).listBlobsFlat()) if (!b.name.startsWith('sightings/')) stored.push(b.name);
    expect(stored).toHaveLength(3);
    const id = stored[0]!.split('/')[0]!;
    expect((await call(`${archive.url}/documents/${id}`, { token: t.archivist })).status).toBe(404);

    const lost = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    await behindTheProxy().getContainerClient(t.container).getBlobClient(`${lost}/rendition.pdf`).delete();

    const result = await reconcileAllFolders();
    expect(result.indexed).toContain(`${t.tenant}/${id}`);
    expect(result.flagged).toContainEqual({ tenantId: t.tenant, documentId: lost, missing: [`${lost}/rendition.pdf`] });
    const doc = await call(`${archive.url}/documents/${id}`, { token: t.archivist });
    expect(doc.status).toBe(200);
    expect(doc.json.retention.retainUntil).toBe('2033-01-01T00:00:00.000Z');
    const entries = await auditOf(t.auditor, '2025-03');
    expect(entries.filter((e) => e.action === 'document.reindex').map((e) => e.target)).toEqual([id]);
    expect(entries.filter((e) => e.action === 'document.blobs-missing').map((e) => e.target)).toEqual([lost]);
    // A second run changes nothing.
    const again = await reconcileAllFolders();
    expect(again.indexed.filter((k) => k.startsWith(t.tenant))).toEqual([]);
    expect(again.flagged.filter((f) => f.tenantId === t.tenant)).toEqual([]);
  });

  it('a hold release that crashed before clearing the blob flags, and a flag lost at storage, are brought in line with the catalog, audited, once', async () => {
    archive.clock.set('2025-03-01T12:00:00Z');
    const t = await tenantWith('resync');
    const released = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const held = await ingest(archive, t.archivist, { fiscalYear: 2024 });
    const place = (id: string) => call(`${archive.url}/documents/${id}/legal-holds`, { ...json('POST', { reason: 'dispute', caseReference: 'C-9' }), token: t.archivist });
    const hold = (await place(released)).json;
    expect((await place(held)).status).toBe(201);
    await drainAsTheSealingTimerDoes(); // the placements' entries, which the releases below are judged by
    const flags = (id: string) => ['original.jpg', 'rendition.pdf', 'manifest.json'].map((n) => archive.proxy.state(t.container, `${id}/${n}`)?.legalHold);

    // The release writes the catalog, then crashes before the blobs' flags are cleared.
    const blobs = archive.host.deps.blobs;
    const spy = jest.spyOn(blobs, 'setLegalHold').mockRejectedValueOnce(new Error('injected crash'));
    const crashed = await call(`${archive.url}/documents/${released}/legal-holds/${hold.id}`, { ...json('DELETE', { reason: 'settled' }), token: t.admin });
    spy.mockRestore();
    expect(crashed.status).toBe(500);
    expect((await call(`${archive.url}/documents/${released}`, { token: t.archivist })).json.legalHold).toBe(false);
    expect(flags(released)).toEqual([true, true, true]);
    // The other one lost a flag at storage level (someone with account access).
    await archive.storage.getContainerClient(t.container).getBlobClient(`${held}/rendition.pdf`).setLegalHold(false);
    expect(flags(held)).toEqual([true, false, true]);

    // Past the window in which the release may still be clearing them itself (reconcile.ts HOLD_WRITE_IN_FLIGHT_MS).
    const later = new Date(archive.clock.now().getTime() + HOLD_WRITE_IN_FLIGHT_MS);
    const result = await reconcile({ now: later, maxItems: 1000, continuation: null }, archive.host.deps);
    const mineResynced = result.holdsResynced.filter((r) => r.tenantId === t.tenant).sort((a, b) => (a.documentId === released ? -1 : b.documentId === released ? 1 : 0));
    expect(mineResynced).toEqual([
      { tenantId: t.tenant, documentId: released, legalHold: false, blobs: [`${released}/manifest.json`, `${released}/original.jpg`, `${released}/rendition.pdf`] },
      { tenantId: t.tenant, documentId: held, legalHold: true, blobs: [`${held}/rendition.pdf`] },
    ]);
    expect(flags(released)).toEqual([false, false, false]);
    expect(flags(held)).toEqual([true, true, true]);
    const entries = (await auditOf(t.auditor, '2025-03')).filter((e) => e.action === 'legal-hold.resync');
    expect(entries.map((e) => [e.target, e.detail]).sort()).toEqual(
      [
        [released, 'cleared:manifest.json,original.jpg,rendition.pdf'],
        [held, 'set:rendition.pdf'],
      ].sort(),
    );
    expect(entries.every((e) => e.actor.subject === 'system:reconciler')).toBe(true);
    // The released document can now go when its retention ends; a second run changes nothing.
    const again = await reconcile({ now: later, maxItems: 1000, continuation: null }, archive.host.deps);
    expect(again.holdsResynced.filter((r) => r.tenantId === t.tenant)).toEqual([]);
    expect((await auditOf(t.auditor, '2025-03')).filter((e) => e.action === 'legal-hold.resync')).toHaveLength(2);
  });
});
