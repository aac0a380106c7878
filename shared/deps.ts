import type { Authenticates } from './auth/authenticate';
import type { TenantRights } from './auth/rights';
import type { SodPolicyProposals } from './auth/sod-policy-proposals';
import type { Clock } from './clock';
import type { Config } from './config';
import type { RefusalLimiter } from './auth/refusal-limiter';
import type { Normaliser } from './normalise/pool';
import type { ValidationRequests } from './validation/request';
import type { AuditOutbox } from './audit/outbox';
import type { ErrorCode } from './kernel/errors';
import type {
  AuditLogPort,
  AuditOutboxPort,
  BlobArchivePort,
  CatalogPort,
  DisposerPort,
  ExportBlobsPort,
  ExportJobsPort,
  LinksPort,
  Logger,
  OrphanRecordsPort,
  SecretSource,
  TenantRecordsPort,
  RetentionCatalogPort,
  RetentionPoliciesPort,
  TimerStatePort,
  ValidationQueuePort,
  ExportWorkPort,
} from './ports';

/** Everything a use case may touch: storage through its ports, built once by the composition root (shared/app.ts). */
export interface Deps {
  config: Config;
  blobs: BlobArchivePort;
  catalog: CatalogPort;
  /** Short-lived read-only SAS links to one blob (user delegation in Azure). */
  links: LinksPort;
  /** Export ZIPs: `exports-<tenant>` containers, plain (not WORM) blobs that expire. */
  exportBlobs: ExportBlobsPort;
  /** Export jobs (status, progress, expiry), kept with the tenant's records. */
  exportJobs: ExportJobsPort;
  audit: AuditLogPort;
  /** Audit entries written with their change (the audit outbox's items, beside the catalog). */
  auditOutboxItems: AuditOutboxPort;
  /** This instance's release of outboxed audit entries to the chain, after the answer (shared/audit/outbox.ts). */
  auditOutbox: AuditOutbox;
  authenticator: Authenticates;
  /** The tenant's own records: API keys, rights sets and assignments, support grants (shared/auth). */
  tenantRecords: TenantRecordsPort;
  /** The archive's own secrets (the API-key pepper). */
  secrets: SecretSource;
  /** The tenant's segregation-of-duties policy. */
  rights: TenantRights;
  /** Changes of the SoD policy: a weakening waits for a second person (shared/auth/sod-policy-proposals.ts). */
  sodPolicy: SodPolicyProposals;
  clock: Clock;
  log: Logger;
  /** Per-principal limit on refused requests (shared/auth/refusal-limiter.ts). */
  refusals: RefusalLimiter;
  /** Retention state, timers' records and the one blob disposer (shared/retention). */
  retention: RetentionDeps;
  /** Converts uploads in worker threads (bounded pool, timeout per job), off the event loop. */
  normaliser: Normaliser;
  /** `rendition-validation` Storage queue: each stored rendition is validated by veraPDF (shared/validation). */
  validationQueue: ValidationQueuePort;
  /** This instance's validation requests, several uploads' per queue message, sent after the answer (shared/validation/request.ts). */
  validationRequests: ValidationRequests;
  /** `export-work` Storage queue: each export runs as its own queue-triggered invocation (shared/exports/queued-export.ts). */
  exportWork: ExportWorkPort;
  /**
   * The HTTP status a request failing with this code answers. The table is HTTP's
   * (shared/http/problem.ts); the composition root hands it in so that a worker outside any
   * request (the export runner) records the same status in its audit entry without importing HTTP.
   */
  errorStatus: (code: ErrorCode) => number;
}

/** What retention use cases and timers need beyond the document spine. */
export interface RetentionDeps {
  catalog: RetentionCatalogPort;
  policies: RetentionPoliciesPort;
  timers: TimerStatePort;
  /** The one holder of blob deletion (shared/adapters/azure/disposer.ts). */
  disposer: DisposerPort;
  /** Document folders with blobs but no catalog item and no manifest, listed for operators. */
  orphans: OrphanRecordsPort;
}
