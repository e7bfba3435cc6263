import type { AlgorithmName } from './selection/algorithms.js';
import { Pool } from './selection/pool.js';
import type { AlgorithmOptions, PickRequest, SelectorDeps } from './selection/selector.js';
import { createUpstream, type Upstream, type UpstreamOptions, type UpstreamState } from './selection/upstream.js';
import type { HealthTarget } from './health/checker.js';
import { SlowStart } from './health/slow-start.js';
import type { Clock } from '../util/clock.js';

/** What an operator made of a server: `active` (normal), `draining` (no new requests), `disabled` (maintenance). */
export type OperatorState = 'active' | 'draining' | 'disabled';

interface Rec {
  readonly state: UpstreamState;
  // What health checks (active and passive) say.
  healthy: boolean;
  operator: OperatorState;
  // Left the config or its source: takes no new requests, goes once its in-flight ones finish.
  leaving: boolean;
}

/**
 * The one writer of server state: availability (health x operator state), the slow-start
 * factor and in-flight counts of every server, and the selection (Pool) they feed. Each change
 * is written once and the algorithm updated once.
 */
export class ServerStates implements HealthTarget {
  private readonly recs = new Map<Upstream, Rec>();
  private pool: Pool;
  private readonly slowStart: SlowStart;
  private readonly stateOf = (u: Upstream): UpstreamState => (this.recs.get(u) as Rec).state;

  /** Starts empty, with `algorithm`; `slowStartMs` 0 turns slow start off. */
  constructor(
    private algorithm: AlgorithmName,
    private options: AlgorithmOptions,
    private readonly deps: SelectorDeps,
    clock: Clock,
    slowStartMs: number,
    // Told after every change of membership, health, operator state or weight (workers mirror them).
    private readonly onChange: () => void = () => undefined,
  ) {
    this.pool = new Pool([], algorithm, options, deps, this.stateOf);
    this.slowStart = new SlowStart(slowStartMs, clock, () => this.refresh(), (u, f) => void (this.stateOf(u).weightFactor = f));
  }

  /** Every server taking part in selection (not leaving), in list order. */
  get servers(): readonly Upstream[] {
    return this.pool.servers;
  }

  /** A new server (available at full weight, as at start-up); call `setMembers` to put it in the pool. */
  create(addr: string, opts: UpstreamOptions): Upstream {
    const { upstream, state } = createUpstream(addr, opts);
    this.recs.set(upstream, { state, healthy: true, operator: 'active', leaving: false });
    return upstream;
  }

  /**
   * The servers selection chooses among, in order; servers not in the list are leaving (no new
   * requests) and are forgotten with `forget` once their requests finished. Updates name, weight,
   * backup and index of each; keeps the algorithm (and its per-server state) unless it changed.
   */
  setMembers(
    members: readonly { readonly upstream: Upstream; readonly name: string; readonly weight: number; readonly backup: boolean }[],
    algorithm: AlgorithmName = this.algorithm,
    options: AlgorithmOptions = this.options,
  ): void {
    const list: Upstream[] = [];
    const keep = new Set<Upstream>();
    members.forEach((m, index) => {
      const r = this.recs.get(m.upstream) as Rec;
      Object.assign(r.state, { name: m.name, weight: m.weight, backup: m.backup, index });
      r.leaving = false;
      keep.add(m.upstream);
      list.push(m.upstream);
    });
    for (const [u, r] of this.recs) {
      if (keep.has(u) || r.leaving) continue;
      r.leaving = true;
      this.slowStart.cancel(u);
      r.state.available = false;
    }
    for (const u of list) this.recompute(u, false);
    if (algorithm !== this.algorithm || JSON.stringify(options) !== JSON.stringify(this.options)) {
      // A new algorithm starts from nothing; the servers and their counts stay.
      this.algorithm = algorithm;
      this.options = options;
      this.pool = new Pool(list, algorithm, options, this.deps, this.stateOf);
    } else {
      this.pool.setServers(list);
    }
    this.onChange();
  }

  /** Forgets a server that left and has nothing in flight. */
  forget(u: Upstream): void {
    this.slowStart.cancel(u);
    this.recs.delete(u);
  }

  /** True once a server left the list (it only finishes its requests). */
  isLeaving(u: Upstream): boolean {
    return this.recs.get(u)?.leaving ?? true;
  }

  /** The operator state of `u`. */
  operator(u: Upstream): OperatorState {
    return this.recs.get(u)?.operator ?? 'active';
  }

  /** What health checks say of `u`. */
  healthy(u: Upstream): boolean {
    return this.recs.get(u)?.healthy ?? false;
  }

  /** Health checks say `u` is in (true) or out (false). */
  setHealthy(u: Upstream, healthy: boolean): void {
    const r = this.recs.get(u);
    if (r === undefined || r.healthy === healthy) return;
    r.healthy = healthy;
    this.recompute(u, true);
    this.onChange();
  }

  /** An operator action: drain or disable take `u` out of selection; active brings it back (slow start eases it in). */
  setOperator(u: Upstream, operator: OperatorState): void {
    const r = this.recs.get(u);
    if (r === undefined || r.operator === operator) return;
    r.operator = operator;
    this.recompute(u, true);
    this.onChange();
  }

  /** Sets the configured weight of `u` (an operator's override, or a reload). */
  setWeight(u: Upstream, weight: number): void {
    const r = this.recs.get(u);
    if (r === undefined || r.state.weight === weight) return;
    r.state.weight = weight;
    this.refresh();
    this.onChange();
  }

  /** No health alerts for `u` (disabled for maintenance). */
  silenced(u: Upstream): boolean {
    return this.recs.get(u)?.operator === 'disabled';
  }

  /** A new slow-start ramp time (reload). */
  setSlowStart(ms: number): void {
    this.slowStart.setDuration(ms);
  }

  /** Servers selection may pick now. */
  availableCount(): number {
    return this.pool.availableCount;
  }

  /** Picks a server for a request and counts it in flight. */
  acquire(req: PickRequest): Upstream | undefined {
    return this.pool.acquire(req);
  }

  /** Picks a server other than `tried` (a retry) and counts it in flight. */
  acquireExcept(req: PickRequest, tried: readonly Upstream[]): Upstream | undefined {
    return this.pool.acquireExcept(req, tried);
  }

  /** Ends a request on `u`: the algorithm learns its duration. */
  release(u: Upstream, durationMs: number, failed: boolean): void {
    // Selectors ignore servers they no longer hold (a leaving one, or one from before an algorithm change).
    this.pool.release(u, durationMs, failed);
  }

  /** Stops slow-start ramps (weights back to full). */
  stop(): void {
    this.slowStart.stop();
  }

  // Availability is health x operator state x membership; a server that comes back ramps up.
  private recompute(u: Upstream, ramp: boolean): void {
    const r = this.recs.get(u);
    if (r === undefined) return;
    const available = r.healthy && r.operator === 'active' && !r.leaving;
    if (available === r.state.available) return;
    r.state.available = available;
    if (available && ramp) this.slowStart.begin(u);
    else this.slowStart.cancel(u);
    this.refresh();
  }

  /** Updates the algorithm after availability or weights changed. */
  protected refresh(): void {
    this.pool.refresh();
  }
}
