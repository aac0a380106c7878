/**
 * Idempotency-Key is honoured by the upload, legal-hold placements, exports, support grants and disposal approvals (idempotent-creates.test.ts); elsewhere
 * it is refused, not ignored: a client that retries POST /api-keys with the key believes the retry is recognised, and
 * got a second key each time.
 */
import { ROUTES } from '../../../functions/routes';
import { servedArchive } from '../../support/served-archive';

const { base } = servedArchive();

const keyCount = async () => ((await (await fetch(`${base()}/api-keys`)).json()) as { items: unknown[] }).items.length;

it('POST /api-keys with Idempotency-Key: 400 problem+json saying so, no key created', async () => {
  for (let attempt = 0; attempt < 2; attempt++) {
    const res = await fetch(`${base()}/api-keys`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'retry-1' }, body: '{"name":"k","rightsSet":"uploader"}' });
    expect({ status: res.status, type: res.headers.get('content-type') }).toEqual({ status: 400, type: 'application/problem+json' });
    expect(((await res.json()) as { detail: string }).detail).toMatch(/Idempotency-Key/);
  }
  expect(await keyCount()).toBe(0);
});

it('the upload still takes it (and only the operations that recognise a retry declare it)', async () => {
  const res = await fetch(`${base()}/documents`, { method: 'POST', headers: { 'Content-Type': 'image/jpeg', 'Idempotency-Key': 'up-1' }, body: new Uint8Array(0) });
  expect(((await res.json()) as { code: string }).code).toBe('empty_body');
  expect(ROUTES.filter((r) => r.idempotencyKey).map((r) => r.name).sort()).toEqual(['approveDisposal', 'createExport', 'createSupportGrant', 'placeLegalHold', 'placeLegalHoldsByQuery', 'uploadDocument']);
});

it('the pipeline validates the key of every operation that takes it: a malformed one on the upload is a 400 before the body is read', async () => {
  const res = await fetch(`${base()}/documents`, { method: 'POST', headers: { 'Content-Type': 'image/jpeg', 'Idempotency-Key': 'x'.repeat(201) }, body: new Uint8Array(0) });
  expect({ status: res.status, code: ((await res.json()) as { code: string }).code }).toEqual({ status: 400, code: 'bad_request' });
});
