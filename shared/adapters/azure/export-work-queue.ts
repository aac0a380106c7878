import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import { exportWorkMessageText } from '../../kernel/export';
import type { ExportWorkPort, QueuedMessage } from '../../ports';
import { QUEUE_CALL_MS } from './validation-queue';

/**
 * The `export-work` Storage queue and its poison queue: one message per export to run, `{"tenantId","exportId"}` as
 * base64 JSON (what the Functions queue trigger, functions/index.ts runExportWork, reads). Receive, complete and
 * poison are the local host's (local/export-loop.ts); in Azure the trigger does them.
 */
export class ExportWorkQueue implements ExportWorkPort {
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private ready: Promise<void> | null = null;
  private readonly createQueues: boolean;
  private readonly callMs: number;

  /** `createQueues` only locally: in Azure the Bicep creates the queues and the app's identity has no queues/write. */
  constructor(service: QueueServiceClient, readonly name: string, options: { createQueues?: boolean; callMs?: number } = {}) {
    this.queue = service.getQueueClient(name);
    this.poisonQueue = service.getQueueClient(`${name}-poison`);
    this.createQueues = options.createQueues ?? false;
    this.callMs = options.callMs ?? QUEUE_CALL_MS;
  }

  /** Each call ends within `callMs`, its retries included (see ValidationQueue: a half-open link held a send for ever). */
  private get within() {
    return { abortSignal: AbortSignal.timeout(this.callMs) };
  }

  private ensure(): Promise<void> {
    if (!this.createQueues) return Promise.resolve();
    this.ready ??= Promise.all([this.queue.createIfNotExists(this.within), this.poisonQueue.createIfNotExists(this.within)]).then(
      () => undefined,
      (err: unknown) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  async enqueue(tenantId: string, exportId: string): Promise<void> {
    await this.ensure();
    await this.queue.sendMessage(encode(exportWorkMessageText(tenantId, exportId)), this.within);
  }

  async receive(max: number, visibilitySeconds: number): Promise<QueuedMessage[]> {
    await this.ensure();
    const res = await this.queue.receiveMessages({ numberOfMessages: Math.min(32, Math.max(1, max)), visibilityTimeout: visibilitySeconds, ...this.within });
    return res.receivedMessageItems.map((m) => ({ messageId: m.messageId, popReceipt: m.popReceipt, dequeueCount: m.dequeueCount, text: decode(m.messageText) }));
  }

  async complete(message: QueuedMessage): Promise<void> {
    await this.queue.deleteMessage(message.messageId, message.popReceipt, this.within);
  }

  /** Moves a message that failed too often to the poison queue, unchanged (as the Functions queue trigger does). */
  async poison(message: QueuedMessage): Promise<void> {
    await this.poisonQueue.sendMessage(encode(message.text), this.within);
    await this.complete(message);
  }

  /** Messages waiting in the poison queue (peek; for tests). */
  async peekPoison(max = 32): Promise<string[]> {
    await this.ensure();
    const res = await this.poisonQueue.peekMessages({ numberOfMessages: Math.min(32, max), ...this.within });
    return res.peekedMessageItems.map((m) => decode(m.messageText));
  }
}

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const decode = (text: string) => Buffer.from(text, 'base64').toString('utf8');
