import { ROUTES } from '../../../functions/routes';
import { compileRoutes } from '../../../shared/http/route-match';

describe('the route table', () => {
  it('has unique names and unique method+route pairs (Azure Functions needs both)', () => {
    expect(new Set(ROUTES.map((r) => r.name)).size).toBe(ROUTES.length);
    expect(new Set(ROUTES.map((r) => `${r.method} ${r.route}`)).size).toBe(ROUTES.length);
  });

  it('compiles Functions route templates for the local host', () => {
    const [compiled] = compileRoutes([{ ...ROUTES[0]!, route: 'documents/{id}/originals/{part}' }]);
    const m = compiled!.pattern.exec('/api/documents/abc/originals/2');
    expect(m?.slice(1)).toEqual(['abc', '2']);
    expect(compiled!.names).toEqual(['id', 'part']);
    expect(compiled!.pattern.test('/api/documents/abc/originals/2/x')).toBe(false);
  });
});
