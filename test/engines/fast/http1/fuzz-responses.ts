// Differential fuzzing of the fast engine's response parser against llhttp in response mode (as
// node's HTTP client runs it): the same structured mutations as for requests, on a corpus of real
// responses (nginx, chunked, 204/304, 100 + 200, 101, close-delimited, HTTP/1.0), each read to the
// end of the connection. A response parser that frames differently from llhttp would hand part of
// one response to the next client: the properties are the request ones.

import { HttpParseError } from '../../../../src/engines/fast/http1/parse-error.js';
import { ResponseParser } from '../../../../src/engines/fast/http1/response-parser.js';
import { mulberry32 } from '../../../control/selection/helpers.js';
import { chunk, llhttp, mutatedMessages, MUTATORS, pick, sameMsg, splitPoints, VERSIONS, type Mutator, type Msg, type Req, type Result, type Rng } from './fuzz.js';

function res(status: string, reason: string, headers: [string, string][], body: Req['body'] = { kind: 'none' }, lead = ''): Req {
  return {
    lead,
    method: 'HTTP/1.1',
    sp1: ' ',
    target: status,
    sp2: ' ',
    version: reason,
    headers,
    sep: headers.map(() => ': '),
    eol: Array.from({ length: headers.length + 2 }, () => '\r\n'),
    body,
  };
}

const NGINX: [string, string][] = [
  ['Server', 'nginx/1.22.1'],
  ['Date', 'Wed, 25 Nov 2026 19:00:00 GMT'],
  ['Content-Type', 'text/html'],
];

