import { sleep, type Clock } from '../../util/clock.js';

/** Counters of one delivery queue. */
export interface QueueStats {
  /** Waiting, not counting the one being sent. */
  readonly queued: number;
  /** Whether a delivery is in progress. */
  readonly sending: boolean;
  readonly sent: number;
  /** Deliveries that failed after their retries. */
  readonly failed: number;
  /** Messages thrown away: queue full (oldest first) or closed before sending. */
  readonly dropped: number;
}

/** What a queue does with its items. */
export interface QueueHandlers<T> {
  /** Delivers one item (with its retries); rejects when it finally fails. */
  deliver(item: T, signal: AbortSignal): Promise<void>;
  /** Called for each item thrown away. */
  onDrop(item: T, why: 'full' | 'closed'): void;
  /** Called when delivery of an item failed for good. */
  onFail(item: T, err: unknown): void;
}

/**
 * A bounded FIFO with one sender, so a slow or dead receiver costs at most `size` waiting
 * messages (+1 in flight) and never slows the caller: push() is synchronous and O(1)-ish.
 * When full, the oldest waiting message is dropped: the newest says the current state.
 */
export class DeliveryQueue<T> {
  private readonly items: T[] = [];
  private running = false;
  private sending = false;
  private closing = false;
  private readonly abort = new AbortController();
  private idle: (() => void) | undefined;
  private counts = { sent: 0, failed: 0, dropped: 0 };

  /** Creates a queue holding at most `size` waiting items. */
  constructor(
    private readonly size: number,
    private readonly handlers: QueueHandlers<T>,
  ) {}

  /** Adds an item; never blocks, never throws. */
  push(item: T): void {
    if (this.closing) {
      this.drop(item, 'closed');
      return;
    }
    this.items.push(item);
    while (this.items.length > this.size) this.drop(this.items.shift() as T, 'full');
    if (!this.running) {
      this.running = true;
      // Start after the caller returns: publishing a health event must not run network code.
      queueMicrotask(() => void this.run());
    }
  }

  /** Current counters. */
  stats(): QueueStats {
    return { queued: this.items.length, sending: this.sending, ...this.counts };
  }

  private drop(item: T, why: 'full' | 'closed'): void {
    this.counts.dropped++;
    try {
      this.handlers.onDrop(item, why);
    } catch {
      // a logging failure must not break the queue
    }
  }

  private async run(): Promise<void> {
    try {
      for (let item = this.items.shift(); item !== undefined; item = this.items.shift()) {
        this.sending = true;
        try {
          await this.handlers.deliver(item, this.abort.signal);
          this.counts.sent++;
        } catch (e) {
          this.counts.failed++;
          try {
            this.handlers.onFail(item, e);
          } catch {
            // as above
          }
        } finally {
          this.sending = false;
        }
      }
    } finally {
      this.running = false;
      this.idle?.();
    }
  }

  /**
   * Stops accepting items and waits until everything queued is sent or `deadlineMs` passes;
   * then aborts the delivery in flight and drops the rest. Resolves true when all was sent.
   */
  async close(deadlineMs: number, clock: Clock): Promise<boolean> {
    this.closing = true;
    let flushed = true;
    if (this.running) {
      const done = new Promise<void>((resolve) => (this.idle = resolve));
      const timeUp = new AbortController();
      flushed = await Promise.race([
        done.then(() => true),
        sleep(clock, deadlineMs, timeUp.signal).then(
          () => false,
          () => false,
        ),
      ]);
      timeUp.abort();
      if (!flushed) {
        for (const item of this.items.splice(0)) this.drop(item, 'closed');
        this.abort.abort();
        await done; // the aborted delivery settles promptly: every wait in it listens to the signal
      }
    }
    this.abort.abort();
    return flushed;
  }
}
