import type { HealthEvent } from '../health/events.js';

/** The balancer a notification comes from, as named in its config. */
export interface BalancerInfo {
  /** The config's `name`. */
  readonly name: string;
  /** The config's listen `addr`, e.g. ":8000". */
  readonly addr: string;
}

/** Flapping details attached to a notification by the damper. */
export interface FlappingInfo {
  /** `started`: this change made the server flapping, more will be held; `ended`: the summary. */
  readonly state: 'started' | 'ended';
  /** Up/down changes counted in this flapping episode. */
  readonly changes: number;
  /** Milliseconds from the first to the last of those changes. */
  readonly spanMs: number;
  /** The configured window: how long the server must be stable to end the episode. */
  readonly windowMs: number;
}

/** One message to deliver: a health event plus what the notifier layer adds. */
export interface Notification {
  /** Delivery id, the same across retries so receivers can drop duplicates. */
  readonly id: string;
  /** The event (for a flapping summary: the server's state at the end). */
  readonly event: HealthEvent;
  /** Present when damping is involved. */
  readonly flapping?: FlappingInfo;
  /** True for `balancer notify-test` messages. */
  readonly test?: boolean;
}
