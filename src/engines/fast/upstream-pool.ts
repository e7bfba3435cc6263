import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type SecureContext } from 'node:tls';
import type { Upstream } from '../../control/selection/upstream.js';
import { ResponseParser, type ResponseEvents, type ResponseHead } from './http1/response-parser.js';

/** Idle keep-alive connections kept per server (nginx's `keepalive` is per worker and set by hand; undici keeps all). */
export const MAX_IDLE_PER_SERVER = 256;
/** An idle connection older than this is closed: under node's 5 s keepAliveTimeout, so we close first. */
export const IDLE_CONNECTION_MS = 3000;

/** How to verify an https server (the shape of node/upstream-tls.ts's options); undefined: the system CAs, SNI from the address. */
export interface UpstreamTlsConnect {
  readonly secureContext?: SecureContext;
  readonly servername?: string;
  readonly rejectUnauthorized?: boolean;
}

/**
 * Bytes of the read buffer each plain (non-TLS) upstream connection reads into (node's `onread`):
 * one per connection, reused read after read, instead of a fresh 64 KiB allocation per read and
 * the Readable stream's push/emit. A body slice still queued for the client after a write keeps
 * the buffer: the connection then reads into a new one (UpstreamConn.retain).
 */
export const READ_BUFFER_BYTES = 16 * 1024;
/** A connection whose read filled its buffer (a large body) reads into one this large from then on. */
export const LARGE_READ_BUFFER_BYTES = 64 * 1024;

/** Who uses an upstream connection: the exchange whose request is on it. */
export interface ConnUser {
  onResponseHead(head: ResponseHead): void;
  onResponseBody(wire: Buffer): void;
  onResponsePayload(payload: Buffer): void;
  /** The final response ended; `extra`: bytes followed it (stray, or the tunnel's after a 101). */
  onResponseComplete(conn: UpstreamConn, extra: Buffer | undefined): void;
  /** After each read that did not end the response: flush what went to the client. */
  afterData(): void;
  /** The connection failed or closed before the response ended. */
  onUpstreamError(conn: UpstreamConn, err: Error | undefined): void;
}

/** One raw socket to a server and its response parser. */
export class UpstreamConn implements ResponseEvents {
  readonly parser: ResponseParser;
  /** The exchange using it; undefined while idle. */
  user: ConnUser | undefined;
  /** performance.now() when it went idle. */
  idleSince = 0;
  /** Requests it carried, the current one included. */
  requests = 0;
  /** The pool's generation when made: an older one is not reused (stray guard renewal, timeouts changed). */
  readonly generation: number;
  private complete = false;
  private closed = false;
  /** The buffer node reads into (`onread` connections), or undefined (TLS and tunnels: 'data' events). */
  private buf: Buffer | undefined;

