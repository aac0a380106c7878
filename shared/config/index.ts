import { statSync, accessSync, constants as fsConstants } from 'node:fs';
import * as path from 'node:path';
import { z } from 'zod';
import { EXPORT_ATTEMPTS_LIMIT } from '../kernel/export';

/**
 * The one config loader: zod over the environment (local.settings.json "Values"
 * under Functions). Startup fails with one message listing every bad setting.
 */
const csv = z
  .string()
  .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean));

/** Azure regions inside the EU (normalised: no spaces, lower case). */
const EU_REGIONS: ReadonlySet<string> = new Set(['northeurope', 'westeurope', 'francecentral', 'francesouth', 'germanywestcentral', 'germanynorth', 'swedencentral', 'swedensouth', 'italynorth', 'polandcentral', 'spaincentral', 'austriaeast', 'belgiumcentral']);

const ZConfig = z
  .object({
    /** `azure` when WEBSITE_SITE_NAME is set (the Functions host sets it); otherwise `local`. */
    runtime: z.enum(['azure', 'local']),
    STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    STORAGE_ACCOUNT_URL: z.url().optional(),
    COSMOS_ENDPOINT: z.url(),
    /** Only for the local protocol server; in Azure Cosmos is reached with managed identity. */
    COSMOS_KEY: z.string().min(1).optional(),
    COSMOS_DATABASE: z.string().min(1).default('archive'),
    AUTH_ISSUER: z.url(),
    AUTH_AUDIENCE: z.string().min(1),
    AUTH_JWKS_URI: z.url(),
    AUTH_ALGORITHMS: csv.pipe(z.array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'])).min(1)).default(['RS256', 'ES256']),
    AUTH_TENANT_CLAIM: z.string().min(1).default('archive_tenant'),
    AUTH_RIGHTS_CLAIM: z.string().min(1).default('archive_rights'),
    AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** Claim naming the principal kind: absent or `user` → user; `support` → provider staff. */
    AUTH_KIND_CLAIM: z.string().min(1).default('archive_kind'),
    /**
     * Where a user's rights come from. `tenant`: only the tenant's assignment (/rights-assignments).
     * `tenant-then-claim`: the assignment if there is one, else the rights-set claim (default archivist).
     */
    AUTH_RIGHTS_SOURCE: z.enum(['tenant', 'tenant-then-claim']).default('tenant-then-claim'),
    /** An API key whose person's rights come from the claim acts only while the person signed in within this many days. */
    ARCHIVE_KEY_PERSON_IDLE_DAYS: z.coerce.number().int().min(1).max(365).default(30),
    /**
     * `true` once the reconciler has sealed every API key and support grant (auth/api-keys/key-seal.ts): one without a
     * seal is refused whatever Cosmos DB says. Its own mark there (`api-keys-sealed`) is a record whoever can write
     * Cosmos DB can delete, and a new instance would then take an unsealed record for one from before the seal.
     */
    ARCHIVE_KEYS_SEALED: z.enum(['true', 'false']).default('false'),
    /**
     * `true` once the reconciler has sealed every person's sign-in record (auth/person-sightings.ts): one without a seal
     * is no sign-in whatever Cosmos DB says. Its own mark there (`person-sightings-sealed`) is a record whoever can write
     * Cosmos DB can delete: a new instance would then take a record whose seal they stripped (a wider set, a later
     * sign-in) as one from before the seal, and the reconciler would seal it as it stands.
     */
    ARCHIVE_SIGHTINGS_SEALED: z.enum(['true', 'false']).default('false'),
    /** Client id of a user-assigned managed identity (Azure); unset: the system-assigned one. */
    AZURE_CLIENT_ID: z.string().min(1).optional(),
    /** Key Vault holding the API-key pepper (Azure, managed identity). */
    KEY_VAULT_URL: z.url().optional(),
    /** ARM id of the archive storage account: the region guard reads its location (Azure only). */
    STORAGE_ACCOUNT_RESOURCE_ID: z.string().regex(/^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.Storage\/storageAccounts\/[^/]+$/i, 'must be the storage account resource id').optional(),
    API_KEY_PEPPER_SECRET_NAME: z.string().min(1).default('api-key-pepper'),
    /** Local only: the API-key pepper itself (in Azure it comes from Key Vault). */
    API_KEY_PEPPER: z.string().min(32).optional(),
    /** Key Vault secret holding the audit chain's HMAC key (hex, at least 32 bytes). */
    AUDIT_CHAIN_KEY_SECRET_NAME: z.string().min(1).default('audit-chain-key'),
    /**
     * Key Vault secret the Java validator signs its outcomes with (hex, at least 32 bytes; shared/kernel/outcome-signature.ts):
     * the main app records no outcome without it. Unused locally, where the Node worker validates.
     */
    VALIDATOR_OUTCOME_KEY_SECRET_NAME: z.string().min(1).default('validator-outcome-key'),
    /**
     * Local only: the audit chain key itself, hex (in Azure it comes from Key Vault). Several, comma-separated and
     * oldest first, after a local rotation: versions `1`, `2`, …, the last current (adapters/azure/chain-keys.ts).
     */
    AUDIT_CHAIN_KEY: z.string().regex(/^\s*(?:[0-9a-fA-F]{2}){32,}\s*(?:,\s*(?:[0-9a-fA-F]{2}){32,}\s*)*$/, 'must be at least 32 bytes, hex-encoded (several: comma-separated, oldest first)').optional(),
    /**
     * First month (yyyy-mm) whose audit entries were all written keyed: verify reports any unkeyed
     * entry from then on, so a month cannot be re-chained wholesale in plain sha256. Unset: only an
     * unkeyed entry after a keyed one is reported.
     */
    AUDIT_CHAIN_KEYED_SINCE: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, yyyy-mm').optional(),
    /**
     * When disposal approvals began to be sealed to their documents (an instant; set it to the deploy time of the version
     * that seals them): an approval without a seal given after it is refused by the sweep (a copy made in Cosmos DB);
     * one given before stands on its keyed audit entry. Unset: every unsealed approval stands on its audit entry.
     */
    ARCHIVE_APPROVALS_SEALED_SINCE: z.iso.datetime({ offset: true }).optional(),
    API_KEY_MAX_DAYS: z.coerce.number().int().min(1).max(730).default(365),
    /**
     * Most API keys a tenant may have in use (neither revoked nor expired), and most rights sets of its own (built-in
     * templates not counted): every key and set is read by each SoD check and listing, and stored in what tenants share.
     * One more is refused (409 tenant_limit_reached); replacing an existing set never is.
     */
    ARCHIVE_MAX_API_KEYS: z.coerce.number().int().min(1).max(100_000).default(1000),
    ARCHIVE_MAX_RIGHTS_SETS: z.coerce.number().int().min(1).max(10_000).default(200),
    /**
     * Most open legal holds by query a tenant may have: each is searched for new documents by every reconciler run and
     * read by every sweep of the tenant. One more is refused (409 tenant_limit_reached); counted under the tenant's gate
     * of holds by query, so placings sent at once never pass it.
     */
    ARCHIVE_MAX_OPEN_HOLDS_BY_QUERY: z.coerce.number().int().min(1).max(10_000).default(200),
    /** Most rights assignments (people given a set) a tenant may have: each SoD policy check and GET /rights-assignments reads them all. */
    ARCHIVE_MAX_RIGHTS_ASSIGNMENTS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
    /**
     * Refused requests (4xx after authentication) per tenant and subject: a token bucket of this
     * size, refilled at this rate. Over it the principal gets 429 and no audit entry each.
     */
    ARCHIVE_REFUSAL_BURST: z.coerce.number().int().min(1).max(10_000).default(30),
    ARCHIVE_REFUSAL_RATE_PER_MINUTE: z.coerce.number().int().min(1).max(60_000).default(60),
    /** NCRONTAB schedule of the audit sealing timer; a seal anchors the chain's tail (see README). */
    AUDIT_SEAL_SCHEDULE: z.string().min(1).default('0 */5 * * * *'),
    ARCHIVE_WORM: z.enum(['enforce', 'emulator']).default('enforce'),
    /** Mode of the version-level immutability policy set on every blob; `Unlocked` only locally. */
    ARCHIVE_WORM_POLICY_MODE: z.enum(['Locked', 'Unlocked']).default('Locked'),
    /** NCRONTAB schedules (Azure Functions timers) and per-run budgets of the retention timers. */
    ARCHIVE_SWEEP_SCHEDULE: z.string().min(1).default('0 15 2 * * *'),
    ARCHIVE_SWEEP_MAX_ITEMS: z.coerce.number().int().positive().default(2000),
    ARCHIVE_SWEEP_MAX_SECONDS: z.coerce.number().int().positive().default(240),
    ARCHIVE_FIXITY_SCHEDULE: z.string().min(1).default('0 45 3 * * *'),
    /** Every stored blob is re-read and re-hashed at least once per cycle. */
    ARCHIVE_FIXITY_CYCLE_DAYS: z.coerce.number().int().min(1).max(3650).default(365),
    ARCHIVE_FIXITY_MAX_ITEMS: z.coerce.number().int().positive().default(500),
    ARCHIVE_RECONCILE_SCHEDULE: z.string().min(1).default('0 */30 * * * *'),
    /** A document folder without catalog item and manifest younger than this may be an upload in flight; the reconciler leaves it alone. */
    ARCHIVE_ORPHAN_GRACE_MINUTES: z.coerce.number().int().min(0).max(10_080).default(60),
    /** A legal hold by query places at most this many holds in its one request; a broader query is refused (400) before anything changes. */
    ARCHIVE_HOLD_QUERY_MAX_DOCUMENTS: z.coerce.number().int().positive().max(10_000).default(1000),
    /** Lifetime of a `?delivery=redirect` download link (read-only SAS to one blob); at most an hour. */
    ARCHIVE_DOWNLOAD_LINK_SECONDS: z.coerce.number().int().min(60).max(3600).default(900),
    /**
     * A whole file or Range larger than this is not streamed through the API: a principal that may take links is sent
     * a link (303, as `?delivery=redirect`), support is told to ask for it in Range pieces of at most this size.
     * The Functions Node library buffers a streamed answer a slow client cannot keep up with (README, "Large downloads").
     */
    ARCHIVE_STREAMED_ANSWER_MAX_BYTES: z.coerce.number().int().min(64 * 1024).default(16 * 1024 * 1024),
    /** Exports (ZIP of a search): kept this long, then deleted by the export maintenance timer. */
    ARCHIVE_EXPORT_TTL_HOURS: z.coerce.number().int().min(1).max(720).default(72),
    ARCHIVE_EXPORT_MAX_DOCUMENTS: z.coerce.number().int().positive().default(100_000),
    /** Exports one tenant may have running at once: each is a worker copying up to ARCHIVE_EXPORT_MAX_DOCUMENTS documents. */
    ARCHIVE_EXPORT_MAX_RUNNING: z.coerce.number().int().positive().default(5),
    /** A running export whose heartbeat is older than this is restarted by the maintenance timer. */
    ARCHIVE_EXPORT_STALE_SECONDS: z.coerce.number().int().min(30).default(600),
    /**
     * A running export whose worker stopped this many times (each a stale heartbeat) is failed instead of restarted:
     * one the worker cannot finish within its app's Functions timeout (the export app's, README "Export Function App"), or that
     * the platform stops each time, would be rebuilt from its start until it expired.
     */
    ARCHIVE_EXPORT_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(EXPORT_ATTEMPTS_LIMIT).default(3),
    ARCHIVE_EXPORT_SCHEDULE: z.string().min(1).default('0 */10 * * * *'),
    ARCHIVE_MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(50 * 1024 * 1024),
    /**
     * An uploaded file larger than this is spooled to a temporary file (os.tmpdir()) as it arrives
     * and streamed from there, so a large upload is not held in memory; smaller ones stay in memory.
     */
    ARCHIVE_UPLOAD_SPOOL_BYTES: z.coerce.number().int().min(0).default(8 * 1024 * 1024),
    /** Where spooled uploads and their renditions are written (removed once stored or refused); default os.tmpdir(). */
    ARCHIVE_SPOOL_DIR: z.string().min(1).optional(),
    /** Bytes of spooled upload files one tenant's uploads in progress may hold at once on an instance (its temporary disk is every tenant's). */
    ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: z.coerce.number().int().min(1024 * 1024).default(512 * 1024 * 1024),
    ARCHIVE_MAX_PIXELS_PER_PAGE: z.coerce.number().int().positive().default(150_000_000),
    ARCHIVE_MAX_PAGES: z.coerce.number().int().positive().default(500),
    /** Pixels of all pages of all files of one upload, counted from headers before anything is decoded (1 GP: ~260 fine-mode fax pages). */
    ARCHIVE_MAX_PIXELS_PER_REQUEST: z.coerce.number().int().positive().default(1_000_000_000),
    /** Of those, pixels that must be decoded and re-compressed (interlaced/alpha PNG, LZW/Deflate/PackBits TIFF): the CPU-heavy ones. */
    ARCHIVE_MAX_DECODED_PIXELS_PER_REQUEST: z.coerce.number().int().positive().default(300_000_000),
    /** Worker threads converting uploads off the event loop; default: the machine's cores. */
    ARCHIVE_NORMALISE_THREADS: z.coerce.number().int().min(1).max(64).optional(),
    /** In-memory JPEG uploads up to this size (all files together) are converted on the request's thread, not a worker (0: never). A JPEG is never decoded. */
    ARCHIVE_INLINE_JPEG_BYTES: z.coerce.number().int().min(0).max(4 * 1024 * 1024).default(2 * 1024 * 1024),
    /** Longest a worker may convert one upload; past it the worker is terminated and the upload refused (422 normalisation_timeout). */
    ARCHIVE_NORMALISE_TIMEOUT_MS: z.coerce.number().int().min(1).max(600_000).default(120_000),
    /**
     * The JavaScript heap one conversion worker may use (MiB); past it the worker is terminated and the upload refused
     * (422 normalisation_memory). Image and file bytes are outside it (buffers): what fills it is a file's structure (a
     * PDF of millions of objects), not its size.
     */
    ARCHIVE_NORMALISE_WORKER_HEAP_MB: z.coerce.number().int().min(32).max(16_384).default(1024),
    /**
     * How long an instance keeps a tenant's rights sets, rights assignments, SoD policy and
     * retention policy (absent ones too) before reading them again; a change made on another
     * instance applies here within this time (the changing instance applies it at once). 0: off.
     */
    ARCHIVE_TENANT_SETTINGS_CACHE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
    /** Regions Storage and Cosmos may be in: a narrowing of the EU regions, never one outside the EU. */
    ARCHIVE_ALLOWED_REGIONS: csv
      .pipe(z.array(z.string()).min(1))
      .superRefine((regions, ctx) => {
        const outside = regions.filter((r) => !EU_REGIONS.has(r.replace(/\s+/g, '').toLowerCase()));
        if (outside.length > 0) ctx.addIssue({ code: 'custom', message: `${outside.join(', ')}: not an EU region; documents must stay in the EU` });
      })
      .default(['northeurope']),
    ARCHIVE_PUBLIC_BASE_PATH: z.string().default('/api'),
    /** Queue service of the archive account (Azure); derived from STORAGE_ACCOUNT_URL when absent. */
    STORAGE_QUEUE_URL: z.url().optional(),
    /** Storage queue asking the validation worker to check a rendition; its poison queue is `<name>-poison`. */
    ARCHIVE_VALIDATION_QUEUE: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/, 'must be a queue name (lowercase letters, digits, single hyphens; 3–56 characters)').default('rendition-validation'),
    /**
     * What this Function App registers (functions/registrations.ts). `all`: everything (the local host, `func start`);
     * `api`: everything but the export-work trigger (the main app, whose 10-minute functionTimeout the reconciler's
     * in-flight bounds assume); `export-worker`: only the export-work trigger (the export app, with a longer timeout).
     */
    ARCHIVE_FUNCTIONS_ROLE: z.enum(['all', 'api', 'export-worker']).default('all'),
    /** Storage queue of export work: each message runs one export in its own invocation; its poison queue is `<name>-poison`. */
    ARCHIVE_EXPORT_QUEUE: z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,54}[a-z0-9]$/, 'must be a queue name (lowercase letters, digits, single hyphens; 3–56 characters)').default('export-work'),
    /** Local host only: how often its export loop looks at the export queue (the Functions queue trigger polls itself in Azure). */
    ARCHIVE_EXPORT_QUEUE_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(2000),
    /** How long an upload's validation request waits for others to share its queue message. */
    ARCHIVE_VALIDATION_REQUEST_LINGER_MS: z.coerce.number().int().min(0).max(5000).default(200),
    /** A document still `validation: pending` this long after upload (or its last request) is queued again. */
    ARCHIVE_VALIDATION_PENDING_SECONDS: z.coerce.number().int().min(60).default(900),
    /** NCRONTAB schedule of the pass that re-queues pending validations. */
    ARCHIVE_VALIDATION_REQUEUE_SCHEDULE: z.string().min(1).default('0 */15 * * * *'),
    /**
     * How the web app signs people in (GET /web-config.json). `local-oidc`: the local issuer (AUTH_ISSUER),
     * locally only; `entra`: Microsoft Entra ID (ARCHIVE_WEB_AUTHORITY, ARCHIVE_WEB_CLIENT_ID, ARCHIVE_WEB_SCOPE);
     * `off`: the app is served but cannot sign in. Default: `local-oidc` locally; in Azure `entra` when
     * ARCHIVE_WEB_CLIENT_ID is set, else `off`.
     */
    ARCHIVE_WEB_AUTH: z.enum(['local-oidc', 'entra', 'off']).optional(),
    /** Entra authority of the web app's sign-in, e.g. https://login.microsoftonline.com/<tenant-id>. */
    ARCHIVE_WEB_AUTHORITY: z.url({ protocol: /^https$/ }).optional(),
    /** Client id of the web app (a public SPA client); the local issuer knows only `archive-web`. */
    ARCHIVE_WEB_CLIENT_ID: z.string().min(1).optional(),
    /** Scopes the web app asks for: `openid archive` locally; in Entra the API's scope, e.g. api://<api-app-id>/archive.access. */
    ARCHIVE_WEB_SCOPE: z.string().min(1).optional(),
    /** Folder of the built web app (index.html + assets/); default: web/dist of the deployed package. */
    ARCHIVE_WEB_DIR: z.string().min(1).optional(),
  });

