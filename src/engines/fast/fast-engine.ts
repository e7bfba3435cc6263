import { DEFAULT_UPSTREAM_TLS } from '../../config/upstream-tls.js';
import { sameUpstreamTls, upstreamTlsOptions } from '../node/upstream-tls.js';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Upstream } from '../../control/selection/upstream.js';
import type { UpstreamFailure } from '../../control/upstream-errors.js';
import { MAX_REPLAY_BODY_BYTES } from '../../control/health/retry.js';
import type { Config } from '../../config/load.js';
import { formatHostPort } from '../../config/listen.js';
import { listenOn } from '../listen.js';
import { reloadAccessLog, reopenAccessLog } from '../access-log-reload.js';
import type { Logger } from '../../util/logger.js';
import { countOf, lastSeconds, LogThrottle, ThrottledLog } from '../../util/log-throttle.js';
import type { ControlPlane, Engine } from '../engine.js';
import { AccessLog, CLIENT_CLOSED, NO_RESPONSE } from '../node/access-log.js';
import { ClientAddressResolver, peerAddress } from '../node/client-address.js';
import { ConnectionCap } from '../node/connection-limits.js';
import { DataRateSweep } from '../node/data-rate.js';
import { onSelfAnswered } from '../node/errors.js';
import { logLocalResourceError } from '../node/local-errors.js';
import { StrayGuard } from '../node/stray-guard.js';
import { climbsAboveRoot, joinPath, pathPrefix, splitAbsoluteForm } from '../node/upstream-path.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './http1/limits.js';
import type { HttpParseError } from './http1/parse-error.js';
import type { RequestHead } from './http1/request-parser.js';
import { ClientConn } from './client-connection.js';
import { readInto } from '../read-into.js';
import { FastExchange, type Route } from './exchange.js';
import { switchingHead } from './response-head.js';
import { headerValue, joinedHeader } from './upstream-head.js';
import { UpstreamPool, type UpstreamConn, type UpstreamTlsConnect } from './upstream-pool.js';

// Absolute-form request targets (RFC 9112 §3.2.2), which a server must accept.
const ABSOLUTE_FORM = /^https?:\/\//i;
const PATH_ABOVE_ROOT = 'request path climbs above the root with dot segments';
const ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** A 400 for a request whose target cannot be forwarded: on the raw socket for an upgrade (it closes), else a normal answer. */
function refuse(c: ClientConn, head: RequestHead, detail: string): void {
  if (head.upgrade) c.refuseRaw(400, detail);
  else c.answer(400, detail);
}

/** The same authority, ignoring case and a default port. */
function sameAuthority(a: string, b: string, https: boolean): boolean {
  const norm = (s: string): string => {
    const l = s.toLowerCase();
    const dflt = https ? ':443' : ':80';
    return l.endsWith(dflt) ? l.slice(0, -dflt.length) : l;
  };
  return norm(a) === norm(b);
}

/**
 * The raw-socket engine: a node:net listener with our own HTTP/1.1 parser (http1/), one request
 * at a time per client connection, keep-alive pools of raw sockets to the servers, and bodies
 * forwarded as wire slices with backpressure both ways. Same ControlPlane calls, statuses and log
 * lines as the node engine (forwarder.ts, exchange.ts), which it reuses where it can.
 */
export class FastEngine implements Engine {
  /** Coarse clock (performance.now() at the last tick): deadlines hold to a tick. */
  now = performance.now();
  /** Set when the shutdown's grace period is over (or a reload retired the engine). */
  stopping: 'reload' | 'shutdown' | undefined;
  /** Closing: responses carry Connection: close and idle connections close. */
  closingDown = false;
  config: Config;
  private readonly server: Server;
  private readonly conns = new Set<ClientConn>();
  private readonly active = new Set<ClientConn>();
  private readonly pools = new Map<Upstream, UpstreamPool>();
  private readonly retiring = new Set<UpstreamPool>();
  private readonly prefixes = new Map<Upstream, string>();
  private hasPrefixes: boolean;
  private resolver: ClientAddressResolver;
  private accessLog: AccessLog | undefined;
  private readonly cap: ConnectionCap;
  private readonly rates: DataRateSweep;
  private readonly strays: StrayGuard;
  private readonly logThrottle = new LogThrottle();
  private readonly slowHeads = new ThrottledLog();
  private readonly ticker: NodeJS.Timeout;
  private headLimits: HeadLimits;
  private listening = false;
  private closing: Promise<void> | undefined;
  // Set while closing: called once the last connection is gone.
  private allClosed: (() => void) | undefined;

