/** Integration harness: a real archive host over HTTP against the run's shared emulators. */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { ArchiveHost, startArchiveHost } from '../../local/archive-host';
import { LOCAL_AUDIENCE, mintToken, TokenClaims } from '../../local/oidc';
import type { Deps } from '../../shared/deps';
import type { Logger } from '../../shared/ports';
import type { RenditionValidator } from '../../shared/kernel/validation';
import { readEmulators, TestEmulators } from './emulators-file';

export const CORPUS = path.resolve(__dirname, '..', 'fixtures', 'corpus');
export const SHARED_CORPUS = path.resolve(__dirname, '..', '..', '..', 'shared', 'corpus');

export const quietLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** The tenants this test file made (Jest loads the harness once per file): what its hosts' cross-tenant walks see. */
const FILE_TENANTS = new Set<string>();

export function newTenant(prefix = 't'): string {
  const tenant = `${prefix}-${randomBytes(5).toString('hex')}`;
  FILE_TENANTS.add(tenant);
  return tenant;
}

/**
 * A host's cross-tenant walks (the timers' tenant listing, the audit partitions) see only this file's tenants. The run's
 * emulators are shared by every test file at once, and a walk over all of them has changed another file's tenant in the
 * middle of its test three times: a seal blob, a validator's verdicts, and a reconciler flagging another file's seeded
 * documents as blobs-missing (the isolation sweep's "B is unchanged"). Narrowed here, no test can do that again.
 */
function onlyFileTenants(deps: Deps): void {
  const listTenants = deps.blobs.unsafeListTenants.bind(deps.blobs);
  deps.blobs.unsafeListTenants = async function* () {
    for await (const tenant of listTenants()) if (FILE_TENANTS.has(tenant)) yield tenant;
  };
  const listPartitions = deps.audit.unsafeListPartitions.bind(deps.audit);
  deps.audit.unsafeListPartitions = async () => (await listPartitions()).filter((p) => FILE_TENANTS.has(p.tenantId));
}

/**
 * This test file's validation queue (Jest loads the harness once per file). On the run's shared Azurite every host
 * sent to `rendition-validation`, so a file running a validator (audit-sweep) recorded verdicts on other files'
 * documents mid-test: the isolation sweep then saw tenant B change.
 */
const FILE_VALIDATION_QUEUE = `validation-${randomBytes(5).toString('hex')}`;

/**
 * This test file's Cosmos database (a file that names its own keeps it). The Cosmos protocol server answers a query by
 * reading every item of the container, across partitions: on one database shared by every file, a query's cost grew
 * with the whole run (about 5 s a query at 20,000 audit entries), and since the server runs one query at a time, one
 * file's audit reads stalled every other file's requests until tests timed out (the isolation sweep's GET /audit, and an
 * export test's setup, in one dry run). A database of its own keeps a file's queries the size of its own data.
 */
const FILE_DATABASE = `test-${randomBytes(5).toString('hex')}`;

/** This test file's export queue, as its validation queue: another file's host must not take its exports' work. */
const FILE_EXPORT_QUEUE = `export-${randomBytes(5).toString('hex')}`;

export function testEnv(emu: TestEmulators, overrides: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ARCHIVE_VALIDATION_QUEUE: FILE_VALIDATION_QUEUE,
    ARCHIVE_EXPORT_QUEUE: FILE_EXPORT_QUEUE,
    // A test polling GET /exports/{id} until completed waits for the local export loop: a short interval.
    ARCHIVE_EXPORT_QUEUE_POLL_MS: '250',
    COSMOS_DATABASE: FILE_DATABASE,
    STORAGE_CONNECTION_STRING: emu.storageConnectionString,
    COSMOS_ENDPOINT: emu.cosmosEndpoint,
    COSMOS_KEY: emu.cosmosKey,
    AUTH_ISSUER: emu.issuer,
    AUTH_AUDIENCE: LOCAL_AUDIENCE,
    AUTH_JWKS_URI: emu.jwksUri,
    ARCHIVE_WORM: 'emulator',
    ...overrides,
  };
}

export interface TestArchive {
  host: ArchiveHost;
  emulators: TestEmulators;
  url: string;
  token(claims: TokenClaims): Promise<string>;
  stop(): Promise<void>;
}

/** `validator`: run the validation worker loop in the host, as `npm start` does with a JDK (tests otherwise call the worker directly). */
export async function startTestArchive(overrides: Record<string, string> = {}, dataDir?: string, opts: { validator?: RenditionValidator } = {}): Promise<TestArchive> {
  const emulators = readEmulators();
  const host = await startArchiveHost({ env: testEnv(emulators, overrides), log: quietLog, ...(dataDir ? { dataDir } : {}), ...(opts.validator ? { validator: opts.validator } : {}) });
  onlyFileTenants(host.deps);
  return {
    host,
    emulators,
    url: host.url,
    token: (claims) => mintToken(emulators.signingKey, emulators.issuer, claims),
    stop: () => host.stop(),
  };
}

export function corpusFile(rel: string): Buffer {
  const local = path.join(CORPUS, rel);
  return fs.readFileSync(fs.existsSync(local) ? local : path.join(SHARED_CORPUS, rel));
}

/** What a tenant has stored: blob names and Cosmos document ids. For "nothing changed" checks. */
export async function tenantState(archive: TestArchive, tenantId: string): Promise<{ blobs: string[]; documents: number }> {
  const service = BlobServiceClient.fromConnectionString(archive.emulators.storageConnectionString);
  const container = service.getContainerClient(`tenant-${tenantId}`);
  const blobs: string[] = [];
  // A sign-in's kept copy (sightings/…, person-sightings.ts) is the sign-in's record, not something the request stored.
  if (await container.exists()) for await (const b of container.listBlobsFlat()) if (!b.name.startsWith('sightings/')) blobs.push(b.name);
  const documents = await archive.host.deps.catalog.count(tenantId);
  return { blobs: blobs.sort(), documents };
}

/**
 * The host's deps with the cross-tenant walks (blobs, audit partitions) narrowed to one tenant, so a
 * timer run in a test (sweep, reconciler, sealing) sees and writes only that test's tenant in the
 * shared emulators: a seal blob put into another test file's tenant once broke its "nothing stored".
 */
export function depsForOnlyTenant(deps: Deps, tenant: string): Deps {
  const blobs = Object.create(deps.blobs) as Deps['blobs'];
  blobs.unsafeListTenants = async function* () {
    yield tenant;
  };
  const audit = Object.create(deps.audit) as Deps['audit'];
  audit.unsafeListPartitions = async () => (await deps.audit.unsafeListPartitions()).filter((p) => p.tenantId === tenant);
  return { ...deps, blobs, audit };
}
