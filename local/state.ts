/**
 * The Cosmos protocol server keeps data in memory. The local host snapshots every
 * container to a file after changes and on shutdown, and loads it back on start, so
 * a restart of `npm start` loses no audit entry, API key or catalog item.
 */
import * as fs from 'node:fs';
import type { CosmosContainers } from '../shared/storage/cosmos';
import { CONTAINER_SPECS, isCosmosStatus, withoutSystemProperties } from '../shared/storage/cosmos';

type Snapshot = Record<string, Record<string, unknown>[]>;

export async function saveCosmosSnapshot(cosmos: CosmosContainers, file: string): Promise<void> {
  const snapshot: Snapshot = {};
  for (const name of Object.keys(CONTAINER_SPECS) as (keyof typeof CONTAINER_SPECS)[]) {
    const { resources } = await cosmos[name].items.readAll<Record<string, unknown>>().fetchAll();
    snapshot[name] = resources.map(withoutSystemProperties);
  }
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(snapshot));
  fs.renameSync(tmp, file); // atomic: a crash mid-write leaves the previous snapshot
}

export async function loadCosmosSnapshot(cosmos: CosmosContainers, file: string): Promise<number> {
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
  return loaded;
}

/** Coalesce bursts of requests into one snapshot write. */
export function debounced(fn: () => Promise<void>, ms: number): { trigger(): void; flush(): Promise<void> } {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const run = () => {
    timer = null;
    running = running.then(fn).catch(() => undefined);
    return running;
  };
  return {
    trigger() {
      if (!timer) timer = setTimeout(run, ms);
    },
    async flush() {
      if (timer) clearTimeout(timer);
      await run();
    },
  };
}
