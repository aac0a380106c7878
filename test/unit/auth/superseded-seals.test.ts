/**
 * A key or grant sealed with a chain key version since superseded (shared/auth/api-keys/key-seal.ts). Records were judged
 * by their own `createdAt`, which whoever writes Cosmos DB sets: holding the old version after a rotation, they wrote a
 * record dated before it, sealed it with that version, and it acted (their own secret's hash under tenant-admin). Now
 * such a seal stands only on its creation's keyed audit entry naming it, and the reconciler seals it again.
 */
import { SUPERSEDED_UNWITNESSED, API_KEY_UNSEALED, SUPPORT_GRANT_UNSEALED, sealRecord } from '../../../shared/auth/api-keys/key-seal';
import type { ApiKeyRecord } from '../../../shared/auth/api-keys/api-key';
import type { SupportGrantRecord } from '../../../shared/auth/support-grants/support-grant';
import { rotatingWorld } from '../../support/rotating-vault';
import { runReconcileTimer } from '../../../shared/retention/timers';
import type { AuditFilter } from '../../../shared/ports';
import type { RecordingLogger } from '../../support/in-memory';
import { DISPOSAL_APPROVAL_UNAUDITED, sealApproval } from '../../../shared/retention/approve-disposal';
import { ADMIN, approval, dueDocs, mint, ok, requireApproval, send, sweepNow, TENANT, upload, upsKey, type World } from '../../support/in-process';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const KEY = /^ApiKey arch_[a-z0-9-]+_([0-9a-f]{24})_(.+)$/;

/** A rotating world, and counts of the creation entries looked for (`api-key.create`, `support-grant.create`). */
function rotating() {
  const { w, vault, rotate } = rotatingWorld();
  const lookups = { n: 0 };
  const list = w.deps.audit.list.bind(w.deps.audit);
  w.deps.audit.list = async (tenantId: string, month: string, limit: number, token?: string, filter?: AuditFilter) => {
    if (filter?.action === 'api-key.create' || filter?.action === 'support-grant.create') lookups.n++;
    return list(tenantId, month, limit, token, filter);
  };
  return { w, vault, lookups, rotate };
}

const record = <T>(w: World, id: string) => w.deps.tenantRecords.records.get(`${TENANT}/${id}`)!.value as T;
const plant = (w: World, r: ApiKeyRecord | SupportGrantRecord) => w.deps.tenantRecords.records.set(`${r.tenantId}/${r.id}`, { value: r, etag: 9000 + w.seq++ });
const reasons = (w: World, phrase: string) => (w.deps.log as RecordingLogger).lines.filter((l) => l.level === 'error' && l.message === phrase).map((l) => l.fields?.reason);
const widen = (as: string): Parameters<typeof send>[1] => ({ method: 'PUT', path: `rights-sets/widened-${w8()}`, body: { permissions: ADMIN }, as });
const w8 = () => Math.random().toString(36).slice(2, 10);
const keyOf = (key: string) => ({ keyId: KEY.exec(key)![1]!, secret: KEY.exec(key)![2]! });

describe('an API key sealed with a superseded chain key version', () => {
  it.each([
    ['without the reconciler', false],
    ['sealed again by the reconciler', true],
  ])('genuine, minted before the rotation, acts after it (%s); its creation entry read once per instance', async (_, reconcile) => {
    const { w, lookups, rotate } = rotating();
    const key = await mint(w, 'alice', 'tenant-admin');
    const { keyId } = keyOf(key);
    rotate();
    expect((await send(w, widen(key))).status).toBe(200);
    expect((await send(w, widen(key))).status).toBe(200);
    expect(lookups.n).toBe(1);
    if (reconcile) {
      expect((await runReconcileTimer(w.deps)).keysSealed).toContain(`${TENANT}/${keyId}`);
      expect(record<ApiKeyRecord>(w, `api-key:${keyId}`).keyVersion).toBe('v2');
      // Sealed with the current version: judged again (new content) without reading the log.
      const read = lookups.n;
      expect((await send(w, widen(key))).status).toBe(200);
      expect(lookups.n).toBe(read);
    }
  });

  it('minted after the rotation acts with no audit read', async () => {
    const { w, lookups, rotate } = rotating();
    rotate();
    const key = await mint(w, 'alice', 'tenant-admin');
    expect((await send(w, widen(key))).status).toBe(200);
    expect(lookups.n).toBe(0);
  });

  const forgeries: [string, (w: World, mine: ApiKeyRecord, hers: ApiKeyRecord) => ApiKeyRecord, (mine: { secret: string }, forged: ApiKeyRecord) => string][] = [
    [
      'a new record dated before the rotation, an archivist secret under tenant-admin',
      (_w, mine) => ({ ...mine, id: `api-key:${'e'.repeat(24)}`, keyId: 'e'.repeat(24), prefix: `arch_${TENANT}_${'e'.repeat(24)}`, rightsSet: 'tenant-admin', ceiling: [...ADMIN].sort(), personPermissions: [...ADMIN].sort(), createdBy: { subject: 'alice', kind: 'user', person: 'alice' } }),
      (mine, forged) => `ApiKey arch_${TENANT}_${forged.keyId}_${mine.secret}`,
    ],
    ['a tenant admin\'s genuine record with an archivist\'s hash swapped in (its entry\'s digest catches it)', (_w, mine, hers) => ({ ...hers, hash: mine.hash }), (mine, forged) => `ApiKey arch_${TENANT}_${forged.keyId}_${mine.secret}`],
  ];

  it.each(forgeries)('forged after it with the old version, %s: 401, alerted, never sealed again', async (_, forge, presented) => {
    const { w, vault, rotate } = rotating();
    const mine = keyOf((await upsKey(w)).key);
    const hers = keyOf(await mint(w, 'alice', 'tenant-admin'));
    rotate();
    const forged = await sealRecord(forge(w, record(w, `api-key:${mine.keyId}`), record(w, `api-key:${hers.keyId}`)), vault.leaked());
    expect(forged.keyVersion).toBe('v1');
    plant(w, forged);
    const as = presented(mine, forged);
    for (let i = 0; i < 2; i++) expect((await send(w, widen(as))).status).toBe(401);
    expect(reasons(w, API_KEY_UNSEALED)).toEqual([SUPERSEDED_UNWITNESSED]);
    // The reconciler does not launder it with the current version.
    expect((await runReconcileTimer(w.deps)).keysUnsealed).toContain(`${TENANT}/${forged.keyId}`);
    expect(record<ApiKeyRecord>(w, forged.id).keyVersion).toBe('v1');
    expect((await send(w, widen(as))).status).toBe(401);
  });
});

