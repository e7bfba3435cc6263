import { createServer, STATUS_CODES, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseListenAddress, formatHostPort } from '../config/listen.js';
import { checkRequestHead } from '../engines/node/request-head.js';
import { BalancerError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';
import type { Config } from '../config/load.js';

// The plain-HTTP listener beside an HTTPS one (`"redirectHttp": ":80"`): every request gets a 308
// to the same host and path over HTTPS, as Caddy answers (308 keeps the method and body of a
// POST; browsers treat it as 301 for GET), except ACME HTTP-01 challenges, which are answered
// here, since a CA fetches them over plain HTTP on port 80.

/** Where ACME HTTP-01 challenges are fetched (RFC 8555 §8.3). */
export const CHALLENGE_PREFIX = '/.well-known/acme-challenge/';

/** Answers HTTP-01 challenges: the key authorization of a token, or undefined when unknown. */
export interface ChallengeResponder {
  keyAuthorization(token: string): string | undefined;
}

/** A simple responder: tokens added while an order is pending, removed once it is done. */
export class ChallengeTokens implements ChallengeResponder {
  private readonly tokens = new Map<string, string>();
  /** Serves `keyAuthorization` for `token` from now on. */
  add(token: string, keyAuthorization: string): void {
    this.tokens.set(token, keyAuthorization);
  }
  /** Stops serving `token`. */
  remove(token: string): void {
    this.tokens.delete(token);
  }
  /** The key authorization of `token`, if it is being served. */
  keyAuthorization(token: string): string | undefined {
    return this.tokens.get(token);
  }
}

/** The main listener's limits the redirect listener shares (heads, idle time, connections). */
export interface RedirectLimits {
  /** Deadline for a request head (timeouts.requestHead). */
  readonly requestHeadMs: number;
  /** Longest silence on a connection (timeouts.idle). */
  readonly idleMs: number;
  /** Header lines per request (limits.maxHeaders). */
  readonly maxHeaders: number;
  /** Client connections (limits.maxConnections). */
  readonly maxConnections: number;
}

/** The redirect listener's limits from a config: the main listener's. */
export function redirectLimits(config: Config): RedirectLimits {
  return { requestHeadMs: config.timeouts.requestHeadMs, idleMs: config.timeouts.idleMs, maxHeaders: config.limits.maxHeaders, maxConnections: config.limits.maxConnections };
}

/** What startRedirectListener needs. */
export interface RedirectListenerOptions {
  /** Listen address as in config, e.g. ":80", "127.0.0.1:0". */
  readonly addr: string;
  /** Port of the HTTPS listener redirected to (left out of the URL when 443). */
  readonly httpsPort: number;
  readonly log: Logger;
  readonly limits: RedirectLimits;
  /** ACME HTTP-01 responder (default: none, every challenge is 404). */
  readonly challenges?: ChallengeResponder;
}

/** A running redirect listener. */
export interface RedirectListener {
  /** The bound address. */
  readonly address: AddressInfo;
  /** "http://host:port" of the listener. */
  url(): string;
  /** Puts new limits in force for new connections and requests (reload). */
  setLimits(limits: RedirectLimits): void;
  /** Changes the HTTPS port redirects name. */
  setHttpsPort(port: number): void;
  /** Serves HTTP-01 challenges from `c` (the ACME client sets it). */
  setChallenges(c: ChallengeResponder | undefined): void;
  /** Stops listening and closes idle connections; resolves once every connection is gone. */
  close(): Promise<void>;
}

// A host a redirect may name: a DNS name (letters, digits, "-", "_", dots), an IPv4 address or
// an IPv6 literal in brackets, then an optional port that is dropped. Anything else ("%", "@",
// "\", spaces) is refused rather than echoed into a Location header.
const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?\.?)(?::([0-9]{0,5}))?$/;
const TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

/** The host to redirect to from a Host value ("example.com:80" gives "example.com"), or undefined when it is not a valid host[:port]. */
export function redirectHost(host: string | undefined): string | undefined {
  if (host === undefined) return undefined;
  const m = HOST_PORT.exec(host);
  if (!m) return undefined;
  const name = m[1] as string;
  if (m[2] !== undefined && m[2] !== '' && Number(m[2]) > 65535) return undefined;
  if (name.startsWith('[')) return isIP(name.slice(1, -1)) === 6 ? name.toLowerCase() : undefined;
  // "1.2.3" or "999.1.1.1" are neither names nor addresses.
  if (/^[0-9.]+$/.test(name) && isIP(name) !== 4) return undefined;
  return name.toLowerCase();
}

/** An answer of the redirect listener. */
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const text = (status: number, body: string, extra: Record<string, string> = {}): Answer => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
  body,
});

