/**
 * Every JSON request body is bounded twice: 64 KB of bytes before it is parsed (shared/http/json-body.ts),
 * and each array in its schema by a maximum, so no route takes a list longer than its work was sized for.
 */
import { z } from 'zod';
import { ROUTES } from '../../../functions/routes';

function unboundedArrays(schema: unknown, path: string, out: string[]): void {
  if (!schema || typeof schema !== 'object') return;
  const node = schema as Record<string, unknown>;
  if (node.type === 'array' && node.items !== undefined && typeof node.maxItems !== 'number' && !Array.isArray(node.prefixItems)) out.push(path);
  for (const [key, value] of Object.entries(node)) {
    if (Array.isArray(value)) value.forEach((v, i) => unboundedArrays(v, `${path}.${key}[${i}]`, out));
    else unboundedArrays(value, `${path}.${key}`, out);
  }
}

it('no JSON request body schema has an array without a maximum', () => {
  const found: string[] = [];
  for (const op of ROUTES) {
    if (op.body && 'json' in op.body) unboundedArrays(z.toJSONSchema(op.body.json, { io: 'input', unrepresentable: 'any' }), op.name, found);
  }
  expect(found).toEqual([]);
  // The walk sees one: an unbounded array in a nested object.
  const probe: string[] = [];
  unboundedArrays(z.toJSONSchema(z.strictObject({ a: z.strictObject({ b: z.array(z.string()) }), c: z.array(z.string()).max(2) })), 'probe', probe);
  expect(probe).toEqual(['probe.properties.a.properties.b']);
  expect(ROUTES.filter((op) => op.body && 'json' in op.body).length).toBeGreaterThan(10);
});
