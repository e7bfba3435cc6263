import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Upstream } from '../../control/selection/upstream.js';
import type { Config } from '../../config/load.js';
import { formatHostPort } from '../../config/listen.js';
import { listenOn } from '../listen.js';
import type { ControlPlane, Engine } from '../engine.js';
import { reloadAccessLog, reopenAccessLog } from '../access-log-reload.js';
import { AccessLog } from './access-log.js';
import type { Logger } from '../../util/logger.js';
import { ConnectionCap } from './connection-limits.js';
import { DataRateSweep } from './data-rate.js';
import { endSocketWithError, onSelfAnswered, sendError, writeSocketError } from './errors.js';
import { Forwarder } from './forwarder.js';
import { ThrottledLog } from '../../util/log-throttle.js';
import { ClientConnection } from './pipeline.js';
import { checkRequestHead } from './request-head.js';
import { TlsTerminator } from '../../tls/terminator.js';
import { refuseH2Connect } from './tls-request.js';
import type { TLSSocket } from 'node:tls';
import type { EngineName } from '../../config/engine.js';

// The Allow header of a 405 answer to CONNECT.
const ALLOWED_METHODS = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** The status for a request node:http could not parse or did not get in time. */
function clientErrorStatus(code: string | undefined): number {
  if (code === 'HPE_HEADER_OVERFLOW') return 431;
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/** What a reload changed, for the log. */
export interface ReloadReport {
  /** Settings that need a restart and were kept as they were. */
  readonly kept: readonly string[];
}

/**
 * The node:http engine: an HTTP/1.1 listener whose requests go, through the Forwarder, to the
 * servers the control plane picks. A reload changes the control plane's servers under it
 * without dropping a connection.
 */
export class NodeEngine implements Engine {
  private readonly server: Server;
  // Sockets whose request waits for an upstream: the client-side idle timeout must not cut them.
  private readonly awaitingUpstream = new WeakSet<Socket>();
  private readonly forwarder: Forwarder;
  private config: Config;
  private listening = false;
  // Each client connection's request queue (pipelining), and those with a request in progress.
  private readonly connections = new WeakMap<Socket, ClientConnection>();
  private readonly busy = new Set<ClientConnection>();
  private readonly cap: ConnectionCap;
  private readonly rates: DataRateSweep;
  private readonly slowHeads = new ThrottledLog();
  // Header lines allowed: fixed for the listener's life, as node's parsers keep maxHeaders + 1.
  private readonly maxHeaders: number;
  private closing: Promise<void> | undefined;
  // Undefined when off: then a request's end costs one check.
  private accessLog: AccessLog | undefined;
  /** HTTPS on the listener (certificates, HTTP/2); undefined when the config has no `tls`. */
  readonly tls: TlsTerminator | undefined;
  // The engine the config names for this listener ("fast" when it serves only HTTP/2 for it).
  private readonly name: EngineName;

  /**
   * Builds the engine over `cluster` (does not listen yet). `https1`: with `tls`, HTTP/1.1
   * connections go there after their handshake, and this engine serves HTTP/2 only (the fast
   * engine's HTTPS, ../fast/https-engine.ts, which then is the engine the config names).
   */
  constructor(
    private readonly cluster: ControlPlane,
    private readonly log: Logger,
    https1?: (socket: TLSSocket) => void,
  ) {
    this.name = https1 === undefined ? 'node' : 'fast';
    this.config = cluster.config;
    const config = this.config;
    this.forwarder = new Forwarder(cluster, log, this.awaitingUpstream);
    // Requests we answer ourselves (no server) are counted by the control plane's metrics.
    const metrics = cluster.metrics;
    onSelfAnswered(metrics === undefined ? undefined : (method, status) => metrics.selfAnswered(method, status));
    // A path that cannot be opened is a config error (exit 2), as in nginx.
    this.accessLog = config.accessLog === undefined ? undefined : new AccessLog(config.accessLog, config.trustedProxies, log, config.file);
    const headMs = config.timeouts.requestHeadMs;
    const http1 = {
      keepAliveTimeout: 5000,
      // No deadline for a whole request (uploads may be long; data rates cover them), but one for
      // its head: node checks it every connectionsCheckingInterval, so check often enough that
      // timeouts.requestHead holds to about a second (node's default looks every 30 s).
      requestTimeout: 0,
      headersTimeout: headMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headMs / 4))),
    };
    // With `tls`: HTTP/2 and HTTP/1.1 over TLS (src/tls/terminator.ts), the same events and requests.
    this.tls = config.tls === undefined ? undefined : new TlsTerminator(config.tls, log);
    this.server = this.tls === undefined ? createServer(http1, this.onRequest) : this.tls.createServer(http1, config.limits.maxHeaders, this.onRequest, https1);
    // Keep one header line more than allowed, so a request over the limit can be told and refused.
    this.maxHeaders = config.limits.maxHeaders;
    this.server.maxHeadersCount = this.maxHeaders + 1;
    this.cap = new ConnectionCap(this.server, config.limits, log);
    this.server.on('connection', (socket: Socket) => {
      // The peer's address is read now, while the socket is open, for the access log's lines.
      if (this.accessLog !== undefined) void socket.remoteAddress;
      this.connections.set(socket, new ClientConnection(socket, this.startRequest, this.onBusy, this.onEnded));
    });
    this.rates = new DataRateSweep(this.busy, () => ({ body: this.config.limits.minRequestBodyRate, response: this.config.limits.minResponseRate }), log);
    this.server.timeout = config.timeouts.idleMs;
    this.server.on('timeout', (socket: Socket) => {
      if (this.tls?.timedOut(socket) === true) return; // an HTTP/2 session
      if (!this.awaitingUpstream.has(socket)) socket.destroy();
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const refusal = checkRequestHead(req, this.maxHeaders);
      // A pipelined upgrade waits for the responses owed before it, so none is cut into the tunnel.
      const c = this.connections.get(socket as Socket);
      const go = (): void => {
        if (refusal !== undefined) endSocketWithError(socket, refusal.status, refusal.detail, {}, req.method);
        else this.forwarder.upgrade(req, socket, head);
      };
      if (c === undefined) go();
      else c.whenAnswered(go);
    });
    // A reverse proxy opens no tunnels to arbitrary hosts.
    this.server.on('connect', (req: IncomingMessage, socket: Duplex) => {
      // HTTP/2 hands CONNECT over as a request and its response (no raw socket to write to).
      if (req.httpVersionMajor === 2) return refuseH2Connect(socket as unknown as ServerResponse, ALLOWED_METHODS);
      endSocketWithError(socket, 405, '', { allow: ALLOWED_METHODS });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Malformed requests get a 4xx on their own connection; everyone else is unaffected.
      if (err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      // Data after a `Connection: close` request: the response to that request closes the connection.
      if (err.code === 'HPE_CLOSED_CONNECTION') return;
      // A connection that never sent a byte (a browser's preconnect) is closed without a log line.
      if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT' && (socket as Socket).bytesRead > 0) {
        const client = (socket as Socket).remoteAddress;
        this.slowHeads.note('head', this.log, (count, seconds) => [
          { client, count },
          `request head too slow: client ${client} sent no complete request head within ${this.config.timeouts.requestHeadMs / 1000} s; answered 408` +
            (count > 1 ? ` (${count} such in the last ${seconds} s)` : ''),
        ]);
      }
      // Requests parsed before the bad one are answered first, in order (pipelining).
      const status = clientErrorStatus(err.code);
      const c = this.connections.get(socket as Socket);
      // A connection that sent nothing made no request: answered, not counted.
      const end = (socket as Socket).bytesRead > 0 ? endSocketWithError : writeSocketError;
      if (c === undefined) end(socket, status);
      else c.failAfterQueue(() => end(socket, status), status);
    });
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    let c = this.connections.get(req.socket);
    if (c === undefined) {
      c = new ClientConnection(req.socket, this.startRequest, this.onBusy, this.onEnded);
      this.connections.set(req.socket, c);
    }
    c.push(req, res);
  };

  // The connection's next request, now that the one before it has been answered.
  private readonly startRequest = (c: ClientConnection, req: IncomingMessage, res: ServerResponse): void => {
    const refusal = checkRequestHead(req, this.maxHeaders);
    if (refusal !== undefined) {
      c.last();
      req.resume();
      res.shouldKeepAlive = false;
      sendError(res, refusal.status, refusal.detail);
      return;
    }
    this.forwarder.handle(req, res, c);
  };

  // Where every request answered through a ClientConnection ends: proxied, refused, or cut.
  private readonly onEnded = (c: ClientConnection): void => {
    if (this.accessLog === undefined) return;
    const { req, res } = c;
    if (req !== undefined && res !== undefined) this.accessLog.record({ socket: c.socket, req, res, startedAt: c.startedAt, exchange: c.exchange, answeredOnSocket: c.answeredOnSocket });
  };

  private readonly onBusy = (c: ClientConnection, busy: boolean): void => {
    if (busy) this.busy.add(c);
    else this.busy.delete(c);
  };

  /** Starts listening on the config's address (port 0 picks a free port). */
  async listen(): Promise<AddressInfo> {
    await listenOn(this.server, this.config, this.log);
    this.listening = true;
    return this.address();
  }

  /**
   * Puts the engine settings of a new, already validated config in force (the control plane has
   * applied the rest). The listen address, the idle timeout and the header limit of the listener
   * need a restart; they are kept and reported.
   */
  apply(config: Config): ReloadReport {
    const old = this.config;
    const kept: string[] = [];
    if (config.addr !== old.addr) kept.push(`addr (still ${old.addr})`);
    if ((config.engine ?? 'node') !== this.name) kept.push(`engine (still "${this.name}")`);
    if (config.timeouts.idleMs !== old.timeouts.idleMs) kept.push(`timeouts.idle (still ${old.timeouts.idleMs / 1000} s)`);
    if (config.limits.maxHeaders !== this.maxHeaders) kept.push(`limits.maxHeaders (still ${this.maxHeaders})`);
    // HTTPS on or off needs a restart; new certificates and TLS settings swap in for new connections.
    if ((config.tls === undefined) !== (old.tls === undefined)) kept.push(`tls (still ${old.tls === undefined ? 'off' : 'on'})`);
    else if (config.tls !== undefined) this.tls?.apply(config.tls);
    const accessLog = this.applyAccessLog(config);
    this.config = { ...config, addr: old.addr, listen: old.listen, timeouts: { ...config.timeouts, idleMs: old.timeouts.idleMs }, accessLog, tls: (config.tls === undefined) === (old.tls === undefined) ? config.tls : old.tls };
    this.forwarder.apply(config);
    // These limits are read per connection or request, so a reload puts them in force for new ones.
    this.server.headersTimeout = config.timeouts.requestHeadMs;
    this.cap.apply(config.limits);
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

  /** A server left: its connection pool closes once its requests finish. */
  serverLeft(u: Upstream): void {
    this.forwarder.serverLeft(u);
  }

  /** Listening and not closing. */
  ready(): boolean {
    return this.listening && this.closing === undefined;
  }

  /** The bound address. */
  address(): AddressInfo {
    return this.server.address() as AddressInfo;
  }

  /** Base URL clients use, e.g. "http://127.0.0.1:8000". */
  url(): string {
    const a = this.address();
    const host = a.address === '::' || a.address === '0.0.0.0' ? 'localhost' : a.address;
    return `${this.tls === undefined ? 'http' : 'https'}://${formatHostPort(host, a.port)}`;
  }

  /**
   * Graceful stop: stop accepting, let in-flight requests finish within the shutdown
   * grace period, then cut what is left and close the upstream pools.
   */
  close(graceMs = this.config.timeouts.shutdownMs): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      this.server.closeIdleConnections();
      // Keep-alive connections become idle as their last response ends; close them as they do.
      const sweep = setInterval(() => this.server.closeIdleConnections(), 50);
      const timer = setTimeout(() => {
        this.forwarder.cut(); // requests still upstream are ours to cut: no server is blamed
        this.server.closeAllConnections();
      }, graceMs);
      await closed;
      this.rates.stop();
      clearInterval(sweep);
      clearTimeout(timer);
      await this.forwarder.stop('destroy');
      await this.accessLog?.close();
    })();
    return this.closing;
  }
}
