// Upstream sources: where the set of servers comes from (the config's static list, DNS, ...).
// The control plane merges what every source reports; a new kind of source is one new file.

/** One server as a source reports it; `addr` (an http(s) origin, plus an optional path) is its identity. */
export interface ServerSpec {
  /** Base URL, e.g. "http://127.0.0.2:8080". */
  readonly addr: string;
  /** Name for logs and the admin API (unique across sources; default host:port). */
  readonly name: string | undefined;
  /** Configured weight, positive. */
  readonly weight: number;
  /** Takes traffic only while no primary is available. */
  readonly backup: boolean;
  /** Which source reported it: "config" or "dns:NAME". */
  readonly source: string;
}

/** How a source is doing, for the admin API and logs. */
export interface SourceStatus {
  /** "config", "dns:api.service.test", "srv:_http._tcp.api.service.test". */
  readonly id: string;
  /** False while the last refresh failed (the last known set is kept). */
  readonly ok: boolean;
  /** Why the last refresh failed, when it did. */
  readonly error: string | undefined;
  /** Epoch ms of the last change of `ok` or of the server set. */
  readonly since: number;
  /** Servers it reports now. */
  readonly servers: number;
}

/** A source of servers; `start` reports the current set at once when it knows it, then every change. */
export interface UpstreamSource {
  /** Stable id, e.g. "dns:api.service.test". */
  readonly id: string;
  /** Starts watching; `onChange` gets the whole current set each time it changes. */
  start(onChange: (servers: readonly ServerSpec[]) => void): void;
  /** Stops watching (timers, queries); resolves when nothing runs any more. */
  stop(): Promise<void>;
  /** How it is doing now. */
  status(): SourceStatus;
}
