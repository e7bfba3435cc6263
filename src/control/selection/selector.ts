import type { Upstream } from './upstream.js';

/** What a selector may know about the request it places. */
export interface PickRequest {
  /** Client address used by ip-hash (socket peer, or trusted X-Forwarded-For). */
  readonly clientAddress: string;
}

/** Injected sources of randomness and time, so every algorithm is deterministic in tests. */
export interface SelectorDeps {
  /** Uniform random number in [0, 1). */
  readonly random: () => number;
  /** Monotonic clock in milliseconds. */
  readonly now: () => number;
}

/** Per-algorithm tunables from the config (`algorithmOptions`). */
export interface AlgorithmOptions {
  /** least-response-time: EWMA decay time in milliseconds (default 10,000). */
  readonly decayMs?: number;
  /** least-response-time: a failed request counts as at least this slow, in milliseconds (default 1,000). */
  readonly failurePenaltyMs?: number;
  /** first: a server takes new requests while it has fewer than this many in flight (HAProxy maxconn; default unlimited). */
  readonly maxInflight?: number;
}

/**
 * A load-balancing algorithm (Caddy's Selector, Traefik's strategy).
 * The pool calls `update` whenever membership, availability or weights change,
 * so `select` — the hot path — only reads prepared state.
 */
export interface Selector {
  /**
   * Every configured server (available or not, backups included), in config order.
   * The pool calls it once before the first `update`; algorithms that must agree
   * across instances regardless of availability history (ip-hash) build on it.
   */
  configure?(servers: readonly Upstream[]): void;
  /** Picks the server for one request, or undefined when none is available. */
  select(req: PickRequest): Upstream | undefined;
  /** The candidate servers changed (added, removed, up, down, weight ramp); `servers` are all available. */
  update(servers: readonly Upstream[]): void;
  /** A request to `u` started; `u.inflight` is already incremented. */
  onStart?(u: Upstream): void;
  /** A request to `u` ended after `durationMs`; `failed` for connect errors, timeouts and counted 5xx. `u.inflight` is already decremented. */
  onEnd?(u: Upstream, durationMs: number, failed: boolean): void;
}

/** Builds a selector. */
export type SelectorFactory = (deps: SelectorDeps, options: AlgorithmOptions) => Selector;

/** Production dependencies: Math.random and performance.now. */
export const defaultDeps: SelectorDeps = {
  random: Math.random,
  now: () => performance.now(),
};
