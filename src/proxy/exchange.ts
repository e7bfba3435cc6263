import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import type { Upstream } from '../balancer/upstream.js';
import { classifyUpstreamError, sendError, type UpstreamFailure } from './errors.js';
import { stripResponseHeaders } from './headers.js';

/** What an exchange reports back to the proxy when it ends. */
export interface ExchangeOwner {
  /** Called exactly once per exchange. `failure` is set when the upstream failed. */
  exchangeDone(x: Exchange, failure: UpstreamFailure | undefined, clientGone: boolean): void;
}

// Marks aborts we cause because the client left, so they are not reported as upstream failures.
class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}
const CLIENT_GONE = new ClientGoneError('client closed the connection');

/**
 * One request proxied to one upstream: an undici dispatch handler that streams the
 * response to the client with backpressure (pause the upstream while the client's buffer is full).
 */
export class Exchange implements Dispatcher.DispatchHandler {
  /** Status the upstream answered with (0 until headers arrive). */
  status = 0;
  /** performance.now() when response headers arrived (0 until then). */
  headersAt = 0;
  private controller: Dispatcher.DispatchController | undefined;
  private finished = false;
  private clientGone = false;

  /** Creates the exchange; it watches the client connection from now on. */
  constructor(
    private readonly owner: ExchangeOwner,
    readonly req: IncomingMessage,
    readonly res: ServerResponse,
    readonly upstream: Upstream,
    readonly startedAt: number,
  ) {
    res.once('close', this.onClientClose);
  }

  private readonly onClientClose = (): void => {
    if (this.finished || this.res.writableFinished) return;
    this.clientGone = true;
    // A client that goes away cancels its upstream request.
    this.controller?.abort(CLIENT_GONE);
  };

  private readonly onDrain = (): void => {
    this.controller?.resume();
  };

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
    this.res.writeHead(statusCode, statusMessage, stripResponseHeaders(headers));
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.res.write(chunk)) {
      controller.pause();
      this.res.once('drain', this.onDrain);
    }
  }

  onResponseEnd(): void {
    this.res.end();
    this.finish(undefined);
  }

  onResponseError(_controller: Dispatcher.DispatchController | undefined, err: Error): void {
    if (this.clientGone || err === CLIENT_GONE) {
      this.res.destroy();
      this.finish(undefined);
      return;
    }
    const failure = classifyUpstreamError(err);
    if (this.res.headersSent) {
      // Mid-body failure: the status is gone; cut the connection so the client sees a truncated body.
      this.res.destroy();
    } else {
      sendError(this.res, failure.status, failure.reason);
    }
    this.finish(failure);
  }

  private finish(failure: UpstreamFailure | undefined): void {
    if (this.finished) return;
    this.finished = true;
    this.owner.exchangeDone(this, failure, this.clientGone);
  }
}
