// The strict, incremental HTTP/1.1 request parser (RFC 9112) of the fast engine. Heads are read
// line by line in place (a line split across inputs is stashed), checked byte by byte with lookup
// tables, and every rule that decides framing is applied before onHead, so a request whose length
// is ambiguous is never forwarded: see the README section "The fast engine's HTTP/1.1 parser".

import { BodyReader, type BodyEvents } from './body.js';
import { badByte, checkCrlf, FieldBounds, parseFieldLine } from './field-line.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './limits.js';
import { LineReader } from './line-reader.js';
import { HttpParseError } from './parse-error.js';
import {
  ConnOpt,
  connectionOptions,
  CR,
  equalsLower,
  Field,
  fieldOf,
  HTAB,
  latin1,
  parseDecimal,
  SP,
  TARGET,
  TCHAR,
  validHost,
} from './tokens.js';
import { checkTransferEncoding } from './transfer-encoding.js';

/** A parsed request head. */
export interface RequestHead {
  /** Token, as sent (case-sensitive, e.g. "GET"). */
  readonly method: string;
  /** Request-target as sent (origin-, absolute-, authority- or asterisk-form). */
  readonly target: string;
  /** HTTP/1.<minor>: 0 or 1. */
  readonly minor: number;
  /** [name, value, name, value, ...] as received (names keep case; values trimmed of OWS). */
  readonly rawHeaders: string[];
  /** The Host header value (HTTP/1.1 requires exactly one). */
  readonly host: string | undefined;
  /** -1 when absent. */
  readonly contentLength: number;
  /** Transfer-Encoding: chunked (the only TE accepted). */
  readonly chunked: boolean;
  /** From version and Connection. */
  readonly keepAlive: boolean;
  /** Connection: upgrade + Upgrade header and no body, or CONNECT (the parser stops after the head). */
  readonly upgrade: boolean;
  /** Expect: 100-continue. */
  readonly expectContinue: boolean;
  /** Bytes of the head on the wire (empty lines before the request line included). */
  readonly headBytes: number;
}

/** What the request parser reports, in order: head, body slices, complete. */
export interface RequestEvents extends BodyEvents {
  /** The head is complete and valid. */
  onHead(head: RequestHead): void;
  /** The message is complete (right after onHead for a request without body). */
  onComplete(): void;
}

const enum S {
  RequestLine,
  Headers,
  Body,
  Tunnel,
  Failed,
}

/** A strict, incremental HTTP/1.1 request parser (RFC 9112) for one connection. */
export class RequestParser {
  private s = S.RequestLine;
  private readonly limits: HeadLimits;
  private readonly lines = new LineReader();
  private readonly field = new FieldBounds();
  private readonly body: BodyReader;
  private error: HttpParseError | null = null;
  // The head being read.
  private headBytes = 0;
  private method = '';
  private target = '';
  private minor = 1;
  private isConnect = false;
  private raw: string[] = [];
  private host: string | undefined = undefined;
  private hostCount = 0;
  private contentLength = -1;
  private clCount = 0;
  private te: string | null = null;
  private conn = 0;
  private hasUpgrade = false;
  private expectContinue = false;

  /** Creates a parser that reports to `events`; `limits` default to DEFAULT_HEAD_LIMITS. */
  constructor(
    private readonly events: RequestEvents,
    limits?: HeadLimits,
  ) {
    this.limits = limits ?? DEFAULT_HEAD_LIMITS;
    this.body = new BodyReader(events, this.limits, 400);
  }

  /** True between onHead and onComplete. */
  get inBody(): boolean {
    return this.s === S.Body;
  }

  /** True when no byte of a next message has been seen (a clean place to close). */
  get idle(): boolean {
    return this.s === S.RequestLine && this.headBytes === 0 && this.lines.pending === 0;
  }

  /** Parses from buf[offset..]; stops right after a complete message, after the head of an upgrade/CONNECT request (the rest is the tunnel's), or at the end of buf. Returns the offset it stopped at. Throws HttpParseError (and again on every later call). */
  execute(buf: Buffer, offset = 0): number {
    if (this.s === S.Failed) throw this.error!;
    // A primed head string is valid for one input only: the engine may reuse its read buffer.
    this.lines.unprime();
    try {
      return this.run(buf, offset);
    } catch (err) {
      if (err instanceof HttpParseError) {
        this.s = S.Failed;
        this.error = err;
        this.lines.clear();
        this.body.reset();
      }
      throw err;
    }
  }

