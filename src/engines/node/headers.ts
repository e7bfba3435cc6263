import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';

// Hop-by-hop headers (RFC 9110 §7.6.1) plus the legacy Proxy-Connection; never forwarded.
// `expect` is answered by our own server (100-continue), so it is not forwarded either.
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-connection',
  'expect',
]);
// Headers a client may not set unless it is a trusted proxy: the balancer sets its own (Traefik's
// default). Every x-forwarded-* header is dropped too (a prefix test, see isForwardedHeader).
const FORWARDING = new Set(['forwarded', 'x-real-ip']);
// X-Forwarded-* values a trusted proxy sets that we keep as they are (the first proxy knows them).
export const KEPT_FROM_TRUSTED = ['x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-port'] as const;

// X-Forwarded-Port of the last request: a listener's port, so nearly always the same string.
let lastPort = -1;
let lastPortText = '';
export function portText(port: number): string {
  if (port !== lastPort) {
    lastPort = port;
    lastPortText = String(port);
  }
  return lastPortText;
}

/** True for lower-cased request header names never forwarded: hop-by-hop, Proxy-Connection, Expect, and Proxy (httpoxy). */
export function isHopByHop(lower: string): boolean {
  return HOP_BY_HOP.has(lower) || lower === 'proxy';
}

/** True for the headers an untrusted client may not send upstream: X-Forwarded-*, Forwarded, X-Real-IP. */
export function isForwardedHeader(lower: string): boolean {
  if (lower.startsWith('x-forwarded-') || FORWARDING.has(lower)) return true;
  // CGI-style servers read X_Forwarded_For as X-Forwarded-For (both become HTTP_X_FORWARDED_FOR).
  if (!lower.includes('_')) return false;
  const dashed = lower.replaceAll('_', '-');
  return dashed.startsWith('x-forwarded-') || FORWARDING.has(dashed);
}

/** Lower-cased header names listed in a Connection header value (they are hop-by-hop too). */
export function connectionTokens(value: string | string[] | undefined): Set<string> | undefined {
  if (value === undefined) return undefined;
  const joined = Array.isArray(value) ? value.join(',') : value;
  let out: Set<string> | undefined;
  for (const t of joined.split(',')) {
    const name = t.trim().toLowerCase();
    if (name !== '' && name !== 'close' && name !== 'keep-alive') (out ??= new Set()).add(name);
  }
  return out;
}

/** Options for building the upstream request headers. */
export interface ForwardInfo {
  /** Address of the connection's peer (the socket), whoever it is. */
  readonly peer: string;
  /** The peer is a trusted proxy: its X-Forwarded-* headers are kept and extended. */
  readonly trusted: boolean;
  /** "http" or "https": how the peer reached the balancer. */
  readonly proto: string;
  /** The port the peer connected to, for X-Forwarded-Port. */
  readonly port: number;
  /** Host named by an absolute-form target: replaces the Host header (RFC 9112 §3.2.2). */
  readonly host?: string | undefined;
  /** Keep Connection/Upgrade (for WebSocket handshakes). */
  readonly keepUpgrade?: boolean;
}

/**
 * Headers for the upstream request, as a flat [name, value, ...] list (undici's cheapest form):
 * the client's headers minus hop-by-hop ones and `Proxy` (httpoxy), plus forwarding headers.
 * X-Forwarded-For always ends with the peer. From a trusted proxy its X-Forwarded-For is extended
 * and its X-Forwarded-Proto/-Host/-Port (and Forwarded, X-Real-IP) kept; from anyone else every
 * X-Forwarded-*, Forwarded and X-Real-IP header is dropped and X-Forwarded-For (the peer), -Proto,
 * -Host (the Host header) and -Port (ours) are set, so a client cannot spoof its address.
 */
export function upstreamHeaders(req: IncomingMessage, info: ForwardInfo): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined;
  // Which of X-Forwarded-Proto/-Host/-Port a trusted proxy sent (bits 1, 2, 4).
  let kept = 0;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (info.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || lower === 'proxy' || (named !== undefined && named.has(lower))) continue;
    if (lower === 'host' && info.host !== undefined) continue;
    if (isForwardedHeader(lower)) {
      if (!info.trusted) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === undefined ? value : `${xff}, ${value}`;
        continue;
      }
      const k = KEPT_FROM_TRUSTED.indexOf(lower as (typeof KEPT_FROM_TRUSTED)[number]);
      if (k !== -1) kept |= 1 << k;
    }
    out.push(name, value);
  }
  if (info.host !== undefined) out.push('host', info.host);
  out.push('x-forwarded-for', xff === undefined ? info.peer : `${xff}, ${info.peer}`);
  if ((kept & 1) === 0) out.push('x-forwarded-proto', info.proto);
  const host = info.host ?? req.headers.host;
  if ((kept & 2) === 0 && host !== undefined) out.push('x-forwarded-host', host);
  if ((kept & 4) === 0) out.push('x-forwarded-port', portText(info.port));
  return out;
}

/** Removes hop-by-hop headers from an upstream response's headers, in place. */
export function stripResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionTokens(headers.connection);
  for (const h of HOP_BY_HOP) delete headers[h];
  if (named !== undefined) for (const h of named) delete headers[h];
  return headers;
}
