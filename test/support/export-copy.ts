/**
 * A one-document export copy for the CLI's proof tests: the archived scan and a forged one, manifest.csv, the
 * manifest.json that lists them, and an archive that answers GET /exports/{id} with a recorded manifest.json.
 */
import { createHash } from 'node:crypto';
import type { Client, FetchLike } from '../../cli/core';

export const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
export const GOOD = Buffer.from('the archived bytes');
export const EVIL = Buffer.from('a scan the archive never handed out');
export const CSV = Buffer.from('\ufeffdocumentId\r\nd1\r\n');

/** manifest.json of export `exportId` listing `scan` as its one rendition, and the CSV. */
export const manifestFor = (exportId: string, scan: Buffer): Buffer =>
  Buffer.from(JSON.stringify({ format: 'archive-export/1', export: { id: exportId }, documents: [{ id: 'd1', files: [{ path: 'documents/a.pdf', sha256: sha(scan), size: scan.length }] }], manifestCsv: { sha256: sha(CSV), size: CSV.length } }));

/** An archive whose export `exportId` (expired) recorded `manifestJson`. */
export const archiveRecording = (exportId: string, manifestJson: { sha256: string; size: number }): Client => {
  const fetch: FetchLike = async () =>
    Response.json({
      id: exportId, status: 'expired', filter: { fiscalYear: 2024 }, includeOriginals: false, csv: { separator: ',', decimalMark: '.' }, createdAt: '2025-01-02T03:04:05.000Z',
      createdBy: { subject: 'u1', kind: 'user' }, requestId: 'r1', progress: { total: 1, documents: 1, files: 1, bytes: GOOD.length }, expiresAt: '2025-01-05T03:04:05.000Z', completedAt: '2025-01-02T03:05:00.000Z', manifestJson,
    });
  return { config: { url: 'http://127.0.0.1:9/api', token: 't' }, fetch };
};
