import type { Upstream } from '../selection/upstream.js';
import type { PassiveSettings } from './config.js';
import type { FailureKind } from './retry.js';

/**
 * Why a request counted as a failure: how the attempt failed (retry.ts), or `status` for a
 * response whose status is in `passive.statuses`.
 */
export type FailureCause = Exclude<FailureKind, 'cut'> | 'status';

/** What one recorded failure led to. */
export type FailureVerdict =
  /** Not enough failures yet (or passive checks off, or already ejected). */
  | { readonly kind: 'counted' }
  /** The server is ejected until clock time `until`. */
  | { readonly kind: 'ejected'; readonly until: number; readonly durationMs: number; readonly reason: string }
  /** Enough failures, but ejecting would exceed maxEjectionPercent; the count starts over. */
  | { readonly kind: 'capped'; readonly reason: string };

/** A server whose ejection time ran out. */
export interface Unejection {
  /** The server. */
  readonly server: Upstream;
  /** E.g. "ejection of 30 s ended". */
  readonly reason: string;
}

/** Passive state of one server, for snapshots. */
export interface PassiveView {
  /** Out of rotation because of real-traffic failures. */
  readonly ejected: boolean;
  /** Clock time the ejection ends, when ejected. */
  readonly ejectedUntil: number | undefined;
  /** Ejection multiplier: ejections in a row, decaying by one per baseEjection spent in service. */
  readonly ejections: number;
  /** Cause of the current ejection's last failure, when ejected. */
  readonly ejectedFor: FailureCause | undefined;
  /** Consecutive failures counted towards the next ejection. */
  readonly recentFailures: number;
}

interface ServerRecord {
  // Times of the current run of consecutive failures, oldest first, at most maxFails long.
  failures: number[];
  ejectedUntil: number | undefined;
  ejections: number;
  lastEjectionEnd: number | undefined;
  lastDurationMs: number;
  /** Cause of the failure that led to the current ejection. */
  ejectedFor: FailureCause | undefined;
}

/** Formats milliseconds as seconds for reasons: 30000 -> "30 s", 1500 -> "1.5 s". */
export const seconds = (ms: number): string => `${Number((ms / 1000).toFixed(1))} s`;

/**
 * Outlier detection from real traffic. `maxFails` consecutive failures within
 * `failWindow` eject a server at once (nginx max_fails/fail_timeout, with Envoy's
 * "consecutive" so a busy server with rare errors is not ejected). The n-th
 * ejection in a row lasts n x baseEjection, capped at maxEjection (Envoy); the
 * multiplier drops by one for each baseEjection the server then stays in service.
 * At most maxEjectionPercent of all servers (rounded down) are ejected at once for what real
 * traffic can provoke (statuses, timeouts, resets: a bad client could otherwise eject everyone).
 * A server that refuses connections (or does not accept them in time) is ejected regardless: that
 * is a fact about the server, not about the requests. Such servers, and those active checks hold
 * down, do not count towards the cap: they are out anyway.
 * Pure: the clock is injected and expiry is pulled with `expire()`.
 */
export class PassiveDetector {
  private readonly records = new Map<Upstream, ServerRecord>();

  /** `isActiveDown` tells which servers active checks hold down (they do not count towards the cap). */
  constructor(
    servers: readonly Upstream[],
    private settings: PassiveSettings,
    private readonly now: () => number,
    private readonly isActiveDown: (u: Upstream) => boolean = () => false,
  ) {
    for (const u of servers) this.add(u);
  }

  /** Watches one more server (its record starts clean). */
  add(u: Upstream): void {
    if (this.records.has(u)) return;
    this.records.set(u, { failures: [], ejectedUntil: undefined, ejections: 0, lastEjectionEnd: undefined, lastDurationMs: 0, ejectedFor: undefined });
  }

  /** Forgets a server that left. */
  remove(u: Upstream): void {
    this.records.delete(u);
  }

  /** New settings (a reload); ejections under way run their time. */
  setSettings(settings: PassiveSettings): void {
    this.settings = settings;
  }

  // At most maxEjectionPercent of the servers watched now (rounded down).
  private get maxEjected(): number {
    return Math.floor((this.records.size * this.settings.maxEjectionPercent) / 100);
  }

  /** False when `maxFails` is 0: nothing is ever counted or ejected. */
  get enabled(): boolean {
    return this.settings.maxFails > 0;
  }

  /** A request to `u` succeeded: the run of consecutive failures is broken. */
  recordSuccess(u: Upstream): void {
    const r = this.records.get(u);
    if (r !== undefined && r.ejectedUntil === undefined) r.failures.length = 0;
  }

