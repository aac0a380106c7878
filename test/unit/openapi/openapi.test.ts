import { ROUTES } from '../../../functions/routes';
import { TIMERS } from '../../../functions/timers';
import { errorsOf } from '../../../shared/http/operation';
import { buildOpenApi } from '../../../shared/openapi/document';

describe('OpenAPI description (generated from the operation definitions)', () => {
  const doc = buildOpenApi(ROUTES, '/api', TIMERS) as any;
  const opOf = (name: string) => {
    const r = ROUTES.find((x) => x.name === name)!;
    return doc.paths[`/${r.route}`][r.method.toLowerCase()];
  };

  it('lists every operation under its path and method, with permission, audit action and both security schemes', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const r of ROUTES) {
      const op = doc.paths[`/${r.route}`]?.[r.method.toLowerCase()];
      expect([r.name, op?.operationId]).toEqual([r.name, r.name]);
      if (r.auth === 'tenant') expect(op).toMatchObject({ 'x-permission': r.permission, 'x-audit-action': r.action, security: [{ bearer: [] }, { apiKey: [] }] });
    }
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['apiKey', 'bearer']);
  });

  it('describes every request body: JSON by its zod schema, uploads as streams', () => {
    for (const r of ROUTES.filter((x) => x.method === 'POST' || x.method === 'PUT')) expect([r.name, opOf(r.name).requestBody?.content]).toEqual([r.name, expect.any(Object)]);
    const body = opOf('createExport').requestBody.content['application/json'].schema;
    expect(body.properties.includeOriginals.type).toBe('boolean');
    expect(body.additionalProperties).toBe(false);
    expect(Object.keys(opOf('uploadDocument').requestBody.content)).toEqual(expect.arrayContaining(['application/pdf', 'multipart/form-data']));
  });

  it('documents the status each handler answers: revocations answer 200 with the record, a disposal approval 201', () => {
    expect(Object.keys(opOf('revokeApiKey').responses)).toContain('200');
    expect(Object.keys(opOf('revokeApiKey').responses)).not.toContain('204');
    expect(Object.keys(opOf('revokeSupportGrant').responses)).toContain('200');
    expect(Object.keys(opOf('revokeSupportGrant').responses)).not.toContain('204');
    expect(Object.keys(opOf('approveDisposal').responses)).toContain('201');
    expect(Object.keys(opOf('approveDisposal').responses)).not.toContain('200');
  });

  it('gives every success a body schema or a stream, the declared headers, and every error code as problem+json', () => {
    const list = opOf('listDocuments').parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(['fiscalYear', 'from', 'to', 'kind', 'counterparty', 'amountMin', 'amountMax', 'reference', 'tags', 'sort', 'order', 'limit', 'continuationToken']));
    expect(opOf('downloadRendition').responses['200'].headers).toHaveProperty('Repr-Digest');
    expect(opOf('downloadRendition').responses['200'].headers).toHaveProperty('ETag');
    expect(opOf('uploadDocument').responses['201'].headers).toHaveProperty('Location');
    for (const r of ROUTES) {
      const op = opOf(r.name);
      const codes = Object.entries(op.responses).filter(([s]) => Number(s) >= 400).flatMap(([, v]: [string, any]) => v.content['application/problem+json'].schema.allOf[1].properties.code.enum);
      expect([r.name, codes.sort()]).toEqual([r.name, errorsOf(r).sort()]);
    }
    expect(opOf('downloadExport').responses['410'].content['application/problem+json'].schema.allOf[1].properties.code.enum).toEqual(['export_expired']);
    expect(JSON.parse(JSON.stringify(doc))).toEqual(doc);
  });

  // Found by schemathesis: a continuation token the description allowed (4000 characters, any) was 48 KB percent-encoded,
  // past the 16 KiB a server reads as its request line (a 431 without a problem); a search's tags were unbounded.
  it('bounds every query parameter to what a request line holds: 8 KiB percent-encoded at worst', () => {
    const worst = (s: any): number => {
      if (s.enum) return Math.max(...s.enum.map((v: unknown) => String(v).length));
      if (s.const !== undefined) return String(s.const).length;
      if (s.anyOf) return Math.max(...s.anyOf.map(worst));
      if (s.type === 'integer' || s.type === 'number' || s.type === 'boolean') return 25;
      if (s.pattern && /^\^\[[A-Za-z0-9_\\-]+\]\+\$$/.test(s.pattern)) return s.maxLength ?? Infinity; // ASCII only: a byte each
      if (s.pattern) return 100; // dates, instants, codes
      return (s.maxLength ?? Infinity) * 12; // a code point beyond U+FFFF: four bytes, each %XX
    };
    const over = [];
    for (const r of ROUTES) {
      for (const p of opOf(r.name).parameters.filter((x: any) => x.in === 'query')) {
        // The upload's metadata has the Archive-Metadata header beside it, and is bounded by what it may hold (not described).
        if (r.name === 'uploadDocument' && p.name === 'metadata') continue;
        if (worst(p.schema) > 8 * 1024) over.push(`${r.name} ${p.name}`);
      }
    }
    expect(over).toEqual([]);
    expect(opOf('listDocuments').parameters.find((p: any) => p.name === 'continuationToken').schema).toMatchObject({ maxLength: 4000, pattern: '^[A-Za-z0-9_-]+$' });
  });

  // Found by schemathesis: an original answered its own type (image/jpeg) where only application/octet-stream was declared,
  // and veraPDF's JSON report was declared as a binary string, which every validator refused (a merge patch too).
  it('declares the types downloads answer: an original as archived, the report as JSON', () => {
    expect(Object.keys(opOf('downloadOriginal').responses['200'].content).sort()).toEqual(['application/pdf', 'image/jpeg', 'image/png', 'image/tiff']);
    expect(Object.keys(opOf('downloadOriginalPart').responses['206'].content)).toContain('image/tiff');
    expect(opOf('downloadValidationReport').responses['200'].content['application/json'].schema).toEqual({ type: 'object', additionalProperties: true });
    expect(opOf('correctDocumentMetadata').requestBody.content['application/merge-patch+json'].schema).toEqual({ type: 'object', additionalProperties: true });
    expect(opOf('downloadRendition').responses['200'].content['application/pdf'].schema).toEqual({ type: 'string', format: 'binary' });
  });

  it('lists the timers', () => {
    expect(doc['x-timers'].map((t: { name: string }) => t.name)).toEqual(TIMERS.map((t) => t.name));
  });
});
