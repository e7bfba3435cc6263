// GET /api/events: Server-Sent Events of what the control plane announces, a snapshot first and
// a summary every second. Every client gets the same bytes (each event is serialised once); a
// client whose unsent bytes pass the limit is cut off, never buffered without bound.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Announcement, Announcements } from '../control/announcements.js';
import type { SourceStatus } from '../control/sources/source.js';
import type { LogSink } from '../util/logger.js';
import type { ServerStateName, ServerView } from './control.js';

/** Unsent bytes a client may have before it is cut off. */
export const MAX_UNSENT_BYTES = 256 * 1024;
/** Interval of `summary` events. */
export const SUMMARY_INTERVAL_MS = 1_000;
/** Interval of `: ping` comments, which keep proxies and idle timers from closing the stream. */
export const PING_INTERVAL_MS = 15_000;
/** Event streams open at once; the admin listener's connection limit leaves room for the API. */
export const MAX_STREAMS = 32;

/** The first event: who the balancer is and every server. */
export interface FeedSnapshot {
  readonly name: string;
  readonly algorithm: string;
  readonly servers: readonly ServerView[];
  readonly sources: readonly SourceStatus[];
}

/** One server in a `summary` event. */
export interface FeedServerSummary {
  readonly name: string;
  readonly state: ServerStateName;
  readonly healthy: boolean;
  readonly inflight: number;
  readonly effectiveWeight: number;
  /** Slow-start progress, 0..1 (1: full weight; 0 while out). */
  readonly slowStart: number;
  /** Requests per second, last 5 complete seconds. */
  readonly rps: number;
  /** Failed share of them, 0..1. */
  readonly errorRate: number;
  /** Latency over the last 10 s, ms; null without requests. */
  readonly p50: number | null;
  readonly p99: number | null;
}

/** The periodic `summary` event. */
export interface FeedSummary {
  /** Epoch ms. */
  readonly time: number;
  readonly totals: { readonly rps: number; readonly errorsPerSecond: number; readonly up: number; readonly total: number };
  readonly servers: readonly FeedServerSummary[];
}

/** What the stream reads from the control plane. */
export interface EventFeed {
  readonly announcements: Announcements;
  snapshot(): FeedSnapshot;
  summary(): FeedSummary;
}

/** One SSE event as sent: `event: NAME\ndata: JSON\n\n`. */
export function sseEvent(name: string, data: unknown): string {
  // JSON.stringify never emits a raw line break, so the data is one line.
  return `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
}

interface Client {
  readonly res: ServerResponse;
  readonly remote: string;
}

/** The event streams of one admin listener. */
export class EventStreams {
  private readonly clients = new Set<Client>();
  private readonly onAnnouncement = (a: Announcement): void => this.broadcast(sseEvent(a.type, a));
  private summaryTimer: NodeJS.Timeout | undefined;
  private pingTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /** Streams `feed`'s announcements to clients added with `add`. */
  constructor(
    private readonly feed: EventFeed,
    private readonly log: LogSink,
    private readonly maxUnsent = MAX_UNSENT_BYTES,
  ) {}

  /** Clients streaming now. */
  get size(): number {
    return this.clients.size;
  }

  /** Whether another client may be added. */
  get full(): boolean {
    return this.clients.size >= MAX_STREAMS;
  }

  /** Answers `req` with the stream: headers, the snapshot, then every event until either side closes. */
  add(req: IncomingMessage, res: ServerResponse): void {
    const client: Client = { res, remote: req.socket.remoteAddress ?? 'unknown' };
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // Ended streams close their connection: nothing idles behind a shutdown.
      connection: 'close',
    });
    // No timeouts on a stream: it is meant to stay open (pings show it is alive).
    req.socket.setTimeout(0);
    req.socket.setNoDelay(true);
    if (this.closed) {
      res.end();
      return;
    }
    this.clients.add(client);
    res.once('close', () => this.remove(client));
    if (this.clients.size === 1) this.startTimers();
    this.write(client, sseEvent('snapshot', this.feed.snapshot()));
  }

  /** Ends every stream and stops the timers; new clients get an empty stream. */
  close(): void {
    this.closed = true;
    for (const c of [...this.clients]) {
      this.remove(c);
      c.res.end();
    }
  }

  private startTimers(): void {
    this.feed.announcements.on('announcement', this.onAnnouncement);
    this.summaryTimer = setInterval(() => this.broadcast(sseEvent('summary', this.feed.summary())), SUMMARY_INTERVAL_MS).unref();
    this.pingTimer = setInterval(() => this.broadcast(': ping\n\n'), PING_INTERVAL_MS).unref();
  }

  private remove(c: Client): void {
    if (!this.clients.delete(c) || this.clients.size > 0) return;
    // Nobody listens: no summaries computed, no listener on the bus.
    this.feed.announcements.off('announcement', this.onAnnouncement);
    clearInterval(this.summaryTimer);
    clearInterval(this.pingTimer);
  }

  private broadcast(chunk: string): void {
    for (const c of [...this.clients]) this.write(c, chunk);
  }

  private write(c: Client, chunk: string): void {
    const unsent = c.res.writableLength + Buffer.byteLength(chunk);
    if (unsent > this.maxUnsent) {
      this.log.warn(
        { remote: c.remote, unsent: c.res.writableLength, limit: this.maxUnsent },
        `event stream to ${c.remote} cut off: it fell behind by ${c.res.writableLength} unsent bytes (limit ${this.maxUnsent})`,
      );
      this.remove(c);
      c.res.destroy();
      return;
    }
    c.res.write(chunk);
  }
}
