import { randomUUID } from 'node:crypto';
import { Agent } from 'undici';
import type { HealthEvent, HealthEvents } from '../health/events.js';
import type { Channel } from './channel.js';
import { createChannel } from './channels.js';
import { systemClock, type Clock } from '../../util/clock.js';
import { MAX_RETRY_DELAY_S, type NotifierConfig } from './config.js';
import { FlapDamper, type Damped } from './damping.js';
import { NotifyError } from './errors.js';
import type { LogSink } from '../../util/logger.js';
import type { BalancerInfo, Notification } from './notification.js';
import { DeliveryQueue, type QueueStats } from './queue.js';
import { withRetries } from './retry.js';

/** Default time close() gives queued messages before dropping them. */
export const DEFAULT_CLOSE_DEADLINE_MS = 5000;

/** What the manager needs. */
export interface NotifierOptions {
  /** Name and listen address of this balancer, for message bodies. */
  readonly balancer: BalancerInfo;
  /** Resolved notifier configs (from resolveNotifications); may be empty. */
  readonly notifiers: readonly NotifierConfig[];
  readonly logger: LogSink;
  /** Injected in tests; the real clock otherwise. */
  readonly clock?: Clock;
  /** Hears how each notification ended (for metrics). */
  readonly onResult?: (notifier: string, event: string, result: 'sent' | 'failed' | 'dropped') => void;
}

/** Counters of one notifier. */
export interface NotifierStats extends QueueStats {
  readonly name: string;
  readonly type: NotifierConfig['type'];
  readonly target: string;
  /** Messages held back by flapping damping. */
  readonly suppressed: number;
  /** Addresses of servers currently flapping. */
  readonly flapping: readonly string[];
}

/** Result of close(). */
export interface CloseReport {
  /** True when every queued message was delivered or failed before the deadline. */
  readonly flushed: boolean;
  readonly stats: readonly NotifierStats[];
}

// One notifier: its channel, its damper and its queue.
interface Lane {
  readonly channel: Channel;
  readonly damper: FlapDamper | undefined;
  readonly queue: DeliveryQueue<Notification>;
  /** Filters by the notifier's `events` and queues. */
  readonly enqueue: (d: Damped) => void;
}

/**
 * Sends health events to every configured notifier. Subscribes to `events` at construction;
 * per notifier it damps flapping, filters by `events`, and queues for a background sender, so
 * publishing a health event only does in-memory work and never waits on the network.
 */
export class Notifier {
  private readonly lanes: Lane[];
  private readonly clock: Clock;
  private readonly log: LogSink;
  private readonly dispatcher = new Agent({ keepAliveTimeout: 4000, connections: 4 });
  private readonly listener = (e: HealthEvent): void => this.handle(e);
  private closed: Promise<CloseReport> | undefined;

  /** Creates the notifiers and subscribes to `events`. */
  constructor(
    private readonly events: HealthEvents,
    private readonly o: NotifierOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    this.log = o.logger;
    this.lanes = o.notifiers.map((c) => this.lane(c));
    events.on('event', this.listener);
  }

  private lane(config: NotifierConfig): Lane {
    const channel = createChannel(config, { balancer: this.o.balancer, clock: this.clock, dispatcher: this.dispatcher });
    const fields = (n: Notification): Record<string, unknown> => ({
      notifier: config.name,
      target: channel.target,
      event: n.event.type,
      server: n.event.server.addr,
      id: n.id,
    });
    const policy = { retries: config.retries, retryDelayMs: config.retryDelayMs, maxDelayMs: MAX_RETRY_DELAY_S * 1000 };
    const queue = new DeliveryQueue<Notification>(config.queueSize, {
      deliver: async (n, signal) => {
        const r = await withRetries(() => channel.attempt(n, signal), policy, this.clock, signal, (err, retry, delayMs) =>
          this.log.debug({ ...fields(n), code: err.code, error: err.message, retry, delayMs }, 'notification attempt failed; will retry'),
        );
        this.log.info({ ...fields(n), attempts: r.attempts }, 'notification sent');
        this.o.onResult?.(config.name, n.event.type, 'sent');
      },
      onFail: (n, e) => {
        this.o.onResult?.(config.name, n.event.type, 'failed');
        const err = e instanceof NotifyError ? e : undefined;
        this.log.warn(
          { ...fields(n), code: err?.code, error: err?.message ?? String(e), attempts: err?.attempts },
          'notification failed; dropped',
        );
      },
      onDrop: (n, why) => {
        this.o.onResult?.(config.name, n.event.type, 'dropped');
        this.log.warn(
          { ...fields(n), queueSize: config.queueSize },
          why === 'full' ? 'notification queue full (receiver slow or down); dropped the oldest message' : 'notifier closing; dropped unsent message',
        );
      },
    });
    const enqueue = (d: Damped): void => {
      if (!config.events.includes(d.event.type)) return;
      queue.push({ id: randomUUID(), event: d.event, ...(d.flapping ? { flapping: d.flapping } : {}) });
    };
    const damper =
      config.flapping === undefined
        ? undefined
        : new FlapDamper({ changes: config.flapping.changes, windowMs: config.flapping.windowMs, clock: this.clock, onSummary: enqueue });
    return { channel, damper, queue, enqueue };
  }

  /** Handles one health event: synchronous, in-memory, never throws (it runs inside publish()). */
  handle(e: HealthEvent): void {
    if (this.closed !== undefined) return;
    for (const lane of this.lanes) {
      try {
        const d = lane.damper === undefined ? { event: e } : lane.damper.filter(e);
        if (d !== undefined) lane.enqueue(d);
      } catch (err) {
        this.log.error({ notifier: lane.channel.config.name, error: String(err) }, 'notifier failed to handle a health event');
      }
    }
  }

  /** Counters per notifier, in config order. */
  stats(): NotifierStats[] {
    return this.lanes.map((l) => ({
      name: l.channel.config.name,
      type: l.channel.config.type,
      target: l.channel.target,
      ...l.queue.stats(),
      suppressed: l.damper?.suppressed ?? 0,
      flapping: l.damper?.flapping() ?? [],
    }));
  }

  /**
   * Unsubscribes, cancels pending flapping summaries, and waits up to `deadlineMs` for queued
   * messages; what is left then is dropped (and logged). Safe to call more than once.
   */
  close(deadlineMs: number = DEFAULT_CLOSE_DEADLINE_MS): Promise<CloseReport> {
    this.closed ??= (async () => {
      // Clock timers are unref'd: hold the process open while flushing, so a retry wait or the
      // deadline itself is not cut short by the process exiting on shutdown.
      const hold = setInterval(() => undefined, 2 ** 30);
      try {
        this.events.off('event', this.listener);
        for (const l of this.lanes) l.damper?.close();
        const flushed = await Promise.all(this.lanes.map((l) => l.queue.close(deadlineMs, this.clock)));
        await this.dispatcher.destroy().catch(() => undefined); // queues are settled: nothing left to wait for
        return { flushed: flushed.every(Boolean), stats: this.stats() };
      } finally {
        clearInterval(hold);
      }
    })();
    return this.closed;
  }
}
