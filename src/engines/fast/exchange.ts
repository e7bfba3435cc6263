import type { Socket } from 'node:net';
import { tlsFailureReason } from '../node/upstream-tls.js';
import type { Upstream } from '../../control/selection/upstream.js';
import { classifyUpstreamError, type UpstreamFailure } from '../../control/upstream-errors.js';
import { writeSocketError } from '../node/errors.js';
import { HttpParseError } from './http1/parse-error.js';
import type { RequestHead } from './http1/request-parser.js';
import type { ResponseHead } from './http1/response-parser.js';
import type { ClientConn } from './client-connection.js';
import type { FastEngine } from './fast-engine.js';
import { clientHead, Framing, interimHead } from './response-head.js';
import { upstreamHead } from './upstream-head.js';
import type { Connecting, ConnUser, UpstreamConn } from './upstream-pool.js';

const CUT: UpstreamFailure = { status: 502, reason: 'cut by the balancer', kind: 'cut' };
const CRLF = '\r\n';
// Body bytes up to this size ride in the same write as the response head.
const SMALL = 2048;
const LAST_CHUNK = '0\r\n\r\n';

/** Where a request goes upstream, decided when it began. */
export interface Route {
  /** Origin-form target (the path prefix is joined per server). */
  readonly originForm: string;
  /** Host from an absolute-form target, or undefined. */
  readonly host: string | undefined;
  /** The peer address and whether it is a trusted proxy. */
  readonly peer: string;
  readonly trusted: boolean;
  /** The client address the server was picked for (retries pick for it too). */
  readonly clientAddress: string;
}

/**
 * One client request proxied to a server over a raw pooled connection: the request head and
 * body go up as they arrive (or whole, for a small body kept for replay), the response comes back
 * as wire bytes with backpressure both ways. It survives retries on other servers. Every attempt
 * is reported to the control plane exactly once (attemptEnded).
 */
export class FastExchange implements ConnUser {
  /** Final response status from the server (0 until its head arrived). */
  status = 0;
  /** performance.now() when the exchange began. */
  readonly startedAt: number;
  /** performance.now() when the current attempt began. */
  attemptStartedAt: number;
  /** performance.now() when the response head arrived (0 until then). */
  headersAt = 0;
  /** Attempts made, the current one included. */
  attempts = 1;
  /** Servers tried before the current one (made on the first retry). */
  tried: Upstream[] | undefined;
  /** Response payload bytes sent to the client (for the access log). */
  bodyBytes = 0;
  /** The exchange is over. */
  done = false;
  /** The failure it ended with, if any. */
  failure: UpstreamFailure | undefined;
  /** The whole request has been received from the client. */
  requestComplete = false;
  /** Coarse deadline (engine clock) for the response head; 0: none. */
  headersDeadline = 0;
  /** Engine clock of the last upstream byte while a response body streams. */
  lastUpAt = 0;
  private up: UpstreamConn | undefined;
  private connecting: Connecting | undefined;
  private attemptOpen = true;
  private requestSent = false;
  private framing: Framing = Framing.NONE;
  private reached = false;
  private clientGone = false;
  private upPaused = false;
  // The response head (and small body bytes after it) not yet written: one write per upstream read.
  private pending: string | undefined;
  private upKeepAlive = false;
  // Body slices: the whole body when kept for replay, else those waiting for a connection.
  private body: Buffer[] | undefined;
  // The connection was reused and went stale (closed by the server while idle): one fresh try on the same server.
  private staleRetried = false;
  /** The request is an upgrade (WebSocket): the connection becomes a tunnel after a 101. */
  readonly upgrade: boolean;
  private clientHeadBytes: Buffer | undefined;
  /** The server's 101 head, for the client. */
  switching: ResponseHead | undefined;

  /** Starts proxying `head` to `upstream` (already picked). `keep`: the body is kept whole for replay (sent when complete). */
  constructor(
    private readonly engine: FastEngine,
    private readonly conn: ClientConn,
    readonly head: RequestHead,
    /** The server of the current attempt. */
    public upstream: Upstream,
    readonly route: Route,
    /** The request can be sent again: no body, or a body kept whole. */
    readonly replayable: boolean,
    private readonly keep: boolean,
  ) {
    // The request began when its head arrived (one clock read per request).
    this.attemptStartedAt = this.startedAt = conn.startedAt;
    this.upgrade = head.upgrade;
    if (keep) this.body = [];
  }

  /** Starts the current attempt: a pooled connection, or a new one. */
  start(): void {
    // Upgrades get a connection of their own: it becomes a tunnel.
    const pool = this.engine.pool(this.upstream);
    const c = this.upgrade ? undefined : pool.take();
    if (c !== undefined) {
      this.attach(c);
      return;
    }
    this.connecting = pool.connect((err, c) => this.onConnect(err, c), this.upgrade);
  }

