/**
 * The judgement `archive verify --against-archive` and the web app's "Check a copy" share (cli/copy-check.ts): what the
 * archive's record of an export says of the manifest.json a copy holds. (The file-by-file comparison is held by the
 * CLI's tests through `verifyExport` and `unpackAndVerify`, and by test/unit/web/copy-check.test.ts.)
 */
import { judgeAgainstRecord, parseManifest, type ExportRecord } from '../../../cli/copy-check';

const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000aa';
const FINGERPRINT = { sha256: 'ab'.repeat(32), size: 1234 };
const copyOf = { exportId: EXPORT_ID, manifestJson: FINGERPRINT };
const record = (extra: Partial<ExportRecord>): ExportRecord => ({ status: 'completed', createdBy: { subject: 'user:s1', kind: 'user' }, ...extra });

it('proves a copy whose manifest.json has the recorded SHA-256 and size, naming who started the export', () => {
  expect(judgeAgainstRecord(copyOf, record({ completedAt: '2025-01-02T03:05:00.000Z', manifestJson: FINGERPRINT }))).toEqual({ status: 'proven', exportId: EXPORT_ID, completedAt: '2025-01-02T03:05:00.000Z', createdBy: 'user:s1' });
  expect(judgeAgainstRecord(copyOf, record({ completedAt: '2025-01-02T03:05:00.000Z', manifestJson: FINGERPRINT, createdBy: { subject: 'user:s1', kind: 'user', person: 'anna@example.com' } }))).toMatchObject({ createdBy: 'anna@example.com' });
});

it.each([
  ['the SHA-256', { ...FINGERPRINT, sha256: 'cd'.repeat(32) }],
  ['the size, by one byte', { ...FINGERPRINT, size: FINGERPRINT.size - 1 }],
])('a manifest.json that differs in %s from the record differs', (_, recorded) => {
  expect(judgeAgainstRecord(copyOf, record({ completedAt: '2025-01-02T03:05:00.000Z', manifestJson: recorded }))).toEqual({ status: 'differs', exportId: EXPORT_ID, recorded });
});

it('no such export, or one without a record of its manifest.json, proves nothing', () => {
  expect(judgeAgainstRecord(copyOf, null)).toEqual({ status: 'unknown-export', exportId: EXPORT_ID });
  expect(judgeAgainstRecord(copyOf, record({ completedAt: '2025-01-02T03:05:00.000Z' }))).toEqual({ status: 'not-recorded', exportId: EXPORT_ID, exportStatus: 'completed' });
  expect(judgeAgainstRecord(copyOf, record({ status: 'running', manifestJson: FINGERPRINT }))).toEqual({ status: 'not-recorded', exportId: EXPORT_ID, exportStatus: 'running' });
});

it('reads an export manifest, and nothing else as one', () => {
  expect(parseManifest('{"export":{"id":"x"},"documents":[]}')).toEqual({ export: { id: 'x' }, documents: [] });
  for (const text of ['', 'not json', '[]', 'null', '{"documents":{}}', '{"export":{"id":"x"}}']) expect(parseManifest(text)).toBeUndefined();
});
