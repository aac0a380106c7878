/** The local Cosmos journal (local/cosmos-journal.ts): a crash image of the data directory restores every acknowledged write. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CosmosClient } from '@azure/cosmos';
import { startCosmos } from '../../local/emulators';

async function containerOn(endpoint: string, key: string) {
  const client = new CosmosClient({ endpoint, key, connectionPolicy: { enableEndpointDiscovery: false } });
  const { database } = await client.databases.createIfNotExists({ id: 'archive' });
  const { container } = await database.containers.createIfNotExists({ id: 'items', partitionKey: { paths: ['/tenantId'] } });
  return container;
}

it('restores from the snapshot plus the journal as a crash left them, ignoring a torn last line', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-journal-'));
  const image = fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-image-'));
  const first = await startCosmos({ dataDir: dir });
  const c1 = await containerOn(first.endpoint, first.key);
  await c1.items.create({ id: 'a', tenantId: 't1', v: 1 });
  await first.stop(); // compacted: 'a' is in the snapshot, the journal is empty

  const second = await startCosmos({ dataDir: dir });
  const c2 = await containerOn(second.endpoint, second.key);
  await c2.item('a', 't1').replace({ id: 'a', tenantId: 't1', v: 2 });
  await c2.items.upsert({ id: 'b', tenantId: 't2', v: 1 });
  await c2.items.create({ id: 'c', tenantId: 't1', v: 1 });
  await c2.item('c', 't1').delete();
  await c2.item('b', 't2').patch([{ op: 'set', path: '/v', value: 3 }]);
  // The files as kill -9 would leave them now, plus a write cut before its fsync.
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(image, f));
  fs.appendFileSync(path.join(image, 'journal.ndjson'), '{"m":"POST","p":"/dbs/arch');
  await second.stop();

  const third = await startCosmos({ dataDir: image });
  const c3 = await containerOn(third.endpoint, third.key);
  const { resources } = await c3.items.query<{ id: string; v: number }>('SELECT c.id, c.v FROM c').fetchAll();
  expect(resources.sort((x, y) => x.id.localeCompare(y.id))).toEqual([
    { id: 'a', v: 2 },
    { id: 'b', v: 3 },
  ]);
  await third.stop();
  // A clean stop folds everything into the snapshot.
  expect(fs.readFileSync(path.join(image, 'journal.ndjson'), 'utf8')).toBe('');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(image, { recursive: true, force: true });
});

it("replays a container made before an index was added with today's indexing policy, so the query that needs it runs", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cosmos-journal-old-'));
  // As a data directory written before the audit container had its composite index (at, id).
  const lines = [
    { m: 'POST', p: '/dbs', b: { id: 'archive' } },
    { m: 'POST', p: '/dbs/archive/colls', b: { id: 'audit', partitionKey: { paths: ['/partition'], kind: 'Hash' } } },
    { m: 'POST', p: '/dbs/archive/colls/audit/docs', pk: '["t1:2026-12"]', b: { id: '000000000001', partition: 't1:2026-12', at: '2026-12-01T00:00:00.000Z' } },
    { m: 'POST', p: '/dbs/archive/colls/audit/docs', pk: '["t1:2026-12"]', b: { id: '000000000002', partition: 't1:2026-12', at: '2026-12-01T00:00:00.000Z' } },
  ];
  fs.writeFileSync(path.join(dir, 'snapshot.ndjson'), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const cosmos = await startCosmos({ dataDir: dir });
  try {
    const client = new CosmosClient({ endpoint: cosmos.endpoint, key: cosmos.key, connectionPolicy: { enableEndpointDiscovery: false } });
    const audit = client.database('archive').container('audit');
    const { resource } = await audit.read();
    expect(resource?.indexingPolicy?.compositeIndexes).toContainEqual([{ path: '/at', order: 'descending' }, { path: '/id', order: 'descending' }]);
    const { resources } = await audit.items.query<{ id: string }>({ query: 'SELECT c.id FROM c WHERE c.partition = @p ORDER BY c.at DESC, c.id DESC', parameters: [{ name: '@p', value: 't1:2026-12' }] }, { partitionKey: 't1:2026-12' }).fetchAll();
    expect(resources.map((r) => r.id)).toEqual(['000000000002', '000000000001']);
  } finally {
    await cosmos.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
