import { BlobServiceClient, RestError } from '@azure/storage-blob';
import type { TokenCredential } from '@azure/identity';

/**
 * How long one try of a Blob Storage request may wait for its response's headers: a base, plus, for a request body of
 * known length (Put Blob, Put Block), the time to send it at a floor rate, so an upload that is progressing is never
 * cut (a 100 MiB Put Blob gets 30 s + 100 s). The SDK's `tryTimeoutInMs` is only a URL parameter asking the service
 * to give up: an endpoint that accepted the connection and never answered (a half-open link, a stalled proxy) held the
 * request for ever, and the timers and the shutdown flush behind it. Only the wait for the headers is bounded, never a
 * whole call: a download streams its body to a slow client for as long as it takes. A try cut by the bound fails as a
 * network error (ETIMEDOUT) and the SDK retries it on a new connection; with the SDK's default retry options, which
 * the app keeps for blobs (4 tries, 0 + 4 + 12 s between them), a call to an endpoint that never answers is refused
 * after at most 4 × (30 s + body allowance) + 16 s: 136 s for a call without a body.
 */
export const BLOB_HEADERS_BASE_MS = 30_000;
export const BLOB_BODY_FLOOR_BYTES_PER_SECOND = 1024 * 1024;

export type BlobHeadersBound = { baseMs: number; bytesPerSecond: number };

export type BlobServiceTarget = { connectionString: string } | { url: string; credential: TokenCredential };

/**
 * The Blob service client of the archive account (connection string locally, account URL and credential in Azure),
 * every request of it and of every client made from it bounded to its headers (above).
 */
export function blobServiceClient(
  target: BlobServiceTarget,
  options: { bound?: BlobHeadersBound; retryOptions?: { maxTries?: number; retryDelayInMs?: number; maxRetryDelayInMs?: number } } = {},
): BlobServiceClient {
  const pipelineOptions = options.retryOptions ? { retryOptions: options.retryOptions } : {};
  const service = 'connectionString' in target
    ? BlobServiceClient.fromConnectionString(target.connectionString, pipelineOptions)
    : new BlobServiceClient(target.url, target.credential, pipelineOptions);
  corePipelineOf(service).addPolicy(headersBoundPolicy(options.bound ?? { baseMs: BLOB_HEADERS_BASE_MS, bytesPerSecond: BLOB_BODY_FLOOR_BYTES_PER_SECOND }), { afterPhase: 'Retry' });
  return service;
}

/** The few members of @azure/core-rest-pipeline's request and pipeline used here (not a dependency of its own). */
type CoreRequest = { timeout: number; abortSignal?: { aborted: boolean }; headers: { get(name: string): string | undefined } };
type CorePolicy = { name: string; sendRequest(request: CoreRequest, next: (request: CoreRequest) => Promise<unknown>): Promise<unknown> };
type CorePipeline = { addPolicy(policy: CorePolicy, options: { afterPhase: 'Retry' }): void };

/**
 * The service client's request pipeline (its protected `storageClientContext`'s). Every container and blob client
 * made from the service client shares it: storage-blob builds one core pipeline per `Pipeline` and caches it there.
 * Fails at start-up, never silently, if an SDK version no longer has it.
 */
function corePipelineOf(service: BlobServiceClient): CorePipeline {
  const pipeline = (service as unknown as { storageClientContext?: { pipeline?: Partial<CorePipeline> } }).storageClientContext?.pipeline;
  if (typeof pipeline?.addPolicy !== 'function') throw new Error('@azure/storage-blob: the service client has no request pipeline to bound');
  return pipeline as CorePipeline;
}

/**
 * After the retry policy, so it sets the bound on each try's request and turns a try it cut into an error the
 * storage retry policy retries: the node HTTP client aborts a request whose `timeout` passed before the headers
 * came (and clears it when they come) with an AbortError, which that policy rethrows at once. An abort the caller
 * asked for stays an AbortError.
 */
function headersBoundPolicy(bound: BlobHeadersBound): CorePolicy {
  return {
    name: 'archiveBlobHeadersBound',
    async sendRequest(request, next) {
      const bodyBytes = Number(request.headers.get('Content-Length') ?? 0) || 0;
      const ms = bound.baseMs + Math.ceil((bodyBytes / bound.bytesPerSecond) * 1000);
      request.timeout = ms;
      try {
        return await next(request);
      } catch (err) {
        if (err instanceof Error && err.name === 'AbortError' && !request.abortSignal?.aborted) {
          throw new RestError(`Blob Storage sent no response headers within ${ms} ms (ETIMEDOUT)`, { code: 'ETIMEDOUT' });
        }
        throw err;
      }
    },
  };
}
