/**
 * Deleting a rights set while someone assigns it, against real Cosmos: never both. Each used to check
 * on its own read (no holder; the set exists) and both succeeded, leaving an assignment to a deleted set.
 */
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import type { TenantRecordsPort } from '../../shared/ports';

let archive: TestArchive;
beforeAll(async () => {
  archive = await startTestArchive();
});
afterAll(() => archive.stop());

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  return { wait: new Promise<void>((r) => (open = r)), open };
}

async function tenantWithSet() {
  const tenant = newTenant('rights-race');
  const first = await archive.token({ tenant, sub: 'admin-1', rights: 'tenant-admin' });
  const second = await archive.token({ tenant, sub: 'admin-2', rights: 'tenant-admin' });
  expect((await call(`${archive.url}/rights-sets/bookkeeper`, { ...json('PUT', { permissions: ['documents:read'] }), token: first })).status).toBe(200);
  return { tenant, first, second };
}

/** Runs `paused` until `when` says it reached the point to hold, runs `meanwhile`, then lets `paused` finish. */
async function interleave<T>(records: TenantRecordsPort, method: 'get' | 'list', when: (args: unknown[]) => boolean, paused: () => Promise<T>, meanwhile: () => Promise<void>): Promise<T> {
  const original = records[method].bind(records) as (...args: unknown[]) => Promise<unknown>;
  const reached = gate();
  const resume = gate();
  let left = 1;
  (records as unknown as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    const result = await original(...args);
    if (when(args) && left-- > 0) {
      reached.open();
      await resume.wait;
    }
    return result;
  };
  try {
    const outcome = paused();
    await reached.wait;
    await meanwhile();
    resume.open();
    return await outcome;
  } finally {
    (records as unknown as Record<string, unknown>)[method] = original;
  }
}

it('an assignment judged on the set before it was deleted is refused (404), and nobody holds the deleted set', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const assigned = await interleave(
    archive.host.deps.tenantRecords,
    'get',
    ([t, id, , opts]) => t === tenant && id === 'rights-set:bookkeeper' && (opts as { fresh?: boolean } | undefined)?.fresh === true,
    () => call(`${archive.url}/rights-assignments/bob`, { ...json('PUT', { rightsSet: 'bookkeeper' }), token: first }),
    async () => {
      expect((await call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second })).status).toBe(204);
    },
  );
  expect(assigned.status).toBe(404);
  expect(assigned.json).toMatchObject({ code: 'rights_set_not_found' });
  expect((await call(`${archive.url}/rights-assignments`, { token: first })).json.items).toEqual([]);
});

it('a deletion that looked for holders before an assignment was written is refused (409 rights_set_in_use), and the set stays', async () => {
  const { tenant, first, second } = await tenantWithSet();
  const deleted = await interleave(
    archive.host.deps.tenantRecords,
    'list',
    ([t, type]) => t === tenant && type === 'rights-assignment',
    () => call(`${archive.url}/rights-sets/bookkeeper`, { method: 'DELETE', token: second }),
    async () => {
      expect((await call(`${archive.url}/rights-assignments/bob`, { ...json('PUT', { rightsSet: 'bookkeeper' }), token: first })).status).toBe(200);
    },
  );
  expect(deleted.status).toBe(409);
  expect(deleted.json).toMatchObject({ code: 'rights_set_in_use' });
  expect((await call(`${archive.url}/rights-sets`, { token: first })).json.items.map((s: { name: string }) => s.name)).toContain('bookkeeper');
});
