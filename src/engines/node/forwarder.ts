import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Pool as UndiciPool, type Dispatcher } from 'undici';
import type { Upstream } from '../../control/selection/upstream.js';
import type { Config } from '../../config/load.js';
import type { ControlPlane } from '../engine.js';
import { MAX_REPLAY_BODY_BYTES } from '../../control/health/retry.js';
import type { Logger } from '../../util/logger.js';
import { countOf, lastSeconds, LogThrottle } from '../../util/log-throttle.js';
import { ClientAddressResolver, peerAddress } from './client-address.js';
import { endSocketWithError, sendError, type UpstreamFailure } from './errors.js';
import { Exchange, type ExchangeOwner } from './exchange.js';
import type { ExchangeSlot } from './pipeline.js';
import { logLocalResourceError } from './local-errors.js';
import { upstreamHeaders } from './headers.js';
import { StrayGuard } from './stray-guard.js';
import { climbsAboveRoot, joinPath, pathPrefix, splitAbsoluteForm } from './upstream-path.js';
import { tunnelUpgrade } from './websocket.js';
import { DEFAULT_UPSTREAM_TLS } from '../../config/upstream-tls.js';
import { sameUpstreamTls, upstreamTlsOptions } from './upstream-tls.js';
import { authorityOf, h2HasBody, protoOf } from './tls-request.js';

// Absolute-form request targets (RFC 9112 §3.2.2), which a server must accept.
const ABSOLUTE_FORM = /^https?:\/\//i;
// With server path prefixes, a path climbing above its root could step out of the prefix (nginx
// answers such paths 400 too).
const PATH_ABOVE_ROOT = 'request path climbs above the root with dot segments';