export type Config = z.infer<typeof ZConfig>;

/** Logged (warn) once at startup in Azure, with the settings unsetSafeguards names. */
export const SAFEGUARDS_UNSET = 'settings the archive needs in production are unset: what they enforce is not enforced';

/**
 * In Azure, the settings that enforce a seal the archive cannot enforce by itself, left unset (the local host: none).
 * Broke: nothing said so, and a deployment depended on an operator remembering them: without ARCHIVE_KEYS_SEALED=true
 * a key from before the seal acts until the reconciler marks the store (a mark a writer of Cosmos DB can delete), and
 * without ARCHIVE_SIGHTINGS_SEALED=true so is a sign-in record without a seal taken as stored;
 * without ARCHIVE_APPROVALS_SEALED_SINCE an unsealed disposal approval, however late, stands on its audit entry.
 * A time still ahead (ARCHIVE_APPROVALS_SEALED_SINCE, or AUDIT_CHAIN_KEYED_SINCE's month) enforces nothing yet either,
 * and was not named: an operator's slip of a year read as set. Named by the health report and once at startup;
 * infra/main.bicep sets both.
 */
export function unsetSafeguards(config: Pick<Config, 'runtime' | 'ARCHIVE_KEYS_SEALED' | 'ARCHIVE_SIGHTINGS_SEALED' | 'ARCHIVE_APPROVALS_SEALED_SINCE' | 'AUDIT_CHAIN_KEYED_SINCE'>, now: Date): string[] {
  if (config.runtime !== 'azure') return [];
  const ahead = (at: string | undefined) => at !== undefined && Date.parse(at) > now.getTime();
  return [
    ...(config.ARCHIVE_KEYS_SEALED === 'true' ? [] : ['ARCHIVE_KEYS_SEALED']),
    ...(config.ARCHIVE_SIGHTINGS_SEALED === 'true' ? [] : ['ARCHIVE_SIGHTINGS_SEALED']),
    ...(config.ARCHIVE_APPROVALS_SEALED_SINCE === undefined || ahead(config.ARCHIVE_APPROVALS_SEALED_SINCE) ? ['ARCHIVE_APPROVALS_SEALED_SINCE'] : []),
    ...(ahead(config.AUDIT_CHAIN_KEYED_SINCE && `${config.AUDIT_CHAIN_KEYED_SINCE}-01T00:00:00.000Z`) ? ['AUDIT_CHAIN_KEYED_SINCE'] : []),
  ];
}

