import { z } from 'zod';
import { ALGORITHM_NAMES, canonicalAlgorithm, selectorFactory } from '../control/selection/algorithms.js';
import { parseListenAddress } from './listen.js';
import { discoverySchema, dnsServerSchema, noDuplicateServers, srvServerSchema } from './discovery.js';
import { checkCidr } from '../engines/node/client-address.js';
import { checkServerAddress } from '../engines/node/upstream-path.js';
import { notificationsSchema } from '../control/notify/config.js';
import { adminSchema } from './admin.js';
import { accessLogSchema } from './access-log.js';
import { backupField, healthCheckField } from '../control/health/config.js';
import { DEFAULT_MAX_ATTEMPTS } from '../control/health/retry.js';
import { DEFAULT_RETRY_BUDGET } from '../control/health/retry-budget.js';
import { limitsSchema } from './limits.js';
import { engineField } from './engine.js';
import { tlsSchema } from './tls.js';
import { upstreamTlsSchema } from './upstream-tls.js';
import { redirectHttpSchema } from './redirect-http.js';
import { workersSchema } from './workers.js';
import { isHttpUrl, NOT_HTTP_URL, positive, positiveSeconds as seconds } from './fields.js';
import { modeField, proxyProtocolField, serverProxyProtocolField } from './tcp.js';

// Custom messages are predicate phrases: the formatter prints `path: <found> <phrase>`.

const httpUrl = z.string().refine(isHttpUrl, { message: NOT_HTTP_URL });

const weight = positive('a weight; fractions allowed, default 1');

/** One backend server. `weigth` is the original format's spelling and means `weight`. */
export const serverSchema = z
  .strictObject({
    addr: httpUrl
      .superRefine((s, ctx) => {
        const why = checkServerAddress(s);
        if (why !== undefined) ctx.addIssue({ code: 'custom', input: s, message: why });
      })
      .meta({ description: 'Backend base URL, e.g. "http://localhost:9000"; a path ("http://localhost:9000/app") prefixes every forwarded path. In "mode": "tcp": "tcp://host:port" or "host:port"' }),
    weight: weight.optional().meta({ description: 'Relative weight, positive, fractions allowed (default 1)' }),
    weigth: weight.optional().meta({ description: 'Original spelling of `weight`; accepted as the same field' }),
    name: z.string().min(1).optional().meta({ description: 'Name used in logs and notifications (default host:port)' }),
    backup: backupField,
    proxyProtocol: serverProxyProtocolField,
  })
  .refine((s) => s.weight === undefined || s.weigth === undefined || s.weight === s.weigth, {
    message: 'has both "weight" and "weigth" with different values; keep one',
  });

/** Timeouts towards backends and clients. */
export const timeoutsSchema = z
  .strictObject({
    connect: seconds('Time to open a connection to a backend', 5),
    responseHeaders: seconds('Time for a backend to send its response headers', 60),
    idle: seconds('Longest silence inside a request or response body, both sides', 60),
    shutdown: seconds('Grace period for in-flight requests on SIGINT/SIGTERM', 10),
    requestHead: seconds('Time for a client to send a request line and headers; slower gets 408 and a close', 30),
  })
  .meta({ description: 'Timeouts, in seconds' });

/** Tunables of particular algorithms. */
export const algorithmOptionsSchema = z
  .strictObject({
    decay: seconds('least-response-time: decay time of the response-time average', 10),
    failurePenalty: seconds('least-response-time: a failed request counts as at least this slow', 1),
    maxInflight: z
      .number()
      .int({ message: 'is not a whole number (first: requests in flight a server takes before the next one is used)' })
      .positive({ message: 'is not a positive whole number (first: requests in flight a server takes before the next one is used)' })
      .optional()
      .meta({ description: 'first: requests in flight a server takes before the next server is used (default: no limit)' }),
  })
  .meta({ description: 'Tunables of particular algorithms' });

/** Retries of failed requests on another server. */
export const retriesSchema = z
  .strictObject({
    attempts: z
      .number()
      .int({ message: 'is not a whole number (tries per request, the first included; 1 turns retries off)' })
      .min(1, { message: 'is not a whole number of at least 1 (tries per request, the first included)' })
      .max(10, { message: 'is more than 10 tries per request' })
      .default(DEFAULT_MAX_ATTEMPTS)
      .meta({ description: `Tries per request, the first included, each on another server; 1 turns retries off (default ${DEFAULT_MAX_ATTEMPTS})` }),
    budget: z
      .number()
      .min(0, { message: 'is not a share from 0 to 1 (retries as a share of requests)' })
      .max(1, { message: 'is not a share from 0 to 1 (retries as a share of requests)' })
      .default(DEFAULT_RETRY_BUDGET.ratio)
      .meta({ description: `Retries allowed as a share of requests over 10 s, besides minPerSecond (default ${DEFAULT_RETRY_BUDGET.ratio})` }),
    minPerSecond: z
      .number()
      .min(0, { message: 'is negative (retries per second always allowed)' })
      .default(DEFAULT_RETRY_BUDGET.minPerSecond)
      .meta({ description: `Retries per second always allowed, so a quiet balancer still retries (default ${DEFAULT_RETRY_BUDGET.minPerSecond})` }),
  })
  .meta({ description: 'Retries on another server of requests that failed before any response byte' });