  /** Wraps a connected socket; `buf`: the buffer it was connected with `onread` into. */
  constructor(
    readonly socket: Socket,
    /** The pool it belongs to. */
    readonly pool: UpstreamPool,
    generation: number,
    buf?: Buffer,
  ) {
    this.generation = generation;
    this.parser = new ResponseParser(this);
    this.buf = buf;
    if (buf === undefined) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  /** Takes the connection for one request. */
  take(user: ConnUser, method: string): void {
    this.user = user;
    this.requests++;
    this.complete = false;
    this.parser.expect(method);
  }

  /** True once closed. */
  get destroyed(): boolean {
    return this.closed || this.socket.destroyed;
  }

  onHead(head: ResponseHead): void {
    // After a 101 the connection is a tunnel: the parser stops, and so does HTTP.
    if (head.status === 101) this.complete = true;
    this.user?.onResponseHead(head);
  }

  onBody(wire: Buffer): void {
    this.user?.onResponseBody(wire);
  }

  onPayload(payload: Buffer): void {
    this.user?.onResponsePayload(payload);
  }

  onComplete(): void {
    this.complete = true;
  }

  /** The buffer for node's next read (called by node after each `onread` callback). */
  readonly nextBuffer = (): Buffer | undefined => this.buf;

  /** A slice of the last read is still queued for a write: the next read goes into a new buffer. */
  retain(): void {
    if (this.buf !== undefined) this.buf = Buffer.allocUnsafeSlow(this.buf.length);
  }

  /** Node's `onread` callback: `n` bytes were read into the connection's buffer. */
  readonly onRead = (n: number, buf: Buffer): boolean => {
    this.onData(buf.subarray(0, n));
    // A full read: more was waiting. Bodies this size take fewer reads (and client writes) with a larger buffer.
    if (n === buf.length && n < LARGE_READ_BUFFER_BYTES && this.buf !== undefined) this.buf = Buffer.allocUnsafeSlow(LARGE_READ_BUFFER_BYTES);
    // Paused inside (the client is slow): node's read stops too.
    return !this.socket.isPaused();
  };

  private readonly onData = (buf: Buffer): void => {
    const u = this.user;
    if (u === undefined) {
      this.pool.stray(this);
      return;
    }
    let end: number;
    try {
      end = this.parser.execute(buf, 0);
    } catch (e) {
      this.user = undefined;
      this.socket.destroy();
      u.onUpstreamError(this, e as Error);
      return;
    }
    if (this.complete || end < buf.length) {
      // A final response ended (or a 101 head: the rest is the tunnel's).
      this.complete = false;
      this.user = undefined;
      u.onResponseComplete(this, end < buf.length ? buf.subarray(end) : undefined);
    } else u.afterData();
  };

  private readonly onEnd = (): void => {
    const u = this.user;
    if (u === undefined) return;
    try {
      // A close-delimited body ends here; a framed one cut short throws.
      this.parser.end();
    } catch (e) {
      this.user = undefined;
      u.onUpstreamError(this, e as Error);
      return;
    }
    this.user = undefined;
    if (this.complete) u.onResponseComplete(this, undefined);
    else u.onUpstreamError(this, undefined);
  };

  private readonly onError = (err: Error): void => {
    const u = this.user;
    this.user = undefined;
    u?.onUpstreamError(this, err);
  };

  private readonly onClose = (): void => {
    this.closed = true;
    const u = this.user;
    this.user = undefined;
    u?.onUpstreamError(this, undefined);
    this.pool.gone(this);
  };

  /** Hands the socket over (a tunnel after a 101): this object and its pool let go of it. */
  detach(): Socket {
    this.user = undefined;
    const s = this.socket;
    if (this.buf !== undefined) throw new Error('an onread connection cannot become a tunnel');
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('error', this.onError);
    s.off('close', this.onClose);
    this.pool.gone(this);
    return s;
  }

  /** Closes the connection; its user, if any, is not told (it let go of it). */
  destroy(): void {
    this.user = undefined;
    this.socket.destroy();
  }
}

/** A connect attempt that can be given up (the client left). */
export interface Connecting {
  cancel(): void;
}

/** Errors a connect attempt fails with besides the socket's own. */
function connectTimeout(): Error {
  return Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
}

/**
 * The keep-alive connections to one server: idle ones are reused newest first (the oldest age
 * out), at most MAX_IDLE_PER_SERVER are kept, each for IDLE_CONNECTION_MS. An idle connection
 * that receives bytes is a stray response: closed and reported (stray-guard.ts).
 */
export class UpstreamPool {
  private readonly idle: UpstreamConn[] = [];
  private readonly all = new Set<UpstreamConn>();
  private generation = 0;
  private retired = false;
  private readonly host: string;
  private readonly port: number;
  private readonly tls: boolean;
  private readonly servername: string | undefined;
  /** The server's host[:port], for a request that names no Host (read from the URL once, not per request). */
  readonly serverHost: string;

  /** A pool for `u`; `onStray` hears of stray bytes; `connectMs` bounds each connect. */
  constructor(
    readonly upstream: Upstream,
    private connectMs: number,
    private readonly onStray: (u: Upstream) => void,
    /** TLS settings for an https server, read at each connect (a reload may change them). */
    private readonly tlsOptions: () => UpstreamTlsConnect | undefined = () => undefined,
  ) {
    const url = upstream.url;
    this.host = url.hostname.replace(/^\[|\]$/g, '');
    this.tls = url.protocol === 'https:';
    this.port = url.port === '' ? (this.tls ? 443 : 80) : Number(url.port);
    this.servername = this.tls && isIP(this.host) === 0 ? this.host : undefined;
    this.serverHost = url.host;
  }

