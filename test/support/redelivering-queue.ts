import type { QueuedMessage, ValidationQueuePort } from '../../shared/ports';

/** A queue holding messages until completed; each receive delivers them again (dequeueCount + 1). */
export class RedeliveringQueue implements ValidationQueuePort {
  readonly name = 'rendition-validation';
  readonly waiting: QueuedMessage[] = [];
  readonly poisoned: string[] = [];
  async send(): Promise<void> {}
  async receive(): Promise<QueuedMessage[]> {
    for (const m of this.waiting) m.dequeueCount++;
    return this.waiting.map((m) => ({ ...m }));
  }
  async complete(message: QueuedMessage): Promise<void> {
    this.waiting.splice(this.waiting.findIndex((m) => m.messageId === message.messageId), 1);
  }
  async poison(message: QueuedMessage): Promise<void> {
    this.poisoned.push(message.text);
    await this.complete(message);
  }
  async peekPoison(): Promise<string[]> {
    return [...this.poisoned];
  }
}
