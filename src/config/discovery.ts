import { isIP } from 'node:net';
import { z, type core } from 'zod';
import { backupField } from '../control/health/config.js';
import { positive, toMs } from './fields.js';
import { formatIssue, formatPath, show } from './format.js';

// Service discovery config: server entries found in DNS (`{dns, port}` by A/AAAA records,
// `{srv}` by SRV records) and the top-level `discovery` object (resolvers, refresh).
// Custom messages are predicate phrases: the formatter prints `path: <found> <phrase>`.

/** Refresh interval when `discovery.refresh` is unset, in seconds (Traefik and Envoy re-resolve on the order of tens of seconds). */
export const DEFAULT_REFRESH_SECONDS = 30;
/** Shortest refresh, in seconds, whatever the TTL says: a TTL of 0 must not become a query loop. */
export const MIN_REFRESH_SECONDS = 1;

const DNS_NAME_PHRASE = 'is not a DNS name like "api.service.test"';

/** True for a host name DNS can look up: dot-separated labels of letters, digits, "-" and "_", at most 253 characters. */
export function isDnsName(s: string): boolean {
  const name = s.endsWith('.') ? s.slice(0, -1) : s;
  if (name === '' || name.length > 253) return false;
  return name.split('.').every((label) => /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/.test(label));
}

const dnsName = (what: string) =>
  z
    .string({ error: `is not a string (${what})` })
    .superRefine((s, ctx) => {
      // An address needs no lookup; say what to write instead.
      if (isIP(s) !== 0) ctx.addIssue({ code: 'custom', input: s, message: 'is an IP address, not a name to look up; use "addr": "http://host:port" for it' });
      else if (!isDnsName(s)) ctx.addIssue({ code: 'custom', input: s, message: DNS_NAME_PHRASE });
    });

const port = z
  .number({ error: 'is not a port number (allowed: 1 to 65535)' })
  .refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535, { message: 'is not a port number (allowed: 1 to 65535)' });

const scheme = z
  .enum(['http', 'https'], { error: 'is not a scheme (allowed: "http", "https")' })
  .optional()
  .meta({ description: 'Scheme of the discovered servers, "http" or "https" (default "http")' });

const prefix = z
  .string({ error: 'is not a string (a name prefix)' })
  .min(1, { message: 'is empty (a name prefix)' })
  .optional()
  .meta({ description: 'Prefix of the discovered servers\' names: "<name>-<address>:<port>" (default: the DNS name)' });

/** A server entry whose servers are every A and AAAA address of a name. */
export const dnsServerSchema = z
  .strictObject({
    dns: dnsName('a DNS name').meta({ description: 'DNS name whose every A and AAAA address is a server, e.g. "api.service.test"' }),
    port: port.meta({ description: 'Port of the servers found under the name, 1 to 65535' }),
    scheme,
    name: prefix,
    weight: positive('a weight; fractions allowed, default 1').optional().meta({ description: 'Weight of each server found, positive, fractions allowed (default 1)' }),
    backup: backupField,
  })
  .meta({ description: 'Servers found in DNS: every A and AAAA address of `dns`, on `port`' });

/** A server entry whose servers are the targets of SRV records. */
export const srvServerSchema = z
  .strictObject({
    srv: dnsName('an SRV name').meta({ description: 'SRV name, e.g. "_http._tcp.api.service.test"; every target and port is a server, SRV weight its weight, the lowest priority primaries and higher priorities backups' }),
    scheme,
    name: prefix,
    backup: z
      .boolean({ error: 'is not true or false' })
      .optional()
      .meta({ description: 'Makes every server found a backup, whatever its SRV priority (default false)' }),
  })
  .meta({ description: 'Servers found in DNS: every target and port of the SRV records of `srv`' });

const resolverAddress = z.string({ error: 'is not a string (a resolver like "127.0.0.1:5353")' }).superRefine((s, ctx) => {
  if (parseResolver(s) === undefined) {
    ctx.addIssue({ code: 'custom', input: s, message: 'is not a resolver address like "127.0.0.1", "127.0.0.1:5353" or "[::1]:5353" (an IP address, port 1 to 65535)' });
  }
});

