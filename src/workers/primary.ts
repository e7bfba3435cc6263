// The primary of `"workers": N`: it runs the one Cluster (health checks, discovery, notifiers,
// admin API, reloads, operator actions) and N worker processes (node:cluster) that serve clients.
// To the rest of the program it is the engine: listen, url, apply, ready, close.
import cluster, { type Worker } from 'node:cluster';
import type { AddressInfo } from 'node:net';
import { ConfigError, type Config } from '../config/load.js';
import { EXIT_BAD_INPUT } from '../cli/exit.js';
import type { Cluster } from '../control/cluster.js';
import type { Engine } from '../engines/engine.js';
import { BalancerError } from '../util/errors.js';
import { countOf } from '../util/log-throttle.js';
import type { Logger } from '../util/logger.js';
import { RestartBackoff } from './backoff.js';
import { compact, mergeMetrics, primaryPart, retiredPart, workerPart } from './metrics-merge.js';
import { isFromWorker, type FromWorker, type MetricsJson, type ToWorker } from './protocol.js';
import { toWire, type WireConfig } from './wire-config.js';
import type { MemberState, RemoteWorkers } from './reports.js';

/** How workers share the listening port. */
export type ListenMode = 'reuseport' | 'round-robin';

/**
 * The default: every worker binds its own socket with SO_REUSEPORT and the kernel spreads
 * connections (measured against node:cluster's round-robin hand-off: README "Workers").
 */
export const DEFAULT_LISTEN_MODE: ListenMode = 'reuseport';

/** How long a scrape waits for a worker's metrics before using the last it sent. */
const METRICS_WAIT_MS = 2000;
/** After the shutdown grace, how long workers get to exit before they are killed. */
const EXIT_MARGIN_MS = 5000;

/** One worker as the admin API shows it. */
export interface WorkerView {
  /** 1..N: the slot, kept across restarts. */
  readonly slot: number;
  /** Its process id now (undefined while it is being restarted). */
  readonly pid: number | undefined;
  /** ISO time it started (this incarnation). */
  readonly since: string | undefined;
  /** Times it was restarted after dying. */
  readonly restarts: number;
  /** Listening and not stopping. */
  readonly ready: boolean;
  /** Requests it reported as ended, since the balancer started (all its incarnations). */
  readonly requests: number;
  /** Requests in flight in it (its last report). */
  readonly inflight: number;
}

// One worker slot: the process in it now, and what outlives its restarts.
interface Slot {
  readonly n: number;
  worker: Worker | undefined;
  startedAt: number;
  listening: boolean;
  restarts: number;
  requests: number;
  readonly backoff: RestartBackoff;
  timer: NodeJS.Timeout | undefined;
  inflight: Readonly<Record<string, number>>;
  // The last metrics it sent (a scrape, or its goodbye).
  metrics: MetricsJson | undefined;
  // The config it was last given (a reload while it started reaches it once it listens).
  config: Config | undefined;
}

/** The primary's side of the workers: forks, restarts, IPC, merged metrics. */
export class WorkerPool implements Engine, RemoteWorkers {
  private readonly slots: Slot[] = [];
  private bound: AddressInfo | undefined;
  private clientUrl = '';
  // The configured address the workers listen on (a reload cannot move it).
  private boundAddr = '';
  private port: number | undefined;
  private stopping: Promise<void> | undefined;
  private sent: MemberState[] = [];
  private changePending = false;
  private retired: MetricsJson[] = [];
  private compacting = false;
  // The start failed: the balancer exits; no worker is restarted.
  private abandoned = false;
  private scrapeId = 0;
  private readonly scrapes = new Map<number, { waiting: Set<number>; done: () => void }>();
  private readonly reopens: ((r: { ok: boolean; message: string }) => void)[] = [];
  private reloadsApplied: { waiting: Set<number>; kept: Set<string>; primary: Set<string> } | undefined;
  private startFailure: ((e: Error) => void) | undefined;

  /** `count` workers serving the clients of `plane`. */
  constructor(
    private readonly plane: Cluster,
    private readonly log: Logger,
    readonly count: number,
    readonly mode: ListenMode = DEFAULT_LISTEN_MODE,
  ) {
    for (let n = 1; n <= count; n++) {
      this.slots.push({ n, worker: undefined, startedAt: 0, listening: false, restarts: 0, requests: 0, backoff: new RestartBackoff(), timer: undefined, inflight: {}, metrics: undefined, config: undefined });
    }
    plane.attachWorkers(this);
  }

  // ---- Engine. ----

