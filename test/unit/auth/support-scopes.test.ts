import { ROUTES } from '../../../functions/routes';
import { SUPPORT_SCOPES } from '../../../shared/kernel/principal';
import type { TenantRoute } from '../../../shared/http/pipeline';

describe('bulk copies are not part of support access (#12.8)', () => {
  it('downloading an export needs the right to start one', () => {
    const byName = (n: string) => ROUTES.find((r): r is TenantRoute => r.auth === 'tenant' && r.name === n)!;
    expect(byName('downloadExport').permission).toBe(byName('createExport').permission);
    expect(byName('downloadExport').permission).toBe('exports:create');
  });

  it.each(Object.entries(SUPPORT_SCOPES))('support scope %s grants no bulk copy', (_scope, permissions) => {
    expect(permissions).not.toContain('exports:create');
    const bulk = ROUTES.filter((r): r is TenantRoute => r.auth === 'tenant' && (r.name === 'createExport' || r.name === 'downloadExport'));
    for (const r of bulk) expect(permissions).not.toContain(r.permission);
  });
});
