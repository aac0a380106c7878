/**
 * One definition per operation: method, path, rights, audit action, the zod schemas of path
 * parameters, query, body and every response, the success statuses and the error codes it may
 * answer. The pipeline parses and validates input from it, the OpenAPI description is generated
 * from it (shared/openapi/document.ts), and the integration harness checks every answer against it.
 *
 * How to add a route (see functions/legal-holds.ts `placeLegalHold` for a complete example):
 *   export const placeThing = operation({
 *     name: 'placeThing', method: 'POST', route: 'things/{id}', tags: ['things'], summary: '…',
 *     auth: 'tenant', permission: 'things:write', action: 'thing.place',
 *     params: z.object({ id: ZId }), body: { json: ZPlaceThing },
 *     responses: { 201: { description: 'Placed', json: ZThing, headers: ['Location'] } },
 *     errors: ['document_not_found'],
 *     handler: async ({ params, body, principal }, deps) => ({ status: 201, body: … , headers: { Location: … } }),
 *   });
 * and list it in the module's route array. Authentication, rights, the common errors and the audit
 * entry come from the pipeline.
 */
import type { Readable } from 'node:stream';
import { z } from 'zod';
import type { Deps } from '../deps';
import type { AuditAction, AuditOutboxItem, AuditStaging } from '../kernel/audit';
import type { Permission, Principal } from '../kernel/principal';
import type { ErrorCode } from '../kernel/errors';
import type { ArchiveRequest, HttpMethod } from './types';

/** Response headers an operation may declare; the OpenAPI description documents each once. */
export const RESPONSE_HEADERS = {
  Location: 'Where the created (or redirected-to) resource is',
  ETag: 'Strong validator: of the bytes of a file (use with If-None-Match, If-Range), or of the version of a record a change names in If-Match',
  'Repr-Digest': 'RFC 9530 digest of the whole representation (sha-256)',
  'Content-Disposition': 'RFC 6266 attachment file name',
  'Content-Range': 'The byte range served (206)',
  'Accept-Ranges': 'Always `bytes`',
  'Link-Expires': 'When the signed link in Location stops working',
  'Idempotent-Replayed': '`true` when an earlier request with the same Idempotency-Key (its answer lost) is answered again and nothing new was done',
  'Retry-After': 'Seconds to wait before retrying',
} as const;
export type ResponseHeader = keyof typeof RESPONSE_HEADERS;

export interface ResponseSpec {
  description: string;
  /** A JSON body, described by this schema (the harness validates it strictly). */
  json?: z.ZodType;
  /** A streamed byte body of one of these media types. */
  stream?: readonly string[];
  headers?: readonly ResponseHeader[];
  example?: unknown;
}
export type Responses = Record<number, ResponseSpec>;

/** A JSON body parsed with the schema, or a byte stream the handler reads itself (uploads). */
export type RequestBodySpec = { json: z.ZodType; example?: unknown } | { stream: readonly string[]; description: string };

type Out<S> = S extends z.ZodType ? z.output<S> : Record<string, never>;
type BodyOf<B> = B extends { json: infer S extends z.ZodType } ? z.output<S> : B extends { stream: readonly string[] } ? Readable | null : undefined;
type ReplyBody<R extends ResponseSpec> = R extends { json: infer S extends z.ZodType } ? { body: z.input<S> } : R extends { stream: readonly string[] } ? { body?: Readable | Buffer } : { body?: undefined };

/** What a handler returns: one of the declared statuses, with the body its schema describes. */
export type Reply<R extends Responses> = { [K in keyof R & number]: { status: K; headers?: Record<string, string> } & ReplyBody<R[K]> }[keyof R & number];

export interface OperationInput<P, Q, B> {
  params: Out<P>;
  query: Out<Q>;
  body: BodyOf<B>;
  /** Headers (Range…), request id and client address; never the raw query string. */
  req: ArchiveRequest;
  /** The `Idempotency-Key`, validated once by the pipeline (ids.ts idempotencyKeyOf); null when absent, always on an operation that does not declare `idempotencyKey` (it refuses the header). */
  idempotencyKey: string | null;
}

export interface TenantInput<P, Q, B> extends OperationInput<P, Q, B> {
  principal: Principal;
  /** The handler names what it touched (and a short machine detail); the pipeline writes the one audit entry. */
  audit: TenantAudit;
}

/** What the handler tells the pipeline for the request's one audit entry. */
export interface TenantAudit {
  target: string | null;
  detail?: string;
  /** The success entry's action when it is another act than the route's and no staged entry was stored (a proposal answered again). */
  action?: AuditAction;
  /**
   * The success entry this request gets if it answers `status`, for a core that stores it with
   * its change (the audit outbox, shared/audit/outbox.ts). Once the core says it stored it, the
   * pipeline appends it after the answer instead of before.
   * `action`: the entry's action when the outcome is another act than the route's (a change proposed, not applied).
   */
  staging(status: number, action?: AuditAction): AuditStaging;
  /** Set through `staging(…).stored`. */
  outboxed?: AuditOutboxItem;
}

