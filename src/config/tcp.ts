import { z } from 'zod';
import { formatHostPort } from './listen.js';

// L4 (TCP) mode: the fields, the server address forms and the runtime settings. The mode-aware
// schema (tcp addresses, a TCP health check by default) is built in tcp-schema.ts.
// Custom messages are predicate phrases: the formatter prints `path: <found> <phrase>`.

/** The balancer's modes: HTTP reverse proxy, or TCP connections (HAProxy's `mode http` / `mode tcp`). */
export const MODES = ['http', 'tcp'] as const;
/** One of MODES. */
export type Mode = (typeof MODES)[number];

/** PROXY protocol versions (HAProxy `send-proxy` is v1, `send-proxy-v2` is v2). */
export type ProxyProtocolVersion = 'v1' | 'v2';

/** The top-level `mode` field. */
export const modeField = z
  .enum(MODES, { error: 'is not a mode (allowed: "http", "tcp")' })
  .default('http')
  .meta({ description: '"http": an HTTP reverse proxy; "tcp": balances TCP connections (databases, TLS passthrough, anything), servers "tcp://host:port" (default "http")' });

const version = z.enum(['v1', 'v2'], { error: 'is not a PROXY protocol version (allowed: "v1", "v2")' });

/** The top-level `proxyProtocol` field (tcp mode only). */
export const proxyProtocolField = version
  .optional()
  .meta({ description: 'tcp mode: send a PROXY protocol header ("v1" text or "v2" binary) to every server first, so it sees the client address (default: none)' });

/** The per-server `proxyProtocol` field (tcp mode only): overrides the top-level one; false sends none to this server. */
export const serverProxyProtocolField = z
  .union([z.literal(false), version], { error: 'is not "v1", "v2" or false' })
  .optional()
  .meta({ description: 'tcp mode: PROXY protocol header for this server, "v1", "v2" or false for none (default: the top-level proxyProtocol)' });

/** Host and port of a TCP server. */
export interface TcpAddress {
  /** Host name or IP (IPv6 without brackets). */
  readonly host: string;
  readonly port: number;
}

// "tcp://host:port" (optionally a trailing "/") or "host:port"; IPv6 in brackets.
const TCP_FORM = /^(?:tcp:\/\/)?(\[[^\]]*\]|[^:/?#[\]\s@]*)(?::([^/?#]*))?\/?$/i;

/** True when `s` is written as a TCP address rather than a URL of another scheme ("tcp://..." or "host:port"). */
export function looksLikeTcpAddress(s: string): boolean {
  return /^tcp:\/\//i.test(s) || (!s.includes('://') && /^(\[[^\]]*\]|[^:/[\]\s]+):\d+$/.test(s));
}

/** Parses "tcp://host:port" or "host:port"; returns a phrase saying what is wrong instead. */
export function parseTcpAddress(s: string): TcpAddress | string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(s) && !/^tcp:\/\//i.test(s)) {
    return /^https?:\/\//i.test(s)
      ? 'is an http:// URL; in "mode": "tcp" a server is "tcp://host:port" or "host:port" (its health check can still be HTTP: healthCheck.type "http")'
      : 'is not a TCP address like "tcp://host:port" or "host:port"';
  }
  const m = TCP_FORM.exec(s);
  if (m === null) return 'is not a TCP address like "tcp://host:port" or "host:port" (no path, query or user info)';
  const rawHost = m[1] ?? '';
  const port = m[2];
  if (rawHost === '' || rawHost === '[]') return 'has no host (write it as "tcp://host:port")';
  if (port === undefined || port === '') return 'has no port (write it as "tcp://host:port")';
  if (!/^\d+$/.test(port)) return `has a port that is not a number (${JSON.stringify(port)}; allowed: 1 to 65535)`;
  const n = Number(port);
  if (n < 1 || n > 65535) return `has port ${port}, out of range (allowed: 1 to 65535)`;
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  try {
    new URL(`tcp://${formatHostPort(host, n)}`);
  } catch {
    return 'has a host that is not a name or an IP address';
  }
  return { host: host.toLowerCase(), port: n };
}

/** The canonical form of a TCP server address, "tcp://host:port" (its identity, as shown in logs and the admin API). */
export function canonicalTcpAddress(s: string): string {
  const a = parseTcpAddress(s);
  if (typeof a === 'string') throw new Error(`unreachable: schema accepted a bad tcp address: ${s}`);
  return `tcp://${formatHostPort(a.host, a.port)}`;
}

/** The tcp-mode settings of a config (undefined in http mode). */
export interface TcpSettings {
  /** PROXY protocol header sent to servers without their own setting; undefined: none. */
  readonly proxyProtocol: ProxyProtocolVersion | undefined;
  /** Per-server settings by canonical address ("tcp://host:port"); false: none for that server. */
  readonly serverProxyProtocol: Readonly<Record<string, ProxyProtocolVersion | false>>;
}

/** What the tcp settings are made from (a validated config file). */
export interface TcpFileFields {
  readonly mode?: Mode | undefined;
  readonly proxyProtocol?: ProxyProtocolVersion | undefined;
  readonly servers: readonly object[];
}

/** The PROXY protocol version to send to the server at `addr` (canonical), or undefined. */
export function proxyProtocolFor(t: TcpSettings, addr: string): ProxyProtocolVersion | undefined {
  const own = t.serverProxyProtocol[addr];
  return own === false ? undefined : (own ?? t.proxyProtocol);
}

/** The runtime tcp settings of a validated file: undefined in http mode. */
export function resolveTcp(file: TcpFileFields): TcpSettings | undefined {
  if (file.mode !== 'tcp') return undefined;
  const serverProxyProtocol: Record<string, ProxyProtocolVersion | false> = {};
  for (const s of file.servers) {
    if (!('addr' in s) || typeof s.addr !== 'string') continue;
    const pp = (s as { proxyProtocol?: ProxyProtocolVersion | false }).proxyProtocol;
    if (pp !== undefined) serverProxyProtocol[canonicalTcpAddress(s.addr)] = pp;
  }
  return { proxyProtocol: file.proxyProtocol, serverProxyProtocol };
}

/** A server `addr` as the runtime uses it: tcp addresses in canonical form, others as written. */
export function serverAddrFor(mode: Mode | undefined, addr: string): string {
  return mode === 'tcp' ? canonicalTcpAddress(addr) : addr;
}
