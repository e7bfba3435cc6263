import type { PickRequest, Selector } from './selector.js';
import type { Upstream } from './upstream.js';
import { WeightedRoundRobin } from './weighted-round-robin.js';

const slowStartFactor = (u: Upstream): number => u.weightFactor;

/**
 * Strict rotation over the available servers. While a server is in slow start it rotates
 * smoothly by slow-start factor instead (weights themselves stay ignored), so a returning
 * server is eased in here too.
 */
export class RoundRobin implements Selector {
  private servers: readonly Upstream[] = [];
  private next = 0;
  // The last server picked: after a membership change rotation resumes after it, so nobody is skipped or doubled.
  private last: Upstream | undefined;
  private ramp: WeightedRoundRobin | undefined;

  select(req: PickRequest): Upstream | undefined {
    if (this.ramp !== undefined) {
      const u = this.ramp.select(req);
      this.last = u;
      return u;
    }
    const n = this.servers.length;
    if (n === 0) return undefined;
    if (this.next >= n) this.next = 0;
    const u = this.servers[this.next++];
    this.last = u;
    return u;
  }

  update(servers: readonly Upstream[]): void {
    this.servers = servers;
    if (servers.some((s) => s.weightFactor < 1)) (this.ramp ??= new WeightedRoundRobin(slowStartFactor)).update(servers);
    else this.ramp = undefined;
    const last = this.last;
    if (last === undefined) {
      this.next = 0;
      return;
    }
    const at = servers.indexOf(last);
    if (at >= 0) {
      this.next = at + 1;
      return;
    }
    // The last server left: continue with the first server that sorted after it in config order.
    const after = servers.findIndex((s) => s.index > last.index);
    this.next = after >= 0 ? after : 0;
  }
}

/** Factory for the registry. */
export const createRoundRobin = (): Selector => new RoundRobin();
