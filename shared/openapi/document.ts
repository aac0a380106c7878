/**
 * The OpenAPI 3.1 description, generated entirely from the operation definitions
 * (shared/http/operation.ts): paths, parameters, request and response bodies and headers, the
 * problem+json answers with their codes, the security schemes, and the timers. Nothing here
 * restates an operation; a route is described by declaring it.
 */
import { z } from 'zod';
import type { ErrorCode } from '../kernel/errors';
import { ERROR_STATUS } from '../http/problem';
import { errorsOf, RESPONSE_HEADERS, type Operation } from '../http/operation';
import { ZProblem } from '../http/schemas';

type JsonSchema = Record<string, unknown>;
export const schemaOf = (s: z.ZodType, io: 'input' | 'output' = 'output'): JsonSchema => {
  const { $schema: _s, ...rest } = z.toJSONSchema(s, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
  return rest;
};

/** A timer as the description lists it (x-timers): name, what it does and its schedule. */
export interface TimerDoc {
  name: string;
  description?: string;
}

function parameters(op: Operation) {
  const of = (schema: z.ZodType | undefined, where: 'path' | 'query') => {
    if (!schema) return [];
    const js = schemaOf(schema, 'input') as { properties?: Record<string, JsonSchema>; required?: string[] };
    return Object.entries(js.properties ?? {}).filter(([name]) => where === 'query' || op.route.includes(`{${name}}`)).map(([name, s]) => ({ name, in: where, required: where === 'path' || ((js.required ?? []).includes(name) && !('default' in s)), schema: s }));
  };
  const path = op.params ? of(op.params, 'path') : [...op.route.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1]!, in: 'path', required: true, schema: { type: 'string' } }));
  return [...path, ...of(op.query, 'query')];
}

function errorResponses(op: Operation) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of errorsOf(op)) byStatus.set(ERROR_STATUS[code], [...(byStatus.get(ERROR_STATUS[code]) ?? []), code]);
  const out: Record<string, unknown> = {};
  for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[String(status)] = {
      description: `Problem: ${codes.join(', ')}`,
      ...(status === 429 || status === 503 ? { headers: { 'Retry-After': { description: RESPONSE_HEADERS['Retry-After'], schema: { type: 'integer' } } } } : {}),
      content: {
        'application/problem+json': {
          schema: { allOf: [{ $ref: '#/components/schemas/Problem' }, { type: 'object', properties: { code: { enum: codes } } }] },
          example: { type: `https://archive.example/problems/${codes[0]!.replace(/_/g, '-')}`, title: codes[0], status, code: codes[0], requestId: 'b9e0c1d2-0000-4000-8000-000000000000' },
        },
      },
    };
  }
  return out;
}

/**
 * What a streamed body holds: bytes, or a JSON object passed through unread (veraPDF's report, a merge patch). Declared as
 * bytes, the report was refused by every validator as not a string, and a fuzzer sent strings as merge patches (schemathesis).
 */
const streamedSchema = (mediaType: string): JsonSchema => (/^application\/(?:[\w.-]+\+)?json$/.test(mediaType) ? { type: 'object', additionalProperties: true } : { type: 'string', format: 'binary' });

function successResponses(op: Operation) {
  const out: Record<string, unknown> = {};
  for (const [status, r] of Object.entries(op.responses)) {
    const content = r.json
      ? { 'application/json': { schema: schemaOf(r.json), ...(r.example !== undefined ? { example: r.example } : {}) } }
      : r.stream
        ? Object.fromEntries(r.stream.map((m) => [m, { schema: streamedSchema(m) }]))
        : undefined;
    const headers = r.headers?.length ? Object.fromEntries(r.headers.map((h) => [h, { description: RESPONSE_HEADERS[h], schema: { type: 'string' } }])) : undefined;
    out[status] = { description: r.description, ...(headers ? { headers } : {}), ...(content ? { content } : {}) };
  }
  return out;
}

function requestBody(op: Operation) {
  if (!op.body) return {};
  if ('json' in op.body) {
    return { requestBody: { required: true, content: { 'application/json': { schema: schemaOf(op.body.json, 'input'), ...(op.body.example !== undefined ? { example: op.body.example } : {}) } } } };
  }
  return { requestBody: { required: true, description: op.body.description, content: Object.fromEntries(op.body.stream.map((m) => [m, { schema: streamedSchema(m) }])) } };
}

/** The description of every operation of the table, and of the timers. */
export function buildOpenApi(routes: readonly Operation[], basePath = '/api', timers: readonly TimerDoc[] = []) {
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Set<string>();
  for (const op of routes) {
    op.tags.forEach((t) => tags.add(t));
    (paths[`/${op.route}`] ??= {})[op.method.toLowerCase()] = {
      operationId: op.name,
      summary: op.summary,
      ...(op.description ? { description: op.description } : {}),
      tags: op.tags,
      ...(op.auth === 'tenant' ? { security: [{ bearer: [] }, { apiKey: [] }], 'x-permission': op.permission, 'x-audit-action': op.action } : { security: [] }),
      parameters: parameters(op),
      ...requestBody(op),
      responses: { ...successResponses(op), ...errorResponses(op) },
    };
  }
  return {
    openapi: '3.1.0' as const,
    info: {
      title: 'Document archive API',
      version: '0.1.0',
      description: 'Scanned invoices and receipts, kept as original and PDF/A rendition with SHA-256; tenant-scoped catalog and audit log. Every GET also answers HEAD: the same status and header fields, no content (RFC 9110 §9.3.2), audited as the GET is with the detail `head;…`.',
      license: { name: 'Proprietary', identifier: 'LicenseRef-Proprietary' },
    },
    servers: [{ url: basePath }],
    tags: [...tags].sort().map((name) => ({ name, description: `${name} operations` })),
    paths,
    components: {
      schemas: { Problem: schemaOf(ZProblem) },
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An OIDC access token of the tenant\'s identity provider' },
        apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'An archive API key for client apps: `Authorization: ApiKey arch_…`' },
      },
    },
    'x-timers': timers.map((t) => ({ name: t.name, description: t.description ?? t.name })),
  };
}
