import type { AdminControl, ReloadOutcome, ServerAction, ServerView } from '../admin/control.js';
import type { PickRequest, SelectorDeps } from './selection/selector.js';
import { defaultDeps } from './selection/selector.js';
import type { Upstream } from './selection/upstream.js';
import type { AttemptOutcome, ControlPlane, EngineHooks } from '../engines/engine.js';
import { ConfigError, configWarnings, loadConfig, type Config } from '../config/load.js';
import { HealthChecker, type ProbeFn } from './health/checker.js';
import { HealthEvents } from './health/events.js';
import type { FailureCause } from './health/passive.js';
import { decideRetry, type RetryDecision, type RetryInput } from './health/retry.js';
import { RetryBudget } from './health/retry-budget.js';
import { DEFAULT_CLOSE_DEADLINE_MS, Notifier } from './notify/notifier.js';
import { systemClock, type Clock } from '../util/clock.js';
import { countOf } from '../util/log-throttle.js';
import type { LogSink } from '../util/logger.js';
import { redactConfig } from '../admin/redact.js';
import { ServerStates, type OperatorState } from './server-states.js';
import type { ServerSpec, SourceStatus, UpstreamSource } from './sources/source.js';
import { STATIC_SOURCE_ID, StaticSource } from './sources/static.js';
import { Announcements, type Announcement } from './announcements.js';
import type { HealthEvent } from './health/events.js';
import { LiveStats } from './live-stats.js';
import type { EventFeed, FeedSnapshot, FeedSummary } from '../admin/events.js';
import { Metrics } from './metrics.js';
import { probe as probeServer } from './health/probe.js';
import { localResourceCode } from '../engines/node/local-errors.js';
import type { MemberState, RemoteAttempts, RemoteWorkers } from '../workers/reports.js';

/**
 * Builds the upstream sources of a config besides its static list (DNS, ...): the seam for new
 * kinds of source. `previous` are the sources running now: return one of them to keep it running
 * (and its last answer), a new instance to replace it.
 */
export type SourceFactory = (config: Config, previous: readonly UpstreamSource[]) => readonly UpstreamSource[];

/** What a Cluster is built with; everything but the logger has a production default. */
export interface ClusterOptions {
  readonly log: LogSink;
  /** Random and monotonic time for the algorithms. */
  readonly deps?: SelectorDeps;
  /** Time and timers of health checks, slow start and notifiers. */
  readonly clock?: Clock;
  /** Probe function of active checks (tests). */
  readonly probe?: ProbeFn;
  /** Sources besides the config's list (DNS); default none. */
  readonly sources?: SourceFactory;
  /** Reads and validates a config file (default `loadConfig`). */
  readonly load?: (file: string) => Config;
  /** The config came from command-line flags, not a file: there is nothing to reload. */
  readonly fileless?: boolean;
  /** Keep Prometheus metrics (`metrics`); default off. */
  readonly metrics?: boolean;
}

// Per server (keyed by address): what outlives reloads besides ServerStates' record.
interface Entry {
  readonly upstream: Upstream;
  readonly key: string;
  source: string;
  // The weight the source gives it; an operator's weight holds until this changes.
  sourceWeight: number;
  override: number | undefined;
  requests: number;
  failures: number;
  // Epoch ms of the last operator action (or of being added).
  operatorAt: number;
}

const ACTIONS: Readonly<Record<ServerAction, OperatorState>> = { drain: 'draining', disable: 'disabled', enable: 'active' };

/**
 * The control plane: owns the servers (merged from every upstream source), their state
 * (health, passive ejection, slow start, operator actions, in-flight counts and totals, kept by
 * address across reloads), the selection algorithm, the retry policy and budget, health events
 * and notifiers. Engines ask it for a server and report how each attempt ended; `apply` puts a
 * new config in force without forgetting what it knows.
 */
