import type { AlgorithmOptions, PickRequest, Selector, SelectorDeps } from './selector.js';
import type { AlgorithmName } from './algorithms.js';
import { selectorFactory } from './algorithms.js';
import type { Upstream, UpstreamState } from './upstream.js';
import { BalancerError } from '../../util/errors.js';

/** Gives the pool write access to a server's in-flight count (the control plane owns the records). */
export type StateOf = (u: Upstream) => UpstreamState;

/** The server set behind one listener, with the algorithm that picks among them. */
export class Pool {
  /** Every configured server, in config order. */
  private members: readonly Upstream[];
  private selector: Selector;
  private readonly make: () => Selector;
  // Every server the selector has been configured with (selectors may keep servers that left).
  private readonly known = new Set<Upstream>();
  // What the selector chooses among now: available primaries, else available backups.
  private candidates: readonly Upstream[] = [];

  /** Builds the pool; throws E_ALGORITHM_NOT_IMPLEMENTED for a known but unbuilt algorithm. */
  constructor(
    servers: readonly Upstream[],
    readonly algorithm: AlgorithmName,
    options: AlgorithmOptions,
    deps: SelectorDeps,
    private readonly stateOf: StateOf,
  ) {
    const factory = selectorFactory(algorithm);
    if (!factory) {
      throw new BalancerError('E_ALGORITHM_NOT_IMPLEMENTED', `algorithm "${algorithm}" is not implemented yet`);
    }
    this.members = servers;
    this.make = () => factory(deps, options);
    this.selector = this.make();
    this.selector.configure?.(servers);
    for (const u of servers) this.known.add(u);
    this.refresh();
  }

  /** Every server of the pool, in config order. */
  get servers(): readonly Upstream[] {
    return this.members;
  }

  /**
   * Changes the server set (a reload, a source's update) keeping the algorithm and its
   * per-server state (response-time averages, hash tables) for the servers that stay.
   */
  setServers(servers: readonly Upstream[]): void {
    this.members = servers;
    for (const u of servers) this.known.add(u);
    if (this.known.size > 2 * servers.length + 8) {
      // Servers that left outnumber those that stay (DNS churn): start the algorithm over, so
      // selectors that keep departed servers (ip-hash's table) do not grow without bound.
      this.known.clear();
      for (const u of servers) this.known.add(u);
      this.selector = this.make();
    }
    this.selector.configure?.(servers);
    this.refresh();
  }

  /** Recomputes the candidates after availability or weight changes: primaries, else backups. */
  refresh(): void {
    const primaries = this.servers.filter((s) => s.available && !s.backup);
    this.candidates = primaries.length > 0 ? primaries : this.servers.filter((s) => s.available && s.backup);
    this.selector.update(this.candidates);
  }

  /** Number of servers currently available. */
  get availableCount(): number {
    let n = 0;
    for (const s of this.servers) if (s.available) n++;
    return n;
  }

  /** Picks a server and counts the request in flight; undefined when none can take it. */
  acquire(req: PickRequest): Upstream | undefined {
    const u = this.selector.select(req);
    return u === undefined ? undefined : this.start(u);
  }

  /**
   * Picks a server other than those in `tried` (for a retry). Asks the algorithm a few times,
   * then — for algorithms that keep answering the same server, like ip-hash — takes the first
   * untried candidate in config order, or an available backup. Undefined when all were tried.
   */
  acquireExcept(req: PickRequest, tried: readonly Upstream[]): Upstream | undefined {
    for (let i = 0; i < 3; i++) {
      const u = this.selector.select(req);
      if (u === undefined) return undefined;
      if (!tried.includes(u)) return this.start(u);
    }
    // When every available primary failed, a backup may still take the retry.
    const u = this.candidates.find((c) => !tried.includes(c)) ?? this.servers.find((s) => s.available && s.backup && !tried.includes(s));
    return u === undefined ? undefined : this.start(u);
  }

  private start(u: Upstream): Upstream {
    this.stateOf(u).inflight++;
    this.selector.onStart?.(u);
    return u;
  }

  /** Ends a request started by `acquire`. */
  release(u: Upstream, durationMs: number, failed: boolean): void {
    this.stateOf(u).inflight--;
    this.selector.onEnd?.(u, durationMs, failed);
  }
}
