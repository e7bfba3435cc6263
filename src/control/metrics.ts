// Every Prometheus metric of the balancer, in one registry (prom-client 15): the definitions, the
// per-server series kept on a record made when a server is added (so a request costs a few
// increments on pre-resolved children, never a label lookup by string), and the gauges computed
// at scrape time from the control plane's server views (no cost on the request path).
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ServerView } from '../admin/control.js';
import type { Upstream } from './selection/upstream.js';

/** Caddy's default duration buckets, in seconds. */
export const DURATION_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Methods with their own label value; every other method is "OTHER" (bounded cardinality). */
export const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'OTHER'] as const;
const CODE_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;
const STATES = ['up', 'down', 'draining', 'disabled'] as const;

// Label values of slot `i` (method index * 5 + class index) of the per-server request children.
const methodOf = (i: number): string => METHODS[Math.floor(i / 5)] ?? 'OTHER';
const classOf = (i: number): string => CODE_CLASSES[i % 5] ?? '5xx';

/** The server label of requests the balancer answered itself, no server involved. */
export const NO_SERVER = 'none';

/** Index of `method` in METHODS. */
function methodIndex(method: string | undefined): number {
  switch (method) {
    case 'GET':
      return 0;
    case 'HEAD':
      return 1;
    case 'POST':
      return 2;
    case 'PUT':
      return 3;
    case 'DELETE':
      return 4;
    case 'PATCH':
      return 5;
    case 'OPTIONS':
      return 6;
    default:
      return 7;
  }
}

/**
 * The bounded `kind` label of an upstream error, from the reason the error table
 * (upstream-errors.ts) gives it.
 */
export function upstreamErrorKind(reason: string): string {
  switch (reason) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
      return 'reset';
    case 'connect timeout':
      return 'connect_timeout';
    case 'response headers timeout':
    case 'ETIMEDOUT':
      return 'timeout';
    case 'response body idle timeout':
      return 'body_timeout';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'EADDRNOTAVAIL':
      return 'unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'dns';
    default:
      return /^ERR_TLS|CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(reason) ? 'tls' : /^HPE_|UND_ERR_RES/.test(reason) ? 'bad_response' : 'other';
  }
}

/** What the engines count, per request, on the request path. */
export interface RequestMetrics {
  /** A request answered (by `u`, or by the balancer on its behalf) with `status` after `seconds`. */
  request(u: Upstream, method: string | undefined, status: number, seconds: number): void;
  /** A request the balancer answered itself, with no server (503 no server, 400, 408, 431...). */
  selfAnswered(method: string | undefined, status: number): void;
}

// The children of one server, resolved once.
interface ServerSeries {
  readonly name: string;
  // Requests by METHODS x CODE_CLASSES: plain numbers on the request path, handed to prom-client at scrape time.
  readonly requests: Float64Array;
  readonly duration: Histogram.Internal<'server'>;
  readonly ejections: Counter.Internal;
  // Label values used with other counters, so a removed server's series go too.
  readonly used: Map<Counter<string>, Set<string>>;
}

/** The balancer's Prometheus metrics and their registry. */
export class Metrics implements RequestMetrics {
  /** The registry `/metrics` serves. */
  readonly registry = new Registry();
  private readonly requests: Counter<'server' | 'method' | 'code_class'>;
  private readonly duration: Histogram<'server'>;
  private readonly healthChecks: Counter<'server' | 'result'>;
  private readonly transitions: Counter<'server' | 'to'>;
  private readonly ejections: Counter<'server'>;
  private readonly retries: Counter<'reason'>;
  private readonly upstreamErrors: Counter<'server' | 'kind'>;
  private readonly notifications: Counter<'notifier' | 'event' | 'result'>;
  private readonly reloads: Counter<'result'>;
  private readonly lastReload: Gauge;
  private readonly series = new Map<Upstream, ServerSeries>();
  // Requests answered with no server, by METHODS x CODE_CLASSES.
  private readonly none = new Float64Array(METHODS.length * CODE_CLASSES.length);

