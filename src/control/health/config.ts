import { z } from 'zod';
import { rangeField, secondsField, toMs, wholeNumberField } from '../../config/fields.js';
import { parseStatusSpec, type StatusRange } from './status-range.js';
import type { UpstreamTls } from '../../config/upstream-tls.js';

// Defaults follow what users of the big balancers expect:
//  - HAProxy: rise 2, fall 3, a 2 s check timeout (HAProxy uses `inter`, 2 s by default, when
//    `timeout check` is unset), any 2xx/3xx passes (httpchk), slowstart off.
//  - nginx: passive failures counted within a 10 s window (fail_timeout), slow_start off.
//  - Envoy: ejection 30 s base x ejections in a row, capped at 300 s; gateway errors
//    (502/503/504) count as failures, not 500 (an application answer, not a dead server).
// maxFails 3 (nginx: 1) so a single blip does not eject; 50% cap (Envoy: 10%) so two- and
// three-server pools can still eject one. Jitter 0.1 (HAProxy/Envoy: 0) keeps many balancers
// from probing in lockstep at no cost.

// Custom messages are predicate phrases: the config formatter prints `path: <found> <phrase>`.
// The healthCheck wording: "must be a number: <what>" for the wrong type, short range phrases.

const seconds = (what: string, dflt: number, allowZero = false) =>
  secondsField(what, dflt, { allowZero }, {
    type: `must be a number: ${what}, in seconds`,
    range: allowZero ? `is not zero or a positive number of seconds` : `is not a positive number of seconds`,
  });

const count = (what: string, dflt: number, min: number) =>
  wholeNumberField(what, dflt, min, undefined, { type: `must be a number: ${what}`, range: `is not a whole number of at least ${min}` });

const ranged = (what: string, dflt: number, min: number, max: number) =>
  rangeField(what, dflt, min, max, { type: `must be a number: ${what}`, range: `is not between ${min} and ${max}` });

const statusSpec = z
  .union([z.number(), z.string(), z.array(z.union([z.number(), z.string()]))], {
    error: 'is not a status, range or list like 200, "200-399", "2xx" or ["200", "301-302"]',
  })
  .superRefine((v, ctx) => {
    const r = parseStatusSpec(v);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: v, message: r });
  });

const statusCode = z.number({ error: 'must be a number: an HTTP status, 400 to 599' }).refine((n) => Number.isInteger(n) && n >= 400 && n <= 599, {
  message: 'is not an HTTP error status (400 to 599)',
});

/** Probe interval for servers that are out, unless `downInterval` is set (and healthCheckDelay is not shorter). */
export const DEFAULT_DOWN_INTERVAL_MS = 1000;

/** Default statuses passive checks count as failures: gateway errors, as Envoy's consecutive_gateway_failure. */
export const DEFAULT_FAILURE_STATUSES: readonly number[] = [502, 503, 504];

/**
 * Passive checks (outlier detection) from real traffic: nginx max_fails/fail_timeout
 * for detection, Envoy base_ejection_time/max_ejection_percent for ejection.
 */
export const passiveSchema = z
  .strictObject({
    maxFails: count('Consecutive failed requests, all within failWindow, that eject a server; 0 turns passive checks off', 3, 0),
    failWindow: seconds('Window the consecutive failures must fall within', 10),
    statuses: z
      .array(statusCode, { error: 'is not a list of HTTP statuses like [502, 503, 504]' })
      .default([...DEFAULT_FAILURE_STATUSES])
      .meta({ description: 'Response statuses counted as failures, besides connect errors and timeouts (default [502, 503, 504])' }),
    baseEjection: seconds('First ejection time; a server ejected again soon stays out n times as long', 30),
    maxEjection: seconds('Longest ejection time', 300),
    maxEjectionPercent: ranged('Most servers, in percent, passive checks may eject at once (rounded down)', 50, 0, 100),
  })
  .refine((p) => p.maxEjection >= p.baseEjection, { message: 'has maxEjection shorter than baseEjection', path: ['maxEjection'] })
  .meta({ description: 'Passive health checks from real traffic' });

