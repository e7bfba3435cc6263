/** Opaque handle of a scheduled timer; only the clock that made it understands it. */
export type TimerHandle = unknown;

/**
 * Time and timers, injected so unit tests drive time by hand instead of sleeping;
 * production uses `systemClock`.
 */
export interface Clock {
  /** Monotonic milliseconds, for durations and windows (immune to wall-clock jumps). */
  now(): number;
  /** Wall-clock epoch milliseconds, for timestamps people or receivers read. */
  epoch(): number;
  /** Runs `fn` once after `ms` milliseconds. */
  setTimer(fn: () => void, ms: number): TimerHandle;
  /** Cancels a timer from `setTimer`; unknown or fired handles are ignored. */
  clearTimer(handle: TimerHandle): void;
}

/**
 * Real time. Timers are unref'd so background work (probes, damping, retry waits) never keeps
 * the process alive on its own; code that must finish before exit holds the process itself.
 */
export const systemClock: Clock = {
  now: () => performance.now(),
  epoch: () => Date.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimer: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms` on `clock`; rejects early with the signal's reason when aborted. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimer(timer);
      reject(signal?.reason);
    };
    const timer = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
