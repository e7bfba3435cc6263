import { CumulativeWeights } from './cumulative-weights.js';
import type { PickRequest, Selector, SelectorDeps } from './selector.js';
import type { Upstream } from './upstream.js';

/** Uniform random choice, or in proportion to the weights when they differ. */
export class RandomSelector implements Selector {
  private servers: readonly Upstream[] = [];
  private readonly weights = new CumulativeWeights();

  constructor(private readonly deps: SelectorDeps) {}

  select(_req: PickRequest): Upstream | undefined {
    return this.servers[this.weights.pick(this.deps.random())];
  }

  update(servers: readonly Upstream[]): void {
    this.servers = servers;
    this.weights.reset(servers);
  }
}

/** Factory for the registry. */
export const createRandom = (deps: SelectorDeps): Selector => new RandomSelector(deps);