/** Every setting the loader reads, by its environment name (the README's Configuration table names each). */
export const SETTING_NAMES: readonly string[] = Object.keys(ZConfig.shape).filter((name) => name !== 'runtime');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid archive configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Rules across settings; checked even when single settings are bad, so one message lists all. */
function crossChecks(env: NodeJS.ProcessEnv, runtime: 'azure' | 'local'): string[] {
  const problems: string[] = [];
  if (!env.STORAGE_CONNECTION_STRING && !env.STORAGE_ACCOUNT_URL) {
    problems.push('STORAGE_ACCOUNT_URL: set STORAGE_ACCOUNT_URL (Azure, managed identity) or STORAGE_CONNECTION_STRING (local emulator)');
  }
  if (runtime === 'azure') {
    if (env.ARCHIVE_WORM === 'emulator') problems.push("ARCHIVE_WORM: 'emulator' is refused when running in Azure: storage-level WORM must be enforced");
    if (env.ARCHIVE_WORM_POLICY_MODE === 'Unlocked') problems.push("ARCHIVE_WORM_POLICY_MODE: 'Unlocked' is refused when running in Azure: immutability policies must be locked");
    if (env.STORAGE_CONNECTION_STRING) problems.push('STORAGE_CONNECTION_STRING: not allowed in Azure: use STORAGE_ACCOUNT_URL with managed identity');
    if (env.COSMOS_KEY) problems.push('COSMOS_KEY: not allowed in Azure: Cosmos is reached with managed identity');
    if (env.AUDIT_CHAIN_KEY) problems.push('AUDIT_CHAIN_KEY: not allowed in Azure: the audit chain key is read from Key Vault (KEY_VAULT_URL)');
    if (env.API_KEY_PEPPER) problems.push('API_KEY_PEPPER: not allowed in Azure: the pepper is read from Key Vault (KEY_VAULT_URL)');
    if (!env.STORAGE_ACCOUNT_RESOURCE_ID) problems.push('STORAGE_ACCOUNT_RESOURCE_ID: required in Azure: the region guard checks where the archive account is');
    if (!env.KEY_VAULT_URL) problems.push('KEY_VAULT_URL: required in Azure: the API-key pepper is read from Key Vault');
    // Said, not defaulted: `all` is the local host's. Broke: an app whose setting was lost started with everything (the
    // export app serving the API and running a second set of timers under its 2-hour timeout, past HOLD_WRITE_IN_FLIGHT_MS).
    if (env.ARCHIVE_FUNCTIONS_ROLE !== 'api' && env.ARCHIVE_FUNCTIONS_ROLE !== 'export-worker') problems.push(`ARCHIVE_FUNCTIONS_ROLE: must be 'api' (the main app) or 'export-worker' (the export app) in Azure, not ${env.ARCHIVE_FUNCTIONS_ROLE === undefined ? 'unset' : `'${env.ARCHIVE_FUNCTIONS_ROLE}'`}: 'all' is the local host's`);
    // The app signs in as its managed identity: a credential in the settings would be a key outside Key Vault and another identity.
    for (const name of ['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PASSWORD', 'AZURE_PASSWORD'] as const) {
      if (env[name]) problems.push(`${name}: not allowed in Azure: the archive authenticates with its managed identity only`);
    }
    if (env.ARCHIVE_WEB_AUTH === 'local-oidc') problems.push("ARCHIVE_WEB_AUTH: 'local-oidc' is refused when running in Azure: the web app signs in with Entra ID");
    // The local issuer signs anyone in as anyone: in Azure tokens come from a real issuer, over HTTPS.
    for (const name of ['AUTH_ISSUER', 'AUTH_JWKS_URI'] as const) {
      if (env[name] && !isPublicHttps(env[name])) problems.push(`${name}: must be an https URL of a real issuer in Azure (not plain http, not a loopback address such as the local issuer)`);
    }
    // The emulators and the local Cosmos server keep nothing safe, and managed-identity tokens must not travel in clear.
    for (const name of ['STORAGE_ACCOUNT_URL', 'STORAGE_QUEUE_URL', 'COSMOS_ENDPOINT', 'KEY_VAULT_URL'] as const) {
      if (env[name] && !isPublicHttps(env[name])) problems.push(`${name}: must be an https URL of the Azure service in Azure (not plain http, not a loopback address such as an emulator)`);
    }
    // The region guard reads the location of STORAGE_ACCOUNT_RESOURCE_ID: documents must go to that account, not another one.
    const account = env.STORAGE_ACCOUNT_RESOURCE_ID?.split('/').pop()?.toLowerCase();
    if (account) {
      for (const [name, service] of [['STORAGE_ACCOUNT_URL', 'blob'], ['STORAGE_QUEUE_URL', 'queue']] as const) {
        const host = hostOf(env[name]);
        if (host !== null && host !== `${account}.${service}.core.windows.net`) problems.push(`${name}: must be the ${service} endpoint of the storage account the region guard checks (https://${account}.${service}.core.windows.net), not ${host}`);
      }
    }
    // The managed identity's tokens go to these hosts: only to the Azure services themselves.
    for (const [name, suffix] of [['COSMOS_ENDPOINT', '.documents.azure.com'], ['KEY_VAULT_URL', '.vault.azure.net']] as const) {
      const host = hostOf(env[name]);
      if (host !== null && !host.endsWith(suffix)) problems.push(`${name}: must be an Azure endpoint (https://<name>${suffix}), not ${host}`);
    }
  }
  if (runtime === 'local') {
    // Locally there is no region guard, and emulator WORM and the development keys are allowed: real stores
    // reached from here would be production without the checks above. Outside Azure Functions, emulators only.
    const local = 'outside Azure Functions (WEBSITE_SITE_NAME unset) the archive runs only against the local emulators, at a loopback address';
    for (const name of ['STORAGE_ACCOUNT_URL', 'STORAGE_QUEUE_URL', 'COSMOS_ENDPOINT'] as const) {
      const host = hostOf(env[name]);
      if (host !== null && !isLoopbackHost(host)) problems.push(`${name}: ${local}, not ${host}`);
    }
    const connection = env.STORAGE_CONNECTION_STRING ? emulatorConnectionStringProblem(env.STORAGE_CONNECTION_STRING) : null;
    if (connection) problems.push(`STORAGE_CONNECTION_STRING: ${local} (UseDevelopmentStorage=true alone, or BlobEndpoint= and QueueEndpoint= at a loopback address): ${connection}`);
  }
  const spool = env.ARCHIVE_SPOOL_DIR ? spoolDirProblem(env.ARCHIVE_SPOOL_DIR) : null;
  if (spool) problems.push(`ARCHIVE_SPOOL_DIR: ${spool}`);
  // The web app's id tokens are signed by the same issuer with its client id as audience: were that the API's audience too, an
  // id token (handed to the browser, logged by front ends, never meant for an API) would act as an access token.
  const webClientId = webAuthKind(env, runtime) === 'local-oidc' ? (env.ARCHIVE_WEB_CLIENT_ID ?? LOCAL_WEB_CLIENT_ID) : env.ARCHIVE_WEB_CLIENT_ID;
  if (env.AUTH_AUDIENCE && env.AUTH_AUDIENCE === webClientId) problems.push(`AUTH_AUDIENCE: must not be the web app's client id (${webClientId}): its id tokens would act as access tokens; register the API apart and use its audience`);
  if (webAuthKind(env, runtime) === 'entra') {
    for (const name of ['ARCHIVE_WEB_AUTHORITY', 'ARCHIVE_WEB_CLIENT_ID', 'ARCHIVE_WEB_SCOPE'] as const) {
      if (!env[name]) problems.push(`${name}: required when the web app signs in with Entra ID (ARCHIVE_WEB_AUTH=entra)`);
    }
  }
  return problems;
}

