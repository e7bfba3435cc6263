// The control plane of a worker process: selection runs here, with the same algorithms as the
// primary's, over server records whose membership, health, operator state and weight the primary
// decides and sends (snapshots and deltas). How attempts ended goes back in batches (reporter.ts);
// no health decision is made here.
import type { AttemptOutcome, ControlPlane } from '../engines/engine.js';
import type { Config } from '../config/load.js';
import type { FailureCause } from '../control/health/passive.js';
import { decideRetry, type RetryDecision, type RetryInput } from '../control/health/retry.js';
import { RetryBudget } from '../control/health/retry-budget.js';
import { ServerStates } from '../control/server-states.js';
import { defaultDeps, type PickRequest, type SelectorDeps } from '../control/selection/selector.js';
import type { Upstream } from '../control/selection/upstream.js';
import type { Metrics } from '../control/metrics.js';
import { systemClock, type Clock } from '../util/clock.js';
import type { MemberState } from './reports.js';
import type { Reporter } from './reporter.js';

/** What a FollowerPlane is built with. */
export interface FollowerOptions {
  /** Where outcomes go (batched to the primary). */
  readonly reporter: Reporter;
  /** How many workers share the traffic: the retry budget's floor is split among them. */
  readonly workers: number;
  /** The worker's own request metrics (requests, durations, upstream errors, retries), when metrics are on. */
  readonly metrics?: Metrics | undefined;
  readonly deps?: SelectorDeps;
  readonly clock?: Clock;
  /** A server left and has nothing in flight here: its engine resources can go. */
  readonly onLeft?: (u: Upstream) => void;
}

interface Mirror {
  readonly upstream: Upstream;
  readonly key: string;
}

/**
 * A ControlPlane that follows the primary: pick, attemptEnded and retryDecision run locally (in-flight
 * counts, response-time averages and the retry budget are this worker's own); membership, health,
 * operator state and weights come from the primary; outcomes are reported back in batches.
 */
export class FollowerPlane implements ControlPlane {
  private cfg: Config;
  private readonly states: ServerStates;
  private budget: RetryBudget;
  private readonly byKey = new Map<string, Mirror>();
  private readonly byUpstream = new Map<Upstream, Mirror>();
  private readonly clock: Clock;
  // How the last failed attempt allowed a retry failed (for balancer_retries_total{reason}).
  private retryReason = '';

  /** Starts with `config` and no servers (the primary's first snapshot brings them). */
  constructor(
    config: Config,
    private readonly o: FollowerOptions,
  ) {
    this.cfg = config;
    this.clock = o.clock ?? systemClock;
    this.states = new ServerStates(config.algorithm, config.algorithmOptions, o.deps ?? defaultDeps, this.clock, config.health.slowStartMs);
    this.budget = this.newBudget(config);
  }

  /** The config in force. */
  get config(): Config {
    return this.cfg;
  }

  /** Retry-After, in seconds, of 503 answers. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.cfg.healthCheckIntervalMs / 1000));
  }

  /** This worker's request metrics, when metrics are on. */
  get metrics(): Metrics | undefined {
    return this.o.metrics;
  }

  /** Every server selection chooses among now, in order. */
  get servers(): readonly Upstream[] {
    return this.states.servers;
  }

  // ---- The engine's API. ----

  /** Picks a server (not one of `exclude`) and counts it in flight here. */
  pick(req: PickRequest, exclude?: readonly Upstream[]): Upstream | undefined {
    let u: Upstream | undefined;
    if (exclude === undefined) {
      this.budget.recordRequest();
      u = this.states.acquire(req);
    } else {
      u = this.states.acquireExcept(req, exclude);
      if (u !== undefined) this.o.metrics?.retry(this.retryReason);
    }
    if (u !== undefined) this.o.reporter.touched();
    return u;
  }

  /** An attempt ended: the algorithm learns here; the primary hears of it in the next batch. */
  attemptEnded(u: Upstream, durationMs: number, outcome: AttemptOutcome): void {
    const { failure, status } = outcome;
    const m = this.byUpstream.get(u);
    if (failure?.kind === 'cut' || failure?.local !== undefined) {
      // Cut by us, or our own resources ran out: says nothing about the server.
      this.states.release(u, durationMs, false);
      this.o.reporter.touched();
    } else {
      const statusFailed = failure === undefined && this.cfg.health.passive.statuses.has(status);
      const failed = failure !== undefined || statusFailed;
      this.states.release(u, durationMs, failed);
      if (failure !== undefined) this.o.metrics?.upstreamError(u, failure.reason);
      if (m !== undefined) {
        const p = failure !== undefined ? { reason: failure.reason, cause: failure.kind as FailureCause } : statusFailed ? { reason: `status ${status}`, cause: 'status' as const } : status !== 0 ? status : undefined;
        this.o.reporter.attempt(m.key, durationMs, failed, p);
      }
    }
    if (u.inflight === 0 && this.states.isLeaving(u)) this.forget(u);
  }

