import type { Logger, QueuedMessage } from '../shared/ports';
import { MAX_DEQUEUE_COUNT } from '../shared/ports';
import type { ExportWorkQueue } from '../shared/adapters/azure/export-work-queue';
import { type ExportDeps } from '../shared/exports/run-export';
import { runQueuedExport } from '../shared/exports/queued-export';
import { startPollingLoop } from './polling-loop';

/** Held invisible while its export runs (the Functions trigger renews it; a local export of that length is not expected). */
const VISIBILITY_SECONDS = 600;

/**
 * The local stand-in for the Functions queue trigger on `export-work` (functions/index.ts runExportWork): every
 * ARCHIVE_EXPORT_QUEUE_POLL_MS, the messages waiting, each export run by the same core function. A message whose run
 * throws is left to reappear and, after MAX_DEQUEUE_COUNT deliveries, moved to the poison queue, as the trigger does; a
 * refused (malformed) one is completed. A failing pass is logged and the loop goes on.
 */
export function startExportLoop(deps: ExportDeps & { exportWork: ExportWorkQueue; log: Logger }): { stop(): Promise<void> } {
  const one = async (message: QueuedMessage) => {
    if (message.dequeueCount > MAX_DEQUEUE_COUNT) return deps.exportWork.poison(message);
    try {
      const result = await runQueuedExport(message.text, deps, { dequeueCount: message.dequeueCount });
      deps.log.info('export work done', { result: JSON.stringify(result) });
      await deps.exportWork.complete(message);
    } catch (err) {
      deps.log.warn('export work failed; the message is delivered again', { error: String(err), dequeueCount: message.dequeueCount });
    }
  };
  const pass = async () => {
    for (const message of await deps.exportWork.receive(4, VISIBILITY_SECONDS)) await one(message);
  };
  return startPollingLoop(pass, () => deps.config.ARCHIVE_EXPORT_QUEUE_POLL_MS, deps.log, 'export queue pass failed; trying again shortly');
}
