/**
 * Items gathered for a moment and handed on together: each waits up to `lingerMs`, or until `max`
 * are waiting, and then goes to `send` in one call with the others (one round trip for the work of
 * several requests). `add` never waits and never fails; `send` must not reject (it logs what it
 * could not do: whatever it loses is taken up by a timer elsewhere).
 */
export class Gathered<T> {
  private waiting: T[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly send: (batch: T[]) => Promise<void>,
    private readonly max: number,
    private readonly lingerMs: number,
  ) {}

  add(item: T): void {
    this.waiting.push(item);
    if (this.waiting.length >= this.max) this.sendWaiting();
    else this.timer ??= setTimeout(() => this.sendWaiting(), this.lingerMs).unref();
  }

  /** Sends what is waiting now and waits for every send under way (host shutdown, tests). */
  async flush(): Promise<void> {
    this.sendWaiting();
    await Promise.all([...this.sending]);
  }

  private sendWaiting(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    while (this.waiting.length > 0) {
      const sent: Promise<void> = this.send(this.waiting.splice(0, this.max)).finally(() => this.sending.delete(sent));
      this.sending.add(sent);
    }
  }
}