function isPublicHttps(value: string): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return true; // the schema reports a malformed URL
  }
  return url.protocol === 'https:' && !isLoopbackHost(url.hostname.toLowerCase());
}

/**
 * A loopback address, as a URL's hostname (lower case; the URL parser writes IPv4 out in full, IPv6 in brackets). Only
 * literals and `localhost`: a name such as 127.example.com or archive.localhost is resolved by DNS and may lead anywhere.
 */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || host === '[::1]' || host === '0.0.0.0' || host === '[::]';
}

/** A storage connection string's settings, names in lower case. */
function connectionStringParts(value: string): Map<string, string> {
  return new Map(value.split(';').filter(Boolean).map((p) => {
    const at = p.indexOf('=');
    return [p.slice(0, at).trim().toLowerCase(), p.slice(at + 1).trim()] as const;
  }));
}

/** The names the storage SDK reads in a connection string, spelled as it reads them. */
const CONNECTION_STRING_NAMES: ReadonlySet<string> = new Set(['DefaultEndpointsProtocol', 'AccountName', 'AccountKey', 'BlobEndpoint', 'QueueEndpoint', 'TableEndpoint', 'FileEndpoint', 'SharedAccessSignature', 'EndpointSuffix', 'UseDevelopmentStorage']);

/**
 * Why a connection string is not Azurite's, or null when it is: the development shortcut alone, or explicit blob and
 * queue endpoints at loopback addresses. Judged as the storage SDK reads it, not more kindly: the SDK takes the
 * shortcut only at the very start of the string, reads names case-sensitively and the first of two alike, builds an
 * endpoint that is not given from AccountName and EndpointSuffix (<account>.queue.core.windows.net), and sends
 * everything through DevelopmentStorageProxyUri. A string it would read otherwise than this check is refused.
 */