  /** Registers every metric; `views` gives the servers at scrape time (the Cluster's `servers()`). */
  constructor(views: () => readonly ServerView[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    const series = this.series;
    const none = this.none;
    this.requests = new Counter({
      name: 'balancer_requests_total',
      help: 'Requests answered, by server ("none": answered by the balancer with no server), method and status class.',
      labelNames: ['server', 'method', 'code_class'],
      registers,
      // The request path counts in plain arrays (prom-client's children hash their labels on every
      // inc); the counter is rebuilt from them at scrape time. A removed server's series go with it.
      collect(this: Counter<'server' | 'method' | 'code_class'>) {
        this.reset();
        const put = (server: string, counts: Float64Array): void => {
          counts.forEach((n, i) => n > 0 && this.inc({ server, method: methodOf(i), code_class: classOf(i) }, n));
        };
        put(NO_SERVER, none);
        for (const s of series.values()) put(s.name, s.requests);
      },
    });
    this.duration = new Histogram({
      name: 'balancer_request_duration_seconds',
      help: 'Time from a request being routed to its response ending, by server.',
      labelNames: ['server'],
      buckets: [...DURATION_BUCKETS],
      registers,
    });
    const gauge = (name: string, help: string, labelNames: string[], fill: (g: Gauge<string>, v: ServerView) => void): void => {
      new Gauge({
        name,
        help,
        labelNames,
        registers,
        collect(this: Gauge<string>) {
          this.reset();
          for (const v of views()) fill(this, v);
        },
      });
    };
    gauge('balancer_server_in_flight_requests', 'Requests in flight to the server now.', ['server'], (g, v) => g.set({ server: v.name }, v.inflight));
    gauge('balancer_server_up', '1 when health checks let the server take traffic, else 0 (whatever the operator state).', ['server'], (g, v) =>
      g.set({ server: v.name }, v.healthy ? 1 : 0),
    );
    gauge('balancer_server_state', '1 for the current state of the server (up, down, draining, disabled), 0 for the others.', ['server', 'state'], (g, v) => {
      for (const s of STATES) g.set({ server: v.name, state: s }, v.state === s ? 1 : 0);
    });
    gauge('balancer_server_effective_weight', 'Weight the algorithm uses now (slow start and availability included; 0 when out).', ['server'], (g, v) =>
      g.set({ server: v.name }, v.effectiveWeight),
    );
    this.healthChecks = new Counter({ name: 'balancer_health_checks_total', help: 'Active health checks, by server and result (passed, failed).', labelNames: ['server', 'result'], registers });
    this.transitions = new Counter({
      name: 'balancer_server_transitions_total',
      help: 'Changes of server state, by the state entered (up, down: health; draining, disabled, enabled: operators).',
      labelNames: ['server', 'to'],
      registers,
    });
    this.ejections = new Counter({ name: 'balancer_server_ejections_total', help: 'Times passive health checks took the server out.', labelNames: ['server'], registers });
    this.retries = new Counter({ name: 'balancer_retries_total', help: 'Requests retried on another server, by how the failed attempt failed.', labelNames: ['reason'], registers });
    this.upstreamErrors = new Counter({
      name: 'balancer_upstream_errors_total',
      help: 'Failed attempts on a server, by kind (refused, reset, timeout, connect_timeout, body_timeout, unreachable, dns, tls, bad_response, other).',
      labelNames: ['server', 'kind'],
      registers,
    });
    this.notifications = new Counter({
      name: 'balancer_notifications_total',
      help: 'Notifications, by notifier, event and result (sent, failed, dropped).',
      labelNames: ['notifier', 'event', 'result'],
      registers,
    });
    this.reloads = new Counter({ name: 'balancer_config_reloads_total', help: 'Config reloads, by result (success, failure).', labelNames: ['result'], registers });
    this.lastReload = new Gauge({ name: 'balancer_config_last_reload_success_timestamp_seconds', help: 'When the config in force was loaded (start or last good reload), epoch seconds.', registers });
    this.lastReload.setToCurrentTime();
    // Both results show from the start (0), so rate() and alerts see the series before the first reload.
    this.reloads.inc({ result: 'success' }, 0);
    this.reloads.inc({ result: 'failure' }, 0);
  }

  /** The text exposition format's content type. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition of every metric. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  // ---- Servers come and go. ----

  /** A server was added: its series are resolved now. */
  addServer(u: Upstream): void {
    if (this.series.has(u)) return;
    const name = u.name;
    this.series.set(u, { name, requests: new Float64Array(METHODS.length * CODE_CLASSES.length), duration: this.duration.labels(name), ejections: this.ejections.labels(name), used: new Map() });
    this.ejections.labels(name).inc(0);
  }

  /** A server was forgotten: its series leave the exposition. */
  removeServer(u: Upstream): void {
    const s = this.series.get(u);
    if (s === undefined) return;
    this.series.delete(u);
    // Another record with the same name (a server re-added under its name) keeps the series.
    for (const other of this.series.values()) if (other.name === s.name) return;
    this.duration.remove(s.name);
    this.ejections.remove(s.name);
    for (const [counter, values] of s.used) for (const v of values) counter.remove(s.name, v);
  }

  // ---- The request path. ----

  /** A request answered by `u` (or by the balancer after `u` failed) with `status`. */
  request(u: Upstream, method: string | undefined, status: number, seconds: number): void {
    const s = this.series.get(u);
    if (s === undefined || status < 100 || status > 599) return;
    const i = methodIndex(method) * 5 + (Math.floor(status / 100) - 1);
    s.requests[i] = (s.requests[i] ?? 0) + 1;
    s.duration.observe(seconds);
  }

  /** A request answered by the balancer itself, no server involved. */
  selfAnswered(method: string | undefined, status: number): void {
    if (status < 100 || status > 599) return;
    const i = methodIndex(method) * 5 + (Math.floor(status / 100) - 1);
    this.none[i] = (this.none[i] ?? 0) + 1;
  }

  // ---- Control-plane events (rare: label lookups are fine). ----

  /** An active health check of `u` ended. */
  healthCheck(u: Upstream, passed: boolean): void {
    this.countFor(u, this.healthChecks, passed ? 'passed' : 'failed');
  }

  /** `u` entered state `to`. */
  transition(u: Upstream, to: string): void {
    this.countFor(u, this.transitions, to);
  }

  /** Passive health took `u` out. */
  ejection(u: Upstream): void {
    this.series.get(u)?.ejections.inc();
  }

  /** An attempt on `u` failed with `reason` (from the upstream error table). */
  upstreamError(u: Upstream, reason: string): void {
    this.countFor(u, this.upstreamErrors, upstreamErrorKind(reason));
  }

  /** A request was retried after an attempt failed in the way `reason` says (connect, reset, timeout...). */
  retry(reason: string): void {
    this.retries.inc({ reason });
  }

  /** A notification was sent, failed or dropped. */
  notification(notifier: string, event: string, result: 'sent' | 'failed' | 'dropped'): void {
    this.notifications.inc({ notifier, event, result });
  }

  /** A reload ended. */
  reload(ok: boolean): void {
    this.reloads.inc({ result: ok ? 'success' : 'failure' });
    if (ok) this.lastReload.setToCurrentTime();
  }

  // Counts one on `counter` for the server of `u` with a second label value, remembering it for removal.
  private countFor(u: Upstream, counter: Counter<string>, value: string): void {
    const s = this.series.get(u);
    if (s === undefined) return;
    let values = s.used.get(counter);
    if (values === undefined) s.used.set(counter, (values = new Set()));
    values.add(value);
    counter.labels(s.name, value).inc();
  }
}
