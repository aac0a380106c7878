import { ROUTES } from '../../../functions/routes';
import { SUPPORT_SCOPES } from '../../../shared/kernel/principal';
import type { TenantRoute } from '../../../shared/http/pipeline';
import { neededPermissions } from '../../../shared/http/operation';

describe('bulk copies are not part of support access (#12.8)', () => {
  it('downloading an export needs the right to start one; both need the right to download documents (an export hands out their bytes)', () => {
    const byName = (n: string) => ROUTES.find((r): r is TenantRoute => r.auth === 'tenant' && r.name === n)!;
    expect(byName('downloadExport').permission).toEqual(byName('createExport').permission);
    expect(byName('downloadExport').permission).toEqual(['exports:create', 'documents:download']);
  });

  it.each(Object.entries(SUPPORT_SCOPES))('support scope %s grants no bulk copy', (_scope, permissions) => {
    expect(permissions).not.toContain('exports:create');
    const bulk = ROUTES.filter((r): r is TenantRoute => r.auth === 'tenant' && (r.name === 'createExport' || r.name === 'downloadExport'));
    const held = new Set<string>(permissions);
    for (const r of bulk) expect(neededPermissions(r).every((p) => held.has(p))).toBe(false);
  });
});
