import type { Deps } from '../deps';
import type { HoldQuery } from '../kernel/search';
import { samePerson } from '../auth/sod';
import type { Principal } from '../kernel/principal';
import { ArchiveError } from '../kernel/errors';
import { uuidv7 } from '../ids';
import type { LegalHold } from '../kernel/retention';
import { actorOf, blobNamesOf, updateDocument } from './update';

export interface PlaceHold {
  principal: Principal;
  documentId: string;
  reason: string;
  caseReference: string;
}

type HoldDeps = Pick<Deps, 'retention' | 'blobs' | 'clock'>;

async function setBlobHolds(deps: HoldDeps, tenantId: string, names: string[], hold: boolean): Promise<void> {
  for (const name of names) await deps.blobs.setLegalHold(tenantId, name, hold);
}

/**
 * Places a legal hold. The blobs' legal-hold flag is set first, then the catalog: if the
 * second write fails the store is still protected (fail closed), and a retry is harmless.
 */
export async function placeHold(cmd: PlaceHold & { holdId?: string; query?: LegalHold['query'] }, deps: HoldDeps): Promise<LegalHold> {
  const tenantId = cmd.principal.tenantId;
  const hold: LegalHold = {
    id: cmd.holdId ?? uuidv7(deps.clock.now().getTime()),
    reason: cmd.reason,
    caseReference: cmd.caseReference,
    placedAt: deps.clock.now().toISOString(),
    placedBy: actorOf(cmd.principal),
    ...(cmd.query ? { query: cmd.query } : {}),
  };
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    if ((doc.holds ?? []).some((h) => h.id === hold.id)) return { next: null, result: hold };
    return {
      next: { ...doc, legalHold: true, holds: [...(doc.holds ?? []), hold] },
      result: hold,
      before: () => setBlobHolds(deps, tenantId, blobNamesOf(doc), true),
    };
  });
}

/**
 * One hold over every active document matching the query (a tax audit of a year, a dispute with
 * a counterparty). At most ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS documents: the matches are collected
 * first, and a broader query is refused (400 `invalid_query`, with `matched` and `limit`) before
 * any hold is placed; the caller narrows it (a counterparty within a year) or holds in parts.
 */
export async function placeHoldsByQuery(cmd: Omit<PlaceHold, 'documentId'> & { query: HoldQuery }, deps: HoldDeps & Pick<Deps, 'config'>): Promise<{ holdId: string; documentIds: string[] }> {
  const tenantId = cmd.principal.tenantId;
  const limit = deps.config.ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS;
  const documentIds: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.matching(tenantId, cmd.query, 100, token);
    documentIds.push(...page.items.map((d) => d.id));
    if (documentIds.length > limit) {
      const matched = await deps.retention.catalog.countMatching(tenantId, cmd.query);
      throw new ArchiveError('invalid_query', {
        detail: `The query matches ${matched} documents; one legal hold by query covers at most ${limit}. Nothing was held: narrow the query (e.g. a counterparty within a fiscal year) or place the hold in parts.`,
        extensions: { reason: 'hold-query-too-broad', matched, limit },
      });
    }
    token = page.continuationToken ?? undefined;
  } while (token);
  const holdId = uuidv7(deps.clock.now().getTime());
  for (const documentId of documentIds) await placeHold({ ...cmd, documentId, holdId, query: cmd.query }, deps);
  return { holdId, documentIds };
}

/**
 * Releases one hold. Four eyes: the principal who placed it cannot release it. The
 * catalog is written first; the blobs' flag is cleared only when no other hold is open.
 */
export async function releaseHold(cmd: { principal: Principal; documentId: string; holdId: string; reason: string }, deps: HoldDeps): Promise<LegalHold> {
  const tenantId = cmd.principal.tenantId;
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    const holds = doc.holds ?? [];
    const hold = holds.find((h) => h.id === cmd.holdId);
    if (!hold) throw new ArchiveError('hold_not_found', { detail: `Document ${doc.id} has no legal hold ${cmd.holdId.slice(0, 64)}.` });
    if (hold.releasedAt) throw new ArchiveError('hold_already_released', { detail: `The hold was released at ${hold.releasedAt}.`, extensions: { releasedAt: hold.releasedAt } });
    if (samePerson(cmd.principal, hold.placedBy)) {
      throw new ArchiveError('four_eyes_required', {
        detail: 'Four-eyes rule: a legal hold must be released by a different person than the one who placed it (an API key acts for the person who created it).',
        extensions: { rule: 'four-eyes:legal-hold-release', placedBy: hold.placedBy.subject },
      });
    }
    const released: LegalHold = { ...hold, releasedAt: deps.clock.now().toISOString(), releasedBy: actorOf(cmd.principal), releaseReason: cmd.reason };
    const next = holds.map((h) => (h.id === hold.id ? released : h));
    const stillHeld = next.some((h) => !h.releasedAt);
    return {
      next: { ...doc, holds: next, legalHold: stillHeld },
      result: released,
      ...(stillHeld ? {} : { after: () => setBlobHolds(deps, tenantId, blobNamesOf(doc), false) }),
    };
  });
}

/**
 * Releases a hold on every document that carries it (a hold placed by query). Four eyes
 * as for one document. Documents without that open hold are left alone.
 */
export async function releaseHoldEverywhere(cmd: { principal: Principal; holdId: string; reason: string }, deps: HoldDeps): Promise<{ holdId: string; documentIds: string[] }> {
  const carrying: string[] = [];
  let token: string | undefined;
  do {
    const page = await deps.retention.catalog.held(cmd.principal.tenantId, 100, token);
    for (const doc of page.items) if ((doc.holds ?? []).some((h) => h.id === cmd.holdId && !h.releasedAt)) carrying.push(doc.id);
    token = page.continuationToken ?? undefined;
  } while (token);
  if (carrying.length === 0) throw new ArchiveError('hold_not_found', { detail: `No document carries an open legal hold ${cmd.holdId.slice(0, 64)}.` });
  for (const documentId of carrying) await releaseHold({ ...cmd, documentId }, deps);
  return { holdId: cmd.holdId, documentIds: carrying };
}