/** Reads a small request body whole; undefined if the client went away first. */
function readSmallBody(req: IncomingMessage, done: (body: Buffer | undefined) => void): void {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.once('end', () => done(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  req.once('error', () => done(undefined));
}

/**
 * The node:http engine's request path: asks the control plane for a server, sends the request
 * there over a keep-alive connection pool (undici, one per server, kept across reloads) and
 * reports how each attempt ended. Server state, selection, health and the retry budget are the
 * control plane's; the connection pools, path prefixes and stray guard are the engine's.
 */
export class Forwarder implements ExchangeOwner {
  private readonly clients = new Map<Upstream, UndiciPool>();
  // Pools replaced (stray bytes, new timeouts) or of servers that left, finishing their in-flight requests.
  private readonly retiring = new Set<UndiciPool>();
  private clientAddress: ClientAddressResolver;
  // Set once stop() or cut() begins: attempts that end from now on were cut by us, not by a server.
  private stopping: 'reload' | 'shutdown' | undefined;
  private readonly strays: StrayGuard;
  // Some configured server has a path prefix: paths climbing above the root are refused.
  private hasPrefixes: boolean;
  // Path prefix per server, when some server has one (hasPrefixes).
  private readonly prefixes = new Map<Upstream, string>();
  // Repeated warnings (every server down, one server failing) write one line per second per cause.
  private readonly logThrottle = new LogThrottle();
  private config: Config;

  /** Builds the request path over `cluster`; `awaitingUpstream` is the listener's set of sockets waiting on an upstream. */
  constructor(
    private readonly cluster: ControlPlane,
    private readonly log: Logger,
    private readonly awaitingUpstream: WeakSet<Socket>,
  ) {
    this.config = cluster.config;
    this.clientAddress = new ClientAddressResolver(this.config.trustedProxies);
    this.hasPrefixes = anyPrefix(this.config);
    this.strays = new StrayGuard(log, cluster, (u) => this.renewClient(u));
  }

  /** Retry-After, in seconds, of 503 answers. */
  get retryAfterSeconds(): number {
    return this.cluster.retryAfterSeconds;
  }

  /** Puts the engine settings of a reloaded config in force; connection pools are renewed only when timeouts changed. */
  apply(config: Config): void {
    const old = this.config;
    this.config = config;
    this.clientAddress = new ClientAddressResolver(config.trustedProxies);
    this.hasPrefixes = anyPrefix(config);
    const t = config.timeouts;
    const tlsChanged = !sameUpstreamTls(config.upstreamTls ?? DEFAULT_UPSTREAM_TLS, old.upstreamTls ?? DEFAULT_UPSTREAM_TLS);
    if (tlsChanged || t.connectMs !== old.timeouts.connectMs || t.responseHeadersMs !== old.timeouts.responseHeadersMs || t.idleMs !== old.timeouts.idleMs) {
      for (const u of [...this.clients.keys()]) this.renewClient(u);
    }
  }

  /** A server left: its pool takes no new requests and closes once its in-flight ones finish. */
  serverLeft(u: Upstream): void {
    const c = this.clients.get(u);
    if (c === undefined) return;
    this.clients.delete(u);
    this.prefixes.delete(u);
    this.retire(c);
  }

  // The connection pool of `u`, made on its first request.
  private client(u: Upstream): UndiciPool {
    return this.clients.get(u) ?? this.newClient(u);
  }

  private newClient(u: Upstream): UndiciPool {
    const c = new UndiciPool(u.addr, {
      connect: { timeout: this.config.timeouts.connectMs, ...upstreamTlsOptions(this.config.upstreamTls ?? DEFAULT_UPSTREAM_TLS, u.url) },
      headersTimeout: this.config.timeouts.responseHeadersMs,
      bodyTimeout: this.config.timeouts.idleMs,
    });
    this.strays.watch(u, c);
    this.clients.set(u, c);
    return c;
  }

  private retire(c: UndiciPool): void {
    this.retiring.add(c);
    const gone = (): void => void this.retiring.delete(c);
    c.close().then(gone, gone); // rejects only when stop() destroyed it first
  }

  // A server that sent stray bytes gets a fresh pool: its kept-alive connections may hold more
  // strays, so they finish their requests and close instead of carrying the next ones.
  private renewClient(u: Upstream): void {
    const old = this.clients.get(u);
    if (old === undefined || this.stopping) return;
    this.newClient(u);
    this.retire(old);
  }

  /** Proxies one request: small bodies are kept for replay, others stream. Its exchange is left in `slot`. */
  handle(req: IncomingMessage, res: ServerResponse, slot?: ExchangeSlot): void {
    const te = req.headers['transfer-encoding'];
    const cl = req.headers['content-length'];
    if (te === undefined && (cl === undefined || cl === '0') && (cl !== undefined || !h2HasBody(req))) {
      this.forward(req, res, null, true, slot);
      return;
    }
    const length = te === undefined ? Number(cl) : Infinity;
    if (length <= MAX_REPLAY_BODY_BYTES && this.config.retries.attempts > 1) {
      // Small bodies are kept whole (as nginx buffers them) so a failed attempt can be replayed.
      readSmallBody(req, (body) => (body === undefined ? res.destroy() : this.forward(req, res, body, true, slot)));
      return;
    }
    this.forward(req, res, req, false, slot);
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer | IncomingMessage | null, replayable: boolean, slot: ExchangeSlot | undefined): void {
    const target = req.url ?? '/';
    if (target[0] !== '/' && !ABSOLUTE_FORM.test(target)) {
      // Asterisk-form ("OPTIONS *") and other targets a backend path cannot carry.
      req.resume();
      sendError(res, 400, 'request target must be a path or an absolute http(s) URL');
      return;
    }
    // Absolute-form goes upstream as origin-form, with the Host it names (RFC 9112 §3.2.2).
    const absolute = target[0] === '/' ? undefined : splitAbsoluteForm(target);
    const originForm = absolute === undefined ? target : absolute.originForm;
    if (this.hasPrefixes && climbsAboveRoot(originForm)) {
      req.resume();
      sendError(res, 400, PATH_ABOVE_ROOT);
      return;
    }
    const peer = peerAddress(req.socket);
    const trusted = this.clientAddress.trusts(peer);
    const clientAddress = trusted ? this.clientAddress.forwardedClient(req, peer) : peer;
    const u = this.cluster.pick({ clientAddress });
    if (u === undefined) {
      req.resume();
      this.logThrottle.note(
        'no-server',
        () => this.log.warn({ method: req.method, url: req.url, repeated: 1 }, 'no server available: 503'),
        (n, ms) => this.log.warn({ repeated: n, windowMs: ms }, `no server available: ${countOf(n, 'request')} answered 503 ${lastSeconds(ms)}`),
      );
      sendError(res, 503, 'no server available', this.retryAfterSeconds);
      return;
    }
    const options: Dispatcher.DispatchOptions = {
      path: this.upstreamPath(u, originForm),
      method: req.method ?? 'GET',
      headers: upstreamHeaders(req, { peer, trusted, proto: protoOf(req.socket), port: req.socket.localPort ?? 0, host: absolute?.authority ?? authorityOf(req) }),
      body,
      // Only ever true: an explicit false would also keep undici from closing after a HEAD.
      reset: this.strays.noReuse(u) ? true : undefined,
    };
    const x = new Exchange(this, req, res, u, options, replayable);
    if (slot !== undefined) slot.exchange = x;
    // Only a socket whose request has fully arrived is merely waiting on the upstream; one still
    // uploading stays under the client idle timeout (nginx's client_body_timeout).
    if (body === req) req.once('end', () => x.done || this.awaitingUpstream.add(req.socket));
    else this.awaitingUpstream.add(req.socket);
    this.client(u).dispatch(options, x);
  }

  /** The path sent to `u` for an origin-form `target`: joined to the server's path prefix, if any. */
  private upstreamPath(u: Upstream, target: string): string {
    if (!this.hasPrefixes) return target;
    let prefix = this.prefixes.get(u);
    if (prefix === undefined) this.prefixes.set(u, (prefix = pathPrefix(u.url)));
    return joinPath(prefix, target);
  }

  /**
   * Ends one attempt: the algorithm learns its duration, passive health its outcome, counted once
   * at the end (a response cut after its headers is a failure, not a success). Attempts cut by our
   * own shutdown or reload count neither way.
   */
  attemptEnded(x: Exchange, failure: UpstreamFailure | undefined): void {
    const end = x.headersAt > 0 ? x.headersAt : performance.now();
    this.cluster.attemptEnded(x.upstream, end - x.attemptStartedAt, { failure, status: x.status });
  }

  /** Retries a request that failed before any response byte on another server, when safe and within budget. */
  retry(x: Exchange, failure: UpstreamFailure): boolean {
    const { kind } = failure;
    // After a reload or during shutdown the pools take no new requests: a retry would only fail there.
    if (this.stopping !== undefined) {
      this.log.debug({ upstream: x.upstream.addr }, `not retried: balancer ${this.stopping === 'reload' ? 'reloaded' : 'shutting down'}`);
      return false;
    }
    if (failure.local !== undefined) return false; // another server would fail the same way
    const decision = this.cluster.retryDecision({ method: x.options.method, kind, bodyReplayable: x.replayable, attempts: x.attempts });
    if (!decision.retry) {
      if (this.config.retries.attempts > 1) this.log.debug({ upstream: x.upstream.addr, code: decision.code }, `not retried: ${decision.reason}`);
      return false;
    }
    const failed = x.upstream;
    const next = this.cluster.pick({ clientAddress: this.clientAddress.resolve(x.req) }, [...(x.tried ?? []), failed]);
    if (next === undefined) return false;
    x.retarget(next);
    if (this.hasPrefixes) {
      const target = x.req.url ?? '/';
      x.options.path = this.upstreamPath(next, target[0] === '/' ? target : splitAbsoluteForm(target).originForm);
    }
    x.options.reset = this.strays.noReuse(next) ? true : undefined;
    this.logThrottle.note(
      `retry ${failed.addr} ${kind}`,
      () => this.log.info({ from: failed.addr, to: next.addr, url: x.req.url, attempt: x.attempts, repeated: 1 }, `retrying on ${next.addr} after ${failed.addr} failed (${kind})`),
      (n, ms) => this.log.info({ from: failed.addr, repeated: n, windowMs: ms }, `retried ${countOf(n, 'request')} on other servers after ${failed.addr} failed (${kind}) ${lastSeconds(ms)}`),
    );
    this.client(next).dispatch(x.options, x);
    return true;
  }

  /** Called by each Exchange when it ends. */
  exchangeDone(x: Exchange, failure: UpstreamFailure | undefined, clientGone: boolean): void {
    this.awaitingUpstream.delete(x.req.socket);
    // Counted under the server whatever answered (it, or we on its behalf: 502, 504); no status, no count.
    const m = this.cluster.metrics;
    if (m !== undefined && x.res.headersSent) m.request(x.upstream, x.req.method, x.res.statusCode, (performance.now() - x.startedAt) / 1000);
    if (failure?.local !== undefined) {
      logLocalResourceError(this.log, failure.local, 'upstream requests');
    } else if (failure?.kind === 'cut' || (clientGone && this.stopping === 'shutdown')) {
      const by = this.stopping === 'reload' ? 'a reload' : 'the shutdown (grace period over)';
      this.log.warn(
        { upstream: x.upstream.addr, method: x.req.method, url: x.req.url, attempts: x.attempts, cutBy: this.stopping ?? 'shutdown' },
        `request cut by ${by}; client connection closed, ${x.upstream.addr} not blamed`,
      );
    } else if (failure !== undefined) {
      const { addr } = x.upstream;
      this.logThrottle.note(
        `upstream ${addr} ${failure.reason}`,
        () =>
          this.log.warn(
            { upstream: addr, method: x.req.method, url: x.req.url, reason: failure.reason, status: failure.status, attempts: x.attempts, repeated: 1 },
            `upstream ${addr} failed: ${failure.reason}`,
          ),
        (n, ms) =>
          this.log.warn(
            { upstream: addr, reason: failure.reason, status: failure.status, repeated: n, windowMs: ms },
            `upstream ${addr} failed: ${failure.reason}: ${countOf(n, 'request')} ${lastSeconds(ms)}`,
          ),
      );
    } else if (clientGone) {
      this.log.debug({ upstream: x.upstream.addr, url: x.req.url }, 'client went away; upstream request cancelled');
    }
  }

  /** Tunnels an HTTP Upgrade (WebSocket) request to a chosen server. */
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = req.url ?? '/';
    if (target[0] !== '/' && !ABSOLUTE_FORM.test(target)) {
      endSocketWithError(socket, 400, 'request target must be a path or an absolute http(s) URL', {}, req.method);
      return;
    }
    const absolute = target[0] === '/' ? undefined : splitAbsoluteForm(target);
    const originForm = absolute === undefined ? target : absolute.originForm;
    if (this.hasPrefixes && climbsAboveRoot(originForm)) {
      endSocketWithError(socket, 400, PATH_ABOVE_ROOT, {}, req.method);
      return;
    }
    const peer = peerAddress(req.socket);
    const trusted = this.clientAddress.trusts(peer);
    const clientAddress = trusted ? this.clientAddress.forwardedClient(req, peer) : peer;
    const u = this.cluster.pick({ clientAddress });
    if (u === undefined) {
      endSocketWithError(socket, 503, '', { 'retry-after': this.retryAfterSeconds }, req.method);
      return;
    }
    const path = this.upstreamPath(u, originForm);
    const started = performance.now();
    const { connectMs, idleMs } = this.config.timeouts;
    const port = req.socket.localPort ?? 0;
    const tls = upstreamTlsOptions(this.config.upstreamTls ?? DEFAULT_UPSTREAM_TLS, u.url);
    const opts = { peer, trusted, port, proto: protoOf(req.socket), path, host: absolute?.authority, connectTimeoutMs: connectMs, idleTimeoutMs: idleMs, tls };
    tunnelUpgrade(req, socket, head, u, opts, (failure) => {
      // A tunnel that ends without failure counts as a success; its duration is the session's.
      this.cluster.attemptEnded(u, performance.now() - started, failure === undefined ? { status: 0 } : { failure, status: 0 });
      if (failure === undefined || failure.kind === 'cut') return;
      if (failure.local !== undefined) return logLocalResourceError(this.log, failure.local, 'websocket upstream connections');
      this.logThrottle.note(
        `websocket ${u.addr} ${failure.reason}`,
        () => this.log.warn({ upstream: u.addr, reason: failure.reason, repeated: 1 }, `websocket upstream ${u.addr} failed: ${failure.reason}`),
        (n, ms) =>
          this.log.warn({ upstream: u.addr, reason: failure.reason, repeated: n, windowMs: ms }, `websocket upstream ${u.addr} failed: ${failure.reason}: ${countOf(n, 'connection')} ${lastSeconds(ms)}`),
      );
    });
  }

  /**
   * The shutdown grace period is over: cuts the requests still upstream (their clients'
   * connections close) before the listener cuts the client connections, so every cut request is
   * logged as ours, neither retried nor counted against a server. `stop('destroy')` follows.
   */
  cut(): void {
    this.stopping = 'shutdown';
    for (const c of this.clients.values()) void c.destroy().catch(() => undefined);
  }

  /** Closes the connection pools: `close` lets in-flight requests finish, `destroy` cuts them (after the shutdown grace period). */
  async stop(how: 'close' | 'destroy'): Promise<void> {
    this.stopping ??= how === 'close' ? 'reload' : 'shutdown';
    this.logThrottle.flush();
    await Promise.all([...this.clients.values(), ...this.retiring].map((c) => (how === 'close' ? c.close() : c.destroy()).catch(() => undefined)));
  }
}

// True when some configured server's address has a path (then dot segments above the root are refused).
function anyPrefix(config: Config): boolean {
  return config.servers.some((s) => pathPrefix(new URL(s.addr)) !== '');
}
