import type { Clock, TimerHandle } from '../../src/util/clock.js';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock whose time moves only when the test says so; `now()` starts at 0. */
export class FakeClock implements Clock {
  /** Monotonic time, ms; tests may set it directly to simulate late timers. */
  t = 0;
  private seq = 0;
  private timers: FakeTimer[] = [];

  /** `epochAtZero` is the wall-clock time `epoch()` reports while `now()` is 0. */
  constructor(private readonly epochAtZero = 1_700_000_000_000) {}

  /** Monotonic fake time. */
  now(): number {
    return this.t;
  }

  /** Wall-clock fake time: moves with `now()`. */
  epoch(): number {
    return this.epochAtZero + this.t;
  }

  /** Schedules `fn` on fake time. */
  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  /** Cancels a fake timer. */
  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order (including ones they schedule); no promise settles in between. */
  advanceSync(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise chains settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
  }

  private nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const x of this.timers) {
      if (x.at <= end && (best === undefined || x.at < best.at || (x.at === best.at && x.id < best.id))) best = x;
    }
    if (best !== undefined) this.timers = this.timers.filter((x) => x !== best);
    return best;
  }
}

/** Lets pending promise callbacks run (a macrotask turn drains all microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