  private onConnect(err: Error | undefined, c: UpstreamConn | undefined): void {
    this.connecting = undefined;
    if (this.done || this.clientGone) {
      c?.destroy();
      return;
    }
    if (err !== undefined || c === undefined) {
      const f = classifyUpstreamError(err ?? new Error('connect failed'));
      // A server that failed the TLS handshake (a bad certificate) was reached: 502, as nginx answers, not 503.
      if (tlsFailureReason(err) !== undefined) this.reached = true;
      // Nothing was sent: a connect failure, whatever the code (unless it is our own resources).
      this.failed(f.kind === 'cut' || f.local !== undefined ? f : { ...f, kind: 'connect' });
      return;
    }
    this.attach(c);
  }


  private attach(c: UpstreamConn): void {
    this.up = c;
    c.take(this, this.head.method);
    const s = c.socket;
    const r = this.route;
    const head = upstreamHead({
      method: this.head.method,
      path: this.engine.upstreamPath(this.upstream, r.originForm),
      rawHeaders: this.head.rawHeaders,
      peer: r.peer,
      trusted: r.trusted,
      proto: this.conn.proto,
      port: this.conn.localPort,
      host: r.host,
      chunked: this.head.chunked,
      keepUpgrade: this.upgrade,
      serverHost: c.pool.serverHost,
      close: this.engine.noReuse(this.upstream),
    });
    const body = this.body;
    let ok: boolean;
    if (body !== undefined && body.length > 0) {
      s.cork();
      s.write(head, 'latin1');
      for (const b of body) s.write(b);
      s.uncork();
      ok = !s.writableNeedDrain;
    } else ok = s.write(head, 'latin1');
    if (!this.replayable) this.body = undefined;
    if (this.requestComplete) this.sent();
    else if (!this.keep) {
      // Streaming: the client is read again once the server takes the bytes.
      if (ok) this.conn.unpauseFor(this);
      else s.once('drain', this.onUpDrain);
    }
    if (this.upgrade) {
      const ch = this.clientHeadBytes;
      this.clientHeadBytes = undefined;
      if (ch !== undefined && ch.length > 0) s.write(ch);
    }
  }

  private sent(): void {
    this.requestSent = true;
    this.headersDeadline = this.engine.now + this.engine.config.timeouts.responseHeadersMs;
  }

  // Made on the first backpressure only: most exchanges never fill a socket.
  private drainUp: (() => void) | undefined;
  private get onUpDrain(): () => void {
    return (this.drainUp ??= () => {
      if (!this.done) this.conn.unpauseFor(this);
    });
  }

  /** Bytes the client sent after an upgrade request's head (sent to the server with it). */
  clientHead(rest: Buffer): void {
    if (rest.length === 0) return;
    if (this.up !== undefined) this.up.socket.write(rest);
    else this.clientHeadBytes = this.clientHeadBytes === undefined ? rest : Buffer.concat([this.clientHeadBytes, rest]);
  }

  /** Request body bytes as they came from the client (chunk framing included). */
  onClientBody(slice: Buffer): void {
    // A slice of the engine's shared read buffer: copied, as it may wait in a queue or a list.
    const wire = Buffer.from(slice);
    if (this.keep) {
      (this.body as Buffer[]).push(wire);
      return;
    }
    const up = this.up;
    if (up === undefined) {
      // Connecting: held until the connection is made, and the client is not read meanwhile.
      (this.body ??= []).push(wire);
      this.conn.pauseFor(this);
      return;
    }
    if (!up.socket.write(wire)) {
      this.conn.pauseFor(this);
      up.socket.once('drain', this.onUpDrain);
    }
  }

  /** The whole request has arrived. */
  onClientComplete(): void {
    this.requestComplete = true;
    if (this.keep) {
      // The attempt begins now that the kept body is whole (the upload is the client's time, not the server's).
      this.attemptStartedAt = performance.now();
      this.start();
      return;
    }
    if (this.up !== undefined) this.sent();
  }

