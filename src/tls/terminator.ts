import { Server as HttpServer, type IncomingMessage, type ServerOptions, type ServerResponse } from 'node:http';
import { constants as h2, createSecureServer, type Http2SecureServer, type SecureServerOptions, type ServerHttp2Session, type ServerHttp2Stream } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import type { TlsSettings } from '../config/tls.js';
import type { LogSink } from '../util/logger.js';
import { LogThrottle, ThrottledLog } from '../util/log-throttle.js';
import type { CertificateInfo, CertificateSet } from './certificates.js';

// Header lines beyond limits.maxHeaders node's HTTP/2 layer lets through, so that our own check
// (request-head.ts) answers 431 as it does for HTTP/1.1: the four pseudo-headers and some slack.
const PSEUDO_HEADER_SLACK = 8;
// Time a GOAWAY is given to reach the client before its connection is closed.
const GOAWAY_FLUSH_MS = 100;

// The per-session state the guards keep.
interface SessionState {
  /** Streams open on the session. */
  open: number;
  /** Streams the client cancelled in the current one-second window, and when that window began. */
  resets: number;
  windowStart: number;
}

/**
 * HTTPS on the listener: the certificates in force (the config's, plus any added at run time
 * such as ACME's), chosen by SNI for each handshake, and the HTTP/2 + HTTP/1.1 listener that
 * uses them. A new set swaps in for new handshakes; connections already open keep theirs.
 */
export class TlsTerminator {
  private settings: TlsSettings;
  private extra: CertificateSet | undefined;
  private current: CertificateSet;
  private server: Http2SecureServer | undefined;
  private readonly sessions = new Map<ServerHttp2Session, SessionState>();
  // Scanners and old clients fail handshakes all day: info, at most a line a second (nginx logs them at info).
  private readonly handshakeFailures = new LogThrottle();
  private readonly calmed = new ThrottledLog();
  /** Sessions closed for cancelling too many streams (rapid reset), since start. */
  resetFloods = 0;
  private readonly swapListeners: ((set: CertificateSet) => void)[] = [];

  /** Takes the config's TLS settings (certificates already read and checked). */
  constructor(
    settings: TlsSettings,
    private readonly log: LogSink,
  ) {
    this.settings = settings;
    this.current = settings.certificates;
  }

  /** The certificates in force: the config's first (the default among them), then the extra ones. */
  get certificates(): CertificateSet {
    return this.current;
  }

  /** What each certificate in force is (the admin API, metrics). */
  list(): CertificateInfo[] {
    return this.current.list();
  }

  /** Calls `fn` with the new set whenever the certificates in force change (metrics, ACME). */
  onSwap(fn: (set: CertificateSet) => void): void {
    this.swapListeners.push(fn);
  }

  /**
   * Adds certificates obtained at run time (ACME) to the config's, or removes them (undefined).
   * They serve the names the config's certificates do not; the config's first certificate stays
   * the default (the extra set's first when the config has none). Build `extra` with
   * `CertificateSet.fromPem(pairs, terminator.contextOptions)`.
   */
  setExtra(extra: CertificateSet | undefined): void {
    this.extra = extra;
    this.swap();
  }

  /** The options certificate sets for this listener must be built with. */
  get contextOptions(): { readonly minVersion: TlsSettings['minVersion']; readonly ciphers: string } {
    return { minVersion: this.settings.minVersion, ciphers: this.settings.ciphers };
  }

  /**
   * A reload's TLS settings: new certificates (already read and checked: a bad one failed the
   * whole reload before this), protocol version, ciphers and HTTP/2 limits, for new connections.
   * Extra certificates built with other options are dropped; their owner adds them again.
   */
  apply(settings: TlsSettings): void {
    const before = this.settings.certificates.list().map((c) => c.fingerprint).join();
    if (settings.certificates.list().map((c) => c.fingerprint).join() !== before) {
      this.log.info({ certificates: settings.certificates.list().map((c) => ({ names: c.names, notAfter: c.notAfter, source: c.source })) }, `TLS certificates reloaded: ${describeSet(settings.certificates)}`);
    }
    const optionsChanged = settings.minVersion !== this.settings.minVersion || settings.ciphers !== this.settings.ciphers;
    this.settings = settings;
    if (optionsChanged && this.extra !== undefined) this.extra = undefined;
    this.server?.updateSettings(this.h2Settings());
    this.swap();
  }