export class Cluster implements AdminControl, ControlPlane, EventFeed {
  /** Health transitions, for notifiers and logs; one stream for the life of the process. */
  readonly events = new HealthEvents();
  /** Everything the control plane announces (health, operator, reload, DNS), for the event stream. */
  readonly announcements = new Announcements();
  private readonly liveStats: LiveStats<Upstream>;
  /** Prometheus metrics, when the options ask for them. */
  readonly metrics: Metrics | undefined;
  // How the last failed attempt allowed a retry failed (for balancer_retries_total{reason}).
  private retryReason = '';
  private cfg: Config;
  private readonly log: LogSink;
  private readonly clock: Clock;
  private readonly states: ServerStates;
  private readonly health: HealthChecker;
  private notifier: Notifier;
  private budget: RetryBudget;
  private readonly entries = new Map<string, Entry>();
  private readonly byUpstream = new Map<Upstream, Entry>();
  private watched: UpstreamSource[] = [];
  // Sources started (and not stopped).
  private readonly live = new Set<UpstreamSource>();
  private readonly reported = new Map<string, readonly ServerSpec[]>();
  private readonly engines: EngineHooks[] = [];
  private readonly sourceFactory: SourceFactory;
  private readonly load: (file: string) => Config;
  private started = false;
  private stopped = false;
  // The reload in progress (reloads run one after another).
  private reloading: Promise<void> = Promise.resolve();
  // Worker processes serving clients with this control plane's servers (workers > 1).
  private remote: RemoteWorkers | undefined;

  /** Builds the control plane of `config`; nothing runs until `start()`. */
  constructor(config: Config, private readonly o: ClusterOptions) {
    this.cfg = config;
    this.log = o.log;
    this.clock = o.clock ?? systemClock;
    this.sourceFactory = o.sources ?? (() => []);
    this.load = o.load ?? loadConfig;
    const deps = o.deps ?? defaultDeps;
    this.states = new ServerStates(config.algorithm, config.algorithmOptions, deps, this.clock, config.health.slowStartMs, () => this.remote?.changed());
    this.metrics = o.metrics === true ? new Metrics(() => this.servers()) : undefined;
    this.health = new HealthChecker({ servers: [], target: this.states, settings: config.health, events: this.events, logger: o.log, clock: this.clock, probe: this.countedProbe(o.probe) });
    if (this.metrics !== undefined) this.events.on('event', (ev) => this.countTransition(ev.type, ev.server.addr));
    this.budget = new RetryBudget(() => this.clock.now(), config.retries.budget);
    this.notifier = this.newNotifier(config);
    this.liveStats = new LiveStats(this.clock);
    this.events.on('event', (e) => this.announceHealth(e));
    this.setSources(config);
  }

  /** The config in force. */
  get config(): Config {
    return this.cfg;
  }

  /** Retry-After, in seconds, of 503 answers. */
  get retryAfterSeconds(): number {
    return Math.max(1, Math.ceil(this.cfg.healthCheckIntervalMs / 1000));
  }

  /** Attaches an engine: it hears of servers leaving, and reloads reach it. */
  attach(engine: EngineHooks): void {
    this.engines.push(engine);
  }

  /** Starts health checks and the sources that watch something. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const s of this.watched) if (!this.live.has(s)) this.startSource(s);
    this.health.start();
  }

  // ---- The engine's API: pick, report. ----

  /** Picks a server for a request (not one of `exclude`: the servers a retry already tried) and counts it in flight. */
  pick(req: PickRequest, exclude?: readonly Upstream[]): Upstream | undefined {
    if (exclude === undefined) {
      this.budget.recordRequest();
      return this.states.acquire(req);
    }
    const next = this.states.acquireExcept(req, exclude);
    if (next !== undefined) this.metrics?.retry(this.retryReason);
    return next;
  }