  /** An idle connection to reuse, or undefined. */
  take(): UpstreamConn | undefined {
    for (;;) {
      const c = this.idle.pop();
      if (c === undefined) return undefined;
      if (!c.destroyed && c.generation === this.generation) return c;
      c.destroy();
    }
  }

  /** Opens a new connection; `done` gets it, or the error. `tunnel`: it may become a tunnel (read with 'data' events). */
  connect(done: (err: Error | undefined, conn: UpstreamConn | undefined) => void, tunnel = false): Connecting {
    const t = this.tls ? this.tlsOptions() : undefined;
    const buf = this.tls || tunnel ? undefined : Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
    let conn: UpstreamConn | undefined;
    const socket = this.tls
      ? tlsConnect({
          host: this.host,
          port: this.port,
          servername: t?.servername ?? this.servername,
          ALPNProtocols: ['http/1.1'],
          ...(t?.secureContext !== undefined ? { secureContext: t.secureContext } : {}),
          rejectUnauthorized: t?.rejectUnauthorized ?? true,
        })
      : netConnect({
          host: this.host,
          port: this.port,
          noDelay: true,
          ...(buf !== undefined ? { onread: { buffer: () => conn?.nextBuffer() ?? buf, callback: (n: number, b: Buffer) => conn?.onRead(n, b) ?? false } } : {}),
        });
    let settled = false;
    const finish = (err: Error | undefined): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('error', finish);
      if (err !== undefined) {
        socket.destroy();
        done(err, undefined);
        return;
      }
      if (this.tls) socket.setNoDelay(true);
      conn = new UpstreamConn(socket, this, this.generation, buf);
      this.all.add(conn);
      done(undefined, conn);
    };
    const timer = setTimeout(() => finish(connectTimeout()), this.connectMs);
    socket.once(this.tls ? 'secureConnect' : 'connect', () => finish(undefined));
    socket.once('error', finish);
    return {
      cancel: () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.destroy();
      },
    };
  }

  /** Gives back a connection whose exchange ended cleanly: kept idle, or closed. */
  release(c: UpstreamConn, now: number): void {
    if (this.retired || c.destroyed || c.generation !== this.generation || this.idle.length >= MAX_IDLE_PER_SERVER) {
      c.destroy();
      return;
    }
    c.idleSince = now;
    this.idle.push(c);
  }

  /** Closes idle connections older than IDLE_CONNECTION_MS. */
  sweep(now: number): void {
    const idle = this.idle;
    if (idle.length === 0) return;
    // Oldest first: they are pushed in the order they went idle.
    let n = 0;
    while (n < idle.length && now - (idle[n] as UpstreamConn).idleSince > IDLE_CONNECTION_MS) n++;
    if (n === 0) return;
    for (const c of idle.splice(0, n)) c.destroy();
  }

  /** New connections from now on; the current ones finish their requests and close (stray guard, new timeouts). */
  renew(connectMs: number): void {
    this.connectMs = connectMs;
    this.generation++;
    for (const c of this.idle.splice(0)) c.destroy();
  }

  /** Closes the idle connections (one went stale: the others may have too). */
  renewIdle(): void {
    for (const c of this.idle.splice(0)) c.destroy();
  }

  /** The server left: idle connections close now, busy ones when their requests end. */
  retire(): void {
    this.retired = true;
    for (const c of this.idle.splice(0)) c.destroy();
  }

  /** Closes every connection, busy ones included (their exchanges were cut first). */
  destroy(): void {
    this.retired = true;
    for (const c of this.all) c.destroy();
    this.idle.length = 0;
  }

  /** Connections open, idle or busy. */
  get size(): number {
    return this.all.size;
  }

  /** Idle connections. */
  get idleCount(): number {
    return this.idle.length;
  }

  stray(c: UpstreamConn): void {
    const i = this.idle.indexOf(c);
    if (i !== -1) this.idle.splice(i, 1);
    c.destroy();
    this.onStray(this.upstream);
  }

  gone(c: UpstreamConn): void {
    this.all.delete(c);
    const i = this.idle.lastIndexOf(c);
    if (i !== -1) this.idle.splice(i, 1);
  }
}
