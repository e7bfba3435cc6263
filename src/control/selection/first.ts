import { MinTree } from './min-tree.js';
import type { AlgorithmOptions, PickRequest, Selector, SelectorDeps } from './selector.js';
import type { Upstream } from './upstream.js';

/**
 * HAProxy's `first`: the first available server in config order that has fewer than
 * `maxInflight` requests in flight takes the request, so traffic packs onto as few
 * servers as possible (the rest can idle or scale down). When every server is full,
 * the least busy one takes it (first in config order on ties) instead of failing.
 * Without `maxInflight` it is plain failover: always the first available server.
 * A segment tree of in-flight counts makes each pick O(log N).
 */
export class First implements Selector {
  private servers: Upstream[] = [];
  private readonly tree = new MinTree();
  private readonly slotOf = new Map<Upstream, number>();
  private readonly limit: number;

  constructor(options: AlgorithmOptions) {
    const m = options.maxInflight;
    // "Fewer than m in flight" on integer counts is "at most ceil(m) - 1".
    this.limit = m !== undefined && m > 0 ? Math.ceil(m) - 1 : Infinity;
  }

  select(_req: PickRequest): Upstream | undefined {
    let i = this.tree.firstAtMost(this.limit);
    if (i < 0) i = this.tree.firstAtMost(this.tree.minimum);
    return this.servers[i];
  }

  update(servers: readonly Upstream[]): void {
    // Stable sort: config order even if a caller passes servers in another order.
    this.servers = [...servers].sort((a, b) => a.index - b.index);
    this.slotOf.clear();
    this.servers.forEach((u, i) => this.slotOf.set(u, i));
    this.tree.reset(this.servers.map((u) => u.inflight));
  }

  onStart(u: Upstream): void {
    this.touch(u);
  }

  onEnd(u: Upstream): void {
    this.touch(u);
  }

  private touch(u: Upstream): void {
    const i = this.slotOf.get(u);
    if (i !== undefined) this.tree.set(i, u.inflight);
  }
}

/** Factory for the registry. */
export const createFirst = (_deps: SelectorDeps, options: AlgorithmOptions): Selector => new First(options);
