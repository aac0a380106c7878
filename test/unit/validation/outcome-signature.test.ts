/**
 * Azure: an outcome the archive records is one the Java validator signed. Someone with the storage account's data-plane
 * roles (blobs and queue messages, no Key Vault) plants a "compliant" validation.json while the document is pending and
 * announces it with its SHA-256: unsigned, signed with another key, or with the validator's genuine signature over
 * another document's fields, it is refused (logged, thrown: retried, then poisoned), never recorded.
 */
import { validationReportName } from '../../../shared/kernel/validation';
import { outcomeKey, outcomeSignature, type OutcomeFields } from '../../../shared/kernel/outcome-signature';
import { sha256 } from '../../../shared/ids';
import { OUTCOME_FORGED, recordStoredOutcome } from '../../../shared/validation/worker';
import { inMemoryDeps, RecordingLogger, staticSecrets } from '../../support/in-memory';
import { seedDocument } from '../../support/seed';

const T = 'acme';
const now = new Date('2025-03-01T12:00:00Z');
const KEY = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const compliant = Buffer.from(JSON.stringify({ report: { buildInformation: { releaseDetails: [{ id: 'core', version: '1.28.2' }] }, jobs: [{ itemDetails: { name: 'x', size: 1 }, validationResult: [{ compliant: true, profileName: 'PDF/A-2B', details: { ruleSummaries: [] } }] }] } }));

it('the signature is the one ValidateRenditionTest.java computes for the same key and fields (a shared test vector)', () => {
  const id = '01953c2e-8a40-7000-8000-000000000001';
  const fields = { tenantId: 'acme', documentId: id, renditionSha256: 'ab'.repeat(32), reportBlobName: `${id}/validation.json`, reportSha256: 'cd'.repeat(32) };
  expect(outcomeSignature(fields, outcomeKey(KEY))).toBe('3c7ee42d0ab4025665f7cee6d6edae22a8f8fae3e8aec50f4136fd6b3af2c41f');
});

async function planted() {
  const deps = inMemoryDeps();
  deps.secrets = staticSecrets({ [deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME]: KEY });
  const doc = await seedDocument(deps, T, { metadata: {} });
  const other = await seedDocument(deps, T, { metadata: {} });
  // Planted by a storage role while the validation is pending (create-only: the name is free).
  await deps.blobs.putCreateOnly(T, validationReportName(doc.id), compliant, 'application/json', { retainUntil: null, legalHold: false }, {});
  const fields: OutcomeFields = { tenantId: T, documentId: doc.id, renditionSha256: doc.rendition.sha256, reportBlobName: validationReportName(doc.id), reportSha256: sha256(compliant) };
  const otherFields: OutcomeFields = { tenantId: T, documentId: other.id, renditionSha256: other.rendition.sha256, reportBlobName: validationReportName(other.id), reportSha256: sha256(compliant) };
  return { deps, doc, fields, otherFields };
}

it.each([
  ['unsigned', () => undefined],
  ['signed with another key', (f: OutcomeFields) => outcomeSignature(f, outcomeKey('ee'.repeat(32)))],
  ["the validator's genuine signature over another document's fields", (_f: OutcomeFields, other: OutcomeFields) => outcomeSignature(other, outcomeKey(KEY))],
  ['a signature that is not hex', () => 'z'.repeat(64)],
])('a planted report announced by an outcome %s is not recorded, and is logged', async (_what, sign) => {
  const { deps, doc, fields, otherFields } = await planted();
  const signature = sign(fields, otherFields);
  const message = JSON.stringify({ ...fields, ...(signature !== undefined ? { signature } : {}), validatedAt: now.toISOString() });

  // Thrown: the Functions host delivers it again, then moves it to the poison queue (alerted).
  await expect(recordStoredOutcome(message, now, deps)).rejects.toThrow(/not signed by the validator/);

  expect((await deps.catalog.get(T, doc.id))!.validation).toBeUndefined(); // not recorded: still pending
  await deps.auditOutbox.flush();
  expect(deps.audit.entries.filter((e) => e.action === 'document.validate-rendition')).toEqual([]);
  expect((deps.log as RecordingLogger).lines).toContainEqual({ level: 'error', message: OUTCOME_FORGED, fields: { tenantId: T, documentId: doc.id, signature: signature === undefined ? 'missing' : 'does not match' } });
});

