import { z } from 'zod';
import { configSchema, serverSchema } from './schema.js';
import { dnsServerSchema, noDuplicateServers, srvServerSchema } from './discovery.js';
import { healthCheckSchema } from '../control/health/config.js';
import { canonicalTcpAddress, parseTcpAddress } from './tcp.js';
import { toMs } from './fields.js';
import type { Config } from './load.js';

// The config schema by mode. "http" (the default) is the schema as it is, refusing the tcp-only
// fields; "tcp" takes "tcp://host:port" or "host:port" server addresses and checks servers with a
// TCP connect unless healthCheck.type says "http" (HAProxy's `check` in mode tcp is a connect too).

const tcpAddr = z
  .string()
  .superRefine((s, ctx) => {
    const r = parseTcpAddress(s);
    if (typeof r === 'string') ctx.addIssue({ code: 'custom', input: s, message: r });
  })
  .meta({ description: 'Server address, "tcp://host:port" or "host:port"' });

const tcpServerSchema = serverSchema.safeExtend({ addr: tcpAddr });

const tcpKey = (addr: string): string | undefined => (typeof parseTcpAddress(addr) === 'string' ? undefined : canonicalTcpAddress(addr));

// DNS discovery builds http(s) addresses; tcp mode lists its servers by address for now.
const noDnsInTcp = (items: readonly object[], ctx: z.RefinementCtx<object[]>): void => {
  items.forEach((item, i) => {
    for (const k of ['dns', 'srv'] as const) {
      if (k in item) {
        ctx.addIssue({ code: 'custom', path: [i, k], input: (item as Record<string, unknown>)[k], message: 'is a DNS entry; "mode": "tcp" takes "addr" entries ("tcp://host:port") only' });
      }
    }
  });
};

const tcpServers = z
  .array(z.union([tcpServerSchema, dnsServerSchema, srvServerSchema]))
  .min(1, { message: 'is empty (at least one server is required)' })
  .superRefine(noDuplicateServers(tcpKey))
  .superRefine(noDnsInTcp);

/** The config schema of "mode": "tcp". */
export const tcpConfigSchema = configSchema.safeExtend({
  servers: tcpServers,
  healthCheck: healthCheckSchema
    .safeExtend({
      type: z
        .enum(['http', 'tcp'], { error: 'is not a check type (allowed: "http", "tcp")' })
        .default('tcp')
        .meta({ description: '"tcp": connect only; "http": GET `path` on the server\'s port (default "tcp" in tcp mode)' }),
    })
    .prefault({}),
}).superRefine((c, ctx) => {
  // tcp mode relays bytes: TLS passes through to the servers, the balancer terminates none.
  const HTTP_ONLY = 'is for "mode": "http" (in "mode": "tcp" TLS passes through to the servers untouched)';
  if (c.tls !== undefined) ctx.addIssue({ code: 'custom', path: ['tls'], input: c.tls, message: HTTP_ONLY });
  if (c.redirectHttp !== undefined) ctx.addIssue({ code: 'custom', path: ['redirectHttp'], input: c.redirectHttp, message: HTTP_ONLY });
});

const TCP_ONLY = 'is only for "mode": "tcp" (PROXY protocol headers go to TCP servers)';

/** The config schema of "mode": "http": the schema as it is, refusing tcp-only settings and tcp addresses with a hint. */
export const httpConfigSchema = configSchema.superRefine((c, ctx) => {
  if (c.proxyProtocol !== undefined) ctx.addIssue({ code: 'custom', path: ['proxyProtocol'], input: c.proxyProtocol, message: TCP_ONLY });
  c.servers.forEach((s, i) => {
    if ('addr' in s && s.proxyProtocol !== undefined) ctx.addIssue({ code: 'custom', path: ['servers', i, 'proxyProtocol'], input: s.proxyProtocol, message: TCP_ONLY });
  });
});

/** The schema `raw` (parsed JSON, before validation) is checked with: by its `mode`. */
export function schemaFor(raw: unknown): typeof httpConfigSchema | typeof tcpConfigSchema {
  const mode = raw !== null && typeof raw === 'object' ? (raw as { mode?: unknown }).mode : undefined;
  return mode === 'tcp' ? tcpConfigSchema : httpConfigSchema;
}

// Defaults of the settings tcp mode has no use for, to warn only about those set on purpose.
const TIMEOUT_DEFAULTS = configSchema.shape.timeouts.parse({});
const LIMIT_DEFAULTS = configSchema.shape.limits.parse({});

/**
 * Settings a tcp-mode config sets that only HTTP uses, each as `file: path: phrase` (warnings:
 * the config still runs, as HAProxy warns of http options in a tcp proxy and ignores them).
 */
export function tcpWarnings(config: Config): string[] {
  if (config.tcp === undefined) return [];
  const out: string[] = [];
  const ignored = (path: string, why: string): void => {
    out.push(`${config.file}: ${path}: is ignored in "mode": "tcp" (${why})`);
  };
  const t = config.timeouts;
  if (t.responseHeadersMs !== toMs(TIMEOUT_DEFAULTS.responseHeaders)) ignored('timeouts.responseHeaders', 'there are no responses to wait for');
  if (t.requestHeadMs !== toMs(TIMEOUT_DEFAULTS.requestHead)) ignored('timeouts.requestHead', 'there are no request heads');
  const l = config.limits;
  if (l.maxHeaders !== LIMIT_DEFAULTS.maxHeaders) ignored('limits.maxHeaders', 'there are no headers');
  const rateSet = (r: typeof l.minRequestBodyRate, d: false | { bytesPerSecond: number; grace: number }): boolean =>
    d === false ? r !== undefined : r === undefined || r.bytesPerSecond !== d.bytesPerSecond || r.graceMs !== toMs(d.grace);
  if (rateSet(l.minRequestBodyRate, LIMIT_DEFAULTS.minRequestBodyRate)) ignored('limits.minRequestBodyRate', 'timeouts.idle limits a silent connection');
  if (rateSet(l.minResponseRate, LIMIT_DEFAULTS.minResponseRate)) ignored('limits.minResponseRate', 'timeouts.idle limits a silent connection');
  if (config.trustedProxies.length > 0) ignored('trustedProxies', 'there are no X-Forwarded-For headers; the client is the connection\'s peer');
  if (config.accessLog !== undefined) ignored('accessLog', 'no per-request log; connections are logged at debug level and counted per server');
  return out;
}
