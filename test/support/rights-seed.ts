/**
 * A tenant rights set written straight to the tenants container. Nobody can define a set
 * holding more than they hold themselves (rights ceiling), so a test that needs a principal
 * with permissions beyond tenant-admin's starts from a set seeded here, as an operator would.
 */
import type { Permission } from '../../shared/kernel/principal';
import type { TestArchive } from './harness';

export async function seedRightsSet(archive: TestArchive, tenantId: string, name: string, permissions: readonly Permission[]): Promise<void> {
  await archive.host.deps.cosmos.tenants.items.upsert({
    id: `rights-set:${name}`,
    tenantId,
    type: 'rights-set',
    name,
    permissions: [...new Set(permissions)].sort(),
    updatedAt: new Date().toISOString(),
    updatedBy: { subject: 'operator:seed', kind: 'user' },
  });
  // Written past the instance, as an operator would: the instance forgets its cached settings.
  archive.host.deps.settings.clear();
}

/**
 * A tenant's SoD policy written straight to the tenants container, as an operator would. Through
 * the API a weaker policy needs a second person (sod-policy-proposals.ts); a test about something
 * else that needs, say, no declared conflicts starts from a policy seeded here.
 */
export async function seedSodPolicy(archive: TestArchive, tenantId: string, policy: { conflicts: [Permission, Permission][]; uploaderCannotApproveDisposal?: boolean }): Promise<void> {
  await archive.host.deps.cosmos.tenants.items.upsert({
    id: 'sod-policy',
    tenantId,
    type: 'sod-policy',
    conflicts: policy.conflicts,
    uploaderCannotApproveDisposal: policy.uploaderCannotApproveDisposal ?? true,
    updatedAt: new Date().toISOString(),
    updatedBy: { subject: 'operator:seed', kind: 'user' },
  });
  archive.host.deps.settings.clear();
}