/** The top-level `discovery` object; every field is optional, so `{}` (or leaving it out) is valid. */
export const discoverySchema = z
  .strictObject({
    resolvers: z
      .array(resolverAddress, { error: 'is not a list of resolvers like ["127.0.0.1:5353"]' })
      .min(1, { message: 'is empty (leave "resolvers" out to use the system resolvers)' })
      .optional()
      .meta({ description: 'DNS servers to ask, "ip" or "ip:port" (default: the system resolvers, /etc/resolv.conf)' }),
    refresh: z
      .number({ error: 'must be a number: seconds between lookups' })
      .refine((n) => Number.isFinite(n) && n >= MIN_REFRESH_SECONDS, { message: `is not a number of seconds of at least ${MIN_REFRESH_SECONDS}` })
      .default(DEFAULT_REFRESH_SECONDS)
      .meta({ description: `Seconds between lookups of each DNS name, sooner when a record's TTL is shorter, never below ${MIN_REFRESH_SECONDS} (default ${DEFAULT_REFRESH_SECONDS})` }),
  })
  .prefault({})
  .meta({ description: 'Service discovery: how servers named by "dns" and "srv" entries are looked up' });

/** `host[:port]` of a resolver, or undefined when it is not one; IPv6 with a port in brackets. */
export function parseResolver(s: string): { host: string; port: number | undefined } | undefined {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(s) ?? (isIP(s) === 6 ? [s, s, undefined] : /^([^:]+)(?::(\d+))?$/.exec(s));
  if (m === null) return undefined;
  const host = m[1] ?? '';
  if (isIP(host) === 0) return undefined;
  if (m[2] === undefined) return { host, port: undefined };
  const p = Number(m[2]);
  return p >= 1 && p <= 65535 ? { host, port: p } : undefined;
}

/** A validated `dns` entry as written. */
export type DnsServerFile = z.output<typeof dnsServerSchema>;
/** A validated `srv` entry as written. */
export type SrvServerFile = z.output<typeof srvServerSchema>;
/** A validated `discovery` object as written. */
export type DiscoveryFile = z.output<typeof discoverySchema>;

/** How discovered servers are looked up, in milliseconds. */
export interface DiscoverySettings {
  /** DNS servers ("ip", "ip:port", "[ipv6]:port"); undefined: the system's. */
  readonly resolvers: readonly string[] | undefined;
  /** Longest time between lookups of a name. */
  readonly refreshMs: number;
}

/** One server entry found in DNS, as the sources use it. */
export type DnsServerConfig =
  | {
      /** A/AAAA lookup of `lookup`; each address on `port` is a server. */
      readonly kind: 'dns';
      readonly lookup: string;
      readonly port: number;
      readonly scheme: 'http' | 'https';
      /** Name prefix of the servers (default: `lookup`). */
      readonly name: string | undefined;
      readonly weight: number;
      readonly backup: boolean;
    }
  | {
      /** SRV lookup of `lookup`; each target and port is a server. */
      readonly kind: 'srv';
      readonly lookup: string;
      readonly scheme: 'http' | 'https';
      readonly name: string | undefined;
      /** Every server is a backup, whatever its priority. */
      readonly backup: boolean;
    };

/** Turns the validated `discovery` object into settings. */
export function resolveDiscovery(file: DiscoveryFile): DiscoverySettings {
  return { resolvers: file.resolvers, refreshMs: toMs(file.refresh) };
}

/** The DNS entries of a validated server list, in order (static `addr` entries are left to the caller). */
export function resolveDnsServers(entries: readonly (DnsServerFile | SrvServerFile | { readonly addr: string })[]): DnsServerConfig[] {
  const out: DnsServerConfig[] = [];
  // DNS names are case-insensitive and "name." is "name": one spelling, for stable ids and names.
  const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');
  for (const e of entries) {
    if ('dns' in e) {
      out.push({ kind: 'dns', lookup: canonical(e.dns), port: e.port, scheme: e.scheme ?? 'http', name: e.name, weight: e.weight ?? 1, backup: e.backup ?? false });
    } else if ('srv' in e) {
      out.push({ kind: 'srv', lookup: canonical(e.srv), scheme: e.scheme ?? 'http', name: e.name, backup: e.backup ?? false });
    }
  }
  return out;
}