  private run(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (pos < end) {
      switch (this.s) {
        case S.RequestLine:
        case S.Headers:
          pos = this.head(buf, pos);
          if (pos < 0) return end;
          if ((this.s as S) === S.Tunnel) return pos;
          if ((this.s as S) === S.RequestLine) return pos; // a message without body completed
          break;
        case S.Body:
          pos = this.body.execute(buf, pos);
          if (this.body.done) {
            this.body.reset();
            this.s = S.RequestLine;
            this.events.onComplete();
            return pos;
          }
          break;
        default:
          return pos;
      }
    }
    return pos;
  }

  /** Reads head lines; returns the index after the head (onHead called), or -1 when buf ended first. */
  private head(buf: Buffer, pos: number): number {
    const lines = this.lines;
    const limits = this.limits;
    if (this.s === S.RequestLine && this.headBytes === 0) lines.prime(buf, pos, limits.maxHeaderBytes);
    for (;;) {
      const next = lines.next(buf, pos);
      if (next < 0) {
        if (lines.bareCr) throw new HttpParseError(400, 'E_HTTP_BARE_CR', 'CR not followed by LF');
        const pending = lines.pending;
        if (this.s === S.RequestLine && pending > limits.maxRequestLineBytes + 1) {
          throw new HttpParseError(414, 'E_HTTP_LINE_TOO_LONG', 'request line too long');
        }
        if (this.headBytes + pending > limits.maxHeaderBytes) {
          throw new HttpParseError(431, 'E_HTTP_HEAD_TOO_LARGE', 'request head too large');
        }
        return -1;
      }
      const b = lines.lb;
      const ls = lines.ls;
      const le = lines.le;
      this.headBytes += le + 1 - ls;
      checkCrlf(b, ls, le, 400);
      if (this.s === S.RequestLine) {
        // RFC 9112 2.2: ignore empty lines before the request line (some clients send CRLF after a body).
        if (le - ls > 1) {
          if (le - 1 - ls > limits.maxRequestLineBytes) throw new HttpParseError(414, 'E_HTTP_LINE_TOO_LONG', 'request line too long');
          this.requestLine(b, ls, le - 1);
          this.s = S.Headers;
        }
        if (this.headBytes > limits.maxHeaderBytes) throw new HttpParseError(431, 'E_HTTP_HEAD_TOO_LARGE', 'request head too large');
      } else {
        if (this.headBytes > limits.maxHeaderBytes) throw new HttpParseError(431, 'E_HTTP_HEAD_TOO_LARGE', 'request head too large');
        if (le - ls === 1) return this.headEnd(next);
        this.fieldLine(b, ls, le);
      }
      pos = next;
    }
  }

  // request-line = method SP request-target SP HTTP-version; b[s..ce) without the CRLF.
  private requestLine(b: Buffer, s: number, ce: number): void {
    let i = s;
    while (i < ce && TCHAR[b[i]!] === 1) i++;
    if (i === ce) throw new HttpParseError(400, 'E_HTTP_BAD_START_LINE', 'request line is not method SP target SP version');
    if (b[i] !== SP || i === s) {
      if (b[i] === CR) throw badByte(CR, 400, 'the request line');
      throw new HttpParseError(400, 'E_HTTP_BAD_METHOD', 'method is not a token');
    }
    const me = i;
    const ts = ++i;
    while (i < ce && TARGET[b[i]!] === 1) i++;
    if (i === ts) throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', 'empty request-target or more than one SP');
    if (i === ce) throw new HttpParseError(400, 'E_HTTP_BAD_START_LINE', 'request line without HTTP version');
    if (b[i] !== SP) {
      if (b[i] === CR) throw badByte(CR, 400, 'the request-target');
      throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', `byte 0x${b[i]!.toString(16)} not allowed in the request-target`);
    }
    const te = i;
    this.version(b, i + 1, ce);
    this.method = this.lines.str(b, s, me);
    this.isConnect = this.method === 'CONNECT';
    this.targetForm(b, ts, te);
    this.target = this.lines.str(b, ts, te);
  }

