import { BlobServiceClient, RestError } from '@azure/storage-blob';
import type { Deps } from '../app';
import type { AuditEntry } from '../audit/types';
import { auditPartition } from '../audit/types';
import { BlobArchive } from '../storage/blobs';
import type { ArchivedDocument } from '../documents/types';
import type { Actor, DisposalRecord } from './types';

/**
 * The only code in the archive that removes blob versions. It is built in the composition
 * root and used by the retention sweep alone, after `disposalBlocker` found nothing that
 * keeps the document.
 */
export class BlobDisposer {
  constructor(private readonly service: BlobServiceClient) {}

  /**
   * Deletes every version of every blob under the document (manifest last, so the
   * reconciler can never re-index a half-disposed document). Already-gone blobs count as
   * deleted, so a re-run after a crash finishes the job. Storage refusals propagate.
   */
  async deleteDocument(tenantId: string, documentId: string, ordered: string[]): Promise<number> {
    const container = this.service.getContainerClient(BlobArchive.containerName(tenantId));
    const listed: { name: string; versionId?: string }[] = [];
    for await (const b of container.listBlobsFlat({ prefix: `${documentId}/`, includeVersions: true })) listed.push({ name: b.name, ...(b.versionId ? { versionId: b.versionId } : {}) });
    const names = [...new Set([...ordered, ...listed.map((b) => b.name)])].sort((a, b) => rank(a) - rank(b));
    let deleted = 0;
    for (const name of names) {
      const blob = container.getBlobClient(name);
      // With versioning, deleting the base blob turns the current version into a previous one;
      // then every version is deleted by id.
      if (await gone(() => blob.delete())) deleted++;
      for (const v of listed.filter((b) => b.name === name && b.versionId)) {
        await gone(() => blob.withVersion(v.versionId!).delete());
      }
    }
    return deleted;
  }
}

const rank = (name: string) => (name.endsWith('/manifest.json') ? 2 : name.endsWith('/rendition.pdf') ? 1 : 0);

/** Runs a delete; true if it deleted, false if the blob was already gone. */
async function gone(del: () => Promise<unknown>): Promise<boolean> {
  try {
    await del();
    return true;
  } catch (err) {
    if (err instanceof RestError && err.statusCode === 404) return false;
    throw err;
  }
}

export type Blocker = 'not-expired' | 'legal-hold' | 'approval-required' | 'not-active';

/** Why a document may not be disposed of now, or null when it may. */
export function disposalBlocker(doc: ArchivedDocument, now: Date, requireApproval: boolean): Blocker | null {
  if (doc.status === 'disposed') return 'not-active';
  if (doc.legalHold || (doc.holds ?? []).some((h) => !h.releasedAt)) return 'legal-hold';
  if (new Date(doc.retention.retainUntil).getTime() > now.getTime()) return 'not-expired';
  if (requireApproval && doc.disposalApproval?.retainUntil !== doc.retention.retainUntil) return 'approval-required';
  return null;
}

export const SWEEP_ACTOR: Actor = { subject: 'system:retention-sweep', kind: 'system' };

/** The tombstone: what stays when the document is gone. Hashes, dates, class, who and why; no content, no names. */
export function tombstoneOf(doc: ArchivedDocument, disposal: DisposalRecord): ArchivedDocument {
  const { counterparty: _c, amount: _a, currency: _cur, reference: _r, tags: _t, ...metadata } = doc.metadata;
  const { fixity: _f, disposalApproval: _d, ...rest } = doc;
  return {
    ...rest,
    status: 'disposed',
    metadata,
    original: { ...doc.original, fileName: null },
    originals: doc.originals.map((o) => ({ ...o, fileName: null })),
    legalHold: false,
    disposal,
  };
}

export type DisposeOutcome = 'disposed' | 'completed' | { blocked: Blocker | 'storage-refused' | 'changed'; detail?: string };

/**
 * Disposes of one document, idempotently and crash-safely:
 * claim (status `disposing`, so a concurrent hold sees it) → delete blobs → tombstone
 * (`audited: false`) → audit entry (unless one exists) → `audited: true`.
 * Every step is re-checked against the catalog, so a re-run resumes where a crash stopped.
 */
