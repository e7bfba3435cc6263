import type { Socket } from 'node:net';
import type { RateSubject } from '../node/data-rate.js';
import { endSocketWithError, writeSocketError } from '../node/errors.js';
import { HttpParseError } from './http1/parse-error.js';
import { RequestParser, type RequestEvents, type RequestHead } from './http1/request-parser.js';
import type { HeadLimits } from './http1/limits.js';
import type { FastExchange } from './exchange.js';
import type { FastEngine } from './fast-engine.js';
import type { ReadSink } from '../read-into.js';
import { errorAnswer } from './response-head.js';

/** A keep-alive connection with no byte of a next request is closed after this (node's keepAliveTimeout). */
export const KEEP_ALIVE_MS = 5000;
/** After the balancer ends a connection, the client gets this long to close its side (lingering close). */
const LINGER_MS = 2000;

// Why the client socket is not being read (bits): bytes of a next request wait (pipelining), the
// server is not taking the request body fast enough, or the client is not reading its responses.
const HOLD = 1;
const UPSTREAM = 2;
const WRITE = 4;

/**
 * One client connection, answered one request at a time as nginx and HAProxy do: while a request
 * is being answered, bytes of the next one (pipelining) stay unread in the socket (we stop reading)
 * and are parsed once the response has gone out, so answers go in order and a client holds at
 * most one request upstream.
 */
export class ClientConn implements RequestEvents, RateSubject {
  readonly parser: RequestParser;
  /** The request being answered. */
  head: RequestHead | undefined;
  /** Its exchange with a server, once made. */
  x: FastExchange | undefined;
  /** Between a request head and the end of both the request and its response. */
  inRequest = false;
  /** The whole request arrived. */
  requestComplete = false;
  /** A response head went to the client. */
  responseStarted = false;
  /** Status sent to the client. */
  status = 0;
  /** Body bytes of the balancer's own answer. */
  ownBytes = 0;
  /** performance.now() when the request began. */
  startedAt = 0;
  /** The balancer answered on the raw socket (408 slow body, 400 bad body): that status. */
  answeredOnSocket = 0;
  bytesReadAtStart = 0;
  bodyWaitMs = 0;
  stallAt = 0;
  deliveredAtStall = 0;
  sweptAt = 0;
  /** Engine clock of the last byte read. */
  lastReadAt: number;
  /** Engine clock when the wait for the next request head (or its first byte) began. */
  private waitSince: number;
  // A first byte of the next head has been seen (or this is the first request: its deadline runs from the accept).
  private headStarted = true;
  private responded = false;
  private held: Buffer | undefined;
  private pauses = 0;
  private over = false;
  private tunnelled = false;
  /** The port the client connected to (X-Forwarded-Port). */
  readonly localPort: number;
  // Where read bytes go: the parser, a tunnel's server, or nowhere (lingering close). The bytes
  // are a slice of the engine's shared read buffer (read-into.ts): whatever outlives the call is copied.
  private sink: ReadSink;

  /** Serves `socket` for `engine`. */
  constructor(
    readonly socket: Socket,
    private readonly engine: FastEngine,
    limits: HeadLimits,
    /** The peer's address (IPv4-mapped prefix removed). */
    readonly peer: string,
    /** The client's scheme (X-Forwarded-Proto): "https" on a TLS connection. */
    readonly proto: 'http' | 'https' = 'http',
  ) {
    this.parser = new RequestParser(this, limits);
    this.localPort = socket.localPort ?? 0;
    this.lastReadAt = this.waitSince = engine.now;
    this.sink = this.onData;
    socket.on('end', this.onEnd);
    socket.on('error', noop);
    socket.on('close', this.onClose);
  }

  /** The client keeps the connection after this response. */
  get keepAlive(): boolean {
    return !this.over && this.engine.closingDown === false;
  }

  /** A request is being answered (data-rate.ts). */
  get active(): boolean {
    return this.inRequest;
  }

  /** Its target (data-rate.ts). */
  get target(): string | undefined {
    return this.head?.target;
  }

  /** Its body is being read with nothing held back (data-rate.ts). */
  get awaitingBody(): boolean {
    return this.inRequest && !this.requestComplete && this.pauses === 0;
  }

  /** Answers no further request on this connection. */
  last(): void {
    this.over = true;
  }

  /** No request, and no byte of one: the connection can close without losing anything. */
  get idle(): boolean {
    return !this.inRequest && this.held === undefined && this.parser.idle && !this.tunnelled;
  }

  /** Bytes read from the client (valid during the call only): the engine feeds them (read-into.ts, or 'data' events). */
  readonly read = (buf: Buffer): void => {
    this.sink(buf);
  };