  /** Builds the engine over `cluster` (does not listen yet). */
  constructor(
    readonly cluster: ControlPlane,
    private readonly log: Logger,
  ) {
    this.config = cluster.config;
    const config = this.config;
    const metrics = cluster.metrics;
    onSelfAnswered(metrics === undefined ? undefined : (method, status) => metrics.selfAnswered(method, status));
    this.accessLog = config.accessLog === undefined ? undefined : new AccessLog(config.accessLog, config.trustedProxies, log, config.file);
    this.resolver = new ClientAddressResolver(config.trustedProxies);
    this.hasPrefixes = anyPrefix(config);
    this.headLimits = { ...DEFAULT_HEAD_LIMITS, maxHeaders: config.limits.maxHeaders };
    this.server = createServer({ allowHalfOpen: true, noDelay: true, pauseOnConnect: true }, this.onConnection);
    this.cap = new ConnectionCap(this.server, config.limits, log);
    this.rates = new DataRateSweep(this.active, () => ({ body: this.config.limits.minRequestBodyRate, response: this.config.limits.minResponseRate }), log);
    this.strays = new StrayGuard(log, cluster, (u) => this.pools.get(u)?.renew(this.config.timeouts.connectMs));
    this.ticker = setInterval(this.tick, tickMs(config));
    this.ticker.unref();
  }

  private readonly onConnection = (raw: Socket): void => {
    if (this.closingDown) {
      raw.destroy();
      return;
    }
    const peer = peerAddress(raw);
    let c: ClientConn | undefined;
    const socket = readInto(raw, (b) => c?.read(b), true);
    c = new ClientConn(socket, this, this.headLimits, peer);
    this.conns.add(c);
  };

  /**
   * Serves an HTTP/1.1 connection over TLS accepted by the HTTPS listener (https-engine.ts), its
   * handshake done: requests are served as on the plain listener, with X-Forwarded-Proto https.
   */
  adopt(socket: TLSSocket): void {
    if (this.closingDown) {
      socket.destroy();
      return;
    }
    // The listener's own idle timer is not ours: this engine keeps its deadlines on its clock.
    socket.setTimeout(0);
    socket.setNoDelay(true);
    const c = new ClientConn(socket, this, this.headLimits, peerAddress(socket), 'https');
    socket.on('data', c.read);
    this.conns.add(c);
  }

  private readonly tick = (): void => {
    const now = (this.now = performance.now());
    for (const c of this.conns) c.check(now);
    for (const p of this.pools.values()) p.sweep(now);
  };

  /** The connection pool of `u`, made on its first request. */
  pool(u: Upstream): UpstreamPool {
    let p = this.pools.get(u);
    if (p === undefined) {
      p = new UpstreamPool(u, this.config.timeouts.connectMs, (s) => this.strays.report(s), () => this.upstreamTls(u));
      this.pools.set(u, p);
    }
    return p;
  }

  /** How to verify https server `u`: the config's `upstreamTls` (ca, servername, insecureSkipVerify), as the node engine does. */
  upstreamTls(u: Upstream): UpstreamTlsConnect | undefined {
    return upstreamTlsOptions(this.config.upstreamTls ?? DEFAULT_UPSTREAM_TLS, u.url);
  }

  /** True while `u`'s connections must not be reused (stray guard). */
  noReuse(u: Upstream): boolean {
    return this.strays.noReuse(u);
  }

  /** Retry-After, in seconds, of 503 answers. */
  get retryAfterSeconds(): number {
    return this.cluster.retryAfterSeconds;
  }

  /** The path sent to `u` for an origin-form `target`. */
  upstreamPath(u: Upstream, target: string): string {
    if (!this.hasPrefixes) return target;
    let prefix = this.prefixes.get(u);
    if (prefix === undefined) this.prefixes.set(u, (prefix = pathPrefix(u.url)));
    return joinPath(prefix, target);
  }