  /**
   * An attempt on `u` ended after `durationMs`: the algorithm learns its duration, passive health
   * its outcome, the totals count it. Attempts cut by our own shutdown or reload count neither way.
   */
  attemptEnded(u: Upstream, durationMs: number, outcome: AttemptOutcome): void {
    const { failure, status } = outcome;
    const e = this.byUpstream.get(u);
    // Attempts cut by us, and the balancer's own resource errors (EMFILE...), say nothing about the server.
    if (failure?.kind === 'cut' || failure?.local !== undefined) {
      this.states.release(u, durationMs, false);
    } else {
      const failed = failure !== undefined || this.cfg.health.passive.statuses.has(status);
      this.states.release(u, durationMs, failed);
      if (e !== undefined) {
        e.requests++;
        if (failed) e.failures++;
      }
      this.liveStats.record(u, durationMs, failed);
      if (failure !== undefined) {
        this.metrics?.upstreamError(u, failure.reason);
        this.reportFailure(u, failure.reason, failure.kind);
      } else if (status !== 0) this.health.reportSuccess(u, status);
    }
    if (u.inflight === 0 && this.states.isLeaving(u)) this.forget(u);
  }

  /** Counts a failure against `u` outside any attempt (stray bytes on an idle connection). */
  reportFailure(u: Upstream, reason: string, cause: FailureCause): void {
    const wasIn = this.metrics !== undefined && this.health.verdict(u)?.healthy === true;
    this.health.reportFailure(u, reason, cause);
    // Health was in and one failure took it out: passive health ejected it.
    if (wasIn && this.health.verdict(u)?.healthy === false) this.metrics?.ejection(u);
  }

  /** Whether a failed attempt may be retried on another server: the replay rules, then the budget. */
  retryDecision(input: RetryInput): RetryDecision {
    this.retryReason = input.kind;
    return decideRetry(input, this.budget, this.cfg.retries.attempts);
  }

  // ---- Workers (src/workers/): they select and report; health decisions stay here. ----

  /** Worker processes serve clients with these servers: they hear of every change and their in-flight counts show in the views. */
  attachWorkers(remote: RemoteWorkers): void {
    this.remote = remote;
  }

  /** The servers taking part in selection, in order, with what a worker's selection needs of each. */
  members(): MemberState[] {
    return this.states.servers.map((u) => ({
      key: this.byUpstream.get(u)?.key ?? u.addr,
      url: u.url.href,
      name: u.name,
      weight: u.weight,
      backup: u.backup,
      healthy: this.states.healthy(u),
      operator: this.states.operator(u),
    }));
  }

  /**
   * Attempts a worker made on the server `key`, reported in one batch: the totals, live figures
   * and passive health count them as attemptEnded does, in their order (in-flight counts and the
   * algorithm's averages are the worker's own). A server that left meanwhile is skipped.
   */
  remoteAttempts(key: string, r: RemoteAttempts): void {
    const e = this.entries.get(key);
    if (e === undefined) return;
    const u = e.upstream;
    e.requests += r.requests;
    e.failures += r.failures;
    if (r.requests > 0) this.liveStats.add(u, r.requests, r.failures, r.hist);
    for (const p of r.passive) {
      if (typeof p === 'number') this.health.reportSuccess(u, p);
      else this.reportFailure(u, p.reason, p.cause);
    }
  }

  // ---- Reloads. ----

  /**
   * Puts `config` in force. Every server whose address is still configured keeps its state
   * (health, ejections, averages, slow start, in-flight, totals, operator actions); new ones start
   * as at start-up; removed ones take no new requests and are forgotten once theirs finish.
   * Notifiers are rebuilt only when their config changed. Returns what changed, for the log.
   */
  apply(config: Config): string[] {
    const old = this.cfg;
    const changes: string[] = [];
    this.cfg = config;
    if (config.algorithm !== old.algorithm) changes.push(`algorithm ${old.algorithm} -> ${config.algorithm}`);
    if (JSON.stringify(config.health, setReplacer) !== JSON.stringify(old.health, setReplacer)) {
      this.health.setSettings(config.health);
      this.states.setSlowStart(config.health.slowStartMs);
      changes.push('healthCheck');
    }
    if (JSON.stringify(config.retries) !== JSON.stringify(old.retries)) {
      this.budget = new RetryBudget(() => this.clock.now(), config.retries.budget);
      changes.push('retries');
    }
    if (notifierKey(config) !== notifierKey(old)) {
      const closing = this.notifier;
      this.notifier = this.newNotifier(config);
      void closing.close().catch(() => undefined);
      changes.push('notifications');
    }
    const before = new Set(this.entries.keys());
    this.setSources(config);
    const after = new Set(this.entries.keys());
    for (const k of after) if (!before.has(k)) changes.push(`+ ${k}`);
    for (const k of before) if (!after.has(k) || this.states.isLeaving((this.entries.get(k) as Entry).upstream)) changes.push(`- ${k}`);
    return changes;
  }