/** The whole config file. */
export const configSchema = z
  .strictObject({
    $schema: z.string().optional().meta({ description: 'JSON Schema for editors; ignored by the balancer' }),
    name: z.string().min(1).default('balancer').meta({ description: 'Name of this balancer in logs and notifications' }),
    mode: modeField,
    proxyProtocol: proxyProtocolField,
    addr: z
      .string()
      .superRefine((s, ctx) => {
        const r = parseListenAddress(s);
        if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: s, message: r });
      })
      .default(':8000')
      .meta({ description: 'Listen address: ":8000", "127.0.0.1:8000", "[::1]:8000" (default ":8000")' }),
    algorithm: z
      .string()
      .superRefine((s, ctx) => {
        const name = canonicalAlgorithm(s);
        if (name === undefined) {
          ctx.addIssue({ code: 'custom', input: s, message: `is not a known algorithm (allowed: ${ALGORITHM_NAMES.join(', ')})` });
        } else if (selectorFactory(name) === undefined) {
          const ready = ALGORITHM_NAMES.filter((n) => selectorFactory(n) !== undefined);
          ctx.addIssue({ code: 'custom', input: s, message: `is not implemented yet (implemented: ${ready.join(', ')})` });
        }
      })
      .default('round-robin')
      .meta({
        description: `Load-balancing algorithm (default "round-robin")`,
        examples: [...ALGORITHM_NAMES],
      }),
    healthCheckDelay: seconds('Interval between active health checks', 10),
    algorithmOptions: algorithmOptionsSchema.prefault({}),
    trustedProxies: z
      .array(
        z.string().superRefine((s, ctx) => {
          const why = checkCidr(s);
          if (why !== undefined) ctx.addIssue({ code: 'custom', input: s, message: why });
        }),
      )
      .default([])
      .meta({
        description:
          'Addresses or CIDR ranges of proxies in front of the balancer; only their X-Forwarded-* headers are believed, and the client is the rightmost X-Forwarded-For address that is not one of them (default: none)',
      }),
    engine: engineField,
    timeouts: timeoutsSchema.prefault({}),
    healthCheck: healthCheckField,
    retries: retriesSchema.prefault({}),
    limits: limitsSchema.prefault({}),
    notifications: notificationsSchema,
    admin: adminSchema,
    accessLog: accessLogSchema,
    upstreamTls: upstreamTlsSchema,
    redirectHttp: redirectHttpSchema,
    workers: workersSchema,
    servers: z
      .array(z.union([serverSchema, dnsServerSchema, srvServerSchema]))
      .min(1, { message: 'is empty (at least one server is required)' })
      .superRefine(
        noDuplicateServers((addr) => {
          try {
            const u = new URL(addr);
            return u.origin + u.pathname;
          } catch {
            return undefined;
          }
        }),
      )
      .meta({ description: 'Backend servers, at least one entry: an address ("addr"), or a DNS name ("dns" + "port", or "srv") whose servers are discovered' }),
    discovery: discoverySchema,
    tls: tlsSchema,
  })
  .superRefine((c, ctx) => {
    // The ACME runtime feeds certificates into this process's listener; workers would never get them.
    if (c.tls?.acme !== undefined && c.workers !== 1) {
      ctx.addIssue({ code: 'custom', path: ['workers'], input: c.workers, message: 'is more than one process: automatic certificates ("tls.acme") need "workers": 1 for now' });
    }
    // Redirecting to HTTPS on a listener that speaks plain HTTP would send every client to a dead end.
    if (c.redirectHttp !== undefined && c.tls === undefined) {
      ctx.addIssue({ code: 'custom', path: ['redirectHttp'], input: c.redirectHttp, message: 'redirects to HTTPS, but the listener has no "tls": add "tls" or remove "redirectHttp"' });
    }
  })
  .meta({ title: 'Balancer config', description: 'Config file of the balancer HTTP load balancer' });

/** A validated config file as written (before defaults are resolved into runtime objects). */
export type ConfigFile = z.output<typeof configSchema>;
/** One validated server entry with an address. */
export type ServerFile = z.output<typeof serverSchema>;
/** Any validated server entry: an address, or a DNS name (discovery.ts). */
export type ServerEntryFile = ConfigFile['servers'][number];
