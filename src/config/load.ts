import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { algorithmsUsingWeightsInstead, canonicalAlgorithm, type AlgorithmName } from '../control/selection/algorithms.js';
import type { AlgorithmOptions } from '../control/selection/selector.js';
import { BalancerError, type ConfigErrorCode } from '../util/errors.js';
import { toMs } from './fields.js';
import { formatIssue } from './format.js';
import { discoveryWarnings, formatServerEntryIssue, resolveDiscovery, resolveDnsServers, type DiscoverySettings, type DnsServerConfig } from './discovery.js';
import { findJsonError, lineColumn, looksLikeYaml, positionInMessage } from './json-errors.js';
import { healthCheckSchema, resolveHealthConfig, type HealthSettings } from '../control/health/config.js';
import { DEFAULT_RETRY_BUDGET, type RetryBudgetOptions } from '../control/health/retry-budget.js';
import { substituteEnv, type Env } from '../control/notify/env.js';
import { formatNotificationIssue, resolveNotifications, type NotifierConfig } from '../control/notify/config.js';
import { parseListenAddress, type ListenAddress } from './listen.js';
import { adminSchema, resolveAdmin, type AdminConfig } from './admin.js';
import { accessLogSchema, resolveAccessLog, type AccessLogConfig } from './access-log.js';
import { acmeProblems, acmeSchema, resolveAcme, type AcmeConfig } from './acme.js';
import { configSchema, type ConfigFile } from './schema.js';
import { rateObject, resolveLimits, type Limits } from './limits.js';
import { resolveEngine, type EngineName } from './engine.js';
import { CertificateError, resolveTls, tlsSchema, type TlsSettings } from './tls.js';
import { resolveUpstreamTls, upstreamTlsSchema, upstreamTlsWarning, type UpstreamTls } from './upstream-tls.js';
import { resolveRedirectHttp, type RedirectHttpConfig } from './redirect-http.js';
import { resolveWorkers } from './workers.js';
import { resolveTcp, serverAddrFor, type TcpSettings } from './tcp.js';
import { schemaFor, tcpWarnings } from './tcp-schema.js';

/** One backend as the balancer uses it. */
export interface ServerConfig {
  readonly addr: string;
  readonly name: string | undefined;
  readonly weight: number;
  readonly backup: boolean;
}

/** A loaded, validated config with defaults applied and units in milliseconds. */
export interface Config {
  /** The file it came from (for messages and reloads). */
  readonly file: string;
  readonly name: string;
  readonly addr: string;
  readonly listen: ListenAddress;
  readonly algorithm: AlgorithmName;
  readonly healthCheckIntervalMs: number;
  /** Tunables of particular algorithms, in milliseconds. */
  readonly algorithmOptions: AlgorithmOptions;
  /** Proxies whose X-Forwarded-For is believed (addresses or CIDR ranges). */
  readonly trustedProxies: readonly string[];
  readonly timeouts: {
    readonly connectMs: number;
    readonly responseHeadersMs: number;
    readonly idleMs: number;
    readonly shutdownMs: number;
    /** Deadline for a request line and headers (slowloris). */
    readonly requestHeadMs: number;
  };
  /** Limits on what one client can hold. */
  readonly limits: Limits;
  readonly servers: readonly ServerConfig[];
  /** Active and passive health checks, slow start. */
  readonly health: HealthSettings;
  // `servers` holds the `addr` entries only (it may be empty when every entry is found in DNS).
  /** Server entries found in DNS (`dns` and `srv` entries), for the discovery sources. */
  readonly dnsServers: readonly DnsServerConfig[];
  /** How DNS entries are looked up. */
  readonly discovery: DiscoverySettings;
  /** Retries on another server. */
  readonly retries: { readonly attempts: number; readonly budget: RetryBudgetOptions };
  /** Where health events are sent. */
  readonly notifications: readonly NotifierConfig[];
  /** The admin API listener; undefined when off. */
  readonly admin: AdminConfig | undefined;
  /** The access log; undefined (or absent) when off. */
  readonly accessLog?: AccessLogConfig;
  /** The proxy engine; always set by loading (config/engine.ts), absent only in configs built by hand: "node". */
  readonly engine?: EngineName;
  /** Automatic certificates; undefined (or absent) when off. */
  readonly acme?: AcmeConfig;
  /** HTTPS on the listener, certificates read and checked; undefined (or absent) when off. */
  readonly tls?: TlsSettings;
  /** How https:// servers are verified (absent: system CAs, as DEFAULT_UPSTREAM_TLS). */
  readonly upstreamTls?: UpstreamTls;
  /** The plain-HTTP listener that redirects to HTTPS; undefined when off. */
  readonly redirectHttp?: RedirectHttpConfig;
  /** Worker processes serving clients (1: this process serves them itself). */
  readonly workers?: number;
  /** "mode": "tcp" settings (src/config/tcp.ts); absent in http mode. */
  readonly tcp?: TcpSettings;
}

