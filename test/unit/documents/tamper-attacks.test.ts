/**
 * A document's catalog item diverging from its WORM blobs: someone who can write Cosmos DB but not break the blobs' WORM
 * (an operator's restore to an earlier point, a lost item, a person with data-plane write access), or an ordinary user
 * after such an event. `test/unit/faults/tamper-sweep.test.ts` changes files and checksums; these change what the
 * catalog says about a document (its metadata, fiscal year, retention, state) and what comes back after a restore.
 */
import { blobLayout } from '../../../shared/kernel/blob-layout';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import { FIXITY_MISMATCH } from '../../../shared/retention/fixity';
import { CORRECTION_UNAUDITED } from '../../../shared/retention/reconcile';
import { runFixityTimer, runReconcileTimer, runSweepTimer } from '../../../shared/retention/timers';
import { DISPOSAL_CLAIM_UNSEALED } from '../../../shared/retention/dispose';
import type { InMemoryExportJobs, RecordingLogger } from '../../support/in-memory';
import { docOf, ok, send, settle, TENANT, world, type World } from '../../support/in-process';

jest.mock('node:timers/promises', () => ({ ...jest.requireActual<object>('node:timers/promises'), setTimeout: async () => new Promise((r) => setImmediate(r)) }));

const item = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
/** Changes the catalog item as a data-plane write (or a restore) would: no API, no audit entry. */
const edit = (w: World, id: string, change: (d: ArchivedDocument) => ArchivedDocument) => void w.deps.catalog.documents.set(`${TENANT}/${id}`, change(structuredClone(item(w, id))));
const errors = (w: World, from = 0) => (w.deps.log as RecordingLogger).lines.slice(from).filter((l) => l.level === 'error').map((l) => l.message);
const mark = (w: World) => (w.deps.log as RecordingLogger).lines.length;

async function exported(w: World): Promise<{ status: string; documents?: { id: string; metadata: Record<string, unknown>; fiscalYear: number }[] }> {
  const job = (await ok(w, { method: 'POST', path: 'exports', body: {}, as: 'alice' })).json;
  const jobs = (w.deps.exportJobs as InMemoryExportJobs).jobs;
  for (let i = 0; i < 2000; i++) {
    const j = jobs.get(`${TENANT}/${job.id as string}`);
    if (j && j.status !== 'running') return { status: j.status };
    await settle(w);
    await new Promise((r) => setTimeout(r, 2));
  }
  throw new Error('export still running');
}

async function fixity(w: World) {
  w.clock.advance(400 * 86400_000);
  await runFixityTimer(w.deps);
}

const correct = (w: World, id: string, patch: object, version = 1) => ok(w, { method: 'PATCH', path: `documents/${id}/metadata`, raw: { bytes: Buffer.from(JSON.stringify({ reason: 'Typo', ...patch })), type: 'application/merge-patch+json' }, headers: { 'If-Match': `"metadata-${version}"` }, as: 'alice' });

describe('served untrue: the catalog says other metadata than the blobs witness', () => {
  const EDITS: [string, (d: ArchivedDocument) => ArchivedDocument][] = [
    ['the amount', (d) => ({ ...d, metadata: { ...d.metadata, amount: 1 } })],
    ['the counterparty', (d) => ({ ...d, metadata: { ...d.metadata, counterparty: 'Someone Else BV' } })],
    ['the kind', (d) => ({ ...d, metadata: { ...d.metadata, kind: d.metadata.kind === 'receipt' ? 'invoice' : 'receipt' } })],
    ['the fiscal year', (d) => ({ ...d, fiscalYear: d.fiscalYear - 1, metadata: { ...d.metadata, fiscalYear: d.fiscalYear - 1 } })],
    ['the retention class', (d) => ({ ...d, retention: { ...d.retention, class: 'immovable-property-10y' } })],
  ];
  describe.each([['as ingested', false], ['corrected once', true]] as const)('a document %s', (_n, corrected) => {
    it.each(EDITS)('%s edited: the fixity check and an export both refuse to vouch for it', async (_field, change) => {
      const w = world();
      const a = await docOf(w, { amount: 100, currency: 'EUR', counterparty: 'Acme BV', kind: 'invoice', fiscalYear: 2024 });
      if (corrected) await correct(w, a, { amount: 120 });
      edit(w, a, change);
      const from = mark(w);
      expect((await exported(w)).status).toBe('failed');
      expect(errors(w, from)).toContain(FIXITY_MISMATCH);
      const again = mark(w);
      await fixity(w);
      expect(item(w, a).fixity?.ok).toBe(false);
      expect(errors(w, again)).toContain(FIXITY_MISMATCH);
    });
  });
  it('the same document untouched passes both (no false alarm), corrected or not', async () => {
    const w = world();
    const a = await docOf(w, { amount: 100, currency: 'EUR', counterparty: 'Acme BV', kind: 'invoice', fiscalYear: 2024 });
    const b = await docOf(w, { fiscalYear: 2024 });
    await correct(w, a, { amount: 120, fiscalYear: 2025 });
    await correct(w, b, { retentionClass: 'immovable-property-10y' });
    expect((await exported(w)).status).toBe('completed');
    await fixity(w);
    expect([item(w, a).fixity?.ok, item(w, b).fixity?.ok]).toEqual([true, true]);
    expect(errors(w)).toEqual([]);
  });
});

