import { CumulativeWeights } from './cumulative-weights.js';
import type { PickRequest, Selector, SelectorDeps } from './selector.js';
import type { Upstream } from './upstream.js';

/**
 * Power of two random choices on in-flight requests (Envoy LEAST_REQUEST, Traefik p2c,
 * Mitzenmacher): draw two servers in proportion to effective weight (uniformly when
 * equal) and take the one with fewer in-flight requests per unit of weight; ties go to
 * the first draw. Near-least-loaded without global state: O(1) per pick with equal
 * weights, O(log N) weighted.
 */
export class PowerOfTwo implements Selector {
  private servers: readonly Upstream[] = [];
  private readonly weights = new CumulativeWeights();

  constructor(private readonly deps: SelectorDeps) {}

  select(_req: PickRequest): Upstream | undefined {
    const a = this.servers[this.weights.pick(this.deps.random())];
    const b = this.servers[this.weights.pick(this.deps.random())];
    if (a === undefined || b === undefined) return a;
    // a.inflight / a.w <= b.inflight / b.w, cross-multiplied.
    return a.inflight * b.effectiveWeight <= b.inflight * a.effectiveWeight ? a : b;
  }

  update(servers: readonly Upstream[]): void {
    this.servers = servers;
    this.weights.reset(servers);
  }
}

/** Factory for the registry. */
export const createPowerOfTwo = (deps: SelectorDeps): Selector => new PowerOfTwo(deps);
