/**
 * The two tenant policies are saved whole: a save names the version it was made on (If-Match), and one made on
 * any other version is refused (412) with nothing stored, so a stale screen never writes its old view over a
 * change made since.
 */
import { ArchiveError } from '../../../shared/kernel/errors';
import { BUILT_IN_RIGHTS_SETS, type Permission, type Principal } from '../../../shared/kernel/principal';
import type { TTenantRetentionPolicy } from '../../../shared/kernel/retention';
import { getRetentionPolicy } from '../../../shared/retention/get-retention-policy';
import { setRetentionPolicy } from '../../../shared/retention/set-retention-policy';
import { parseVersionIfMatch, versionETag } from '../../../shared/http/version-etag';
import type { SodPolicy } from '../../../shared/auth/sod';
import { gate, interleave } from '../../support/interleave';
import { inMemoryDeps } from '../../support/in-memory';
import { refusal } from '../../support/refusal';

const T = 'acme';
const user = (subject: string, permissions: readonly Permission[]): Principal => ({ tenantId: T, subject, kind: 'user', rightsSet: 'x', permissions: new Set(permissions) });
const manager = (subject: string) => user(subject, ['retention:manage']);
const admin = (subject: string) => user(subject, BUILT_IN_RIGHTS_SETS['tenant-admin']!);
const retention = (classes: { name: string; years: number }[]): TTenantRetentionPolicy => ({ classes, defaultClass: 'fiscal-7y', requireDisposalApproval: true, fiscalYearEndMonth: 12 });
const DEFAULT_PAIR: [Permission, Permission] = ['documents:write', 'retention:approve'];
const sod = (...extra: [Permission, Permission][]): SodPolicy => ({ conflicts: [DEFAULT_PAIR, ...extra], uploaderCannotApproveDisposal: true });


describe('If-Match of a policy', () => {
  it('names the version it was read as: the store\'s etag opaque, the default a fixed tag', () => {
    const tag = versionETag('sod-policy', '"00000a00-0000-0d00-0000-65e1a2b30000"');
    expect(tag).toMatch(/^"sod-policy-[A-Za-z0-9_-]+"$/);
    expect(parseVersionIfMatch('sod-policy', tag, 'it')).toBe('"00000a00-0000-0d00-0000-65e1a2b30000"');
    expect(versionETag('retention-policy', null)).toBe('"retention-policy-default"');
    expect(parseVersionIfMatch('retention-policy', ' "retention-policy-default" ', 'it')).toBeNull();
  });

  it('is required (428, also `*`, which names no version); a weak tag, a list or another record\'s tag never matches (412)', () => {
    for (const absent of [null, '', '*']) expect(() => parseVersionIfMatch('sod-policy', absent, 'it')).toThrow(expect.objectContaining({ code: 'precondition_required' }));
    for (const wrong of ['W/"sod-policy-default"', '"sod-policy-default", "sod-policy-ZTE"', '"retention-policy-default"', 'sod-policy-default', '"metadata-1"']) {
      expect(() => parseVersionIfMatch('sod-policy', wrong, 'it')).toThrow(expect.objectContaining({ code: 'precondition_failed' }));
    }
  });
});

/** A change that lowers nothing applies at once. */
function applied<A>(outcome: { applied: A } | { proposed: unknown }): A {
  if (!('applied' in outcome)) throw new Error('proposed, not applied');
  return outcome.applied;
}