  private swap(): void {
    const base = this.settings.certificates;
    this.current = this.extra === undefined ? base : base.withExtra(this.extra);
    // SNI handshakes read `current`; clients without SNI get the listener's default context.
    if (this.server !== undefined) {
      const pem = this.current.defaultPem();
      this.server.setSecureContext({ ...pem, minVersion: this.settings.minVersion, ciphers: this.settings.ciphers, ticketKeys: this.server.getTicketKeys() });
    }
    for (const fn of this.swapListeners) fn(this.current);
  }

  private h2Settings() {
    const h = this.settings.http2;
    return { maxConcurrentStreams: h.maxConcurrentStreams, maxHeaderListSize: h.maxHeaderListSize, enablePush: false };
  }

  /**
   * The listener: HTTP/2 via ALPN ("h2"), falling back to HTTP/1.1, which node serves with its
   * HTTP/1.1 server code (`http1` options, the same events: request, upgrade, clientError,
   * timeout). Typed as a node:http Server, whose interface the engine uses; closeAllConnections
   * also ends the HTTP/2 sessions. With `onHttp1`, connections that did not choose h2 by ALPN
   * go there once their handshake is done instead (the fast engine serves them).
   */
  createServer(
    http1: ServerOptions,
    maxHeaders: number,
    onRequest: (req: IncomingMessage, res: ServerResponse) => void,
    onHttp1?: (socket: TLSSocket) => void,
  ): HttpServer {
    const h = this.settings.http2;
    const pem = this.current.defaultPem();
    const options: SecureServerOptions = {
      ...(http1 as object),
      allowHTTP1: true,
      ...pem,
      minVersion: this.settings.minVersion,
      ciphers: this.settings.ciphers,
      // A handshake gets the request head's deadline (node's default is 120 s), as nginx's
      // client_header_timeout covers its handshake: half-open handshakes cannot pile up.
      handshakeTimeout: http1.headersTimeout,
      SNICallback: (servername, cb) => cb(null, this.current.contextFor(servername)),
      settings: this.h2Settings(),
      maxSessionMemory: h.maxSessionMemory,
      maxHeaderListPairs: maxHeaders + PSEUDO_HEADER_SLACK,
      // nghttp2's own rapid-reset limit (CVE-2023-44487; node's defaults: burst 1000, 33/s).
      streamResetBurst: h.maxResetsPerSecond * 2,
      streamResetRate: h.maxResetsPerSecond,
    } as SecureServerOptions;
    const server = createSecureServer(options, onRequest as never);
    this.server = server;
    if (onHttp1 !== undefined) {
      // node's HTTP/2 server takes each handshake-complete socket on 'secureConnection': h2 stays
      // with it, the rest (http/1.1 by ALPN, or no ALPN) goes to onHttp1.
      const h2 = server.listeners('secureConnection') as ((socket: TLSSocket) => void)[];
      server.removeAllListeners('secureConnection');
      server.on('secureConnection', (socket: TLSSocket) => {
        if (socket.alpnProtocol === 'h2') for (const l of h2) l.call(server, socket);
        else onHttp1(socket);
      });
    }
    // A failed handshake (old protocol, no shared cipher, a scanner) ends its socket: node's own
    // handler would hand it to the HTTP clientError handler, which would answer in plain text.
    server.removeAllListeners('tlsClientError');
    server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
      const client = socket.remoteAddress; // read before destroy, which forgets it
      socket.destroy();
      if (err.code === 'ECONNRESET') return;
      const reason = err.code ?? err.message;
      this.handshakeFailures.note(
        'handshake',
        () => this.log.info({ client, reason }, `TLS handshake failed: client ${client}: ${reason}`),
        (count, ms) => this.log.info({ reason, count }, `TLS handshake failed: ${count} more in the last ${Math.max(1, Math.round(ms / 1000))} s, last: ${reason}`),
      );
    });
    server.on('session', (session: ServerHttp2Session) => this.watchSession(session));
    const asHttp = server as unknown as HttpServer;
    // node's Http2SecureServer has no closeAllConnections (the engine calls it when the shutdown
    // grace period is over): HTTP/1.1 connections are tracked by node:http's code, sessions by us.
    asHttp.closeAllConnections = () => {
      HttpServer.prototype.closeAllConnections.call(asHttp);
      for (const s of [...this.sessions.keys()]) s.destroy();
    };
    return asHttp;
  }

  private watchSession(session: ServerHttp2Session): void {
    const state: SessionState = { open: 0, resets: 0, windowStart: performance.now() };
    this.sessions.set(session, state);
    session.once('close', () => this.sessions.delete(session));
    session.on('stream', (stream: ServerHttp2Stream) => {
      state.open++;
      stream.once('close', () => {
        state.open--;
        // A stream the client cancelled (RST_STREAM from its side) before it was answered.
        if (stream.rstCode !== h2.NGHTTP2_NO_ERROR && !stream.headersSent) this.countReset(session, state);
      });
    });
  }

  // Rapid reset: each cancelled stream may already have cost a request upstream. More than
  // http2.maxResetsPerSecond in a second ends the session (GOAWAY ENHANCE_YOUR_CALM), as nginx
  // and HAProxy do; nghttp2's own limit (set the same) covers the frames, this the requests.
  private countReset(session: ServerHttp2Session, state: SessionState): void {
    const now = performance.now();
    if (now - state.windowStart >= 1000) {
      state.windowStart = now;
      state.resets = 0;
    }
    if (++state.resets <= this.settings.http2.maxResetsPerSecond || session.destroyed) return;
    this.resetFloods++;
    const client = session.socket?.remoteAddress;
    this.calmed.note('reset', this.log, (count, seconds) => [
      { client, maxResetsPerSecond: this.settings.http2.maxResetsPerSecond, count },
      `HTTP/2 rapid reset: client ${client} cancelled more than ${this.settings.http2.maxResetsPerSecond} streams in a second; connection closed (GOAWAY ENHANCE_YOUR_CALM)` +
        (count > 1 ? ` (${count} such in the last ${seconds} s)` : ''),
    ]);
    // GOAWAY first (nghttp2 then ignores the client's new streams), the close a moment later so
    // the frame is on the wire before it: destroying at once can drop it.
    session.goaway(h2.NGHTTP2_ENHANCE_YOUR_CALM);
    setTimeout(() => session.destroy(), GOAWAY_FLUSH_MS).unref();
  }

  /**
   * The listener's idle timeout fired for `x`. For an HTTP/2 session: one with open streams is
   * kept (each stream has its own deadlines), an idle one is closed gracefully (GOAWAY). Returns
   * false for anything else (an HTTP/1.1 socket: the engine decides).
   */
  timedOut(x: unknown): boolean {
    const state = this.sessions.get(x as ServerHttp2Session);
    if (state === undefined) return false;
    if (state.open === 0) (x as ServerHttp2Session).close();
    return true;
  }

  /** One line for the start log: what is served, how. */
  describe(): string {
    const h = this.settings.http2;
    return `HTTPS: ${describeSet(this.current)}; ${this.settings.minVersion} and up; HTTP/2 (up to ${h.maxConcurrentStreams} streams a connection) and HTTP/1.1`;
  }

  /** HTTP/2 sessions open now. */
  get sessionCount(): number {
    return this.sessions.size;
  }
}

// "a.test (default, 89 days left); *.b.test (12 days left)" for the log.
function describeSet(set: CertificateSet): string {
  if (set.size === 0) return 'no certificate yet';
  return set
    .list()
    .map((c) => `${c.names.join(', ')} (${c.default ? 'default, ' : ''}${c.daysLeft} days left)`)
    .join('; ');
}