  /** A request head arrived on `c`: refuse it, answer it, or send it to a server. */
  startRequest(c: ClientConn, head: RequestHead): void {
    this.active.add(c);
    if (head.method === 'CONNECT') {
      // A reverse proxy opens no tunnels to arbitrary hosts.
      c.refuseRaw(405, '', { allow: ALLOW });
      return;
    }
    const target = head.target;
    let originForm = target;
    let host: string | undefined;
    if (target.charCodeAt(0) !== 47) {
      if (!ABSOLUTE_FORM.test(target)) return refuse(c, head, 'request target must be a path or an absolute http(s) URL');
      const abs = splitAbsoluteForm(target);
      originForm = abs.originForm;
      host = abs.authority;
    }
    if (this.hasPrefixes && climbsAboveRoot(originForm)) return refuse(c, head, PATH_ABOVE_ROOT);
    // Not an open proxy: an absolute-form target must name the host the request is for.
    if (host !== undefined && head.host !== undefined && !sameAuthority(host, head.host, /^https/i.test(target))) {
      return refuse(c, head, 'absolute-form target names a host other than the Host header');
    }
    const peer = c.peer;
    const trusted = this.resolver.trusts(peer);
    const clientAddress = trusted ? this.resolver.forwardedFor(joinedHeader(head.rawHeaders, 'x-forwarded-for'), peer) : peer;
    const u = this.cluster.pick({ clientAddress });
    if (u === undefined) {
      this.logThrottle.note(
        'no-server',
        () => this.log.warn({ method: head.method, url: target, repeated: 1 }, 'no server available: 503'),
        (n, ms) => this.log.warn({ repeated: n, windowMs: ms }, `no server available: ${countOf(n, 'request')} answered 503 ${lastSeconds(ms)}`),
      );
      if (head.upgrade) c.refuseRaw(503, '', { 'retry-after': this.retryAfterSeconds });
      else c.answer(503, 'no server available', this.retryAfterSeconds);
      return;
    }
    const route: Route = { originForm, host, peer, trusted, clientAddress };
    const hasBody = head.chunked || head.contentLength > 0;
    // Small bodies are kept whole (as nginx buffers them) so a failed attempt can be replayed.
    const keep = hasBody && !head.chunked && head.contentLength <= MAX_REPLAY_BODY_BYTES && this.config.retries.attempts > 1 && !head.upgrade;
    const x = new FastExchange(this, c, head, u, route, !hasBody || keep, keep);
    c.x = x;
    // We take the body (as nginx and node:http do), so Expect is ours to answer, not forwarded.
    if (head.expectContinue && hasBody && head.minor === 1) c.socket.write('HTTP/1.1 100 Continue\r\n\r\n');
    if (!keep) x.start();
  }

  /** Retries `x` on another server after `failure`, when safe and within budget. */
  retry(x: FastExchange, failure: UpstreamFailure): boolean {
    const { kind } = failure;
    if (this.stopping !== undefined) {
      this.log.debug({ upstream: x.upstream.addr }, `not retried: balancer ${this.stopping === 'reload' ? 'reloaded' : 'shutting down'}`);
      return false;
    }
    if (failure.local !== undefined || x.upgrade) return false;
    const decision = this.cluster.retryDecision({ method: x.head.method, kind, bodyReplayable: x.replayable, attempts: x.attempts });
    if (!decision.retry) {
      if (this.config.retries.attempts > 1) this.log.debug({ upstream: x.upstream.addr, code: decision.code }, `not retried: ${decision.reason}`);
      return false;
    }
    const failed = x.upstream;
    const next = this.cluster.pick({ clientAddress: x.route.clientAddress }, [...(x.tried ?? []), failed]);
    if (next === undefined) return false;
    this.logThrottle.note(
      `retry ${failed.addr} ${kind}`,
      () => this.log.info({ from: failed.addr, to: next.addr, url: x.head.target, attempt: x.attempts, repeated: 1 }, `retrying on ${next.addr} after ${failed.addr} failed (${kind})`),
      (n, ms) => this.log.info({ from: failed.addr, repeated: n, windowMs: ms }, `retried ${countOf(n, 'request')} on other servers after ${failed.addr} failed (${kind}) ${lastSeconds(ms)}`),
    );
    x.retarget(next);
    return true;
  }

  /** An exchange ended: metrics and logs, as the node engine's Forwarder.exchangeDone. */
  exchangeDone(x: FastExchange, c: ClientConn, failure: UpstreamFailure | undefined, clientGone: boolean): void {
    const m = this.cluster.metrics;
    if (m !== undefined && c.responseStarted && !x.upgrade) m.request(x.upstream, x.head.method, c.status, (performance.now() - x.startedAt) / 1000);
    if (failure?.local !== undefined) {
      logLocalResourceError(this.log, failure.local, x.upgrade ? 'websocket upstream connections' : 'upstream requests');
    } else if (failure?.kind === 'cut' || (clientGone && this.stopping === 'shutdown')) {
      const by = this.stopping === 'reload' ? 'a reload' : 'the shutdown (grace period over)';
      this.log.warn(
        { upstream: x.upstream.addr, method: x.head.method, url: x.head.target, attempts: x.attempts, cutBy: this.stopping ?? 'shutdown' },
        `request cut by ${by}; client connection closed, ${x.upstream.addr} not blamed`,
      );
    } else if (failure !== undefined) {
      const { addr } = x.upstream;
      const what = x.upgrade ? 'websocket upstream' : 'upstream';
      this.logThrottle.note(
        `${what} ${addr} ${failure.reason}`,
        () =>
          this.log.warn(
            { upstream: addr, method: x.head.method, url: x.head.target, reason: failure.reason, status: failure.status, attempts: x.attempts, repeated: 1 },
            `${what} ${addr} failed: ${failure.reason}`,
          ),
        (n, ms) =>
          this.log.warn(
            { upstream: addr, reason: failure.reason, status: failure.status, repeated: n, windowMs: ms },
            `${what} ${addr} failed: ${failure.reason}: ${countOf(n, x.upgrade ? 'connection' : 'request')} ${lastSeconds(ms)}`,
          ),
      );
    } else if (clientGone) {
      this.log.debug({ upstream: x.upstream.addr, url: x.head.target }, 'client went away; upstream request cancelled');
    }
  }

