import { connect, type Socket } from 'node:net';
import type { Upstream } from '../../control/selection/upstream.js';
import type { ControlPlane } from '../engine.js';
import { localResourceCode } from '../node/local-errors.js';
import type { ProxyProtocolVersion } from '../../config/tcp.js';
import { proxyHeader } from './proxy-protocol.js';
import { relay, serverReadOptions, type ReadTarget } from './relay.js';

/** What a tunnel needs from its engine. */
export interface TunnelHost {
  readonly cluster: ControlPlane;
  /** Settings in force now (a reload changes them for new connections). */
  connectMs(): number;
  idleMs(): number;
  /** The PROXY protocol header version to send to `u`, or undefined. */
  proxyFor(u: Upstream): ProxyProtocolVersion | undefined;
  /** A connect to `u` failed (`next`: the server tried next, if any). */
  connectFailed(u: Upstream, reason: string, next: Upstream | undefined, local: string | undefined): void;
  /** No server could take the connection (`tried` servers failed first). */
  noServer(client: Socket, tried: number): void;
  /** The tunnel ended (both sockets closed); `idle` when the idle timeout cut it, `cut` when the shutdown did. */
  ended(t: Tunnel, how: { readonly idle: boolean; readonly cut: boolean; readonly server: Upstream | undefined }): void;
}

const CONNECT_TIMEOUT = 'connect timeout';

/**
 * One client connection in tcp mode: a server is picked and connected to (a refused or timed-out
 * connect is that server's failure, and the next server is tried before any client byte is read),
 * the PROXY header goes first if configured, then bytes flow both ways with backpressure (pipe),
 * a half-close (FIN) travels on, and the connection ends after `idleMs` with no byte either way.
 * `attemptEnded` is called exactly once per server picked: at a failed connect, or when the
 * tunnel closes (with its duration).
 */
export class Tunnel {
  private upstream: Socket | undefined;
  private server: Upstream | undefined;
  private readonly tried: Upstream[] = [];
  private attemptStartedAt = 0;
  private connectTimer: NodeJS.Timeout | undefined;
  private connected = false;
  private clientClosed = false;
  private upstreamClosed = true;
  private idle = false;
  private cutByUs = false;
  private finished = false;
  // Where reads go: nowhere until connected (the client is not read before).
  private target: ReadTarget = { onServerData: () => true, onClientData: () => {} };

  /** Takes over `client` (accepted paused: nothing is read until a server is connected). */
  constructor(
    private readonly host: TunnelHost,
    readonly client: Socket,
    private readonly clientAddress: string,
  ) {
    // No Nagle on the client side: the listener sets it (noDelay) on every accepted socket.
    client.on('error', () => this.upstream?.destroy());
    client.once('close', () => {
      this.clientClosed = true;
      // A client gone while we connect: stop connecting (no server is blamed for it).
      if (!this.connected) this.upstream?.destroy();
      else if (this.upstream !== undefined && !this.upstream.destroyed && this.client.errored) this.upstream.destroy();
      this.maybeFinish();
    });
  }

  /** Bytes read from the client (valid during the call only). */
  readonly onClientData = (bytes: Buffer): void => {
    this.target.onClientData(bytes);
  };

  /** Picks the first server and connects. */
  start(): void {
    const u = this.host.cluster.pick({ clientAddress: this.clientAddress });
    if (u === undefined) {
      this.host.noServer(this.client, 0);
      this.client.destroy();
      return;
    }
    this.connectTo(u);
  }

  /** Shutdown grace period over: cut both sides; the server is not blamed. */
  cut(): void {
    this.cutByUs = true;
    this.upstream?.destroy();
    this.client.destroy();
  }

