import type { Server } from 'node:net';
import type { Limits } from '../../config/limits.js';
import type { Logger } from '../../util/logger.js';
import { ThrottledLog } from '../../util/log-throttle.js';

/**
 * The client connection cap (limits.maxConnections), node's `server.maxConnections`: a connection
 * beyond it is closed as soon as it is accepted, counted, and logged at most once a second with
 * the count, so the balancer keeps file descriptors for its upstream and health-check sockets.
 */
export class ConnectionCap {
  /** Connections closed at once because the cap was reached, since start. */
  dropped = 0;
  private readonly drops = new ThrottledLog();

  /** Applies `limits` to `server` and counts its drops. */
  constructor(
    private readonly server: Server,
    limits: Limits,
    private readonly log: Logger,
  ) {
    this.apply(limits);
    server.on('drop', () => {
      this.dropped++;
      this.drops.note('drop', this.log, (count, seconds) => [
        { maxConnections: this.server.maxConnections, dropped: count, droppedTotal: this.dropped },
        `connection limit reached (limits.maxConnections ${this.server.maxConnections}): ${count} new connection${count > 1 ? `s closed in the last ${seconds} s` : ' closed'}`,
      ]);
    });
  }

  /** Puts the cap of `limits` in force (at start and on reload). */
  apply(limits: Limits): void {
    this.server.maxConnections = limits.maxConnections;
  }
}
