import { z } from 'zod';
import type { Deps } from '../shared/deps';
import { operation, reply } from '../shared/http/operation';
import { readiness } from '../shared/health/readiness';

const ZCheck = z.enum(['ok', 'failed']);
const ZReport = z.unknown().meta({ description: 'Status and counts only, never tenant data' });
const ZReady = z.strictObject({ status: z.enum(['ready', 'unavailable']), checks: z.strictObject({ blob: ZCheck, cosmos: ZCheck }), worm: z.enum(['enforce', 'emulator']), fixity: ZReport, orphans: ZReport, unsetSettings: z.array(z.string()).describe('In Azure, the settings enforcing a seal that are unset (names only; never out of service for them); empty locally') });

/** Readiness, worked out at most once per READINESS_CACHE_MS by an instance (shared/health/readiness.ts). No credential needed; no tenant data shown. */
async function ready(deps: Deps) {
  const answer = await readiness(deps);
  return reply(answer.status === 'ready' ? 200 : 503, answer);
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