  /** Starts the workers; resolves once every one listens (rejects when one cannot: the balancer does not start). */
  async listen(): Promise<AddressInfo> {
    // Structured clone: a Config's Sets (passive statuses) cross as Sets.
    cluster.setupPrimary({ serialization: 'advanced' });
    this.boundAddr = this.plane.config.addr;
    cluster.on('message', this.onMessage);
    cluster.on('exit', this.onExit);
    const failed = new Promise<never>((_, reject) => (this.startFailure = reject));
    // The first finds the port (port 0: any free one); the others take the same.
    const [first, ...rest] = this.slots;
    if (first === undefined) throw new BalancerError('E_LISTEN', 'no workers');
    await Promise.race([this.start(first), failed]);
    await Promise.race([Promise.all(rest.map((s) => this.start(s))), failed]);
    this.startFailure = undefined;
    return this.bound as AddressInfo;
  }

  /** The URL clients use. */
  url(): string {
    return this.clientUrl;
  }

  /** A reload reaches every worker; returns what needs a restart as far as the primary knows (engines may add theirs: logged when they answer). */
  apply(config: Config): { readonly kept: readonly string[] } {
    // The workers' sockets stay where they were bound (the control plane holds the new config already).
    const primary = new Set<string>();
    if (config.addr !== this.boundAddr) primary.add(`addr (still ${this.boundAddr})`);
    const live = this.slots.filter((s) => s.worker !== undefined && s.listening);
    this.reloadsApplied = { waiting: new Set(live.map((s) => s.n)), kept: new Set(), primary };
    for (const s of live) {
      s.config = config;
      this.send(s, { t: 'config', config: this.workerConfig(config) });
    }
    // After the config, the whole server list (a snapshot, whatever changed).
    this.sent = [];
    this.changed();
    return { kept: [...primary] };
  }

  /** Workers follow membership themselves (members messages). */
  serverLeft(): void {}

  /** Not stopping, and a worker listens (one being restarted does not stop the others serving). */
  ready(): boolean {
    return this.stopping === undefined && this.slots.some((s) => s.listening);
  }

  /**
   * Graceful stop: every worker stops accepting and finishes its requests within `graceMs`; the
   * promise resolves when all have exited (those still running EXIT_MARGIN_MS later are killed).
   */
  close(graceMs = this.plane.config.timeouts.shutdownMs): Promise<void> {
    this.stopping ??= (async () => {
      const alive = this.slots.filter((s) => s.worker !== undefined && !s.worker.isDead());
      for (const s of this.slots) {
        if (s.timer !== undefined) clearTimeout(s.timer);
        s.timer = undefined;
      }
      const exits = alive.map((s) => new Promise<void>((resolve) => (s.worker as Worker).once('exit', () => resolve())));
      for (const s of alive) this.send(s, { t: 'stop', graceMs });
      const kill = setTimeout(() => {
        for (const s of alive) {
          if (s.worker !== undefined && !s.worker.isDead()) {
            this.log.warn({ worker: s.n, pid: s.worker.process.pid }, `worker ${s.n} (pid ${s.worker.process.pid}) did not exit ${(graceMs + EXIT_MARGIN_MS) / 1000} s after being told to stop: killed`);
            s.worker.process.kill('SIGKILL');
          }
        }
      }, graceMs + EXIT_MARGIN_MS);
      await Promise.all(exits);
      clearTimeout(kill);
    })();
    return this.stopping;
  }

  /** SIGUSR1: every worker reopens its access log; resolves with what the first to fail (or the first) said. */
  reopenAccessLog(): Promise<{ ok: boolean; message: string }> {
    const live = this.slots.filter((s) => s.worker !== undefined && s.listening);
    if (live.length === 0) return Promise.resolve({ ok: false, message: 'no worker is running to reopen the access log' });
    const answers = live.map(() => new Promise<{ ok: boolean; message: string }>((resolve) => this.reopens.push(resolve)));
    for (const s of live) this.send(s, { t: 'reopen' });
    return Promise.all(answers).then((rs) => {
      const bad = rs.find((r) => !r.ok);
      const r = bad ?? (rs[0] as { ok: boolean; message: string });
      return { ok: r.ok, message: `${r.message} (${countOf(live.length, 'worker')})` };
    });
  }

  // ---- RemoteWorkers: what the Cluster asks of the workers. ----

  /** Requests in flight to `key`, summed over the workers' last reports. */
  inflight(key: string): number {
    let n = 0;
    for (const s of this.slots) n += s.inflight[key] ?? 0;
    return n;
  }

  /** The servers changed: the workers hear of it as soon as the code that changed them is done (changes made together go together). */
  changed(): void {
    if (this.changePending) return;
    this.changePending = true;
    queueMicrotask(() => {
      this.changePending = false;
      this.broadcastMembers();
    });
  }

  // ---- Admin API and metrics. ----