function emulatorConnectionStringProblem(value: string): string | null {
  const parts = value.split(';').map((p) => p.trim()).filter(Boolean);
  const seen = new Set<string>();
  for (const part of parts) {
    const name = part.slice(0, Math.max(part.indexOf('='), 0));
    if (!CONNECTION_STRING_NAMES.has(name)) return `${JSON.stringify(name || part.slice(0, 40))} is not a name the storage SDK reads as written (names are case-sensitive, Name=value)`;
    if (seen.has(name)) return `${name} is given twice (the SDK takes the first)`;
    seen.add(name);
  }
  if (seen.has('UseDevelopmentStorage')) return parts.length === 1 && value.trim().replace(/;$/, '') === 'UseDevelopmentStorage=true' ? null : 'UseDevelopmentStorage=true must be the whole string (the SDK reads it only at the start, and nothing beside it)';
  if (seen.has('EndpointSuffix')) return 'EndpointSuffix names Azure: an emulator has none';
  const endpoints = parts.filter((p) => /^(Blob|Queue|Table|File)Endpoint=/.test(p)).map((p) => p.slice(p.indexOf('=') + 1));
  if (!seen.has('BlobEndpoint') || !seen.has('QueueEndpoint')) return 'BlobEndpoint and QueueEndpoint are both required (without one the SDK derives an Azure address)';
  const remote = endpoints.find((e) => {
    const host = hostOf(e);
    return host === null || !isLoopbackHost(host);
  });
  return remote === undefined ? null : `${remote} is not at a loopback address`;
}

