import type { ArchiveError } from './errors';

/** Closed list of permissions; every route in the route table names the one it needs. */
export const PERMISSIONS = [
  'documents:read',
  'documents:download',
  /** Starting and downloading a bulk export (a copy of many documents at once), apart from single downloads. */
  'exports:create',
  'documents:write',
  /** Correcting a document's catalog metadata (never its files); retention may only lengthen. */
  'documents:correct',
  'holds:place',
  'holds:release',
  'retention:extend',
  'retention:approve',
  'retention:manage',
  'audit:read',
  'keys:manage',
  'rights:manage',
  'support:grant',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Built-in rights sets (templates). Tenants define their own (`/rights-sets`); these names are reserved. */
export const BUILT_IN_RIGHTS_SETS: Record<string, readonly Permission[]> = {
  uploader: ['documents:write', 'documents:read'],
  accountant: ['documents:read', 'documents:download', 'exports:create', 'documents:correct'],
  archivist: ['documents:read', 'documents:download', 'documents:write', 'documents:correct', 'holds:place', 'retention:extend'],
  auditor: ['documents:read', 'documents:download', 'exports:create', 'audit:read'],
  'tenant-admin': ['documents:read', 'documents:download', 'exports:create', 'documents:correct', 'audit:read', 'keys:manage', 'rights:manage', 'support:grant', 'holds:release', 'retention:approve', 'retention:manage'],
  /**
   * Mints upload keys for the tenant's client apps. Under the rights ceiling a key carries only what its
   * creator holds, and tenant-admin may not hold documents:write (it conflicts with retention:approve),
   * so this set, granted by the identity provider's rights claim, is who connects bookkeeping software.
   */
  'integration-admin': ['documents:read', 'documents:write', 'keys:manage'],
};

export type PrincipalKind = 'user' | 'client' | 'support';

export interface Principal {
  tenantId: string;
  subject: string;
  kind: PrincipalKind;
  rightsSet: string;
  permissions: ReadonlySet<Permission>;
  /**
   * The accountable person, whom every segregation-of-duties and four-eyes rule compares: a user's
   * or support principal's subject; for an API key, the person who created it (recorded on the key).
   * Absent means the subject (see `personOf`).
   */
  person?: string;
  /**
   * What that person holds through any credential of theirs, as far as known: a user's own
   * permissions; for an API key, its creator person's permissions at creation. Absent means `permissions`.
   */
  personPermissions?: ReadonlySet<Permission>;
  /**
   * The rights sets that person holds through this credential and in their own name, as far as known
   * (for an API key: the key's set and the person's current one). Absent means `rightsSet`.
   */
  personRightsSets?: ReadonlySet<string>;
  /**
   * The person's rights were read from their rights assignment in the tenant when the credential was authenticated
   * (a user's own; for an API key, recorded so on the key): a key they mint then follows what the tenant assigns them
   * later, even if the assignment is removed while the key is being minted.
   */
  personAssigned?: boolean;
  /** API key id, for `client` principals. */
  keyId?: string;
  /** The tenant's support-access grant a `support` principal acts under. */
  grantId?: string;
  /**
   * When the credential presented stops being valid (an API key's expiry or its person's idle limit, a token's `exp`), as far as
   * known: whatever the request hands out to be used later (a read-only link) never outlives it.
   */
  credentialExpiresAt?: string;
  /**
   * Set when the credential is valid but the tenant refuses it as a whole (support without an
   * active grant, a principal holding a conflicting permission pair). The pipeline throws it
   * after authentication, so the refusal is audited under the tenant.
   */
  denial?: ArchiveError;
}

/** The accountable person behind a principal or a recorded actor; records from before persons were kept name only their subject. */
export const personOf = (p: { subject: string; person?: string }): string => p.person ?? p.subject;

/** Whether the person behind a principal holds a permission through any credential of theirs. */
/** Whether the person behind `p` holds the rights set `name` (through this credential or in their own name). */
export const personHoldsSet = (p: Pick<Principal, 'rightsSet' | 'personRightsSets'>, name: string): boolean => p.rightsSet === name || (p.personRightsSets?.has(name) ?? false);
export const personHolds = (p: Pick<Principal, 'permissions' | 'personPermissions'>, permission: Permission): boolean => (p.personPermissions ?? p.permissions).has(permission);

export const RIGHTS_SET_NAME = /^[a-z0-9][a-z0-9-]{1,40}$/;

/** What a support-access grant lets provider staff do: never more than reading, never a bulk copy (exports:create). */
export const SUPPORT_SCOPES = {
  'read-only': ['documents:read', 'documents:download'],
  'metadata-only': ['documents:read'],
  'read-only-with-audit': ['documents:read', 'documents:download', 'audit:read'],
} as const satisfies Record<string, readonly Exclude<Permission, 'exports:create'>[]>;
export type SupportScope = keyof typeof SUPPORT_SCOPES;

/**
 * A tenant id (a slug, 3 to 41 characters), checked where a credential names it. Dashes only between
 * letters or digits: it names the tenant's blob containers (`tenant-<id>`, `exports-<id>`), and Azure
 * refuses a container name with `--` or a trailing dash, so such a tenant failed at its first upload.
 */
export const TENANT_ID = /^(?=.{3,41}$)[a-z0-9]+(?:-[a-z0-9]+)*$/;
