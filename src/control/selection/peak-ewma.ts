/** Default time constant of the response-time average, in milliseconds. */
export const DEFAULT_DECAY_MS = 10_000;

/**
 * Peak-sensitive exponentially weighted moving average of response time (Finagle's
 * PeakEwma): a sample above the average replaces it at once (react to slowness now),
 * a lower one is blended in by the time elapsed (exp(-dt/decay)), and with no samples
 * the average decays towards zero so a server that was slow gets retried eventually.
 */
export class PeakEwma {
  /** Current estimate, in milliseconds. */
  cost = 0;
  /** True once a sample has been observed. */
  seen = false;
  private stamp: number;

  /** Starts with no history at time `now`. */
  constructor(
    private readonly decayMs: number,
    now: number,
  ) {
    this.stamp = now;
  }

  /** Records a response time `rtt` (ms) observed at `now`. */
  observe(rtt: number, now: number): void {
    const dt = now - this.stamp;
    const w = dt > 0 ? Math.exp(-dt / this.decayMs) : 1;
    this.cost = rtt > this.cost ? rtt : this.cost * w + rtt * (1 - w);
    if (now > this.stamp) this.stamp = now;
    this.seen = true;
  }

  /** Decays `cost` for the time since the last update; read `cost` after. (No return value: returning a double would box it on the hot path.) */
  decay(now: number): void {
    const dt = now - this.stamp;
    if (dt > 0) {
      this.cost *= Math.exp(-dt / this.decayMs);
      this.stamp = now;
    }
  }
}
