import type { Deps } from '../deps';
import type { ArchivedDocument } from '../kernel/document';
import { uuidv7 } from '../ids';
import { DisposeOutcome, finishDisposals, prepareDisposal, PreparedDisposal } from './dispose';
import { tenantPolicy } from './tenant-policy';
import { walkCursor } from './cursor';
import { withdrawExportsHolding, withdrawMarkedExports } from '../exports/withdraw-exports';
import { openHoldQueries } from './holds/place-holds-by-query';
import { type UncheckedDocument, UncheckedDocuments } from './unchecked';
import { approvalChecks } from './approve-disposal';
import { keptPolicyRequiresApproval } from '../auth/rights-sets/settings-blobs';

export interface Budget {
  /** Documents looked at (disposed or not) before the run stops with a continuation. */
  maxItems: number;
  /** Wall time (by deps.clock) before the run stops with a continuation. */
  maxMillis: number;
}

/** Candidates fetched per query, and disposal entries appended per audit batch. */
const SWEEP_BATCH = 100;

export interface SweepInput {
  /** The instant retention is judged against. */
  now: Date;
  budget: Budget;
  /** From the previous run's result; null starts from the first tenant. */
  continuation: string | null;
  /** Claims and blob deletes of one tenant's batch run this many at once (the batch's audit entries are appended together). Default 4. */
  concurrency?: number;
}

export interface SweepResult {
  runId: string;
  /** Documents disposed of in this run (`tenantId/documentId`). */
  disposed: string[];
  /** Disposals a crashed run had started and this run finished. */
  completed: string[];
  /** Candidates left in place, with the reason (approval missing, storage refused, changed meanwhile…). */
  blocked: { tenantId: string; documentId: string; reason: string }[];
  tenants: number;
  /** Exports withdrawn because documents they held were disposed of in this run. */
  exportsWithdrawn: string[];
  /**
   * Due documents whose claim failed (a write the catalog refuses), named for an operator and passed over: one such
   * document stopped every run at it, and so every tenant behind it (the next run resumed at the same place). The
   * next cycle tries it again.
   */
  unchecked: UncheckedDocument[];
  /** Where the next run resumes; null when every tenant was swept. */
  continuation: string | null;
}

interface Cursor {
  tenant: string;
  after: string;
}

export const cursor = walkCursor<Cursor>((c) => typeof c.after === 'string');

/**
 * Visit active documents tenant by tenant, resuming from a continuation, until `maxItems`
 * visits have counted (a visit that returns false, e.g. a fresh fixity check, does not count).
 * The bounded walk shared by the fixity check and the reconciler.
 */
export function unsafeWalkActiveDocuments(
  deps: Pick<Deps, 'blobs' | 'retention'>,
  continuation: string | null,
  maxItems: number,
  visit: (tenantId: string, doc: ArchivedDocument) => Promise<boolean>,
): Promise<{ visited: number; continuation: string | null }> {
  return unsafeWalkTenantsById(deps, continuation, maxItems, (tenantId, after) => deps.retention.catalog.activeAfter(tenantId, after, 50), visit);
}

/**
 * Items a walk may pass over without counting (a fixity check still fresh) per item it may count: a run reads at most
 * `maxItems` times this many. Unbounded, a tenant with a million documents checked this cycle had every fixity run
 * read them all before the first one due (a function's timeout ends such a run before it stores its continuation,
 * so the next run read them again); now the run stops there with a continuation, and the next goes on.
 */
export const UNCOUNTED_PER_ITEM = 20;

/**
 * Visit each tenant's items (`page`: up to 50 of them after an id, by id) tenant by tenant, resuming from a
 * continuation, until `maxItems` visits have counted, or `maxItems * UNCOUNTED_PER_ITEM` were made. The timers'
 * bounded walks (active documents, orphan listings).
 */
