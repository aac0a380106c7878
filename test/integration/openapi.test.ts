/** GET /openapi.json: public, the description of the route table the host serves. */
import { ROUTES } from '../../functions/routes';
import { call } from '../support/http';
import { startTestArchive, TestArchive } from '../support/harness';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

it('serves the OpenAPI 3.1 description without a credential', async () => {
  const r = await call(`${archive.url}/openapi.json`);
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/json/);
  expect(r.json.openapi).toBe('3.1.0');
  expect(r.json.servers).toEqual([{ url: '/api' }]);
  const ids = Object.values(r.json.paths).flatMap((p: any) => Object.values(p).map((o: any) => o.operationId));
  expect(ids.sort()).toEqual(ROUTES.map((x) => x.name).sort());
});
