/**
 * Round 23: attacks on the newest merges (the validator's signed outcomes, the sealing timer's bounded look, the export
 * resume after round 22a). Each case is an attack that broke, with the fix it got; see each block's comment.
 */
import { validationReportName } from '../../../shared/kernel/validation';
import { outcomeKey, outcomeSignature, type OutcomeFields } from '../../../shared/kernel/outcome-signature';
import { sha256 } from '../../../shared/ids';
import { recordStoredOutcome } from '../../../shared/validation/worker';
import { inMemoryDeps, staticSecrets } from '../../support/in-memory';
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
