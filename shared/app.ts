import { QueueServiceClient } from '@azure/storage-queue';
import { DefaultAzureCredential, ManagedIdentityCredential } from '@azure/identity';
import { AuditLog } from './adapters/azure/audit-log';
import { AuditOutboxItems } from './adapters/azure/audit-outbox';
import { AUDIT_OUTBOX_APPEND_LINGER_MS, AUDIT_OUTBOX_REMOVE_LINGER_MS, AuditOutbox } from './audit/outbox';
import { BlobArchive } from './adapters/azure/blobs';
import { blobServiceClient } from './adapters/azure/blob-service';
import { DocumentCatalog } from './adapters/azure/catalog';
import { CosmosContainers, cosmosClient, openContainers } from './adapters/azure/cosmos';
import { BlobDisposer } from './adapters/azure/disposer';
import { ExportBlobs, ExportJobs } from './adapters/azure/export-store';
import { BlobLinks } from './adapters/azure/links';
import { OrphanRecords } from './adapters/azure/orphan-records';
import { assertAccountWorm, assertAllowedRegions, azureRegionSource, RegionSource } from './adapters/azure/region-guard';
import { RetentionCatalog, RetentionPolicies, TimerState } from './adapters/azure/retention-store';
import { SecretChainKeyring } from './adapters/azure/chain-keys';
import { assertUsableSecrets, KeyVaultSecretSource, StaticSecretSource } from './adapters/azure/secrets';
import { TenantRecords } from './adapters/azure/tenant-records';
import { TenantSettingsCache } from './adapters/azure/settings-cache';
import { ValidationQueue } from './adapters/azure/validation-queue';
import { ExportWorkQueue } from './adapters/azure/export-work-queue';
import { Authenticator } from './auth/authenticate';
import { RefusalLimiter } from './auth/refusal-limiter';
import { TenantRights } from './auth/rights';
import { SodPolicyProposals } from './auth/sod-policy-proposals';
import { statusOf } from './http/problem';
import { systemClock } from './clock';
import { ConfigError, isLoopbackHost, SAFEGUARDS_UNSET, unsetSafeguards, type Config } from './config';
import type { Deps } from './deps';
import { NormaliserPool } from './normalise/pool';
import { ValidationRequests } from './validation/request';
import type { Logger, SecretSource, SettingsCachePort } from './ports';

/**
 * The composition root: the one place that builds the Azure adapters and hands them to the use
 * cases as ports (shared/deps.ts). `cosmos` is returned beside the ports for the health probe and
 * the local host, which sit above the core; `settings` (this instance's tenant settings cache) for
 * the tests and tools that write records directly and must clear it.
 */
export type AzureDeps = Deps & { cosmos: CosmosContainers; settings: SettingsCachePort; exportWork: ExportWorkQueue };

/**
 * One log line as JSON, with every character that could make it look like more or other text escaped: JSON
 * escapes C0 controls only, and a client's own text in a field (a User-Agent) could carry C1 controls (U+009B
 * starts an escape sequence in a terminal), line or paragraph separators or bidirectional overrides.
 */
