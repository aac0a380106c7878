/**
 * The maintenance pass asks again for a rendition's validation that stays pending, a bounded number
 * of times, then gives up once (logged for the poison alert), against real Cosmos.
 */
import type { Logger, ValidationQueuePort } from '../../shared/ports';
import type { ValidationRequest } from '../../shared/kernel/validation';
import { MAX_VALIDATION_REQUESTS, requeuePendingValidations, VALIDATION_ABANDONED } from '../../shared/validation/request';
import { call, rawUpload } from '../support/http';
import { corpusFile, newTenant, startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

it(`asks again at most ${MAX_VALIDATION_REQUESTS} times for a validation that never completes, then gives up once, logged for the alert`, async () => {
  const tenant = newTenant('requeue');
  const token = await archive.token({ tenant, sub: 'clerk', rights: 'archivist' });
  const up = await call(`${archive.url}/documents`, { ...rawUpload(corpusFile('img2pdf/normal.png'), 'image/png', 'normal.png'), token });
  expect(up.status).toBe(201);
  // A queue that takes every request and a validator that never answers: the document stays pending.
  const sent: ValidationRequest[] = [];
  const validationQueue = { send: async (requests: readonly ValidationRequest[]) => void sent.push(...requests) } as unknown as ValidationQueuePort;
  const errors: { message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = { info: () => undefined, warn: () => undefined, error: (message, fields) => void errors.push({ message, ...(fields ? { fields } : {}) }) };
  const deps = { ...archive.host.deps, validationQueue, log };
  const pass = (hours: number) => requeuePendingValidations({ now: new Date(Date.now() + hours * 3600_000), olderThanSeconds: 900, max: 50, onlyTenant: tenant }, deps);

  for (let i = 1; i <= MAX_VALIDATION_REQUESTS; i++) expect(await pass(i)).toEqual({ requeued: 1, abandoned: 0 });
  expect(sent.map((r) => r.documentId)).toEqual(Array(MAX_VALIDATION_REQUESTS).fill(up.json.id));
  expect(await pass(MAX_VALIDATION_REQUESTS + 1)).toEqual({ requeued: 0, abandoned: 1 });
  expect(errors).toEqual([{ message: VALIDATION_ABANDONED, fields: { tenantId: tenant, documentId: up.json.id, requests: MAX_VALIDATION_REQUESTS } }]);
  // Given up: later passes neither ask nor log again; the document still says pending.
  expect(await pass(MAX_VALIDATION_REQUESTS + 2)).toEqual({ requeued: 0, abandoned: 0 });
  expect(sent).toHaveLength(MAX_VALIDATION_REQUESTS);
  expect(errors).toHaveLength(1);
  expect((await archive.host.deps.catalog.get(tenant, up.json.id))?.validation).toMatchObject({ status: 'pending', requests: MAX_VALIDATION_REQUESTS, gaveUpAt: expect.any(String) });
  expect((await call(`${archive.url}/documents/${up.json.id}`, { token })).json.validation).toEqual({ status: 'pending' });
});
