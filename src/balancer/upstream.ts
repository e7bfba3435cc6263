/** One backend server and the live state every algorithm reads. */
export class Upstream {
  /** Normalised origin, e.g. "http://localhost:9000": the server's identity. */
  readonly addr: string;
  /** Parsed URL of the server. */
  readonly url: URL;
  /** Human-readable name (config `name`, else host:port). */
  readonly name: string;
  /** Configured weight (positive, fractions allowed). */
  readonly weight: number;
  /** Backup servers take traffic only while no primary is available. */
  readonly backup: boolean;
  /** Position in the configured server list; stable tie-breaker. */
  readonly index: number;
  /** False while health checks (or passive ejection) keep the server out. */
  available = true;
  /**
   * Share of the weight in force now, 0 < factor <= 1. Slow start ramps it;
   * algorithms read `effectiveWeight`, never `weight`, so they follow the ramp.
   */
  weightFactor = 1;
  /** Requests sent to this server that have not finished yet. */
  inflight = 0;

  /** Creates an upstream; `addr` must be an http(s) URL (validated by the config loader). */
  constructor(addr: string, opts: { weight?: number; name?: string; backup?: boolean; index?: number } = {}) {
    this.url = new URL(addr);
    this.addr = this.url.origin;
    this.name = opts.name ?? this.url.host;
    this.weight = opts.weight ?? 1;
    this.backup = opts.backup ?? false;
    this.index = opts.index ?? 0;
  }

  /** Weight the algorithms balance by: configured weight times the slow-start factor. */
  get effectiveWeight(): number {
    return this.weight * this.weightFactor;
  }
}