  private readonly onData = (buf: Buffer): void => {
    this.lastReadAt = this.engine.now;
    if (this.inRequest && this.requestComplete) {
      this.hold(buf);
      return;
    }
    if (!this.inRequest && !this.headStarted) {
      this.headStarted = true;
      this.waitSince = this.engine.now;
    }
    this.feed(buf, 0);
  };

  private feed(buf: Buffer, offset: number): void {
    let off = offset;
    // `over` stops the parsing of a next request, never the rest of the current one.
    while (off < buf.length && (this.inRequest || !this.over)) {
      let end: number;
      try {
        end = this.parser.execute(buf, off);
      } catch (e) {
        if (!(e instanceof HttpParseError)) throw e;
        this.parseError(e);
        return;
      }
      if (end >= buf.length) return;
      if (this.inRequest) {
        const x = this.x;
        if (x !== undefined && x.upgrade && !this.requestComplete) {
          // An upgrade: the rest is the tunnel's; nothing more is read until it begins.
          x.clientHead(Buffer.from(buf.subarray(end)));
          this.pauseFor(undefined, HOLD);
          return;
        }
        this.hold(buf.subarray(end));
        return;
      }
      off = end;
    }
  }

  private hold(rest: Buffer): void {
    this.held = this.held === undefined ? Buffer.from(rest) : Buffer.concat([this.held, rest]);
    this.pauseFor(undefined, HOLD);
  }

  /** Stops reading the client (the server is not taking the body fast enough, or it is connecting). */
  pauseFor(_x: FastExchange | undefined, bit = UPSTREAM): void {
    if (this.pauses === 0) this.socket.pause();
    this.pauses |= bit;
  }

  /** Reads the client again. */
  unpauseFor(_x: FastExchange | undefined, bit = UPSTREAM): void {
    if ((this.pauses & bit) === 0) return;
    this.pauses &= ~bit;
    if (this.pauses === 0 && !this.socket.destroyed) this.socket.resume();
  }

  private parseError(e: HttpParseError): void {
    this.over = true;
    if (this.inRequest) {
      // The error is in the body of the request being answered: it is the answer, unless one has started.
      if (this.responseStarted) {
        this.socket.destroy();
        return;
      }
      this.answeredOnSocket = e.status;
      this.x?.clientClosed();
      endSocketWithError(this.socket, e.status, e.message);
      this.linger();
      return;
    }
    this.engine.noteParseError(this, e);
    endSocketWithError(this.socket, e.status, e.message);
    this.linger();
  }

  onHead(head: RequestHead): void {
    this.head = head;
    this.inRequest = true;
    this.requestComplete = false;
    this.responseStarted = false;
    this.responded = false;
    this.status = 0;
    this.ownBytes = 0;
    this.answeredOnSocket = 0;
    this.x = undefined;
    this.startedAt = this.sweptAt = performance.now();
    // Read by the body rate check only (a call into the socket's handle: skipped without a body).
    if (head.chunked || head.contentLength > 0) this.bytesReadAtStart = this.socket.bytesRead;
    this.bodyWaitMs = 0;
    this.stallAt = 0;
    if (!head.keepAlive) this.over = true;
    this.engine.startRequest(this, head);
  }

  onBody(wire: Buffer): void {
    const x = this.x;
    if (x !== undefined && !x.done) x.onClientBody(wire);
  }

  onComplete(): void {
    this.requestComplete = true;
    const x = this.x;
    if (x !== undefined && !x.done) x.onClientComplete();
    else if (this.responded) this.requestEnded();
  }

  /**
   * The balancer's own answer to the current request (no server involved; `counted` false when the
   * exchange counts it under its server). The rest of the request body is read and dropped.
   */
  answer(status: number, detail: string, retryAfterSeconds?: number, counted = true): void {
    if (counted) this.engine.cluster.metrics?.selfAnswered(this.head?.method, status);
    // A body still on its way after an upstream failure is not drained: the connection closes.
    const close = !this.keepAlive || (!this.requestComplete && this.x !== undefined);
    if (close) this.over = true;
    const a = errorAnswer(status, detail, close, retryAfterSeconds);
    this.responseStarted = true;
    this.status = status;
    this.ownBytes = Buffer.byteLength(a.body);
    this.socket.cork();
    this.socket.write(a.head);
    this.socket.write(this.head?.method === 'HEAD' ? '' : a.body);
    this.socket.uncork();
    if (this.x === undefined) this.responseDone();
  }

  /** Refuses the current request on the raw socket and closes (CONNECT, a refused upgrade), as the node engine does. */
  refuseRaw(status: number, detail: string, headers: Record<string, string | number> = {}): void {
    this.over = true;
    this.responseStarted = true;
    this.status = status;
    endSocketWithError(this.socket, status, detail, headers, this.head?.method);
    this.engine.requestEnded(this, false);
    this.inRequest = false;
    this.linger();
  }

