import { QueueClient, QueueServiceClient } from '@azure/storage-queue';
import type { QueuedMessage } from '../../ports';

/**
 * A Storage queue of work and its `<name>-poison` queue, message text as base64 (what the Functions queue triggers
 * read): the `rendition-validation` queue (validation-queue.ts) and `export-work` (export-work-queue.ts). Receive,
 * complete and poison are the local host's; in Azure the triggers do them.
 */
export class StorageQueue {
  private readonly queue: QueueClient;
  private readonly poisonQueue: QueueClient;
  private ready: Promise<void> | null = null;
  private readonly createQueues: boolean;
  private readonly callMs: number;

  /**
   * `createQueues` only locally: in Azure the Bicep creates the queues and the app's identity may only add messages
   * (Message Sender, no queues/write), so a Create Queue there is a 403 and every request would fail.
   */
  constructor(service: QueueServiceClient, readonly name: string, options: { createQueues?: boolean; callMs?: number } = {}) {
    this.queue = service.getQueueClient(name);
    this.poisonQueue = service.getQueueClient(`${name}-poison`);
    this.createQueues = options.createQueues ?? false;
    this.callMs = options.callMs ?? QUEUE_CALL_MS;
  }

  /**
   * Each call ends within `callMs`, its retries included. The SDK's try timeout only asks the service
   * for one (a URL parameter): an endpoint that accepted the connection and never answered (a half-open
   * link, a stalled proxy) held a send, and the host's shutdown flush behind it, for ever.
   */
  private within(ms = this.callMs) {
    return { abortSignal: AbortSignal.timeout(Math.min(ms, this.callMs)) };
  }

  private ensure(): Promise<void> {
    if (!this.createQueues) return Promise.resolve();
    this.ready ??= Promise.all([this.queue.createIfNotExists(this.within()), this.poisonQueue.createIfNotExists(this.within())]).then(
      () => undefined,
      (err: unknown) => {
        this.ready = null;
        throw err;
      },
    );
    return this.ready;
  }

  /** `withinMs`: a shorter bound than `callMs`, for a caller that must not wait that long (a client's request). */
  protected async sendText(text: string, withinMs?: number): Promise<void> {
    await this.ensure();
    await this.queue.sendMessage(encode(text), this.within(withinMs));
  }

  async receive(max: number, visibilitySeconds: number): Promise<QueuedMessage[]> {
    await this.ensure();
    const res = await this.queue.receiveMessages({ numberOfMessages: Math.min(32, Math.max(1, max)), visibilityTimeout: visibilitySeconds, ...this.within() });
    return res.receivedMessageItems.map((m) => ({ messageId: m.messageId, popReceipt: m.popReceipt, dequeueCount: m.dequeueCount, text: decode(m.messageText) }));
  }

  async complete(message: QueuedMessage): Promise<void> {
    await this.queue.deleteMessage(message.messageId, message.popReceipt, this.within());
  }

  /** Moves a message that cannot be processed to the poison queue, unchanged (as the Functions queue trigger does). */
  async poison(message: QueuedMessage): Promise<void> {
    await this.poisonQueue.sendMessage(encode(message.text), this.within());
    await this.complete(message);
  }

  /** Messages waiting in the poison queue (peek; for tests and the health view). */
  async peekPoison(max = 32): Promise<string[]> {
    await this.ensure();
    const res = await this.poisonQueue.peekMessages({ numberOfMessages: Math.min(32, max), ...this.within() });
    return res.peekedMessageItems.map((m) => decode(m.messageText));
  }
}

/** Two tries of 10 s (shared/app.ts's queue options) and the pause between them. */
export const QUEUE_CALL_MS = 25_000;

const encode = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const decode = (text: string) => Buffer.from(text, 'base64').toString('utf8');