export async function unsafeWalkTenantsById<T extends { id: string }>(
  deps: Pick<Deps, 'blobs'>,
  continuation: string | null,
  maxItems: number,
  page: (tenantId: string, after: string) => Promise<T[]>,
  visit: (tenantId: string, item: T) => Promise<boolean>,
): Promise<{ visited: number; continuation: string | null }> {
  const from = cursor.decode(continuation);
  let visited = 0;
  let looked = 0;
  const done = () => visited >= maxItems || looked >= maxItems * UNCOUNTED_PER_ITEM;
  for (const tenantId of await unsafeTenantsFrom(deps, from?.tenant ?? null)) {
    let after = from && tenantId === from.tenant ? from.after : '';
    for (;;) {
      if (done()) return { visited, continuation: cursor.encode({ tenant: tenantId, after }) };
      const batch = await page(tenantId, after);
      if (batch.length === 0) break;
      for (const item of batch) {
        if (done()) break;
        after = item.id;
        looked++;
        if (await visit(tenantId, item)) visited++;
      }
    }
  }
  return { visited, continuation: null };
}

/** Tenants in a stable order, from the cross-tenant listing (timers only). */
export async function unsafeTenantsFrom(deps: Pick<Deps, 'blobs'>, first: string | null): Promise<string[]> {
  const all: string[] = [];
  for await (const t of deps.blobs.unsafeListTenants()) if (first === null || t >= first) all.push(t);
  return all.sort();
}

/**
 * The retention sweep: walks the tenants and disposes of every document past its
 * retain-until, without an open legal hold, and approved where the tenant requires it.
 * Bounded by `budget`; returns a continuation. Idempotent: a re-run finds nothing new,
 * and a run after a crash finishes the disposals the crash interrupted.
 */
export async function sweep(input: SweepInput, deps: Pick<Deps, 'retention' | 'blobs' | 'audit' | 'auditOutbox' | 'log' | 'clock' | 'exportJobs' | 'exportBlobs' | 'tenantRecords' | 'config' | 'rights'>): Promise<SweepResult> {
  const started = deps.clock.now().getTime();
  const runId = `sweep-${uuidv7(started)}`;
  const now = input.now.toISOString();
  const from = cursor.decode(input.continuation);
  const unchecked = new UncheckedDocuments('retention sweep', deps.log);
  const result: SweepResult = { runId, disposed: [], completed: [], blocked: [], exportsWithdrawn: [], unchecked: unchecked.documents, tenants: 0, continuation: null };
  let items = 0;
  const exhausted = () => items >= input.budget.maxItems || deps.clock.now().getTime() - started >= input.budget.maxMillis;
  // Each batch's audit entries and tombstones are written while the next batch is claimed and its
  // blobs deleted; batches finish one after the other, in order. A failure stops the run.
  let finishing: Promise<void> = Promise.resolve();
  let failed = false;
  const finishLater = (tenantId: string, prepared: PreparedDisposal[]) => {
    finishing = finishing.then(async () => {
      // No copy of a disposed document stays downloadable: exports holding one are withdrawn
      // (audited), running ones marked. Every prepared document's blobs are gone; this comes before
      // the tombstones, so a run stopped here leaves them `disposing` and the next run withdraws again.
      const disposedIds = prepared.map((p) => p.id);
      const marked: string[] = [];
      result.exportsWithdrawn.push(...(await withdrawExportsHolding(tenantId, disposedIds, input.now, deps, marked)));
      const outcomes = await finishDisposals(prepared, deps);
      // The running ones marked, looked at again now that the disposal entries are in the log (a mark can be deleted).
      if (marked.length > 0) result.exportsWithdrawn.push(...(await withdrawMarkedExports(tenantId, marked, disposedIds, input.now, deps)));
      prepared.forEach((p, i) => record(result, tenantId, p.id, outcomes[i]!));
    });
    finishing.catch(() => {
      failed = true;
    });
  };

  const walk = async (): Promise<void> => {
    for (const tenantId of await unsafeTenantsFrom(deps, from?.tenant ?? null)) {
      result.tenants++;
      let after = from && tenantId === from.tenant ? from.after : '';
      // Read as stored now, once per tenant and run: a hold by query placed after this read reaches its documents itself
      // (one the run claimed first is reported in its `skipped`).
      const openHolds = await openHoldQueries(tenantId, deps);
      // Where the tenant requires approval, only approved documents are listed: those awaiting an approval cost no budget
      // (a tenant's thousands never approved would fill every run). Read as the run comes to the tenant; each document is
      // still judged by the policy as it is when the run reaches it (approval turned on meanwhile stops it there).
      // The kept policy is read once per tenant and run, and only where Cosmos DB's says approval is not required.
      let kept: Promise<boolean> | undefined;
      const keptRequires = () => (kept ??= keptPolicyRequiresApproval(tenantId, deps));
      const approvedOnly = await approvalRequired(tenantId, deps, keptRequires);
      // Each approval's audit entry looked up once a run: one approval covers a year's documents.
      const approvalRefused = approvalChecks(tenantId, deps);
      for (;;) {
        if (failed) return;
        if (exhausted()) {
          result.continuation = cursor.encode({ tenant: tenantId, after });
          return;
        }
        const batch = await deps.retention.catalog.sweepCandidates(tenantId, now, after, Math.min(SWEEP_BATCH, input.budget.maxItems - items), { approvedOnly });
        if (batch.length === 0) break;
        // The batch is in id order; `after` moves only past documents whose disposal was attempted.
        // Claims and blob deletes run `concurrency` at a time; then the batch's audit entries are
        // appended at once (the tenant's chain head is read and moved once, no writers racing for it)
        // and the tombstones written.
        const prepared: PreparedDisposal[] = [];
        let next = 0;
        const worker = async () => {
          while (next < batch.length && !exhausted() && !failed) {
            const listed = batch[next++]!;
            items++;
            // The policy is read for each document: a tenant that starts requiring approval during a run has it apply
            // to every document the run has not claimed yet.
            const requireApproval = await approvalRequired(tenantId, deps, keptRequires);
            const outcome = await unchecked.check(tenantId, listed.item.id, () => prepareDisposal(tenantId, listed.item.id, { now: input.now, runId, requireApproval, openHolds, approvalRefused }, deps, listed), null);
            if (outcome === null) continue;
            if ('disposal' in outcome) prepared.push(outcome);
            else record(result, tenantId, listed.item.id, outcome);
          }
        };
        await Promise.all(Array.from({ length: Math.max(1, input.concurrency ?? 4) }, worker));
        prepared.sort((a, b) => (a.id < b.id ? -1 : 1));
        finishLater(tenantId, prepared);
        if (next > 0) after = batch[next - 1]!.item.id;
      }
    }
  };

  try {
    await walk();
  } finally {
    // Never leave a batch unfinished behind a returned (or thrown) run.
    await finishing.catch(() => undefined);
  }
  await finishing;
  return summarise(result, deps);
}