interface SpecBase<P, Q, B, R extends Responses> {
  /** Unique; the operationId and the Azure Functions function name. */
  name: string;
  method: HttpMethod;
  /** Route template under the base path (Azure Functions syntax), e.g. `documents/{id}`. */
  route: string;
  summary: string;
  description?: string;
  tags: [string, ...string[]];
  params?: P;
  /** A path parameter the schema refuses answers this code (the resource cannot exist). */
  paramsError?: ErrorCode;
  query?: Q;
  body?: B;
  responses: R;
  /** Recognises a retry by its Idempotency-Key; on every other operation the header is refused, not silently ignored. */
  idempotencyKey?: boolean;
  /** Error codes this operation's own logic may answer; the pipeline adds the common ones (COMMON_ERRORS). */
  errors: readonly ErrorCode[];
}

/** Every permission a tenant operation needs: its one, or all of its list. */
export function neededPermissions(spec: { permission: Permission | readonly Permission[] }): readonly Permission[] {
  return typeof spec.permission === 'string' ? [spec.permission] : spec.permission;
}

export interface TenantSpec<P, Q, B, R extends Responses> extends SpecBase<P, Q, B, R> {
  auth: 'tenant';
  /** What the caller must hold: one permission, or every one of a list (an export hands out the documents' bytes: it needs download too). */
  permission: Permission | readonly [Permission, ...Permission[]];
  action: AuditAction;
  /** The audit target known from the path alone (so refused requests name it too); default: the `id` parameter. */
  target?: (params: Out<P>) => string;
  handler: (input: TenantInput<P, Q, B>, deps: Deps) => Promise<Reply<R>>;
}

export interface PublicSpec<P, Q, B, R extends Responses> extends SpecBase<P, Q, B, R> {
  auth: 'public';
  handler: (input: OperationInput<P, Q, B>, deps: Deps) => Promise<Reply<R>>;
}

/** An operation with its types erased, as the route table holds it. */
export type Operation = (TenantSpec<z.ZodType, z.ZodType, RequestBodySpec, Responses> | PublicSpec<z.ZodType, z.ZodType, RequestBodySpec, Responses>) & {
  params?: z.ZodType;
  query?: z.ZodType;
  body?: RequestBodySpec;
};

type OpGenerics = [z.ZodType | undefined, z.ZodType | undefined, RequestBodySpec | undefined];

/** Declares an operation; the generic parameters keep the handler's input and output typed. */
export function operation<P extends OpGenerics[0] = undefined, Q extends OpGenerics[1] = undefined, B extends OpGenerics[2] = undefined, const R extends Responses = Responses>(spec: TenantSpec<P, Q, B, R>): Operation;
export function operation<P extends OpGenerics[0] = undefined, Q extends OpGenerics[1] = undefined, B extends OpGenerics[2] = undefined, const R extends Responses = Responses>(spec: PublicSpec<P, Q, B, R>): Operation;
export function operation(spec: unknown): Operation {
  return spec as Operation;
}

/** Errors every operation may answer, whatever it does: they come from the pipeline and the host. */
export const COMMON_ERRORS: readonly ErrorCode[] = ['internal', 'dependency_unavailable', 'header_fields_too_large'];
/** Errors of every operation that needs a credential. */
export const TENANT_ERRORS: readonly ErrorCode[] = ['unauthenticated', 'forbidden', 'support_access_not_granted', 'segregation_of_duties', 'too_many_refusals', 'audit_contention'];
/** Errors of reading a JSON body. */
export const JSON_BODY_ERRORS: readonly ErrorCode[] = ['bad_request', 'unsupported_media_type', 'payload_too_large'];

/** Every error code an operation may answer. */
export function errorsOf(op: Operation): ErrorCode[] {
  const codes = new Set<ErrorCode>([...COMMON_ERRORS, ...op.errors]);
  if (op.auth === 'tenant') TENANT_ERRORS.forEach((c) => codes.add(c));
  codes.add('invalid_query'); // a query the operation does not take, or a parameter given twice
  if (!op.idempotencyKey || !op.body) codes.add('bad_request'); // an Idempotency-Key it would not honour, a body it does not take
  if (op.params) codes.add(op.paramsError ?? 'route_not_found');
  if (op.body && 'json' in op.body) JSON_BODY_ERRORS.forEach((c) => codes.add(c));
  return [...codes];
}

/** A handler's answer: the status stays a literal, so the compiler checks it (and the body) against the declared responses. */
export function reply<const S extends number, B = undefined>(status: S, body?: B, headers?: Record<string, string>): { status: S; body: B; headers?: Record<string, string> } {
  return { status, body: body as B, ...(headers ? { headers } : {}) };
}
