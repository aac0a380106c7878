/**
 * SHA-256 of a Blob in a Web Worker of its own (./sha256.worker.ts), so the page stays responsive while a
 * large download or upload is checked. Same answer as sha256OfBlob; where no worker can start (an old
 * browser, a worker script that failed to load) the hashing runs on the page's thread instead.
 */
import { sha256OfBlob } from './sha256';
import type { HashMessage, HashRequest } from './sha256.worker';

export function sha256OffThread(blob: Blob, onProgress?: (done: number, total: number) => void): Promise<string> {
  if (typeof Worker === 'undefined') return sha256OfBlob(blob, onProgress);
  let worker: Worker;
  try {
    worker = new Worker(new URL('./sha256.worker.ts', import.meta.url), { type: 'module' });
  } catch {
    return sha256OfBlob(blob, onProgress);
  }
  return new Promise<string>((resolve, reject) => {
    let started = false;
    const finish = () => worker.terminate();
    worker.onmessage = (event: MessageEvent<HashMessage>) => {
      const message = event.data;
      started = true;
      if (message.kind === 'progress') return onProgress?.(message.done, message.total);
      finish();
      if (message.kind === 'digest') resolve(message.hex);
      else reject(new Error(message.message));
    };
    // A script that never ran (blocked or missing) says so here before any message: hash on this thread then.
    worker.onerror = (event) => {
      finish();
      if (started) reject(new Error(event.message || 'The checksum worker stopped.'));
      else sha256OfBlob(blob, onProgress).then(resolve, reject);
    };
    worker.postMessage({ blob } satisfies HashRequest);
  });
}