function corpus(): Req[] {
  const html = '<html><body>hello</body></html>\n';
  return [
    res('200', 'OK', [...NGINX, ['Content-Length', String(html.length)], ['Connection', 'keep-alive'], ['ETag', '"65f1-20"']], { kind: 'raw', data: html }),
    res('200', 'OK', [...NGINX, ['Transfer-Encoding', 'chunked'], ['Connection', 'keep-alive']], {
      kind: 'chunked',
      chunks: [chunk('hello '), chunk('chunked world'), chunk('y'.repeat(30))],
      last: chunk(''),
      trailers: [],
      end: '\r\n',
    }),
    res('204', 'No Content', [['Server', 'nginx'], ['Access-Control-Allow-Origin', '*']]),
    res('304', 'Not Modified', [['Server', 'nginx'], ['ETag', '"65f1-20"'], ['Cache-Control', 'max-age=60']]),
    res('200', 'OK', [['Content-Length', '2'], ['Content-Type', 'text/plain']], { kind: 'raw', data: 'ok' }, 'HTTP/1.1 100 Continue\r\n\r\n'),
    res('101', 'Switching Protocols', [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=']]),
    res('200', 'OK', [['Content-Type', 'text/plain'], ['Connection', 'close']], { kind: 'raw', data: 'until the connection closes' }),
    { ...res('200', 'OK', [['Content-Length', '5'], ['Server', 'Apache']], { kind: 'raw', data: 'hello' }), method: 'HTTP/1.0' },
    res('404', 'Not Found', [...NGINX, ['Content-Length', '9']], { kind: 'raw', data: 'not found' }),
    res('200', 'OK', [['Transfer-Encoding', 'chunked'], ['Trailer', 'Grpc-Status'], ['Content-Type', 'application/grpc']], {
      kind: 'chunked',
      chunks: [chunk('abc')],
      last: chunk(''),
      trailers: ['Grpc-Status: 0'],
      end: '\r\n',
    }),
    res('200', '', [['Content-Length', '0']]),
  ];
}

const STATUS_LINE: [string, Mutator][] = [
  ['status-version', (r, rng) => void (r.method = pick(rng, VERSIONS))],
  ['status-code', (r, rng) => void (r.target = pick(rng, ['200', '204', '304', '100', '101', '103', '404', '999', '099', '20', '2000', 'abc', '2 0']))],
  ['status-reason', (r, rng) => void (r.version = pick(rng, ['OK', '', ' ', 'Not Found', 'O\rK', 'O\x00K', 'caf\xe9', 'a\tb']))],
];
// The request-line mutators make no sense here; every other one does.
const RESPONSE_MUTATORS = [...STATUS_LINE, ...MUTATORS.filter(([name]) => !['method', 'target', 'target-char', 'version'].includes(name))];

/** One generated response case: bytes, the request method, mutations, split points. */
export interface ResponseCase {
  input: Buffer;
  method: 'GET' | 'HEAD';
  mutations: string[];
  splits: number[];
}

/** A deterministic generator of response cases from `seed`. */
export function responseGenerator(seed: number): () => ResponseCase {
  const rng = mulberry32(seed);
  const base = corpus();
  return () => {
    const mutations: string[] = [];
    const input = Buffer.from(mutatedMessages(rng, base, RESPONSE_MUTATORS, mutations), 'latin1');
    const splits = splitPoints(rng, input.length);
    return { input, method: rng() < 0.15 ? 'HEAD' : 'GET', mutations, splits };
  };
}

function msgOf(status: number, reason: string, rawHeaders: string[], upgrade: boolean, keepAlive: boolean): Msg {
  return { method: String(status), target: reason, rawHeaders, body: '', trailers: [], upgrade, hasBody: false, keepAlive };
}

/** Our response parser over `input` in pieces, every response to `method`, then the connection's end. Interim (1xx) heads count as messages. */
export function runOursResponses(input: Buffer, method: string, splits: readonly number[]): Result {
  const msgs: Msg[] = [];
  let cur: Msg | null = null;
  let stop = false;
  // The next expect() comes with the next bytes, as the engine calls it when it sends the next request.
  let again = false;
  const p: ResponseParser = new ResponseParser({
    onHead: (h) => {
      cur = msgOf(h.status, h.reason, h.rawHeaders, h.status === 101, h.keepAlive);
      if (h.status < 200) {
        msgs.push(cur);
        if (h.status === 101) stop = true;
      }
    },
    onBody: () => {},
    onPayload: (b) => void (cur!.body += b.toString('latin1')),
    onTrailers: (t) => void (cur!.trailers = t),
    onComplete: () => {
      msgs.push(cur!);
      // As the engine: a response that does not keep the connection ends reading it.
      if (!cur!.keepAlive) stop = true;
      else again = true;
    },
  });
  p.expect(method);
  let prev = 0;
  try {
    for (const cut of [...splits, input.length]) {
      if (cut <= prev || stop) continue;
      const piece = input.subarray(prev, cut);
      prev = cut;
      let off = 0;
      while (off < piece.length && !stop) {
        if (again) p.expect(method);
        again = false;
        off = p.execute(piece, off);
      }
    }
    if (!stop) p.end();
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
    return { msgs, error: err.code, status: err.status };
  }
  return { msgs, error: null, status: 0 };
}

/** llhttp in response mode over `input`, then finish() (the connection's end), skipping bodies of HEAD and 1xx responses as node's client does. */
export function runLlhttpResponses(input: Buffer, method: string): Result {
  const { HTTPParser } = llhttp;
  const p = new HTTPParser();
  const msgs: Msg[] = [];
  let cur: Msg | null = null;
  let inHead = true;
  let stop = false;
  // Fields flushed before kOnHeadersComplete (after trailers, or past 32 fields) arrive through kOnHeaders.
  let flushed: string[] = [];
  p[HTTPParser.kOnHeaders] = (headers: string[]) => {
    if (inHead) flushed.push(...headers);
    else if (cur) cur.trailers.push(...headers);
  };
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, _min: number, headers: string[] | undefined, _m: unknown, _url: unknown, status: number, reason: string, upgrade: boolean, keepAlive: boolean) => {
    cur = msgOf(status, reason ?? '', headers ?? flushed, Boolean(upgrade) || status === 101, Boolean(keepAlive));
    flushed = [];
    inHead = false;
    return method === 'HEAD' || (status >= 100 && status < 200) ? 1 : 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => void (cur!.body += b.toString('latin1'));
  p[HTTPParser.kOnMessageComplete] = () => {
    if (!stop) msgs.push(cur!);
    if (cur!.upgrade) stop = true;
    inHead = true;
  };
  p.initialize(HTTPParser.RESPONSE, {}, 32768, HTTPParser.kLenientNone);
  let ret = p.execute(input);
  if (typeof ret === 'number' && !stop) {
    const fin = p.finish();
    if (typeof fin !== 'number' && fin !== undefined) ret = fin;
  }
  p.close();
  if (typeof ret !== 'number' && ret.code !== 'HPE_CLOSED_CONNECTION') return { msgs, error: ret.code ?? 'HPE_UNKNOWN', status: 502 };
  return { msgs, error: null, status: 0 };
}

/** Counts of a response fuzz run. */
export interface ResponseFuzzReport {
  cases: number;
  bothAccept: number;
  bothReject: number;
  oursStricter: Record<string, number>;
  theirsStricter: Record<string, number>;
  mismatches: { input: string; detail: string; mutations: string[] }[];
  examples: Record<string, string>;
}

/** Runs `count` response cases from `seed` through both parsers. Any acceptance by us of what llhttp rejects, and any different parse, is a mismatch: framing is all a response parser decides. */
export function fuzzResponses(seed: number, count: number): ResponseFuzzReport {
  const next = responseGenerator(seed);
  const r: ResponseFuzzReport = { cases: count, bothAccept: 0, bothReject: 0, oursStricter: {}, theirsStricter: {}, mismatches: [], examples: {} };
  for (let i = 0; i < count; i++) {
    const c = next();
    let a = runOursResponses(c.input, c.method, c.splits);
    let b = runLlhttpResponses(c.input, c.method);
    // Compare up to the first response after which either side stops reading the connection: one
    // that does not keep it alive (llhttp decides that before it knows a HEAD response is bodyless),
    // or llhttp's upgrade (it pauses on any response with Connection: upgrade to a HEAD; only a 101 is one).
    const m = Math.min(a.msgs.length, b.msgs.length);
    for (let k = 0; k < m; k++) {
      const x = a.msgs[k]!;
      const y = b.msgs[k]!;
      if (!x.keepAlive || !y.keepAlive || x.upgrade || y.upgrade) {
        if (a.msgs.length > k) a = { msgs: a.msgs.slice(0, k + 1), error: null, status: 0 };
        if (b.msgs.length > k) b = { msgs: b.msgs.slice(0, k + 1), error: null, status: 0 };
        break;
      }
    }
    const text = c.input.toString('latin1');
    const miss = (detail: string): void => void r.mismatches.push({ input: r.mismatches.length < 20 ? text : '', detail, mutations: [c.method, ...c.mutations] });
    const n = Math.min(a.msgs.length, b.msgs.length);
    let diff: string | null = null;
    for (let k = 0; k < n && diff === null; k++) {
      const d = sameMsg({ ...a.msgs[k]!, keepAlive: true, upgrade: false }, { ...b.msgs[k]!, keepAlive: true, upgrade: false });
      if (d !== null) diff = `response ${k}: ${d}`;
    }
    if (diff !== null) miss(diff);
    else if (a.error === null && b.error === null) {
      if (a.msgs.length === b.msgs.length) r.bothAccept++;
      else miss(`${a.msgs.length} responses vs ${b.msgs.length}`);
    } else if (a.error !== null && b.error !== null) {
      if (a.msgs.length === b.msgs.length) r.bothReject++;
      else if (a.msgs.length < b.msgs.length) {
        r.oursStricter[a.error] = (r.oursStricter[a.error] ?? 0) + 1;
        r.examples[a.error] ??= text;
      } else miss(`we read ${a.msgs.length} responses before ${a.error}, llhttp ${b.msgs.length} before ${b.error}`);
    } else if (a.error !== null) {
      if (a.msgs.length > b.msgs.length) miss(`we read ${a.msgs.length} responses before ${a.error}, llhttp ${b.msgs.length}`);
      else {
        r.oursStricter[a.error] = (r.oursStricter[a.error] ?? 0) + 1;
        r.examples[a.error] ??= text;
      }
    } else {
      r.theirsStricter[b.error!] = (r.theirsStricter[b.error!] ?? 0) + 1;
      r.examples[b.error!] ??= text;
      miss(`we accept what llhttp rejects with ${b.error}`);
    }
  }
  return r;
}

