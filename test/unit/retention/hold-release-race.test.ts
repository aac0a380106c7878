/**
 * A release racing a placement on one document: whatever the order, the blobs end flagged while the
 * catalog holds the document (a release cleared the flags a newer hold had just set).
 */
import { releaseHold } from '../../../shared/retention/holds/release-hold';
import type { ArchivedDocument } from '../../../shared/kernel/document';
import type { Principal } from '../../../shared/kernel/principal';
import { blobLayout } from '../../../shared/kernel/blob-layout';
import { inMemoryDeps, type InMemoryDeps } from '../../support/in-memory';
import { seedDocument, placeHoldWitnessed } from '../../support/seed';
import { gate } from '../../support/interleave';

const T = 'acme';
const placer: Principal = { tenantId: T, subject: 'alice', kind: 'user', rightsSet: 'legal', permissions: new Set(['holds:place', 'holds:release']) };
const releaser: Principal = { tenantId: T, subject: 'bob', kind: 'user', rightsSet: 'legal', permissions: new Set(['holds:place', 'holds:release']) };

async function heldDocument(deps: InMemoryDeps): Promise<{ doc: ArchivedDocument; holdId: string }> {
  const doc = await seedDocument(deps, T, { metadata: { documentDate: '2024-05-01' } });
  await deps.blobs.putCreateOnly(T, blobLayout.manifest(doc.id), Buffer.from('{}'), 'application/json', { retainUntil: doc.retention.retainUntil, legalHold: false }, {});
  const hold = await placeHoldWitnessed({ principal: placer, documentId: doc.id, reason: 'audit', caseReference: 'case-1' }, deps);
  return { doc, holdId: hold.id };
}

const flags = async (deps: InMemoryDeps, id: string) => (await deps.blobs.documentBlobWorm(T, id)).map((b) => b.legalHold);

/** A gate a port call waits at until the test opens it. */
const settle = () => new Promise((r) => setImmediate(r));

it('a hold placed after the release was written, before its flags were cleared, keeps its flags', async () => {
  const deps = inMemoryDeps();
  const { doc, holdId } = await heldDocument(deps);
  const clearing = gate();
  const setLegalHold = deps.blobs.setLegalHold.bind(deps.blobs);
  deps.blobs.setLegalHold = async (tenantId, name, hold) => {
    if (!hold) await clearing.wait;
    return setLegalHold(tenantId, name, hold);
  };
  const release = releaseHold({ principal: releaser, documentId: doc.id, holdId, reason: 'case closed' }, deps);
  await settle();
  await placeHoldWitnessed({ principal: placer, documentId: doc.id, reason: 'dispute', caseReference: 'case-2' }, deps);
  clearing.open();
  await release;
  expect((await deps.catalog.get(T, doc.id))!.legalHold).toBe(true);
  expect(await flags(deps, doc.id)).toEqual([true, true, true]);
});

it('a hold whose flags were set before the release cleared them, and whose catalog write came after, keeps its flags', async () => {
  const deps = inMemoryDeps();
  const { doc, holdId } = await heldDocument(deps);
  const clearing = gate();
  const placementWrite = gate();
  const setLegalHold = deps.blobs.setLegalHold.bind(deps.blobs);
  deps.blobs.setLegalHold = async (tenantId, name, hold) => {
    if (!hold) await clearing.wait;
    return setLegalHold(tenantId, name, hold);
  };
  // The placement reads the released item and sets its flags; its catalog write waits until the release is done.
  const replace = deps.retention.catalog.replace.bind(deps.retention.catalog);
  let paused = false;
  deps.retention.catalog.replace = async (next, etag, outbox) => {
    if (!paused && (next.holds ?? []).some((h) => h.caseReference === 'case-2')) {
      paused = true;
      clearing.open();
      await placementWrite.wait;
    }
    return replace(next, etag, outbox);
  };
  const release = releaseHold({ principal: releaser, documentId: doc.id, holdId, reason: 'case closed' }, deps);
  await settle();
  const placement = placeHoldWitnessed({ principal: placer, documentId: doc.id, reason: 'dispute', caseReference: 'case-2' }, deps);
  await release;
  placementWrite.open();
  await placement;
  expect((await deps.catalog.get(T, doc.id))!.legalHold).toBe(true);
  expect(await flags(deps, doc.id)).toEqual([true, true, true]);
});

it('a release with nothing racing it clears the flags', async () => {
  const deps = inMemoryDeps();
  const { doc, holdId } = await heldDocument(deps);
  expect(await flags(deps, doc.id)).toEqual([true, true, true]);
  await releaseHold({ principal: releaser, documentId: doc.id, holdId, reason: 'case closed' }, deps);
  expect((await deps.catalog.get(T, doc.id))!.legalHold).toBe(false);
  expect(await flags(deps, doc.id)).toEqual([false, false, false]);
});
