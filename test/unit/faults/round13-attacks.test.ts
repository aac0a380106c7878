/**
 * Round 13: attacks on the controls of the session before (sealed outbox items, keyed witnesses). Each case is an
 * attack that broke, with the fix it got; see each block's comment.
 */
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import { type AuditEntry, type AuditInput, type AuditOutboxItem, auditMonth, auditOutboxItem, markedOutboxUnsealed } from '../../../shared/kernel/audit';
import { auditHolds } from '../../../shared/audit/audit-pages';
import { runSweepTimer } from '../../../shared/retention/timers';
import { runExport } from '../../../shared/exports/run-export';
import { startExport } from '../../../shared/exports/start-export';
import type { Principal } from '../../../shared/kernel/principal';
import * as yauzl from 'yauzl';
import { inMemoryDeps, InMemoryExportBlobs, ListingCatalog } from '../../support/in-memory';
import { seedMany } from '../../support/seed';
import type { LegalHold } from '../../../shared/kernel/retention';
import { type Call, drainedAsTheSealingTimer, dueDocs, hold, ok, send, START, TENANT, upload, world, type World } from '../../support/in-process';

const BOB = { subject: 'bob', kind: 'user' as const, person: 'bob' };
const outbox = (w: World) => (w.deps.catalog as unknown as { outbox: Map<string, AuditOutboxItem> }).outbox;

/** An entry written straight into the audit container by whoever can write Cosmos DB: no chain key, so no valid hash. */
function plantedEntry(w: World, input: AuditInput): void {
  const month = auditMonth(new Date(input.at));
  const entry: AuditEntry = { ...input, id: `planted-${w.deps.audit.entries.length}`, partition: `${TENANT}:${month}`, seq: 9_999, prevHash: '0'.repeat(64), hash: '0'.repeat(64), alg: 'sha256' } as unknown as AuditEntry;
  w.deps.audit.entries.push(entry);
}

const drained = drainedAsTheSealingTimer;

/**
 * "Already in the log?" lookups (AuditLogPort.appendOnce, a resumed disposal's) took any entry with the request's id,
 * action and outcome (or the document's `document.dispose`): one planted straight into the audit container (unkeyed), or
 * appended marked from a planted outbox item, SHADOWED the genuine entry, which was then never appended: the log lost a
 * hold's placement, a disposal. Now only an entry the archive keyed, unmarked, counts (a genuine retry's earlier append is
 * keyed, so it still does).
 */