/**
 * Whether disposal needs an approval: the instance's cached policy when it says so (the stricter answer, at most a
 * lowering's lifetime late), else the policy as stored. The cached copy may be older than a change made on another
 * instance, and a disposal cannot be undone: required approval just turned on there must stop this run here. Where
 * both say not, the policy kept in storage decides (`keptRequires`, settings-blobs.ts keptPolicyRequiresApproval).
 * Broke: judged by Cosmos DB's alone, whoever could write it turned approval off (or deleted the policy) and the next
 * run disposed of documents nobody approved.
 */
async function approvalRequired(tenantId: string, deps: Pick<Deps, 'retention'>, keptRequires: () => Promise<boolean>): Promise<boolean> {
  if ((await tenantPolicy(tenantId, deps)).requireDisposalApproval) return true;
  if ((await tenantPolicy(tenantId, deps, { fresh: true })).requireDisposalApproval) return true;
  return keptRequires();
}

function record(result: SweepResult, tenantId: string, id: string, outcome: DisposeOutcome): void {
  if (outcome === 'disposed') result.disposed.push(`${tenantId}/${id}`);
  else if (outcome === 'completed') result.completed.push(`${tenantId}/${id}`);
  else result.blocked.push({ tenantId, documentId: id, reason: outcome.detail ? `${outcome.blocked}: ${outcome.detail}` : outcome.blocked });
}

function summarise(result: SweepResult, deps: Pick<Deps, 'log'>): SweepResult {
  deps.log.info('retention sweep', { runId: result.runId, disposed: result.disposed.length, completed: result.completed.length, blocked: result.blocked.length, exportsWithdrawn: result.exportsWithdrawn.length, unchecked: result.unchecked.length, tenants: result.tenants, more: result.continuation !== null });
  return result;
}