/** The URL's host in lower case; null when unset or malformed (the schema reports that). */
function hostOf(value: string | undefined): string | null {
  if (!value) return null;
  try {
    return new URL(value).hostname.toLowerCase();
  } catch {
    return null;
  }
}

/** Large uploads are spooled there: a folder that is missing or read-only would fail every one of them with a 500. */
function spoolDirProblem(dir: string): string | null {
  if (!path.isAbsolute(dir)) return `${dir} must be an absolute path`;
  try {
    if (!statSync(dir).isDirectory()) return `${dir} is not a folder`;
    accessSync(dir, fsConstants.W_OK);
    return null;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? `${dir} does not exist: create it (the archive writes temporary files of large uploads there)` : `${dir} is not writable by the archive`;
  }
}

function webAuthKind(env: { ARCHIVE_WEB_AUTH?: string | undefined; ARCHIVE_WEB_CLIENT_ID?: string | undefined }, runtime: 'azure' | 'local'): string {
  return env.ARCHIVE_WEB_AUTH ?? (runtime === 'local' ? 'local-oidc' : env.ARCHIVE_WEB_CLIENT_ID ? 'entra' : 'off');
}

/** The web app's sign-in, as GET /web-config.json hands it to the browser; null when it is off. */
export type WebSignIn =
  | { kind: 'local-oidc'; issuer: string; clientId: string; scope: string }
  | { kind: 'entra'; authority: string; clientId: string; scope: string };

