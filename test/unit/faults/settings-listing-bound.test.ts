/**
 * A request's look at a record's kept settings (settings-blobs.ts keptRightsRecord, and newestKeptPolicy under
 * sodPolicyAsKept and keptPolicyRequiresApproval) listed the record's folder whole: reads were bounded, listing rows were
 * not, so a storage role (no Key Vault) planting millions of blobs there made every four-eyes look and disposal approval
 * list them all. Names sort oldest revision first, so a listing cut short cannot find the newest: past
 * KEPT_SETTINGS_LISTED the record is unjudged (each caller's fail-safe), reported once as SETTING_UNSEALED.
 */
import { keepSetting, KEPT_GIVINGS_READS, KEPT_SETTINGS_LISTED, keptPolicyRequiresApproval, settingBlobName, SETTING_UNSEALED, sodPolicyAsKept } from '../../../shared/auth/rights-sets/settings-blobs';
import { personHoldsNow } from '../../../shared/auth/rights-sets/rights-given';
import { rightsAssignmentRecordId, rightsSetRecordId } from '../../../shared/auth/rights-sets/rights-records';
import type { RecordingLogger } from '../../support/in-memory';
import { assign, hold, later, ok, send, START, TENANT, upload, world, type World } from '../../support/in-process';

const ROOT = { subject: 'root', kind: 'user' as const };

