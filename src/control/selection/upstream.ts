/**
 * The live, mutable facts about one server. Only the control plane writes them (its ServerStates
 * and the Pool it drives); everyone else reads them through the server's `Upstream`.
 */
export interface UpstreamState {
  /** Human-readable name (config `name`, else host:port). */
  name: string;
  /** Configured weight (or the operator's override), positive. */
  weight: number;
  /** Backup servers take traffic only while no primary is available. */
  backup: boolean;
  /** Position in the server list; stable tie-breaker. */
  index: number;
  /** False while health checks, passive ejection or an operator keep the server out. */
  available: boolean;
  /** Share of the weight in force now, 0 < factor <= 1 (slow start ramps it). */
  weightFactor: number;
  /** Requests sent to this server that have not finished yet. */
  inflight: number;
}

/** Options of a new server. */
export interface UpstreamOptions {
  readonly weight?: number;
  readonly name?: string;
  readonly backup?: boolean;
  readonly index?: number;
}

/** A fresh state record for a server at `url` (available, full weight, nothing in flight). */
export function initialState(url: URL, opts: UpstreamOptions = {}): UpstreamState {
  return {
    name: opts.name ?? url.host,
    weight: opts.weight ?? 1,
    backup: opts.backup ?? false,
    index: opts.index ?? 0,
    available: true,
    weightFactor: 1,
    inflight: 0,
  };
}

/**
 * One backend server and the live state every algorithm reads. Read-only: its state record is
 * written by whoever made it (the control plane), which keeps the record; see `createUpstream`.
 */
export class Upstream {
  /** Normalised origin, e.g. "http://localhost:9000": the server's identity. */
  readonly addr: string;
  /** Parsed URL of the server. */
  readonly url: URL;
  readonly #s: UpstreamState;

  /** Creates an upstream; `addr` must be an http(s) URL (validated by the config loader). Pass `state` to keep write access. */
  constructor(addr: string, opts: UpstreamOptions = {}, state?: UpstreamState) {
    this.url = new URL(addr);
    this.addr = serverOrigin(this.url);
    this.#s = state ?? initialState(this.url, opts);
  }

  /** Human-readable name (config `name`, else host:port). */
  get name(): string {
    return this.#s.name;
  }
  /** Configured weight (positive, fractions allowed). */
  get weight(): number {
    return this.#s.weight;
  }
  /** Backup servers take traffic only while no primary is available. */
  get backup(): boolean {
    return this.#s.backup;
  }
  /** Position in the configured server list; stable tie-breaker. */
  get index(): number {
    return this.#s.index;
  }
  /** False while health checks, passive ejection or an operator keep the server out. */
  get available(): boolean {
    return this.#s.available;
  }
  /** Share of the weight in force now, 0 < factor <= 1; slow start ramps it. */
  get weightFactor(): number {
    return this.#s.weightFactor;
  }
  /** Requests sent to this server that have not finished yet. */
  get inflight(): number {
    return this.#s.inflight;
  }

  /** Weight the algorithms balance by: configured weight times the slow-start factor. */
  get effectiveWeight(): number {
    return this.#s.weight * this.#s.weightFactor;
  }
}

/** A server's origin: the URL's own, or "scheme://host:port" for schemes that have none ("tcp://host:port"). */
export function serverOrigin(url: URL): string {
  const o = url.origin;
  return o !== 'null' ? o : `${url.protocol}//${url.host}`;
}

/** A new server and the state record that writes it: the record stays with the caller. */
export function createUpstream(addr: string, opts: UpstreamOptions = {}): { readonly upstream: Upstream; readonly state: UpstreamState } {
  const state = initialState(new URL(addr), opts);
  return { upstream: new Upstream(addr, opts, state), state };
}
