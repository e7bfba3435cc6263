import type { PickRequest, Selector, SelectorDeps } from './selector.js';
import type { Upstream } from './upstream.js';

/** Uniform random choice, or in proportion to the weights when they differ. */
export class RandomSelector implements Selector {
  private servers: readonly Upstream[] = [];
  // Cumulative effective weights; empty when all weights are equal (uniform pick, no search).
  private cumulative: Float64Array = new Float64Array(0);
  private total = 0;

  constructor(private readonly deps: SelectorDeps) {}

  select(_req: PickRequest): Upstream | undefined {
    const n = this.servers.length;
    if (n === 0) return undefined;
    const r = this.deps.random();
    if (this.cumulative.length === 0) return this.servers[Math.floor(r * n)];
    // Binary search the cumulative weights: O(log N), no allocation.
    const target = r * this.total;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cumulative[mid] ?? 0) > target) hi = mid;
      else lo = mid + 1;
    }
    return this.servers[lo];
  }

  update(servers: readonly Upstream[]): void {
    this.servers = servers;
    const first = servers[0]?.effectiveWeight;
    if (servers.every((s) => s.effectiveWeight === first)) {
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
}

/** Factory for the registry. */
export const createRandom = (deps: SelectorDeps): Selector => new RandomSelector(deps);