  /** The workers, for the admin API. */
  views(): WorkerView[] {
    return this.slots.map((s) => ({
      slot: s.n,
      pid: s.worker?.isDead() === false ? s.worker.process.pid : undefined,
      since: s.worker?.isDead() === false ? new Date(s.startedAt).toISOString() : undefined,
      restarts: s.restarts,
      ready: s.listening && this.stopping === undefined,
      requests: s.requests,
      inflight: Object.values(s.inflight).reduce((x, y) => x + y, 0),
    }));
  }

  /** /metrics: the primary's metrics merged with every worker's (asked now; a worker that does not answer in time counts with the last it sent). */
  metricsSource(own: { readonly contentType: string; readonly registry: { getMetricsAsJSON(): Promise<unknown> } }): { readonly contentType: string; metrics(): Promise<string> } {
    return {
      contentType: own.contentType,
      metrics: async () => {
        await this.collect();
        const parts: MetricsJson[] = [primaryPart((await own.registry.getMetricsAsJSON()) as MetricsJson), ...this.retired];
        for (const s of this.slots) if (s.metrics !== undefined) parts.push(workerPart(s.metrics));
        return mergeMetrics(parts);
      },
    };
  }

  // Asks every listening worker for its metrics and waits (up to METRICS_WAIT_MS) for the answers.
  private collect(): Promise<void> {
    const live = this.slots.filter((s) => s.worker !== undefined && s.listening);
    if (live.length === 0) return Promise.resolve();
    const id = ++this.scrapeId;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), METRICS_WAIT_MS);
      const finish = (): void => {
        clearTimeout(timer);
        this.scrapes.delete(id);
        resolve();
      };
      this.scrapes.set(id, { waiting: new Set(live.map((s) => s.n)), done: finish });
      for (const s of live) this.send(s, { t: 'metrics', id });
    });
  }

  // ---- Workers come and go. ----

  // Forks the worker of slot `s`; resolves once it listens (a failure before that goes to startFailure).
  private start(s: Slot): Promise<void> {
    s.timer = undefined;
    const worker = cluster.fork({ BALANCER_WORKER_SLOT: String(s.n) });
    s.worker = worker;
    s.startedAt = Date.now();
    s.listening = false;
    s.inflight = {};
    return new Promise<void>((resolve) => {
      worker.once('online', () => {
        // Stopping already: a worker that has not started has nothing to finish.
        if (this.stopping !== undefined) return void worker.process.kill('SIGTERM');
        s.config = this.plane.config;
        this.send(s, { t: 'init', config: this.workerConfig(s.config), members: this.plane.members(), workers: this.count, metrics: this.plane.metrics !== undefined });
      });
      const onListening = (m: unknown): void => {
        if (!isFromWorker(m) || m.t !== 'listening') return;
        worker.off('message', onListening);
        resolve();
      };
      worker.on('message', onListening);
    });
  }

  // The config a worker runs with: the primary's, on the port found, bound the way `mode` says.
  private workerConfig(config: Config): WireConfig {
    // Round-robin: node:cluster shares the primary's socket by the configured address (port 0 included).
    if (this.mode === 'round-robin') return toWire(config);
    const listen = { ...config.listen, port: this.port ?? config.listen.port, reusePort: true };
    return toWire({ ...config, listen });
  }

  private readonly onExit = (worker: Worker, code: number | null, signal: string | null): void => {
    const s = this.slots.find((x) => x.worker === worker);
    if (s === undefined) return;
    const listened = s.listening;
    s.listening = false;
    s.inflight = {};
    if (s.metrics !== undefined) this.retire(s.metrics);
    s.metrics = undefined;
    this.settleFor(s);
    const pid = worker.process.pid;
    const how = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
    if (this.abandoned) return;
    // At start, a worker that dies before it listens fails the start (it would only die again).
    if (this.startFailure !== undefined && !listened) {
      this.abandoned = true;
      this.startFailure(new BalancerError('E_WORKER_START', `worker ${s.n} (pid ${pid}) ${how} before it listened`));
      this.startFailure = undefined;
      return;
    }
    if (this.stopping !== undefined) {
      this.log.info({ worker: s.n, pid, code, signal }, `worker ${s.n} (pid ${pid}) ${signal !== null || code !== 0 ? how : 'stopped'}`);
      return;
    }
    const ranMs = Date.now() - s.startedAt;
    const delay = s.backoff.delay(ranMs);
    s.restarts++;
    this.log.error(
      { worker: s.n, pid, code, signal, ranMs, restartInMs: delay, restarts: s.restarts },
      `worker ${s.n} (pid ${pid}) ${how} after ${ranMs < 10_000 ? `${ranMs} ms` : `${Math.round(ranMs / 1000)} s`}; its requests in flight were lost; restarting it in ${delay} ms (restart ${s.restarts})`,
    );
    s.timer = setTimeout(() => {
      if (this.stopping !== undefined) return;
      void this.start(s).then(() => this.log.info({ worker: s.n, pid: s.worker?.process.pid }, `worker ${s.n} restarted (pid ${s.worker?.process.pid})`));
    }, delay);
  };

  // A worker that is gone no longer holds back a scrape, a reopen or a reload's report.
  private settleFor(s: Slot): void {
    for (const [, scrape] of this.scrapes) {
      scrape.waiting.delete(s.n);
      if (scrape.waiting.size === 0) scrape.done();
    }
    if (this.reloadsApplied?.waiting.delete(s.n) === true) this.reportKept();
  }

  // The counters a dead worker counted stay in the totals.
  private retire(m: MetricsJson): void {
    this.retired.push(retiredPart(m));
    if (this.retired.length > 8 && !this.compacting) {
      // Scrapes meanwhile still see every part; parts retired meanwhile stay after the merged one.
      this.compacting = true;
      const all = [...this.retired];
      void compact(all).then(
        (one) => {
          this.retired = [one, ...this.retired.slice(all.length)];
          this.compacting = false;
        },
        () => (this.compacting = false),
      );
    }
  }

  private readonly onMessage = (worker: Worker, m: unknown): void => {
    if (!isFromWorker(m)) return;
    const s = this.slots.find((x) => x.worker === worker);
    if (s === undefined) return;
    this.handle(s, m);
  };

  private handle(s: Slot, m: FromWorker): void {
    switch (m.t) {
      case 'listening': {
        s.listening = true;
        if (this.bound === undefined) {
          this.bound = m.address;
          this.clientUrl = m.url;
          this.port = m.address.port;
        }
        // It may have missed changes made while it started.
        if (s.config !== this.plane.config) {
          s.config = this.plane.config;
          this.send(s, { t: 'config', config: this.workerConfig(s.config) });
        }
        this.send(s, { t: 'members', members: this.plane.members() });
        return;
      }
      case 'failed': {
        // A config the engine refused (an access log path that cannot be opened) exits 2, as without workers.
        const e = m.exitCode === EXIT_BAD_INPUT ? new ConfigError('E_CONFIG_INVALID', [m.message]) : new BalancerError('E_LISTEN', m.message);
        if (this.startFailure !== undefined) {
          this.abandoned = true;
          this.startFailure(e);
          this.startFailure = undefined;
        } else {
          this.log.error({ worker: s.n, problem: m.message }, `worker ${s.n} could not start: ${m.message}`);
        }
        return;
      }
      case 'report': {
        const { servers, inflight } = m.batch;
        s.inflight = inflight;
        for (const [key, r] of Object.entries(servers)) {
          s.requests += r.requests;
          this.plane.remoteAttempts(key, r);
        }
        return;
      }
      case 'applied': {
        const r = this.reloadsApplied;
        if (r === undefined || !r.waiting.delete(s.n)) return;
        for (const k of m.kept) r.kept.add(k);
        if (r.waiting.size === 0) this.reportKept();
        return;
      }
      case 'metrics': {
        s.metrics = m.metrics;
        const scrape = this.scrapes.get(m.id);
        if (scrape !== undefined) {
          scrape.waiting.delete(s.n);
          if (scrape.waiting.size === 0) scrape.done();
        }
        return;
      }
      case 'reopened':
        this.reopens.shift()?.(m);
        return;
    }
  }

  // Once every worker applied a reload: the settings their engines keep until a restart, beyond what the reload line said.
  private reportKept(): void {
    const r = this.reloadsApplied;
    if (r === undefined || r.waiting.size > 0) return;
    this.reloadsApplied = undefined;
    const extra = [...r.kept].filter((k) => !r.primary.has(k));
    if (extra.length > 0) this.log.warn({ kept: extra }, `reload: the workers keep ${extra.join(', ')}: needs a restart to change`);
  }

  // Sends the workers what changed since the last message: the whole list when membership or order changed, else one state per server that changed.
  private broadcastMembers(): void {
    const now = this.plane.members();
    const before = this.sent;
    this.sent = now;
    const sameList = now.length === before.length && now.every((m, i) => m.key === before[i]?.key && m.name === before[i]?.name && m.backup === before[i]?.backup && m.url === before[i]?.url);
    const live = this.slots.filter((s) => s.worker !== undefined && s.listening);
    if (!sameList) {
      for (const s of live) this.send(s, { t: 'members', members: now });
      return;
    }
    now.forEach((m, i) => {
      const b = before[i];
      if (b !== undefined && b.healthy === m.healthy && b.operator === m.operator && b.weight === m.weight) return;
      for (const s of live) this.send(s, { t: 'state', state: m });
    });
  }

  private send(s: Slot, m: ToWorker): void {
    const w = s.worker;
    if (w === undefined || w.isDead() || !w.isConnected()) return;
    try {
      w.send(m);
    } catch {
      // The channel closed under us: the exit handler deals with the worker.
    }
  }
}