  /** A request to `u` failed for `reason` ("ECONNREFUSED", "status 502") with `cause`; may eject it. */
  recordFailure(u: Upstream, reason: string, cause: FailureCause): FailureVerdict {
    const r = this.records.get(u);
    // Late answers from requests sent before an ejection must not extend it.
    if (r === undefined || !this.enabled || r.ejectedUntil !== undefined) return { kind: 'counted' };
    const now = this.now();
    const { maxFails, failWindowMs, baseEjectionMs, maxEjectionMs } = this.settings;
    r.failures.push(now);
    while (r.failures.length > 0 && ((r.failures[0] ?? now) <= now - failWindowMs || r.failures.length > maxFails)) {
      r.failures.shift();
    }
    if (r.failures.length < maxFails) return { kind: 'counted' };
    const what = `${maxFails} failed request${maxFails === 1 ? '' : 's'} within ${seconds(failWindowMs)}, last: ${reason}`;
    r.failures.length = 0;
    if (cause !== 'connect' && !this.isActiveDown(u) && this.ejectedCount() >= this.maxEjected) {
      const out = `${this.ejectedCount()} of ${this.records.size} servers already out`;
      return { kind: 'capped', reason: `${what}; not ejected: ${out} (maxEjectionPercent ${this.settings.maxEjectionPercent})` };
    }
    if (r.lastEjectionEnd !== undefined) {
      const served = Math.floor((now - r.lastEjectionEnd) / baseEjectionMs);
      r.ejections = Math.max(0, r.ejections - served);
    }
    r.ejections++;
    const durationMs = Math.min(baseEjectionMs * r.ejections, maxEjectionMs);
    r.ejectedUntil = now + durationMs;
    r.lastDurationMs = durationMs;
    r.ejectedFor = cause;
    return { kind: 'ejected', until: r.ejectedUntil, durationMs, reason: `ejected for ${seconds(durationMs)} after ${what}` };
  }

  /**
   * Ends `u`'s ejection early because active checks saw it go down and come back
   * (Envoy's successful_active_health_check_uneject_host): the outage that ejected it is over.
   * Its ejection count is kept, so a relapse is still ejected for longer.
   */
  uneject(u: Upstream): void {
    const r = this.records.get(u);
    if (r === undefined || r.ejectedUntil === undefined) return;
    r.ejectedUntil = undefined;
    r.lastEjectionEnd = this.now();
    r.failures.length = 0;
  }

  /**
   * Ends `u`'s ejection when it was for refused connections (the connection never established):
   * a passing active check proves the server accepts connections again. Any other ejection
   * (timeouts, resets, failures mid-response, error statuses) runs its time: a server that hangs
   * or breaks real requests can still answer a check of one path.
   */
  unejectIfRefused(u: Upstream): boolean {
    const r = this.records.get(u);
    if (r === undefined || r.ejectedUntil === undefined || r.ejectedFor !== 'connect') return false;
    this.uneject(u);
    return true;
  }

  /** True while `u` is ejected (until `expire()` returns it). */
  isEjected(u: Upstream): boolean {
    return this.records.get(u)?.ejectedUntil !== undefined;
  }

  /** Ends every ejection whose time has come; returns those servers. */
  expire(): Unejection[] {
    const now = this.now();
    const out: Unejection[] = [];
    for (const [u, r] of this.records) {
      if (r.ejectedUntil !== undefined && r.ejectedUntil <= now) {
        r.ejectedUntil = undefined;
        r.lastEjectionEnd = now;
        r.failures.length = 0;
        out.push({ server: u, reason: `ejection of ${seconds(r.lastDurationMs)} ended` });
      }
    }
    return out;
  }

  /** Clock time of the next ejection end, for the caller's timer; undefined when none is ejected. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const r of this.records.values()) {
      if (r.ejectedUntil !== undefined && (next === undefined || r.ejectedUntil < next)) next = r.ejectedUntil;
    }
    return next;
  }

  /** Passive state of `u`, or undefined when it is not one of the servers given at construction. */
  view(u: Upstream): PassiveView | undefined {
    const r = this.records.get(u);
    if (r === undefined) return undefined;
    const { ejectedUntil, ejections } = r;
    const ejected = ejectedUntil !== undefined;
    return { ejected, ejectedUntil, ejections, ejectedFor: ejected ? r.ejectedFor : undefined, recentFailures: r.failures.length };
  }

  // Ejected servers that count towards the cap: those not refusing connections and not held down by active checks.
  private ejectedCount(): number {
    let n = 0;
    for (const [u, r] of this.records) if (r.ejectedUntil !== undefined && r.ejectedFor !== 'connect' && !this.isActiveDown(u)) n++;
    return n;
  }
}