export async function disposeDocument(
  tenantId: string,
  id: string,
  ctx: { now: Date; runId: string; requireApproval: boolean },
  deps: Pick<Deps, 'retention' | 'audit' | 'log'>,
): Promise<DisposeOutcome> {
  const { catalog, disposer } = deps.retention;
  let current = await catalog.getVersioned(tenantId, id);
  if (!current) return { blocked: 'changed', detail: 'gone from the catalog' };
  let doc = current.item;
  const resumed = doc.status !== 'active';

  if (doc.status === 'active') {
    const blocker = disposalBlocker(doc, ctx.now, ctx.requireApproval);
    if (blocker) return { blocked: blocker };
    const claimed: ArchivedDocument = { ...doc, status: 'disposing' };
    if ((await catalog.replace(claimed, current.etag)) === 'conflict') return { blocked: 'changed', detail: 'changed while being claimed' };
    current = (await catalog.getVersioned(tenantId, id))!;
    doc = current.item;
  }

  if (doc.status === 'disposing') {
    if (doc.legalHold) return { blocked: 'legal-hold' };
    try {
      await disposer.deleteDocument(tenantId, id, [...doc.originals.map((o) => o.blobName), doc.rendition.blobName, `${id}/manifest.json`]);
    } catch (err) {
      // The store refused (retention extended or hold set at storage level): the catalog goes back to active.
      const code = err instanceof RestError ? (err.code ?? String(err.statusCode)) : String(err);
      deps.log.warn('disposal refused by storage', { tenantId, documentId: id, code });
      const back = await catalog.getVersioned(tenantId, id);
      if (back?.item.status === 'disposing') await catalog.replace({ ...back.item, status: 'active' }, back.etag);
      return { blocked: 'storage-refused', detail: code };
    }
    const approval = doc.disposalApproval;
    const disposal: DisposalRecord = {
      at: ctx.now.toISOString(),
      by: SWEEP_ACTOR,
      reason: `retention ended: class ${doc.retention.class}, retain-until ${doc.retention.retainUntil}`,
      runId: ctx.runId,
      ...(approval ? { approval } : {}),
      audited: false,
    };
    if ((await catalog.replace(tombstoneOf(doc, disposal), current.etag)) === 'conflict') return { blocked: 'changed', detail: 'changed while blobs were deleted' };
    current = (await catalog.getVersioned(tenantId, id))!;
    doc = current.item;
  }

  if (doc.status === 'disposed' && doc.disposal && !doc.disposal.audited) {
    const at = new Date(doc.disposal.at);
    // Only a resumed disposal can have logged already (a tombstone made in this call cannot): the
    // query is skipped on the common path, which keeps a large sweep from rescanning the log.
    if (!(resumed && (await hasDisposalEntry(deps, tenantId, id, at)))) {
      await deps.audit.append({
        tenantId,
        at: doc.disposal.at,
        actor: doc.disposal.by,
        action: 'document.dispose',
        target: id,
        outcome: 'success',
        status: 200,
        requestId: doc.disposal.runId,
        clientIp: null,
        userAgent: null,
        detail: doc.disposal.approval ? `retention-ended;approval=${doc.disposal.approval.approvalId}` : 'retention-ended',
      });
    }
    await catalog.replace({ ...doc, disposal: { ...doc.disposal, audited: true } }, current.etag);
    return resumed ? 'completed' : 'disposed';
  }
  return { blocked: 'not-active' };
}

/** A crash between the audit append and `audited: true` must not log the disposal twice. */
async function hasDisposalEntry(deps: Pick<Deps, 'retention'>, tenantId: string, id: string, at: Date): Promise<boolean> {
  const partition = auditPartition(tenantId, at);
  const { resources } = await deps.retention.audit.items
    .query<AuditEntry>(
      { query: 'SELECT c.id FROM c WHERE c.partition = @p AND c.action = "document.dispose" AND c.target = @id', parameters: [{ name: '@p', value: partition }, { name: '@id', value: id }] },
      { partitionKey: partition },
    )
    .fetchAll();
  return resources.length > 0;
}
