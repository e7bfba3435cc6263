// The admin listener: a small JSON API over node:http, off unless configured. It reads and calls
// the control plane through AdminControl only; who may call it is decided by guard.ts.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatHostPort, parseListenAddress } from '../config/listen.js';
import { BalancerError, type AdminErrorCode } from '../util/errors.js';
import { countOf, lastSeconds, LogThrottle } from '../util/log-throttle.js';
import type { LogSink } from '../util/logger.js';
import type { AdminControl, ServerAction, ServerView } from './control.js';
import { isDashboardPath, sendDashboard } from './dashboard/assets.js';
import { createGuard, type Refusal } from './guard.js';
import { EventStreams, MAX_STREAMS, type EventFeed } from './events.js';

/** Largest request body the admin API reads; the biggest real one is `{"weight": 2}`. */
export const MAX_BODY_BYTES = 64 * 1024;
/** Time for a client to send its request head. */
const HEADERS_TIMEOUT_MS = 5_000;
/** Time for a whole request (head and body). */
const REQUEST_TIMEOUT_MS = 10_000;
/** Idle keep-alive connections are closed after this. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/** Connections held at once; an operator's CLI and a dashboard need a handful. */
const MAX_CONNECTIONS = 64;
/** Largest request head. */
const MAX_HEADER_BYTES = 16 * 1024;
/** How long close() lets running requests (a reload) finish before cutting them. */
const CLOSE_GRACE_MS = 2_000;

/** Options of `startAdminServer`. */
export interface AdminServerOptions {
  /** Listen address as in the config: "127.0.0.1:9901" (port 0: any free port). */
  readonly addr: string;
  /** Bearer token; undefined makes the API read-only. */
  readonly token: string | undefined;
  readonly control: AdminControl;
  readonly log: LogSink;
  /** What GET /api/events streams; without it that endpoint is 404. */
  readonly events?: EventFeed;
  /** Deadlines in ms (defaults: head 5 s, whole request 10 s); tests shorten them. */
  readonly timeouts?: { readonly headersMs?: number; readonly requestMs?: number };
  /** Served at GET /metrics (Prometheus text format), under the same guard as /api/; absent: 404. */
  readonly metrics?: { readonly contentType: string; metrics(): Promise<string> } | undefined;
  /** The worker processes (`"workers"` > 1), shown by GET /api/servers; absent with one process. */
  readonly workers?: (() => readonly unknown[]) | undefined;
}

/** A running admin listener. */
export interface AdminServer {
  /** Base URL to reach it, e.g. "http://127.0.0.1:9901" (loopback when bound to every interface). */
  readonly url: string;
  /** Takes a new token (a reload rotated it) for every request from now on; undefined makes the API read-only. */
  setToken(token: string | undefined): void;
  /** Stops listening; running requests get a short grace, idle connections close at once. */
  close(): Promise<void>;
}

