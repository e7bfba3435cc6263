import { KineticMax } from './kinetic-max.js';
import type { PickRequest, Selector } from './selector.js';
import type { Upstream } from './upstream.js';

// Weights are scaled by the smallest power of ten up to this one that makes them all integers,
// so 0.9/0.1 behaves exactly like nginx's 9/1 (integer ties stay ties) ...
const MAX_DECIMALS = 6;
// ... provided the scaled total stays small enough for exact arithmetic in KineticMax.
const MAX_SCALED_TOTAL = 2 ** 32;

/**
 * nginx's smooth weighted round robin: every pick, each server's `current` grows by its
 * weight, the largest `current` wins (first in config order on ties) and drops by the
 * total weight. Weights 5,1,1 give a a b a c a a.
 *
 * nginx scans all N servers per pick. Here `current_i` at pick s is the line
 * `base_i + weight_i * s`, and a pick only moves the winner's line down, so a kinetic
 * tournament (KineticMax) yields the same winner — same sequence, ties included — in
 * O(log N) per pick plus O(log N) per overtaking it replays.
 *
 * Like nginx, `current` survives `update()`: a server keeps its value across weight changes,
 * and one that goes away keeps a frozen value it resumes from when it returns, so the
 * values of all servers seen keep summing to zero and nobody is starved or favoured.
 */
export class WeightedRoundRobin implements Selector {
  private servers: readonly Upstream[] = [];
  private readonly tree = new KineticMax();
  // Weights are multiplied by `scale` inside the tree; `total` is the scaled sum.
  private scale = 1;
  private total = 0;
  // nginx `current` (in unscaled units) of every server seen, refreshed by update().
  private readonly frozen = new Map<Upstream, number>();

  /** `weightOf` reads a server's weight (default: its effective weight; round robin passes the slow-start factor). */
  constructor(private readonly weightOf: (u: Upstream) => number = (u) => u.effectiveWeight) {}

  select(_req: PickRequest): Upstream | undefined {
    const i = this.tree.advance();
    if (i < 0) return undefined;
    this.tree.shift(i, -this.total);
    return this.servers[i];
  }

  update(servers: readonly Upstream[]): void {
    this.servers.forEach((u, i) => this.frozen.set(u, this.tree.value(i) / this.scale));
    const weights = servers.map(this.weightOf);
    const scale = integerScale(weights);
    const slopes = weights.map((w) => (scale > 0 ? Math.round(w * scale) : w));
    const bases = servers.map((u) => {
      const c = (this.frozen.get(u) ?? 0) * (scale > 0 ? scale : 1);
      return scale > 0 ? Math.round(c) : c;
    });
    this.scale = scale > 0 ? scale : 1;
    this.total = slopes.reduce((a, b) => a + b, 0);
    this.servers = servers;
    this.tree.reset(slopes, bases);
  }
}

// Smallest 10^k (k <= MAX_DECIMALS) that turns every weight into an integer with a small total; 0 if none.
function integerScale(weights: readonly number[]): number {
  for (let k = 0, scale = 1; k <= MAX_DECIMALS; k++, scale *= 10) {
    let total = 0;
    let ok = true;
    for (const w of weights) {
      const x = w * scale;
      const r = Math.round(x);
      if (r < 1 || Math.abs(x - r) > 1e-9 * Math.max(1, x)) {
        ok = false;
        break;
      }
      total += r;
    }
    if (ok) return total <= MAX_SCALED_TOTAL ? scale : 0;
  }
  return 0;
}

/** Factory for the registry. */
export const createWeightedRoundRobin = (): Selector => new WeightedRoundRobin();
