import { sleep, type Clock } from '../../util/clock.js';
import { NotifyError } from './errors.js';

/** When and how often to try again. */
export interface RetryPolicy {
  /** Retries after the first attempt. */
  readonly retries: number;
  /** Wait before the first retry; doubles for each further one. */
  readonly retryDelayMs: number;
  /** Cap on any one wait, including a receiver's Retry-After. */
  readonly maxDelayMs: number;
}

/** Wait before retry number `retry` (1-based): retryDelay × 2^(retry−1), capped. */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  return Math.min(policy.maxDelayMs, policy.retryDelayMs * 2 ** (retry - 1));
}

/** Outcome of a delivery with retries. */
export interface Attempted {
  /** Attempts made, 1 + retries used. */
  readonly attempts: number;
}

/**
 * Runs `attempt` until it resolves, a non-retryable NotifyError, the retries run out, or
 * `signal` aborts. Throws the last NotifyError, its `attempts` set, for the log.
 */
export async function withRetries(
  attempt: () => Promise<void>,
  policy: RetryPolicy,
  clock: Clock,
  signal: AbortSignal,
  onRetry: (err: NotifyError, retry: number, delayMs: number) => void,
): Promise<Attempted> {
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return { attempts: n };
    } catch (e) {
      const err = e instanceof NotifyError ? e : new NotifyError('E_NOTIFY_NETWORK', String(e), true);
      err.attempts = n;
      if (!err.retryable || n > policy.retries || signal.aborted) throw err;
      const delay = Math.min(policy.maxDelayMs, Math.max(backoffDelay(policy, n), err.retryAfterMs ?? 0));
      onRetry(err, n, delay);
      try {
        await sleep(clock, delay, signal);
      } catch {
        throw err; // closed while waiting to retry
      }
    }
  }
}