  /** The request on `c` is over (answered, refused or cut): its access log line. */
  requestEnded(c: ClientConn, logIt = true): void {
    if (!this.active.delete(c)) return;
    const a = this.accessLog;
    const head = c.head;
    if (a === undefined || head === undefined || !logIt) return;
    const x = c.x;
    if (x?.upgrade === true && x.status === 101) return; // tunnels are not requests in the access log (as the node engine)
    // As the node engine's: a client that left first is 499 (the exchange ends when it goes); 0 only for our own cut.
    const status = c.answeredOnSocket !== 0 ? c.answeredOnSocket : c.responseStarted ? c.status : x?.done === true && !x.clientLeft ? NO_RESPONSE : CLIENT_CLOSED;
    let bytes = 0;
    if (c.responseStarted && c.answeredOnSocket === 0 && head.method !== 'HEAD') bytes = x !== undefined && x.status !== 0 ? x.bodyBytes : c.ownBytes;
    const raw = head.rawHeaders;
    const now = performance.now();
    a.recordEntry({
      time: Date.now(),
      client: a.clientOf(c.peer || '-', joinedHeader(raw, 'x-forwarded-for')),
      peer: c.peer || '-',
      method: head.method,
      path: head.target,
      protocol: `HTTP/1.${head.minor}`,
      status,
      bytes,
      durationMs: Math.round((now - c.startedAt) * 1000) / 1000,
      server: x === undefined ? '-' : x.upstream.name,
      attempts: x?.attempts ?? 0,
      referer: headerValue(raw, 'referer'),
      userAgent: headerValue(raw, 'user-agent'),
    });
  }

  /** A 101 arrived for `x`: the client connection and `up` become a tunnel until either closes. */
  tunnel(x: FastExchange, c: ClientConn, up: UpstreamConn, extra: Buffer | undefined): void {
    const h = x.switching;
    const s = c.socket;
    const us = up.detach();
    const held = c.tunnel(us);
    if (h !== undefined) s.write(switchingHead(h.status, h.reason, h.rawHeaders), 'latin1');
    if (extra !== undefined && extra.length > 0) s.write(extra);
    if (held !== undefined && held.length > 0) us.write(held);
    us.setTimeout(this.config.timeouts.idleMs, () => us.destroy());
    us.resume();
    us.pipe(s);
    s.resume();
    let ended = false;
    const close = (): void => {
      us.destroy();
      s.destroy();
      if (ended) return;
      ended = true;
      x.tunnelEnded();
    };
    us.on('error', close);
    us.on('close', close);
    s.on('error', close);
    s.on('close', close);
  }

  /** A connection closed. */
  connectionClosed(c: ClientConn): void {
    this.conns.delete(c);
    if (this.conns.size === 0) this.allClosed?.();
  }

  /** A request head the parser refused (the node engine logs only slow heads; this is debug). */
  noteParseError(c: ClientConn, e: HttpParseError): void {
    this.log.debug({ client: c.peer, status: e.status, code: e.code }, `request refused: ${e.message}`);
  }

  /** A client did not send a request head in time: one log line per second at most, as the node engine. */
  noteSlowHead(c: ClientConn): void {
    const client = c.socket.remoteAddress;
    this.slowHeads.note('head', this.log, (count, seconds) => [
      { client, count },
      `request head too slow: client ${client} sent no complete request head within ${this.config.timeouts.requestHeadMs / 1000} s; answered 408` +
        (count > 1 ? ` (${count} such in the last ${seconds} s)` : ''),
    ]);
  }

  /** Starts listening on the config's address (port 0 picks a free port). */
  async listen(): Promise<AddressInfo> {
    await listenOn(this.server, this.config, this.log, { fields: { engine: 'fast' }, suffix: '; engine "fast"' });
    this.listening = true;
    return this.address();
  }

