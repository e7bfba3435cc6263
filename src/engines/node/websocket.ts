import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import type { Upstream } from '../../control/selection/upstream.js';
import { classifyUpstreamError, writeSocketError, type UpstreamFailure } from './errors.js';
import { connectionTokens, upstreamHeaders } from './headers.js';
import type { UpstreamTlsOptions } from './upstream-tls.js';

/** Settings a tunnel needs. */
export interface TunnelOptions {
  /** The connection's peer address. */
  readonly peer: string;
  /** The peer is a trusted proxy. */
  readonly trusted: boolean;
  /** The port the peer connected to. */
  readonly port: number;
  /** "http" or "https": how the peer reached the balancer. */
  readonly proto: string;
  /** Path and query to request upstream (origin-form, joined to the server's path prefix). */
  readonly path: string;
  /** Host from an absolute-form target, replacing the client's Host header. */
  readonly host?: string;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** TLS options towards an https server (upstream-tls.ts). */
  readonly tls?: UpstreamTlsOptions;
}

// Not relayed with a refused upgrade's answer: node:http has already undone the body's framing
// (a relayed "Transfer-Encoding: chunked" over the plain bytes breaks the client's parser), and
// the connection closes after it.
const REFUSED_HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'trailer']);

/** How long a refused upgrade's connection is read (and what comes discarded) before it is closed. */
const LINGER_MS = 5000;

/** A refused upgrade's answer headers without hop-by-hop ones, plus Connection: close (the body ends with the close). */
function refusedAnswerHeaders(res: IncomingMessage): string[] {
  const named = connectionTokens(res.headers.connection);
  const out: string[] = [];
  for (let i = 0; i < res.rawHeaders.length; i += 2) {
    const name = res.rawHeaders[i] as string;
    const lower = name.toLowerCase();
    if (REFUSED_HOP_BY_HOP.has(lower) || named?.has(lower) === true) continue;
    out.push(name, res.rawHeaders[i + 1] as string);
  }
  out.push('Connection', 'close');
  return out;
}

/** Serialises a status line and headers for a raw socket. */
function head(statusLine: string, rawHeaders: readonly string[]): string {
  let s = `${statusLine}\r\n`;
  for (let i = 0; i < rawHeaders.length; i += 2) s += `${rawHeaders[i]}: ${rawHeaders[i + 1]}\r\n`;
  return `${s}\r\n`;
}

/**
 * Tunnels an HTTP Upgrade (WebSocket) request to `u`: replays the handshake upstream,
 * relays the 101 answer, then pipes bytes both ways until either side closes.
 * Calls `done` once, when the tunnel has ended (with the failure if the handshake failed).
 */
export function tunnelUpgrade(
  req: IncomingMessage,
  socket: Duplex,
  clientHead: Buffer,
  u: Upstream,
  opts: TunnelOptions,
  done: (failure: UpstreamFailure | undefined) => void,
): void {
  let ended = false;
  const end = (failure: UpstreamFailure | undefined): void => {
    if (ended) return;
    ended = true;
    done(failure);
  };
  const send = u.url.protocol === 'https:' ? httpsRequest : httpRequest;
  const out = send({
    protocol: u.url.protocol,
    hostname: u.url.hostname.replace(/^\[|\]$/g, ''),
    port: u.url.port,
    method: req.method,
    path: opts.path,
    headers: upstreamHeaders(req, { ...opts, keepUpgrade: true }),
    agent: false,
    ...opts.tls,
    timeout: opts.connectTimeoutMs,
  });
  socket.on('error', () => out.destroy());
  out.on('timeout', () => out.destroy(Object.assign(new Error('connect timeout'), { code: 'UND_ERR_CONNECT_TIMEOUT' })));
  out.on('error', (err) => {
    const failure = classifyUpstreamError(err);
    writeSocketError(socket, failure.status, failure.reason);
    end(failure);
  });
  // The backend refused to switch protocols: relay its answer, delimited by the close.
  out.on('response', (res) => {
    socket.write(head(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`, refusedAnswerHeaders(res)));
    res.pipe(socket);
    res.on('end', () => end(undefined));
    // Once the answer is out, drop what the client still sends until it closes, for at most
    // LINGER_MS (nginx's lingering close): an upgraded socket is no longer the HTTP server's to
    // close, and one left with unread bytes never ends, holding a graceful stop open for ever.
    socket.once('finish', () => {
      socket.on('data', () => undefined);
      socket.once('end', () => socket.destroy());
      setTimeout(() => socket.destroy(), LINGER_MS).unref();
    });
  });
  out.on('upgrade', (res, upstreamSocket, upstreamHead) => {
    out.setTimeout(0);
    upstreamSocket.setTimeout(opts.idleTimeoutMs, () => upstreamSocket.destroy());
    socket.write(head(`HTTP/1.1 ${res.statusCode} ${res.statusMessage}`, res.rawHeaders));
    if (upstreamHead.length > 0) socket.write(upstreamHead);
    if (clientHead.length > 0) upstreamSocket.write(clientHead);
    upstreamSocket.pipe(socket);
    socket.pipe(upstreamSocket);
    const close = (): void => {
      upstreamSocket.destroy();
      socket.destroy();
      end(undefined);
    };
    upstreamSocket.on('error', close);
    upstreamSocket.on('close', close);
    socket.on('close', close);
  });
  out.end();
}