  onResponseHead(h: ResponseHead): void {
    const c = this.conn;
    if (h.status < 200) {
      // 100 Continue is ours to send (we answered Expect); 101 is handled as the tunnel begins.
      if (h.status !== 100 && h.status !== 101 && this.head.minor === 1 && !this.clientGone) c.socket.write(interimHead(h.status, h.reason, h.rawHeaders), 'latin1');
      if (h.status === 101) {
        this.status = 101;
        this.switching = h;
      }
      return;
    }
    this.status = h.status;
    this.headersAt = performance.now();
    this.headersDeadline = 0;
    this.lastUpAt = this.engine.now;
    this.upKeepAlive = h.keepAlive;
    if (this.clientGone) return;
    const v11 = this.head.minor === 1;
    let close = !c.keepAlive || this.upgrade;
    let framing: Framing;
    if (h.bodyless) framing = Framing.NONE;
    else if (h.chunked) framing = v11 ? Framing.PASS : Framing.DECHUNK;
    else if (h.closeDelimited) framing = v11 && !close ? Framing.CHUNK : Framing.EOF;
    else framing = Framing.PASS;
    if (framing === Framing.DECHUNK || framing === Framing.EOF) close = true;
    if (close) c.last();
    this.framing = framing;
    c.responseStarted = true;
    c.status = h.status;
    // Held until the read ends, so a small body goes out with it in one write.
    this.pending = clientHead(h.status, h.reason, h.rawHeaders, framing, h.chunked && framing === Framing.PASS, close, !v11 && !close);
  }

  onResponseBody(wire: Buffer): void {
    const f = this.framing;
    if (f === Framing.PASS || f === Framing.EOF) this.out(wire);
    else if (f === Framing.CHUNK) {
      this.out(`${wire.length.toString(16)}\r\n`);
      this.out(wire);
      this.out(CRLF);
    }
  }

  onResponsePayload(payload: Buffer): void {
    this.bodyBytes += payload.length;
    if (this.framing === Framing.DECHUNK) this.out(payload);
  }

  /** After each read from the server: what was written to the client goes out in one write. */
  afterData(): void {
    this.lastUpAt = this.engine.now;
    const p = this.pending;
    if (p !== undefined) {
      this.pending = undefined;
      this.toClient(p);
    }
  }

  // Bytes for the client: appended to the pending head while small (one write per read), else written.
  private out(b: Buffer | string): void {
    const p = this.pending;
    if (p !== undefined) {
      if (typeof b === 'string') {
        this.pending = p + b;
        return;
      }
      if (b.length <= SMALL) {
        this.pending = p + b.toString('latin1');
        return;
      }
      this.pending = undefined;
      // The head and a large body slice in one writev.
      const s = this.conn.socket;
      s.cork();
      s.write(p, 'latin1');
      s.write(b);
      s.uncork();
      this.afterWrite(s);
      return;
    }
    this.toClient(b);
  }

  private toClient(b: Buffer | string): void {
    const s = this.conn.socket;
    // Strings are heads, chunk sizes and small bodies: one byte per char (header bytes were read as latin1).
    if (typeof b === 'string') {
      if (!s.write(b, 'latin1')) this.afterWrite(s);
    } else {
      s.write(b);
      this.afterWrite(s);
    }
  }

  // Bytes still queued after a write: a body slice there is part of the connection's read buffer,
  // which it must not reuse; and the client reads slower than the server sends. (A write over the
  // stream's high-water mark returns false even when the kernel took it all: only bytes still
  // queued are backpressure, and pausing costs a readStop and a readStart.)
  private afterWrite(s: Socket): void {
    if (s.writableLength === 0) return;
    this.up?.retain();
    if (!s.writableNeedDrain || this.upPaused || this.clientGone) return;
    this.upPaused = true;
    this.up?.socket.pause();
    s.once('drain', this.onClientDrain);
  }

  private drainClient: (() => void) | undefined;
  private get onClientDrain(): () => void {
    return (this.drainClient ??= () => {
      this.upPaused = false;
      this.lastUpAt = this.engine.now;
      this.up?.socket.resume();
    });
  }

  /** True while the server is not read because the client is slow (the body idle timeout waits). */
  get waitingOnClient(): boolean {
    return this.upPaused;
  }

  onResponseComplete(up: UpstreamConn, extra: Buffer | undefined): void {
    this.up = undefined;
    if (this.upgrade && this.status === 101) {
      this.afterData();
      this.engine.tunnel(this, this.conn, up, extra);
      return;
    }
    if (this.framing === Framing.CHUNK) this.out(LAST_CHUNK);
    this.afterData();
    if (this.upPaused) {
      this.upPaused = false;
      this.conn.socket.off('drain', this.onClientDrain);
      up.socket.resume();
    }
    if (extra !== undefined) up.pool.stray(up);
    else if (this.upKeepAlive && this.requestSent && !this.upgrade && this.engine.stopping === undefined && !this.engine.noReuse(this.upstream)) {
      up.pool.release(up, this.engine.now);
    } else up.destroy();
    this.endAttempt(undefined);
    this.finish(undefined);
  }