function logLine(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): string {
  return JSON.stringify({ level, msg: message, ...fields }).replace(/[\u007f-\u009f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export const consoleLogger: Logger = {
  info: (m, f) => console.log(logLine('info', m, f)),
  warn: (m, f) => console.warn(logLine('warn', m, f)),
  error: (m, f) => console.error(logLine('error', m, f)),
};

/** Locally, without API_KEY_PEPPER: a fixed development pepper (never accepted in Azure, see config). */
const LOCAL_DEV_PEPPER = 'local-development-pepper-not-a-secret-0000';
/** Locally, without AUDIT_CHAIN_KEY: a fixed development chain key (never accepted in Azure, see config). */
const LOCAL_DEV_AUDIT_CHAIN_KEY = Buffer.from('local-development-audit-chain-key-not-a-secret').toString('hex');

export async function buildDeps(config: Config, overrides: Partial<Pick<Deps, 'clock' | 'log'>> & { secrets?: SecretSource; regions?: RegionSource } = {}): Promise<AzureDeps> {
  // In Azure: managed identity only (never a credential from the environment); locally: the emulators' well-known keys.
  const credential = config.runtime === 'azure' ? new ManagedIdentityCredential(config.AZURE_CLIENT_ID ? { clientId: config.AZURE_CLIENT_ID } : {}) : undefined;
  // Every request of it, and of the container and blob clients made from it, waits a bounded time for its headers.
  const blobService = blobServiceClient(
    config.STORAGE_CONNECTION_STRING
      ? { connectionString: config.STORAGE_CONNECTION_STRING }
      : { url: config.STORAGE_ACCOUNT_URL!, credential: credential ?? new DefaultAzureCredential() },
  );
  // Few, short retries: a queue outage must not pile up sends (a lost request is re-queued later).
  const queueOptions = { retryOptions: { maxTries: 2, retryDelayInMs: 200, maxRetryDelayInMs: 1000, tryTimeoutInMs: 10_000 } };
  const queueService = config.STORAGE_CONNECTION_STRING
    ? QueueServiceClient.fromConnectionString(config.STORAGE_CONNECTION_STRING, queueOptions)
    : new QueueServiceClient(config.STORAGE_QUEUE_URL ?? config.STORAGE_ACCOUNT_URL!.replace('.blob.', '.queue.'), credential ?? new DefaultAzureCredential(), queueOptions);
  if (config.runtime === 'local') {
    // The config loader judged the settings; this is where the SDK says what it will really talk to. Outside Azure
    // Functions there is no region guard and emulator WORM is allowed: anything but an emulator here is refused.
    for (const [what, url] of [['Blob storage', blobService.url], ['Queue storage', queueService.url]] as const) {
      if (!isLoopbackHost(new URL(url).hostname.toLowerCase())) throw new ConfigError([`${what}: the storage SDK reads the settings as ${new URL(url).origin}; outside Azure Functions (WEBSITE_SITE_NAME unset) the archive runs only against the local emulators, at a loopback address`]);
    }
  }
  const cosmosConnection = cosmosClient(config.COSMOS_ENDPOINT, config.COSMOS_KEY ? { key: config.COSMOS_KEY } : { credential: credential ?? new DefaultAzureCredential() });
  if (config.runtime === 'azure') {
    // Fail closed before anything is served: no store may sit outside the allowed regions.
    const stores = overrides.regions ?? azureRegionSource(config.STORAGE_ACCOUNT_RESOURCE_ID!, credential!, cosmosConnection);
    await assertAllowedRegions(stores, config.ARCHIVE_ALLOWED_REGIONS);
    // In Azure WORM is always enforced (config): an account without it could not protect a single document.
    await assertAccountWorm(stores);
  }
  const secrets =
    overrides.secrets ??
    (config.KEY_VAULT_URL
      ? new KeyVaultSecretSource(config.KEY_VAULT_URL, credential ?? new DefaultAzureCredential())
      : new StaticSecretSource({
        [config.API_KEY_PEPPER_SECRET_NAME]: config.API_KEY_PEPPER ?? LOCAL_DEV_PEPPER,
        [config.AUDIT_CHAIN_KEY_SECRET_NAME]: config.AUDIT_CHAIN_KEY ?? LOCAL_DEV_AUDIT_CHAIN_KEY,
      }));
  // The Java validator's outcome key: only the Azure main app records its outcomes (the export app is not given it;
  // locally the Node worker validates and nothing is posted).
  const recordsOutcomes = config.runtime === 'azure' && config.ARCHIVE_FUNCTIONS_ROLE !== 'export-worker';
  await assertUsableSecrets(secrets, { pepper: config.API_KEY_PEPPER_SECRET_NAME, chainKey: config.AUDIT_CHAIN_KEY_SECRET_NAME, ...(recordsOutcomes ? { validatorOutcomeKey: config.VALIDATOR_OUTCOME_KEY_SECRET_NAME } : {}) });
  const cosmos = await openContainers(cosmosConnection, config.COSMOS_DATABASE, config.runtime === 'local');
  const log = overrides.log ?? consoleLogger;
  if (config.ARCHIVE_WORM === 'emulator') {
    log.warn('ARCHIVE_WORM=emulator: storage-level WORM (immutability policies, legal holds) is NOT enforced by the emulator. The archive still sends the policies and never overwrites or deletes, but the store itself does not protect the data. Never use this mode for real documents.');
  }
  const clock = overrides.clock ?? systemClock;
  const unset = unsetSafeguards(config, clock.now());
  if (unset.length > 0) log.warn(SAFEGUARDS_UNSET, { settings: unset });
  const settings = new TenantSettingsCache(config.ARCHIVE_TENANT_SETTINGS_CACHE_SECONDS * 1000, clock);
  // Every version of the chain key, cached as the pepper's (adapters/azure/chain-keys.ts): a rotation in Key Vault
  // keys this instance's new entries within 5 minutes, and what older versions keyed keeps verifying.
  const chainKeys = new SecretChainKeyring(secrets, config.AUDIT_CHAIN_KEY_SECRET_NAME);
  const tenantRecords = new TenantRecords(cosmos.tenants, chainKeys, settings, { sealed: config.ARCHIVE_KEYS_SEALED === 'true', sightingsSealed: config.ARCHIVE_SIGHTINGS_SEALED === 'true' });
  if (!config.KEY_VAULT_URL && !overrides.secrets && !config.AUDIT_CHAIN_KEY) {
    log.warn('AUDIT_CHAIN_KEY is not set: the audit chain is keyed with a fixed development key, so anyone can re-chain it. Never use this for real documents.');
  }
  const rights = new TenantRights(tenantRecords);
  const validationQueue = new ValidationQueue(queueService, config.ARCHIVE_VALIDATION_QUEUE, { createQueues: config.runtime === 'local' });
  const audit = new AuditLog(cosmos.audit, cosmos.tenants, chainKeys);
  const auditOutboxItems = new AuditOutboxItems(cosmos.documents, cosmos.tenants);
  const blobs = new BlobArchive(blobService, config.ARCHIVE_WORM, config.ARCHIVE_WORM_POLICY_MODE);
  return {
    config,
    blobs,
    catalog: new DocumentCatalog(cosmos.documents, chainKeys),
    links: new BlobLinks(blobService, config.runtime, log),
    exportBlobs: new ExportBlobs(blobService),
    exportJobs: new ExportJobs(cosmos.tenants, chainKeys),
    audit,
    auditOutboxItems,
    auditOutbox: new AuditOutbox({ audit, auditOutboxItems, log }, AUDIT_OUTBOX_REMOVE_LINGER_MS, AUDIT_OUTBOX_APPEND_LINGER_MS),
    authenticator: new Authenticator({
      issuer: config.AUTH_ISSUER,
      audience: config.AUTH_AUDIENCE,
      jwksUri: config.AUTH_JWKS_URI,
      algorithms: config.AUTH_ALGORITHMS,
      tenantClaim: config.AUTH_TENANT_CLAIM,
      rightsClaim: config.AUTH_RIGHTS_CLAIM,
      kindClaim: config.AUTH_KIND_CLAIM,
      rightsSource: config.AUTH_RIGHTS_SOURCE,
      keyPersonIdleDays: config.ARCHIVE_KEY_PERSON_IDLE_DAYS,
      clockToleranceSeconds: config.AUTH_CLOCK_TOLERANCE_SECONDS,
    }, { tenantRecords, secrets, config, rights, clock, blobs, audit, log }),
    tenantRecords,
    secrets,
    rights,
    sodPolicy: new SodPolicyProposals(tenantRecords, rights, config.AUTH_RIGHTS_SOURCE, { blobs, log, audit }),
    clock,
    cosmos,
    log,
    retention: {
      catalog: new RetentionCatalog(cosmos.documents, chainKeys),
      policies: new RetentionPolicies(cosmos.tenants, chainKeys, settings),
      timers: new TimerState(cosmos.tenants),
      disposer: new BlobDisposer(blobService),
      orphans: new OrphanRecords(cosmos.tenants, chainKeys),
    },
    normaliser: new NormaliserPool({ timeoutMs: config.ARCHIVE_NORMALISE_TIMEOUT_MS, heapMb: config.ARCHIVE_NORMALISE_WORKER_HEAP_MB, inlineJpegBytes: config.ARCHIVE_INLINE_JPEG_BYTES, ...(config.ARCHIVE_NORMALISE_THREADS ? { threads: config.ARCHIVE_NORMALISE_THREADS } : {}) }),
    settings,
    refusals: new RefusalLimiter({ burst: config.ARCHIVE_REFUSAL_BURST, perMinute: config.ARCHIVE_REFUSAL_RATE_PER_MINUTE }),
    validationQueue,
    validationRequests: new ValidationRequests({ validationQueue, log }, config.ARCHIVE_VALIDATION_REQUEST_LINGER_MS),
    exportWork: new ExportWorkQueue(queueService, config.ARCHIVE_EXPORT_QUEUE, { createQueues: config.runtime === 'local' }),
    errorStatus: statusOf,
  };
}
