// The incremental HTTP/1.x response parser of the fast engine's upstream side. Same line and
// field rules as the request parser (a broken upstream gets 502, never a desynced connection);
// framing per RFC 9112 6.3: HEAD/1xx/204/304 bodyless, 2xx to CONNECT and 101 end in a tunnel,
// CL+TE rejected, chunked, Content-Length, else close-delimited.

import { BodyReader, type BodyEvents } from './body.js';
import { checkCrlf, FieldBounds, parseFieldLine } from './field-line.js';
import { DEFAULT_HEAD_LIMITS, type HeadLimits } from './limits.js';
import { LineReader } from './line-reader.js';
import { HttpParseError } from './parse-error.js';
import { ConnOpt, connectionOptions, Field, fieldOf, FIELD_VALUE, parseDecimal, SP } from './tokens.js';
import { classifyTe, Te } from './transfer-encoding.js';

/** A parsed response head (1xx heads too). */
export interface ResponseHead {
  /** The status code (100-999). */
  readonly status: number;
  /** The reason phrase ('' when absent). */
  readonly reason: string;
  /** HTTP/1.<minor>: 0 or 1. */
  readonly minor: number;
  /** [name, value, ...] as received. */
  readonly rawHeaders: string[];
  /** -1 when absent (or ignored because the response is bodyless). */
  readonly contentLength: number;
  /** The body is chunked (Transfer-Encoding ends in chunked). */
  readonly chunked: boolean;
  /** May the upstream connection be reused after this response. */
  readonly keepAlive: boolean;
  /** HEAD request, 1xx, 204, 304 (or 2xx to CONNECT). */
  readonly bodyless: boolean;
  /** The body runs to EOF. */
  readonly closeDelimited: boolean;
}

/** What the response parser reports. 1xx heads come through onHead before the final head. */
export interface ResponseEvents extends BodyEvents {
  /** A head is complete and valid (interim 1xx heads too). */
  onHead(head: ResponseHead): void;
  /** The final response is complete. */
  onComplete(): void;
}

const enum S {
  StatusLine,
  Headers,
  Body,
  Tunnel,
  Failed,
}

const STATUS = 502;

/** An incremental HTTP/1.x response parser for one upstream connection. */
export class ResponseParser {
  private s = S.StatusLine;
  private readonly limits: HeadLimits;
  private readonly lines = new LineReader();
  private readonly field = new FieldBounds();
  private readonly body: BodyReader;
  private error: HttpParseError | null = null;
  private isHead = false;
  private isConnect = false;
  private awaiting = false;
  private completed = false;
  // The head being read.
  private headBytes = 0;
  private status = 0;
  private reason = '';
  private minor = 1;
  private raw: string[] = [];
  private contentLength = -1;
  private clCount = 0;
  private teKind: Te | -1 = -1;
  private conn = 0;

  /** Creates a parser that reports to `events`; `limits` default to DEFAULT_HEAD_LIMITS. */
  constructor(
    private readonly events: ResponseEvents,
    limits?: HeadLimits,
  ) {
    this.limits = limits ?? DEFAULT_HEAD_LIMITS;
    this.body = new BodyReader(events, this.limits, STATUS);
  }

  /** Call before each response: the request's method decides whether a body follows (HEAD) or a tunnel (2xx to CONNECT). */
  expect(method: string): void {
    this.isHead = method === 'HEAD';
    this.isConnect = method === 'CONNECT';
    this.awaiting = true;
  }

  /** True between the final head and onComplete. */
  get inBody(): boolean {
    return this.s === S.Body;
  }

  /** True when no byte of a response has been seen since the last one completed (an upstream close here cut nothing that started). */
  get idle(): boolean {
    return this.s === S.StatusLine && this.headBytes === 0 && this.lines.pending === 0;
  }

  /** Parses from buf[offset..]; stops after a final response completes, after a 101 (or 2xx to CONNECT) head, or at the end of buf. Returns the offset it stopped at. Throws HttpParseError (status 502). */
  execute(buf: Buffer, offset = 0): number {
    if (this.s === S.Failed) throw this.error!;
    // A primed head string is valid for one input only: the engine may reuse its read buffer.
    this.lines.unprime();
    try {
      return this.run(buf, offset);
    } catch (err) {
      if (err instanceof HttpParseError) this.fail(err);
      throw err;
    }
  }

