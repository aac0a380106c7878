/** Closed list of permissions; every route in the route table names the one it needs. */
export const PERMISSIONS = [
  'documents:read',
  'documents:download',
  'documents:write',
  'holds:place',
  'holds:release',
  'retention:extend',
  'retention:approve',
  'audit:read',
  'keys:manage',
  'rights:manage',
  'support:grant',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

/** Built-in rights sets (templates); tenants define their own in a later step. */
export const BUILT_IN_RIGHTS_SETS: Record<string, readonly Permission[]> = {
  uploader: ['documents:write', 'documents:read'],
  accountant: ['documents:read', 'documents:download'],
  archivist: ['documents:read', 'documents:download', 'documents:write', 'holds:place', 'retention:extend'],
  auditor: ['documents:read', 'documents:download', 'audit:read'],
  'tenant-admin': ['documents:read', 'documents:download', 'audit:read', 'keys:manage', 'rights:manage', 'support:grant', 'holds:release', 'retention:approve'],
};

export type PrincipalKind = 'user' | 'client' | 'support';

export interface Principal {
  tenantId: string;
  subject: string;
  kind: PrincipalKind;
  rightsSet: string;
  permissions: ReadonlySet<Permission>;
}

export const TENANT_ID = /^[a-z0-9][a-z0-9-]{2,40}$/;
