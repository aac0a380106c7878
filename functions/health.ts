import type { Deps } from '../shared/deps';
import type { RouteDef } from '../shared/http/pipeline';
import { json } from '../shared/http/respond';
import { unsafeFixityReport } from '../shared/retention/fixity';
import { unsafeOrphanReport } from '../shared/retention/reconcile';

/** Readiness: both stores answer. No credential needed; no tenant data shown. */
async function ready(_: unknown, deps: Deps) {
  const checks: Record<string, 'ok' | 'failed'> = {};
  await Promise.all([
    deps.blobs.ping().then(() => (checks.blob = 'ok'), () => (checks.blob = 'failed')),
    deps.catalog.ping().then(() => (checks.cosmos = 'ok'), () => (checks.cosmos = 'failed')),
  ]);
  const ok = Object.values(checks).every((c) => c === 'ok');
  // Damaged documents (fixity check, reconciler) are reported, without tenant data; they do not take the instance out of service.
  const fixity = checks.cosmos === 'ok' ? await unsafeFixityReport(deps).catch(() => ({ status: 'unknown' as const })) : { status: 'unknown' as const };
  // Blobs without catalog item or manifest (a crash mid-upload), listed by the reconciler for an operator.
  const orphans = checks.cosmos === 'ok' ? await unsafeOrphanReport(deps).catch(() => ({ status: 'unknown' as const })) : { status: 'unknown' as const };
  return json(ok ? 200 : 503, { status: ok ? 'ready' : 'unavailable', checks, worm: deps.config.ARCHIVE_WORM, fixity, orphans });
}

export const healthRoutes: RouteDef[] = [
  { name: 'health', method: 'GET', route: 'health', auth: 'public', handler: async () => json(200, { status: 'ok' }) },
  { name: 'healthReady', method: 'GET', route: 'health/ready', auth: 'public', handler: ready },
];
