// Message body framing shared by both parsers: Content-Length, chunked (framing parsed byte by
// byte, payload sliced, never copied), trailers (same field-line rules as the head) and
// close-delimited. Wire bytes go to onBody once per input region, payload slices to onPayload.

import { checkCrlf, FieldBounds, parseFieldLine } from './field-line.js';
import type { HeadLimits } from './limits.js';
import { LineReader } from './line-reader.js';
import { HttpParseError } from './parse-error.js';
import { CR, Field, fieldOf, HEX, latin1, LF, QDTEXT, TCHAR } from './tokens.js';

/** What a body reader reports. */
export interface BodyEvents {
  /** Body bytes exactly as on the wire (chunk framing and trailers included): subarrays of the input. */
  onBody(wire: Buffer): void;
  /** The de-chunked payload: subarrays of the input. */
  onPayload?(payload: Buffer): void;
  /** The trailer fields of a chunked body, [name, value, ...] (only when there are some). */
  onTrailers?(rawTrailers: string[]): void;
}

const enum S {
  Idle,
  Length,
  Close,
  SizeFirst,
  Size,
  ExtNameFirst,
  ExtName,
  ExtValueFirst,
  ExtToken,
  ExtQuoted,
  ExtQuotedPair,
  ExtAfterQuote,
  SizeLf,
  Data,
  DataCr,
  DataLf,
  Trailers,
  Done,
}

// 2^49 - 1: the largest chunk size that can take another hex digit and stay below 2^53.
const MAX_BEFORE_DIGIT = 0x1ffffffffffff;
const MAX_SIZE_DIGITS = 16;

/** Reads one message body at a time. */
export class BodyReader {
  private s = S.Idle;
  private remaining = 0;
  private digits = 0;
  private extBytes = 0;
  private trailerBytes = 0;
  private trailers: string[] | null = null;
  private readonly lines = new LineReader();
  private readonly field = new FieldBounds();

  /** `status` is what every framing error carries (400 for requests, 502 for responses). */
  constructor(
    private readonly events: BodyEvents,
    private readonly limits: HeadLimits,
    private readonly status: number,
  ) {}

  /** Starts a Content-Length body (length > 0). */
  startLength(length: number): void {
    this.s = S.Length;
    this.remaining = length;
  }

  /** Starts a chunked body. */
  startChunked(): void {
    this.s = S.SizeFirst;
    this.digits = 0;
    this.remaining = 0;
    this.trailers = null;
    this.trailerBytes = 0;
  }

  /** Starts a body that runs until the connection closes. */
  startClose(): void {
    this.s = S.Close;
  }

  /** True once the body has ended (then the reader is idle again). */
  get done(): boolean {
    return this.s === S.Done;
  }

  /** True while a close-delimited body is read. */
  get closeDelimited(): boolean {
    return this.s === S.Close;
  }

  /** Back to idle after `done` or on a failed parse. */
  reset(): void {
    this.s = S.Idle;
    this.lines.clear();
  }

  /** Reads body bytes from buf[pos..]; returns the index after the last byte that belongs to the body. Check `done` after. */
  execute(buf: Buffer, pos: number): number {
    const start = pos;
    const end = buf.length;
    const ev = this.events;
    switch (this.s) {
      case S.Length: {
        const n = Math.min(this.remaining, end - pos);
        if (n === 0) return pos;
        const slice = buf.subarray(pos, pos + n);
        this.remaining -= n;
        if (this.remaining === 0) this.s = S.Done;
        ev.onBody(slice);
        ev.onPayload?.(slice);
        return pos + n;
      }
      case S.Close: {
        if (pos === end) return pos;
        const slice = buf.subarray(pos, end);
        ev.onBody(slice);
        ev.onPayload?.(slice);
        return end;
      }
      case S.Idle:
      case S.Done:
        return pos;
      default:
        pos = this.chunked(buf, pos, end);
        if (pos > start) ev.onBody(buf.subarray(start, pos));
        if ((this.s as S) === S.Done && this.trailers !== null) ev.onTrailers?.(this.trailers);
        return pos;
    }
  }

  private bad(code: 'E_HTTP_BAD_CHUNK' | 'E_HTTP_CHUNK_EXT' | 'E_HTTP_BARE_CR' | 'E_HTTP_BARE_LF', message: string): HttpParseError {
    return new HttpParseError(this.status, code, message);
  }

