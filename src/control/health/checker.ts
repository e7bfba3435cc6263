import type { Upstream } from '../selection/upstream.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import type { HealthSettings } from './config.js';
import { HealthError } from './errors.js';
import type { HealthEvent, HealthEventType, HealthEvents } from './events.js';
import type { LogSink } from '../../util/logger.js';
import { PassiveDetector, type FailureCause, type PassiveView } from './passive.js';
import { errorResult, probe, type ProbeResult } from './probe.js';
import { CheckState, type CheckStateView } from './state.js';
import { localResourceCode, logLocalResourceError } from '../../engines/node/local-errors.js';

/** Probes one server; injected in tests. Must settle (the real probe has its own timeout). */
export type ProbeFn = (server: Upstream, signal: AbortSignal) => Promise<ProbeResult>;

/**
 * Where health verdicts go: the control plane's one writer of server state, which combines them
 * with operator state and updates the algorithm.
 */
export interface HealthTarget {
  /** The servers taking part in selection now (for counts and backup logging). */
  readonly servers: readonly Upstream[];
  /** Health says `u` is in (true) or out (false). */
  setHealthy(u: Upstream, healthy: boolean): void;
  /** Servers selection may pick now. */
  availableCount(): number;
  /** True while `u` must raise no alerts (disabled for maintenance). */
  silenced(u: Upstream): boolean;
}

/** What a HealthChecker works with. */
export interface HealthCheckerOptions {
  /** The servers to watch at first (more come with `add`). */
  readonly servers: readonly Upstream[];
  /** Where verdicts are written. */
  readonly target: HealthTarget;
  /** Resolved settings (`resolveHealthConfig`). */
  readonly settings: HealthSettings;
  /** Where server-down/up, all-down and recovered are published. */
  readonly events: HealthEvents;
  /** Transition log lines go here. */
  readonly logger: LogSink;
  /** Time and timers (default: real ones). */
  readonly clock?: Clock;
  /** Uniform random in [0, 1), for interval jitter (default Math.random). */
  readonly random?: () => number;
  /** Probe function (default: `probe` with the active check settings). */
  readonly probe?: ProbeFn;
}

/** One server's health, for logs and the admin API. Times are epoch milliseconds. */
export interface ServerHealth {
  /** Server origin, its identity. */
  readonly addr: string;
  /** Name in logs. */
  readonly name: string;
  /** Takes traffic only while no primary is available. */
  readonly backup: boolean;
  /** Taking traffic: active checks do not hold it down, it is not ejected and no operator holds it out. */
  readonly available: boolean;
  /** Health checks let it take traffic: active checks do not hold it down and it is not ejected. */
  readonly healthy: boolean;
  /** Epoch ms of the last change of `healthy`, or when checks began watching it. */
  readonly since: number;
  /** Slow-start share of the weight, 0.1..1. */
  readonly weightFactor: number;
  /** Requests in flight to it now. */
  readonly inflight: number;
  /** Active checks; here lastCheckAt and lastChangeAt are epoch ms, not Clock.now times. */
  readonly active: CheckStateView;
  /** Passive checks; here ejectedUntil is epoch ms, not a Clock.now time. */
  readonly passive: PassiveView;
  /** Why it last changed availability, e.g. "3 failed checks, last: ECONNREFUSED". */
  readonly lastReason: string | undefined;
}

interface Entry {
  readonly u: Upstream;
  readonly state: CheckState;
  timer: TimerHandle | undefined;
  probing: Promise<void> | undefined;
  lastReason: string | undefined;
  // What health says: not held down by active checks and not ejected.
  healthy: boolean;
  // Epoch ms of the last change of `healthy` (or of being added): stored, so every view agrees.
  changedAt: number;
  // A capped ejection is logged once until the server recovers or is ejected, not on every failure.
  cappedLogged: boolean;
}

/**
 * Keeps a pool's `available` flags true to its servers' health: active probes
 * (rise/fall), passive outlier detection from the proxy's reports, slow start for
 * returning servers, and HealthEvents for every change of availability.
 */
export class HealthChecker {
  private readonly target: HealthTarget;
  private settings: HealthSettings;
  private readonly events: HealthEvents;
  private readonly logger: LogSink;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly probeFn: ProbeFn;
  private readonly entries = new Map<Upstream, Entry>();
  private readonly passive: PassiveDetector;
  private readonly abort = new AbortController();
  private expiryTimer: TimerHandle | undefined;
  private started = false;
  private stopped = false;
  private allDown = false;
  private backupsServing = false;

