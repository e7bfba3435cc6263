import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { secondsField, toMs, wholeNumberField } from './fields.js';

// Limits on what one client can hold, following the big proxies' defaults:
//  - maxHeaders 100: HAProxy allows 101 header lines (tune.http.maxhdr), nginx none by count.
//  - minimum data rates 240 bytes/s after a 5 s grace period: Kestrel's MinRequestBodyDataRate
//    and MinResponseDataRate, the only one of them with a rate rather than an idle timeout.
//  - maxConnections from the fd limit: nginx's worker_connections and HAProxy's maxconn are
//    set by hand; HAProxy derives its default from `ulimit -n` the same way.

/** Header lines a request may have by default (HAProxy allows 101). */
export const DEFAULT_MAX_HEADERS = 100;
/** Kestrel's minimum data rate, in bytes per second. */
export const DEFAULT_MIN_RATE_BYTES_PER_SECOND = 240;
/** Kestrel's grace period before the minimum data rate applies, in seconds. */
export const DEFAULT_MIN_RATE_GRACE_SECONDS = 5;
/** File descriptors kept for everything but client connections: stdio, logs, epoll, health probes, notifiers. */
export const RESERVED_FDS = 100;
/** Assumed soft fd limit where /proc/self/limits cannot be read (the usual POSIX default). */
export const FALLBACK_FD_LIMIT = 1024;

const count = (what: string, dflt: number, min: number) =>
  wholeNumberField(what, dflt, min, undefined, { type: `must be a number: ${what}`, range: `is not a whole number of at least ${min}` });

/** One minimum data rate: { bytesPerSecond, grace }. */
export const rateObject = z
  .strictObject({
    bytesPerSecond: count('Slowest average rate allowed, in bytes per second', DEFAULT_MIN_RATE_BYTES_PER_SECOND, 1),
    grace: secondsField('Time before the rate applies', DEFAULT_MIN_RATE_GRACE_SECONDS, { allowZero: true }, {
      type: 'must be a number: time before the rate applies, in seconds',
      range: 'is not zero or a positive number of seconds',
    }),
  })
  .meta({ description: 'A minimum data rate' });

/** A minimum data rate, or `false` for none. */
const minRate = (what: string) =>
  z
    .union([z.literal(false), rateObject], {
      error: 'is not false or an object like { "bytesPerSecond": 240, "grace": 5 }',
    })
    .prefault({})
    .meta({
      description: `${what}: { bytesPerSecond, grace } (default { "bytesPerSecond": ${DEFAULT_MIN_RATE_BYTES_PER_SECOND}, "grace": ${DEFAULT_MIN_RATE_GRACE_SECONDS} }), or false for none. Only time the balancer waits on the client counts`,
    });

/** The `limits` object of the config file. */
export const limitsSchema = z
  .strictObject({
    maxConnections: z
      .number({ error: 'must be a number: client connections held at once' })
      .refine((n) => Number.isInteger(n) && n >= 1, { message: 'is not a whole number of at least 1 (client connections held at once)' })
      .optional()
      .meta({
        description: `Client connections held at once; more are closed at once (default: (soft fd limit - ${RESERVED_FDS}) / 2, leaving one upstream socket per client and room for probes and logs)`,
      }),
    maxHeaders: count('Header lines a request may have; more get 431', DEFAULT_MAX_HEADERS, 1),
    minRequestBodyRate: minRate('Slowest request body upload allowed; slower gets 408 and the connection closed'),
    minResponseRate: minRate('Slowest response download allowed; slower has its connection closed'),
  })
  .meta({ description: 'Limits on what one client can hold' });

/** A minimum data rate as the runtime uses it. */
export interface MinRate {
  readonly bytesPerSecond: number;
  readonly graceMs: number;
}

/** The resolved `limits`. */
export interface Limits {
  /** Client connections held at once. */
  readonly maxConnections: number;
  /** True when maxConnections came from the fd limit rather than the config. */
  readonly maxConnectionsDerived: boolean;
  readonly maxHeaders: number;
  /** undefined: no minimum. */
  readonly minRequestBodyRate: MinRate | undefined;
  readonly minResponseRate: MinRate | undefined;
}

/** The process's soft limit on open files: /proc/self/limits on Linux, else FALLBACK_FD_LIMIT. */
export function softFdLimit(read: () => string = () => readFileSync('/proc/self/limits', 'utf8')): number {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(read());
    if (m === null) return FALLBACK_FD_LIMIT;
    return m[1] === 'unlimited' ? Number.MAX_SAFE_INTEGER : Number(m[1]);
  } catch {
    return FALLBACK_FD_LIMIT;
  }
}

/**
 * Default connection cap for `fdLimit` open files: each client connection may hold one upstream
 * socket besides its own (requests of a connection go upstream one at a time), and RESERVED_FDS
 * stay free for stdio, logs, health probes and notifiers.
 */
export function defaultMaxConnections(fdLimit: number): number {
  return Math.max(1, Math.floor((fdLimit - RESERVED_FDS) / 2));
}

/** Turns the validated `limits` into runtime values. */
export function resolveLimits(file: z.output<typeof limitsSchema>, fdLimit: () => number = softFdLimit): Limits {
  const rate = (r: false | { bytesPerSecond: number; grace: number }): MinRate | undefined =>
    r === false ? undefined : { bytesPerSecond: r.bytesPerSecond, graceMs: toMs(r.grace) };
  return {
    maxConnections: file.maxConnections ?? defaultMaxConnections(fdLimit()),
    maxConnectionsDerived: file.maxConnections === undefined,
    maxHeaders: file.maxHeaders,
    minRequestBodyRate: rate(file.minRequestBodyRate),
    minResponseRate: rate(file.minResponseRate),
  };
}