describe('retention policy', () => {
  it('a save on the version read is stored and answers the new version; one on an older version is 412 naming who changed it, and nothing is stored', async () => {
    const deps = inMemoryDeps();
    const read = await getRetentionPolicy(T, deps);
    expect(read.etag).toBeNull(); // the default: none stored
    const first = applied(await setRetentionPolicy(manager('bob'), retention([{ name: 'contracts-12y', years: 12 }]), deps, undefined, { etag: read.etag }));
    expect(first.etag).not.toBeNull();
    expect(first.policy.classes).toEqual([{ name: 'contracts-12y', years: 12 }]);

    // Carol's screen still shows the default: her save is refused, Bob's classes stay.
    const stale = await refusal(setRetentionPolicy(manager('carol'), retention([{ name: 'leases-10y', years: 10 }]), deps, undefined, { etag: read.etag }));
    expect(stale.code).toBe('precondition_failed');
    expect(stale.detail).toMatch(/changed by bob at 2025-03-01T12:00:00\.000Z/);
    expect(stale.extensions).toMatchObject({ updatedBy: 'bob', updatedAt: '2025-03-01T12:00:00.000Z' });
    expect((await getRetentionPolicy(T, deps)).policy.classes).toEqual([{ name: 'contracts-12y', years: 12 }]);

    // Read again, her change applies over Bob's.
    const again = await getRetentionPolicy(T, deps);
    expect(again.etag).toBe(first.etag);
    const second = applied(await setRetentionPolicy(manager('carol'), retention([{ name: 'contracts-12y', years: 12 }, { name: 'leases-10y', years: 10 }]), deps, undefined, { etag: again.etag }));
    expect(second.etag).not.toBe(first.etag);
    expect((await refusal(setRetentionPolicy(manager('bob'), retention([]), deps, undefined, { etag: first.etag }))).code).toBe('precondition_failed');
  });

  it('two saves from the same version at once: one is stored, the other is 412 and stores nothing', async () => {
    const deps = inMemoryDeps();
    const { etag } = await getRetentionPolicy(T, deps);
    // Both read the version before either writes: the check passes for both, the conditional write decides.
    const bothRead = gate();
    let reads = 0;
    const getVersioned = deps.retention.policies.getVersioned.bind(deps.retention.policies);
    deps.retention.policies.getVersioned = async (tenantId, opts) => {
      const found = await getVersioned(tenantId, opts);
      if (++reads === 2) bothRead.open();
      if (reads <= 2) await bothRead.wait;
      return found;
    };
    const [bob, carol] = await Promise.allSettled([
      setRetentionPolicy(manager('bob'), retention([{ name: 'contracts-12y', years: 12 }]), deps, undefined, { etag }),
      setRetentionPolicy(manager('carol'), retention([{ name: 'leases-10y', years: 10 }]), deps, undefined, { etag }),
    ]);
    const outcomes = [bob, carol].map((o) => (o.status === 'fulfilled' ? 'stored' : (o.reason as ArchiveError).code)).sort();
    expect(outcomes).toEqual(['precondition_failed', 'stored']);
    const stored = (await deps.retention.policies.get(T))!;
    const winner = bob.status === 'fulfilled' ? [{ name: 'contracts-12y', years: 12 }] : [{ name: 'leases-10y', years: 10 }];
    expect(stored.classes).toEqual(winner);
    expect(stored.updatedBy?.subject).toBe(bob.status === 'fulfilled' ? 'bob' : 'carol');
  });
});

describe('SoD policy', () => {
  it('a stale screen re-saving the stronger rules does not undo a change made since: 412 naming who made it, nothing changes', async () => {
    const deps = inMemoryDeps();
    const read = await deps.rights.describedPolicy(T);
    expect(read.etag).toBeNull();
    const stronger = await deps.sodPolicy.change(admin('alice'), sod(['documents:write', 'holds:place']), deps.clock.now(), undefined, { etag: read.etag });
    expect(stronger).toHaveProperty('applied');
    const now = await deps.rights.describedPolicy(T);
    expect(now.etag).not.toBeNull();

    // Bob's screen still shows the default: saving it (adding another pair) would drop Alice's pair.
    const stale = await refusal(deps.sodPolicy.change(admin('bob'), sod(['documents:write', 'audit:read']), deps.clock.now(), undefined, { etag: read.etag }));
    expect(stale.code).toBe('precondition_failed');
    expect(stale.extensions).toMatchObject({ updatedBy: 'alice' });
    expect((await deps.rights.describedPolicy(T)).policy.conflicts).toEqual([DEFAULT_PAIR, ['documents:write', 'holds:place']]);
    // A weakening from a stale screen is not even proposed.
    expect((await refusal(deps.sodPolicy.change(admin('bob'), { conflicts: [], uploaderCannotApproveDisposal: true }, deps.clock.now(), undefined, { etag: read.etag }))).code).toBe('precondition_failed');
    expect((await deps.sodPolicy.list(T, { state: 'all', limit: 50 }, deps.clock.now())).items).toEqual([]);

    // On the version read now, it applies.
    expect(await deps.sodPolicy.change(admin('bob'), sod(['documents:write', 'holds:place'], ['documents:write', 'audit:read']), deps.clock.now(), undefined, { etag: now.etag })).toHaveProperty('applied');
  });

  it('two saves from the same version at once: one is stored, the other is 412 and stores nothing', async () => {
    const deps = inMemoryDeps();
    const { etag } = await deps.rights.describedPolicy(T);
    // Alice's save reads the policy, then Bob's is stored before hers writes: her batch over that version finds it moved.
    const alice = interleave(
      deps.tenantRecords,
      'get',
      (args) => args[1] === 'sod-policy',
      () => deps.sodPolicy.change(admin('alice'), sod(['documents:write', 'holds:place']), deps.clock.now(), undefined, { etag }),
      async () => {
        expect(await deps.sodPolicy.change(admin('bob'), sod(['documents:write', 'audit:read']), deps.clock.now(), undefined, { etag })).toHaveProperty('applied');
      },
    );
    const refused = await refusal(alice);
    expect(refused.code).toBe('precondition_failed');
    expect(refused.extensions).toMatchObject({ updatedBy: 'bob' });
    expect((await deps.rights.describedPolicy(T)).policy).toMatchObject({ conflicts: [DEFAULT_PAIR, ['documents:write', 'audit:read']], updatedBy: { subject: 'bob' } });
  });
});
