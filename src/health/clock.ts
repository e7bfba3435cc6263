/** Opaque handle of a scheduled timer. */
export type TimerHandle = unknown;

/**
 * Time and timers for the health modules. Injected so unit tests drive time
 * by hand instead of sleeping; production uses `systemClock`.
 */
export interface Clock {
  /** Monotonic milliseconds, for durations (immune to wall-clock jumps). */
  now(): number;
  /** Wall-clock epoch milliseconds, for event and snapshot timestamps. */
  epoch(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from `setTimer`; unknown or fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/** Real time; timers are unref'd so health checks never keep the process alive on their own. */
export const systemClock: Clock = {
  now: () => performance.now(),
  epoch: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
