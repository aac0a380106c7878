import * as path from 'node:path';
import * as http from 'node:http';
import { buildDeps, type AzureDeps } from '../shared/app';
import type { Logger } from '../shared/ports';
import { loadConfig } from '../shared/config';
import { unsafeRebuildCatalogFromManifests } from '../shared/documents/rebuild-catalog';
import { ROUTES } from '../functions/routes';
import { TIMERS } from '../functions/timers';
import { closeServer, listen } from './emulators';
import { createArchiveServer } from './server';
import { importLegacySnapshot } from './state';
import { LocalTimers, startLocalTimers } from './timers';
import type { RenditionValidator } from '../shared/kernel/validation';
import { WebApp, webAppDir } from '../shared/http/web-app';
import { startValidationLoop } from './validation-loop';
import { startExportLoop } from './export-loop';
import { flushSuppressedRefusals } from '../shared/audit/suppressed-refusals';

export interface ArchiveHostOptions {
  env: NodeJS.ProcessEnv;
  port?: number;
  /**
   * The local host's data directory: documents missing from the catalog are re-indexed from
   * their manifests, and an old-style Cosmos snapshot there is imported. Without it (tests,
   * benches) neither happens. Catalog durability is the Cosmos server's (startCosmos dataDir).
   */
  dataDir?: string;
  log?: Logger;
  /** Run the Functions timers on their schedules (npm start). Off by default so test hosts stay deterministic. */
  timers?: boolean;
  /** Run the rendition validation worker every few seconds with this validator (npm start with a JDK); tests call it directly. */
  validator?: RenditionValidator;
}

export interface ArchiveHost {
  url: string;
  /** The web app's origin and root (the API is at `url`, under it). */
  appUrl: string;
  web: WebApp;
  /** The ports and, for tests and the snapshot import, the Cosmos containers behind them. */
  deps: AzureDeps;
  server: http.Server;
  restored: { legacySnapshotItems: number; indexedFromManifests: number };
  /** The scheduled timers, when asked for (`timers: true`). */
  timers: LocalTimers | null;
  /** Whether the validation worker loop runs in this host. */
  validating: boolean;
  stop(): Promise<void>;
}

/** The archive on the local host: same config loader, deps and route table as on Azure. */
export async function startArchiveHost(opts: ArchiveHostOptions): Promise<ArchiveHost> {
  const config = loadConfig(opts.env);
  const deps = await buildDeps(config, opts.log ? { log: opts.log } : {});
  const restored = { legacySnapshotItems: 0, indexedFromManifests: 0 };
  if (opts.dataDir) {
    restored.legacySnapshotItems = await importLegacySnapshot(deps.cosmos, path.join(opts.dataDir, 'cosmos-snapshot.json'));
    // Manifests are the source of truth for documents: index any the catalog lacks. Only for a
    // host that keeps its data: a host without (tests, benches) must not adopt the documents of
    // other hosts that share the emulator's blob store.
    restored.indexedFromManifests = (await unsafeRebuildCatalogFromManifests(deps)).indexed;
  }

  // The web app beside the API, from the same origin (web/dist, or ARCHIVE_WEB_DIR).
  const web = new WebApp({ dir: webAppDir(config), config });
  const server = createArchiveServer(ROUTES, deps, undefined, web);
  const port = await listen(server, opts.port ?? 0);
  const timers = opts.timers ? startLocalTimers(TIMERS, deps, deps.log) : null;
  const loop = opts.validator ? startValidationLoop({ ...deps, validator: opts.validator }) : null;
  // Exports run from the `export-work` queue, as in Azure (there the queue trigger takes them).
  const exportLoop = startExportLoop(deps);
  return {
    url: `http://127.0.0.1:${port}/api`,
    appUrl: `http://127.0.0.1:${port}/`,
    web,
    deps,
    server,
    restored,
    timers,
    validating: loop !== null,
    stop: async () => {
      await loop?.stop();
      await exportLoop.stop();
      await timers?.stop();
      await closeServer(server);
      await deps.validationRequests.flush(); // gathered requests go out before the process does
      await deps.auditOutbox.flush(); // and outboxed audit entries go into the chain
      await flushSuppressedRefusals(deps.clock.now(), deps); // and this instance's counts of suppressed refusals
      await deps.normaliser.close();
    },
  };
}
