// Differential fuzzing of the fast engine's request parser against Node's llhttp: a generator of
// requests by structured mutation of a corpus of real ones, the two parsers run side by side,
// and a classification of every difference. Used by differential.test.ts (fixed seed) and
// bench/fuzz-parser.ts (long runs).

import { createRequire } from 'node:module';
import { RequestParser } from '../../../../src/engines/fast/http1/request-parser.js';
import { HttpParseError } from '../../../../src/engines/fast/http1/parse-error.js';
import { DEFAULT_HEAD_LIMITS } from '../../../../src/engines/fast/http1/limits.js';
import { mulberry32 } from '../../../control/selection/helpers.js';

// ---------------------------------------------------------------------------------------------
// The generator.

/** A seeded random source in [0, 1). */
export type Rng = () => number;

/** One chunk of a chunked body, every part mutable. */
export interface Chunk {
  size: string;
  ext: string;
  eol1: string;
  data: string;
  eol2: string;
}

/** A message as the generator builds it: start line, fields, line ends and body, each mutable. */
export interface Req {
  lead: string;
  method: string;
  sp1: string;
  target: string;
  sp2: string;
  version: string;
  headers: [string, string][];
  sep: string[]; // separator between name and value, per header (normally ': ')
  eol: string[]; // line end per line: request line, each header, then the empty line
  body: { kind: 'none' } | { kind: 'raw'; data: string } | { kind: 'chunked'; chunks: Chunk[]; last: Chunk | null; trailers: string[]; end: string };
}

/** One of the items, at random. */
export function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)]!;
}

/** An integer in [0, n). */
export function int(rng: Rng, n: number): number {
  return Math.floor(rng() * n);
}

const UA_CURL = 'curl/8.5.0';
const UA_CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36';

/** A well-formed chunk holding data. */
export function chunk(data: string): Chunk {
  return { size: data.length.toString(16), ext: '', eol1: '\r\n', data, eol2: '\r\n' };
}

function req(method: string, target: string, headers: [string, string][], body: Req['body'] = { kind: 'none' }, version = 'HTTP/1.1'): Req {
  return {
    lead: '',
    method,
    sp1: ' ',
    target,
    sp2: ' ',
    version,
    headers,
    sep: headers.map(() => ': '),
    eol: Array.from({ length: headers.length + 2 }, () => '\r\n'),
    body,
  };
}

