/**
 * An API key acts for its person. Where that person's rights come from the identity provider's
 * claim, the archive sees them only when the person signs in: the key acts on the set claimed at
 * the last sign-in, and not at all once the person has not signed in for ARCHIVE_KEY_PERSON_IDLE_DAYS
 * (someone who left keeps no working key). A key minted by a key does not count as a sign-in.
 * The archive's clock is moved forward here (the host reads the shared system clock).
 */
import { systemClock } from '../../shared/clock';
import { call } from '../support/http';
import { newTenant, startTestArchive, TestArchive } from '../support/harness';
import { uniqueJpeg } from '../support/worm-archive';

const DAY = 86_400_000;
let archive: TestArchive;
let shift = 0;
const wallClock = systemClock.now.bind(systemClock);
beforeAll(async () => {
  archive = await startTestArchive({ ARCHIVE_KEY_PERSON_IDLE_DAYS: '30' });
  jest.spyOn(systemClock, 'now').mockImplementation(() => new Date(wallClock().getTime() + shift));
});
afterAll(async () => {
  jest.restoreAllMocks();
  await archive.stop();
});

const json = (method: string, body: unknown) => ({ method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
const withKey = (key: string, init: RequestInit = {}) => ({ ...init, headers: { ...(init.headers as Record<string, string>), Authorization: `ApiKey ${key}` } as Record<string, string> });
const upload = () => {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(uniqueJpeg())], { type: 'image/jpeg' }), 'scan.jpg');
  return { method: 'POST', body: form };
};

/** Mints a key as `as` (a bearer token, or another key's headers); its secret, and the idle limit the answer states. */
async function minted(as: { token: string } | { headers: Record<string, string> }, rightsSet: string): Promise<{ key: string; personIdleDays: number | null }> {
  const body = json('POST', { name: `k-${rightsSet}-${Math.random()}`, rightsSet });
  const made = await call(`${archive.url}/api-keys`, 'token' in as ? { ...body, token: as.token } : { ...body, headers: { ...body.headers, ...as.headers } });
  if (made.status !== 201) throw new Error(`mint ${rightsSet}: ${made.status} ${made.bytes.toString()}`);
  return made.json as { key: string; personIdleDays: number | null };
}
const mint = async (...a: Parameters<typeof minted>) => (await minted(...a)).key;

it('a key of a person with claimed rights acts on the set claimed at their last sign-in, and not after 30 days without one', async () => {
  const tenant = newTenant('idle');
  const ines = await archive.token({ tenant, sub: 'ines', rights: 'integration-admin' });
  const made = await minted({ token: ines }, 'uploader');
  // The creation answer says so (the web app shows it beside the secret).
  expect(made.personIdleDays).toBe(30);
  const key = made.key;
  expect((await call(`${archive.url}/documents`, withKey(key, upload()))).status).toBe(201);

  // 31 days on, ines has not signed in: she may have left; the key acts no more, and says why.
  shift = 31 * DAY;
  const idle = await call(`${archive.url}/documents`, withKey(key));
  expect(idle.json).toMatchObject({ status: 403, code: 'forbidden', rule: 'key-person-idle', idleDays: 30 });
  expect(idle.json.detail).toMatch(/ines.*not signed in to the archive for 30 days/);

  // She signs in: the key acts again.
  expect((await call(`${archive.url}/documents`, { token: ines })).status).toBe(200);
  expect((await call(`${archive.url}/documents`, withKey(key, upload()))).status).toBe(201);

  // Her claim now gives her less (accountant: no documents:write): at her next sign-in, her key follows.
  const narrowed = await archive.token({ tenant, sub: 'ines', rights: 'accountant' });
  expect((await call(`${archive.url}/documents`, { token: narrowed })).status).toBe(200);
  expect((await call(`${archive.url}/documents`, withKey(key, upload()))).json).toMatchObject({ status: 403, code: 'forbidden', permission: 'documents:write' });
  expect((await call(`${archive.url}/documents`, withKey(key))).status).toBe(200);

  // The refusal is audited for the person behind the key.
  const auditor = await archive.token({ tenant, sub: 'carol', rights: 'auditor' });
  const month = new Date(wallClock().getTime() + 31 * DAY).toISOString().slice(0, 7);
  const entries = (await call(`${archive.url}/audit?month=${month}&action=document.list`, { token: auditor })).json.items as { detail?: string; actor: { person?: string } }[];
  expect(entries.map((e) => [e.detail, e.actor.person])).toContainEqual(['forbidden:key-person-idle', 'ines']);
});

it('a key minted by a key does not keep its person signed in', async () => {
  shift = 0;
  const tenant = newTenant('idlechain');
  const ines = await archive.token({ tenant, sub: 'ines', rights: 'integration-admin' });
  const minter = await mint({ token: ines }, 'integration-admin');
  // Day 29: still within her last sign-in's 30 days, the key mints another.
  shift = 29 * DAY;
  const minted = await mint(withKey(minter), 'uploader');
  expect((await call(`${archive.url}/documents`, withKey(minted, upload()))).status).toBe(201);
  // Day 31: the new key is two days old, but no sign-in made it: both keys rest until she signs in.
  shift = 31 * DAY;
  for (const k of [minted, minter]) expect((await call(`${archive.url}/documents`, withKey(k))).json).toMatchObject({ status: 403, rule: 'key-person-idle' });
  expect((await call(`${archive.url}/documents`, { token: ines })).status).toBe(200);
  expect((await call(`${archive.url}/documents`, withKey(minted))).status).toBe(200);
});

it('a person whose rights the tenant assigned is not idle-limited: the assignment decides', async () => {
  shift = 0;
  const tenant = newTenant('idleassigned');
  const admin = await archive.token({ tenant, sub: 'erin', rights: 'tenant-admin' });
  expect((await call(`${archive.url}/rights-assignments/dave`, { ...json('PUT', { rightsSet: 'accountant' }), token: admin })).status).toBe(200);
  const dave = await archive.token({ tenant, sub: 'dave', rights: 'accountant' });
  expect((await call(`${archive.url}/rights-sets/minters`, { ...json('PUT', { permissions: ['documents:read', 'keys:manage'] }), token: admin })).status).toBe(200);
  expect((await call(`${archive.url}/rights-assignments/dave`, { ...json('PUT', { rightsSet: 'minters' }), token: admin })).status).toBe(200);
  const made = await minted({ token: dave }, 'minters');
  expect(made.personIdleDays).toBeNull();
  const key = made.key;
  shift = 60 * DAY; // past the 30 days, within the key's own 90
  expect((await call(`${archive.url}/documents`, withKey(key))).status).toBe(200);
});