  /** Builds a checker; nothing runs until `start()`. */
  constructor(opts: HealthCheckerOptions) {
    this.target = opts.target;
    this.settings = opts.settings;
    this.events = opts.events;
    this.logger = opts.logger;
    this.clock = opts.clock ?? systemClock;
    this.random = opts.random ?? Math.random;
    this.probeFn = opts.probe ?? ((u, signal) => probe(u.url, this.settings.active, signal));
    const activeDown = (u: Upstream) => this.entries.get(u)?.state.isUp === false;
    this.passive = new PassiveDetector([], opts.settings.passive, () => this.clock.now(), activeDown);
    for (const u of opts.servers) this.add(u);
  }

  /** Watches one more server (a reload or a source added it); probed at once when running. */
  add(u: Upstream): void {
    if (this.entries.has(u)) return;
    const { rise, fall } = this.settings.active;
    const state = new CheckState(rise, fall);
    const e: Entry = { u, state, timer: undefined, probing: undefined, lastReason: undefined, healthy: true, changedAt: this.clock.epoch(), cappedLogged: false };
    this.entries.set(u, e);
    this.passive.add(u);
    if (this.started && !this.stopped && this.settings.active.enabled) this.runProbe(e);
  }

  /** Stops watching `u` (it left the config or its source). */
  remove(u: Upstream): void {
    const e = this.entries.get(u);
    if (e === undefined) return;
    this.clock.clearTimer(e.timer);
    this.entries.delete(u);
    this.passive.remove(u);
  }

  /**
   * New settings (a reload); each server's state (up/down, counts, ejections) is kept. Intervals
   * apply from the next probe; turning active checks on or off starts or stops the probes.
   */
  setSettings(settings: HealthSettings): void {
    const wasActive = this.settings.active.enabled;
    this.settings = settings;
    this.passive.setSettings(settings.passive);
    for (const e of this.entries.values()) e.state.setThresholds(settings.active.rise, settings.active.fall);
    if (!this.started || this.stopped) return;
    if (!settings.active.enabled) {
      for (const e of this.entries.values()) {
        this.clock.clearTimer(e.timer);
        e.timer = undefined;
      }
    } else if (!wasActive) {
      for (const e of this.entries.values()) this.runProbe(e);
    }
  }

  /** What health says of `u` now: in or out, why and since when (epoch ms); undefined when not watched. */
  verdict(u: Upstream): { readonly healthy: boolean; readonly reason: string | undefined; readonly since: number } | undefined {
    const e = this.entries.get(u);
    if (e === undefined) return undefined;
    return { healthy: e.healthy, reason: e.lastReason, since: e.changedAt };
  }


  /** Probes every server now, then every interval (with jitter). Idempotent; throws E_HEALTH_STOPPED after `stop()`. */
  start(): void {
    if (this.stopped) throw new HealthError('E_HEALTH_STOPPED', 'health checker was stopped; create a new one');
    if (this.started) return;
    this.started = true;
    const a = this.settings.active;
    this.logger.info(
      { servers: this.entries.size, active: a.enabled ? a.type : 'off', intervalMs: a.intervalMs, passive: this.passive.enabled },
      'health checks started',
    );
    if (!a.enabled) return;
    for (const e of this.entries.values()) this.runProbe(e);
  }

  /** Stops probes and timers; resolves once running probes have settled. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.clock.clearTimer(this.expiryTimer);
    const running: Promise<void>[] = [];
    for (const e of this.entries.values()) {
      this.clock.clearTimer(e.timer);
      e.timer = undefined;
      if (e.probing !== undefined) running.push(e.probing);
    }
    await Promise.allSettled(running);
  }

  /**
   * The proxy got a response with `status` from `u`. Statuses in `passive.statuses`
   * (default 502, 503, 504) count as failures; others break a run of failures.
   * Unknown servers (e.g. of a pool replaced by a reload) are ignored.
   */
  reportSuccess(u: Upstream, status: number): void {
    if (this.settings.passive.statuses.has(status)) {
      this.reportFailure(u, `status ${status}`, 'status');
      return;
    }
    this.passive.recordSuccess(u);
    const e = this.entries.get(u);
    if (e !== undefined) e.cappedLogged = false;
  }

