/**
 * Red team, round 5: the fixes merged in the last hour (revocations per stored version and kept from their audit entry,
 * listings marking records the archive did not seal, sealed approval records, kept-digest, a key's endsAt). Each block
 * names what broke. In-memory world, requests in-process through the real pipeline (test/support/in-process.ts).
 */
import { API_KEY_UNSEALED, SUPPORT_GRANT_UNSEALED } from '../../../shared/auth/api-keys/key-seal';
import { apiKeyRecordId } from '../../../shared/auth/api-keys/api-key';
import { supportGrantRecordId } from '../../../shared/auth/support-grants/support-grant';
import type { RecordingLogger } from '../../support/in-memory';
import { revocationBlobName, UNWITNESSED_RECHECK_MS } from '../../../shared/auth/revocation-blobs';
import { runReconcileTimer } from '../../../shared/retention/timers';
import { mint, ok, send, settle, TENANT, world, type World } from '../../support/in-process';

const keyIdOf = (key: string) => /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_/.exec(key)![1]!;
const DAY = 86400_000;
const errorsNamed = (w: World, ...messages: string[]) => (w.deps.log as RecordingLogger).lines.filter((l) => messages.includes(l.message)).length;

describe('a revoked or expired key or grant from before the seal is not listed as forged once the store is marked', () => {
  // Broke: the reconciler seals only the keys in use and grants in force from before the seal (sealLegacyKeys), then
  // marks the store; every revoked or expired one from before stayed unsealed, so GET /api-keys?state=all and GET
  // /support-grants?state=all listed each genuine one as notSealedByArchive (the web app's forgery badge) and raised the
  // operators' API_KEY_UNSEALED / SUPPORT_GRANT_UNSEALED alert on every instance that listed them. It acts nowhere either way.
  type Case = { record: string; end: (w: World, at: string) => void; flagged: boolean };
  const now = (w: World) => w.clock.now().toISOString();
  const cases: Case[] = [
    { record: 'revoked', end: (w, at) => Object.assign(w.deps.tenantRecords.records.get(at)!.value, { revokedAt: now(w), revokedBy: { subject: 'bob', kind: 'user' }, endsAt: now(w) }), flagged: false },
    { record: 'expired', end: (w) => w.clock.advance(366 * DAY), flagged: false },
    { record: 'in use', end: () => undefined, flagged: true },
  ];
  it.each(cases)('from before the seal, $record: flagged $flagged', async ({ end, flagged }) => {
    const w = world();
    const keyId = keyIdOf(await mint(w, 'alice', 'auditor'));
    const grantId = (await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'INC-7', scope: 'read-only', expiresAt: new Date(w.clock.now().getTime() + 5 * DAY).toISOString() }, as: 'carol' }, 201)).json.id as string;
    for (const at of [`${TENANT}/${apiKeyRecordId(keyId)}`, `${TENANT}/${supportGrantRecordId(grantId)}`]) {
      const record = w.deps.tenantRecords.records.get(at)!.value as { mac?: string; keyVersion?: string };
      delete record.mac;
      delete record.keyVersion;
      end(w, at);
    }
    w.deps.tenantRecords.keysSealedMark = true;
    const keys = (await ok(w, { method: 'GET', path: 'api-keys?state=all', as: 'bob' })).json.items as { id: string; notSealedByArchive?: true }[];
    const grants = (await ok(w, { method: 'GET', path: 'support-grants?state=all', as: 'bob' })).json.items as { id: string; notSealedByArchive?: true }[];
    const flag = (items: { id: string; notSealedByArchive?: true }[], id: string) => items.find((i) => i.id === id)?.notSealedByArchive ?? false;
    expect([flag(keys, keyId), flag(grants, grantId)]).toEqual([flagged, flagged]);
    expect(errorsNamed(w, API_KEY_UNSEALED, SUPPORT_GRANT_UNSEALED)).toBe(flagged ? 2 : 0);
  });
});

describe('a revocation judged before its audit entry reached the log is kept once it has', () => {
  // Broke: the reconciler remembered, for the instance's life, a revocation whose entry it did not find (keepUnkeptRevocations,
  // `unwitnessed`), meant for one written into Cosmos DB by hand; a genuine one judged while its entry was still in the
  // audit outbox (appended after the answer, or by the sealing timer after a failed append) was never queried again on
  // that instance: never kept, and a restore of Cosmos DB to before it had the key act again.
  it('kept at a run after its entry is appended', async () => {
    const w = world();
    await w.deps.blobs.prepareTenant(TENANT);
    const id = keyIdOf(await mint(w, 'alice', 'auditor'));
    const putCreateOnly = w.deps.blobs.putCreateOnly.bind(w.deps.blobs);
    w.deps.blobs.putCreateOnly = () => Promise.reject(new Error('storage down'));
    expect((await send(w, { method: 'DELETE', path: `api-keys/${id}`, as: 'bob' })).status).toBe(500);
    w.deps.blobs.putCreateOnly = putCreateOnly;
    // Judged while its entry is not in the log yet (still in the outbox): the log's reads do not show it.
    const list = w.deps.audit.list.bind(w.deps.audit);
    w.deps.audit.list = async (...args) => {
      const page = await list(...args);
      return { ...page, items: page.items.filter((e) => e.action !== 'api-key.revoke') };
    };
    await runReconcileTimer(w.deps);
    w.deps.audit.list = list;
    const name = `${TENANT}/${revocationBlobName('api-key', id)}`;
    const keptEarly = w.deps.blobs.blobs.has(name);
    await settle(w);
    w.clock.advance(UNWITNESSED_RECHECK_MS);
    await runReconcileTimer(w.deps);
    expect([keptEarly, w.deps.blobs.blobs.has(name)]).toEqual([false, true]);
  });
});

describe("an API key's end removed in Cosmos DB once every key carries one", () => {
  // Broke: the endsAt check (key-seal.ts) judged only an end that is there; a writer of Cosmos DB removed it instead, and
  // once the store is marked migrated (every query of keys in use ranges over endsAt) the key acted on (the request reads
  // its expiry) while no list of keys in use held it: GET /api-keys, the cap, and what its person holds through keys
  // (approver-lowers-safeguards), until the reconciler's migration gave it one back, and again after each removal.
  it.each([
    ['removed, the store migrated', true, 401],
    ['control: not there yet, the store not migrated', false, 200],
  ] as const)('%s', async (_, migrated, status) => {
    const w = world();
    const key = await mint(w, 'alice', 'auditor');
    const record = w.deps.tenantRecords.records.get(`${TENANT}/${apiKeyRecordId(keyIdOf(key))}`)!;
    delete (record.value as { endsAt?: string }).endsAt;
    w.deps.tenantRecords.migrated = migrated;
    expect((await send(w, { method: 'GET', path: 'documents', as: key })).status).toBe(status);
    expect(errorsNamed(w, API_KEY_UNSEALED)).toBe(migrated ? 1 : 0);
  });
});
