// What the admin API needs from the control plane: a narrow, engine-neutral view and the
// operator actions. The control plane implements it; the admin server only reads and calls it.
import type { SourceStatus } from '../control/sources/source.js';

/** A server's state as operators see it. */
export type ServerStateName = 'up' | 'down' | 'draining' | 'disabled';

/** One server in `GET /api/servers`. */
export interface ServerView {
  readonly name: string;
  readonly addr: string;
  /** disabled and draining (operator states) win over health: up or down. */
  readonly state: ServerStateName;
  /** What health checks say, whatever the operator state. */
  readonly healthy: boolean;
  /** Why it is down (or out), when it is. */
  readonly reason: string | undefined;
  /** ISO time of the last change of state. */
  readonly since: string;
  /** Configured weight (or the operator's override). */
  readonly weight: number;
  /** Weight in force now (slow start, 0 when out). */
  readonly effectiveWeight: number;
  readonly inflight: number;
  /** Requests sent to it since it was first configured (kept across reloads). */
  readonly requests: number;
  /** Failed attempts since it was first configured. */
  readonly failures: number;
  readonly backup: boolean;
  /** "config" or "dns:NAME". */
  readonly source: string;
}

/** The outcome of a reload. */
export type ReloadOutcome =
  | { readonly ok: true; readonly changes: readonly string[]; readonly kept: readonly string[] }
  | { readonly ok: false; readonly problems: readonly string[] };

/** Operator actions on one server. */
export type ServerAction = 'drain' | 'disable' | 'enable';

/** The control plane as the admin API sees it. */
export interface AdminControl {
  /** Every server, in a stable order (config order, then discovered ones). */
  servers(): readonly ServerView[];
  /** Upstream sources and how they are doing. */
  sources(): readonly SourceStatus[];
  /** Applies an operator action; undefined when no server has that name. */
  act(name: string, action: ServerAction): ServerView | undefined;
  /** Sets a server's configured weight until a reload changes it; undefined when unknown. */
  setWeight(name: string, weight: number): ServerView | undefined;
  /** Rereads the config file and applies it (or keeps the old one and says why). */
  reload(): Promise<ReloadOutcome>;
  /** The config in force with secrets redacted, as JSON-ready data. */
  redactedConfig(): unknown;
  /** The listener accepts connections (for /readyz). */
  ready(): boolean;
}