  /**
   * The one reload, whatever asks for it (SIGHUP/SIGUSR2, --watch, the admin API): reads the
   * config file, validates it, applies it to the control plane and every engine, and logs the
   * outcome (`trigger` says who asked). A bad file changes nothing and every problem is logged and
   * returned. Reloads never overlap: one asked for during another runs after it.
   */
  reload(trigger = 'admin API'): Promise<ReloadOutcome> {
    const run = this.reloading.then(() => this.reloadNow(trigger));
    if (this.metrics !== undefined) run.then((r) => this.metrics?.reload(r.ok), () => this.metrics?.reload(false));
    this.reloading = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private reloadNow(trigger: string): ReloadOutcome {
    const file = this.cfg.file;
    if (this.o.fileless === true) {
      const problem = 'nothing to reload: started from --from/--to flags, not a config file';
      this.log.warn({ trigger }, `${trigger}: ${problem}`);
      this.announce({ type: 'reload-rejected', reason: trigger, problems: [problem] });
      return { ok: false, problems: [problem] };
    }
    let next: Config;
    try {
      next = this.load(file);
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems : [String(e)];
      for (const p of problems) this.log.error({ problem: p, trigger }, `reload rejected, still serving the previous config: ${p}`);
      this.announce({ type: 'reload-rejected', reason: trigger, problems });
      return { ok: false, problems };
    }
    for (const w of configWarnings(next)) this.log.warn({ warning: w }, w);
    const changes = this.apply(next);
    const kept = this.engines.flatMap((x) => x.apply(next).kept);
    this.log.info(
      { algorithm: next.algorithm, servers: next.servers.map((s) => s.addr), changes, kept, signal: trigger },
      `reloaded ${file} (${trigger}): ${next.algorithm} over ${countOf(next.servers.length, 'server')}` +
        `${next.dnsServers.length > 0 ? ` and ${countOf(next.dnsServers.length, 'DNS name')}` : ''}` +
        `${changes.length > 0 ? `; changed: ${changes.join(', ')}` : '; nothing changed'}` +
        `${kept.length > 0 ? `; needs a restart to change: ${kept.join(', ')}` : ''}`,
    );
    this.announce({ type: 'reload', reason: trigger, changes, kept });
    return { ok: true, changes, kept };
  }

  // ---- Sources. ----

  private setSources(config: Config): void {
    const previous = this.watched.filter((s) => s.id !== STATIC_SOURCE_ID);
    const next: UpstreamSource[] = [new StaticSource(config.servers), ...this.sourceFactory(config, previous)];
    const running = this.live;
    const wanted = new Set(next);
    // Sources no longer wanted stop; what they reported goes unless a new source of the same id
    // takes over (it keeps the last known set until it reports).
    const nextIds = new Set(next.map((s) => s.id));
    for (const s of this.watched) {
      if (wanted.has(s)) continue;
      if (!nextIds.has(s.id)) this.reported.delete(s.id);
      this.live.delete(s);
      void s.stop().catch(() => undefined);
    }
    this.watched = next;
    // The factory hands back a running source to keep it (a DNS name still configured the same way);
    // a new instance starts (the config's list at once, the others once the cluster runs).
    for (const s of next) {
      if (!running.has(s) && (this.started || s.id === STATIC_SOURCE_ID)) this.startSource(s);
    }
    this.sync();
  }

  private startSource(s: UpstreamSource): void {
    this.live.add(s);
    s.start((specs) => {
      const changed = s.id !== STATIC_SOURCE_ID && addrsOf(this.reported.get(s.id) ?? []) !== addrsOf(specs);
      this.reported.set(s.id, specs);
      if (this.watched.includes(s)) this.sync();
      // After the sync: its counts include the servers that came or went.
      if (changed) this.announce({ type: 'dns-changed', reason: `${s.id} now gives ${countOf(specs.length, 'server')}`, source: s.id, servers: specs.length });
    });
  }

  // Merges what every source reports (first source wins an address) and brings the servers in line.
  private sync(): void {
    if (this.stopped) return;
    const members: { upstream: Upstream; name: string; weight: number; backup: boolean }[] = [];
    const seen = new Set<string>();
    for (const s of this.watched) {
      for (const spec of this.reported.get(s.id) ?? []) {
        const key = keyOf(spec.addr);
        if (seen.has(key)) continue;
        seen.add(key);
        const e = this.entry(key, spec);
        members.push({ upstream: e.upstream, name: spec.name ?? e.upstream.url.host, weight: e.override ?? spec.weight, backup: spec.backup });
      }
    }
    const leaving = [...this.entries.values()].filter((e) => !seen.has(e.key) && !this.states.isLeaving(e.upstream));
    this.states.setMembers(members, this.cfg.algorithm, this.cfg.algorithmOptions);
    for (const e of leaving) {
      this.health.remove(e.upstream);
      for (const x of this.engines) x.serverLeft(e.upstream);
      if (e.upstream.inflight > 0) {
        this.log.info({ server: e.upstream.addr, inflight: e.upstream.inflight }, `server ${e.upstream.addr} removed: no new requests, ${countOf(e.upstream.inflight, 'request')} in flight finishing`);
      } else {
        this.forget(e.upstream);
      }
    }
  }

  // The entry of `key`, made (as at start-up) when new or when it had left; the source's weight updated.
  private entry(key: string, spec: ServerSpec): Entry {
    let e = this.entries.get(key);
    if (e === undefined) {
      const upstream = this.states.create(spec.addr, { name: spec.name, weight: spec.weight, backup: spec.backup });
      e = { upstream, key, source: spec.source, sourceWeight: spec.weight, override: undefined, requests: 0, failures: 0, operatorAt: this.clock.epoch() };
      this.entries.set(key, e);
      this.byUpstream.set(upstream, e);
      this.health.add(upstream);
      this.metrics?.addServer(upstream);
    } else if (this.states.isLeaving(e.upstream)) {
      // Back before its last requests finished: health starts over (as for a new server), operator state stays.
      this.states.setHealthy(e.upstream, true);
      this.health.add(e.upstream);
    }
    e.source = spec.source;
    if (spec.weight !== e.sourceWeight) {
      // The config (or DNS) changed this server's weight: that beats an operator's.
      e.sourceWeight = spec.weight;
      e.override = undefined;
    }
    return e;
  }

  private forget(u: Upstream): void {
    const e = this.byUpstream.get(u);
    if (e === undefined) return;
    this.byUpstream.delete(u);
    this.entries.delete(e.key);
    this.states.forget(u);
    this.metrics?.removeServer(u);
  }

  // ---- Operators (AdminControl). ----

  /** Every server, in list order, then servers still finishing their requests after leaving. */
  servers(): ServerView[] {
    const list = [...this.entries.values()];
    const rank = (e: Entry) => (this.states.isLeaving(e.upstream) ? 1e9 : e.upstream.index);
    return list.sort((a, b) => rank(a) - rank(b)).map((e) => this.view(e));
  }

  /** How each source is doing. */
  sources(): SourceStatus[] {
    return this.watched.map((s) => s.status());
  }

  /** Drain, disable or enable the server named `name` (or at that address); undefined when unknown. */
  act(name: string, action: ServerAction): ServerView | undefined {
    const e = this.find(name);
    if (e === undefined) return undefined;
    const to = ACTIONS[action];
    const u = e.upstream;
    if (this.states.operator(u) !== to) {
      e.operatorAt = this.clock.epoch();
      this.states.setOperator(u, to);
      this.metrics?.transition(u, action === 'drain' ? 'draining' : action === 'disable' ? 'disabled' : 'enabled');
      const what = action === 'drain' ? `draining: no new requests, ${countOf(u.inflight + (this.remote?.inflight(e.key) ?? 0), 'request')} in flight` : action === 'disable' ? 'disabled: no traffic, no health alerts' : 'enabled: back in rotation';
      this.log.info({ server: u.addr, name: u.name, action }, `server ${u.addr} ${what}`);
      this.announce({ type: action === 'drain' ? 'drained' : action === 'disable' ? 'disabled' : 'enabled', reason: `${action} by an operator`, server: { addr: u.addr, name: u.name }, view: this.view(e) });
    }
    return this.view(e);
  }

  /** Sets the weight of `name` until a reload changes that server's weight; undefined when unknown. */
  setWeight(name: string, weight: number): ServerView | undefined {
    const e = this.find(name);
    if (e === undefined) return undefined;
    e.override = weight;
    this.states.setWeight(e.upstream, weight);
    this.log.info({ server: e.upstream.addr, weight }, `server ${e.upstream.addr} weight set to ${weight}`);
    const view = this.view(e);
    this.announce({ type: 'weight', reason: `weight set to ${weight} by an operator`, server: { addr: e.upstream.addr, name: e.upstream.name }, view, weight });
    return view;
  }

  /** The config in force, secrets redacted. */
  redactedConfig(): unknown {
    // Sets (passive.statuses) become arrays first: the result is JSON-ready.
    return redactConfig(JSON.parse(JSON.stringify(this.cfg, setReplacer)));
  }

  /** Every attached engine accepts connections. */
  ready(): boolean {
    return this.engines.length > 0 && this.engines.every((x) => x.ready());
  }

  /** The view of one server. */
  private view(e: Entry): ServerView {
    const u = e.upstream;
    const op = this.states.operator(u);
    const leaving = this.states.isLeaving(u);
    const verdict = this.health.verdict(u);
    const healthy = verdict?.healthy ?? this.states.healthy(u);
    const state = op === 'disabled' ? 'disabled' : op === 'draining' || leaving ? 'draining' : healthy ? 'up' : 'down';
    const healthSince = verdict?.since ?? 0;
    return {
      name: u.name,
      addr: e.key,
      state,
      healthy,
      reason: leaving ? `left ${e.source === STATIC_SOURCE_ID ? 'the config' : e.source}: finishing its requests in flight` : healthy ? undefined : verdict?.reason,
      since: new Date(Math.max(healthSince, e.operatorAt)).toISOString(),
      weight: u.weight,
      effectiveWeight: u.available ? u.effectiveWeight : 0,
      inflight: u.inflight + (this.remote?.inflight(e.key) ?? 0),
      requests: e.requests,
      failures: e.failures,
      backup: u.backup,
      source: e.source,
    };
  }

  // ---- The event stream (EventFeed). ----

  /** What a new event stream client gets first. */
  snapshot(): FeedSnapshot {
    return { name: this.cfg.name, algorithm: this.cfg.algorithm, servers: this.servers(), sources: this.sources() };
  }

  /** Live figures of every server and the totals, for the stream's periodic summary. */
  summary(): FeedSummary {
    let rps = 0;
    let errorsPerSecond = 0;
    let up = 0;
    const servers = this.servers().map((v) => {
      const u = (this.entries.get(v.addr) as Entry).upstream;
      const f = this.liveStats.figures(u);
      rps += f.rps;
      errorsPerSecond += f.errorsPerSecond;
      if (v.state === 'up') up++;
      const slowStart = u.available ? u.weightFactor : 0;
      return { name: v.name, state: v.state, healthy: v.healthy, inflight: v.inflight, effectiveWeight: round3(v.effectiveWeight), slowStart: round3(slowStart), rps: round3(f.rps), errorRate: round3(f.errorRate), p50: f.p50, p99: f.p99 };
    });
    return { time: this.clock.epoch(), totals: { rps: round3(rps), errorsPerSecond: round3(errorsPerSecond), up, total: servers.length }, servers };
  }

  // Publishes with the time and counts of now.
  private announce(a: Omit<Announcement, 'time' | 'healthy' | 'total'>): void {
    this.announcements.publish({ ...a, time: this.clock.epoch(), healthy: this.states.availableCount(), total: this.states.servers.length });
  }

  // Health events go on the bus as they are, with the server's view.
  private announceHealth(h: HealthEvent): void {
    let view: ServerView | undefined;
    for (const e of this.entries.values()) if (e.upstream.addr === h.server.addr && e.upstream.name === h.server.name) view = this.view(e);
    this.announcements.publish(view === undefined ? { ...h } : { ...h, view });
  }

  private find(name: string): Entry | undefined {
    for (const e of this.entries.values()) if (e.upstream.name === name) return e;
    return this.entries.get(name) ?? this.entries.get(safeKey(name));
  }

  // ---- Stop. ----

  /** Stops health checks, sources and slow start, and flushes notifiers (up to `notifyDeadlineMs`). */
  async stop(notifyDeadlineMs = DEFAULT_CLOSE_DEADLINE_MS): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.states.stop();
    await Promise.all([this.health.stop(), ...this.watched.map((s) => s.stop().catch(() => undefined)), this.notifier.close(notifyDeadlineMs)]);
  }

