// Nanoseconds per request of the fast engine's HTTP/1.1 request parser against Node's llhttp
// (the binding node:http uses, called from JS the way node:http calls it), on one keep-alive
// connection's worth of identical requests: a curl GET, a browser GET, a small JSON POST and a
// 16 KiB chunked upload. Best of 5 rounds after a warm-up.
// Run: npm run build && node dist/bench/parser.js
import { createRequire } from 'node:module';
import { RequestParser, type RequestHead } from '../src/engines/fast/http1/request-parser.js';

interface LlhttpParser {
  initialize(type: number, resource: object, maxHeaderSize: number, lenient: number): void;
  execute(b: Buffer): number | Error;
  [k: number]: unknown;
}
const { HTTPParser } = createRequire(import.meta.url)('_http_common') as {
  HTTPParser: { new (): LlhttpParser; REQUEST: number; kOnHeadersComplete: number; kOnBody: number; kOnMessageComplete: number; kOnHeaders: number };
};

const chunked = Array.from({ length: 4 }, () => `1000\r\n${'x'.repeat(4096)}\r\n`).join('') + '0\r\n\r\n';
const CASES: [string, string][] = [
  ['curl GET (3 fields)', 'GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n'],
  [
    'browser GET (10 fields)',
    'GET /search?q=load+balancer&lang=en HTTP/1.1\r\nHost: www.example.com\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\n' +
      'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36\r\n' +
      'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8\r\nSec-Fetch-Site: none\r\nSec-Fetch-Mode: navigate\r\n' +
      'Accept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9,de;q=0.8\r\nCookie: session=abc123; theme=dark\r\n\r\n',
  ],
  ['JSON POST, Content-Length 26', 'POST /api/items HTTP/1.1\r\nHost: api.example.com\r\nContent-Type: application/json\r\nContent-Length: 26\r\n\r\n{"name":"balancer","n":42}'],
  ['chunked upload, 4 x 4 KiB', `POST /upload HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n${chunked}`],
];

const N = 200_000;
let sink = 0;

function ours(buf: Buffer): number {
  const p = new RequestParser({
    onHead: (h: RequestHead) => void (sink += h.rawHeaders.length),
    onBody: (b) => void (sink += b.length),
    onComplete: () => void sink++,
  });
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) p.execute(buf, 0);
  return Number(process.hrtime.bigint() - t) / N;
}

function llhttp(buf: Buffer): number {
  const p = new HTTPParser();
  p[HTTPParser.kOnHeadersComplete] = (_a: number, _b: number, headers: string[]) => void (sink += headers.length);
  p[HTTPParser.kOnBody] = (b: Buffer) => void (sink += b.length);
  p[HTTPParser.kOnMessageComplete] = () => void sink++;
  p[HTTPParser.kOnHeaders] = () => {};
  p.initialize(HTTPParser.REQUEST, {}, 0, 0);
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) p.execute(buf);
  return Number(process.hrtime.bigint() - t) / N;
}

console.log(`node ${process.version}, llhttp ${process.versions.llhttp}; ns per request, best of 5 rounds of ${N}`);
console.log(`${'request'.padEnd(30)} ${'ours'.padStart(8)} ${'llhttp'.padStart(8)}  ratio`);
for (const [name, text] of CASES) {
  const buf = Buffer.from(text, 'latin1');
  ours(buf);
  llhttp(buf);
  let a = Infinity;
  let b = Infinity;
  for (let r = 0; r < 5; r++) {
    a = Math.min(a, ours(buf));
    b = Math.min(b, llhttp(buf));
  }
  console.log(`${name.padEnd(30)} ${a.toFixed(0).padStart(8)} ${b.toFixed(0).padStart(8)}  ${(a / b).toFixed(2)}`);
}
if (sink === 42) console.log('');
