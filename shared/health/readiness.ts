import { unsetSafeguards } from '../config';
import type { Deps } from '../deps';
import { unsafeFixityReport } from '../retention/fixity';
import { unsafeOrphanReport } from '../retention/reconcile';

type Check = 'ok' | 'failed';

export interface Readiness {
  status: 'ready' | 'unavailable';
  checks: { blob: Check; cosmos: Check };
  worm: 'enforce' | 'emulator';
  /** Damaged documents (fixity check), counted, without tenant data. */
  fixity: { status: 'ok' | 'failures'; damagedDocuments: number } | { status: 'unknown' };
  /** Blobs without catalog item or manifest (a crash mid-upload), counted. */
  orphans: { status: 'ok' | 'found'; orphanedFolders: number } | { status: 'unknown' };
  /** In Azure, the settings enforcing a seal that are unset or still ahead (config unsetSafeguards): names only; never out of service for them. */
  unsetSettings: string[];
}

type ReadinessDeps = Pick<Deps, 'blobs' | 'catalog' | 'retention' | 'config' | 'clock'>;

/**
 * How long one instance's answer serves: `/health/ready` needs no credential, and each answer costs two
 * pings and two cross-tenant counts over the catalog (fixity failures, orphaned folders). Worked out for every
 * request, anyone who can reach the app could spend the account's throughput, and every tenant's requests
 * would be throttled with it. So an instance works it out at most once per this many milliseconds (by the
 * deps' clock), and callers that arrive while it is being worked out share that one.
 */
export const READINESS_CACHE_MS = 15_000;

const answers = new WeakMap<object, { at: number; answer: Promise<Readiness> }>();

/** Both stores answer? With the damage reports; damage never takes the instance out of service. */
export function readiness(deps: ReadinessDeps): Promise<Readiness> {
  const now = deps.clock.now().getTime();
  const cached = answers.get(deps);
  // A clock set back (tests) makes the cached answer stale rather than fresh for ever.
  if (cached && now >= cached.at && now - cached.at < READINESS_CACHE_MS) return cached.answer;
  const answer = workOut(deps);
  answers.set(deps, { at: now, answer });
  return answer;
}

async function workOut(deps: ReadinessDeps): Promise<Readiness> {
  const checks: Readiness['checks'] = { blob: 'failed', cosmos: 'failed' };
  await Promise.all([
    deps.blobs.ping().then(() => (checks.blob = 'ok'), () => (checks.blob = 'failed')),
    deps.catalog.ping().then(() => (checks.cosmos = 'ok'), () => (checks.cosmos = 'failed')),
  ]);
  const unknown = { status: 'unknown' as const };
  const [fixity, orphans] = checks.cosmos === 'ok' ? await Promise.all([unsafeFixityReport(deps).catch(() => unknown), unsafeOrphanReport(deps).catch(() => unknown)]) : [unknown, unknown];
  return { status: checks.blob === 'ok' && checks.cosmos === 'ok' ? 'ready' : 'unavailable', checks, worm: deps.config.ARCHIVE_WORM, fixity, orphans, unsetSettings: unsetSafeguards(deps.config, deps.clock.now()) };
}
