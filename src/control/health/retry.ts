import type { RetryRefusal } from '../../util/errors.js';
import type { RetryBudget } from './retry-budget.js';

/** Request bodies up to this size are buffered so the request can be replayed to another server. */
export const MAX_REPLAY_BODY_BYTES = 64 * 1024;

/** Total attempts per request by default (first try + 2 retries, each to another server). */
export const DEFAULT_MAX_ATTEMPTS = 3;

/** Methods RFC 9110 defines as idempotent: repeating them has the effect of doing them once. */
export const IDEMPOTENT_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']);

/** How an attempt failed, as far as replay safety goes. */
export type FailureKind =
  /** The backend never accepted the connection (refused, unreachable, DNS, connect timeout, TLS): nothing was sent. */
  | 'connect'
  /** Connection reset or closed after the request went out, before response headers: it may have run. */
  | 'reset'
  /** No response headers within the timeout: it may have run. */
  | 'timeout'
  /** Failed after response bytes reached us (and maybe the client): never retried. */
  | 'response'
  /** Cut by the balancer itself (shutdown, reload): never retried, never counted against the server. */
  | 'cut';

/** Facts about one failed attempt. */
export interface RetryInput {
  /** Request method, any case. */
  readonly method: string;
  /** How the attempt failed. */
  readonly kind: FailureKind;
  /** The request had no body, or the whole body (<= MAX_REPLAY_BODY_BYTES) was buffered. */
  readonly bodyReplayable: boolean;
  /** Attempts made so far, this one included (1 after the first failure). */
  readonly attempts: number;
}

/** Retry or not, with the reason when not. */
export type RetryDecision =
  | { readonly retry: true }
  | { readonly retry: false; readonly code: RetryRefusal; readonly reason: string };

const no = (code: RetryRefusal, reason: string): RetryDecision => ({ retry: false, code, reason });

/**
 * The replay-safety rules, without the budget. Any method is retried when the
 * backend never accepted the connection; idempotent methods also after a reset
 * or timeout before response headers; nothing after a response byte.
 */
export function retryAllowed(input: RetryInput, maxAttempts: number = DEFAULT_MAX_ATTEMPTS): RetryDecision {
  if (input.kind === 'response') return no('E_RETRY_AFTER_RESPONSE', 'response already started');
  if (input.kind === 'cut') return no('E_RETRY_CUT', 'cut by the balancer (shutdown or reload)');
  if (input.kind !== 'connect' && !IDEMPOTENT_METHODS.has(input.method.toUpperCase())) {
    return no('E_RETRY_NOT_IDEMPOTENT', `${input.method.toUpperCase()} may have been processed (${input.kind})`);
  }
  if (!input.bodyReplayable) return no('E_RETRY_BODY_NOT_KEPT', 'request body was streamed, not kept');
  if (input.attempts >= maxAttempts) return no('E_RETRY_ATTEMPTS', `${input.attempts} attempts made`);
  return { retry: true };
}

/** The full decision: the rules, then one withdrawal from the budget (only when the rules allow). */
export function decideRetry(input: RetryInput, budget: RetryBudget, maxAttempts: number = DEFAULT_MAX_ATTEMPTS): RetryDecision {
  const d = retryAllowed(input, maxAttempts);
  if (!d.retry) return d;
  return budget.tryWithdraw() ? d : no('E_RETRY_BUDGET', 'retry budget spent');
}

/** Classification of errors lives in one table (control/upstream-errors.ts); re-exported for callers here. */
export { failureKind, type AttemptFacts } from '../upstream-errors.js';
