import { ArchiveError, ERROR_CODES, toArchiveError } from '../../../shared/kernel/errors';
import { ERROR_STATUS, headersOf, problemOf, statusOf } from '../../../shared/http/problem';

describe('problem+json', () => {
  it('maps each code to its status, with an RFC 9457 body', () => {
    const p = problemOf(new ArchiveError('duplicate_document', { detail: 'already there', extensions: { documentId: 'x' } }), 'req-1', '/api/documents');
    expect(p).toEqual({ type: 'https://archive.example/problems/duplicate-document', title: 'This original is already archived', status: 409, detail: 'already there', instance: '/api/documents', code: 'duplicate_document', requestId: 'req-1', documentId: 'x' });
  });

  it('hides the detail of unknown errors and quotes the request id', () => {
    const err = toArchiveError(new Error('connection string AccountKey=secret leaked'));
    expect(err.code).toBe('internal');
    const p = problemOf(err, 'req-2');
    expect(JSON.stringify(p)).not.toContain('secret');
    expect(p.detail).toContain('req-2');
  });

  it('extensions cannot override the standard members', () => {
    const p = problemOf(new ArchiveError('forbidden', { extensions: { status: 200, code: 'ok' } }), 'r');
    expect(p.status).toBe(403);
    expect(p.code).toBe('forbidden');
  });

  it('every status is a 4xx or 5xx', () => {
    for (const status of Object.values(ERROR_STATUS)) expect(status).toBeGreaterThanOrEqual(400);
  });

  it('the status table covers exactly the kernel codes', () => {
    expect(Object.keys(ERROR_STATUS).sort()).toEqual([...ERROR_CODES].sort());
  });

  it('derives the headers from the error: challenge on 401, size on 416, wait when retryable', () => {
    expect(headersOf(new ArchiveError('unauthenticated'))).toEqual({ 'WWW-Authenticate': 'Bearer realm="archive", ApiKey realm="archive"' });
    expect(headersOf(new ArchiveError('range_not_satisfiable', { extensions: { size: 100 } }))).toEqual({ 'Content-Range': 'bytes */100' });
    expect(headersOf(new ArchiveError('audit_contention', { retryAfterSeconds: 3 }))).toEqual({ 'Retry-After': '3' });
    expect(statusOf('range_not_satisfiable')).toBe(416);
  });
});
