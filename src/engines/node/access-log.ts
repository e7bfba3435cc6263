import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { AccessLogConfig } from '../../config/access-log.js';
import { ConfigError } from '../../config/load.js';
import { countOf, lastSeconds } from '../../util/log-throttle.js';
import { DEFAULT_MAX_PENDING_CHARS, LineWriter } from '../../util/line-writer.js';
import type { Logger } from '../../util/logger.js';
import { ClientAddressResolver, peerAddress } from './client-address.js';
import type { Exchange } from './exchange.js';

// On standard output, drops are reported once the reader has taken the backlog (less than this waits).
const CAUGHT_UP_CHARS = 64 * 1024;

/** Status logged when the client closed its connection before the response began (nginx's 499). */
export const CLIENT_CLOSED = 499;
/** Status logged when the balancer closed the connection without an answer (its shutdown cut it). */
export const NO_RESPONSE = 0;

/** What the access log reads of one request when it ends. */
export interface EndedRequest {
  readonly socket: Socket;
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** performance.now() when the balancer began the request. */
  readonly startedAt: number;
  /** The proxied exchange; undefined when the balancer answered without trying a server. */
  readonly exchange: Exchange | undefined;
  /** Status the balancer answered with on the raw socket (no ServerResponse), or 0. */
  readonly answeredOnSocket: number;
}

const OPEN_PROBLEMS: Record<string, string> = {
  ENOENT: 'its directory does not exist',
  EACCES: 'permission denied',
  EISDIR: 'it is a directory',
  ENOTDIR: 'a part of the path is not a directory',
  EROFS: 'the file system is read-only',
};

/** "cannot be opened for appending: permission denied (EACCES)". */
export function openProblem(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code ?? String(err);
  return `cannot be opened for appending: ${OPEN_PROBLEMS[code] ?? 'failed'} (${code})`;
}

// Characters nginx escapes in quoted log fields (escape=default): '"', '\' and all but printable ASCII.
const UNSAFE = /[^\x20\x21\x23-\x5b\x5d-\x7e]/;
const UNSAFE_ALL = /[^\x20\x21\x23-\x5b\x5d-\x7e]/g;
const hexByte = (b: number): string => `\\x${b.toString(16).toUpperCase().padStart(2, '0')}`;