/** An error answer: `{error: {code, message, ...details}}`. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: AdminErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

const ACTIONS: readonly ServerAction[] = ['drain', 'disable', 'enable'];

function send(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = `${JSON.stringify(body, null, 2)}\n`;
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

function sendError(res: ServerResponse, e: ApiError): void {
  send(res, e.status, { error: { code: e.code, message: e.message, ...e.details } }, e.headers);
}

function methodNotAllowed(method: string, allow: string): ApiError {
  return new ApiError(405, 'E_ADMIN_METHOD', `${method} is not allowed here (allowed: ${allow})`, {}, { allow });
}

/** Reads a JSON body of at most MAX_BODY_BYTES; an empty body is undefined. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) throw new ApiError(413, 'E_ADMIN_TOO_LARGE', `the body is ${declared} bytes; the admin API takes at most ${MAX_BODY_BYTES}`);
  // Not `for await`: leaving it early destroys the request and its socket, and the 413 could not be sent.
  const text = await new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off('data', onData);
        // The rest is not read; the answer closes the connection.
        req.pause();
        reject(new ApiError(413, 'E_ADMIN_TOO_LARGE', `the body is over ${MAX_BODY_BYTES} bytes, the most the admin API takes`));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.once('error', reject);
  });
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', `the body is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

/** The weight of a `PUT .../weight` body, or a 400 naming the field. */
export function parseWeightBody(body: unknown): number {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', 'the body must be a JSON object like {"weight": 2}');
  }
  const extra = Object.keys(body).filter((k) => k !== 'weight');
  if (extra.length > 0) throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', `unknown field ${JSON.stringify(extra[0])}; the body is {"weight": N}`, { field: extra[0] });
  const w = (body as { weight?: unknown }).weight;
  if (w === undefined) throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', 'weight: is required (a positive number, e.g. {"weight": 2})', { field: 'weight' });
  if (typeof w !== 'number' || !Number.isFinite(w) || w <= 0) {
    throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', `weight: ${JSON.stringify(w)} is not a positive number (fractions allowed, e.g. 2 or 0.5)`, { field: 'weight' });
  }
  return w;
}

function unknownServer(control: AdminControl, name: string): ApiError {
  const known = control.servers().map((s) => s.name);
  const list = known.length > 0 ? known.join(', ') : 'none';
  return new ApiError(404, 'E_ADMIN_UNKNOWN_SERVER', `no server named ${JSON.stringify(name)} (known: ${list})`, { known });
}

function decodeName(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new ApiError(400, 'E_ADMIN_BAD_REQUEST', `the server name ${JSON.stringify(segment)} is not valid URL encoding`);
  }
}

/** Routes one request that passed the guard (or needs none). */
async function route(req: IncomingMessage, res: ServerResponse, path: string, control: AdminControl, streams?: EventStreams, workers?: () => readonly unknown[]): Promise<void> {
  const method = req.method ?? 'GET';
  const read = method === 'GET' || method === 'HEAD';

  if (path === '/api/events' && streams !== undefined) {
    if (method !== 'GET') throw methodNotAllowed(method, 'GET');
    if (streams.full) throw new ApiError(503, 'E_ADMIN_BUSY', `${MAX_STREAMS} event streams are open already, the most the admin API serves`);
    streams.add(req, res);
    return;
  }

  if (path === '/api/servers') {
    if (!read) throw methodNotAllowed(method, 'GET, HEAD');
    send(res, 200, { servers: control.servers(), sources: control.sources(), ...(workers !== undefined ? { workers: workers() } : {}) });
    return;
  }
  if (path === '/api/config') {
    if (!read) throw methodNotAllowed(method, 'GET, HEAD');
    send(res, 200, control.redactedConfig());
    return;
  }
  if (path === '/api/reload') {
    if (method !== 'POST') throw methodNotAllowed(method, 'POST');
    await readJson(req); // no body is needed; one is read (and capped) so the connection stays usable
    const outcome = await control.reload();
    if (outcome.ok) send(res, 200, { changes: outcome.changes, kept: outcome.kept });
    else {
      throw new ApiError(400, 'E_ADMIN_RELOAD_INVALID', `the config has ${countOf(outcome.problems.length, 'problem')}; the old config still serves`, {
        problems: outcome.problems,
      });
    }
    return;
  }
  const m = /^\/api\/servers\/([^/]+)(?:\/([^/]+))?$/.exec(path);
  if (m !== null && m[1] !== undefined) {
    const name = decodeName(m[1]);
    const op = m[2];
    let view: ServerView | undefined;
    if (op === undefined) {
      if (!read) throw methodNotAllowed(method, 'GET, HEAD');
      view = control.servers().find((s) => s.name === name);
    } else if ((ACTIONS as readonly string[]).includes(op)) {
      if (method !== 'POST') throw methodNotAllowed(method, 'POST');
      await readJson(req);
      view = control.act(name, op as ServerAction);
    } else if (op === 'weight') {
      if (method !== 'PUT') throw methodNotAllowed(method, 'PUT');
      const weight = parseWeightBody(await readJson(req));
      view = control.setWeight(name, weight);
    } else {
      throw new ApiError(404, 'E_ADMIN_NOT_FOUND', `no endpoint ${path} (server operations: drain, disable, enable, weight)`);
    }
    if (view === undefined) throw unknownServer(control, name);
    send(res, 200, view);
    return;
  }
  throw new ApiError(404, 'E_ADMIN_NOT_FOUND', `no endpoint ${path} (see GET /api/servers, /api/config, POST /api/reload)`);
}