  /** Like answer, on behalf of a server that failed (counted under it by the exchange). */
  answerForServer(status: number, detail: string, retryAfterSeconds?: number): void {
    this.answer(status, detail, retryAfterSeconds, false);
  }

  /** The response to the current request has been written. */
  responseDone(): void {
    this.responded = true;
    if (this.requestComplete) {
      this.requestEnded();
      return;
    }
    // The response ended before the request did (an early answer): the connection closes after it.
    if (this.x !== undefined) {
      this.over = true;
      this.engine.requestEnded(this);
      this.inRequest = false;
      // What the client still sends is read and dropped until it closes (lingering close).
      this.sink = noop;
      this.pauses = 0;
      this.socket.resume();
      this.socket.end();
      this.linger();
    }
  }

  // Both the request and its response are over: the next request, if any, may begin.
  private requestEnded(): void {
    this.engine.requestEnded(this);
    this.inRequest = false;
    this.x = undefined;
    this.head = undefined;
    if (this.over || this.engine.closingDown) {
      this.socket.end();
      this.linger();
      return;
    }
    this.waitSince = this.engine.now;
    this.headStarted = false;
    // A client that does not read its responses gets no next one started (as node:http): wait for its drain.
    if (this.socket.writableNeedDrain) {
      this.pauseFor(undefined, WRITE);
      this.socket.once('drain', this.nextRequest);
      return;
    }
    this.nextRequest();
  }

  // Parses what the client sent after the request that just ended, and reads on.
  private readonly nextRequest = (): void => {
    if (this.socket.destroyed) return;
    this.unpauseFor(undefined, WRITE);
    const h = this.held;
    if (h !== undefined) {
      this.held = undefined;
      this.headStarted = true;
      this.feed(h, 0);
    }
    if (this.held === undefined) this.unpauseFor(undefined, HOLD);
  };

  /** The connection becomes a tunnel to `server`: what the client sends goes there (with backpressure), and its end too. */
  tunnel(server: Socket): Buffer | undefined {
    this.tunnelled = true;
    const s = this.socket;
    const resume = (): void => {
      s.resume();
    };
    this.sink = (b) => {
      if (!server.write(Buffer.from(b))) {
        s.pause();
        server.once('drain', resume);
      }
    };
    s.off('end', this.onEnd);
    s.once('end', () => server.end());
    this.engine.requestEnded(this);
    this.inRequest = false;
    const h = this.held;
    this.held = undefined;
    this.pauses = 0;
    return h;
  }

  private readonly onEnd = (): void => {
    // A client that closes its side has gone away, as node:http (no half-open) and nginx see it:
    // its request upstream is cancelled.
    this.over = true;
    if (this.inRequest) this.socket.destroy();
    else this.socket.end();
  };

  private readonly onClose = (): void => {
    this.engine.connectionClosed(this);
    if (this.inRequest) {
      this.x?.clientClosed();
      this.engine.requestEnded(this);
      this.inRequest = false;
    }
  };

  /** Ends the connection after what was written; destroyed if the client does not close in time. */
  private linger(): void {
    setTimeout(() => this.socket.destroy(), LINGER_MS).unref();
  }

  /** Closes an idle keep-alive connection (shutdown, reload of the listener). */
  closeIdle(): void {
    if (this.idle) this.socket.end();
  }

  /** The engine's clock ticked: head deadline, keep-alive idle, body silence, server deadlines. */
  check(now: number): void {
    if (this.tunnelled || this.socket.destroyed) return;
    const t = this.engine.config.timeouts;
    if (this.inRequest) {
      if (!this.requestComplete && this.pauses === 0 && now - this.lastReadAt > t.idleMs) this.socket.destroy();
      else this.x?.check(now);
      return;
    }
    if (this.over) return;
    if ((this.pauses & WRITE) !== 0) {
      // Responses wait for the client to read them: the idle timeout, not the keep-alive one.
      if (now - this.waitSince > t.idleMs) this.socket.destroy();
      return;
    }
    if (!this.headStarted) {
      if (now - this.waitSince > KEEP_ALIVE_MS) this.socket.destroy();
      return;
    }
    if (now - this.waitSince <= t.requestHeadMs) return;
    this.over = true;
    // A connection that sent nothing made no request: answered, not counted or logged.
    if (this.socket.bytesRead > 0) {
      this.engine.noteSlowHead(this);
      endSocketWithError(this.socket, 408);
    } else writeSocketError(this.socket, 408);
    this.linger();
  }
}

function noop(): void {}