const KINDS = ['addr', 'dns', 'srv'] as const;

/** Which of addr/dns/srv an entry as written has. */
function kindsOf(entry: unknown): (typeof KINDS)[number][] {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return [];
  return KINDS.filter((k) => k in entry);
}

/**
 * A superRefine for the server list: the same DNS name twice is an error (each name is one
 * source, "dns:NAME"; serve several ports of a name with SRV records), as is the same `addr`
 * twice (`addrKey` gives the identity of an addr entry).
 */
export function noDuplicateServers<T extends object>(addrKey: (addr: string) => string | undefined) {
  return (items: readonly T[], ctx: z.RefinementCtx<T[]>): void => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const field = KINDS.find((k) => k in item);
      if (field === undefined) return;
      const value = (item as Record<string, unknown>)[field];
      if (typeof value !== 'string') return;
      const key = field === 'addr' ? addrKey(value) : `${field}:${value.toLowerCase().replace(/\.$/, '')}`;
      if (key === undefined) return;
      const first = seen.get(`${field}|${key}`);
      if (first === undefined) {
        seen.set(`${field}|${key}`, i);
        return;
      }
      const why = field === 'dns' ? ' (one entry per name; for several ports of one name, use SRV records)' : '';
      ctx.addIssue({ code: 'custom', path: [i, field], input: value, message: `is a duplicate of servers[${first}].${field}${why}` });
    });
  };
}

/**
 * Formats a problem inside `servers[i]`, which is one of three entry kinds: the entry's own key
 * (addr, dns or srv) decides which kind's problems are shown, so a typo in a `dns` entry is not
 * reported as a missing `addr`. `addrKeys` are the keys of an addr entry.
 */
export function formatServerEntryIssue(issue: core.$ZodIssue, root: unknown, addrKeys: readonly string[]): string[] {
  const at = issue.path.slice(0, 2);
  const entry = (root as { servers?: unknown[] } | null)?.servers?.[Number(at[1])];
  const kinds = kindsOf(entry);
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    return [`${formatPath(at)}: ${show(entry)} is not a server (an object like {"addr": "http://host:port"}, {"dns": "name", "port": 8080} or {"srv": "_http._tcp.name"})`];
  }
  if (kinds.length === 0) return [`${formatPath([...at, 'addr'])}: is required (or "dns" with "port", or "srv", for servers found in DNS)`];
  if (kinds.length > 1) {
    return [`${formatPath(at)}: has ${kinds.map((k) => `"${k}"`).join(' and ')}; a server entry has exactly one of "addr", "dns" or "srv"`];
  }
  const kind = kinds[0] ?? 'addr';
  const keysOf: Record<string, readonly string[]> = { addr: addrKeys, dns: Object.keys(dnsServerSchema.shape), srv: Object.keys(srvServerSchema.shape) };
  const allowed = (): readonly string[] => keysOf[kind] ?? [];
  if (issue.code === 'invalid_union') {
    // zod tried every kind; keep what the entry's own kind said, at its full path.
    const inner = issue.errors[KINDS.indexOf(kind)] ?? [];
    return inner.flatMap((i) => formatIssue({ ...i, path: [...at, ...i.path] } as core.$ZodIssue, root, allowed));
  }
  return formatIssue(issue, root, allowed);
}

/**
 * What a valid discovery config probably gets wrong, each as `file: path: phrase`: a name of one
 * label ("api") is looked up as written, with no search domains, so it almost never resolves.
 */
export function discoveryWarnings(file: string, entries: readonly DnsServerConfig[]): string[] {
  return entries
    .filter((e) => !e.lookup.replace(/\.$/, '').includes('.'))
    .map((e) => `${file}: servers[].${e.kind}: "${e.lookup}" is a name of one label; DNS names are looked up as written, without search domains, so write the full name (e.g. "${e.lookup}.default.svc.cluster.local")`);
}