/** The corpus: requests as curl, browsers, fetch/undici, load balancers' health checks and proxies send them. */
function corpus(): Req[] {
  const json = '{"name":"balancer","n":42}';
  return [
    req('GET', '/', [['Host', 'example.com'], ['User-Agent', UA_CURL], ['Accept', '*/*']]),
    req('GET', '/search?q=load+balancer&lang=en', [
      ['Host', 'www.example.com'],
      ['Connection', 'keep-alive'],
      ['Upgrade-Insecure-Requests', '1'],
      ['User-Agent', UA_CHROME],
      ['Accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8'],
      ['Accept-Encoding', 'gzip, deflate, br'],
      ['Accept-Language', 'en-US,en;q=0.9,de;q=0.8'],
      ['Cookie', 'session=abc123; theme=dark'],
    ]),
    req('POST', '/api/items', [['Host', 'api.example.com:8080'], ['Content-Type', 'application/json'], ['Content-Length', String(json.length)]], { kind: 'raw', data: json }),
    req('POST', '/upload', [['host', 'localhost'], ['content-type', 'application/octet-stream'], ['transfer-encoding', 'chunked'], ['connection', 'keep-alive']], {
      kind: 'chunked',
      chunks: [chunk('hello '), chunk('world, this is a chunked body'), chunk('x'.repeat(20))],
      last: chunk(''),
      trailers: [],
      end: '\r\n',
    }),
    req('PUT', '/files/report.pdf', [['Host', '127.0.0.1:3000'], ['User-Agent', UA_CURL], ['Content-Length', '11'], ['Expect', '100-continue']], { kind: 'raw', data: 'hello world' }),
    req('GET', '/chat', [
      ['Host', 'ws.example.com'],
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
      ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='],
      ['Sec-WebSocket-Version', '13'],
      ['Origin', 'https://example.com'],
    ]),
    req('HEAD', '/health', [['Host', '10.0.0.5'], ['User-Agent', 'HAProxy']]),
    req('OPTIONS', '*', [['Host', 'example.com'], ['Access-Control-Request-Method', 'PUT']]),
    req('DELETE', '/api/items/7', [['Host', 'api.example.com'], ['Authorization', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc'], ['Content-Length', '0']]),
    req('PATCH', '/api/items/7', [['Host', 'api.example.com'], ['Content-Type', 'application/merge-patch+json'], ['Content-Length', '13']], { kind: 'raw', data: '{"n":43,"x":1}'.slice(0, 13) }),
    req('GET', '/old', [['Connection', 'Keep-Alive'], ['User-Agent', 'ApacheBench/2.3']], { kind: 'none' }, 'HTTP/1.0'),
    req('GET', 'http://example.com/proxy/path?x=1', [['Host', 'example.com'], ['Proxy-Connection', 'keep-alive']]),
    req('CONNECT', 'example.com:443', [['Host', 'example.com:443'], ['User-Agent', UA_CURL]]),
    req('POST', '/rpc', [['Host', '[::1]:8080'], ['TE', 'trailers'], ['Transfer-Encoding', 'chunked'], ['Content-Type', 'application/grpc']], {
      kind: 'chunked',
      chunks: [{ ...chunk('abc'), ext: ';name=value' }, chunk('defg')],
      last: chunk(''),
      trailers: ['Grpc-Status: 0', 'Grpc-Message: ok'],
      end: '\r\n',
    }),
    req('POST', '/form', [['Host', 'example.com'], ['Content-Type', 'application/x-www-form-urlencoded'], ['Content-Length', '7'], ['X-Forwarded-For', '203.0.113.9, 10.0.0.1']], { kind: 'raw', data: 'a=1&b=2' }),
    req('GET', '/%E2%82%AC/caf%C3%A9?utf8=%E2%9C%93', [['Host', 'xn--caf-dma.example'], ['If-None-Match', '"abc"'], ['Cache-Control', 'no-cache']]),
  ];
}

/** A deep copy of a message. */
export function clone(r: Req): Req {
  const body =
    r.body.kind === 'chunked'
      ? { ...r.body, chunks: r.body.chunks.map((c) => ({ ...c })), last: r.body.last && { ...r.body.last }, trailers: [...r.body.trailers] }
      : { ...r.body };
  return { ...r, headers: r.headers.map((h) => [h[0], h[1]]), sep: [...r.sep], eol: [...r.eol], body };
}

/** The corpus as raw requests, unmutated: what normal clients send. */
export function corpusRequests(): string[] {
  return corpus().map(serialize);
}

/** The request as bytes (latin1). */
export function serialize(r: Req): string {
  let s = r.lead + r.method + r.sp1 + r.target + r.sp2 + r.version + r.eol[0];
  for (let i = 0; i < r.headers.length; i++) s += r.headers[i]![0] + r.sep[i] + r.headers[i]![1] + r.eol[i + 1];
  s += r.eol[r.headers.length + 1];
  const b = r.body;
  if (b.kind === 'raw') s += b.data;
  else if (b.kind === 'chunked') {
    for (const c of b.chunks) s += c.size + c.ext + c.eol1 + c.data + c.eol2;
    if (b.last) s += b.last.size + b.last.ext + b.last.eol1;
    if (b.last) for (const t of b.trailers) s += t + '\r\n';
    if (b.last) s += b.end;
  }
  return s;
}

const CTL_AND_FRIENDS = ['\x00', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f', '\r', '\n', '\t', ' ', '\x80', '\xff', ':', '"', '(', ',', ';', '\\'];
/** Line ends other than CRLF (and some that are CRLF plus junk). */
export const EOLS = ['\n', '\r', '\r\r\n', '\n\r', ' \r\n', '\t\r\n', '\r\n\r\n', '', '\r \n'];
const CL_VALUES = ['0', '5', '05', '5, 5', '5,5', '5, 6', '+5', '-1', ' 5', '5 ', '5 5', '0x5', '1e3', '', '9007199254740991', '9007199254740992', '18446744073709551616', '5\x00', '٥'];
const TE_VALUES = ['chunked', 'Chunked', 'CHUNKED', 'gzip, chunked', 'chunked, gzip', 'identity', 'gzip', 'chunked, chunked', ' chunked', 'chunked ', 'chunked;q=1', 'xchunked', 'chunkedx', 'chunked\x00', 'chunked,', ',chunked', 'deflate,chunked', ''];
const HOST_VALUES = ['example.com', 'example.com:80', '127.0.0.1', '[::1]', '[::1]:80', '', 'a b', 'a/b', 'u@h', 'h:8x', '[::1', 'ex_ample.com', 'EXAMPLE.COM', 'h:'];
const CONN_VALUES = ['close', 'keep-alive', 'Upgrade', 'upgrade, keep-alive', 'Keep-Alive, close', 'TE', 'x-foo'];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'PURGE', 'get', 'Get', 'G\x00T', 'GE T', '', 'M-SEARCH', 'SOURCE', 'FOO', 'GET\t', 'PROPFIND', 'QUERY', 'CONNECT', 'TRACE', 'G(T', 'GET/'];
const TARGETS = ['*', 'http://example.com/a', 'https://x.test:8443/p?q', 'example.com:443', '//a', '', 'a', '/a?b#c', '/%00', '/\xe9', '/a b', 'HTTP://EXAMPLE.COM', '/' + 'x'.repeat(300), '/?a=1&b=%20'];
/** HTTP versions, valid and not. */
export const VERSIONS = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/1.2', 'HTTP/2.0', 'HTTP/0.9', 'http/1.1', 'HTTP/1.1 ', 'HTTP/1', 'HTTP/11', 'HTTP/1.1\t', 'HTTP /1.1', 'HTTP/3.0', 'HTTP/9.9', 'HTTP/1.01'];
const CHUNK_SIZES = (n: number): string[] => {
  const h = n.toString(16);
  return [h.toUpperCase(), '0' + h, '000000000000' + h, '0x' + h, (n + 1).toString(16), Math.max(0, n - 1).toString(16), h + ' ', h + '\t', ' ' + h, '-' + h, '+' + h, '1' + '0'.repeat(14), 'fffffffffffffffff', '', 'g'];
};
const CHUNK_EXTS = [';a=b', ';a', '; a=b', ';a = b', ';a="x y"', ';a="unterminated', ';' + 'x'.repeat(300), ';a=\x01', ' ;a', ';a=b;c=d', ';=b', ';a="\\"q"', ';a=\xe9'];
const TRAILERS = ['X-T: 1', 'Content-Length: 5', ' obs', 'Bad : x', 'X\x00: y', 'Transfer-Encoding: chunked', 'X-A:\x01', 'NoColon'];
const HEADER_POOL = (): [string, string][] => [
  ['Content-Length', '5'],
  ['Transfer-Encoding', 'chunked'],
  ['Host', 'example.com'],
  ['Connection', 'close'],
  ['Upgrade', 'websocket'],
  ['Expect', '100-continue'],
  ['X-Custom', 'value'],
  ['Content-Length', '0'],
  ['Cookie', 'a=b'],
];

/** One structured mutation. */
export type Mutator = (r: Req, rng: Rng) => void;

function mutateHeaderText(r: Req, rng: Rng, part: 0 | 1, f: (s: string) => string): void {
  if (r.headers.length === 0) return;
  const h = r.headers[int(rng, r.headers.length)]!;
  h[part] = f(h[part]);
}

function insertAt(s: string, rng: Rng, c: string): string {
  const i = int(rng, s.length + 1);
  return s.slice(0, i) + c + s.slice(i);
}

/** The structured mutations, by name. */
export const MUTATORS: [string, Mutator][] = [
  ['method', (r, rng) => void (r.method = pick(rng, METHODS))],
  ['target', (r, rng) => void (r.target = pick(rng, TARGETS))],
  ['target-char', (r, rng) => void (r.target = insertAt(r.target, rng, pick(rng, [...CTL_AND_FRIENDS, '#', '%', '<', '{', '|', '^', '`'])))],
  ['version', (r, rng) => void (r.version = pick(rng, VERSIONS))],
  ['spaces', (r, rng) => void (rng() < 0.5 ? (r.sp1 = pick(rng, ['  ', '\t', '', ' \t'])) : (r.sp2 = pick(rng, ['  ', '\t', '', ' \t'])))],
  [
    'add-header',
    (r, rng) => {
      const [n, v0] = pick(rng, HEADER_POOL());
      const v = n === 'Content-Length' ? pick(rng, CL_VALUES) : n === 'Transfer-Encoding' ? pick(rng, TE_VALUES) : n === 'Host' ? pick(rng, HOST_VALUES) : n === 'Connection' ? pick(rng, CONN_VALUES) : v0;
      const at = int(rng, r.headers.length + 1);
      r.headers.splice(at, 0, [n, v]);
      r.sep.splice(at, 0, ': ');
      r.eol.splice(at + 1, 0, '\r\n');
    },
  ],
  [
    'framing-value',
    (r, rng) => {
      for (const h of r.headers) {
        const n = h[0].toLowerCase();
        if (n === 'content-length') h[1] = pick(rng, CL_VALUES);
        else if (n === 'transfer-encoding') h[1] = pick(rng, TE_VALUES);
        else if (n === 'host') h[1] = pick(rng, HOST_VALUES);
        else continue;
        return;
      }
    },
  ],
  [
    'dup-header',
    (r, rng) => {
      if (r.headers.length === 0) return;
      const i = int(rng, r.headers.length);
      const h = r.headers[i]!;
      r.headers.splice(i + 1, 0, [h[0], rng() < 0.5 ? h[1] : h[1] + '0']);
      r.sep.splice(i + 1, 0, r.sep[i]!);
      r.eol.splice(i + 2, 0, '\r\n');
    },
  ],
  [
    'drop-header',
    (r, rng) => {
      if (r.headers.length === 0) return;
      const i = int(rng, r.headers.length);
      r.headers.splice(i, 1);
      r.sep.splice(i, 1);
      r.eol.splice(i + 1, 1);
    },
  ],
  ['case', (r, rng) => mutateHeaderText(r, rng, 0, (s) => (rng() < 0.5 ? s.toUpperCase() : s.toLowerCase()))],
  [
    'colon-space',
    (r, rng) => {
      if (r.headers.length === 0) return;
      r.sep[int(rng, r.sep.length)] = pick(rng, [' : ', '\t: ', ':', ':\t', ':   ', ' :', '::', ': \t ']);
    },
  ],
  [
    'value-ows',
    (r, rng) => mutateHeaderText(r, rng, 1, (s) => pick(rng, [' ', '\t', '  ']) + s + pick(rng, ['', ' ', '\t', ' \t'])),
  ],
  [
    'obs-fold',
    (r, rng) => {
      if (r.headers.length === 0) return;
      const i = int(rng, r.headers.length);
      r.headers[i]![1] += '\r\n' + pick(rng, [' ', '\t']) + 'folded';
    },
  ],
  ['name-char', (r, rng) => mutateHeaderText(r, rng, 0, (s) => insertAt(s, rng, pick(rng, CTL_AND_FRIENDS)))],
  ['value-char', (r, rng) => mutateHeaderText(r, rng, 1, (s) => insertAt(s, rng, pick(rng, CTL_AND_FRIENDS)))],
  [
    'eol',
    (r, rng) => void (r.eol[int(rng, r.eol.length)] = pick(rng, EOLS)),
  ],
  ['lead', (r, rng) => void (r.lead = pick(rng, ['\r\n', '\n', '\r\n\r\n', ' ', '\r']))],
  [
    'chunk',
    (r, rng) => {
      const b = r.body;
      if (b.kind !== 'chunked') return;
      const all = b.last ? [...b.chunks, b.last] : b.chunks;
      const c = pick(rng, all);
      switch (int(rng, 6)) {
        case 0:
          c.size = pick(rng, CHUNK_SIZES(c.data.length));
          break;
        case 1:
          c.ext = pick(rng, CHUNK_EXTS);
          break;
        case 2:
          c.eol1 = pick(rng, EOLS);
          break;
        case 3:
          c.eol2 = pick(rng, EOLS);
          break;
        case 4:
          b.trailers.push(pick(rng, TRAILERS));
          break;
        default:
          if (rng() < 0.5) b.last = null;
          else b.end = pick(rng, ['\n', '', '\r\n\r\n', 'X']);
      }
    },
  ],
  [
    'body-length',
    (r, rng) => {
      const b = r.body;
      if (b.kind === 'raw') b.data = rng() < 0.5 ? b.data.slice(0, int(rng, b.data.length)) : b.data + 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n';
      else if (b.kind === 'none') r.body = { kind: 'raw', data: pick(rng, ['abc', '0\r\n\r\n', 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n']) };
    },
  ],
  [
    'to-chunked',
    (r, rng) => {
      const data = r.body.kind === 'raw' ? r.body.data : 'payload';
      r.body = { kind: 'chunked', chunks: [chunk(data)], last: chunk(''), trailers: [], end: '\r\n' };
      const i = r.headers.findIndex((h) => h[0].toLowerCase() === 'content-length');
      if (i >= 0 && rng() < 0.7) r.headers[i] = ['Transfer-Encoding', 'chunked'];
      else {
        r.headers.push(['Transfer-Encoding', pick(rng, TE_VALUES)]);
        r.sep.push(': ');
        r.eol.splice(r.headers.length, 0, '\r\n');
      }
    },
  ],
];

/**
 * One message from `base` with 0 to 3 of `mutators` applied, a quarter of the time followed by a
 * second (pipelined); the names of what was applied go to `mutations`. Shared by the request and
 * response generators: the order of `rng` calls is what makes a seed replay the same case.
 */
export function mutatedMessages(rng: Rng, base: readonly Req[], mutators: readonly [string, Mutator][], mutations: string[]): string {
  const one = (): string => {
    const r = clone(pick(rng, base));
    const n = rng() < 0.1 ? 0 : 1 + int(rng, 3);
    for (let i = 0; i < n; i++) {
      const [name, m] = pick(rng, mutators);
      m(r, rng);
      mutations.push(name);
    }
    return serialize(r);
  };
  let text = one();
  if (rng() < 0.25) {
    text += one();
    mutations.push('pipelined');
  }
  return text;
}

/** Up to three sorted places (0..length) to split the input at, for feeding our parser in pieces. */
export function splitPoints(rng: Rng, length: number): number[] {
  return Array.from({ length: int(rng, 4) }, () => int(rng, length + 1)).sort((a, b) => a - b);
}

/** One generated case: the bytes, the mutations applied, and where to split them for our parser. */
export interface Case {
  input: Buffer;
  mutations: string[];
  splits: number[];
}

/** A deterministic generator of cases from `seed`. */
export function generator(seed: number): () => Case {
  const rng = mulberry32(seed);
  const base = corpus();
  return () => {
    const mutations: string[] = [];
    let text = mutatedMessages(rng, base, MUTATORS, mutations);
    if (rng() < 0.05) {
      // A raw byte mutation anywhere: insert, delete or replace.
      const i = int(rng, text.length);
      const c = String.fromCharCode(int(rng, 256));
      const k = int(rng, 3);
      text = k === 0 ? text.slice(0, i) + c + text.slice(i) : k === 1 ? text.slice(0, i) + text.slice(i + 1) : text.slice(0, i) + c + text.slice(i + 1);
      mutations.push('byte');
    }
    const input = Buffer.from(text, 'latin1');
    return { input, mutations, splits: splitPoints(rng, input.length) };
  };
}

// ---------------------------------------------------------------------------------------------
// The two parsers.

/** One request as a parser saw it. */
export interface Msg {
  method: string;
  target: string;
  rawHeaders: string[];
  body: string;
  trailers: string[];
  upgrade: boolean;
  hasBody: boolean;
  keepAlive: boolean;
}

/** What one parser made of one input: the complete requests (an upgrade counts at its head), then the error if any. */
export interface Result {
  msgs: Msg[];
  error: string | null;
  status: number;
  /** llhttp found bytes after a request that closes the connection (node:http answers them with 400; the requests before count). */
  dataAfterClose?: boolean;
  /** Our parser is inside a head it has not yet accepted or rejected (waiting for a line end). */
  pendingHead?: boolean;
}

/** Our parser over `input` delivered in pieces cut at `splits`. */
export function runOurs(input: Buffer, splits: readonly number[]): Result {
  const msgs: Msg[] = [];
  let cur: Msg | null = null;
  let tunnel = false;
  const p = new RequestParser({
    onHead: (h) => {
      cur = { method: h.method, target: h.target, rawHeaders: h.rawHeaders, body: '', trailers: [], upgrade: h.upgrade, hasBody: h.chunked || h.contentLength > 0, keepAlive: h.keepAlive };
      if (h.upgrade) {
        msgs.push(cur);
        tunnel = true;
      }
    },
    onBody: () => {},
    onPayload: (b) => void (cur!.body += b.toString('latin1')),
    onTrailers: (t) => void (cur!.trailers = t),
    onComplete: () => {
      msgs.push(cur!);
      // The engine closes after a request that does not keep the connection alive: nothing after it is read.
      if (!cur!.keepAlive) tunnel = true;
    },
  });
  let prev = 0;
  try {
    for (const cut of [...splits, input.length]) {
      if (cut <= prev) continue;
      const piece = input.subarray(prev, cut);
      prev = cut;
      let off = 0;
      while (off < piece.length && !tunnel) off = p.execute(piece, off);
      if (tunnel) break;
    }
  } catch (err) {
    if (!(err instanceof HttpParseError)) throw err;
    return { msgs, error: err.code, status: err.status };
  }
  return { msgs, error: null, status: 0, pendingHead: !tunnel && !p.idle && !p.inBody };
}

/** Node's binding of llhttp, as node:http uses it. */
export interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(b: Buffer): number | (Error & { code?: string });
  finish(): number | undefined | (Error & { code?: string });
  close(): void;
  [k: number]: unknown;
}
/** What `_http_common` exports that the oracle uses. */
export interface LlhttpModule {
  HTTPParser: {
    new (): LlhttpParser;
    REQUEST: number;
    RESPONSE: number;
    kOnHeaders: number;
    kOnHeadersComplete: number;
    kOnBody: number;
    kOnMessageComplete: number;
    kLenientNone: number;
  };
  methods: string[];
}

/** Node's own binding of llhttp, the parser behind node:http (same build, same strict flags as a server with insecureHTTPParser: false); internal, but present and stable on Node 22 and 24. */
export const llhttp = createRequire(import.meta.url)('_http_common') as LlhttpModule;
// llhttp's method numbers (HTTP_ALL_METHOD_MAP): node exports the names of 0-33 and 46 only.
const LLHTTP_METHODS = [
  ...llhttp.methods.slice(0, 34),
  ...['PRI', 'DESCRIBE', 'ANNOUNCE', 'SETUP', 'PLAY', 'PAUSE', 'TEARDOWN', 'GET_PARAMETER', 'SET_PARAMETER', 'REDIRECT', 'RECORD', 'FLUSH', 'QUERY'],
];

/** Node's llhttp over the whole `input`, as node:http runs it (strict flags, our head limit), plus node:http's Host rule (requireHostHeader: an HTTP/1.1 request without Host gets 400). */
export function runLlhttp(input: Buffer, eof = false): Result {
  const { HTTPParser } = llhttp;
  const methods = LLHTTP_METHODS;
  const p = new HTTPParser();
  const msgs: Msg[] = [];
  let cur: Msg | null = null;
  let inHead = true;
  let noHost: Msg | null = null;
  let stop = false;
  // More than 32 fields arrive in batches through kOnHeaders before kOnHeadersComplete (as in node:http).
  let flushed: string[] = [];
  let flushedUrl = '';
  p[HTTPParser.kOnHeaders] = (headers: string[], url: string) => {
    if (inHead) {
      flushed.push(...headers);
      flushedUrl += url;
    } else if (cur) cur.trailers.push(...headers);
  };
  p[HTTPParser.kOnHeadersComplete] = (_maj: number, minor: number, headers: string[] | undefined, method: number, url: string, _sc: unknown, _sm: unknown, upgrade: boolean, keepAlive: boolean) => {
    const rawHeaders = headers ?? flushed;
    if (headers === undefined) url = flushedUrl + (url ?? '');
    flushed = [];
    flushedUrl = '';
    cur = { method: methods[method] ?? String(method), target: url, rawHeaders, body: '', trailers: [], upgrade: Boolean(upgrade), hasBody: false, keepAlive: Boolean(keepAlive) };
    inHead = false;
    let host = false;
    for (let i = 0; i < rawHeaders.length; i += 2) if (rawHeaders[i]!.toLowerCase() === 'host') host = true;
    if (minor === 1 && !host && noHost === null) noHost = cur;
    return 0;
  };
  p[HTTPParser.kOnBody] = (b: Buffer) => {
    cur!.body += b.toString('latin1');
    cur!.hasBody = true;
  };
  p[HTTPParser.kOnMessageComplete] = () => {
    if (!stop) msgs.push(cur!);
    if (cur!.upgrade) stop = true;
    inHead = true;
  };
  p.initialize(HTTPParser.REQUEST, {}, DEFAULT_HEAD_LIMITS.maxHeaderBytes, HTTPParser.kLenientNone);
  let ret = p.execute(input);
  // With eof: the client half-closed after the input, so node:http calls finish() (a cut message is an error).
  if (eof && typeof ret === 'number' && !stop) {
    const fin = p.finish();
    if (typeof fin !== 'number' && fin !== undefined) ret = fin;
  }
  p.close();
  // node:http answers 400 to the first request without Host, after serving the ones before it.
  if (noHost !== null) {
    const i = msgs.indexOf(noHost);
    if (i >= 0 || (typeof ret !== 'number' && msgs.length === 0)) return { msgs: msgs.slice(0, Math.max(0, i)), error: 'NODE_NO_HOST', status: 400 };
    if (typeof ret === 'number') return { msgs, error: 'NODE_NO_HOST', status: 400 };
  }
  // Data after a request that ends the connection: node:http closes after answering it, as our engine does.
  if (typeof ret !== 'number' && ret.code === 'HPE_CLOSED_CONNECTION') return { msgs, error: null, status: 0, dataAfterClose: true };
  if (typeof ret !== 'number') return { msgs, error: ret.code ?? 'HPE_UNKNOWN', status: 400 };
  return { msgs, error: null, status: 0 };
}

// ---------------------------------------------------------------------------------------------
// The comparison.

/** How one case came out. */
export type Verdict =
  | { kind: 'both-accept' }
  | { kind: 'both-reject'; ours: string; theirs: string }
  /** llhttp rejects a head we are still reading (we wait for its line end): nothing accepted yet. */
  | { kind: 'undecided'; theirs: string }
  /** We reject what llhttp accepts (strictness we chose), by our code. */
  | { kind: 'ours-stricter'; ours: string }
  /** We accept what llhttp rejects, by llhttp's code: a violation when `framing`. */
  | { kind: 'theirs-stricter'; theirs: string; framing: boolean }
  /** Both accepted but parsed differently: always a violation. */
  | { kind: 'mismatch'; detail: string };

// llhttp rejections that do not touch message framing: its fixed method list, URL bytes it
// refuses, and node:http's Host rule. Everything else (CL, TE, chunks, line ends, header syntax)
// counts as framing: we must never accept what llhttp rejects there.
const NON_FRAMING = new Set(['HPE_INVALID_METHOD', 'HPE_INVALID_URL', 'NODE_NO_HOST']);

/** Why two parsed messages differ, or null when they are the same. */
export function sameMsg(a: Msg, b: Msg): string | null {
  if (a.method !== b.method) return `method ${JSON.stringify(a.method)} vs ${JSON.stringify(b.method)}`;
  if (a.target !== b.target) return `target ${JSON.stringify(a.target)} vs ${JSON.stringify(b.target)}`;
  if (JSON.stringify(a.rawHeaders) !== JSON.stringify(b.rawHeaders)) return `headers ${JSON.stringify(a.rawHeaders)} vs ${JSON.stringify(b.rawHeaders)}`;
  if (a.body !== b.body) return `body ${JSON.stringify(a.body)} vs ${JSON.stringify(b.body)}`;
  if (JSON.stringify(a.trailers) !== JSON.stringify(b.trailers)) return `trailers ${JSON.stringify(a.trailers)} vs ${JSON.stringify(b.trailers)}`;
  if (!a.hasBody && !b.hasBody && a.upgrade !== b.upgrade) return `upgrade ${a.upgrade} vs ${b.upgrade}`;
  // llhttp honours the non-standard Proxy-Connection like Connection; we do not.
  const proxyConnection = a.rawHeaders.some((h, i) => i % 2 === 0 && h.toLowerCase() === 'proxy-connection');
  if (a.keepAlive && !b.keepAlive && !a.upgrade && !b.upgrade && !proxyConnection) return `keepAlive ${a.keepAlive} vs ${b.keepAlive}`;
  return null;
}

/** Compares our result with llhttp's for one input. */
export function compare(ours: Result, theirs: Result): Verdict {
  // llhttp stops at an upgrade (after its body, if any): compare up to there.
  const up = theirs.msgs.findIndex((m) => m.upgrade);
  let a = ours;
  if (up >= 0 && ours.msgs.length > up) a = { msgs: ours.msgs.slice(0, up + 1), error: null, status: 0 };
  // Where we close the connection after a request (keepAlive false: close wins over keep-alive, and
  // Proxy-Connection is ignored) and llhttp would read on, compare up to there: closing smuggles nothing.
  const closed = a.msgs.findIndex((m) => !m.keepAlive && !m.upgrade);
  if (closed >= 0 && theirs.msgs.length > closed) theirs = { msgs: theirs.msgs.slice(0, closed + 1), error: null, status: 0 };
  const n = Math.min(a.msgs.length, theirs.msgs.length);
  for (let i = 0; i < n; i++) {
    const d = sameMsg(a.msgs[i]!, theirs.msgs[i]!);
    if (d !== null) return { kind: 'mismatch', detail: `request ${i}: ${d}` };
  }
  const la = a.msgs.length;
  const lb = theirs.msgs.length;
  if (a.error === null && theirs.error === null) {
    if (la !== lb) return { kind: 'mismatch', detail: `${la} requests vs ${lb}` };
    return { kind: 'both-accept' };
  }
  if (a.error !== null && theirs.error !== null) {
    if (la === lb) return { kind: 'both-reject', ours: a.error, theirs: theirs.error };
    if (la < lb) return { kind: 'ours-stricter', ours: a.error };
    return { kind: 'theirs-stricter', theirs: theirs.error, framing: !NON_FRAMING.has(theirs.error) };
  }
  if (a.error !== null) {
    if (la > lb) return { kind: 'mismatch', detail: `we completed ${la} requests before failing, llhttp ${lb} without failing` };
    return { kind: 'ours-stricter', ours: a.error };
  }
  if (la < lb) return { kind: 'mismatch', detail: `llhttp completed ${lb} requests before failing, we ${la} without failing` };
  if (a.pendingHead) return { kind: 'undecided', theirs: theirs.error! };
  return { kind: 'theirs-stricter', theirs: theirs.error!, framing: !NON_FRAMING.has(theirs.error!) };
}

/** Counts of a fuzz run, with a few examples of each violation. */
export interface FuzzReport {
  cases: number;
  bothAccept: number;
  bothReject: number;
  undecided: number;
  oursStricter: Record<string, number>;
  theirsStricter: Record<string, number>;
  framingViolations: { input: string; theirs: string; mutations: string[] }[];
  mismatches: { input: string; detail: string; mutations: string[] }[];
  examples: Record<string, string>;
}

/** Runs `count` cases from `seed` through both parsers. */
export function fuzz(seed: number, count: number): FuzzReport {
  const next = generator(seed);
  const report: FuzzReport = { cases: count, bothAccept: 0, bothReject: 0, undecided: 0, oursStricter: {}, theirsStricter: {}, framingViolations: [], mismatches: [], examples: {} };
  for (let i = 0; i < count; i++) {
    const c = next();
    const v = compare(runOurs(c.input, c.splits), runLlhttp(c.input));
    const text = c.input.toString('latin1');
    switch (v.kind) {
      case 'both-accept':
        report.bothAccept++;
        break;
      case 'both-reject':
        report.bothReject++;
        break;
      case 'undecided':
        report.undecided++;
        break;
      case 'ours-stricter':
        report.oursStricter[v.ours] = (report.oursStricter[v.ours] ?? 0) + 1;
        report.examples[v.ours] ??= text;
        break;
      case 'theirs-stricter':
        report.theirsStricter[v.theirs] = (report.theirsStricter[v.theirs] ?? 0) + 1;
        report.examples[v.theirs] ??= text;
        if (v.framing && report.framingViolations.length < 20) report.framingViolations.push({ input: text, theirs: v.theirs, mutations: c.mutations });
        else if (v.framing) report.framingViolations.push({ input: '', theirs: v.theirs, mutations: [] });
        break;
      case 'mismatch':
        report.mismatches.push({ input: report.mismatches.length < 20 ? text : '', detail: v.detail, mutations: c.mutations });
        break;
    }
  }
  return report;
}
