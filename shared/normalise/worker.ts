/**
 * Worker-thread side of the normaliser pool (pool.ts): runs `normalise()` off the host's event loop.
 * Errors cross the thread boundary as plain data (structured clone keeps no class), so an
 * ArchiveError is sent as its code, detail and extensions and rebuilt on the other side.
 */
import type { MessagePort } from 'node:worker_threads';
import { ArchiveError, ErrorCode } from '../kernel/errors';
import { normalise } from './index';
import { NormaliseInput, NormaliseResult } from './types';

export interface NormaliseTask {
  input: NormaliseInput;
  /** Told when this worker starts the job, so the timeout measures conversion, not the wait in the queue. */
  started: MessagePort;
}

export type NormaliseOutcome =
  | { ok: true; result: NormaliseResult }
  | { ok: false; archiveError?: { code: ErrorCode; detail?: string; extensions: Record<string, unknown> }; message: string; stack?: string };

/** Buffers arrive as plain Uint8Arrays after the structured clone. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

export default async function runNormaliseTask(task: NormaliseTask): Promise<NormaliseOutcome> {
  task.started.postMessage('started');
  task.started.close();
  try {
    const input = { ...task.input, files: task.input.files.map((f) => ({ ...f, bytes: asBuffer(f.bytes) })) };
    return { ok: true, result: await normalise(input) };
  } catch (err) {
    if (err instanceof ArchiveError) {
      return { ok: false, archiveError: { code: err.code, ...(err.detail !== undefined ? { detail: err.detail } : {}), extensions: err.extensions }, message: err.message };
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  }
}