/** The `healthCheck` config object; every field has a default, so `{}` (or leaving it out) is valid. */
export const healthCheckSchema = z
  .strictObject({
    enabled: z
      .boolean({ error: 'is not true or false' })
      .default(true)
      .meta({ description: 'Active health checks on or off; passive checks have their own switch, passive.maxFails 0 (default true)' }),
    type: z
      .enum(['http', 'tcp'], { error: 'is not a check type (allowed: "http", "tcp")' })
      .default('http')
      .meta({ description: '"http": GET `path` and check status and body; "tcp": connect only (default "http")' }),
    path: z
      .string({ error: 'is not a string' })
      .refine((s) => s.startsWith('/'), { message: 'does not start with "/"' })
      .default('/')
      .meta({ description: 'Path requested by http checks, joined to the server address path as proxied requests are (default "/")' }),
    timeout: seconds('Time a check may take, connect to end of body', 2),
    // HAProxy's `downinter`: a server that is out is probed faster, so one that comes back (or starts
    // late) is in again within seconds instead of rise x healthCheckDelay. Optional: its default
    // depends on healthCheckDelay (never slower than the normal interval unless set so).
    downInterval: z
      .number({ error: 'must be a number: Interval between probes of a server that is out, in seconds' })
      .refine((n) => Number.isFinite(n) && n > 0, { message: 'is not a positive number of seconds' })
      .optional()
      .meta({
        description: `Interval between probes of a server that is out (down or ejected), in seconds (default ${DEFAULT_DOWN_INTERVAL_MS / 1000}, or healthCheckDelay when shorter)`,
      }),
    expectStatus: statusSpec
      .default('200-399')
      .meta({ description: 'Statuses that pass: 200, "200-399", "2xx", "200,204" or a list (default "200-399")' }),
    expectBody: z
      .string({ error: 'is not a string' })
      .min(1)
      .optional()
      .meta({ description: 'Substring the response body must contain (first 64 KiB are searched); default: body not checked' }),
    rise: count('Consecutive passed checks that bring a down server back', 2, 1),
    fall: count('Consecutive failed checks that take an up server down', 3, 1),
    jitter: ranged('Random spread of each interval, as a fraction: 0.1 means +-10%', 0.1, 0, 0.5),
    slowStart: seconds('Time a returning server takes to ramp from 10% to full weight; 0 turns it off', 10, true),
    passive: passiveSchema.prefault({}),
  })
  .refine((h) => h.type !== 'tcp' || h.expectBody === undefined, {
    message: 'has expectBody, which tcp checks cannot test',
    path: ['expectBody'],
  })
  .meta({ description: 'Active and passive health checks, slow start' });

/** The field to splice into the top-level config schema: `healthCheck: healthCheckField`. */
export const healthCheckField = healthCheckSchema.prefault({});

/** The per-server field to splice into the server schema: `backup: backupField`. */
export const backupField = z
  .boolean({ error: 'is not true or false' })
  .optional()
  .meta({ description: 'Backup server: takes traffic only while no primary server is available (default false)' });

/** A validated `healthCheck` object, seconds as written. */
export type HealthCheckFile = z.output<typeof healthCheckSchema>;

/** Active check settings, in milliseconds. */
export interface ActiveCheckSettings {
  /** Active checks run at all. */
  readonly enabled: boolean;
  /** Probe kind. */
  readonly type: 'http' | 'tcp';
  /** Path requested by http probes. */
  readonly path: string;
  /** Mean time between the starts of two probes of one server (top-level `healthCheckDelay`). */
  readonly intervalMs: number;
  /** Mean time between probes of a server that is out (down by checks or ejected): HAProxy's downinter. */
  readonly downIntervalMs: number;
  /** Whole-probe deadline. */
  readonly timeoutMs: number;
  /** Statuses that pass. */
  readonly expectStatus: readonly StatusRange[];
  /** Substring the body must contain, or undefined. */
  readonly expectBody: string | undefined;
  /** Consecutive passes to come back. */
  readonly rise: number;
  /** Consecutive failures to go down. */
  readonly fall: number;
  /** Interval spread, fraction 0..0.5. */
  readonly jitter: number;
  /** How https servers are verified (config.upstreamTls; absent: system CAs). */
  readonly upstreamTls?: UpstreamTls;
}

/** Passive check settings, in milliseconds. */
export interface PassiveSettings {
  /** Consecutive failures that eject; 0 = passive checks off. */
  readonly maxFails: number;
  /** The failures must all fall within this window. */
  readonly failWindowMs: number;
  /** Response statuses counted as failures. */
  readonly statuses: ReadonlySet<number>;
  /** First ejection time. */
  readonly baseEjectionMs: number;
  /** Cap on ejection time. */
  readonly maxEjectionMs: number;
  /** Most servers ejected at once, in percent of all servers (rounded down). */
  readonly maxEjectionPercent: number;
}

/** Health settings as the runtime uses them. */
export interface HealthSettings {
  /** Active probes. */
  readonly active: ActiveCheckSettings;
  /** Outlier detection from real traffic. */
  readonly passive: PassiveSettings;
  /** Slow-start ramp time; 0 = off. */
  readonly slowStartMs: number;
}

/** Turns a validated `healthCheck` object (or nothing: all defaults) into runtime settings. */
export function resolveHealthConfig(file: HealthCheckFile | undefined, intervalMs: number): HealthSettings {
  const f = file ?? healthCheckSchema.parse({});
  const expectStatus = parseStatusSpec(f.expectStatus);
  // The schema already rejected bad specs; this guard keeps the types honest.
  if (typeof expectStatus === 'string') throw new Error('unreachable: schema accepted a bad expectStatus');
  return {
    active: {
      enabled: f.enabled,
      type: f.type,
      path: f.path,
      intervalMs,
      downIntervalMs: f.downInterval === undefined ? Math.min(DEFAULT_DOWN_INTERVAL_MS, intervalMs) : Math.max(1, toMs(f.downInterval)),
      timeoutMs: toMs(f.timeout),
      expectStatus,
      expectBody: f.expectBody,
      rise: f.rise,
      fall: f.fall,
      jitter: f.jitter,
    },
    passive: {
      maxFails: f.passive.maxFails,
      failWindowMs: toMs(f.passive.failWindow),
      statuses: new Set(f.passive.statuses),
      baseEjectionMs: toMs(f.passive.baseEjection),
      maxEjectionMs: toMs(f.passive.maxEjection),
      maxEjectionPercent: f.passive.maxEjectionPercent,
    },
    slowStartMs: toMs(f.slowStart),
  };
}