  /** A failure of `u` outside any attempt: reported for passive health. */
  reportFailure(u: Upstream, reason: string, cause: FailureCause): void {
    const m = this.byUpstream.get(u);
    if (m !== undefined) this.o.reporter.failure(m.key, { reason, cause });
  }

  /** Replay rules, then this worker's share of the retry budget. */
  retryDecision(input: RetryInput): RetryDecision {
    this.retryReason = input.kind;
    return decideRetry(input, this.budget, this.cfg.retries.attempts);
  }

  // ---- From the primary. ----

  /** A new config (start or reload): the algorithm, slow start and retry settings follow it; the servers come with `setMembers`. */
  setConfig(config: Config): void {
    const old = this.cfg;
    this.cfg = config;
    if (config.health.slowStartMs !== old.health.slowStartMs) this.states.setSlowStart(config.health.slowStartMs);
    if (JSON.stringify(config.retries) !== JSON.stringify(old.retries)) this.budget = this.newBudget(config);
    if (config.algorithm !== old.algorithm || JSON.stringify(config.algorithmOptions) !== JSON.stringify(old.algorithmOptions)) {
      this.states.setMembers(this.memberList(this.states.servers.map((u) => this.byUpstream.get(u)?.key ?? u.addr)), config.algorithm, config.algorithmOptions);
    }
  }

  /**
   * The servers in the primary's order, with their state: new ones are made, those missing leave
   * (no new requests; forgotten once theirs here finish).
   */
  setMembers(members: readonly MemberState[]): void {
    const keys: string[] = [];
    for (const s of members) {
      let m = this.byKey.get(s.key);
      if (m === undefined || (this.states.isLeaving(m.upstream) && m.upstream.inflight === 0)) {
        if (m !== undefined) this.forget(m.upstream);
        const upstream = this.states.create(s.url, { name: s.name, weight: s.weight, backup: s.backup });
        m = { upstream, key: s.key };
        this.byKey.set(s.key, m);
        this.byUpstream.set(upstream, m);
        this.o.metrics?.addServer(upstream);
      }
      keys.push(s.key);
    }
    const leaving = [...this.byKey.values()].filter((m) => !keys.includes(m.key));
    this.states.setMembers(this.memberList(keys, members), this.cfg.algorithm, this.cfg.algorithmOptions);
    for (const s of members) this.setState(s);
    for (const m of leaving) {
      this.o.onLeft?.(m.upstream);
      if (m.upstream.inflight === 0) this.forget(m.upstream);
    }
  }

  /** The health, operator state or weight of one server changed in the primary. */
  setState(s: MemberState): void {
    const m = this.byKey.get(s.key);
    if (m === undefined) return;
    this.states.setHealthy(m.upstream, s.healthy);
    this.states.setOperator(m.upstream, s.operator);
    this.states.setWeight(m.upstream, s.weight);
  }

  /** Requests in flight here, per server key (servers with none left out). */
  inflight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.byKey.values()) if (m.upstream.inflight > 0) out[m.key] = m.upstream.inflight;
    return out;
  }

  /** Stops slow-start ramps. */
  stop(): void {
    this.states.stop();
  }

  // The member list ServerStates wants, for `keys` in order (names and weights from `members`, else as they are).
  private memberList(keys: readonly string[], members?: readonly MemberState[]): { upstream: Upstream; name: string; weight: number; backup: boolean }[] {
    const given = new Map(members?.map((s) => [s.key, s]));
    return keys.flatMap((k) => {
      const m = this.byKey.get(k);
      if (m === undefined) return [];
      const s = given.get(k);
      return [{ upstream: m.upstream, name: s?.name ?? m.upstream.name, weight: s?.weight ?? m.upstream.weight, backup: s?.backup ?? m.upstream.backup }];
    });
  }

  private forget(u: Upstream): void {
    const m = this.byUpstream.get(u);
    if (m === undefined) return;
    this.byUpstream.delete(u);
    if (this.byKey.get(m.key) === m) this.byKey.delete(m.key);
    this.states.forget(u);
    this.o.metrics?.removeServer(u);
  }

  // Each worker takes its share of the floor, so N workers retry no more than one process would.
  private newBudget(config: Config): RetryBudget {
    const b = config.retries.budget;
    return new RetryBudget(() => this.clock.now(), { ...b, minPerSecond: b.minPerSecond / Math.max(1, this.o.workers) });
  }
}
