import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { operation, reply } from '../shared/http/operation';
import { unsafeFixityReport } from '../shared/retention/fixity';
import { unsafeOrphanReport } from '../shared/retention/reconcile';

const ZCheck = z.enum(['ok', 'failed']);
const ZReport = z.unknown().meta({ description: 'Status and counts only, never tenant data' });
const ZReady = z.strictObject({ status: z.enum(['ready', 'unavailable']), checks: z.strictObject({ blob: ZCheck, cosmos: ZCheck }), worm: z.enum(['enforce', 'emulator']), fixity: ZReport, orphans: ZReport });

/** Readiness: both stores answer. No credential needed; no tenant data shown. */
async function ready(deps: Deps) {
  const checks = { blob: 'failed', cosmos: 'failed' } as { blob: 'ok' | 'failed'; cosmos: 'ok' | 'failed' };
  await Promise.all([
    deps.blobs.ping().then(() => (checks.blob = 'ok'), () => (checks.blob = 'failed')),
    deps.catalog.ping().then(() => (checks.cosmos = 'ok'), () => (checks.cosmos = 'failed')),
  ]);
  const ok = Object.values(checks).every((c) => c === 'ok');
  // Damaged documents (fixity check, reconciler) are reported, without tenant data; they do not take the instance out of service.
  const fixity = checks.cosmos === 'ok' ? await unsafeFixityReport(deps).catch(() => ({ status: 'unknown' as const })) : { status: 'unknown' as const };
  // Blobs without catalog item or manifest (a crash mid-upload), listed by the reconciler for an operator.
  const orphans = checks.cosmos === 'ok' ? await unsafeOrphanReport(deps).catch(() => ({ status: 'unknown' as const })) : { status: 'unknown' as const };
  const body = { checks, worm: deps.config.ARCHIVE_WORM, fixity, orphans };
  return ok ? reply(200, { status: 'ready' as const, ...body }) : reply(503, { status: 'unavailable' as const, ...body });
}

export const health = operation({
  name: 'health', method: 'GET', route: 'health', tags: ['health'], summary: 'Liveness', auth: 'public',
  responses: { 200: { description: 'Up', json: z.strictObject({ status: z.literal('ok') }) } },
  errors: [],
  handler: async () => reply(200, { status: 'ok' as const }),
});

export const healthReady = operation({
  name: 'healthReady', method: 'GET', route: 'health/ready', tags: ['health'], summary: 'Readiness: Blob and Cosmos answer', auth: 'public',
  responses: { 200: { description: 'Ready', json: ZReady }, 503: { description: 'A dependency is unavailable', json: ZReady } },
  errors: [],
  handler: async (_, deps) => ready(deps),
});

export const healthRoutes = [health, healthReady];
