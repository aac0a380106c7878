/**
 * The remainders of the morning's fixes: each case failed before its fix.
 */
import { REVOCATION_KEPT_FROM_AUDIT, restoreRevocations, revocationBlobName } from '../../../shared/auth/revocation-blobs';
import type { RecordingLogger } from '../../support/in-memory';
import { mint, send, settle, TENANT, world } from '../../support/in-process';

const keyIdOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;

describe('revocations kept from their audit entry: every revoked key is visited, a page per run', () => {
  // Broke: each reconciler run looked at the tenant's newest 200 revoked keys (and grants) only, so a revoked, unexpired
  // key older than those, whose blob write had failed, was never kept and a restore of Cosmos DB had it act again.
  it('five keys whose revocation blob failed, two a run: three runs keep them all, a fourth keeps nothing twice', async () => {
    const w = world();
    await w.deps.blobs.prepareTenant(TENANT);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(keyIdOf(await mint(w, 'alice', 'auditor')));
      w.clock.advance(1000);
    }
    const putCreateOnly = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = () => Promise.reject(new Error('storage down'));
    for (const id of ids) expect((await send(w, { method: 'DELETE', path: `api-keys/${id}`, as: 'bob' })).status).toBe(500);
    w.deps.blobs.putCreateOnly = putCreateOnly;
    await settle(w);
    const keptNow = () => ids.filter((id) => w.deps.blobs.blobs.has(`${TENANT}/${revocationBlobName('api-key', id)}`)).length;
    const counts: number[] = [];
    for (let run = 0; run < 4; run++) {
      await restoreRevocations(w.clock.now(), w.deps, { revokedPerRun: 2 });
      counts.push(keptNow());
    }
    expect(counts).toEqual([2, 4, 5, 5]);
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === REVOCATION_KEPT_FROM_AUDIT).length).toBe(5);
  });
});
