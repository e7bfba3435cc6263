import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Upstream } from '../../control/selection/upstream.js';
import type { Config } from '../../config/load.js';
import { formatHostPort } from '../../config/listen.js';
import { listenOn } from '../listen.js';
import { proxyProtocolFor, type ProxyProtocolVersion, type TcpSettings } from '../../config/tcp.js';
import type { ControlPlane, Engine } from '../engine.js';
import type { Logger } from '../../util/logger.js';
import { countOf, lastSeconds, LogThrottle } from '../../util/log-throttle.js';
import { ConnectionCap } from '../node/connection-limits.js';
import { peerAddress } from '../node/client-address.js';
import { logLocalResourceError } from '../node/local-errors.js';
import { readInto } from '../read-into.js';
import { Tunnel, type TunnelHost } from './tunnel.js';

const NO_TCP: TcpSettings = { proxyProtocol: undefined, serverProxyProtocol: {} };

/**
 * The L4 engine ("mode": "tcp", HAProxy's `mode tcp`): each client connection goes to a server
 * the control plane picks, and bytes are relayed both ways until both sides close. Same
 * algorithms, health checks, drain, notifications and admin API as HTTP; no HTTP is parsed.
 */
export class TcpEngine implements Engine, TunnelHost {
  private readonly server: Server;
  private config: Config;
  private tcp: TcpSettings;
  private readonly tunnels = new Set<Tunnel>();
  private readonly cap: ConnectionCap;
  private readonly throttle = new LogThrottle();
  private listening = false;
  private closing: Promise<void> | undefined;
  private allEnded: (() => void) | undefined;

  /** Builds the engine over `cluster` (does not listen yet). */
  constructor(
    readonly cluster: ControlPlane,
    private readonly log: Logger,
  ) {
    this.config = cluster.config;
    this.tcp = this.config.tcp ?? NO_TCP;
    // Paused: nothing of the client's is read before a server is connected, so a failed connect can
    // go to another server; half-open: a client's FIN is passed on and the answer still flows back.
    this.server = createServer({ pauseOnConnect: true, allowHalfOpen: true, noDelay: true }, this.onConnection);
    this.cap = new ConnectionCap(this.server, this.config.limits, log);
  }

  private readonly onConnection = (raw: Socket): void => {
    const peer = peerAddress(raw);
    let t: Tunnel | undefined;
    // Read into one buffer shared by every client (read-into.ts); nothing is read before a server is connected.
    const client = readInto(raw, (b) => t?.onClientData(b), true, true);
    t = new Tunnel(this, client, peer);
    this.tunnels.add(t);
    t.start();
  };

  /** Connect timeout now, in milliseconds. */
  connectMs(): number {
    return this.config.timeouts.connectMs;
  }

  /** Idle timeout now, in milliseconds. */
  idleMs(): number {
    return this.config.timeouts.idleMs;
  }

  /** The PROXY protocol version to send to `u`: its own setting, else the top-level one. */
  proxyFor(u: Upstream): ProxyProtocolVersion | undefined {
    return proxyProtocolFor(this.tcp, u.addr);
  }

  /** Logs a failed connect (at most a line a second per server and reason, then a count). */
  connectFailed(u: Upstream, reason: string, next: Upstream | undefined, local: string | undefined): void {
    if (local !== undefined) return logLocalResourceError(this.log, local, 'server connections');
    const then = next === undefined ? '' : `; trying ${next.addr}`;
    this.throttle.note(
      `connect ${u.addr} ${reason}`,
      () => this.log.warn({ upstream: u.addr, reason, next: next?.addr, repeated: 1 }, `upstream ${u.addr} failed: ${reason}${then}`),
      (n, ms) => this.log.warn({ upstream: u.addr, reason, repeated: n, windowMs: ms }, `upstream ${u.addr} failed: ${reason}: ${countOf(n, 'connection')} ${lastSeconds(ms)}`),
    );
  }

  /** Logs a connection closed for want of a server. */
  noServer(client: Socket, tried: number): void {
    this.throttle.note(
      'no-server',
      () => this.log.warn({ client: client.remoteAddress, tried, repeated: 1 }, tried === 0 ? 'no server available: connection closed' : `no server could take the connection (${countOf(tried, 'server')} tried): connection closed`),
      (n, ms) => this.log.warn({ repeated: n, windowMs: ms }, `no server available: ${countOf(n, 'connection')} closed ${lastSeconds(ms)}`),
    );
  }

  /** A tunnel ended. */
  ended(t: Tunnel, how: { readonly idle: boolean; readonly cut: boolean; readonly server: Upstream | undefined }): void {
    this.tunnels.delete(t);
    if (how.cut) this.log.warn({ upstream: how.server?.addr, cutBy: 'shutdown' }, `connection cut by the shutdown (grace period over); ${how.server?.addr ?? 'no server'} not blamed`);
    else if (how.idle) this.log.debug({ upstream: how.server?.addr }, `connection closed: idle for ${this.idleMs() / 1000} s (timeouts.idle)`);
    if (this.tunnels.size === 0) this.allEnded?.();
  }

  /** Starts listening on the config's address (port 0 picks a free port). */
  async listen(): Promise<AddressInfo> {
    await listenOn(this.server, this.config, this.log, { fields: { mode: 'tcp' }, prefix: 'tcp mode: ' });
    this.listening = true;
    return this.server.address() as AddressInfo;
  }

  /** Puts a reloaded config in force for new connections; the listen address and the mode need a restart. */
  apply(config: Config): { readonly kept: readonly string[] } {
    const old = this.config;
    const kept: string[] = [];
    if (config.addr !== old.addr) kept.push(`addr (still ${old.addr})`);
    this.config = { ...config, addr: old.addr, listen: old.listen };
    this.tcp = config.tcp ?? NO_TCP;
    this.cap.apply(config.limits);
    return { kept };
  }

  /** Nothing pooled: connections to a server that left run until they close. */
  serverLeft(_u: Upstream): void {}

  /** Listening and not closing. */
  ready(): boolean {
    return this.listening && this.closing === undefined;
  }

  /** "tcp://127.0.0.1:8000": where clients connect. */
  url(): string {
    const a = this.server.address() as AddressInfo;
    const host = a.address === '::' || a.address === '0.0.0.0' ? 'localhost' : a.address;
    return `tcp://${formatHostPort(host, a.port)}`;
  }

  /** SIGUSR1: tcp mode keeps no access log. */
  async reopenAccessLog(): Promise<{ ok: boolean; message: string }> {
    return { ok: true, message: 'tcp mode keeps no access log: nothing to reopen' };
  }

  /** Connections open now. */
  get connections(): number {
    return this.tunnels.size;
  }

  /**
   * Graceful stop (HAProxy's hard-stop-after): stop accepting, let open connections run until
   * `graceMs`, then cut the rest (logged as ours; no server blamed).
   */
  close(graceMs = this.config.timeouts.shutdownMs): Promise<void> {
    this.closing ??= (async () => {
      const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
      if (this.tunnels.size > 0) {
        this.log.info({ connections: this.tunnels.size }, `tcp mode: ${countOf(this.tunnels.size, 'connection')} open; waiting up to ${graceMs / 1000} s for them to close`);
        const drained = new Promise<void>((resolve) => (this.allEnded = resolve));
        const timer = setTimeout(() => {
          for (const t of [...this.tunnels]) t.cut();
        }, graceMs);
        await drained;
        clearTimeout(timer);
      }
      await closed;
      this.throttle.flush();
    })();
    return this.closing;
  }
}