export function webSignInOf(config: Config): WebSignIn | null {
  const kind = webAuthKind(config, config.runtime);
  if (kind === 'local-oidc') {
    return { kind, issuer: config.AUTH_ISSUER, clientId: config.ARCHIVE_WEB_CLIENT_ID ?? LOCAL_WEB_CLIENT_ID, scope: config.ARCHIVE_WEB_SCOPE ?? 'openid archive' };
  }
  // Cross-checked at load: all three are set for entra.
  if (kind === 'entra') return { kind, authority: config.ARCHIVE_WEB_AUTHORITY!, clientId: config.ARCHIVE_WEB_CLIENT_ID!, scope: config.ARCHIVE_WEB_SCOPE! };
  return null;
}

/**
 * The origin of the blob service the archive's download links point at (a large download is answered 303 to
 * one): the web app's CSP lets its fetch follow them there. Null when it cannot be told from the settings.
 */
export function blobOriginOf(config: Pick<Config, 'STORAGE_CONNECTION_STRING' | 'STORAGE_ACCOUNT_URL'>): string | null {
  // The connection string wins, as in shared/app.ts.
  if (config.STORAGE_CONNECTION_STRING) {
    const parts = connectionStringParts(config.STORAGE_CONNECTION_STRING);
    if (parts.get('usedevelopmentstorage') === 'true') return 'http://127.0.0.1:10000';
    return originOf(parts.get('blobendpoint'));
  }
  return originOf(config.STORAGE_ACCOUNT_URL);
}