  /** The upstream closed: completes a close-delimited body; throws HttpParseError(502, 'E_HTTP_TRUNCATED') when a framed body or a head was cut (or an expected response never started). */
  end(): void {
    switch (this.s) {
      case S.Failed:
        throw this.error!;
      case S.Tunnel:
        return;
      case S.Body:
        if (this.body.closeDelimited) {
          this.body.reset();
          this.s = S.StatusLine;
          this.awaiting = false;
          this.events.onComplete();
          return;
        }
        break;
      default:
        if (!this.awaiting && this.idle) return;
    }
    const err = new HttpParseError(STATUS, 'E_HTTP_TRUNCATED', this.s === S.Body ? 'upstream closed inside a response body' : 'upstream closed before a complete response head');
    this.fail(err);
    throw err;
  }

  private fail(err: HttpParseError): void {
    this.s = S.Failed;
    this.error = err;
    this.lines.clear();
    this.body.reset();
  }

  private run(buf: Buffer, pos: number): number {
    const end = buf.length;
    while (pos < end) {
      switch (this.s) {
        case S.StatusLine:
        case S.Headers: {
          pos = this.head(buf, pos);
          if (pos < 0) return end;
          const s = this.s as S;
          if (s === S.Tunnel || this.completed) {
            this.completed = false;
            return pos;
          }
          break;
        }
        case S.Body:
          pos = this.body.execute(buf, pos);
          if (this.body.done) {
            this.body.reset();
            this.s = S.StatusLine;
            this.awaiting = false;
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

  private head(buf: Buffer, pos: number): number {
    const lines = this.lines;
    const limits = this.limits;
    if (this.s === S.StatusLine && this.headBytes === 0) lines.prime(buf, pos, limits.maxHeaderBytes);
    for (;;) {
      const next = lines.next(buf, pos);
      if (next < 0) {
        if (lines.bareCr) throw new HttpParseError(STATUS, 'E_HTTP_BARE_CR', 'CR not followed by LF');
        if (this.headBytes + lines.pending > limits.maxHeaderBytes) throw new HttpParseError(STATUS, 'E_HTTP_HEAD_TOO_LARGE', 'response head too large');
        return -1;
      }
      const b = lines.lb;
      const ls = lines.ls;
      const le = lines.le;
      this.headBytes += le + 1 - ls;
      if (this.headBytes > limits.maxHeaderBytes) throw new HttpParseError(STATUS, 'E_HTTP_HEAD_TOO_LARGE', 'response head too large');
      checkCrlf(b, ls, le, STATUS);
      if (this.s === S.StatusLine) {
        this.statusLine(b, ls, le - 1);
        this.s = S.Headers;
      } else {
        if (le - ls === 1) return this.headEnd(next);
        this.fieldLine(b, ls, le);
      }
      pos = next;
    }
  }

  // status-line = HTTP-version SP 3DIGIT SP [ reason-phrase ]; a missing SP before an empty reason is tolerated.
  private statusLine(b: Buffer, s: number, ce: number): void {
    const n = ce - s;
    if (
      n < 12 ||
      b[s] !== 0x48 ||
      b[s + 1] !== 0x54 ||
      b[s + 2] !== 0x54 ||
      b[s + 3] !== 0x50 ||
      b[s + 4] !== 0x2f ||
      b[s + 6] !== 0x2e ||
      b[s + 8] !== SP ||
      !isDigit(b[s + 9]!) ||
      !isDigit(b[s + 10]!) ||
      !isDigit(b[s + 11]!) ||
      (n > 12 && b[s + 12] !== SP)
    ) {
      throw new HttpParseError(STATUS, 'E_HTTP_BAD_START_LINE', 'malformed status line');
    }
    if (b[s + 5] !== 0x31 || (b[s + 7] !== 0x30 && b[s + 7] !== 0x31)) {
      throw new HttpParseError(STATUS, 'E_HTTP_BAD_VERSION', 'response version is not HTTP/1.0 or HTTP/1.1');
    }
    this.minor = b[s + 7]! - 0x30;
    this.status = (b[s + 9]! - 0x30) * 100 + (b[s + 10]! - 0x30) * 10 + (b[s + 11]! - 0x30);
    if (this.status < 100) throw new HttpParseError(STATUS, 'E_HTTP_BAD_START_LINE', 'status code below 100');
    for (let i = s + 13; i < ce; i++) {
      if (FIELD_VALUE[b[i]!] !== 1) throw new HttpParseError(STATUS, b[i] === 0x0d ? 'E_HTTP_BARE_CR' : 'E_HTTP_BAD_CHAR', 'bad byte in the reason phrase');
    }
    this.reason = n > 13 ? this.lines.str(b, s + 13, ce) : '';
  }

  private fieldLine(b: Buffer, ls: number, le: number): void {
    const raw = this.raw;
    if (raw.length >= this.limits.maxHeaders * 2) throw new HttpParseError(STATUS, 'E_HTTP_TOO_MANY_HEADERS', 'too many response header fields');
    const f = this.field;
    parseFieldLine(b, ls, le, STATUS, f);
    raw.push(this.lines.str(b, f.ns, f.ne), this.lines.str(b, f.vs, f.ve));
    switch (fieldOf(b, f.ns, f.ne)) {
      case Field.ContentLength: {
        if (++this.clCount > 1) throw new HttpParseError(STATUS, 'E_HTTP_DUP_CL', 'more than one Content-Length field');
        const n = parseDecimal(b, f.vs, f.ve);
        if (n < 0) throw new HttpParseError(STATUS, 'E_HTTP_BAD_CL', 'Content-Length is not a number below 2^53');
        this.contentLength = n;
        return;
      }
      case Field.TransferEncoding: {
        // Several lines form one list: the last line decides what is final, and any `chunked` before it is invalid.
        const kind = classifyTe(b, f.vs, f.ve);
        const prev = this.teKind;
        if (kind === Te.Invalid || prev === Te.Chunked || prev === Te.CodedChunked) this.teKind = Te.Invalid;
        else if (prev !== Te.Invalid) this.teKind = kind;
        return;
      }
      case Field.Connection:
        this.conn |= connectionOptions(b, f.vs, f.ve);
        return;
      default:
        return;
    }
  }

  private headEnd(next: number): number {
    const status = this.status;
    const minor = this.minor;
    const te = this.teKind;
    if (te !== -1 && this.clCount > 0) throw new HttpParseError(STATUS, 'E_HTTP_CL_AND_TE', 'response with both Content-Length and Transfer-Encoding');
    if (te !== -1 && minor === 0) throw new HttpParseError(STATUS, 'E_HTTP_BAD_TE', 'Transfer-Encoding in an HTTP/1.0 response');
    if (te === Te.Invalid) throw new HttpParseError(STATUS, 'E_HTTP_BAD_TE', 'Transfer-Encoding with chunked not final or repeated');
    const interim = status < 200;
    const tunnel = status === 101 || (this.isConnect && status >= 200 && status < 300);
    const bodyless = interim || tunnel || this.isHead || status === 204 || status === 304;
    const chunked = !bodyless && (te === Te.Chunked || te === Te.CodedChunked);
    const closeDelimited = !bodyless && !chunked && (te === Te.NotChunked || this.clCount === 0);
    const conn = this.conn;
    const keepAlive =
      !closeDelimited && !tunnel && (minor === 1 ? (conn & ConnOpt.Close) === 0 : (conn & ConnOpt.KeepAlive) !== 0 && (conn & ConnOpt.Close) === 0);
    const head: ResponseHead = {
      status,
      reason: this.reason,
      minor,
      rawHeaders: this.raw,
      contentLength: bodyless ? -1 : this.contentLength,
      chunked,
      keepAlive,
      bodyless,
      closeDelimited,
    };
    const cl = this.contentLength;
    this.resetHead();
    this.lines.unprime();
    if (tunnel) {
      this.s = S.Tunnel;
      this.events.onHead(head);
      return next;
    }
    if (interim) {
      // 100, 102, 103: the final response follows on the same connection.
      this.s = S.StatusLine;
      this.events.onHead(head);
      return next;
    }
    if (bodyless || (!chunked && !closeDelimited && cl === 0)) {
      this.s = S.StatusLine;
      this.awaiting = false;
      this.completed = true;
      this.events.onHead(head);
      this.events.onComplete();
      return next;
    }
    this.s = S.Body;
    if (chunked) this.body.startChunked();
    else if (closeDelimited) this.body.startClose();
    else this.body.startLength(cl);
    this.events.onHead(head);
    return next;
  }

  private resetHead(): void {
    this.headBytes = 0;
    this.raw = [];
    this.reason = '';
    this.contentLength = -1;
    this.clCount = 0;
    this.teKind = -1;
    this.conn = 0;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
