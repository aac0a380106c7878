/**
 * Hashes one Blob per message off the page's thread (./sha256-off-thread.ts starts it): a multi-GB export
 * takes minutes of hashing, and on the main thread each 8 MiB slice froze the page for tens of milliseconds.
 * The Blob arrives by reference (structured clone of a Blob copies no bytes).
 */
import { sha256OfBlob } from './sha256';

export type HashRequest = { blob: Blob };
export type HashMessage = { kind: 'progress'; done: number; total: number } | { kind: 'digest'; hex: string } | { kind: 'failed'; message: string };

const post = (message: HashMessage) => (self as unknown as { postMessage: (m: HashMessage) => void }).postMessage(message);

self.onmessage = (event: MessageEvent<HashRequest>) => {
  sha256OfBlob(event.data.blob, (done, total) => post({ kind: 'progress', done, total })).then(
    (hex) => post({ kind: 'digest', hex }),
    (err: unknown) => post({ kind: 'failed', message: err instanceof Error ? err.message : String(err) }),
  );
};