/** Decides the answer to one request head: a challenge, a redirect, or a 4xx. */
export function redirectAnswer(req: IncomingMessage, httpsPort: number, maxHeaders: number, challenges: ChallengeResponder | undefined): Answer {
  const refusal = checkRequestHead(req, maxHeaders);
  if (refusal !== undefined) return text(refusal.status, `${refusal.status} ${STATUS_CODES[refusal.status]}: ${refusal.detail}\n`, { connection: 'close' });
  let target = req.url ?? '';
  let hostValue = req.headers.host;
  // Absolute-form: its authority is the host (RFC 9112 §3.2.2), its path and query are kept.
  const abs = /^http:\/\/([^/?#]*)([^#]*)$/i.exec(target);
  if (abs) {
    hostValue = abs[1];
    target = abs[2] === '' ? '/' : (abs[2] as string).startsWith('/') ? (abs[2] as string) : `/${abs[2]}`;
  }
  if (!target.startsWith('/')) return text(400, '400 Bad Request: the request target is not a path\n', { connection: 'close' });
  const method = req.method ?? 'GET';
  if (target.startsWith(CHALLENGE_PREFIX) && (method === 'GET' || method === 'HEAD')) {
    const token = target.slice(CHALLENGE_PREFIX.length);
    const keyAuth = TOKEN.test(token) ? challenges?.keyAuthorization(token) : undefined;
    if (keyAuth !== undefined) return { status: 200, headers: { 'content-type': 'text/plain', 'cache-control': 'no-store' }, body: keyAuth };
    return text(404, '404 Not Found: no such ACME challenge token\n');
  }
  const host = redirectHost(hostValue);
  if (host === undefined || host === '') {
    return text(400, `400 Bad Request: ${hostValue === undefined || hostValue === '' ? 'no Host to redirect to' : 'Host is not a valid host[:port]'}\n`, { connection: 'close' });
  }
  const location = `https://${host}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}`;
  return { status: 308, headers: { location, 'content-length': '0' }, body: '' };
}

/** Writes an answer on a raw socket (upgrade requests) and closes it. */
function writeRaw(socket: Duplex, a: Answer): void {
  let head = `HTTP/1.1 ${a.status} ${STATUS_CODES[a.status] ?? ''}\r\n`;
  for (const [k, v] of Object.entries(a.headers)) if (k !== 'content-length' && k !== 'connection') head += `${k}: ${v}\r\n`;
  socket.end(`${head}content-length: ${Buffer.byteLength(a.body)}\r\nconnection: close\r\n\r\n${a.body}`);
}

/**
 * Starts the redirect listener on `opts.addr`. Rejects with E_LISTEN when the address cannot be
 * bound. The head limits are the main listener's: requestHead deadline (408), header lines (431).
 */
export async function startRedirectListener(opts: RedirectListenerOptions): Promise<RedirectListener> {
  const listen = parseListenAddress(opts.addr);
  if (typeof listen === 'string') throw new BalancerError('E_LISTEN', `redirectHttp "${opts.addr}" ${listen}`);
  let limits = opts.limits;
  let httpsPort = opts.httpsPort;
  let challenges = opts.challenges;
  const log = opts.log;
  const headMs = limits.requestHeadMs;
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const a = redirectAnswer(req, httpsPort, limits.maxHeaders, challenges);
    if (a.status === 200) log.info({ path: req.url, client: req.socket.remoteAddress }, `ACME challenge ${req.url} answered`);
    else if (a.status >= 400 && a.status !== 404) log.debug({ status: a.status, client: req.socket.remoteAddress, host: req.headers.host }, `redirect listener: ${a.body.trim()}`);
    // Bodies of requests are not read: the connection closes after the answer if one was sent.
    const hasBody = req.headers['content-length'] !== undefined && req.headers['content-length'] !== '0';
    const close = a.headers.connection === 'close' || hasBody || req.headers['transfer-encoding'] !== undefined;
    res.writeHead(a.status, { ...a.headers, 'content-length': String(Buffer.byteLength(a.body)), ...(close ? { connection: 'close' } : {}) });
    res.end(req.method === 'HEAD' ? undefined : a.body);
    if (close) res.once('finish', () => req.socket.destroySoon());
  };
  const server: Server = createServer(
    {
      keepAliveTimeout: 5000,
      requestTimeout: 0,
      headersTimeout: headMs,
      connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(headMs / 4))),
    },
    onRequest,
  );
  const applyLimits = (l: RedirectLimits): void => {
    server.headersTimeout = l.requestHeadMs;
    server.maxHeadersCount = l.maxHeaders + 1;
    server.maxConnections = l.maxConnections;
    server.timeout = l.idleMs;
  };
  applyLimits(limits);
  server.on('timeout', (socket: Socket) => socket.destroy());
  server.on('upgrade', (req: IncomingMessage, socket: Duplex) => writeRaw(socket, redirectAnswer(req, httpsPort, limits.maxHeaders, challenges)));
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => writeRaw(socket, text(405, '405 Method Not Allowed: no tunnels here\n')));
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || (socket as Socket).bytesRead === 0) {
      socket.destroy();
      return;
    }
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    writeRaw(socket, text(status, `${status} ${STATUS_CODES[status]}\n`));
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void =>
      reject(new BalancerError('E_LISTEN', `cannot listen on redirectHttp ${opts.addr}: ${e.code === 'EADDRINUSE' ? 'address in use' : e.code === 'EACCES' ? 'permission denied (ports below 1024 need privileges)' : e.message}`));
    server.once('error', onError);
    server.listen(listen.port, listen.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = formatHostPort(listen.host ?? address.address, address.port);
  log.info({ redirectHttp: `http://${shown}`, httpsPort }, `redirect listener on ${opts.addr} (${shown}): plain HTTP gets 308 to https port ${httpsPort}; ACME HTTP-01 challenges answered here`);
  return {
    address,
    url: () => `http://${formatHostPort(listen.host === undefined || listen.host === '0.0.0.0' ? '127.0.0.1' : listen.host === '::' ? '::1' : listen.host, address.port)}`,
    setLimits: (l) => {
      limits = l;
      applyLimits(l);
    },
    setHttpsPort: (p) => void (httpsPort = p),
    setChallenges: (c) => void (challenges = c),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
