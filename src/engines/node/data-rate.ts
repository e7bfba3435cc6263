import type { Socket } from 'node:net';
import type { MinRate } from '../../config/limits.js';
import type { Logger } from '../../util/logger.js';
import { endSocketWithError } from './errors.js';
import { ThrottledLog } from '../../util/log-throttle.js';

/** What the sweep reads and keeps of one client connection with a request (node's ClientConnection, the fast engine's). */
export interface RateSubject {
  readonly socket: Socket;
  /** The connection has a request being answered. */
  readonly active: boolean;
  /** The request target, for the log line. */
  readonly target: string | undefined;
  /** The request body is being awaited from the client, with nothing of it buffered. */
  readonly awaitingBody: boolean;
  /** A response head went to the client. */
  readonly responseStarted: boolean;
  bytesReadAtStart: number;
  bodyWaitMs: number;
  stallAt: number;
  deliveredAtStall: number;
  sweptAt: number;
  answeredOnSocket: number;
  /** Answers no further request on this connection. */
  last(): void;
}

/** How often the one sweep over the connections with a request runs. */
export const DATA_RATE_SWEEP_MS = 1000;

// What net.Socket knows about bytes it has handed to the kernel (lib/net.js): `_bytesDispatched`
// went to libuv, of which `_handle.writeQueueSize` is still queued there.
interface WriteCounters {
  _bytesDispatched?: number;
  _handle?: { writeQueueSize?: number } | null;
}

/** Bytes of the socket's output the kernel has taken, i.e. on their way to the client. */
function delivered(socket: Socket): number {
  const s = socket as Socket & WriteCounters;
  if (typeof s._bytesDispatched === 'number') return s._bytesDispatched - (s._handle?.writeQueueSize ?? 0);
  return socket.bytesWritten - socket.writableLength;
}

/**
 * Minimum data rates, as Kestrel's MinRequestBodyDataRate and MinResponseDataRate: a client that
 * uploads or downloads slower than the rate after the grace period is cut, and with it the upstream
 * request (the exchange sees its client go; no server is blamed). Only time the balancer waits on
 * the client counts:
 *  - request body: time the body is being read and nothing is buffered (not while the backend is
 *    slow to take it); the average since the request began must stay at the rate;
 *  - response: time the client's socket is backpressured; during each such stall the client must
 *    take bytes at the rate (a reader that stops altogether is cut after the grace period).
 * One timer for all connections, checked every DATA_RATE_SWEEP_MS, so deadlines hold to ~1 s.
 */
export class DataRateSweep {
  private readonly timer: NodeJS.Timeout;
  private readonly cuts = new ThrottledLog();

  /** Starts the sweep over `active` (the connections with a request); `rates` reads the config in force. */
  constructor(
    private readonly active: ReadonlySet<RateSubject>,
    private readonly rates: () => { readonly body: MinRate | undefined; readonly response: MinRate | undefined },
    private readonly log: Logger,
  ) {
    this.timer = setInterval(this.sweep, DATA_RATE_SWEEP_MS);
    this.timer.unref();
  }

  /** Stops the sweep. */
  stop(): void {
    clearInterval(this.timer);
  }

  private readonly sweep = (): void => {
    const { body, response } = this.rates();
    if (body === undefined && response === undefined) return;
    const now = performance.now();
    for (const c of this.active) {
      const { socket } = c;
      if (!c.active || socket.destroyed) continue;
      const dt = now - c.sweptAt;
      c.sweptAt = now;
      if (body !== undefined && c.awaitingBody) {
        c.bodyWaitMs += dt;
        if (c.bodyWaitMs > body.graceMs) {
          const rate = (socket.bytesRead - c.bytesReadAtStart) / (c.bodyWaitMs / 1000);
          if (rate < body.bytesPerSecond) this.cut(c, 'request body', rate, body);
        }
      }
      if (response === undefined || socket.destroyed) continue;
      if (!socket.writableNeedDrain) {
        c.stallAt = 0;
        continue;
      }
      if (c.stallAt === 0) {
        c.stallAt = now;
        c.deliveredAtStall = delivered(socket);
        continue;
      }
      const stalled = now - c.stallAt;
      if (stalled <= response.graceMs) continue;
      const rate = (delivered(socket) - c.deliveredAtStall) / (stalled / 1000);
      if (rate < response.bytesPerSecond) this.cut(c, 'response', rate, response);
    }
  };

  private cut(c: RateSubject, what: 'request body' | 'response', rate: number, min: MinRate): void {
    const { socket } = c;
    c.last();
    const client = socket.remoteAddress;
    const url = c.target;
    const shown = rate < 10 ? rate.toFixed(1) : String(Math.round(rate));
    this.cuts.note(what, this.log, (count, seconds) => [
      { client, url, bytesPerSecond: Number(shown), minimum: min.bytesPerSecond, count },
      `${what} too slow: client ${client} at ${shown} B/s (minimum ${min.bytesPerSecond} B/s after ${min.graceMs / 1000} s); connection closed` +
        (count > 1 ? ` (${count} such cuts in the last ${seconds} s)` : ''),
    ]);
    if (what === 'request body' && c.active && !c.responseStarted && socket.writable) {
      // Kestrel answers a too-slow upload 408; the connection closes either way, which cancels
      // the upstream request (the exchange sees its client go).
      c.answeredOnSocket = 408;
      endSocketWithError(socket, 408, 'request body too slow');
      socket.once('finish', () => socket.destroy());
      setTimeout(() => socket.destroy(), DATA_RATE_SWEEP_MS).unref();
      return;
    }
    socket.destroy();
  }
}
