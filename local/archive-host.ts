import * as path from 'node:path';
import * as http from 'node:http';
import { buildDeps, Deps, Logger } from '../shared/app';
import { loadConfig } from '../shared/config';
import { unsafeRebuildCatalogFromManifests } from '../shared/documents/rebuild-catalog';
import { ROUTES } from '../functions/routes';
import { closeServer, listen } from './emulators';
import { createArchiveServer } from './server';
import { debounced, loadCosmosSnapshot, saveCosmosSnapshot } from './state';
import type { RenditionValidator } from '../shared/validation/types';
import { startValidationLoop } from './validation-loop';

export interface ArchiveHostOptions {
  env: NodeJS.ProcessEnv;
  port?: number;
  /** Where the Cosmos snapshot lives; without it nothing is persisted and nothing is re-indexed (tests, benches). */
  dataDir?: string;
  log?: Logger;
  /** Run the rendition validation worker every few seconds with this validator (npm start with a JDK); tests call it directly. */
  validator?: RenditionValidator;
}

export interface ArchiveHost {
  url: string;
  deps: Deps;
  server: http.Server;
  restored: { snapshotItems: number; indexedFromManifests: number };
  /** Whether the validation worker loop runs in this host. */
  validating: boolean;
  stop(): Promise<void>;
}

/** The archive on the local host: same config loader, deps and route table as on Azure. */
export async function startArchiveHost(opts: ArchiveHostOptions): Promise<ArchiveHost> {
  const config = loadConfig(opts.env);
  const deps = await buildDeps(config, opts.log ? { log: opts.log } : {});
  const snapshotFile = opts.dataDir ? path.join(opts.dataDir, 'cosmos-snapshot.json') : null;
  const restored = { snapshotItems: 0, indexedFromManifests: 0 };
  if (snapshotFile) {
    restored.snapshotItems = await loadCosmosSnapshot(deps.cosmos, snapshotFile);
    // Manifests are the source of truth for documents: index any the snapshot missed. Only for a
    // host that keeps its data: a host without (tests, benches) must not adopt the documents of
    // other hosts that share the emulator's blob store.
    restored.indexedFromManifests = (await unsafeRebuildCatalogFromManifests(deps)).indexed;
  }

  const snapshot = debounced(async () => {
    if (snapshotFile) await saveCosmosSnapshot(deps.cosmos, snapshotFile);
  }, 250);
  const server = createArchiveServer(ROUTES, deps, () => snapshot.trigger());
  const port = await listen(server, opts.port ?? 0);
  const loop = opts.validator ? startValidationLoop({ ...deps, validator: opts.validator }, () => snapshot.trigger()) : null;
  return {
    url: `http://127.0.0.1:${port}/api`,
    deps,
    server,
    restored,
    validating: loop !== null,
    stop: async () => {
      await loop?.stop();
      await closeServer(server);
      await snapshot.flush();
    },
  };
}