  private newNotifier(config: Config): Notifier {
    const m = this.metrics;
    const onResult = m === undefined ? undefined : m.notification.bind(m);
    return new Notifier(this.events, { balancer: { name: config.name, addr: config.addr }, notifiers: config.notifications, logger: this.log, clock: this.o.clock, onResult });
  }

  // The probe of active checks, counting each check's result (not those our own resources failed).
  private countedProbe(given: ProbeFn | undefined): ProbeFn | undefined {
    const m = this.metrics;
    if (m === undefined) return given;
    const run: ProbeFn = given ?? ((u, signal) => probeServer(u.url, this.cfg.health.active, signal));
    return (u, signal) =>
      run(u, signal).then((r) => {
        if (r.ok || localResourceCode(r.reason) === undefined) m.healthCheck(u, r.ok);
        return r;
      });
  }

  // A health event: server-down and server-up are transitions of that server.
  private countTransition(type: string, addr: string): void {
    if (type !== 'server-down' && type !== 'server-up') return;
    for (const e of this.entries.values()) if (e.upstream.addr === addr) this.metrics?.transition(e.upstream, type === 'server-down' ? 'down' : 'up');
  }
}

// Live figures to 3 decimals: sums of fifths print as 15.4, not 15.400000000000002.
function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

// A source's set of addresses, to tell a change from the same answer again.
function addrsOf(specs: readonly ServerSpec[]): string {
  return specs.map((x) => x.addr).sort().join(' ');
}

// Sets (passive.statuses) compare by content.
function setReplacer(_k: string, v: unknown): unknown {
  return v instanceof Set ? [...(v as Set<unknown>)] : v;
}

// Notifiers depend on their configs and on the name and address they put in messages.
function notifierKey(c: Config): string {
  return JSON.stringify([c.name, c.addr, c.notifications], setReplacer);
}

/** A server's identity: its normalised URL (origin plus path prefix). */
function keyOf(addr: string): string {
  const u = new URL(addr);
  return u.pathname === '/' ? u.origin : `${u.origin}${u.pathname}`;
}

function safeKey(s: string): string {
  try {
    return keyOf(s);
  } catch {
    return s;
  }
}