  /** Puts a reloaded config in force: all but the listen address and the engine apply to new requests at once. */
  apply(config: Config): { kept: readonly string[] } {
    const old = this.config;
    const kept: string[] = [];
    if (config.addr !== old.addr) kept.push(`addr (still ${old.addr})`);
    // As the node engine (whose parser keeps its header count for the listener's life).
    if (config.limits.maxHeaders !== this.headLimits.maxHeaders) kept.push(`limits.maxHeaders (still ${this.headLimits.maxHeaders})`);
    if ((config.engine ?? 'node') !== 'fast') kept.push('engine (still "fast")');
    const accessLog = this.applyAccessLog(config);
    this.config = { ...config, addr: old.addr, listen: old.listen, accessLog, engine: 'fast', limits: { ...config.limits, maxHeaders: this.headLimits.maxHeaders } };
    this.resolver = new ClientAddressResolver(config.trustedProxies);
    this.hasPrefixes = anyPrefix(config);
    this.prefixes.clear();
    this.cap.apply(config.limits);
    // New verification settings must not ride on connections verified under the old ones.
    const tlsChanged = !sameUpstreamTls(config.upstreamTls ?? DEFAULT_UPSTREAM_TLS, old.upstreamTls ?? DEFAULT_UPSTREAM_TLS);
    if (tlsChanged || config.timeouts.connectMs !== old.timeouts.connectMs) for (const p of this.pools.values()) p.renew(config.timeouts.connectMs);
    this.ticker.refresh();
    return { kept };
  }

  // Shared with the other HTTP engine (../access-log-reload.ts).
  private applyAccessLog(config: Config): Config['accessLog'] {
    const inForce = reloadAccessLog(this.accessLog, this.config.accessLog, config, this.log);
    this.accessLog = inForce.log;
    return inForce.config;
  }

  /** Reopens the access log file (logrotate renamed it): SIGUSR1. Resolves with what happened, for the log. */
  reopenAccessLog(): Promise<{ ok: boolean; message: string }> {
    return reopenAccessLog(this.accessLog);
  }

  /** A server left: its pool closes its idle connections now and the busy ones as their requests end. */
  serverLeft(u: Upstream): void {
    const p = this.pools.get(u);
    this.prefixes.delete(u);
    if (p === undefined) return;
    this.pools.delete(u);
    p.retire();
  }

  /** Listening and not closing. */
  ready(): boolean {
    return this.listening && this.closing === undefined;
  }

  /** The bound address. */
  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Base URL clients use. */
  url(): string {
    const a = this.address();
    const host = a.address === '::' || a.address === '0.0.0.0' ? 'localhost' : a.address;
    return `http://${formatHostPort(host, a.port)}`;
  }

  /**
   * Graceful stop: stop accepting, let in-flight requests finish within `graceMs` (idle
   * keep-alive connections close at once, busy ones after their response), then cut the rest.
   */
  close(graceMs = this.config.timeouts.shutdownMs): Promise<void> {
    this.closing ??= (async () => {
      this.closingDown = true;
      // The listener (when this engine has one) and every connection, adopted ones included.
      const closed = Promise.all([
        new Promise<void>((resolve) => this.server.close(() => resolve())),
        new Promise<void>((resolve) => {
          this.allClosed = resolve;
          if (this.conns.size === 0) resolve();
        }),
      ]);
      const closeIdle = (): void => {
        for (const c of this.conns) c.closeIdle();
      };
      closeIdle();
      const sweep = setInterval(closeIdle, 50);
      const timer = setTimeout(() => {
        // Requests still upstream are ours to cut: logged as such, no server blamed.
        this.stopping = 'shutdown';
        for (const c of this.conns) c.x?.cut();
        for (const c of this.conns) c.socket.destroy();
      }, graceMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
      clearInterval(this.ticker);
      this.rates.stop();
      this.stopping ??= 'shutdown';
      this.logThrottle.flush();
      for (const p of this.pools.values()) p.destroy();
      for (const p of this.retiring) p.destroy();
      await this.accessLog?.close();
    })();
    return this.closing;
  }
}

// The engine's clock ticks often enough for its shortest deadline to hold to about a quarter of it.
function tickMs(config: Config): number {
  const t = config.timeouts;
  return Math.max(50, Math.min(1000, Math.floor(Math.min(t.requestHeadMs, t.responseHeadersMs, t.idleMs) / 4)));
}

// True when some configured server's address has a path.
function anyPrefix(config: Config): boolean {
  return config.servers.some((s) => pathPrefix(new URL(s.addr)) !== '');
}
