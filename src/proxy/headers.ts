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
// Headers we set ourselves; the client's copies are replaced (X-Forwarded-For is appended to instead).
const OURS = new Set(['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host']);

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
  /** Address of the client as the balancer saw it. */
  readonly clientAddress: string;
  /** "http" or "https": how the client reached the balancer. */
  readonly proto: string;
  /** Keep Connection/Upgrade (for WebSocket handshakes). */
  readonly keepUpgrade?: boolean;
}

/**
 * Headers for the upstream request, as a flat [name, value, ...] list (undici's cheapest form):
 * the client's headers minus hop-by-hop ones, with X-Forwarded-For appended and
 * X-Forwarded-Proto / X-Forwarded-Host set. Host passes through unchanged.
 */
export function upstreamHeaders(req: IncomingMessage, info: ForwardInfo): string[] {
  const raw = req.rawHeaders;
  const named = connectionTokens(req.headers.connection);
  const out: string[] = [];
  let xff: string | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (info.keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, value);
      continue;
    }
    if (HOP_BY_HOP.has(lower) || (named !== undefined && named.has(lower))) continue;
    if (OURS.has(lower)) {
      if (lower === 'x-forwarded-for') xff = xff === undefined ? value : `${xff}, ${value}`;
      continue;
    }
    out.push(name, value);
  }
  out.push('x-forwarded-for', xff === undefined ? info.clientAddress : `${xff}, ${info.clientAddress}`);
  out.push('x-forwarded-proto', info.proto);
  const host = req.headers.host;
  if (host !== undefined) out.push('x-forwarded-host', host);
  return out;
}

/** Removes hop-by-hop headers from an upstream response's headers, in place. */
export function stripResponseHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const named = connectionTokens(headers.connection);
  for (const h of HOP_BY_HOP) delete headers[h];
  if (named !== undefined) for (const h of named) delete headers[h];
  return headers;
}
