/** Retry budget tunables (Finagle RetryBudget defaults). */
export interface RetryBudgetOptions {
  /** Retries allowed as a share of requests in the window (default 0.2: 20%). */
  readonly ratio: number;
  /** Retries allowed per second regardless of traffic, so quiet balancers still retry (default 10). */
  readonly minPerSecond: number;
  /** Sliding window, milliseconds (default 10000). */
  readonly windowMs: number;
}

/** Finagle's defaults: 20% of requests, at least 10 retries a second, over 10 s. */
export const DEFAULT_RETRY_BUDGET: RetryBudgetOptions = { ratio: 0.2, minPerSecond: 10, windowMs: 10_000 };

const BUCKETS = 10;

/**
 * Caps retries so an outage cannot multiply load (retry storms): over a sliding
 * window, retries <= ratio x requests + minPerSecond x window seconds (Finagle
 * RetryBudget, Envoy retry_budget). Counts live in 10 time buckets; O(1) per call.
 */
export class RetryBudget {
  private readonly requests = new Float64Array(BUCKETS);
  private readonly retries = new Float64Array(BUCKETS);
  private readonly bucketMs: number;
  // Index (time / bucketMs) of the newest bucket written.
  private head: number | undefined;

  /** `now` is a monotonic clock in milliseconds. */
  constructor(
    private readonly now: () => number,
    private readonly options: RetryBudgetOptions = DEFAULT_RETRY_BUDGET,
  ) {
    this.bucketMs = options.windowMs / BUCKETS;
  }

  /** Counts one original (not retried) request; each adds `ratio` to the budget. */
  recordRequest(): void {
    const i = this.advance();
    this.requests[i] = (this.requests[i] ?? 0) + 1;
  }

  /** Takes one retry from the budget; false (and nothing taken) when it is spent. */
  tryWithdraw(): boolean {
    const i = this.advance();
    if (this.balance() < 1) return false;
    this.retries[i] = (this.retries[i] ?? 0) + 1;
    return true;
  }

  /** Retries still allowed now (may be fractional). */
  balance(): number {
    this.advance();
    let req = 0;
    let ret = 0;
    for (let i = 0; i < BUCKETS; i++) {
      req += this.requests[i] ?? 0;
      ret += this.retries[i] ?? 0;
    }
    const { ratio, minPerSecond, windowMs } = this.options;
    return minPerSecond * (windowMs / 1000) + ratio * req - ret;
  }

  // Clears buckets that slid out of the window; returns the slot of the current one.
  private advance(): number {
    const idx = Math.floor(this.now() / this.bucketMs);
    if (this.head === undefined || idx - this.head >= BUCKETS) {
      this.requests.fill(0);
      this.retries.fill(0);
    } else {
      for (let k = this.head + 1; k <= idx; k++) {
        const slot = ((k % BUCKETS) + BUCKETS) % BUCKETS;
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
    }
    if (this.head === undefined || idx > this.head) this.head = idx;
    return ((this.head % BUCKETS) + BUCKETS) % BUCKETS;
  }
}
