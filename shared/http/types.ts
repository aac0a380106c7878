import type { Readable } from 'node:stream';

/** The archive's view of a request, the same whether Azure Functions or the local host received it. */
export interface ArchiveRequest {
  method: string;
  url: URL;
  params: Record<string, string>;
  headers: { get(name: string): string | null };
  /** Streamed body; null when there is none. */
  body: Readable | null;
  clientIp: string | null;
  requestId: string;
}

export interface ArchiveResponse {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string | Readable;
}

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';