/** A field as nginx writes it inside quotes: `"`, `\` and bytes outside printable ASCII as \xHH. */
export function escapeField(s: string): string {
  if (!UNSAFE.test(s)) return s;
  return s.replace(UNSAFE_ALL, (c) => {
    const code = c.charCodeAt(0);
    // node:http reads header bytes as latin1 (one char per byte); other text goes out as its UTF-8 bytes.
    return code <= 0xff ? hexByte(code) : [...Buffer.from(c)].map(hexByte).join('');
  });
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** nginx's $time_local: "25/Nov/2026:18:09:15 +0000" (local time and its offset). */
export function timeLocal(d: Date): string {
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  const zone = `${off < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}${two(abs % 60)}`;
  return `${two(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())} ${zone}`;
}

/** One request as its access log fields. */
export interface AccessEntry {
  /** End of the request (ms since the epoch). */
  readonly time: number;
  /** The client: the socket peer, or the address a trusted proxy forwarded for. */
  readonly client: string;
  /** The socket peer. */
  readonly peer: string;
  readonly method: string;
  /** The request target as received. */
  readonly path: string;
  readonly protocol: string;
  readonly status: number;
  /** Response body bytes written to the client. */
  readonly bytes: number;
  readonly durationMs: number;
  /** The server's name; "-" when no server was tried. */
  readonly server: string;
  readonly attempts: number;
  readonly referer: string | undefined;
  readonly userAgent: string | undefined;
}

/** The fields of a request that just ended; `resolver` finds the client behind trusted proxies. */
export function accessEntry(r: EndedRequest, resolver: ClientAddressResolver, now: number): AccessEntry {
  const { req, res, exchange: x } = r;
  // The balancer answered on the raw socket (408 too slow, 400 bad body); else the response's
  // status; else no response began: the client left first (499), unless the exchange ended first,
  // which only our own cut (shutdown grace period over) does without answering.
  // An answer on the raw socket wins: a server's response arriving after it never reached the client.
  const status = r.answeredOnSocket !== 0
    ? r.answeredOnSocket
    : res.headersSent
      ? res.statusCode
      : x?.done === true
        ? NO_RESPONSE
        : CLIENT_CLOSED;
  let bytes = 0;
  if (res.headersSent && r.answeredOnSocket === 0 && req.method !== 'HEAD') {
    if (x !== undefined && x.status !== 0) bytes = x.bodyBytes;
    // The balancer's own answers (errors) always carry their length.
    else if (res.writableFinished) bytes = Number(res.getHeader('content-length') ?? 0);
  }
  const peer = peerAddress(r.socket) || '-';
  const client = resolver.trusts(peer) ? resolver.forwardedClient(req, peer) : peer;
  const ua = req.headers['user-agent'];
  return {
    time: Date.now(),
    client,
    peer,
    method: req.method ?? '-',
    path: req.url ?? '-',
    protocol: `HTTP/${req.httpVersion}`,
    status,
    bytes,
    durationMs: Math.round((now - r.startedAt) * 1000) / 1000,
    server: x === undefined ? '-' : x.upstream.name,
    attempts: x?.attempts ?? 0,
    referer: req.headers.referer,
    userAgent: ua,
  };
}

/** One JSON object per line. */
export function jsonLine(e: AccessEntry): string {
  return `${JSON.stringify({
    time: new Date(e.time).toISOString(),
    client: e.client,
    peer: e.peer,
    method: e.method,
    path: e.path,
    protocol: e.protocol,
    status: e.status,
    bytes: e.bytes,
    durationMs: e.durationMs,
    server: e.server,
    attempts: e.attempts,
    referer: e.referer,
    userAgent: e.userAgent,
  })}\n`;
}

// $time_local changes once a second: formatted once per second, not per line.
let stampSecond = -1;
let stamp = '';

/**
 * nginx's combined format plus three fields:
 * `client - - [time] "METHOD path HTTP/1.1" status bytes "referer" "user-agent" 1.234ms "server" attempts`.
 */
export function combinedLine(e: AccessEntry): string {
  const second = Math.floor(e.time / 1000);
  if (second !== stampSecond) {
    stampSecond = second;
    stamp = timeLocal(new Date(e.time));
  }
  return (
    `${e.client} - - [${stamp}] "${escapeField(e.method)} ${escapeField(e.path)} ${e.protocol}" ${e.status} ${e.bytes} ` +
    `"${escapeField(e.referer ?? '-')}" "${escapeField(e.userAgent ?? '-')}" ${e.durationMs.toFixed(3)}ms "${escapeField(e.server)}" ${e.attempts}\n`
  );
}

/**
 * The access log: one line per request, written by a LineWriter (never blocking the proxy; a
 * stalled reader drops lines), drops reported through the app log at most once a second.
 */
export class AccessLog {
  private readonly writer: LineWriter;
  private readonly format: (e: AccessEntry) => string;
  private resolver: ClientAddressResolver;
  private reportTimer: NodeJS.Timeout | undefined;
  private reportedAt = performance.now();
  private writesAtDrop = 0;

  /**
   * Opens the log of `config`; a path that cannot be opened throws a ConfigError naming
   * `configFile` and the field (exit 2 at start; a reload keeps the old log).
   */
  constructor(
    readonly config: AccessLogConfig,
    trustedProxies: readonly string[],
    private readonly log: Logger,
    configFile: string,
  ) {
    try {
      this.writer = new LineWriter(config.path);
    } catch (e) {
      throw new ConfigError('E_CONFIG_INVALID', [`${configFile}: accessLog.path: "${config.path}" ${openProblem(e)}`]);
    }
    this.format = config.format === 'json' ? jsonLine : combinedLine;
    this.resolver = new ClientAddressResolver(trustedProxies);
  }

  /** Follows a reload's trusted proxies. */
  trust(trustedProxies: readonly string[]): void {
    this.resolver = new ClientAddressResolver(trustedProxies);
  }

  /** Logs one request that just ended. */
  record(r: EndedRequest): void {
    this.recordEntry(accessEntry(r, this.resolver, performance.now()));
  }

  /** The client behind trusted proxy or peer `peer` (the fast engine builds its own entries). */
  clientOf(peer: string, xff: string | undefined): string {
    return this.resolver.trusts(peer) ? this.resolver.forwardedFor(xff, peer) : peer;
  }

  /** Logs one request that just ended, from its fields (engines without node:http objects). */
  recordEntry(e: AccessEntry): void {
    const before = this.writer.waiting;
    this.writer.write(this.format(e));
    if (this.writer.waiting === before && this.reportTimer === undefined) this.scheduleReport();
  }

  // A line was dropped: say so within a second. On standard output (the app log's pipe too) the
  // report waits for the reader to take the backlog, or it would be lost in the same full pipe.
  private scheduleReport(): void {
    this.writesAtDrop = this.writer.writes;
    this.reportTimer = setTimeout(this.report, Math.max(0, this.reportedAt + 1000 - performance.now()));
    this.reportTimer.unref();
  }

  private readonly report = (): void => {
    this.reportTimer = undefined;
    if (this.config.path === '-' && (this.writer.writes === this.writesAtDrop || this.writer.waiting > CAUGHT_UP_CHARS)) {
      this.reportTimer = setTimeout(this.report, 100);
      this.reportTimer.unref();
      return;
    }
    this.flushReport();
  };

  private flushReport(): void {
    const now = performance.now();
    const { count, error } = this.writer.takeDropped();
    const ms = now - this.reportedAt;
    this.reportedAt = now;
    if (count === 0) return;
    const why =
      error !== undefined
        ? `writing to ${this.where()} failed (${error})`
        : `${this.where()} is not keeping up: ${DEFAULT_MAX_PENDING_CHARS / 1024 / 1024} MiB of lines wait to be written`;
    this.log.warn({ accessLogDropped: count, path: this.config.path, error }, `access log: ${countOf(count, 'line')} dropped ${lastSeconds(ms)} (${why})`);
  }

  private where(): string {
    return this.config.path === '-' ? 'the reader of standard output' : this.config.path;
  }

  /** Opens the file again (logrotate renamed it; SIGUSR1). Resolves with a problem phrase, or undefined when done. */
  async reopen(): Promise<string | undefined> {
    const err = await this.writer.reopen();
    return err === undefined ? undefined : openProblem(err);
  }

  /** Writes what is queued (for up to a second), reports drops, closes the file. */
  async close(): Promise<void> {
    await this.writer.close();
    clearTimeout(this.reportTimer);
    this.reportTimer = undefined;
    this.flushReport();
  }
}
