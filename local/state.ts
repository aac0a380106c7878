/**
 * Before the Cosmos journal (local/cosmos-journal.ts) the local host kept a debounced
 * snapshot in .local/cosmos-snapshot.json. A data directory that still has one is imported
 * once (the writes go through the journal, so they are durable) and the file is set aside.
 */
import * as fs from 'node:fs';
import type { CosmosContainers } from '../shared/adapters/azure/cosmos';
import { CONTAINER_SPECS, isCosmosStatus } from '../shared/adapters/azure/cosmos';

type Snapshot = Record<string, Record<string, unknown>[]>;

export async function importLegacySnapshot(cosmos: CosmosContainers, file: string): Promise<number> {
  if (!fs.existsSync(file)) return 0;
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  let loaded = 0;
  for (const name of Object.keys(CONTAINER_SPECS) as (keyof typeof CONTAINER_SPECS)[]) {
    for (const item of snapshot[name] ?? []) {
      try {
        await cosmos[name].items.create(item);
        loaded++;
      } catch (err) {
        if (!isCosmosStatus(err, 409)) throw err;
      }
    }
  }
  fs.renameSync(file, `${file}.imported`);
  return loaded;
}
