import { isReleased } from '../../kernel/retention-rules';
import { ArchiveError } from '../../kernel/errors';
import type { Principal } from '../../kernel/principal';
import type { LegalHold } from '../../kernel/retention';
import { type HoldDeps, skippedDocument, type SkippedDocument } from './legal-hold';
import { assertMayRelease, placedAsKnown, releaseHold, type ReleaseDeps } from './release-hold';
import { keyReader, withKeyPerson } from '../../auth/api-keys/verify-api-key';
import { rightsGivenTo } from '../../auth/rights-sets/rights-given';
import type { AuditStaging } from '../../kernel/audit';
import { stagedWithFirstChange } from '../../audit/outbox';
import { actorOf } from '../update';
import { holdByQueryRecord, markHoldByQueryReleased } from './place-holds-by-query';
import { HOLD_PLACEMENT_UNWITNESSED, placementForRelease, unreachedCarriers } from './placement-witness';

/**
 * Releases a hold on every document that carries it (a hold placed by query). Four eyes
 * as for one document, checked on every document before any is released. Documents without
 * that open hold are left alone; one released or disposed of by another request meanwhile is
 * reported in `skipped`, and the release goes on to the rest, so the request never stops
 * half-way with some documents released and the answer saying it failed.
 */
export async function releaseHoldEverywhere(cmd: { principal: Principal; holdId: string; reason: string; audit?: AuditStaging }, deps: ReleaseDeps): Promise<{ holdId: string; documentIds: string[]; skipped: SkippedDocument[] }> {
  const carrying = await carryingOpen(cmd.principal.tenantId, cmd.holdId, deps);
  // An open hold by query is released although no document carries it open now (none matched yet, or each was
  // released alone): it would reach every document archived into its query later.
  const record = await holdByQueryRecord(cmd.principal.tenantId, cmd.holdId, deps);
  const placing = record && !isReleased(record, deps.clock.now()) ? [{ placedBy: record.placedBy, placedAt: record.createdAt }] : [];
  const placings = [...carrying.map((c) => c.hold), ...placing];
  if (placings.length === 0) throw new ArchiveError('hold_not_found', { detail: `No document carries an open legal hold ${cmd.holdId.slice(0, 64)}.` });
  // Who placed it and when, as its placement's keyed audit entry says, read once for every document (placement-witness.ts):
  // the placer and time Cosmos DB holds on the documents and the record are anyone's who can write it. None found, for a
  // hold stored as placed before keying began: each placing judged as stored (alerted).
  const tenantId = cmd.principal.tenantId;
  const placement = await placementForRelease(tenantId, cmd.holdId, null, { byQuery: record !== null || placings.some((p) => 'query' in p && p.query !== undefined), bySystem: placings.every((p) => p.placedBy?.kind === 'system') }, placings, deps, carrying.map((c) => c.documentId));
  // A document its entries do not show the hold reached (or show it released from since) carries a hold renamed to
  // this one, whose placer is not the one judged: skipped, alerted, and the rest released (unreachedCarriers).
  const unreached = placement ? await unreachedCarriers(tenantId, cmd.holdId, placement, carrying, deps) : [];
  const judged = placement ? [placement] : placings;
  // Read once, from the earliest placing on: givings before it cannot make the releaser the placer's second identity.
  const releaser = await rightsGivenTo(cmd.principal, deps, judged.map((c) => c.placedAt).reduce((a, b) => (b < a ? b : a)));
  // Each placer with their person: one from before persons were kept placed through a key is that key's person (withKeyPerson).
  const keys = keyReader(tenantId, deps);
  const placers = await Promise.all(judged.map((p) => withKeyPerson(p.placedBy, keys)));
  for (const hold of judged) assertMayRelease(cmd.principal, releaser, placedAsKnown(hold, placers));
  // Noted before any document is released: the reconciler extends it no further, and a retry of the placement racing
  // this release, or made once the released documents are disposed of, holds nothing more (place-holds-by-query.ts);
  // either, having read it open before, releases what it placed after (releasedMeanwhile). A crash after it leaves the
  // hold open where it was, for this release to be sent again.
  const entry = stagedWithFirstChange(cmd.audit, cmd.holdId);
  await markHoldByQueryReleased(cmd.principal.tenantId, cmd.holdId, { by: actorOf(cmd.principal), at: deps.clock.now().toISOString(), reason: cmd.reason }, deps, entry.staging);
  // Read again once noted: a placement that read the hold open before (the reconciler, a retry) and placed it after the
  // read above, but looked for the release before it was noted (releasedMeanwhile), left a document under it that
  // neither this release nor that placement went over: held on after the release, which answered it not. Every
  // placement from the note on finds it, so this read and releasedMeanwhile between them reach every document.
  const since = record ? (await carryingOpen(cmd.principal.tenantId, cmd.holdId, deps)).filter((c) => !carrying.some((d) => d.documentId === c.documentId)) : [];
  // As are those: a hold renamed to this one once the note was seen would be read here.
  if (placement && since.length > 0) unreached.push(...(await unreachedCarriers(tenantId, cmd.holdId, placement, since, deps)));
  for (const { documentId } of unreached) deps.log.error(HOLD_PLACEMENT_UNWITNESSED, { tenantId, holdId: cmd.holdId, documentId, reason: 'not placed on this document by the hold\'s entries; skipped' });
  const released: string[] = [];
  const skipped: SkippedDocument[] = unreached.map(({ documentId }) => ({ documentId, reason: 'hold_placement_unwitnessed' }));
  for (const { documentId } of [...carrying, ...since]) {
    if (unreached.some((u) => u.documentId === documentId)) continue;
    try {
      await releaseHold({ ...cmd, documentId, audit: entry.staging, releaser, placers, placement }, deps);
      released.push(documentId);
    } catch (err) {
      skipped.push(skippedDocument(documentId, err, ['hold_already_released', 'document_disposed', 'document_not_found', 'hold_placement_unwitnessed']));
    }
  }
  return { holdId: cmd.holdId, documentIds: released, skipped };
}

/** The documents that carry the hold open now, with the hold as placed on each (four eyes judge the release by it). */
async function carryingOpen(tenantId: string, holdId: string, deps: HoldDeps): Promise<{ documentId: string; hold: Pick<LegalHold, 'placedBy' | 'placedAt' | 'query' | 'extendedAt'> }[]> {
  const carrying: { documentId: string; hold: Pick<LegalHold, 'placedBy' | 'placedAt' | 'query' | 'extendedAt'> }[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.held(tenantId, 100, token);
    for (const doc of page.items) {
      const hold = (doc.holds ?? []).find((h) => h.id === holdId && !isReleased(h, deps.clock.now()));
      if (hold) carrying.push({ documentId: doc.id, hold });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  return carrying;
}
