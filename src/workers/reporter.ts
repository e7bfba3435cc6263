// A worker's outcome reports: attempts are folded, per server, into counts, a live-stats
// histogram and the ordered passive-health inputs (runs of successes collapse to one), and sent
// to the primary every BATCH_MS or once MAX_ITEMS failures wait: never one message per request.
import { bucketOf } from '../control/live-stats.js';
import type { PassiveFailure, PassiveItem, RemoteAttempts } from './reports.js';

/** How long outcomes wait before they are sent: passive health acts on them this much later. */
export const BATCH_MS = 100;
/** Failures waiting that send a batch at once (a burst of errors reaches passive health quickly). */
export const MAX_ITEMS = 256;
const BUCKETS = 36;

/** One batch: attempts per server key, and the worker's in-flight counts. */
export interface ReportBatch {
  readonly servers: Readonly<Record<string, RemoteAttempts>>;
  /** Requests in flight per server key in this worker now (servers with none left out). */
  readonly inflight: Readonly<Record<string, number>>;
}

// What one server collected since the last batch.
class Pending {
  requests = 0;
  failures = 0;
  readonly passive: PassiveItem[] = [];
  readonly hist = new Uint32Array(BUCKETS);

  take(): RemoteAttempts {
    const hist: [number, number][] = [];
    this.hist.forEach((n, b) => n > 0 && hist.push([b, n]));
    return { requests: this.requests, failures: this.failures, passive: this.passive, hist };
  }
}

/** Collects outcomes and sends them in batches through `send`. */
export class Reporter {
  private pending = new Map<string, Pending>();
  private items = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  /** `send` delivers a batch (IPC); `inflight` reads this worker's in-flight counts when a batch goes. */
  constructor(
    private readonly send: (batch: ReportBatch) => void,
    private readonly inflight: () => Record<string, number>,
  ) {}

  /** An attempt on `key` ended; `passive` is its passive-health input (a success status or a failure), if any. */
  attempt(key: string, durationMs: number, failed: boolean, passive: number | PassiveFailure | undefined): void {
    const p = this.of(key);
    p.requests++;
    if (failed) p.failures++;
    const b = bucketOf(durationMs);
    p.hist[b] = (p.hist[b] as number) + 1;
    if (passive !== undefined) this.push(p, passive);
    this.touched();
  }

  /** A failure of `key` outside any attempt. */
  failure(key: string, f: PassiveFailure): void {
    this.push(this.of(key), f);
    this.touched();
  }

  /** Something changed (an in-flight count): a batch goes within BATCH_MS. */
  touched(): void {
    if (this.timer !== undefined || this.stopped) return;
    this.timer = setTimeout(this.flush, BATCH_MS);
    this.timer.unref();
  }

  /** Sends what waits now (also at shutdown). */
  readonly flush = (): void => {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const servers: Record<string, RemoteAttempts> = {};
    for (const [key, p] of this.pending) servers[key] = p.take();
    this.pending = new Map();
    this.items = 0;
    this.send({ servers, inflight: this.inflight() });
  };

  /** No more timers (the worker is exiting; call `flush` for the last batch). */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private of(key: string): Pending {
    let p = this.pending.get(key);
    if (p === undefined) this.pending.set(key, (p = new Pending()));
    return p;
  }

  // Successes in a row are one input (consecutive-failure detection only needs to know the run broke).
  private push(p: Pending, item: PassiveItem): void {
    const last = p.passive[p.passive.length - 1];
    if (typeof item === 'number' && typeof last === 'number') {
      p.passive[p.passive.length - 1] = item;
      return;
    }
    p.passive.push(item);
    if (typeof item !== 'number' && ++this.items >= MAX_ITEMS) this.flush();
  }
}
