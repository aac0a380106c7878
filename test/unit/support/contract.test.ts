/** The harness's contract check: every integration-test answer must be one its operation declares. */
import { checkContract } from '../../support/contract';

const json = (v: unknown) => ({ contentType: 'application/json', json: v });
const problem = (code: string, status: number) => ({ contentType: 'application/problem+json', json: { type: `https://archive.example/problems/${code}`, title: 't', status, code, requestId: 'r' } });
const base = 'http://127.0.0.1:1/api';

it('accepts a declared success status with a body its schema parses', () => {
  expect(() => checkContract('GET', `${base}/health`, 200, json({ status: 'ok' }))).not.toThrow();
});

it('refuses a status the operation does not declare', () => {
  expect(() => checkContract('GET', `${base}/openapi.json`, 201, json({ openapi: '3.1.0' }))).toThrow(/GET openapi\.json.*status 201/s);
});

it('refuses a success body with a field the schema does not declare', () => {
  expect(() => checkContract('GET', `${base}/health`, 200, json({ status: 'ok', surprise: 1 }))).toThrow(/body does not match/);
});

it('refuses a problem with a code the operation does not declare, or a malformed problem', () => {
  expect(() => checkContract('GET', `${base}/openapi.json`, 404, problem('document_not_found', 404))).toThrow(/status 404/);
  expect(() => checkContract('GET', `${base}/documents/x`, 422, problem('encrypted_pdf', 422))).toThrow(/status 422|encrypted_pdf/);
  expect(() => checkContract('GET', `${base}/documents/x`, 404, { contentType: 'application/problem+json', json: { code: 'document_not_found' } })).toThrow(/problem/);
});

it('refuses an error status without a problem+json body', () => {
  expect(() => checkContract('GET', `${base}/openapi.json`, 500, { contentType: 'text/plain', json: undefined })).toThrow(/problem\+json/);
});

it('allows the host answers for undeclared routes and methods, and ignores URLs outside the API', () => {
  expect(() => checkContract('GET', `${base}/no/such/thing`, 404, problem('route_not_found', 404))).not.toThrow();
  expect(() => checkContract('DELETE', `${base}/openapi.json`, 405, problem('method_not_allowed', 405))).not.toThrow();
  expect(() => checkContract('DELETE', `${base}/openapi.json`, 404, problem('route_not_found', 404))).toThrow();
  expect(() => checkContract('GET', 'http://127.0.0.1:1/.well-known/openid-configuration', 200, json({ any: 1 }))).not.toThrow();
});

it('accepts stored JSON bytes where the operation declares a stream of that media type, but not elsewhere', () => {
  expect(() => checkContract('GET', `${base}/documents/01a238a0-c92b-7000-a060-bca3e0000000/validation`, 200, json({ report: {} }))).not.toThrow();
  expect(() => checkContract('GET', `${base}/documents/01a238a0-c92b-7000-a060-bca3e0000000/rendition`, 200, json({ report: {} }))).toThrow(/declares no JSON body/);
});
