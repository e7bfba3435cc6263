import type { HealthEvent } from '../health/events.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { FlappingInfo } from './notification.js';

/** What the damper decided for one event. */
export interface Damped {
  readonly event: HealthEvent;
  /** Set when this event starts a flapping episode. */
  readonly flapping?: FlappingInfo;
}

/** Damping settings: more than `changes` up/down changes within `windowMs` is flapping. */
export interface DampingOptions {
  readonly changes: number;
  readonly windowMs: number;
  readonly clock: Clock;
  /** Receives the one summary sent when a flapping server has been stable for `windowMs`. */
  readonly onSummary: (summary: Damped) => void;
}

interface Episode {
  changes: number;
  readonly firstAt: number;
  lastAt: number;
  last: HealthEvent;
  timer: TimerHandle;
}

/**
 * Per-server flapping damper. A server whose up/down changes exceed `changes` within
 * `windowMs` is flapping: the change that crosses the limit passes, marked `started`; later
 * messages about that server (including all-down / recovered it causes) are held until it has
 * been stable for `windowMs`, then one summary (`ended`) reports the count and the final state.
 */
export class FlapDamper {
  // Recent change times per server, at most `changes + 1` each: memory is bounded by servers.
  private readonly recent = new Map<string, number[]>();
  private readonly episodes = new Map<string, Episode>();
  private latest: { healthy: number; total: number } | undefined;
  private suppressedCount = 0;

  /** Creates a damper. */
  constructor(private readonly o: DampingOptions) {}

  /** Decides for one event: the message to send, or undefined when it is held back. */
  filter(e: HealthEvent): Damped | undefined {
    this.latest = { healthy: e.healthy, total: e.total };
    const key = e.server.addr;
    const now = this.o.clock.now();
    const ep = this.episodes.get(key);
    const isChange = e.type === 'server-down' || e.type === 'server-up';
    if (ep !== undefined) {
      if (isChange) {
        ep.changes++;
        ep.lastAt = now;
        ep.last = e;
        this.o.clock.clearTimer(ep.timer);
        ep.timer = this.armTimer(key);
      }
      this.suppressedCount++;
      return undefined;
    }
    if (!isChange) return { event: e };
    const times = (this.recent.get(key) ?? []).filter((t) => t > now - this.o.windowMs);
    times.push(now);
    if (times.length <= this.o.changes) {
      this.recent.set(key, times);
      return { event: e };
    }
    this.recent.delete(key);
    const firstAt = times[0] ?? now;
    this.episodes.set(key, { changes: times.length, firstAt, lastAt: now, last: e, timer: this.armTimer(key) });
    return { event: e, flapping: { state: 'started', changes: times.length, spanMs: now - firstAt, windowMs: this.o.windowMs } };
  }

  /** Messages held back so far. */
  get suppressed(): number {
    return this.suppressedCount;
  }

  /** Servers currently flapping, by address. */
  flapping(): string[] {
    return [...this.episodes.keys()];
  }

  /** Cancels pending summaries (on shutdown they would describe a balancer that is going away). */
  close(): void {
    for (const ep of this.episodes.values()) this.o.clock.clearTimer(ep.timer);
    this.episodes.clear();
  }

  private armTimer(key: string): TimerHandle {
    return this.o.clock.setTimer(() => this.settle(key), this.o.windowMs);
  }

  private settle(key: string): void {
    const ep = this.episodes.get(key);
    if (ep === undefined) return;
    this.episodes.delete(key);
    const counts = this.latest ?? { healthy: ep.last.healthy, total: ep.last.total };
    this.o.onSummary({
      event: { ...ep.last, time: this.o.clock.epoch(), healthy: counts.healthy, total: counts.total },
      flapping: { state: 'ended', changes: ep.changes, spanMs: ep.lastAt - ep.firstAt, windowMs: this.o.windowMs },
    });
  }
}