  /**
   * A request to `u` failed: `reason` is short, e.g. "ECONNREFUSED", "response headers timeout";
   * `cause` says how (a refused connection is ejected even beyond maxEjectionPercent). May eject `u`.
   */
  reportFailure(u: Upstream, reason: string, cause: FailureCause): void {
    const e = this.entries.get(u);
    if (e === undefined || this.stopped) return;
    const v = this.passive.recordFailure(u, reason, cause);
    if (v.kind === 'ejected') {
      e.cappedLogged = false;
      this.apply(e, v.reason, 'passive');
      this.armExpiry();
    } else if (v.kind === 'capped' && !e.cappedLogged) {
      e.cappedLogged = true;
      this.logger.warn({ server: u.addr, name: u.name, reason: v.reason }, `server ${u.addr} failing: ${v.reason}`);
    }
  }

  /** Each server's health, in config order. */
  snapshot(): ServerHealth[] {
    const now = this.clock.now();
    const epoch = this.clock.epoch();
    const toEpoch = (t: number | undefined) => (t === undefined ? undefined : Math.round(epoch - (now - t)));
    return [...this.entries.values()].map(({ u, state, lastReason, healthy, changedAt }) => {
      const p = this.passive.view(u);
      return {
        addr: u.addr,
        name: u.name,
        backup: u.backup,
        available: u.available,
        healthy,
        since: changedAt,
        weightFactor: u.weightFactor,
        inflight: u.inflight,
        active: {
          status: state.status,
          consecutivePasses: state.consecutivePasses,
          consecutiveFails: state.consecutiveFails,
          lastError: state.lastError,
          lastCheckAt: toEpoch(state.lastCheckAt),
          lastChangeAt: toEpoch(state.lastChangeAt),
        },
        passive: {
          ejected: p?.ejected ?? false,
          ejectedUntil: toEpoch(p?.ejectedUntil),
          ejections: p?.ejections ?? 0,
          ejectedFor: p?.ejectedFor,
          recentFailures: p?.recentFailures ?? 0,
        },
        lastReason,
      };
    });
  }

  // One probe; the next is scheduled only when it has settled, so probes of a server never overlap.
  private runProbe(e: Entry): void {
    if (this.stopped || e.probing !== undefined) return;
    const startedAt = this.clock.now();
    let result: Promise<ProbeResult>;
    try {
      result = this.probeFn(e.u, this.abort.signal);
    } catch (err) {
      result = Promise.resolve(errorResult(err));
    }
    e.probing = result
      .catch((err: unknown) => errorResult(err))
      .then((r) => {
        e.probing = undefined;
        if (!this.stopped) this.onProbe(e, r, startedAt);
      });
  }

  private onProbe(e: Entry, r: ProbeResult, startedAt: number): void {
    try {
      this.actOnProbe(e, r);
    } finally {
      // Start-to-start spacing; a probe that outlasted the interval is followed at once. A server
      // that is out is probed every downInterval (HAProxy's downinter), so it is back within
      // seconds. Scheduled in `finally`, so nothing in acting on the result can stop the probing.
      const { intervalMs, downIntervalMs } = this.settings.active;
      if (this.settings.active.enabled) this.scheduleProbe(e, startedAt + this.jittered(e.healthy ? intervalMs : downIntervalMs));
    }
  }

  private jittered(ms: number): number {
    return ms * (1 + this.settings.active.jitter * (2 * this.random() - 1));
  }

  private scheduleProbe(e: Entry, at: number): void {
    this.clock.clearTimer(e.timer);
    e.timer = this.clock.setTimer(() => {
      e.timer = undefined;
      this.runProbe(e);
    }, Math.max(0, at - this.clock.now()));
  }

  private actOnProbe(e: Entry, r: ProbeResult): void {
    // A probe that failed for want of our own resources (EMFILE...) says nothing about the server.
    const local = r.ok ? undefined : localResourceCode(r.reason);
    if (local !== undefined) return logLocalResourceError(this.logger, local, 'health probes');
    const t = e.state.record(r.ok ? { ok: true } : { ok: false, reason: r.reason }, this.clock.now());
    if (t === undefined) {
      // A server ejected for refused connections that answers its check again accepts connections
      // again: it is back (Envoy unejects on a passing check). Other ejections run their time.
      if (r.ok && e.state.isUp && this.passive.unejectIfRefused(e.u)) {
        this.apply(e, 'passed a check after its ejection for refused connections', 'active');
      }
      return;
    }
    // A server the checks bring back starts with a clean failure count, and an ejection from
    // the outage they watched end is over (otherwise a restarted server would sit out the whole ejection).
    if (t.to === 'up') {
      this.passive.recordSuccess(e.u);
      this.passive.uneject(e.u);
    }
    this.apply(e, t.reason, 'active');
  }

