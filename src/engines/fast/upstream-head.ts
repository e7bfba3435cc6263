import { connectionTokens, isForwardedHeader, isHopByHop, KEPT_FROM_TRUSTED, portText } from '../node/headers.js';

/** What the upstream request head is built from, besides the client's headers. */
export interface UpstreamHeadInput {
  readonly method: string;
  /** Origin-form path and query, joined to the server's path prefix. */
  readonly path: string;
  /** The client's headers, [name, value, ...] as received. */
  readonly rawHeaders: readonly string[];
  /** Address of the connection's peer. */
  readonly peer: string;
  /** The peer is a trusted proxy: its X-Forwarded-* headers are kept and extended. */
  readonly trusted: boolean;
  /** "http" or "https": how the peer reached the balancer. */
  readonly proto: string;
  /** The port the peer connected to. */
  readonly port: number;
  /** Host named by an absolute-form target: replaces the Host header (RFC 9112 §3.2.2). */
  readonly host: string | undefined;
  /** Body framing to send: 'chunked' (wire bytes forwarded as they are), or none (Content-Length, if any, passes). */
  readonly chunked: boolean;
  /** Keep Connection/Upgrade (an upgrade handshake). */
  readonly keepUpgrade: boolean;
  /** Host sent when the client sent none (HTTP/1.0): the server's host[:port], as undici does. */
  readonly serverHost: string;
  /** Ask the server to close after this request (a server under the stray guard's no-reuse period). */
  readonly close: boolean;
}

/** Headers a Connection header cannot make hop-by-hop: the message's framing and Host. */
const NEVER_NAMED: ReadonlySet<string> = new Set(['content-length', 'transfer-encoding', 'host']);

/** A Connection value that names no header (the common case). */
const PLAIN_CONNECTION = /^(?:keep-alive|close)$/i;

/** Header names (lower-case) that the Connection headers of `raw` ([name, value, ...]) make hop-by-hop; undefined when none (the usual case). */
export function connectionNamed(raw: readonly string[]): Set<string> | undefined {
  let named: Set<string> | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 10 && name.toLowerCase() === 'connection') {
      const v = raw[i + 1] as string;
      if (PLAIN_CONNECTION.test(v)) continue; // names no header: nothing to split
      const t = connectionTokens(v);
      // Framing and Host are never dropped because Connection names them (a message smuggled by
      // "Connection: content-length" would otherwise lose its length on the way).
      if (t !== undefined) for (const n of t) if (!NEVER_NAMED.has(n)) (named ??= new Set()).add(n);
    }
  }
  return named;
}

// First letters (lower-cased) of every header name the rewrite looks at: hop-by-hop ones
// (connection, keep-alive, te, trailer, transfer-encoding, upgrade, proxy-connection, expect,
// proxy), forwarding ones (x-forwarded-*, x_forwarded_*, forwarded, x-real-ip) and host. Any other
// name is copied without being lower-cased.
const LOOKED_AT = new Uint8Array(128);
for (const c of 'cktupexfhCKTUPEXFH') LOOKED_AT[c.charCodeAt(0)] = 1;

/**
 * The request head sent upstream, as one string: request line, the client's headers minus
 * hop-by-hop ones and `Proxy` (httpoxy), forwarding headers by the node engine's rules
 * (headers.ts: a client cannot spoof X-Forwarded-*; a trusted proxy's are kept and extended),
 * and the body framing. Header lines are copied as received, names keeping their case.
 */
export function upstreamHead(h: UpstreamHeadInput): string {
  const raw = h.rawHeaders;
  // Connection may list more hop-by-hop headers: read it first (rare beyond close/keep-alive).
  const named = connectionNamed(raw);
  let host: string | undefined;
  let out = `${h.method} ${h.path} HTTP/1.1\r\n`;
  let xff: string | undefined;
  // Which of X-Forwarded-Proto/-Host/-Port a trusted proxy sent (bits 1, 2, 4).
  let kept = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    if (LOOKED_AT[name.charCodeAt(0)] !== 1 && named === undefined) {
      out += `${name}: ${value}\r\n`;
      continue;
    }
    const lower = name.toLowerCase();
    if (h.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out += `${name}: ${value}\r\n`;
      continue;
    }
    if (isHopByHop(lower) || (named !== undefined && named.has(lower))) continue;
    if (lower === 'host') {
      host ??= value;
      if (h.host !== undefined) continue;
    } else if (isForwardedHeader(lower)) {
      if (!h.trusted) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      }
      const k = KEPT_FROM_TRUSTED.indexOf(lower as (typeof KEPT_FROM_TRUSTED)[number]);
      if (k !== -1) kept |= 1 << k;
    }
    out += `${name}: ${value}\r\n`;
  }
  if (h.host !== undefined) out += `host: ${h.host}\r\n`;
  else if (host === undefined) out += `host: ${h.serverHost}\r\n`;
  out += `x-forwarded-for: ${xff === undefined ? h.peer : `${xff}, ${h.peer}`}\r\n`;
  if ((kept & 1) === 0) out += `x-forwarded-proto: ${h.proto}\r\n`;
  const fwdHost = h.host ?? host;
  if ((kept & 2) === 0 && fwdHost !== undefined) out += `x-forwarded-host: ${fwdHost}\r\n`;
  if ((kept & 4) === 0) out += `x-forwarded-port: ${portText(h.port)}\r\n`;
  if (h.chunked) out += 'transfer-encoding: chunked\r\n';
  if (h.close) out += 'connection: close\r\n';
  return `${out}\r\n`;
}

/** The value of the first header named `lower` (a lower-case name) in `raw`, or undefined. */
export function headerValue(raw: readonly string[], lower: string): string | undefined {
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === lower.length && name.toLowerCase() === lower) return raw[i + 1];
  }
  return undefined;
}

/** Every value of headers named `lower`, joined with ", " (X-Forwarded-For over several lines), or undefined. */
export function joinedHeader(raw: readonly string[], lower: string): string | undefined {
  let out: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === lower.length && name.toLowerCase() === lower) out = out === undefined ? raw[i + 1] : `${out}, ${raw[i + 1]}`;
  }
  return out;
}