  onUpstreamError(up: UpstreamConn, e: Error | undefined): void {
    // A head cut short at the close is a close before responding.
    const err = e instanceof HttpParseError && e.code === 'E_HTTP_TRUNCATED' && this.status === 0 ? undefined : e;
    if (this.up === up) this.up = undefined;
    up.destroy();
    this.afterData();
    if (this.done || this.clientGone) return;
    // A kept-alive connection the server closed while it was idle: once more on a fresh one.
    if (this.status === 0 && up.requests > 1 && !this.staleRetried && this.replayable && (this.requestComplete || this.keep) && isStale(err)) {
      this.staleRetried = true;
      up.pool.renewIdle();
      this.start();
      return;
    }
    let failure: UpstreamFailure;
    if (err instanceof HttpParseError) {
      failure = { status: 502, reason: `invalid response from the server (${err.code})`, kind: this.status !== 0 ? 'response' : 'reset' };
    } else if (err === undefined) {
      failure =
        this.status !== 0
          ? { status: 502, reason: 'server closed the connection mid-response', kind: 'response' }
          : { status: 502, reason: 'server closed the connection before responding', kind: 'reset' };
    } else failure = classifyUpstreamError(err, this.status !== 0);
    this.failed(failure);
  }

  /** The engine's clock ticked: response head and body deadlines. */
  check(now: number): void {
    if (this.done || this.up === undefined) return;
    if (this.headersDeadline !== 0 && now > this.headersDeadline) {
      this.fail({ status: 504, reason: 'response headers timeout', kind: 'timeout' });
    } else if (this.status !== 0 && !this.upPaused && now - this.lastUpAt > this.engine.config.timeouts.idleMs) {
      this.fail({ status: 504, reason: 'response body idle timeout', kind: 'reset' });
    }
  }

  private fail(f: UpstreamFailure): void {
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    this.failed(f);
  }

  private failed(failure: UpstreamFailure): void {
    this.endAttempt(failure);
    const c = this.conn;
    if (failure.kind === 'cut') {
      c.socket.destroy();
      this.finish(failure);
      return;
    }
    if (this.upgrade) {
      // As the node engine's tunnels: the failure's status on the raw socket, which closes; no retry.
      c.last();
      if (c.responseStarted) c.socket.destroy();
      else writeSocketError(c.socket, failure.status, failure.reason);
      this.finish(failure);
      return;
    }
    if (failure.kind !== 'connect') this.reached = true;
    if (this.status === 0 && !c.responseStarted && this.engine.retry(this, failure)) return;
    if (c.responseStarted) {
      // Mid-body: the status is gone; the client sees a cut connection.
      c.socket.destroy();
    } else if (!this.reached) {
      // No attempt reached a server: unavailable, not a bad gateway.
      failure = { ...failure, status: 503 };
      c.answerForServer(503, `no server available: none could be reached (${failure.reason})`, this.engine.retryAfterSeconds);
    } else c.answerForServer(failure.status, failure.reason);
    this.finish(failure);
  }

  /** Switches to `next` for a retry and starts it. */
  retarget(next: Upstream): void {
    (this.tried ??= []).push(this.upstream);
    this.upstream = next;
    this.attempts++;
    this.attemptStartedAt = performance.now();
    this.attemptOpen = true;
    this.start();
  }

  /** The client left before the exchange ended (the access log's 499). */
  get clientLeft(): boolean {
    return this.clientGone;
  }

  /** The client connection closed: the upstream request is cancelled. */
  clientClosed(): void {
    if (this.done) return;
    this.clientGone = true;
    this.connecting?.cancel();
    this.connecting = undefined;
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    this.endAttempt(undefined);
    this.finish(undefined);
  }

  /** Our shutdown's grace period is over: cut, nobody blamed. */
  cut(): void {
    if (this.done) return;
    this.connecting?.cancel();
    this.connecting = undefined;
    const up = this.up;
    this.up = undefined;
    up?.destroy();
    this.failed(CUT);
  }

  /** A tunnel ended: its attempt counts as a success lasting the session, status 0 as the node engine reports tunnels. */
  tunnelEnded(): void {
    this.status = 0;
    this.headersAt = 0;
    this.endAttempt(undefined);
    this.done = true;
  }

  private endAttempt(failure: UpstreamFailure | undefined): void {
    if (!this.attemptOpen) return;
    this.attemptOpen = false;
    const end = this.headersAt > 0 ? this.headersAt : performance.now();
    this.engine.cluster.attemptEnded(this.upstream, end - this.attemptStartedAt, failure === undefined ? { status: this.status } : { failure, status: this.status });
  }

  private finish(failure: UpstreamFailure | undefined): void {
    if (this.done) return;
    this.done = true;
    this.failure = failure;
    this.engine.exchangeDone(this, this.conn, failure, this.clientGone);
    if (!this.clientGone) this.conn.responseDone();
  }
}

// A reused connection that closed or reset before any response byte: the server's idle close raced our request.
function isStale(err: Error | undefined): boolean {
  if (err === undefined) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ECONNRESET' || code === 'EPIPE';
}
