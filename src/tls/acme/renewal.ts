// When to renew, how long to wait after a failure, when to warn. Pure functions of time.

/** Renew when this share of the certificate's lifetime remains (Let's Encrypt's advice; Caddy's default). */
export const RENEW_REMAINING_SHARE = 1 / 3;
/** Wait after the first failed attempt; it doubles with each further failure. */
export const BACKOFF_FIRST_MS = 60_000;
/** Longest wait between two attempts. */
export const BACKOFF_MAX_MS = 60 * 60_000;
/** Consecutive failures after which a notification is sent. */
export const NOTIFY_AFTER_FAILURES = 3;
/** A certificate with less time than this left raises a notification... */
export const EXPIRY_WARNING_MS = 7 * 24 * 60 * 60_000;
/** ...or, for short-lived certificates, less than this share of its lifetime (half the renewal window). */
export const EXPIRY_WARNING_SHARE = 1 / 6;
/** Longest single timer: Node's timers overflow at 2^31-1 ms (24.8 days), so long waits are cut in steps. */
export const MAX_TIMER_MS = 6 * 60 * 60_000;

/** Validity of a certificate, epoch ms. */
export interface Validity {
  readonly notBefore: number;
  readonly notAfter: number;
}

/** The epoch ms at which the certificate is due for renewal: when a third of its lifetime remains. */
export function renewalTime(v: Validity): number {
  return v.notAfter - (v.notAfter - v.notBefore) * RENEW_REMAINING_SHARE;
}

/** Wait before the next attempt after `failures` consecutive failures (1 min, 2, 4 ... capped at 1 h). */
export function backoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 30), BACKOFF_MAX_MS);
}

/**
 * When a certificate counts as close to expiry: 7 days before its end, or for a certificate living
 * less than 42 days (Let's Encrypt's 6-day ones, a test CA's hour), a sixth of its lifetime before,
 * so that a renewal failing since it was due warns well before clients see an expired certificate.
 */
export function warningTime(v: Validity): number {
  return v.notAfter - Math.min(EXPIRY_WARNING_MS, (v.notAfter - v.notBefore) * EXPIRY_WARNING_SHARE);
}
