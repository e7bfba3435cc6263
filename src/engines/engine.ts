// The seam between the control plane and the engines that move bytes (today node:http + undici).
// An engine asks the control plane for a server, reports how each attempt ended, and keeps its
// own per-server resources (connection pools) keyed by the server.
import type { AddressInfo } from 'node:net';
import type { PickRequest } from '../control/selection/selector.js';
import type { Upstream } from '../control/selection/upstream.js';
import type { Config } from '../config/load.js';
import type { FailureCause } from '../control/health/passive.js';
import type { RetryDecision, RetryInput } from '../control/health/retry.js';
import type { RequestMetrics } from '../control/metrics.js';

/** How one attempt on a server ended, as the engine reports it. */
export interface AttemptOutcome {
  /** The attempt failed: how (for passive health) and why (for logs). "cut" (by our shutdown or reload) blames nobody. */
  readonly failure?: {
    readonly kind: FailureCause | 'cut';
    readonly reason: string;
    /** Set when the balancer's own resources ran out (EMFILE...): like "cut", it blames nobody. */
    readonly local?: string;
  };
  /** Response status (0 when none arrived). */
  readonly status: number;
  /** L4 (tcp mode): the connection to the server was made and ended without failure: a success for passive health. */
  readonly connected?: boolean;
}

/** What an engine uses of the control plane, and nothing else. */
export interface ControlPlane {
  /** The config in force (the engine reads its listener settings: timeouts, trusted proxies). */
  readonly config: Config;
  /** Retry-After, in seconds, of 503 answers. */
  readonly retryAfterSeconds: number;
  /** Picks a server for a request, not one of `exclude` (a retry's tried servers), and counts it in flight; undefined when none can take it. */
  pick(req: PickRequest, exclude?: readonly Upstream[]): Upstream | undefined;
  /** One attempt on `u` (from `pick`) ended after `durationMs`. Called exactly once per pick. */
  attemptEnded(u: Upstream, durationMs: number, outcome: AttemptOutcome): void;
  /** May a failed attempt be retried on another server (replay rules, attempts, budget)? */
  retryDecision(input: RetryInput): RetryDecision;
  /** A failure of `u` outside any attempt (stray bytes on an idle connection). */
  reportFailure(u: Upstream, reason: string, cause: FailureCause): void;
  /** Where requests are counted (Prometheus); undefined when metrics are off. */
  readonly metrics?: RequestMetrics | undefined;
}

/** What the control plane calls on an engine attached to it. */
export interface EngineHooks {
  /** `u` takes no new requests (left the config or its source): release its resources once its in-flight requests finish. */
  serverLeft(u: Upstream): void;
  /** Puts the listener settings of a reloaded `config` in force; returns the settings that need a restart (kept as they were). */
  apply(config: Config): { readonly kept: readonly string[] };
  /** The listener accepts connections. */
  ready(): boolean;
}

/** A proxy engine: a listener serving clients with servers from a ControlPlane. */
export interface Engine extends EngineHooks {
  /** Starts listening; resolves with the bound address. */
  listen(): Promise<AddressInfo>;
  /** The URL clients use, e.g. "http://127.0.0.1:8000". */
  url(): string;
  /** Graceful stop: stop accepting, let requests finish within `graceMs`, then cut the rest. */
  close(graceMs?: number): Promise<void>;
}
