import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { LogSink } from './logger.js';

/** Writes the line that stands for `count` occurrences of a cause over the last `windowMs` (since its previous line). */
export type SummaryWriter = (count: number, windowMs: number) => void;

interface Cause {
  /** When the last line for this cause was written (clock ms). */
  lastLineAt: number;
  /** Occurrences since then that wrote no line. */
  suppressed: number;
  summary: SummaryWriter | undefined;
  timer: TimerHandle | undefined;
}

// Causes are few (one per server and reason), but a reload or odd reasons must not grow this forever.
const MAX_CAUSES = 1000;

/**
 * Rate-limits repeated log lines per cause (as the kernel's printk_ratelimit and HAProxy's
 * per-server logs do): the first occurrence of a cause writes its own line at once; more
 * occurrences within `intervalMs` of a line write nothing, and one summary line, written once
 * the interval has passed, says how many they were. So at most one line per interval per cause,
 * and the counts of the lines always add up to the occurrences.
 */
export class LogThrottle {
  private readonly causes = new Map<string, Cause>();

  /** `intervalMs`: the shortest time between two lines of one cause. */
  constructor(
    private readonly clock: Clock = systemClock,
    private readonly intervalMs = 1000,
  ) {}

  /**
   * One occurrence of `cause`: calls `line()` now when the cause wrote no line in the last
   * interval; otherwise counts it, and `summary(count, windowMs)` is called when the interval ends.
   */
  note(cause: string, line: () => void, summary: SummaryWriter): void {
    const now = this.clock.now();
    let c = this.causes.get(cause);
    if (c === undefined || (c.suppressed === 0 && now - c.lastLineAt >= this.intervalMs)) {
      if (c === undefined) {
        if (this.causes.size >= MAX_CAUSES) this.prune();
        c = { lastLineAt: now, suppressed: 0, summary: undefined, timer: undefined };
        this.causes.set(cause, c);
      } else c.lastLineAt = now;
      line();
      return;
    }
    c.suppressed++;
    c.summary = summary;
    if (c.timer === undefined) {
      const entry = c;
      c.timer = this.clock.setTimer(() => this.writeSummary(entry), Math.max(0, c.lastLineAt + this.intervalMs - now));
    }
  }

  /** Writes every pending summary now (before exit, so no count is lost). */
  flush(): void {
    for (const c of this.causes.values()) {
      if (c.timer !== undefined) this.clock.clearTimer(c.timer);
      this.writeSummary(c);
    }
  }

  private writeSummary(c: Cause): void {
    c.timer = undefined;
    if (c.suppressed === 0 || c.summary === undefined) return;
    const now = this.clock.now();
    const { suppressed, summary } = c;
    // The summary stands for what happened since the cause's previous line.
    const windowMs = Math.round(now - c.lastLineAt);
    c.suppressed = 0;
    c.summary = undefined;
    c.lastLineAt = now;
    summary(suppressed, windowMs);
  }

  private prune(): void {
    for (const [k, c] of this.causes) if (c.suppressed === 0) this.causes.delete(k);
  }
}

/** "2,981 requests" / "1 request": a count for log lines, with thousands separators. */
export function countOf(n: number, noun: string, plural = `${noun}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? noun : plural}`;
}

/** A window for log lines: "in the last 1 s", "in the last 0.4 s". */
export function lastSeconds(ms: number): string {
  const s = ms / 1000;
  return `in the last ${s >= 10 ? Math.round(s) : Math.max(0.1, Math.round(s * 10) / 10)} s`;
}

/**
 * A LogThrottle writing warnings to `log` with one line builder for both cases: `line(count,
 * seconds)` gives the fields and message of a line standing for `count` events (1 for the first).
 */
export class ThrottledLog {
  private readonly throttle: LogThrottle;

  /** `intervalMs`: the shortest time between two lines of one cause. */
  constructor(intervalMs = 1000, clock: Clock = systemClock) {
    this.throttle = new LogThrottle(clock, intervalMs);
  }

  /** Logs `line(1, 1)` for `cause` now, or counts it into the summary line that follows. */
  note(cause: string, log: LogSink, line: (count: number, seconds: number) => [Record<string, unknown>, string]): void {
    this.throttle.note(
      cause,
      () => log.warn(...line(1, 1)),
      (count, windowMs) => log.warn(...line(count, Math.max(1, Math.round(windowMs / 1000)))),
    );
  }
}