describe('served untrue: a correction forged in the catalog is never made WORM truth', () => {
  it('a correction added to the item without its request (no audit entry, no blob): the reconciler does not write its blob, and alerts', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const a = await docOf(w, { amount: 100, currency: 'EUR', counterparty: 'Acme BV', kind: 'invoice', fiscalYear: 2024 });
    edit(w, a, (d) => {
      const metadata = { ...d.metadata, amount: 1 };
      const forged = { version: 2, at: w.clock.now().toISOString(), by: { subject: 'alice', kind: 'user' }, reason: 'Typo', changes: [{ field: 'amount', from: 100, to: 1 }], metadata };
      return { ...d, metadata, metadataVersion: 2, metadataHistory: [forged], correctedAt: forged.at };
    });
    const from = mark(w);
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    expect(w.deps.blobs.blobs.has(`${TENANT}/${blobLayout.correction(a, 2)}`)).toBe(false);
    w.clock.advance(2 * 86400_000);
    await runReconcileTimer(w.deps);
    expect(w.deps.blobs.blobs.has(`${TENANT}/${blobLayout.correction(a, 2)}`)).toBe(false);
    expect(errors(w, from).join()).toContain(CORRECTION_UNAUDITED);
    // Nor vouched for: the version's witness is missing past the reconciler's reach.
    expect((await exported(w)).status).toBe('failed');
    await fixity(w);
    expect(item(w, a).fixity?.ok).toBe(false);
  });
  it('a correction whose blob write failed is still written by the reconciler (its audit entry is in the log)', async () => {
    const w = world();
    w.deps.audit.chained = true;
    const a = await docOf(w, { amount: 100, currency: 'EUR', fiscalYear: 2024 });
    await correct(w, a, { amount: 120 });
    w.deps.blobs.blobs.delete(`${TENANT}/${blobLayout.correction(a, 2)}`);
    const from = mark(w);
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    expect(w.deps.blobs.blobs.has(`${TENANT}/${blobLayout.correction(a, 2)}`)).toBe(true);
    expect(errors(w, from)).toEqual([]);
  });
});

describe('disposed of early or hidden: retention, holds and state edited in the catalog', () => {
  const entries = (w: World, id: string) => w.deps.audit.entries.filter((e) => e.target === id).map((e) => `${e.action} ${e.detail ?? ''}`);
  it.each([
    ['restored behind an extension (the extension gone from the item)', (d: ArchivedDocument) => ({ ...d, retention: { class: d.retention.class, retainUntil: d.retention.extensions![0]!.from } })],
    ['its retain-until shortened by an edit', (d: ArchivedDocument) => ({ ...d, retention: { ...d.retention, retainUntil: '2026-01-01T00:00:00.000Z' } })],
  ])('%s: the reconciler takes back the later retain-until the blobs are locked to, audited, as a rebuild does', async (_n, change) => {
    const w = world();
    const a = await docOf(w, { fiscalYear: 2024 });
    await ok(w, { method: 'POST', path: `documents/${a}/retention`, body: { retainUntil: '2040-01-01T00:00:00Z', reason: 'Dispute' }, as: 'up' });
    expect(item(w, a).retention.retainUntil).toBe('2040-01-01T00:00:00.000Z');
    edit(w, a, change);
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    expect(item(w, a).retention.retainUntil).toBe('2040-01-01T00:00:00.000Z');
    expect((await send(w, { method: 'GET', path: `documents/${a}` })).json.retention.retainUntil).toBe('2040-01-01T00:00:00.000Z');
    expect(entries(w, a).filter((e) => e.startsWith('document.reindex')).join()).toContain('retain-until-restored=2040-01-01T00:00:00.000Z');
  });
  it('an extension between its blobs and its catalog write, a reconciler run between the two: the extension keeps its own record', async () => {
    const w = world();
    const a = await docOf(w, { fiscalYear: 2024 });
    const to = '2040-01-01T00:00:00.000Z';
    // The extension's storage step: every blob locked later, its catalog write still to come.
    for (const b of await w.deps.blobs.documentBlobWorm(TENANT, a)) await w.deps.blobs.extendRetention(TENANT, b.name, to);
    await runReconcileTimer(w.deps);
    expect(item(w, a).retention.retainUntil).toBe('2032-01-01T00:00:00.000Z');
    await ok(w, { method: 'POST', path: `documents/${a}/retention`, body: { retainUntil: to, reason: 'Dispute' }, as: 'up' });
    w.clock.advance(3600_000);
    await runReconcileTimer(w.deps);
    expect(item(w, a).retention.extensions?.map((e) => `${e.by.subject} ${e.to}`)).toEqual([`up ${to}`]);
    expect(item(w, a).retentionBehindSeenAt).toBeUndefined();
    expect(entries(w, a).filter((e) => e.includes('retain-until-restored'))).toEqual([]);
  });
  it('a live document set `disposing` (hidden from the fixity check, the reconciler and exports): the sweep finds the claim not sealed by the archive, puts it back to active untouched, alerted each time', async () => {
    const w = world();
    const a = await docOf(w, { fiscalYear: 2024 });
    edit(w, a, (d) => ({ ...d, status: 'disposing' }));
    const from = mark(w);
    await runSweepTimer(w.deps);
    expect(item(w, a).status).toBe('active');
    expect(w.deps.blobs.blobs.has(`${TENANT}/${item(w, a).original.blobName}`)).toBe(true);
    edit(w, a, (d) => ({ ...d, status: 'disposing' }));
    w.clock.advance(3 * 86400_000);
    await runSweepTimer(w.deps);
    expect(item(w, a).status).toBe('active');
    expect(errors(w, from)).toEqual([DISPOSAL_CLAIM_UNSEALED, DISPOSAL_CLAIM_UNSEALED]);
  });
});
