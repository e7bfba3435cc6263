import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Exchange } from './exchange.js';
import type { RateSubject } from './data-rate.js';

/** Requests parsed ahead of the one being answered before the connection stops being read. */
export const PIPELINE_PAUSE_AT = 8;

// node:http's own read-pause state of a server socket (lib/_http_server.js): it sets `_paused` and
// pauses the socket and its parser when responses pile up; we use the same switch, so neither of
// us undoes the other's pause behind its back.
interface HttpServerSocket extends Socket {
  _paused?: boolean;
  parser?: { resume(): void } | null;
}

/** Starts one request: the proxy's handler. */
export type StartRequest = (c: ClientConnection, req: IncomingMessage, res: ServerResponse) => void;

/** Where the proxy leaves the exchange of the request being answered (for the access log). */
export interface ExchangeSlot {
  exchange: Exchange | undefined;
}

/**
 * One client connection, answered one request at a time as nginx and HAProxy do: node:http parses
 * pipelined requests as they arrive and emits each at once, so the next one is held here until the
 * previous response has finished. At most one request per connection is upstream, a client that
 * does not read its responses holds up only itself, and the socket stops being read once
 * PIPELINE_PAUSE_AT requests wait. After a response that closes the connection
 * (`Connection: close`, an error) or a cut, the requests behind it are never started.
 */
export class ClientConnection implements ExchangeSlot, RateSubject {
  /** The request being answered, undefined between requests. */
  req: IncomingMessage | undefined;
  /** Its response. */
  res: ServerResponse | undefined;
  /** performance.now() when the current request started. */
  startedAt = 0;
  /** socket.bytesRead when the current request started. */
  bytesReadAtStart = 0;
  /** Time spent waiting on the client for request body bytes (data-rate.ts). */
  bodyWaitMs = 0;
  /** When the response started waiting on the client to read (0: not waiting). */
  stallAt = 0;
  /** Bytes delivered to the client's socket when that wait began. */
  deliveredAtStall = 0;
  /** When the data-rate sweep last looked. */
  sweptAt = 0;
  /** The current request's exchange with a server, once the proxy made one. */
  exchange: Exchange | undefined;
  /** Status the balancer answered the current request with on the raw socket (408 slow body, 400 bad body); 0: none. */
  answeredOnSocket = 0;
  /** A request is being answered (data-rate.ts). */
  get active(): boolean {
    return this.req !== undefined && this.res !== undefined;
  }
  /** The request target (data-rate.ts). */
  get target(): string | undefined {
    return this.req?.url;
  }
  /** The body is being read and nothing of it is buffered (data-rate.ts). */
  get awaitingBody(): boolean {
    const r = this.req;
    return r !== undefined && !r.complete && r.readableFlowing === true && r.readableLength === 0;
  }
  /** A response head went out (data-rate.ts). */
  get responseStarted(): boolean {
    return this.res?.headersSent === true;
  }
  private queue: [IncomingMessage, ServerResponse][] | undefined;
  private pausedByUs = false;
  private over = false;
  private pendingReply: (() => void) | undefined;

  /** Wraps `socket`; `start` proxies a request, `busy` tells the owner when the connection has a request and when not. */
  constructor(
    readonly socket: Socket,
    private readonly start: StartRequest,
    private readonly busy: (c: ClientConnection, active: boolean) => void,
    /** Called once as each request ends (answered, or its connection closed), before the next begins. */
    private readonly ended?: (c: ClientConnection) => void,
  ) {}

  /** A request node:http parsed on this connection: started now or queued behind the current one. */
  push(req: IncomingMessage, res: ServerResponse): void {
    if (this.over) {
      // Behind a response that closes the connection: never answered (node:http aborts it on close).
      req.resume();
      return;
    }
    if (this.res === undefined) {
      this.begin(req, res);
      return;
    }
    (this.queue ??= []).push([req, res]);
    if (this.queue.length >= PIPELINE_PAUSE_AT) this.pause();
  }

  /**
   * Ends the connection with `reply` (an error on the raw socket) once the requests parsed before
   * it have been answered, so an error never overtakes a response owed to an earlier request.
   */
  failAfterQueue(reply: () => void, status = 0): void {
    if (this.res === undefined) return reply();
    if (this.req?.complete === false) {
      // The error is in the body of the request being answered: it is the answer, unless one has started.
      this.last();
      if (this.res.headersSent) this.socket.destroy();
      else {
        this.answeredOnSocket = status;
        reply();
      }
      return;
    }
    this.pendingReply = reply;
  }

  /** Runs `next` (an upgrade taking the connection over) once the requests before it have been answered. */
  whenAnswered(next: () => void): void {
    if (this.res === undefined) next();
    else this.pendingReply = next;
  }

  /** Stops answering further requests on this connection (after the current response). */
  last(): void {
    this.over = true;
    this.queue = undefined;
  }

  private begin(req: IncomingMessage, res: ServerResponse): void {
    this.req = req;
    this.res = res;
    this.startedAt = performance.now();
    this.sweptAt = this.startedAt;
    this.bytesReadAtStart = this.socket.bytesRead;
    this.bodyWaitMs = 0;
    this.stallAt = 0;
    this.exchange = undefined;
    this.answeredOnSocket = 0;
    res.on('close', this.onClose);
    this.busy(this, true);
    this.start(this, req, res);
  }

  // The response ended (finished, or its connection closed): start the next request, if any.
  private readonly onClose = (): void => {
    this.ended?.(this);
    const res = this.res;
    this.req = undefined;
    this.res = undefined;
    this.busy(this, false);
    // node ends the connection after this response (Connection: close, HTTP/1.0, an error): nothing more is answered.
    if (res === undefined || !res.writableFinished || !res.shouldKeepAlive || this.socket.destroyed || this.socket.writableEnded) this.last();
    const next = this.over ? undefined : this.queue?.shift();
    // Read on once nothing waits; after the last response node closes the connection, unread.
    if (!this.over && (this.queue === undefined || this.queue.length === 0)) this.resume();
    if (next !== undefined) this.begin(next[0], next[1]);
    else if (this.pendingReply !== undefined && !this.over && !this.socket.destroyed) this.pendingReply();
  };

  private pause(): void {
    const s = this.socket as HttpServerSocket;
    this.pausedByUs = true;
    if (s._paused === true) return;
    s._paused = true;
    s.pause();
  }

  private resume(): void {
    if (!this.pausedByUs) return;
    this.pausedByUs = false;
    const s = this.socket as HttpServerSocket;
    // Unread responses are node's reason to keep it paused; its 'drain' handler resumes it then.
    if (s._paused !== true || s.destroyed || s.writableNeedDrain) return;
    s._paused = false;
    s.parser?.resume();
    s.resume();
  }
}