describe('a support grant sealed with a superseded chain key version', () => {
  const grantOf = async (w: World) => {
    const grant = await ok(w, { method: 'POST', path: 'support-grants', body: { ticket: 'T-1', scope: 'metadata-only', expiresAt: new Date(w.clock.now().getTime() + 5 * DAY).toISOString() }, as: 'alice' }, 201);
    return record<SupportGrantRecord>(w, `support-grant:${grant.json.id as string}`);
  };
  it.each<[string, ((g: SupportGrantRecord) => SupportGrantRecord) | null]>([
    ['genuine, given before the rotation: acts after it', null],
    ['its scope widened and sealed with the old version (its entry names another): no access', (g) => ({ ...g, scope: 'read-only' })],
    ['a new one dated before the rotation, sealed with the old version: no access', (g) => ({ ...g, id: 'support-grant:forged', grantId: 'forged', scope: 'read-only' })],
  ])('%s', async (_, forge) => {
    const { w, vault, rotate } = rotating();
    const id = (await ok(w, upload(), 201)).json.id as string;
    const genuine = await grantOf(w);
    rotate();
    if (forge) {
      w.deps.tenantRecords.records.delete(`${TENANT}/${genuine.id}`);
      plant(w, await sealRecord(forge(genuine), vault.leaked()));
    }
    const meta = await send(w, { method: 'GET', path: `documents/${id}`, as: 'support.sam' });
    expect(forge ? meta.json.code : meta.status).toBe(forge ? 'support_access_not_granted' : 200);
    expect(reasons(w, SUPPORT_GRANT_UNSEALED)).toEqual(forge ? [SUPERSEDED_UNWITNESSED] : []);
  });
});

describe('a disposal approval sealed to its document with a superseded chain key version', () => {
  const itemOf = (w: World, id: string) => w.deps.catalog.documents.get(`${TENANT}/${id}`)!;
  it.each([
    ['genuine, given before the rotation: the document is disposed of', false],
    ['sealed after it with the old version, dated before it: the document is kept, alerted', true],
  ])('%s', async (_, forge) => {
    const { w, vault, rotate } = rotating();
    await requireApproval(w);
    const [doc] = await dueDocs(w);
    const given = w.clock.now().toISOString();
    if (!forge) await ok(w, { ...approval(w), body: { before: given, reason: 'Annual review', documentIds: [doc] } }, 201);
    rotate();
    if (forge) {
      const forged = await sealApproval(TENANT, doc!, { approvalId: '0190f0f0-0000-7000-8000-00000000000f', approvedAt: given, approvedBy: { subject: 'bob', kind: 'user', person: 'bob' }, reason: 'Annual review', retainUntil: itemOf(w, doc!).retention.retainUntil }, vault.leaked());
      w.deps.catalog.documents.set(`${TENANT}/${doc!}`, { ...itemOf(w, doc!), disposalApproval: forged });
    }
    const run = await sweepNow(w);
    expect(itemOf(w, doc!).status).toBe(forge ? 'active' : 'disposed');
    if (forge) expect(run.blocked).toContainEqual(expect.objectContaining({ documentId: doc, reason: 'approval-required: its approval was sealed with a superseded key version and is not in the audit log' }));
    expect((w.deps.log as RecordingLogger).lines.filter((l) => l.message === DISPOSAL_APPROVAL_UNAUDITED).map((l) => l.fields?.reason)).toEqual(forge ? ['not in the audit log'] : []);
  });
});