  private version(b: Buffer, i: number, ce: number): void {
    // HTTP-version = "HTTP/" DIGIT "." DIGIT, case-sensitive.
    if (
      ce - i === 8 &&
      b[i] === 0x48 &&
      b[i + 1] === 0x54 &&
      b[i + 2] === 0x54 &&
      b[i + 3] === 0x50 &&
      b[i + 4] === 0x2f &&
      b[i + 6] === 0x2e &&
      isDigit(b[i + 5]!) &&
      isDigit(b[i + 7]!)
    ) {
      if (b[i + 5] === 0x31 && (b[i + 7] === 0x31 || b[i + 7] === 0x30)) {
        this.minor = b[i + 7]! - 0x30;
        return;
      }
      throw new HttpParseError(505, 'E_HTTP_BAD_VERSION', `HTTP version ${latin1(b, i, ce)} not supported`);
    }
    for (let j = i; j < ce; j++) if (b[j] === CR) throw badByte(CR, 400, 'the request line');
    throw new HttpParseError(400, 'E_HTTP_BAD_START_LINE', 'malformed HTTP version');
  }

  // RFC 9112 3.2: origin-form, absolute-form, authority-form (CONNECT only), asterisk-form (OPTIONS only).
  private targetForm(b: Buffer, s: number, e: number): void {
    const c = b[s]!;
    if (this.isConnect) {
      if (c !== 0x2f && validHost(b, s, e) && hasPort(b, s, e)) return;
      throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', 'CONNECT needs an authority-form target (host:port)');
    }
    if (c === 0x2f) return;
    if (c === 0x2a && e - s === 1) {
      if (this.method === 'OPTIONS') return;
      throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', 'asterisk-form target is for OPTIONS only');
    }
    // absolute-form: scheme "://" authority ..., scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ): the
    // hierarchical form every proxy client sends (so `host:port` is not taken for a scheme).
    let i = s;
    if (isAlpha(c)) {
      i++;
      while (i < e && (isAlpha(b[i]!) || isDigit(b[i]!) || b[i] === 0x2b || b[i] === 0x2d || b[i] === 0x2e)) i++;
      if (i + 2 < e && b[i] === 0x3a && b[i + 1] === 0x2f && b[i + 2] === 0x2f) {
        // The authority (up to '/' or '?') must be host[:port], no userinfo: the engine routes by it.
        const as = i + 3;
        let ae = as;
        while (ae < e && b[ae] !== 0x2f && b[ae] !== 0x3f) ae++;
        if (ae > as && validHost(b, as, ae)) return;
        throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', 'absolute-form target with an invalid authority');
      }
    }
    throw new HttpParseError(400, 'E_HTTP_BAD_TARGET', 'request-target is not origin-, absolute-, authority- or asterisk-form');
  }