it('an outcome the validator signed is recorded', async () => {
  const { deps, doc, fields } = await planted();
  const message = JSON.stringify({ ...fields, signature: outcomeSignature(fields, outcomeKey(KEY)), validatedAt: now.toISOString() });

  await expect(recordStoredOutcome(message, now, deps)).resolves.toBe('recorded');

  expect((await deps.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'passed', report: { sha256: sha256(compliant) } });
  expect((deps.log as RecordingLogger).lines.filter((l) => l.message === OUTCOME_FORGED)).toEqual([]);
});

it('without a usable outcome key nothing is recorded (the main app also refuses to start without it)', async () => {
  const { deps, doc, fields } = await planted();
  deps.secrets = staticSecrets({ [deps.config.VALIDATOR_OUTCOME_KEY_SECRET_NAME]: 'not-a-key' });
  const message = JSON.stringify({ ...fields, signature: outcomeSignature(fields, outcomeKey(KEY)) });

  await expect(recordStoredOutcome(message, now, deps)).rejects.toThrow(/at least 32 bytes/);
  expect((await deps.catalog.get(T, doc.id))!.validation).toBeUndefined(); // not recorded: still pending
});

describe("a rotation of the validator's key (outcome-keys.ts)", () => {
  const HOUR = 3_600_000;
  const K1 = KEY;
  const K2 = 'aa'.repeat(32);
  /** Key Vault as the adapter serves it: a listing kept until asked for fresh (its 5-minute cache). */
  function vault(versions: { version: string; createdOn: number; enabled: boolean; value: string }[]) {
    let listed = versions.map((v) => ({ ...v }));
    const v = {
      versions,
      listings: 0,
      source: {
        get: async () => versions.at(-1)!.value,
        versioned: async (_n: string, version?: string | null) => ({ value: versions.find((x) => x.version === version)!.value, version: version ?? null }),
        versionsOf: async (_n: string, o?: { fresh?: boolean }) => {
          v.listings++;
          if (o?.fresh) listed = versions.map((x) => ({ ...x }));
          return listed.map(({ version, createdOn, enabled }) => ({ version, createdOn, enabled }));
        },
      },
    };
    return v;
  }
  const signedWith = (fields: OutcomeFields, hex: string) => JSON.stringify({ ...fields, signature: outcomeSignature(fields, outcomeKey(hex)), validatedAt: now.toISOString() });

  it.each([
    ['the version before, its successor created an hour ago (the validator not yet refreshed)', 'recorded', 1, true],
    ['the version before, its successor created 49 hours ago (past the platform refresh, twice)', 'refused', 49, true],
    ['the version before, disabled in Key Vault (a leaked key)', 'refused', 1, false],
  ] as const)('an outcome signed with %s is %s', async (_what, expected, hoursAgo, enabled) => {
    const { deps, doc, fields } = await planted();
    const kv = vault([
      { version: 'v1', createdOn: now.getTime() - 400 * HOUR, enabled, value: K1 },
      { version: 'v2', createdOn: now.getTime() - hoursAgo * HOUR, enabled: true, value: K2 },
    ]);
    deps.secrets = kv.source;
    const answer = recordStoredOutcome(signedWith(fields, K1), now, deps);
    if (expected === 'recorded') {
      await expect(answer).resolves.toBe('recorded');
      expect((await deps.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'passed' });
    } else {
      await expect(answer).rejects.toThrow(/not signed by the validator/);
      expect((await deps.catalog.get(T, doc.id))!.validation).toBeUndefined();
    }
  });

  it('a version created since the last listing is found by one fresh listing, and forged outcomes do not list again within the minute', async () => {
    const { deps, doc, fields, otherFields } = await planted();
    const kv = vault([{ version: 'v1', createdOn: now.getTime() - 400 * HOUR, enabled: true, value: K1 }]);
    deps.secrets = kv.source;
    await kv.source.versionsOf('x'); // listed before the rotation
    kv.versions.push({ version: 'v2', createdOn: now.getTime() - 60_000, enabled: true, value: K2 });
    kv.listings = 0;

    await expect(recordStoredOutcome(signedWith(fields, K2), now, deps)).resolves.toBe('recorded');
    expect((await deps.catalog.get(T, doc.id))!.validation).toMatchObject({ status: 'passed' });
    expect(kv.listings).toBe(2); // the cached listing, then one fresh

    for (let i = 0; i < 5; i++) await expect(recordStoredOutcome(signedWith(otherFields, 'ee'.repeat(32)), now, deps)).rejects.toThrow(/not signed by the validator/);
    expect(kv.listings).toBe(2 + 5); // the cached listing each time, never a fresh one
  });
});
