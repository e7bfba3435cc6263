import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Upstream } from '../../control/selection/upstream.js';
import { classifyUpstreamError, sendUpstreamError, type UpstreamFailure } from './errors.js';
import { tlsFailureReason } from './upstream-tls.js';
import { stripResponseHeaders } from './headers.js';

/** What an exchange reports back to the proxy. */
export interface ExchangeOwner {
  /** Retry-After, in seconds, for a 503 when no attempt could connect to any server. */
  readonly retryAfterSeconds: number;
  /** The attempt on `x.upstream` ended; called once per attempt. `failure` is set when the upstream failed. */
  attemptEnded(x: Exchange, failure: UpstreamFailure | undefined): void;
  /** The attempt failed before any response byte: re-dispatch `x` elsewhere and return true, or return false. */
  retry(x: Exchange, failure: UpstreamFailure): boolean;
  /** The exchange is over; called once. */
  exchangeDone(x: Exchange, failure: UpstreamFailure | undefined, clientGone: boolean): void;
}

// Marks aborts we cause because the client left, so they are not reported as upstream failures.
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}
const CLIENT_GONE = new ClientGoneError('client closed the connection');

/**
 * One client request proxied upstream: an undici dispatch handler that streams the response
 * to the client with backpressure (pause the upstream while the client's buffer is full).
 * It survives retries: the owner may dispatch it again to another upstream.
 */
export class Exchange implements Dispatcher.DispatchHandler {
  /** Status the upstream answered with (0 until headers arrive). */
  status = 0;
  /** performance.now() when the current attempt started. */
  attemptStartedAt: number;
  /** performance.now() when the exchange began (its first attempt). */
  readonly startedAt: number;
  /** performance.now() when response headers arrived (0 until then). */
  headersAt = 0;
  // Body bytes still expected per Content-Length (-1: unknown), so the last chunk can go out with
  // the end of the response in one write instead of two.
  private remaining = -1;
  private ended = false;
  /** Response body bytes written to the client (for the access log). */
  bodyBytes = 0;
  /** Attempts made, the current one included. */
  attempts = 1;
  /** Upstreams tried before the current one (allocated on the first retry only). */
  tried: Upstream[] | undefined;
  private controller: Dispatcher.DispatchController | undefined;
  private finished = false;
  /** True once the exchange has ended. */
  get done(): boolean {
    return this.finished;
  }
  private clientGone = false;
  // Some attempt connected to a server (failures before that are "connect" ones): decides 502/504 vs 503.
  private reached = false;

  /** Creates the exchange; it watches the client connection from now on. */
  constructor(
    private readonly owner: ExchangeOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    /** The server of the current attempt. */
    public upstream: Upstream,
    /** The undici request, reused by retries. */
    readonly options: Dispatcher.DispatchOptions,
    /** The request body can be sent again (none, or buffered whole). */
    readonly replayable: boolean,
  ) {
    this.attemptStartedAt = this.startedAt = performance.now();
    res.once('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.finished || this.res.writableFinished) return;
    this.clientGone = true;
    // A client that goes away cancels its upstream request.
    this.controller?.abort(CLIENT_GONE);
  };

  // Made on the first backpressure only: most responses never fill the client's buffer.
  private onDrain: (() => void) | undefined;

  /** Switches to a new upstream for a retry; the caller dispatches again. */
  retarget(next: Upstream): void {
    (this.tried ??= []).push(this.upstream);
    this.upstream = next;
    this.attempts++;
    this.attemptStartedAt = performance.now();
    this.controller = undefined;
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.clientGone) controller.abort(CLIENT_GONE);
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: IncomingHttpHeaders,
    statusMessage?: string,
  ): void {
    if (statusCode < 200) return; // 1xx informational: the final response follows
    this.status = statusCode;
    this.headersAt = performance.now();
    if (this.res.destroyed) return;
    const length = headers['content-length'];
    this.remaining = typeof length === 'string' && this.req.method !== 'HEAD' ? Number(length) : -1;
    // HTTP/2 has no reason phrase (node warns when given one).
    this.res.writeHead(statusCode, this.req.httpVersionMajor === 2 ? undefined : statusMessage, stripResponseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.bodyBytes += chunk.length;
    if (this.remaining === chunk.length) {
      this.ended = true;
      this.res.end(chunk);
      return;
    }
    if (this.remaining > 0) this.remaining -= chunk.length;
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', (this.onDrain ??= () => this.controller?.resume()));
    }
  }

  onResponseEnd(): void {
    if (!this.ended) this.res.end();
    this.owner.attemptEnded(this, undefined);
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.clientGone || err === CLIENT_GONE) {
      this.res.destroy();
      this.owner.attemptEnded(this, undefined);
      this.finish(undefined);
      return;
    }
    if ((err as NodeJS.ErrnoException).code === 'UND_ERR_INVALID_ARG' && !this.res.headersSent) {
      // undici refused to send the request as the client wrote it: the client's fault, not the server's.
      this.owner.attemptEnded(this, undefined);
      sendUpstreamError(this.res, 400, 'request cannot be forwarded');
      this.finish(undefined);
      return;
    }
    const failure = classifyUpstreamError(err, this.status !== 0);
    this.owner.attemptEnded(this, failure);
    if (failure.kind === 'cut') {
      // Our own shutdown or reload cut it: nothing to retry, nobody to blame; the client connection closes.
      this.res.destroy();
      this.finish(failure);
      return;
    }
    // A server that failed the TLS handshake (a bad certificate) was reached: 502, as nginx answers, not 503.
    if (failure.kind !== 'connect' || tlsFailureReason(err) !== undefined) this.reached = true;
    if (this.status === 0 && !this.res.headersSent && this.owner.retry(this, failure)) return;
    if (this.res.headersSent) {
      // Mid-body failure: the status is gone; cut the connection so the client sees a truncated body.
      this.res.destroy();
    } else if (!this.reached) {
      // No attempt got a connection to a server: the service is unavailable, not a bad gateway.
      sendUpstreamError(this.res, 503, `no server available: none could be reached (${failure.reason})`, this.owner.retryAfterSeconds);
      this.finish({ ...failure, status: 503 });
      return;
    } else {
      sendUpstreamError(this.res, failure.status, failure.reason);
    }
    this.finish(failure);
  }

  private finish(failure: UpstreamFailure | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.owner.exchangeDone(this, failure, this.clientGone);
  }
}
