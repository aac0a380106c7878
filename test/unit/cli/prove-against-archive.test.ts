/**
 * `archive verify --against-archive` judges a copy by the archive's answer for the export its manifest.json names
 * (the answers a real archive gives are in test/integration/cli.test.ts). Here, those it cannot be made to give there
 * in one run: an export still running, one completed before the archive kept manifest.json's fingerprint, and no answer.
 */
import { type Client, CliError, EXIT_RUN_AGAIN, type FetchLike, proveAgainstArchive, type VerifyResult } from '../../../cli/core';

const BASE = 'http://127.0.0.1:9/api';
const EXPORT_ID = '0190f2a4-0000-7000-8000-0000000000aa';
const FINGERPRINT = { sha256: 'ab'.repeat(32), size: 1234 };
const copy: VerifyResult = { documents: 1, files: 1, bytes: 10, verified: 1, mismatched: [], missing: [], unexpected: [], csvCovered: true, copyOf: { exportId: EXPORT_ID, manifestJson: FINGERPRINT } };
const job = (extra: Record<string, unknown>) => ({
  id: EXPORT_ID, status: 'completed', filter: { fiscalYear: 2024 }, includeOriginals: false, csv: { separator: ',', decimalMark: '.' }, createdAt: '2025-01-02T03:04:05.000Z',
  createdBy: { subject: 'key:k1', kind: 'api-key', person: 'anna@example.com' }, requestId: 'r1', progress: { total: 1, documents: 1, files: 1, bytes: 10 }, expiresAt: '2025-01-05T03:04:05.000Z', ...extra,
});
const clientOf = (answer: () => Response): { client: Client; asked: string[] } => {
  const asked: string[] = [];
  const fetch: FetchLike = async (url) => {
    asked.push(url);
    return answer();
  };
  return { client: { config: { url: BASE, token: 'secret-token' }, fetch }, asked };
};

it('asks for the export manifest.json names, and proves the copy when the recorded fingerprint is its own', async () => {
  const { client, asked } = clientOf(() => Response.json(job({ completedAt: '2025-01-02T03:05:00.000Z', manifestJson: FINGERPRINT })));
  expect(await proveAgainstArchive(client, copy)).toEqual({ status: 'proven', exportId: EXPORT_ID, completedAt: '2025-01-02T03:05:00.000Z', createdBy: 'anna@example.com' });
  expect(asked).toEqual([`${BASE}/exports/${EXPORT_ID}`]);
});

it.each([
  ['still running', job({ status: 'running' }), 'running'],
  ['completed before the archive kept the fingerprint', job({ completedAt: '2025-01-02T03:05:00.000Z' }), 'completed'],
  ['failed', job({ status: 'failed', error: 'export_incomplete' }), 'failed'],
])('an export %s proves nothing', async (_, answer, exportStatus) => {
  const { client } = clientOf(() => Response.json(answer));
  expect(await proveAgainstArchive(client, copy)).toEqual({ status: 'not-recorded', exportId: EXPORT_ID, exportStatus });
});

it('one byte of size apart is a difference, whatever the SHA-256 says', async () => {
  const { client } = clientOf(() => Response.json(job({ completedAt: '2025-01-02T03:05:00.000Z', manifestJson: { ...FINGERPRINT, size: FINGERPRINT.size + 1 } })));
  expect(await proveAgainstArchive(client, copy)).toMatchObject({ status: 'differs' });
});

it('a manifest.json naming no export is not sent to the archive', async () => {
  const { client, asked } = clientOf(() => Response.json(job({})));
  const { copyOf: _, ...unnamed } = copy;
  expect(await proveAgainstArchive(client, unnamed)).toEqual({ status: 'no-export-id' });
  expect(asked).toEqual([]);
});

it('an archive briefly unavailable is "run again", not a verdict on the copy', async () => {
  const { client } = clientOf(() => Response.json({ type: 'about:blank', title: 'x', status: 503, code: 'dependency_unavailable', detail: 'busy' }, { status: 503, headers: { 'Content-Type': 'application/problem+json' } }));
  const err = await proveAgainstArchive(client, copy).then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(CliError);
  expect((err as CliError).exitCode).toBe(EXIT_RUN_AGAIN);
});
