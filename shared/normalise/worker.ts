/**
 * Worker-thread side of the normaliser pool (pool.ts): runs `normalise()` off the host's event loop.
 * Errors cross the thread boundary as plain data (structured clone keeps no class), so an
 * ArchiveError is sent as its code, detail and extensions and rebuilt on the other side.
 */
import type { MessagePort } from 'node:worker_threads';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { ArchiveError, ErrorCode } from '../kernel/errors';
import type { SpooledFile } from '../ports';
import { normalise, normaliseToFile } from './index';
import { NormaliseInput, NormaliseResult } from './types';

export interface NormaliseTask {
  input: NormaliseInput;
  /** Write the rendition to this (new) file instead of sending it back: a spooled upload's. */
  renditionPath?: string;
  /** Told when this worker starts the job, so the timeout measures conversion, not the wait in the queue. */
  started: MessagePort;
}

export type NormaliseOutcome =
  | { ok: true; result: NormaliseResult | NormaliseResult<SpooledFile> }
  | { ok: false; archiveError?: { code: ErrorCode; detail?: string; extensions: Record<string, unknown> }; message: string; stack?: string };

/** Buffers arrive as plain Uint8Arrays after the structured clone. */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * The rendition goes back to the host moved, not cloned (a clone would hold it twice until this
 * worker's copy is collected). Only a buffer that owns its whole ArrayBuffer can be moved:
 * a slice of Node's shared pool or of a bigger allocation is first copied into its own.
 */
function ownedBuffer(b: Buffer): Buffer {
  if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) return b;
  const own = Buffer.from(new ArrayBuffer(b.byteLength));
  b.copy(own);
  return own;
}

function moved(outcome: NormaliseOutcome, transfer: ArrayBuffer): NormaliseOutcome {
  return move({ [transferableSymbol]: [transfer], [valueSymbol]: outcome }) as unknown as NormaliseOutcome;
}

export default async function runNormaliseTask(task: NormaliseTask): Promise<NormaliseOutcome> {
  task.started.postMessage('started');
  task.started.close();
  try {
    const input: NormaliseInput = { ...task.input, files: task.input.files.map((f) => (f.bytes ? { ...f, bytes: asBuffer(f.bytes) } : f)) };
    if (task.renditionPath !== undefined) return { ok: true, result: await normaliseToFile(input, task.renditionPath) };
    const result = await normalise(input);
    const rendition = ownedBuffer(result.rendition);
    return moved({ ok: true, result: { ...result, rendition } }, rendition.buffer as ArrayBuffer);
  } catch (err) {
    if (err instanceof ArchiveError) {
      return { ok: false, archiveError: { code: err.code, ...(err.detail !== undefined ? { detail: err.detail } : {}), extensions: err.extensions }, message: err.message };
    }
    const e = err instanceof Error ? err : new Error(String(err));
    return { ok: false, message: e.message, ...(e.stack ? { stack: e.stack } : {}) };
  }
}
