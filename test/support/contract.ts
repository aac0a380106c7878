/**
 * The integration harness's contract check (issue #13, "drift impossible to miss"): every answer a
 * test receives must be one the operation it hit declares — a declared status, a JSON success body
 * its schema parses, a problem+json body whose code the operation lists. Drift fails the test that
 * saw it, whatever that test asserts itself.
 */
import { ROUTES } from '../../functions/routes';
import { compileRoutes } from '../../shared/http/route-match';
import { errorsOf, type Operation } from '../../shared/http/operation';
import { ERROR_STATUS } from '../../shared/http/problem';
import { ZProblem } from '../../shared/http/schemas';
import type { ErrorCode } from '../../shared/kernel/errors';

const PREFIX = '/api';
const TABLE = compileRoutes(ROUTES, PREFIX);

export interface Received {
  contentType: string;
  json: unknown;
}

export class ContractViolation extends Error {
  override name = 'ContractViolation';
}

/** The host's own answers for a path no route matches (404) or a method no route at that path has (405). */
function hostAnswer(method: string, path: string, status: number, got: Received, expected: ErrorCode): void {
  const where = `${method} ${path}`;
  if (status !== ERROR_STATUS[expected]) throw new ContractViolation(`${where}: no operation serves this request, so only the host's ${ERROR_STATUS[expected]} ${expected} is allowed; got status ${status}`);
  if (method === 'HEAD') return; // no content to read the code from
  const code = checkProblem(where, status, got);
  if (code !== expected) throw new ContractViolation(`${where}: expected the host's ${expected}, got ${code}`);
}

function checkProblem(where: string, status: number, got: Received): ErrorCode {
  if (!/^application\/problem\+json/.test(got.contentType)) throw new ContractViolation(`${where}: status ${status} must carry an application/problem+json body, got '${got.contentType}'`);
  const parsed = ZProblem.safeParse(got.json);
  if (!parsed.success) throw new ContractViolation(`${where}: the problem body does not match ZProblem: ${parsed.error.message}\n${JSON.stringify(got.json)}`);
  if (parsed.data.status !== status) throw new ContractViolation(`${where}: the problem says status ${parsed.data.status}, the answer is ${status}`);
  return parsed.data.code;
}

function describe(op: Operation): string {
  return `${op.method} ${op.route} (${op.name})`;
}

/** Throws a ContractViolation when the answer is not one the operation at `url` declares. */
export function checkContract(method: string, url: string, status: number, got: Received): void {
  const path = new URL(url).pathname;
  // Signed links, the OIDC issuer and the like are not API operations.
  if (!path.startsWith(`${PREFIX}/`)) return;
  const atPath = TABLE.filter((r) => r.pattern.test(path));
  if (atPath.length === 0) return hostAnswer(method, path, status, got, 'route_not_found');
  const compiled = atPath.find((r) => r.route.method === (method === 'HEAD' ? 'GET' : method)); // a GET takes HEAD too
  if (!compiled) return hostAnswer(method, path, status, got, 'method_not_allowed');
  const op = compiled.route;
  const where = describe(op);
  const codes = errorsOf(op);
  const success = op.responses[status];
  const isProblem = /^application\/problem\+json/.test(got.contentType);
  if (success && !(isProblem && status >= 400)) {
    if (got.json === undefined) {
      if (success.json && method !== 'HEAD') throw new ContractViolation(`${where}: status ${status} declares a JSON body, got none ('${got.contentType}')`);
      return;
    }
    if (!success.json) {
      // Stored bytes that happen to be JSON (veraPDF's report) are declared as a stream of that media type.
      const media = got.contentType.split(';')[0]!.trim();
      if (success.stream?.includes(media)) return;
      throw new ContractViolation(`${where}: status ${status} declares no JSON body, got ${JSON.stringify(got.json).slice(0, 300)}`);
    }
    const parsed = success.json.safeParse(got.json);
    if (!parsed.success) throw new ContractViolation(`${where}: the status ${status} body does not match its declared schema: ${parsed.error.message}\n${JSON.stringify(got.json).slice(0, 1000)}`);
    return;
  }
  const errorStatuses = new Set<number>(codes.map((c) => ERROR_STATUS[c]));
  if (!errorStatuses.has(status)) {
    throw new ContractViolation(`${where}: status ${status} is not declared (responses: ${Object.keys(op.responses).join(', ')}; error statuses: ${[...errorStatuses].sort().join(', ')})`);
  }
  if (method === 'HEAD') return;
  const code = checkProblem(where, status, got);
  if (!codes.includes(code)) throw new ContractViolation(`${where}: answered code ${code} (status ${status}), which the operation does not declare; declared: ${codes.join(', ')}`);
}
