import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Pool as UndiciPool, type Dispatcher } from 'undici';
import { Pool } from '../balancer/pool.js';
import { defaultDeps, type SelectorDeps } from '../balancer/selector.js';
import { Upstream } from '../balancer/upstream.js';
import type { Config } from '../config/load.js';
import { HealthChecker } from '../health/checker.js';
import { HealthEvents } from '../health/events.js';
import { decideRetry, MAX_REPLAY_BODY_BYTES } from '../health/retry.js';
import { RetryBudget } from '../health/retry-budget.js';
import { DEFAULT_CLOSE_DEADLINE_MS, Notifier } from '../notify/notifier.js';
import type { Logger } from '../util/logger.js';
import { ClientAddressResolver } from './client-address.js';
import { endSocketWithError, sendError, type UpstreamFailure } from './errors.js';
import { Exchange, type ExchangeOwner } from './exchange.js';
import { logLocalResourceError } from './local-errors.js';
import { upstreamHeaders } from './headers.js';
import { tunnelUpgrade } from './websocket.js';

// Absolute-form request targets (RFC 9112 §3.2.2), which a server must accept.
const ABSOLUTE_FORM = /^https?:\/\//i;

/** Reads a small request body whole; undefined if the client went away first. */
function readSmallBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  req.once('error', () => done(undefined));
}

/**
 * Everything one config puts behind the listener: the servers and their algorithm, keep-alive
 * connection pools (undici), health checks, retries and notifiers. A reload builds a new one and
 * lets the old one finish its in-flight requests.
 */
export class Backends implements ExchangeOwner {
  /** The servers and the algorithm choosing among them. */
  readonly pool: Pool;
  /** Health transitions (server down/up, all down, recovered), for notifiers and logs. */
  readonly events = new HealthEvents();
  /** Active and passive health checks of the pool. */
  readonly health: HealthChecker;
  private readonly notifier: Notifier;
  private readonly clients = new Map<Upstream, UndiciPool>();
  private readonly budget: RetryBudget;
  private readonly clientAddress: ClientAddressResolver;
  private readonly retryAfterSeconds: number;

  /** Builds the backends of `config`; `awaitingUpstream` is the listener's set of sockets waiting on an upstream. */
  constructor(
    readonly config: Config,
    private readonly log: Logger,
    private readonly awaitingUpstream: WeakSet<Socket>,
    deps: SelectorDeps = defaultDeps,
  ) {
    const upstreams = config.servers.map(
      (s, index) => new Upstream(s.addr, { weight: s.weight, name: s.name, backup: s.backup, index }),
    );
    this.pool = new Pool(upstreams, config.algorithm, config.algorithmOptions, deps);
    this.clientAddress = new ClientAddressResolver(config.trustedProxies);
    for (const u of upstreams) {
      this.clients.set(
        u,
        new UndiciPool(u.addr, {
          connect: { timeout: config.timeouts.connectMs },
          headersTimeout: config.timeouts.responseHeadersMs,
          bodyTimeout: config.timeouts.idleMs,
        }),
      );
    }
    this.health = new HealthChecker({ pool: this.pool, settings: config.health, events: this.events, logger: log });
    this.budget = new RetryBudget(() => performance.now(), config.retries.budget);
    this.notifier = new Notifier(this.events, {
      balancer: { name: config.name, addr: config.addr },
      notifiers: config.notifications,
      logger: log,
    });
    this.retryAfterSeconds = Math.max(1, Math.ceil(config.healthCheckIntervalMs / 1000));
  }

  /** Starts health checks. */
  start(): void {
    this.health.start();
  }

  /** Proxies one request: small bodies are kept for replay, others stream. */
  handle(req: IncomingMessage, res: ServerResponse): void {
    this.budget.recordRequest();
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (te === undefined && (cl === undefined || cl === '0')) {
      this.forward(req, res, null, true);
      return;
    }
    const length = te === undefined ? Number(cl) : Infinity;
    if (length <= MAX_REPLAY_BODY_BYTES && this.config.retries.attempts > 1) {
      // Small bodies are kept whole (as nginx buffers them) so a failed attempt can be replayed.
      readSmallBody(req, (body) => (body === undefined ? res.destroy() : this.forward(req, res, body, true)));
      return;
    }
    this.forward(req, res, req, false);
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer | IncomingMessage | null, replayable: boolean): void {
    const target = req.url ?? '/';
    if (target[0] !== '/' && !ABSOLUTE_FORM.test(target)) {
      // Asterisk-form ("OPTIONS *") and other targets a backend path cannot carry.
      req.resume();
      sendError(res, 400, 'request target must be a path or an absolute http(s) URL');
      return;
    }
    const clientAddress = this.clientAddress.resolve(req);
    const u = this.pool.acquire({ clientAddress });
    if (u === undefined) {
      req.resume();
      this.log.warn({ method: req.method, url: req.url }, 'no server available: 503');
      sendError(res, 503, 'no server available', this.retryAfterSeconds);
      return;
    }
    const options: Dispatcher.DispatchOptions = {
      path: req.url ?? '/',
      method: req.method ?? 'GET',
      headers: upstreamHeaders(req, { clientAddress, proto: 'http' }),
      body,
    };
    const x = new Exchange(this, req, res, u, options, replayable);
    // Only a socket whose request has fully arrived is merely waiting on the upstream; one still
    // uploading stays under the client idle timeout (nginx's client_body_timeout).
    if (body === req) req.once('end', () => x.done || this.awaitingUpstream.add(req.socket));
    else this.awaitingUpstream.add(req.socket);
    (this.clients.get(u) as UndiciPool).dispatch(options, x);
  }

