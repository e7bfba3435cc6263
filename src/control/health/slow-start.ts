import type { Upstream } from '../selection/upstream.js';
import type { Clock, TimerHandle } from '../../util/clock.js';

/** Weight share a returning server starts at; above 0 because weights must stay positive. */
export const SLOW_START_MIN_FACTOR = 0.1;

/** Longest time between two ramp steps; shorter ramps take 10 steps. */
export const SLOW_START_MAX_STEP_MS = 1000;

/** Weight factor `elapsedMs` into a linear ramp of `durationMs`: from SLOW_START_MIN_FACTOR to 1. */
export function slowStartFactor(elapsedMs: number, durationMs: number): number {
  if (durationMs <= 0 || elapsedMs >= durationMs) return 1;
  const t = Math.max(0, elapsedMs) / durationMs;
  return SLOW_START_MIN_FACTOR + (1 - SLOW_START_MIN_FACTOR) * t;
}

/** Time between ramp steps: every second, or a tenth of a short ramp. */
export function slowStartStepMs(durationMs: number): number {
  return Math.min(SLOW_START_MAX_STEP_MS, durationMs / 10);
}

interface Ramp {
  readonly startedAt: number;
  step: number;
  timer: TimerHandle;
}

/** Writes a server's weight factor (the control plane's state owner). */
export type SetWeightFactor = (u: Upstream, factor: number) => void;

/**
 * Ramps `weightFactor` of servers coming back into service, like nginx `slow_start`
 * and HAProxy `slowstart`: linear over the ramp time, in steps, so a cold server
 * (empty caches, JIT, pools) is not flooded. Every algorithm that balances by
 * `effectiveWeight` follows; `onStep` (pool.refresh) runs after each step.
 */
export class SlowStart {
  private readonly ramps = new Map<Upstream, Ramp>();

  /** `durationMs` 0 turns slow start off: `begin` then just restores full weight. `set` writes the factor. */
  constructor(
    private durationMs: number,
    private readonly clock: Clock,
    private readonly onStep: () => void,
    private readonly set: SetWeightFactor,
  ) {}

  /** A new ramp time (a reload); ramps under way finish on their old schedule. */
  setDuration(durationMs: number): void {
    this.durationMs = durationMs;
  }

  /**
   * Starts (or restarts) the ramp of `u`: sets its weight factor to the starting share.
   * Does not call `onStep`; the caller refreshes the pool once it made `u` available.
   */
  begin(u: Upstream): void {
    this.cancel(u);
    if (this.durationMs <= 0) return;
    this.set(u, SLOW_START_MIN_FACTOR);
    const ramp: Ramp = { startedAt: this.clock.now(), step: 0, timer: undefined };
    this.ramps.set(u, ramp);
    this.schedule(u, ramp);
  }

  /** Stops the ramp of `u`, if any, and restores full weight (the server went down again, or shutdown). */
  cancel(u: Upstream): void {
    const ramp = this.ramps.get(u);
    if (ramp !== undefined) {
      this.clock.clearTimer(ramp.timer);
      this.ramps.delete(u);
    }
    this.set(u, 1);
  }

  /** True while `u` is ramping. */
  isRamping(u: Upstream): boolean {
    return this.ramps.has(u);
  }

  /** Cancels every ramp. */
  stop(): void {
    for (const u of [...this.ramps.keys()]) this.cancel(u);
  }

  private schedule(u: Upstream, ramp: Ramp): void {
    const stepMs = slowStartStepMs(this.durationMs);
    // Steps are placed from the start time, so late timers neither stretch the ramp nor pile up.
    ramp.step = Math.max(ramp.step + 1, Math.floor((this.clock.now() - ramp.startedAt) / stepMs) + 1);
    const at = Math.min(ramp.startedAt + ramp.step * stepMs, ramp.startedAt + this.durationMs);
    ramp.timer = this.clock.setTimer(() => this.tick(u, ramp), Math.max(0, at - this.clock.now()));
  }

  private tick(u: Upstream, ramp: Ramp): void {
    if (this.ramps.get(u) !== ramp) return;
    // The last step lands exactly at full weight even when float steps fall a hair short.
    const last = ramp.step >= Math.ceil(this.durationMs / slowStartStepMs(this.durationMs) - 1e-9);
    const factor = last ? 1 : slowStartFactor(this.clock.now() - ramp.startedAt, this.durationMs);
    this.set(u, factor);
    if (factor >= 1) this.ramps.delete(u);
    else this.schedule(u, ramp);
    this.onStep();
  }
}