/** Starts the admin listener; rejects with E_LISTEN when the address cannot be bound. */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const listen = parseListenAddress(opts.addr);
  if (typeof listen === 'string') throw new BalancerError('E_LISTEN', `admin address ${JSON.stringify(opts.addr)} ${listen}`);
  const { control, log } = opts;
  const throttle = new LogThrottle(undefined, 10_000);
  let guard = createGuard({ token: opts.token, host: listen.host, port: listen.port });
  const headersMs = opts.timeouts?.headersMs ?? HEADERS_TIMEOUT_MS;
  const streams = opts.events === undefined ? undefined : new EventStreams(opts.events, log);

  const refuse = (req: IncomingMessage, res: ServerResponse, r: Refusal | ApiError, path: string, remote: string): void => {
    const fields = { code: r.code, remote, method: req.method, path, reason: r.message };
    // One line per cause and client per 10 s: a script hammering a wrong token must not flood the log.
    throttle.note(
      `${r.code} ${remote}`,
      () => log.warn(fields, `admin API refused ${req.method} ${path} from ${remote}: ${r.message}`),
      (count, windowMs) => log.warn({ ...fields, count }, `admin API refused ${countOf(count, 'more request')} from ${remote} (${r.code}) ${lastSeconds(windowMs)}`),
    );
    if (r instanceof ApiError) sendError(res, r);
    else sendError(res, new ApiError(r.status, r.code, r.message, {}, r.headers ?? {}));
  };

  const server = createServer(
    {
      headersTimeout: headersMs,
      requestTimeout: Math.max(headersMs, opts.timeouts?.requestMs ?? REQUEST_TIMEOUT_MS),
      // Node checks these deadlines on this interval (30 s by default, far beyond them).
      connectionsCheckingInterval: Math.min(1000, headersMs),
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      maxHeaderSize: MAX_HEADER_BYTES,
    },
    (req, res) => {
      const url = req.url ?? '/';
      const q = url.indexOf('?');
      const path = q === -1 ? url : url.slice(0, q);
      const method = req.method ?? 'GET';
      // Read now: the socket is detached from the request once the answer is sent.
      const remote = req.socket.remoteAddress ?? 'unknown';
      // Probes for containers and Kubernetes: no auth, nothing to leak.
      if (path === '/healthz' || path === '/readyz') {
        if (method !== 'GET' && method !== 'HEAD') return sendError(res, methodNotAllowed(method, 'GET, HEAD'));
        if (path === '/healthz') return send(res, 200, { status: 'ok' });
        const ready = control.ready();
        return send(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not ready' });
      }
      if (path === '/metrics' && opts.metrics !== undefined) {
        // Same rule as /api/ (token when set, Host, Origin): Prometheus sends the token as a bearer credential.
        req.resume();
        const denied = guard({ method, headers: req.headers });
        if (denied !== undefined) {
          res.setHeader('connection', 'close');
          return refuse(req, res, denied, path, remote);
        }
        if (method !== 'GET' && method !== 'HEAD') return sendError(res, methodNotAllowed(method, 'GET, HEAD'));
        const registry = opts.metrics;
        registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
            res.end(method === 'HEAD' ? undefined : text);
          },
          (e: unknown) => sendError(res, new ApiError(500, 'E_ADMIN_INTERNAL', `metrics failed: ${String(e)}`)),
        );
        return;
      }
      if (isDashboardPath(path)) {
        req.resume();
        if (method !== 'GET' && method !== 'HEAD') return sendError(res, methodNotAllowed(method, 'GET, HEAD'));
        // The page holds no data (its API calls carry the token), so only a missing token is let
        // through; the Host, Origin and Sec-Fetch-Site checks apply as to the API.
        const refused = guard({ method, headers: req.headers });
        if (refused !== undefined && refused.code !== 'E_ADMIN_UNAUTHORIZED') return refuse(req, res, refused, path, remote);
        return sendDashboard(res, path, method === 'HEAD');
      }
      if (!path.startsWith('/api/')) {
        req.resume();
        return sendError(res, new ApiError(404, 'E_ADMIN_NOT_FOUND', `no endpoint ${path} (the admin API is under /api/; the dashboard is at /; probes: /healthz, /readyz)`));
      }
      const refusal = guard({ method, headers: req.headers });
      if (refusal !== undefined) {
        // The body of a refused request is not read; close so it is not taken for the next request.
        res.setHeader('connection', 'close');
        return refuse(req, res, refusal, path, remote);
      }
      route(req, res, path, control, streams, opts.workers).catch((e: unknown) => {
        if (res.headersSent) {
          res.destroy();
          return;
        }
        if (e instanceof ApiError) {
          if (e.status === 413) res.setHeader('connection', 'close');
          if (e.status === 401 || e.status === 403 || e.status === 413) return refuse(req, res, e, path, remote);
          return sendError(res, e);
        }
        log.error({ err: e instanceof Error ? e.message : String(e), method, path }, `admin API ${method} ${path} failed`);
        sendError(res, new ApiError(500, 'E_ADMIN_INTERNAL', `${method} ${path} failed: ${e instanceof Error ? e.message : String(e)}`));
      });
    },
  );
  server.maxConnections = MAX_CONNECTIONS;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // Malformed heads, oversized headers and timeouts: answer if the socket still can, then close.
    const status =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : err.code === 'HPE_HEADER_OVERFLOW' ? '431 Request Header Fields Too Large' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException): void => {
      const why = e.code === 'EADDRINUSE' ? 'the port is taken (EADDRINUSE)' : e.code === 'EACCES' ? 'permission denied (EACCES)' : (e.code ?? e.message);
      reject(new BalancerError('E_LISTEN', `cannot listen for the admin API on ${opts.addr}: ${why}`));
    };
    server.once('error', onError);
    server.listen({ host: listen.host, port: listen.port }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const bound = (server.address() as AddressInfo).port;
  // Port 0 binds a free port; Host and Origin must name the port actually bound.
  guard = createGuard({ token: opts.token, host: listen.host, port: bound });
  const wildcard = listen.host === undefined || listen.host === '0.0.0.0' || listen.host === '::';
  const url = `http://${formatHostPort(wildcard ? '127.0.0.1' : listen.host ?? '127.0.0.1', bound)}`;
  // Not "listening on" with an `addr` field: that line is the proxy's, which scripts and tests read.
  log.info(
    { admin: url, readOnly: opts.token === undefined },
    `admin API at ${url}${opts.token === undefined ? ' (read-only: no token)' : ''}`,
  );

  let closing: Promise<void> | undefined;
  let token = opts.token;
  return {
    url,
    setToken: (next) => {
      if (next === token) return;
      const was = token === undefined ? 'read-only' : 'token';
      token = next;
      guard = createGuard({ token, host: listen.host, port: bound });
      log.info({ admin: url, readOnly: token === undefined }, `admin API: new token in force${token === undefined ? ' (now read-only: no token)' : was === 'read-only' ? ' (writes now allowed)' : ''}`);
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        streams?.close();
        server.close(() => resolve());
        server.closeIdleConnections();
        const t = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
        t.unref();
        throttle.flush();
      });
      return closing;
    },
  };
}