  private chunked(buf: Buffer, pos: number, end: number): number {
    let s = this.s;
    while (pos < end) {
      if (s === S.Data) {
        const n = Math.min(this.remaining, end - pos);
        this.events.onPayload?.(buf.subarray(pos, pos + n));
        pos += n;
        this.remaining -= n;
        if (this.remaining === 0) s = S.DataCr;
        continue;
      }
      if (s === S.Trailers) {
        this.s = s;
        pos = this.trailerLines(buf, pos);
        s = this.s as S;
        if ((s as S) === S.Done) break;
        continue;
      }
      const c = buf[pos]!;
      switch (s) {
        case S.SizeFirst:
        case S.Size: {
          const d = HEX[c]!;
          if (d !== 255) {
            if (++this.digits > MAX_SIZE_DIGITS || this.remaining > MAX_BEFORE_DIGIT) throw this.bad('E_HTTP_BAD_CHUNK', 'chunk size too large');
            this.remaining = this.remaining * 16 + d;
            s = S.Size;
          } else if (s === S.SizeFirst) {
            throw this.bad('E_HTTP_BAD_CHUNK', 'chunk size is not hex');
          } else if (c === CR) {
            s = S.SizeLf;
          } else if (c === 0x3b) {
            this.extBytes = 1;
            s = S.ExtNameFirst;
          } else if (c === LF) {
            throw this.bad('E_HTTP_BARE_LF', 'chunk size line ended by LF without CR');
          } else {
            throw this.bad('E_HTTP_BAD_CHUNK', 'chunk size is not hex');
          }
          break;
        }
        case S.SizeLf:
          if (c !== LF) throw this.bad('E_HTTP_BARE_CR', 'CR not followed by LF in a chunk size line');
          this.digits = 0;
          if (this.remaining === 0) {
            s = S.Trailers;
          } else {
            s = S.Data;
          }
          break;
        case S.DataCr:
          if (c !== CR) throw this.bad('E_HTTP_BAD_CHUNK', 'chunk data not followed by CRLF');
          s = S.DataLf;
          break;
        case S.DataLf:
          if (c !== LF) throw this.bad('E_HTTP_BAD_CHUNK', 'chunk data not followed by CRLF');
          s = S.SizeFirst;
          break;
        default:
          s = this.extension(s, c);
      }
      pos++;
    }
    this.s = s;
    return pos;
  }

  // chunk-ext = *( ";" name [ "=" ( token / quoted-string ) ] ), without BWS: nobody sends any.
  private extension(s: S, c: number): S {
    if (c !== CR && ++this.extBytes > this.limits.maxChunkExtensionBytes) throw this.bad('E_HTTP_CHUNK_EXT', 'chunk extensions too long');
    switch (s) {
      case S.ExtNameFirst:
        if (TCHAR[c] === 1) return S.ExtName;
        break;
      case S.ExtName:
        if (TCHAR[c] === 1) return S.ExtName;
        if (c === 0x3d) return S.ExtValueFirst;
        if (c === 0x3b) return S.ExtNameFirst;
        if (c === CR) return S.SizeLf;
        break;
      case S.ExtValueFirst:
        if (TCHAR[c] === 1) return S.ExtToken;
        if (c === 0x22) return S.ExtQuoted;
        break;
      case S.ExtToken:
        if (TCHAR[c] === 1) return S.ExtToken;
        if (c === 0x3b) return S.ExtNameFirst;
        if (c === CR) return S.SizeLf;
        break;
      case S.ExtQuoted:
        if (c === 0x22) return S.ExtAfterQuote;
        if (c === 0x5c) return S.ExtQuotedPair;
        if (QDTEXT[c] === 1) return S.ExtQuoted;
        break;
      case S.ExtQuotedPair:
        if (c === 0x09 || (c >= 0x20 && c !== 0x7f)) return S.ExtQuoted;
        break;
      case S.ExtAfterQuote:
        if (c === 0x3b) return S.ExtNameFirst;
        if (c === CR) return S.SizeLf;
        break;
    }
    if (c === LF) throw this.bad('E_HTTP_BARE_LF', 'chunk extension line ended by LF without CR');
    throw this.bad('E_HTTP_BAD_CHUNK', `byte 0x${c.toString(16)} not allowed in a chunk extension`);
  }

  private trailerLines(buf: Buffer, pos: number): number {
    const lines = this.lines;
    const limits = this.limits;
    for (;;) {
      const next = lines.next(buf, pos);
      if (next < 0) {
        if (lines.bareCr) throw new HttpParseError(this.status, 'E_HTTP_BARE_CR', 'CR not followed by LF');
        if (this.trailerBytes + lines.pending > limits.maxHeaderBytes) {
          throw new HttpParseError(this.status === 400 ? 431 : this.status, 'E_HTTP_HEAD_TOO_LARGE', 'trailers too large');
        }
        return buf.length;
      }
      const b = lines.lb;
      const ls = lines.ls;
      const le = lines.le;
      this.trailerBytes += le + 1 - ls;
      if (this.trailerBytes > limits.maxHeaderBytes) {
        throw new HttpParseError(this.status === 400 ? 431 : this.status, 'E_HTTP_HEAD_TOO_LARGE', 'trailers too large');
      }
      checkCrlf(b, ls, le, this.status);
      if (le - ls === 1) {
        this.s = S.Done;
        return next;
      }
      const f = this.field;
      parseFieldLine(b, ls, le, this.status, f);
      // RFC 9110 6.5.1: framing and routing fields never come as trailers; llhttp refuses CL and TE there too.
      const kind = fieldOf(b, f.ns, f.ne);
      if (kind === Field.ContentLength || kind === Field.TransferEncoding || kind === Field.Host) {
        throw new HttpParseError(this.status, 'E_HTTP_BAD_TRAILER', 'Content-Length, Transfer-Encoding or Host as a trailer');
      }
      const t = (this.trailers ??= []);
      if (t.length >= limits.maxHeaders * 2) {
        throw new HttpParseError(this.status === 400 ? 431 : this.status, 'E_HTTP_TOO_MANY_HEADERS', 'too many trailer fields');
      }
      t.push(latin1(b, f.ns, f.ne), latin1(b, f.vs, f.ve));
      pos = next;
    }
  }
}
