// Test helper: runs the fast engine's parsers over inputs split at chosen points and records
// what they report, as plain data that two runs can be compared with.

import { HttpParseError } from '../../../../src/engines/fast/http1/parse-error.js';
import { RequestParser, type RequestHead } from '../../../../src/engines/fast/http1/request-parser.js';
import { ResponseParser, type ResponseHead } from '../../../../src/engines/fast/http1/response-parser.js';

/** One parsed message: its head, wire body, de-chunked payload and trailers. */
export interface Parsed<H> {
  head: H;
  wire: string;
  payload: string;
  trailers: string[] | null;
  complete: boolean;
}

/** Everything a parser reported for one input. */
export interface Outcome<H> {
  messages: Parsed<H>[];
  /** The status and code of the error thrown, if any. */
  error: { status: number; code: string } | null;
  /** Where execute stopped each time it returned (offsets into the whole input). */
  stops: number[];
}

function pieces(input: Buffer, splits: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let prev = 0;
  for (const s of [...splits, input.length]) {
    if (s > prev && s <= input.length) {
      // Copies, so a parser that kept a reference to an old piece would show wrong bytes.
      out.push(Buffer.from(input.subarray(prev, s)));
      prev = s;
    }
  }
  return out;
}

function run<H>(
  make: (ev: {
    onHead(h: H): void;
    onBody(b: Buffer): void;
    onPayload(b: Buffer): void;
    onTrailers(t: string[]): void;
    onComplete(): void;
  }) => { execute(b: Buffer, o?: number): number },
  input: Buffer,
  splits: readonly number[],
  after?: (p: { execute(b: Buffer, o?: number): number }) => void,
  stopAfterTunnel = true,
): Outcome<H> {
  const messages: Parsed<H>[] = [];
  const cur = (): Parsed<H> => messages[messages.length - 1]!;
  const parser = make({
    onHead: (head) => messages.push({ head, wire: '', payload: '', trailers: null, complete: false }),
    onBody: (b) => (cur().wire += b.toString('latin1')),
    onPayload: (b) => (cur().payload += b.toString('latin1')),
    onTrailers: (t) => (cur().trailers = t),
    onComplete: () => (cur().complete = true),
  });
  const stops: number[] = [];
  let base = 0;
  try {
    for (const piece of pieces(input, splits)) {
      let off = 0;
      while (off < piece.length) {
        const next = parser.execute(piece, off);
        if (next === off && stopAfterTunnel) {
          // The parser consumes nothing more (tunnel): what is left is not HTTP.
          return { messages, error: null, stops };
        }
        off = next;
        if (off < piece.length) stops.push(base + off);
      }
      base += piece.length;
    }
    after?.(parser);
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
    return { messages, error: { status: err.status, code: err.code }, stops };
  }
  return { messages, error: null, stops };
}

/** Parses requests from `input` delivered in pieces cut at `splits`. */
export function parseRequests(input: Buffer | string, splits: readonly number[] = [], limits?: ConstructorParameters<typeof RequestParser>[1]): Outcome<RequestHead> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  return run<RequestHead>((ev) => new RequestParser(ev, limits), buf, splits);
}

/** Parses responses to requests with `methods` (one expect() per response) from `input` cut at `splits`, then end() when `eof`. */
export function parseResponses(input: Buffer | string, methods: readonly string[], splits: readonly number[] = [], eof = false): Outcome<ResponseHead> {
  const buf = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  let parser!: ResponseParser;
  let n = 0;
  return run<ResponseHead>(
    (ev) => {
      parser = new ResponseParser({
        ...ev,
        onComplete: () => {
          ev.onComplete();
          if (n < methods.length) parser.expect(methods[n++]!);
        },
      });
      parser.expect(methods[n++] ?? 'GET');
      return parser;
    },
    buf,
    splits,
    eof ? () => parser.end() : undefined,
  );
}

/** A copy of an outcome without what depends on where the input was cut: `stops`, and the body bytes of a message that failed (a streaming parser hands out body bytes before it meets the error). */
export function comparable<H>(o: Outcome<H>): Omit<Outcome<H>, 'stops'> {
  if (o.error === null) return { messages: o.messages, error: null };
  return { messages: o.messages.map((m) => ({ ...m, wire: '', payload: '' })), error: o.error };
}