  private connectTo(u: Upstream): void {
    this.server = u;
    this.tried.push(u);
    this.connected = false;
    this.upstreamClosed = false;
    this.attemptStartedAt = performance.now();
    const hostname = u.url.hostname.startsWith('[') ? u.url.hostname.slice(1, -1) : u.url.hostname;
    const s = connect({ host: hostname, port: Number(u.url.port), allowHalfOpen: true, noDelay: true, ...serverReadOptions({ onServerData: (chunk) => this.target.onServerData(chunk) }) });
    this.upstream = s;
    this.connectTimer = setTimeout(() => s.destroy(Object.assign(new Error(CONNECT_TIMEOUT), { code: CONNECT_TIMEOUT })), this.host.connectMs());
    s.once('connect', () => this.onConnect(u, s));
    s.on('error', (err: NodeJS.ErrnoException) => {
      if (!this.connected) this.onConnectError(u, s, err);
      else this.client.destroy(); // a reset from the server ends the client's connection too
    });
    s.once('close', () => {
      if (this.upstream !== s) return; // an earlier, failed attempt
      this.upstreamClosed = true;
      if (this.connected && !this.clientClosed && s.errored) this.client.destroy();
      this.maybeFinish();
    });
  }

  private onConnect(u: Upstream, s: Socket): void {
    clearTimeout(this.connectTimer);
    if (this.clientClosed) {
      s.destroy();
      return;
    }
    this.connected = true;
    const version = this.host.proxyFor(u);
    if (version !== undefined) {
      const c = this.client;
      s.write(proxyHeader(version, { sourceAddress: c.remoteAddress, sourcePort: c.remotePort, destAddress: c.localAddress, destPort: c.localPort }));
    }
    // Idle: no byte either way. Bytes both ways pass through the client socket (read or written),
    // so its timer sees all traffic; a client that stops reading stalls the writes and times out too.
    this.client.setTimeout(this.host.idleMs(), () => {
      this.idle = true;
      this.client.destroy();
      s.destroy();
    });
    this.target = relay(this.client, s);
  }

  private onConnectError(u: Upstream, s: Socket, err: NodeJS.ErrnoException): void {
    clearTimeout(this.connectTimer);
    if (this.upstream !== s) return;
    const cluster = this.host.cluster;
    const duration = performance.now() - this.attemptStartedAt;
    this.upstream = undefined;
    this.upstreamClosed = true;
    if (this.clientClosed || this.cutByUs) {
      // The client left (or we are cutting) while we connected: nobody's failure.
      cluster.attemptEnded(u, duration, { failure: { kind: 'cut', reason: 'client closed before the server connection was made' }, status: 0 });
      this.server = undefined;
      this.maybeFinish();
      return;
    }
    const reason = err.code ?? err.message;
    const local = localResourceCode(err);
    cluster.attemptEnded(u, duration, { failure: { kind: 'connect', reason, ...(local !== undefined ? { local } : {}) }, status: 0 });
    this.server = undefined;
    // Nothing of the client's was read yet: another server can take the connection as if it were new.
    let next: Upstream | undefined;
    if (local === undefined && cluster.retryDecision({ method: 'TCP', kind: 'connect', bodyReplayable: true, attempts: this.tried.length }).retry) {
      next = cluster.pick({ clientAddress: this.clientAddress }, this.tried);
    }
    this.host.connectFailed(u, reason, next, local);
    if (next !== undefined) {
      this.connectTo(next);
      return;
    }
    this.host.noServer(this.client, this.tried.length);
    this.client.destroy();
  }

  // Both sockets closed: the attempt in force ends (once), with the connection's duration.
  private maybeFinish(): void {
    if (this.finished || !this.clientClosed || !this.upstreamClosed) return;
    this.finished = true;
    clearTimeout(this.connectTimer);
    const u = this.server;
    if (u !== undefined) {
      const duration = performance.now() - this.attemptStartedAt;
      this.host.cluster.attemptEnded(
        u,
        duration,
        this.cutByUs
          ? { failure: { kind: 'cut', reason: 'cut by the shutdown (grace period over)' }, status: 0 }
          : this.connected
            ? { status: 0, connected: true }
            : { failure: { kind: 'cut', reason: 'client closed before the server connection was made' }, status: 0 },
      );
    }
    this.host.ended(this, { idle: this.idle, cut: this.cutByUs, server: u });
  }
}
