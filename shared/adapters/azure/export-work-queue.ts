import { exportWorkMessageText } from '../../kernel/export';
import type { ExportWorkPort } from '../../ports';
import { StorageQueue } from './storage-queue';

/**
 * The `export-work` Storage queue and its poison queue: one message per export to run, `{"tenantId","exportId"}` as
 * base64 JSON (what the Functions queue trigger, functions/index.ts runExportWork, reads). Receive, complete and
 * poison are the local host's (local/export-loop.ts); in Azure the trigger does them.
 */
export class ExportWorkQueue extends StorageQueue implements ExportWorkPort {
  async enqueue(tenantId: string, exportId: string, options: { withinMs?: number } = {}): Promise<void> {
    await this.sendText(exportWorkMessageText(tenantId, exportId), options.withinMs);
  }
}
