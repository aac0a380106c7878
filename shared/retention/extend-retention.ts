import type { Deps } from '../deps';
import type { Principal } from '../kernel/principal';
import type { ArchivedDocument } from '../kernel/document';
import { ArchiveError } from '../kernel/errors';
import { STORED_INSTANT } from '../kernel/instant';
import { MIN_REMAINING_RETENTION_MS } from '../kernel/retention-rules';
import type { RetentionExtension } from '../kernel/retention';
import type { AuditStaging } from '../kernel/audit';
import { actorOf, protection, updateDocument } from './update';

/**
 * Moves retain-until later (to a whole second), on every blob (Set Immutability Policy) and then in the
 * catalog. Never shorter: 422. The same date again is a no-op, whose entry says `unchanged` (a retry of a lost answer).
 */
export async function extendRetention(cmd: { principal: Principal; documentId: string; retainUntil: string; reason: string; audit?: AuditStaging }, deps: Pick<Deps, 'retention' | 'blobs' | 'clock' | 'log'>): Promise<ArchivedDocument> {
  const tenantId = cmd.principal.tenantId;
  // Storage locks a blob until a whole second (the immutability header is an RFC 1123 date): a retain-until with
  // milliseconds was kept in the catalog while every blob was locked until the second before it (and the reconciler
  // found them apart at every run). Kept to the whole second at or after the one asked for: never shorter than asked.
  const to = new Date(Math.ceil(Date.parse(cmd.retainUntil) / 1000) * 1000).toISOString();
  if (!STORED_INSTANT.test(to)) {
    throw new ArchiveError('bad_request', { detail: `retainUntil is ${to} once kept to the whole second; the archive keeps instants until 9999-12-31T23:59:59Z.`, extensions: { errors: [{ path: 'retainUntil', message: 'must be at most 9999-12-31T23:59:59Z' }] } });
  }
  // Storage cannot lock a file until a past date: an extension of a document whose retention has ended (awaiting its
  // approval) to a date already past was sent on to storage, which refuses it (a 500). As at ingest: a day ahead at least.
  const earliest = deps.clock.now().getTime() + MIN_REMAINING_RETENTION_MS;
  if (Date.parse(to) < earliest) {
    const message = `is ${to}; an extension keeps a document at least a day from now, until ${new Date(Math.ceil(earliest / 1000) * 1000).toISOString()} or later`;
    throw new ArchiveError('bad_request', { detail: `retainUntil ${message}.`, extensions: { errors: [{ path: 'retainUntil', message }] } });
  }
  return updateDocument(tenantId, cmd.documentId, deps, (doc) => {
    const from = doc.retention.retainUntil;
    if (to < from) {
      throw new ArchiveError('retention_shortening_refused', { detail: `Retention of ${doc.id} runs until ${from}; it can be extended, never shortened.`, extensions: { retainUntil: from } });
    }
    if (to === from) {
      cmd.audit?.unchanged?.(`unchanged:retain-until=${to}`);
      return { next: null, result: doc };
    }
    const extension: RetentionExtension = { from, to, at: deps.clock.now().toISOString(), by: actorOf(cmd.principal), reason: cmd.reason };
    const next: ArchivedDocument = { ...doc, retention: { ...doc.retention, retainUntil: to, extensions: [...(doc.retention.extensions ?? []), extension] } };
    const locks = protection(deps, doc, (name) => deps.blobs.extendRetention(tenantId, name, to));
    return {
      next,
      adds: 'retention extension',
      result: next,
      // In the tamper-evident log too, not only in the (rewritable) catalog item.
      auditDetail: `retain-until=${to};from=${from}`,
      before: locks.before,
      after: locks.after,
    };
  }, cmd.audit);
}