  private fieldLine(b: Buffer, ls: number, le: number): void {
    const raw = this.raw;
    if (raw.length >= this.limits.maxHeaders * 2) throw new HttpParseError(431, 'E_HTTP_TOO_MANY_HEADERS', 'too many header fields');
    const f = this.field;
    parseFieldLine(b, ls, le, 400, f);
    const name = this.lines.str(b, f.ns, f.ne);
    const value = this.lines.str(b, f.vs, f.ve);
    raw.push(name, value);
    switch (fieldOf(b, f.ns, f.ne)) {
      case Field.Other:
        return;
      case Field.Host:
        if (++this.hostCount > 1) throw new HttpParseError(400, 'E_HTTP_DUP_HOST', 'more than one Host field');
        if (!validHost(b, f.vs, f.ve)) throw new HttpParseError(400, 'E_HTTP_BAD_HOST', 'Host is not host[:port]');
        this.host = value;
        return;
      case Field.ContentLength: {
        // llhttp and nginx reject any second Content-Length, identical or not; so do we.
        if (++this.clCount > 1) throw new HttpParseError(400, 'E_HTTP_DUP_CL', 'more than one Content-Length field');
        const n = parseDecimal(b, f.vs, f.ve);
        if (n < 0) {
          const comma = b.indexOf(0x2c, f.vs) >= 0 && b.indexOf(0x2c, f.vs) < f.ve;
          if (comma) throw new HttpParseError(400, 'E_HTTP_DUP_CL', 'Content-Length is a list');
          throw new HttpParseError(400, 'E_HTTP_BAD_CL', 'Content-Length is not a number below 2^53');
        }
        this.contentLength = n;
        return;
      }
      case Field.TransferEncoding:
        // Two Transfer-Encoding lines would be one list; we accept only one line with one `chunked`.
        if (this.te !== null) throw new HttpParseError(400, 'E_HTTP_BAD_TE', 'more than one Transfer-Encoding field');
        this.te = value;
        // llhttp refuses a tab after `chunked`; no client sends one, so neither do we accept it.
        for (let i = f.ve; i < le - 1; i++) if (b[i] === HTAB) throw new HttpParseError(400, 'E_HTTP_BAD_TE', 'tab after the Transfer-Encoding value');
        checkTransferEncoding(b, f.vs, f.ve, 400);
        return;
      case Field.Connection:
        this.conn |= connectionOptions(b, f.vs, f.ve);
        return;
      case Field.Upgrade:
        this.hasUpgrade = true;
        return;
      case Field.Expect:
        if (equalsLower(b, f.vs, f.ve, '100-continue')) this.expectContinue = true;
        return;
    }
  }

  private headEnd(next: number): number {
    const minor = this.minor;
    const chunked = this.te !== null;
    const cl = this.contentLength;
    if (chunked && this.clCount > 0) throw new HttpParseError(400, 'E_HTTP_CL_AND_TE', 'both Content-Length and Transfer-Encoding');
    // RFC 9112 6.1: Transfer-Encoding in an HTTP/1.0 message means faulty framing.
    if (chunked && minor === 0) throw new HttpParseError(400, 'E_HTTP_BAD_TE', 'Transfer-Encoding in an HTTP/1.0 request');
    if (minor === 1 && this.hostCount === 0) throw new HttpParseError(400, 'E_HTTP_NO_HOST', 'HTTP/1.1 request without Host');
    const hasBody = chunked || cl > 0;
    if (this.isConnect && hasBody) throw new HttpParseError(400, 'E_HTTP_CONNECT_BODY', 'CONNECT with a body');
    const conn = this.conn;
    // An Upgrade with a body (h2c with POST) is served as a plain request; the engine drops Upgrade.
    const upgrade = this.isConnect || (this.hasUpgrade && (conn & ConnOpt.Upgrade) !== 0 && !hasBody);
    const head: RequestHead = {
      method: this.method,
      target: this.target,
      minor,
      rawHeaders: this.raw,
      host: this.host,
      contentLength: cl,
      chunked,
      keepAlive: minor === 1 ? (conn & ConnOpt.Close) === 0 : (conn & ConnOpt.KeepAlive) !== 0 && (conn & ConnOpt.Close) === 0,
      upgrade,
      expectContinue: this.expectContinue,
      headBytes: this.headBytes,
    };
    this.resetHead();
    this.lines.unprime();
    if (upgrade) {
      this.s = S.Tunnel;
      this.events.onHead(head);
      return next;
    }
    if (chunked) {
      this.s = S.Body;
      this.body.startChunked();
      this.events.onHead(head);
    } else if (cl > 0) {
      this.s = S.Body;
      this.body.startLength(cl);
      this.events.onHead(head);
    } else {
      this.s = S.RequestLine;
      this.events.onHead(head);
      this.events.onComplete();
    }
    return next;
  }

  private resetHead(): void {
    this.headBytes = 0;
    this.raw = [];
    this.host = undefined;
    this.hostCount = 0;
    this.contentLength = -1;
    this.clCount = 0;
    this.te = null;
    this.conn = 0;
    this.hasUpgrade = false;
    this.expectContinue = false;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function hasPort(b: Buffer, s: number, e: number): boolean {
  const colon = b.lastIndexOf(0x3a, e - 1);
  return colon >= s && colon < e - 1 && (b[s] !== 0x5b || b[colon - 1] === 0x5d);
}