  private armExpiry(): void {
    this.clock.clearTimer(this.expiryTimer);
    this.expiryTimer = undefined;
    const next = this.passive.nextExpiry();
    if (next === undefined || this.stopped) return;
    this.expiryTimer = this.clock.setTimer(() => {
      this.expiryTimer = undefined;
      if (this.stopped) return;
      for (const { server, reason } of this.passive.expire()) {
        const e = this.entries.get(server);
        if (e !== undefined) this.apply(e, reason, 'passive');
      }
      this.armExpiry();
    }, Math.max(0, next - this.clock.now()));
  }

  // Recomputes a server's health after an active or passive change; on a change, tells the target and publishes.
  private apply(e: Entry, reason: string, source: 'active' | 'passive'): void {
    const { u } = e;
    if (this.entries.get(u) !== e) return; // removed meanwhile
    const activeUp = e.state.isUp;
    const ejected = this.passive.isEjected(u);
    const available = activeUp && !ejected;
    const fields = { server: u.addr, name: u.name, reason, source };
    if (available === e.healthy) {
      // The other mechanism still holds it out (or never did): log, but no event.
      const holds = [!activeUp ? 'down by health checks' : '', ejected ? 'ejected' : ''].filter((w) => w !== '');
      const why = available ? 'still up' : `still out: ${holds.join(' and ')}`;
      this.logger.info({ ...fields, available }, `server ${u.addr} ${reason}; ${why}`);
      return;
    }
    e.lastReason = reason;
    e.healthy = available;
    e.changedAt = this.clock.epoch();
    this.target.setHealthy(u, available);
    // Taken out between probes (an ejection): its next probe comes within downInterval, not the
    // normal interval, so an ejection that a passing probe ends is short.
    if (!available && e.timer !== undefined) this.scheduleProbe(e, this.clock.now() + this.jittered(this.settings.active.downIntervalMs));
    const total = this.target.servers.length;
    const healthy = this.target.availableCount();
    const counts = { healthy, total };
    const silenced = this.target.silenced(u);
    const quiet = silenced ? ' (disabled by an operator: no alert)' : '';
    if (available) this.logger.info({ ...fields, ...counts }, `server ${u.addr} up: ${reason}${quiet}`);
    else this.logger.warn({ ...fields, ...counts }, `server ${u.addr} down: ${reason}${quiet}`);
    if (!silenced) this.publish(available ? 'server-up' : 'server-down', u, reason, counts);
    if (!available && healthy === 0 && !this.allDown) {
      this.allDown = true;
      this.logger.warn({ ...fields, ...counts }, `all servers down: no server can take requests`);
      this.publish('all-down', u, reason, counts);
    } else if (available && this.allDown && healthy > 0) {
      this.allDown = false;
      this.logger.info({ ...fields, ...counts }, `recovered: server ${u.addr} takes requests again`);
      this.publish('recovered', u, reason, counts);
    }
    this.logBackups();
  }

  // Says when traffic moves to backup servers and back; no event type exists for it.
  private logBackups(): void {
    let primaries = 0;
    let backups = 0;
    for (const s of this.target.servers) {
      if (!s.available) continue;
      if (s.backup) backups++;
      else primaries++;
    }
    const serving = primaries === 0 && backups > 0;
    if (serving === this.backupsServing) return;
    this.backupsServing = serving;
    if (serving) this.logger.warn({ backups }, 'all primary servers down: backup servers take requests');
    else if (primaries > 0) this.logger.info({ primaries }, 'primary servers take requests again');
  }

  private publish(type: HealthEventType, u: Upstream, reason: string, counts: { healthy: number; total: number }): void {
    const e: HealthEvent = { type, server: { addr: u.addr, name: u.name }, reason, time: this.clock.epoch(), ...counts };
    try {
      this.events.publish(e);
    } catch (err) {
      // A broken listener must not stop health checking.
      this.logger.warn({ err, event: type, server: u.addr }, 'health event listener threw');
    }
  }
}
