import type { Upstream } from '../../../src/control/selection/upstream.js';

/**
 * Reference: nginx's ngx_http_upstream_get_peer, a linear scan per pick. Like nginx,
 * `current` lives per server and survives membership changes (frozen while absent).
 */
export class NaiveSwrr {
  private readonly current = new Map<Upstream, number>();
  private servers: readonly Upstream[] = [];

  /** New candidate set (config order). */
  update(servers: readonly Upstream[]): void {
    this.servers = servers;
  }

  /** One nginx pick. */
  select(): Upstream | undefined {
    let best: Upstream | undefined;
    let bestCurrent = -Infinity;
    let total = 0;
    for (const s of this.servers) {
      const c = (this.current.get(s) ?? 0) + s.effectiveWeight;
      this.current.set(s, c);
      total += s.effectiveWeight;
      if (best === undefined || c > bestCurrent) {
        best = s;
        bestCurrent = c;
      }
    }
    if (best !== undefined) this.current.set(best, bestCurrent - total);
    return best;
  }
}