/** `n` unsealed blobs a storage role created under `recordId`'s folder, named below any revision the archive gives. */
async function plant(w: World, recordId: string, n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await w.deps.blobs.putCreateOnly(TENANT, settingBlobName(recordId, i, false), Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
}

/** Every listing of a settings folder from now on: the most rows one returned, and whether each asked for a bound. */
function settingListings(w: World): () => { rows: number; unbounded: number } {
  const seen = { rows: 0, unbounded: 0 };
  const list = w.deps.blobs.listedBlobs.bind(w.deps.blobs);
  w.deps.blobs.listedBlobs = async (tenantId: string, prefix: string, max?: number) => {
    const listed = await list(tenantId, prefix, max);
    if (prefix.startsWith('settings/')) {
      seen.rows = Math.max(seen.rows, listed.length);
      if (max === undefined) seen.unbounded++;
    }
    return listed;
  };
  return () => seen;
}

const unsealedLines = (w: World) => (w.deps.log as RecordingLogger).lines.filter((l) => l.message === SETTING_UNSEALED).length;

type Look = (w: World, planted: number) => Promise<unknown>;
const LOOKS: [string, Look, unknown, unknown][] = [
  [
    "four eyes on a hold's release (gina's assignment, given by carol)",
    async (w, planted) => {
      w.deps.tenantRecords.records.set(`${TENANT}/${rightsSetRecordId('releaser')}`, { value: { id: rightsSetRecordId('releaser'), tenantId: TENANT, type: 'rights-set', name: 'releaser', permissions: ['documents:read', 'holds:release'], updatedAt: START.toISOString(), updatedBy: ROOT } as never, etag: 2001 });
      const id = (await ok(w, upload({ counterparty: 'ACME GmbH', fiscalYear: 2024 }), 201)).json.id as string;
      const holdId = (await ok(w, hold(id), 201)).json.id as string;
      later(w);
      await ok(w, assign('gina', 'releaser', 'carol'));
      await plant(w, rightsAssignmentRecordId('gina'), planted);
      const answer = await send(w, { method: 'DELETE', path: `documents/${id}/legal-holds/${holdId}`, body: { reason: 'Over' }, as: 'gina' });
      return [answer.status, answer.json.code];
    },
    [200, undefined],
    [403, 'four_eyes_required'],
  ],
  [
    'the SoD policy a disposal approval judges by (rule off, kept so)',
    async (w, planted) => {
      const off = { id: 'sod-policy', tenantId: TENANT, type: 'sod-policy', conflicts: [], uploaderCannotApproveDisposal: false, updatedAt: START.toISOString(), updatedBy: ROOT, revision: START.getTime() } as never;
      await keepSetting({ tenantId: TENANT, recordId: 'sod-policy', type: 'sod-policy', revision: START.getTime(), at: START.toISOString(), record: off }, w.deps);
      await plant(w, 'sod-policy', planted);
      return (await sodPolicyAsKept(TENANT, { uploaderCannotApproveDisposal: false }, w.deps)).uploaderCannotApproveDisposal;
    },
    false,
    true,
  ],
  [
    "the sweep's kept retention policy (approval not required, kept so)",
    async (w, planted) => {
      const r = await ok(w, { method: 'GET', path: 'retention/policy', as: 'carol' });
      const { legalFloorYears: _f, effectiveClasses: _e, updatedAt: _a, updatedBy: _b, safeguards: _s, ...body } = r.json;
      await ok(w, { method: 'PUT', path: 'retention/policy', body: { ...body, requireDisposalApproval: false }, headers: { 'If-Match': r.headers.ETag! }, as: 'carol' }, 200);
      await plant(w, 'retention-policy', planted);
      return keptPolicyRequiresApproval(TENANT, w.deps);
    },
    false,
    true,
  ],
];

describe("a request's look at a kept settings folder lists a bounded number of rows", () => {
  const cases = LOOKS.flatMap(([what, look, asJudged, failSafe]) => [
    [`${what}: a few blobs planted below the newest sealed one (control)`, look, 3, asJudged, 0] as const,
    [`${what}: more blobs in the folder than a look lists`, look, KEPT_SETTINGS_LISTED + 10, failSafe, 1] as const,
  ]);
  it.each(cases)('%s', async (_what, look, planted, expected, alerted) => {
    const w = world();
    const listings = settingListings(w);
    expect(await look(w, planted)).toEqual(expected);
    expect(listings().unbounded).toBe(0);
    expect(listings().rows).toBeLessThanOrEqual(KEPT_SETTINGS_LISTED + 1);
    // The control's few planted blobs lie below the newest sealed one: never read, never reported.
    expect(unsealedLines(w)).toBe(alerted);
  });
});

/**
 * Whether a giver holds `retention:approve` now (personHoldsNow, a retention policy proposal's approval) read what storage
 * keeps of the giver's assignment but not its `unjudged`: a writer of Cosmos DB (and blobs) narrowed gina's assignment
 * there and buried the kept tenant-admin one (past the reads, or past the listing), and gina was judged not to hold it.
 * Now an unjudged record is taken as holding, the safe side.
 */
describe("whether a giver holds a permission now, with the kept assignment buried", () => {
  const far = 9_000_000_000_000_000;
  it.each([
    ['control: assigned auditor, as kept', 'auditor', null, false],
    ['control: narrowed to auditor in Cosmos DB alone, kept tenant-admin read', 'tenant-admin', null, true],
    [`narrowed in Cosmos DB, ${KEPT_GIVINGS_READS + 1} unsealed blobs above the kept one`, 'tenant-admin', 'above', true],
    ['narrowed in Cosmos DB, more blobs below the kept one than a look lists', 'tenant-admin', 'below', true],
  ] as const)('%s', async (_what, given, planted, holds) => {
    const w = world();
    await ok(w, assign('gina', given, 'carol'));
    const id = rightsAssignmentRecordId('gina');
    const r = w.deps.tenantRecords.records.get(`${TENANT}/${id}`)!;
    r.value = { ...r.value, rightsSet: 'auditor' } as never;
    if (planted === 'above') for (let i = 0; i <= KEPT_GIVINGS_READS; i++) await w.deps.blobs.putCreateOnly(TENANT, settingBlobName(id, far + i, false), Buffer.from('{}'), 'application/json', { retainUntil: null, legalHold: false }, {});
    if (planted === 'below') await plant(w, id, KEPT_SETTINGS_LISTED + 10);
    expect(await personHoldsNow(TENANT, 'gina', 'retention:approve', w.clock.now(), w.deps)).toBe(holds);
  });
});
