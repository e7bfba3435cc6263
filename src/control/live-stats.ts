// Live per-server traffic figures for the event stream's summary: a ring of one-second buckets
// per server (requests, errors, a small latency histogram), written where attempts end. Recording
// is a few typed-array increments on arrays made once per server: no allocation per request.
import type { Clock } from '../util/clock.js';

/** Seconds the ring holds: the latency window (p50/p99 over the last 10 s, this second included). */
export const LIVE_WINDOW_S = 10;
/** Complete seconds request and error rates are averaged over. */
export const RATE_WINDOW_S = 5;
/** Upper bound of the first latency bucket, ms. */
const FIRST_BOUND_MS = 0.5;
/** Latency buckets: bounds grow by √2 from 0.5 ms; the last one (from ~92 s) is open. */
const BUCKETS = 36;
const BOUNDS = Array.from({ length: BUCKETS }, (_, i) => FIRST_BOUND_MS * 2 ** (i / 2));

/** The live figures of one server. */
export interface LiveFigures {
  /** Requests per second over the last RATE_WINDOW_S complete seconds. */
  readonly rps: number;
  /** Failed share of those requests, 0..1 (0 when none). */
  readonly errorRate: number;
  /** Errors per second over the same seconds. */
  readonly errorsPerSecond: number;
  /** Median attempt duration over the last LIVE_WINDOW_S seconds, ms; null when no requests. */
  readonly p50: number | null;
  /** 99th percentile over the same window, ms; null when no requests. */
  readonly p99: number | null;
}

// One server's ring: slot s holds second stamps[s].
class Ring {
  readonly stamps = new Float64Array(LIVE_WINDOW_S).fill(-1);
  readonly counts = new Uint32Array(LIVE_WINDOW_S);
  readonly errors = new Uint32Array(LIVE_WINDOW_S);
  readonly hist = new Uint32Array(LIVE_WINDOW_S * BUCKETS);
}

/** The bucket of a duration: the first whose upper bound holds it. */
export function bucketOf(ms: number): number {
  if (!(ms > FIRST_BOUND_MS)) return 0;
  const i = Math.ceil(2 * Math.log2(ms / FIRST_BOUND_MS) - 1e-9);
  return i >= BUCKETS ? BUCKETS - 1 : i;
}

/** Rings of one-second buckets per server (keyed by object, so removed servers simply go). */
export class LiveStats<K extends object> {
  private readonly rings = new WeakMap<K, Ring>();
  // Scratch histogram of percentile queries (summaries, once a second), reused.
  private readonly merged = new Uint32Array(BUCKETS);

  /** Reads seconds from `clock.now()`. */
  constructor(private readonly clock: Clock) {}

  /** An attempt on `server` ended after `durationMs`, failed or not. */
  record(server: K, durationMs: number, failed: boolean): void {
    let r = this.rings.get(server);
    if (r === undefined) {
      r = new Ring();
      this.rings.set(server, r);
    }
    const sec = Math.floor(this.clock.now() / 1000);
    const slot = sec % LIVE_WINDOW_S;
    if (r.stamps[slot] !== sec) {
      r.stamps[slot] = sec;
      r.counts[slot] = 0;
      r.errors[slot] = 0;
      r.hist.fill(0, slot * BUCKETS, slot * BUCKETS + BUCKETS);
    }
    r.counts[slot] = (r.counts[slot] as number) + 1;
    if (failed) r.errors[slot] = (r.errors[slot] as number) + 1;
    const b = slot * BUCKETS + bucketOf(durationMs);
    r.hist[b] = (r.hist[b] as number) + 1;
  }

  /** `count` attempts on `server` ended (`errors` of them failed), their durations counted per bucket in `hist` (bucketOf): a batch another process (a worker) recorded, counted in the current second. */
  add(server: K, count: number, errors: number, hist: readonly (readonly [bucket: number, n: number])[]): void {
    const r = this.ringNow(server);
    r.ring.counts[r.slot] = (r.ring.counts[r.slot] as number) + count;
    r.ring.errors[r.slot] = (r.ring.errors[r.slot] as number) + errors;
    for (const [b, n] of hist) if (b >= 0 && b < BUCKETS) r.ring.hist[r.slot * BUCKETS + b] = (r.ring.hist[r.slot * BUCKETS + b] as number) + n;
  }

  // The ring of `server` with its slot for the current second, cleared when the second is new.
  private ringNow(server: K): { ring: Ring; slot: number } {
    let ring = this.rings.get(server);
    if (ring === undefined) {
      ring = new Ring();
      this.rings.set(server, ring);
    }
    const sec = Math.floor(this.clock.now() / 1000);
    const slot = sec % LIVE_WINDOW_S;
    if (ring.stamps[slot] !== sec) {
      ring.stamps[slot] = sec;
      ring.counts[slot] = 0;
      ring.errors[slot] = 0;
      ring.hist.fill(0, slot * BUCKETS, slot * BUCKETS + BUCKETS);
    }
    return { ring, slot };
  }

  /** The figures of `server` now. */
  figures(server: K): LiveFigures {
    const r = this.rings.get(server);
    if (r === undefined) return { rps: 0, errorRate: 0, errorsPerSecond: 0, p50: null, p99: null };
    const sec = Math.floor(this.clock.now() / 1000);
    let count = 0;
    let errors = 0;
    let windowCount = 0;
    this.merged.fill(0);
    for (let s = 0; s < LIVE_WINDOW_S; s++) {
      const stamp = r.stamps[s] as number;
      const age = sec - stamp;
      if (stamp < 0 || age < 0 || age >= LIVE_WINDOW_S) continue;
      const n = r.counts[s] as number;
      if (age >= 1 && age <= RATE_WINDOW_S) {
        count += n;
        errors += r.errors[s] as number;
      }
      windowCount += n;
      for (let b = 0; b < BUCKETS; b++) this.merged[b] = (this.merged[b] as number) + (r.hist[s * BUCKETS + b] as number);
    }
    return {
      rps: count / RATE_WINDOW_S,
      errorRate: count === 0 ? 0 : errors / count,
      errorsPerSecond: errors / RATE_WINDOW_S,
      p50: windowCount === 0 ? null : this.quantile(0.5, windowCount),
      p99: windowCount === 0 ? null : this.quantile(0.99, windowCount),
    };
  }

  // Linear interpolation inside the bucket holding the rank (as Prometheus' histogram_quantile).
  private quantile(q: number, total: number): number {
    const rank = q * total;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const n = this.merged[b] as number;
      if (n === 0 || seen + n < rank) {
        seen += n;
        continue;
      }
      const lo = b === 0 ? 0 : (BOUNDS[b - 1] as number);
      const hi = BOUNDS[b] as number;
      return round1(lo + ((hi - lo) * (rank - seen)) / n);
    }
    return round1(BOUNDS[BUCKETS - 1] as number);
  }
}

function round1(ms: number): number {
  return Math.round(ms * 10) / 10;
}