  /** Passive health: the response status counts for or against the server. */
  responseStarted(x: Exchange): void {
    this.health.reportSuccess(x.upstream, x.status);
  }

  /** Ends one attempt: the algorithm learns its duration, passive health its failure. */
  attemptEnded(x: Exchange, failure: UpstreamFailure | undefined): void {
    const end = x.headersAt > 0 ? x.headersAt : performance.now();
    // The balancer's own resource errors (EMFILE...) say nothing about the server.
    const blamed = failure !== undefined && failure.local === undefined;
    const failed = blamed || (failure === undefined && this.config.health.passive.statuses.has(x.status));
    this.pool.release(x.upstream, end - x.attemptStartedAt, failed);
    if (blamed) this.health.reportFailure(x.upstream, failure.reason);
  }

  /** Retries a request that failed before any response byte on another server, when safe and within budget. */
  retry(x: Exchange, failure: UpstreamFailure): boolean {
    const { kind } = failure;
    if (failure.local !== undefined) return false; // another server would fail the same way
    const decision = decideRetry(
      { method: x.options.method, kind, bodyReplayable: x.replayable, attempts: x.attempts },
      this.budget,
      this.config.retries.attempts,
    );
    if (!decision.retry) {
      if (this.config.retries.attempts > 1) this.log.debug({ upstream: x.upstream.addr, code: decision.code }, `not retried: ${decision.reason}`);
      return false;
    }
    const failed = x.upstream;
    const next = this.pool.acquireExcept({ clientAddress: this.clientAddress.resolve(x.req) }, [...(x.tried ?? []), failed]);
    if (next === undefined) return false;
    x.retarget(next);
    this.log.info({ from: failed.addr, to: next.addr, url: x.req.url, attempt: x.attempts }, `retrying on ${next.addr} after ${failed.addr} failed (${kind})`);
    (this.clients.get(next) as UndiciPool).dispatch(x.options, x);
    return true;
  }

  /** Called by each Exchange when it ends. */
  exchangeDone(x: Exchange, failure: UpstreamFailure | undefined, clientGone: boolean): void {
    this.awaitingUpstream.delete(x.req.socket);
    if (failure?.local !== undefined) {
      logLocalResourceError(this.log, failure.local, 'upstream requests');
    } else if (failure !== undefined) {
      this.log.warn(
        { upstream: x.upstream.addr, method: x.req.method, url: x.req.url, reason: failure.reason, status: failure.status, attempts: x.attempts },
        `upstream ${x.upstream.addr} failed: ${failure.reason}`,
      );
    } else if (clientGone) {
      this.log.debug({ upstream: x.upstream.addr, url: x.req.url }, 'client went away; upstream request cancelled');
    }
  }

  /** Tunnels an HTTP Upgrade (WebSocket) request to a chosen server. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const clientAddress = this.clientAddress.resolve(req);
    const u = this.pool.acquire({ clientAddress });
    if (u === undefined) {
      endSocketWithError(socket, 503, '', { 'retry-after': this.retryAfterSeconds });
      return;
    }
    const started = performance.now();
    const { connectMs, idleMs } = this.config.timeouts;
    tunnelUpgrade(req, socket, head, u, { clientAddress, proto: 'http', connectTimeoutMs: connectMs, idleTimeoutMs: idleMs }, (failure) => {
      const local = failure?.local;
      this.pool.release(u, performance.now() - started, failure !== undefined && local === undefined);
      if (failure === undefined) return;
      if (local !== undefined) return logLocalResourceError(this.log, local, 'websocket upstream connections');
      this.health.reportFailure(u, failure.reason);
      this.log.warn({ upstream: u.addr, reason: failure.reason }, `websocket upstream ${u.addr} failed: ${failure.reason}`);
    });
  }

  /**
   * Stops health checks and notifiers and closes the connection pools: `close` lets in-flight
   * requests finish (after a reload), `destroy` cuts them (after the shutdown grace period).
   */
  async stop(how: 'close' | 'destroy', notifyDeadlineMs = DEFAULT_CLOSE_DEADLINE_MS): Promise<void> {
    await Promise.all([
      this.health.stop(),
      ...[...this.clients.values()].map((c) => (how === 'close' ? c.close() : c.destroy())),
      this.notifier.close(notifyDeadlineMs),
    ]);
  }
}
