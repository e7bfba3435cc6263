// What a worker tells the primary about the servers it used, and what the primary tells workers
// about the servers: the data of the IPC messages that concern the control plane.
import type { FailureCause } from '../control/health/passive.js';
import type { OperatorState } from '../control/server-states.js';

/** A failed attempt (or a failure outside one), for passive health. */
export interface PassiveFailure {
  readonly reason: string;
  readonly cause: FailureCause;
}

/**
 * One input of passive health, in the order the worker saw them: a number is a run of successful
 * attempts (the status of the last; consecutive successes count as one for consecutive-failure
 * detection), an object one failure.
 */
export type PassiveItem = number | PassiveFailure;

/** The attempts a worker made on one server since its last report. */
export interface RemoteAttempts {
  /** Attempts counted (those cut by our shutdown or our own resource errors are not). */
  readonly requests: number;
  /** Of them, failed (errors and statuses in healthCheck.passive.statuses). */
  readonly failures: number;
  /** Passive-health inputs, in order. */
  readonly passive: readonly PassiveItem[];
  /** Durations per live-stats bucket (bucketOf), as [bucket, count] pairs. */
  readonly hist: readonly (readonly [number, number])[];
}

/** A server as a worker's selection needs it, from the primary's control plane. */
export interface MemberState {
  /** The server's identity (normalised URL): how primary and workers name it. */
  readonly key: string;
  /** Its full URL (with a path prefix, if any). */
  readonly url: string;
  readonly name: string;
  readonly weight: number;
  readonly backup: boolean;
  /** What health checks (active and passive) decided, in the primary. */
  readonly healthy: boolean;
  readonly operator: OperatorState;
}

/** What the primary's control plane needs of the workers. */
export interface RemoteWorkers {
  /** Requests in flight to the server `key` in every worker (last reports). */
  inflight(key: string): number;
  /** The servers, their health, operator state or weight changed: workers must hear of it. */
  changed(): void;
}
