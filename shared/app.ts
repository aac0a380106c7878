import { BlobServiceClient } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import { Authenticator } from './auth/authenticate';
import { AuditLog } from './audit/log';
import { Clock, systemClock } from './clock';
import type { Config } from './config';
import { BlobArchive } from './storage/blobs';
import { DocumentCatalog } from './storage/catalog';
import { CosmosContainers, cosmosClient, openContainers } from './storage/cosmos';

/** Everything a use case may touch, built once from config (the composition root). */
export interface Deps {
  config: Config;
  blobs: BlobArchive;
  catalog: DocumentCatalog;
  audit: AuditLog;
  authenticator: Authenticator;
  clock: Clock;
  cosmos: CosmosContainers;
  log: Logger;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export const consoleLogger: Logger = {
  info: (m, f) => console.log(JSON.stringify({ level: 'info', msg: m, ...f })),
  warn: (m, f) => console.warn(JSON.stringify({ level: 'warn', msg: m, ...f })),
  error: (m, f) => console.error(JSON.stringify({ level: 'error', msg: m, ...f })),
};

export async function buildDeps(config: Config, overrides: Partial<Pick<Deps, 'clock' | 'log'>> = {}): Promise<Deps> {
  // In Azure: managed identity only; locally: the emulators' well-known keys.
  const credential = config.runtime === 'azure' ? new DefaultAzureCredential() : undefined;
  const blobService = config.STORAGE_CONNECTION_STRING
    ? BlobServiceClient.fromConnectionString(config.STORAGE_CONNECTION_STRING)
    : new BlobServiceClient(config.STORAGE_ACCOUNT_URL!, credential ?? new DefaultAzureCredential());
  const cosmos = await openContainers(
    cosmosClient(config.COSMOS_ENDPOINT, config.COSMOS_KEY ? { key: config.COSMOS_KEY } : { credential: credential ?? new DefaultAzureCredential() }),
    config.COSMOS_DATABASE,
    config.runtime === 'local',
  );
  const log = overrides.log ?? consoleLogger;
  if (config.ARCHIVE_WORM === 'emulator') {
    log.warn('ARCHIVE_WORM=emulator: storage-level WORM (immutability policies, legal holds) is NOT enforced by the emulator. The archive still sends the policies and never overwrites or deletes, but the store itself does not protect the data. Never use this mode for real documents.');
  }
  return {
    config,
    blobs: new BlobArchive(blobService, config.ARCHIVE_WORM),
    catalog: new DocumentCatalog(cosmos.documents),
    audit: new AuditLog(cosmos.audit),
    authenticator: new Authenticator({
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      jwksUri: config.AUTH_JWKS_URI,
      algorithms: config.AUTH_ALGORITHMS,
      tenantClaim: config.AUTH_TENANT_CLAIM,
      rightsClaim: config.AUTH_RIGHTS_CLAIM,
      clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
    }),
    clock: overrides.clock ?? systemClock,
    cosmos,
    log,
  };
}
