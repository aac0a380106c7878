/**
 * Round 23: attacks on the newest merges (the validator's signed outcomes, the sealing timer's bounded look, the export
 * resume after round 22a). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { validationReportName } from '../../../shared/kernel/validation';
import { outcomeKey, outcomeSignature, type OutcomeFields } from '../../../shared/kernel/outcome-signature';
import { sha256 } from '../../../shared/ids';
import { recordStoredOutcome } from '../../../shared/validation/worker';
import { AUDIT_CHAIN_BEHIND_SEAL, AUDIT_SEAL_UNSEALED, sealBlobName, sealPartition } from '../../../shared/audit/seal';
import { inMemoryDeps, type InMemoryDeps, type RecordingLogger, staticSecrets } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const now = new Date('2025-03-01T12:00:00Z');
const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

/**
 * The Java validator signs a report found stored (create-only: a planted one) when it states veraPDF's verdict and
 * failed rules as it reads them (ValidateRendition.outcome: `compliant` through Jackson's asBoolean, so the string
 * "false" is false). The Node recorder read `compliant` by truthiness: the string "false" passed. Whoever holds the
 * storage role ran veraPDF on the rendition (they read it), planted its genuine rules with `"compliant": "false"`: the
 * validator signed it as failed, the archive recorded it passed. Only the JSON boolean true is compliant now.
 */
describe('a planted report the validator reads as failed and the recorder read as passed', () => {
  const report = (compliant: unknown) => Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.28.2' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant, profileName: 'PDF/A-2B', details: { ruleSummaries: [{ clause: '6.1.3', testNumber: 1, status: 'failed' }] } }] }] } }));
  it.each([
    ['false (as veraPDF writes it)', false],
    ['"false" (a string)', 'false'],
    ['"no"', 'no'],
    ['an object', {}],
  ])('compliant %s is recorded failed', async (_what, compliant) => {
    const deps = inMemoryDeps();
    deps.secrets = staticSecrets({ [deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME]: KEY });
    const doc = await seedDocument(deps, T, { metadata: {} });
    const planted = report(compliant);
    await deps.blobs.putCreateOnly(T, validationReportName(doc.id), planted, 'application/json', { retainUntil: null, legalHold: false }, {});
    // What the validator signs for it: its stored bytes, which state (as Java reads them) veraPDF's failed verdict and rules.
    const fields: OutcomeFields = { tenantId: T, documentId: doc.id, renditionSha256: doc.rendition.sha256, reportBlobName: validationReportName(doc.id), reportSha256: sha256(planted) };
    const message = JSON.stringify({ ...fields, signature: outcomeSignature(fields, outcomeKey(KEY)), validatedAt: now.toISOString() });

    await recordStoredOutcome(message, now, deps);

    expect((await deps.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'failed', passed: false, failedRules: ['6.1.3-1'] });
  });
});

/**
 * The sealing timer took a month's seal folder's names as seals by `\d+.json` and read them newest first as text: a
 * name not of 12 digits sorted apart from the archive's (`40.json` above `000000000050.json`). Someone who can write
 * Cosmos DB cut the chain back behind the archive's last seal (50 to 45; the archive appends on from there); the next
 * run read the seal at 50, found the chain no longer holds what it fixed, and alerted. Whoever holds the storage role
 * copied the archive's genuine seal at 40 under `40.json`: read first, sealed, still fixing the chain at 40, it was
 * taken as the last seal and the cut chain sealed without a word. Only the archive's names (entryId, 12 digits) count.
 */
describe('a chain cut behind its last seal, the seal before it copied under a shorter name', () => {
  async function grow(deps: InMemoryDeps, n: number): Promise<void> {
    for (let i = 0; i < n; i++) await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r${Math.random()}`, clientIp: null, userAgent: null });
  }
  it.each([
    ['nothing copied (control)', null],
    ['copied as 40.json', (m: string) => `audit-seals/${m}/40.json`],
    ['copied as 0040.json', (m: string) => `audit-seals/${m}/0040.json`],
  ])('%s: the cut is alerted', async (_what, copyAs) => {
    const deps = inMemoryDeps();
    const month = deps.clock.now().toISOString().slice(0, 7);
    await grow(deps, 40);
    await sealPartition(T, month, deps.clock.now(), deps);
    await grow(deps, 10);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(50);
    deps.audit.entries.splice(45); // cut in Cosmos DB
    await grow(deps, 10);
    if (copyAs) await deps.blobs.putCreateOnly(T, copyAs(month), await deps.blobs.readAll(T, sealBlobName(month, 40)), 'application/json', { retainUntil: null, legalHold: false }, {});
    (deps.log as RecordingLogger).lines.length = 0;

    await sealPartition(T, month, deps.clock.now(), deps);

    expect((deps.log as RecordingLogger).lines.filter((l) => l.message === AUDIT_CHAIN_BEHIND_SEAL)).toHaveLength(1);
  });
});

/**
 * A seal without the archive's MAC counted as one from before seals were sealed when it fixed the hash the chain holds
 * at its number and no sealed seal was read: "a storage role cannot know that hash". Whoever also reads Cosmos DB does.
 * The chain cut behind the archive's last seal (50 to 45) and grown again to 70; sixteen unsealed seals planted at 54 to
 * 69, each with the hash the chain now holds there, filled the run's reads (SEAL_READS_MAX) above the archive's seal at
 * 50: the one at 69 counted as the last seal, nothing was logged, the cut chain sealed. One counts now only where the
 * run read everything below it; else it is logged as not the archive's.
 */
describe('a chain cut behind its last seal, sixteen unsealed seals planted with the hashes the chain holds', () => {
  it('is alerted', async () => {
    const deps = inMemoryDeps();
    const month = deps.clock.now().toISOString().slice(0, 7);
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await deps.audit.append({ tenantId: T, at: deps.clock.now().toISOString(), actor: { subject: 'u', kind: 'user' }, action: 'document.read', target: 'd', outcome: 'success', status: 200, requestId: `r${Math.random()}`, clientIp: null, userAgent: null });
    };
    await append(50);
    expect((await sealPartition(T, month, deps.clock.now(), deps))?.seq).toBe(50);
    deps.audit.entries.splice(45); // cut in Cosmos DB
    await append(25);
    for (let seq = 54; seq <= 69; seq++) {
      const seal = { partition: `${T}:${month}`, seq, hash: await deps.audit.hashAt(T, month, seq), sealedAt: deps.clock.now().toISOString() };
      await deps.blobs.putCreateOnly(T, sealBlobName(month, seq), Buffer.from(JSON.stringify(seal)), 'application/json', { retainUntil: null, legalHold: false }, {});
    }
    const log = deps.log as RecordingLogger;
    log.lines.length = 0;

    await sealPartition(T, month, deps.clock.now(), deps);

    expect(log.lines.filter((l) => l.message === AUDIT_CHAIN_BEHIND_SEAL || l.message === AUDIT_SEAL_UNSEALED).length).toBeGreaterThan(0);
  });
});
