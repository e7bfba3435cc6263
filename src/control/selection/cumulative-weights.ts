import type { Upstream } from './upstream.js';

/**
 * Maps a fraction in [0, 1) to a server in proportion to effective weights:
 * prefix sums plus a binary search, O(log N) per pick and no allocation.
 * When all weights are equal it skips the search (uniform pick, O(1)).
 */
export class CumulativeWeights {
  private cumulative: Float64Array = new Float64Array(0);
  private total = 0;
  private n = 0;
  private uniform = true;

  /** Rebuilds the sums for `servers` (weights read from `effectiveWeight` now). */
  reset(servers: readonly Upstream[]): void {
    this.n = servers.length;
    const first = servers[0]?.effectiveWeight;
    this.uniform = servers.every((s) => s.effectiveWeight === first);
    if (this.uniform) {
      this.cumulative = new Float64Array(0);
      this.total = 0;
      return;
    }
    this.cumulative = new Float64Array(servers.length);
    let sum = 0;
    servers.forEach((s, i) => {
      sum += s.effectiveWeight;
      this.cumulative[i] = sum;
    });
    this.total = sum;
  }

  /** True when every weight is the same (picks are uniform). */
  get isUniform(): boolean {
    return this.uniform;
  }

  /** Index of the server that owns fraction `r` in [0, 1); -1 when there are no servers. */
  pick(r: number): number {
    const n = this.n;
    if (n === 0) return -1;
    if (this.uniform) return Math.min(n - 1, Math.floor(r * n));
    const target = r * this.total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
