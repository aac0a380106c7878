import type { Deps } from '../deps';
import { suppressedRefusalsEntry, type SuppressedRefusals } from '../auth/refusal-limiter';

type FlushDeps = Pick<Deps, 'refusals' | 'audit' | 'log'>;

/**
 * How often each instance on Azure writes its own pending counts (functions/index.ts): the counts
 * live in the instance's memory, and a Functions timer (the sealing timer, which flushes too)
 * runs on one instance of the app only.
 */
export const SUPPRESSED_REFUSALS_FLUSH_MS = 2 * 60_000;

/**
 * Writes this instance's pending counts of refusals answered 429 without an entry each: one
 * `access.refusals-suppressed` entry per principal, written at `now`, one append per tenant. So a
 * principal that floods and then goes quiet, or an instance that stops, leaves its count in the
 * chain rather than in memory. A count entry whose append failed is kept, as it was, for the next
 * flush, which sends it only if the chain does not hold it already (the failure may have come after the
 * write); it goes to the error log too (in case there is no next flush: a stopping instance). Never throws.
 */
export async function flushSuppressedRefusals(now: Date, deps: FlushDeps, which: 'all' | 'spilled' = 'all'): Promise<{ written: number; kept: number }> {
  const result = { written: 0, kept: 0 };
  if (which === 'all') {
    for (const entry of deps.refusals.takeUnsure()) {
      try {
        await deps.audit.appendOnce([entry]);
        result.written += 1;
      } catch (err) {
        deps.refusals.retryUnsure(entry);
        result.kept += 1;
        deps.log.error('suppressed refusal counts not written to the audit log; kept for the next flush', { entries: [entry], error: err instanceof Error ? err.message : String(err) });
      }
    }
  }
  const byTenant = new Map<string, SuppressedRefusals[]>();
  for (const pending of deps.refusals.takeAllSuppressed(which)) {
    const runs = byTenant.get(pending.entry.tenantId) ?? [];
    runs.push(pending);
    byTenant.set(pending.entry.tenantId, runs);
  }
  await Promise.all(
    [...byTenant.values()].map(async (runs) => {
      const entries = runs.map((r) => suppressedRefusalsEntry(r, now));
      try {
        await deps.audit.appendBatch(entries);
        result.written += entries.length;
      } catch (err) {
        for (const entry of entries) deps.refusals.retryUnsure(entry);
        result.kept += entries.length;
        deps.log.error('suppressed refusal counts not written to the audit log; kept for the next flush', { entries, error: err instanceof Error ? err.message : String(err) });
      }
    }),
  );
  return result;
}
