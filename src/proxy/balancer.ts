import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Upstream } from '../balancer/upstream.js';
import type { Config } from '../config/load.js';
import { formatHostPort } from '../config/listen.js';
import type { ControlPlane, Engine } from '../engines/engine.js';
import { BalancerError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import { endSocketWithError } from './errors.js';
import { Forwarder } from './forwarder.js';

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
  private closing: Promise<void> | undefined;

  /** Builds the engine over `cluster` (does not listen yet). */
  constructor(
    private readonly cluster: ControlPlane,
    private readonly log: Logger,
  ) {
    this.config = cluster.config;
    const config = this.config;
    this.forwarder = new Forwarder(cluster, log, this.awaitingUpstream);
    this.server = createServer({ keepAliveTimeout: 5000, requestTimeout: 0 }, this.onRequest);
    this.server.timeout = config.timeouts.idleMs;
    this.server.on('timeout', (socket: Socket) => {
      if (!this.awaitingUpstream.has(socket)) socket.destroy();
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.forwarder.upgrade(req, socket, head));
    // A reverse proxy opens no tunnels to arbitrary hosts.
    this.server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
      endSocketWithError(socket, 405, '', { allow: 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS' });
    });
    this.server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
      // Malformed requests get a 4xx on their own connection; everyone else is unaffected.
      if (err.code === 'ECONNRESET') {
        socket.destroy();
        return;
      }
      endSocketWithError(socket, err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400);
    });
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    this.forwarder.handle(req, res);
  };

  /** Starts listening on the config's address (port 0 picks a free port). */
  async listen(): Promise<AddressInfo> {
    const { host, port } = this.config.listen;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new BalancerError('E_LISTEN', `cannot listen on ${this.config.addr}: ${err.code ?? err.message}`));
      };
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.listening = true;
        resolve();
      });
    });
    return this.address();
  }

  /**
   * Puts the engine settings of a new, already validated config in force (the control plane has
   * applied the rest). The listen address and the idle timeout of the listener need a restart;
   * they are kept and reported.
   */
  apply(config: Config): ReloadReport {
    const old = this.config;
    const kept: string[] = [];
    if (config.addr !== old.addr) kept.push(`addr (still ${old.addr})`);
    if (config.timeouts.idleMs !== old.timeouts.idleMs) kept.push(`timeouts.idle (still ${old.timeouts.idleMs / 1000} s)`);
    this.config = { ...config, addr: old.addr, listen: old.listen, timeouts: { ...config.timeouts, idleMs: old.timeouts.idleMs } };
    this.forwarder.apply(config);
    return { kept };
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
    return `http://${formatHostPort(host, a.port)}`;
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
      clearInterval(sweep);
      clearTimeout(timer);
      await this.forwarder.stop('destroy');
    })();
    return this.closing;
  }
}