describe('a planted entry with a genuine change\'s request id does not shadow the genuine entry', () => {
  const genuine = (at: string): AuditInput => ({ tenantId: TENANT, at, actor: BOB, action: 'legal-hold.place', target: 'doc-1', outcome: 'success', status: 201, requestId: 'genuine-1', clientIp: null, userAgent: null, detail: 'hold=h-1' });
  const keyedGenuine = (w: World, at: string) => auditHolds(w.deps.audit, TENANT, { action: 'legal-hold.place', target: 'doc-1' }, [at], (e) => e.requestId === 'genuine-1' && e.detail === 'hold=h-1');

  it.each([
    ['an unkeyed entry written into the audit container', async (w: World, entry: AuditInput) => plantedEntry(w, { ...entry, detail: 'hold=h-2' })],
    ['an unsealed outbox item drained (marked) before it', async (w: World, entry: AuditInput) => {
      const item = auditOutboxItem([{ ...entry, detail: 'hold=h-2' }], { at: new Date(Date.parse(entry.at) - 1000).toISOString(), name: 'planted' });
      outbox(w).set(`${TENANT}/${item.id}`, item);
    }],
    ['a marked entry, keyed (an earlier drain of a planted item)', async (w: World, entry: AuditInput) => void (await w.deps.audit.appendBatch([markedOutboxUnsealed({ ...entry, detail: 'hold=h-2' })]))],
  ])('%s: the genuine outbox item is still appended, keyed', async (_, plant) => {
    const w = world();
    const at = w.clock.now().toISOString();
    const record = w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId('up')}`)!.value;
    await w.deps.tenantRecords.upsert(record, auditOutboxItem([genuine(at)]));
    await plant(w, genuine(at));
    await drained(w);
    expect(await keyedGenuine(w, at)).toBe(true);
  });

  it.each([
    ['a genuine retry', (e: AuditInput) => e],
    ['a drain of an unsealed item retried after a crash', markedOutboxUnsealed],
  ])('%s: the earlier keyed append counts, nothing appended twice', async (_, as) => {
    const w = world();
    const at = w.clock.now().toISOString();
    await w.deps.audit.appendBatch([as(genuine(at))]);
    expect(await w.deps.audit.appendOnce([as(genuine(at))])).toBe(false);
    expect(w.deps.audit.entries.filter((e) => e.requestId === 'genuine-1')).toHaveLength(1);
  });

  it('a resumed disposal: a planted `document.dispose` does not stand for its entry', async () => {
    const w = world();
    const [id] = await dueDocs(w);
    // A genuine claim (sealed by its run, since claims are: an unsealed one goes back to active), its run stopped at the deletes.
    const disposer = w.deps.retention.disposer;
    const stopped = jest.spyOn(disposer, 'deleteDocument').mockRejectedValue(new Error('host stopped'));
    await runSweepTimer(w.deps);
    stopped.mockRestore();
    const { disposal } = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    const at = disposal!.at;
    plantedEntry(w, { tenantId: TENANT, at, actor: { subject: 'system:retention-sweep', kind: 'system' }, action: 'document.dispose', target: id!, outcome: 'success', status: 200, requestId: `${disposal!.runId}:${id}`, clientIp: null, userAgent: null, detail: 'retention-ended' });
    await runSweepTimer(w.deps);
    expect(w.deps.catalog.documents.get(`${TENANT}/${id}`)?.status).toBe('disposed');
    expect(await auditHolds(w.deps.audit, TENANT, { action: 'document.dispose', target: id! }, [at], () => true)).toBe(true);
  });
});

/** One file of a ZIP, as text. */
async function zipped(buf: Buffer, name: string): Promise<string> {
  const zip = await new Promise<yauzl.ZipFile>((resolve, reject) => yauzl.fromBuffer(buf, { lazyEntries: true }, (e, z) => (e ? reject(e) : resolve(z))));
  return new Promise<string>((resolve, reject) => {
    zip.on('entry', (entry: yauzl.Entry) => {
      if (entry.fileName !== name) return zip.readEntry();
      zip.openReadStream(entry, (e, stream) => {
        if (e) return reject(e);
        const parts: Buffer[] = [];
        stream.on('data', (c: Buffer) => parts.push(c));
        stream.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
      });
    });
    zip.on('end', () => reject(new Error(`${name} not in the ZIP`)));
    zip.readEntry();
  });
}

/**
 * An export's manifest names the audit entry of the request that started it (found by its request id, which the job in
 * Cosmos DB shows). Broke: any entry so named was taken, so one written into the audit container by whoever can write it
 * (newer, so listed first) was what the export cited as its request's entry. Now only an entry the archive keyed.
 */
it('an export cites its request\'s keyed entry, not one planted with its request id', async () => {
  const deps = { ...inMemoryDeps(), catalog: new ListingCatalog() };
  await seedMany(deps, 'acme', [{ metadata: { documentDate: '2018-06-01', reference: 'R-1' } }]);
  const principal = { tenantId: 'acme', subject: 'accountant', kind: 'user', rightsSet: 'accountant', permissions: new Set() } as unknown as Principal;
  const { job } = await startExport(principal, { includeOriginals: false }, 'req-1', deps);
  const at = job.createdAt;
  const [genuine] = await deps.audit.appendBatch([{ tenantId: 'acme', at, actor: { subject: 'accountant', kind: 'user' }, action: 'export.create', target: job.id, outcome: 'success', status: 202, requestId: 'req-1', clientIp: null, userAgent: null }]);
  deps.audit.entries.push({ ...genuine!, id: 'planted', seq: 9_999, at: new Date(Date.parse(at) + 1000).toISOString(), hash: '0'.repeat(64) });
  const done = await runExport('acme', job.id, deps);
  const manifest = JSON.parse(await zipped((deps.exportBlobs as InMemoryExportBlobs).blobs.get(`acme/${done.blobName}`)!, 'manifest.json')) as { export: { auditEntryId: string } };
  expect(manifest.export.auditEntryId).toBe(genuine!.id);
});

/**
 * A hold is known to its release's witness only by its id: whoever can write Cosmos DB renames bob's own open hold to the
 * id of a hold carol placed (released since, on the same document; or open on another document), names carol its placer,
 * and bob releases it through the API past four eyes, the blobs' legal-hold flags cleared.
 */
describe('a hold renamed to another placer\'s hold id is not released by its own placer', () => {
  const releaseOne = (id: string, holdId: string): Call => ({ method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as: 'bob' });
  const releaseEverywhere = (holdId: string): Call => ({ method: 'DELETE', path: `legal-holds/${holdId}`, body: { reason: 'Over' }, as: 'bob' });
  const flags = (w: World, id: string) => [...w.deps.blobs.blobs].filter(([k]) => k.startsWith(`${TENANT}/${id}/`)).map(([, b]) => b.worm.legalHold);
  const renamed = (w: World, id: string, from: string, to: LegalHold) => {
    const doc = w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
    doc.holds = doc.holds!.filter((h) => h.id !== to.id).map((h) => (h.id === from ? { ...h, id: to.id, placedBy: to.placedBy, placedAt: to.placedAt } : h));
  };
  const holdOf = (w: World, id: string, holdId: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!.holds!.find((h) => h.id === holdId)!;

  it.each([
    ['carol\'s hold on the same document, released since', false, false],
    ['carol\'s open hold on another document, released everywhere', true, false],
    ['carol\'s hold by query on the same document, released there since', false, true],
  ])('%s', async (_, everywhere, byQuery) => {
    const w = world();
    // bob and carol may place holds too (as sealed-outbox.test.ts gives up).
    w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('lead')}`, { value: { id: rightsSetRecordId('lead'), tenantId: TENANT, type: 'rights-set', name: 'lead', permissions: ['documents:read', 'documents:write', 'holds:place', 'holds:release', 'rights:manage'], updatedAt: START.toISOString(), updatedBy: { subject: 'root', kind: 'user' } } as never, etag: 2004 });
    for (const who of ['bob', 'carol']) (w.deps.tenantRecords.records.get(`${TENANT}/${rightsAssignmentRecordId(who)}`)!.value as unknown as { rightsSet: string }).rightsSet = 'lead';
    const d = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
    const e = everywhere ? ((await ok(w, upload({ counterparty: 'Other BV', fiscalYear: 2024 }), 201)).json.id as string) : d;
    const carols = byQuery
      ? ((await ok(w, { method: 'POST', path: 'legal-holds', body: { reason: 'Audit', caseReference: 'C-1', query: { counterparty: 'ACME GmbH' } }, as: 'carol' }, 201)).json.holdId as string)
      : ((await ok(w, hold(e, 'C-1', 'carol'), 201)).json.id as string);
    const carolsHold = structuredClone(holdOf(w, e, carols));
    if (!everywhere) await ok(w, { method: 'DELETE', path: `documents/${d}/legal-holds/${carols}`, body: { reason: 'Over' }, as: 'alice' }, 200);
    const bobs = (await ok(w, hold(d, 'C-2', 'bob'), 201)).json.id as string;
    renamed(w, d, bobs, carolsHold);
    const answer = await send(w, everywhere ? releaseEverywhere(carols) : releaseOne(d, carols));
    expect(answer.status).not.toBe(200);
    expect(flags(w, d).every(Boolean)).toBe(true);
  });
});