function originOf(value: string | undefined): string | null {
  if (!value) return null;
  try {
    const origin = new URL(value).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** The one client the local issuer knows: the web app, a public client (PKCE, no secret). */
export const LOCAL_WEB_CLIENT_ID = 'archive-web';

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const runtime = env.WEBSITE_SITE_NAME ? 'azure' : 'local';
  const parsed = ZConfig.safeParse({ ...env, runtime });
  // A setting present but blank (an app setting left empty by a template) is refused: a number read it as 0 (a cache
  // lifetime, a grace period, a spool threshold of nothing), not the default its row in the README promises.
  const blank = Object.keys(ZConfig.shape).filter((name) => name !== 'runtime' && env[name] !== undefined && env[name].trim() === '');
  const issues = parsed.success ? [] : parsed.error.issues.filter((i) => !blank.includes(String(i.path[0])));
  const problems = [...blank.map((name) => `${name}: is empty; unset it to take the default, or give a value`), ...issues.map((i) => `${i.path.join('.') || '(config)'}: ${i.message}`), ...crossChecks(env, runtime)];
  // One upload of the largest size spools whole, and its rendition beside it: a share smaller than both refused every
  // such upload of every tenant.
  if (parsed.success && parsed.data.ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT < 2 * parsed.data.ARCHIVE_MAX_UPLOAD_BYTES) problems.push(`ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT: ${parsed.data.ARCHIVE_SPOOL_MAX_BYTES_PER_TENANT} is less than twice ARCHIVE_MAX_UPLOAD_BYTES (${parsed.data.ARCHIVE_MAX_UPLOAD_BYTES}): no upload of the largest size could be received and converted (its rendition is spooled beside it)`);
  if (problems.length > 0 || !parsed.success) throw new ConfigError(problems);
  return parsed.data;
}