/** A config that cannot be used: every problem, each as `file: path: found phrase`. */
export class ConfigError extends BalancerError {
  /** Creates a config error listing every problem found. */
  constructor(
    override readonly code: ConfigErrorCode,
    readonly problems: readonly string[],
  ) {
    super(code, problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Parses JSON, reporting syntax errors with their real line and column, and saying so when the text is YAML. */
export function parseJson(text: string, label: string): unknown {
  // Editors on Windows may start a file with a byte-order mark, which JSON.parse rejects.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    // Our own scanner finds the spot on every Node.js version; V8's position is the fallback.
    const found = findJsonError(body);
    const offset = found?.offset ?? positionInMessage(msg) ?? body.length;
    const what = found?.what ?? msg.replace(/,? ?"[^"]*"? is not valid JSON/, '').replace(/ in JSON at position \d+.*$/, '');
    const { line, column } = lineColumn(body, offset);
    const yaml = looksLikeYaml(body, offset) ? '; this looks like YAML; the config file is JSON (see examples/balancer.json)' : '';
    throw new ConfigError('E_CONFIG_JSON', [`${label}:${line}:${column}: invalid JSON: ${what}${yaml}`]);
  }
}

// Keys allowed at each object level, for "did you mean" (read from the schema itself).
function allowedKeys(path: readonly PropertyKey[]): readonly string[] {
  const shapes: Record<string, z.ZodObject> = {
    '': configSchema,
    servers: configSchema.shape.servers.element.options[0],
    timeouts: configSchema.shape.timeouts.unwrap(),
    algorithmOptions: configSchema.shape.algorithmOptions.unwrap(),
    healthCheck: configSchema.shape.healthCheck.unwrap() as unknown as z.ZodObject,
    'healthCheck.passive': healthCheckSchema.shape.passive.unwrap() as unknown as z.ZodObject,
    admin: adminSchema.unwrap(),
    accessLog: accessLogSchema.unwrap(),
    'tls.acme': acmeSchema.unwrap(),
    upstreamTls: upstreamTlsSchema.unwrap(),
    retries: configSchema.shape.retries.unwrap(),
    limits: configSchema.shape.limits.unwrap(),
    'limits.minRequestBodyRate': rateObject,
    'limits.minResponseRate': rateObject,
    tls: tlsSchema.unwrap(),
    'tls.http2': tlsSchema.unwrap().shape.http2.unwrap(),
    'tls.certificates': tlsSchema.unwrap().shape.certificates.unwrap().element,
  };
  const key = path.filter((p) => typeof p === 'string').join('.');
  const shape = shapes[key];
  return shape ? Object.keys(shape.shape) : [];
}

/**
 * Validates parsed JSON after substituting `${VAR}` from `env` in every string;
 * `label` names the file in messages, which show values as written (never a substituted secret).
 */
export function validateConfig(raw: unknown, label: string, env: Env = process.env): ConfigFile {
  const sub = substituteEnv(raw, env);
  if (sub.problems.length > 0) throw new ConfigError('E_CONFIG_INVALID', sub.problems.map((p) => `${label}: ${p}`));
  const r = schemaFor(sub.value).safeParse(sub.value, { reportInput: true });
  if (r.success) return r.data;
  const problems = r.error.issues
    .flatMap((i) =>
      i.path[0] === 'notifications'
        ? formatNotificationIssue(i, raw)
        : i.path[0] === 'servers' && i.path.length > 1
          ? formatServerEntryIssue(i, raw, allowedKeys(['servers']))
          : formatIssue(i, raw, allowedKeys),
    )
    .map((p) => `${label}: ${p}`);
  // An entry of two kinds can fail in several ways that all read the same.
  throw new ConfigError('E_CONFIG_INVALID', [...new Set(problems)]);
}

// Health probes verify https servers as proxied requests do.
function withUpstreamTls(h: HealthSettings, tls: UpstreamTls): HealthSettings {
  return { ...h, active: { ...h.active, upstreamTls: tls } };
}

/** Turns a validated file into the runtime config. */
export function resolveConfig(input: ConfigFile, path: string): Config {
  // `addr` entries are the static servers; `dns` and `srv` entries go to the discovery sources.
  const file = { ...input, servers: input.servers.filter((s) => 'addr' in s) };
  const listen = parseListenAddress(file.addr);
  const algorithm = canonicalAlgorithm(file.algorithm);
  // Both were validated by the schema; these guards keep the types honest.
  if (typeof listen === 'string' || algorithm === undefined) throw new Error('unreachable: schema accepted bad value');
  const upstreamTls = resolveUpstreamTls(file.upstreamTls);
  if (typeof upstreamTls === 'string') throw new ConfigError('E_CONFIG_INVALID', [`${path}: ${upstreamTls}`]);
  return {
    file: path,
    name: file.name,
    addr: file.addr,
    listen,
    algorithm,
    healthCheckIntervalMs: toMs(file.healthCheckDelay),
    algorithmOptions: {
      decayMs: toMs(file.algorithmOptions.decay),
      failurePenaltyMs: toMs(file.algorithmOptions.failurePenalty),
      ...(file.algorithmOptions.maxInflight !== undefined ? { maxInflight: file.algorithmOptions.maxInflight } : {}),
    },
    trustedProxies: file.trustedProxies,
    timeouts: {
      connectMs: toMs(file.timeouts.connect),
      responseHeadersMs: toMs(file.timeouts.responseHeaders),
      idleMs: toMs(file.timeouts.idle),
      shutdownMs: toMs(file.timeouts.shutdown),
      requestHeadMs: toMs(file.timeouts.requestHead),
    },
    limits: resolveLimits(file.limits),
    servers: file.servers.map((sv) => ({
      addr: serverAddrFor(file.mode, sv.addr),
      name: sv.name,
      weight: sv.weight ?? sv.weigth ?? 1,
      backup: sv.backup ?? false,
    })),
    health: withUpstreamTls(resolveHealthConfig(file.healthCheck, toMs(file.healthCheckDelay)), upstreamTls),
    dnsServers: resolveDnsServers(input.servers),
    discovery: resolveDiscovery(file.discovery),
    retries: {
      attempts: file.retries.attempts,
      budget: { ...DEFAULT_RETRY_BUDGET, ratio: file.retries.budget, minPerSecond: file.retries.minPerSecond },
    },
    notifications: resolveNotifications(file.notifications),
    admin: resolveAdmin(file.admin),
    accessLog: resolveAccessLog(file.accessLog),
    engine: resolveEngine(file.engine),
    acme: resolveAcmeOrThrow(file, path),
    tls: resolveTlsOrThrow(file.tls, path),
    upstreamTls,
    redirectHttp: resolveRedirectHttp(file.redirectHttp),
    workers: resolveWorkers(file.workers),
    ...(file.mode === 'tcp' ? { tcp: resolveTcp(file) } : {}),
  };
}

// ACME settings that cannot work (no HTTP listener for HTTP-01, an unreadable `ca`) are config errors.
function resolveAcmeOrThrow(file: ConfigFile, path: string): AcmeConfig | undefined {
  const acme = resolveAcme(file.tls?.acme);
  const problems = acme === undefined ? [] : acmeProblems(acme, file.redirectHttp !== undefined);
  if (problems.length > 0) throw new ConfigError('E_CONFIG_INVALID', problems.map((p) => `${path}: ${p}`));
  return acme;
}

// A certificate that cannot be served is a config error naming the file, the field and the problem.
function resolveTlsOrThrow(file: ConfigFile['tls'], path: string): TlsSettings | undefined {
  try {
    return resolveTls(file);
  } catch (e) {
    if (e instanceof CertificateError) throw new ConfigError('E_CONFIG_INVALID', e.problems.map((p) => `${path}: ${p.field}: ${p.message}`));
    throw e;
  }
}

/**
 * Things a valid config does that are probably not what its author meant, each as
 * `file: path: phrase` (logged at start and reload, printed by validate; they never refuse a config).
 */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  const weights = config.servers.map((s) => s.weight);
  const instead = algorithmsUsingWeightsInstead(config.algorithm);
  if (instead !== undefined && weights.some((w) => w !== weights[0])) {
    warnings.push(
      `${config.file}: servers[].weight: weights are set (${weights.join(', ')}) but ${config.algorithm} ignores them; algorithms that use weights: ${instead.join(', ')}`,
    );
  }
  warnings.push(...discoveryWarnings(config.file, config.dnsServers));
  const insecure = config.upstreamTls && upstreamTlsWarning(config.file, config.upstreamTls);
  if (insecure) warnings.push(insecure);
  warnings.push(...tcpWarnings(config));
  return warnings;
}

/** Parses and validates config text; `path` names the file in messages. */
export function parseConfig(text: string, path: string, env: Env = process.env): Config {
  return resolveConfig(validateConfig(parseJson(text, path), path, env), path);
}

/** Reads, parses and validates a config file; throws ConfigError naming the file. */
export function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(e);
    throw new ConfigError('E_CONFIG_READ', [`${path}: cannot read config: ${why}`]);
  }
  return parseConfig(text, path);
}
