import { ROUTES } from '../../../functions/routes';
import { buildOpenApi, OPERATIONS } from '../../../shared/openapi/document';

describe('OpenAPI description', () => {
  it('describes every route of the route table by name (add new routes to OPERATIONS)', () => {
    const missing = ROUTES.map((r) => r.name).filter((name) => !(name in OPERATIONS));
    expect(missing).toEqual([]);
  });

  it('lists every route under its path and method, with permission and audit action', () => {
    const doc = buildOpenApi(ROUTES) as any;
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) {
      const op = doc.paths[`/${r.route}`]?.[r.method.toLowerCase()];
      expect([r.name, op?.operationId]).toEqual([r.name, r.name]);
      expect(op['x-undescribed']).toBeUndefined();
      if (r.auth === 'tenant') expect(op).toMatchObject({ 'x-permission': r.permission, 'x-audit-action': r.action, security: [{ bearer: [] }] });
    }
  });

  it('takes query and body schemas from the zod schemas the handlers parse with', () => {
    const doc = buildOpenApi(ROUTES) as any;
    const list = doc.paths['/documents'].get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(['fiscalYear', 'from', 'to', 'kind', 'counterparty', 'amountMin', 'amountMax', 'reference', 'tags', 'sort', 'order', 'limit', 'continuationToken']));
    const body = doc.paths['/exports'].post.requestBody.content['application/json'].schema;
    expect(body.properties.includeOriginals.type).toBe('boolean');
    expect(body.additionalProperties).toBe(false);
    expect(doc.components.schemas.Problem.properties.code.enum).toContain('export_expired');
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });
});
