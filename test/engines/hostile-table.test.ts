// The hostile-request table (issue 11, Proof): raw requests a proxy must refuse or frame exactly,
// sent to the real CLI on raw sockets, against whichever engine BALANCER_TEST_ENGINE names. For
// each row: the answer (status, or a close), whether the connection is closed after it, and the
// exact request lines the backend's own HTTP parser saw for that row: nothing smuggled. A normal
// client is served 200 all the while. Rows run at once; each has its own path prefix (/hN).
import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { ENGINE_UNDER_TEST, startBalancer, type BalancerProcess } from '../helpers/cluster.js';
import { recordingBackend, type RecordingBackend } from '../helpers/raw-backend.js';

/** The engine under test (BALANCER_TEST_ENGINE, else the default). */
const ENGINE = ENGINE_UNDER_TEST;

/** A pause between parts of what a row sends. */
interface Wait {
  readonly wait: number;
}
type Part = string | Buffer | Wait;

/** What a row must get. */
interface Expect {
  /** Allowed statuses of the first answer; [] when the balancer must close without one. */
  readonly status: readonly number[];
  /** A close without any answer is also fine (e.g. for bytes that are not HTTP at all). */
  readonly closeOk?: boolean;
  /** Answers to read before the client half-closes (accepted rows; default 1). */
  readonly responses?: number;
  /** Exactly these request lines (with " body=N" once complete) reach the backend for this row. */
  readonly upstream: readonly string[];
  /** Fewer answers than `responses` are fine when the balancer closed the connection. */
  readonly mayCloseEarly?: boolean;
  /** The balancer must close the connection after its (good) answer. */
  readonly closes?: boolean;
  /** Lines that may reach it besides (a request refused mid-body may have been started upstream). */
  readonly maybe?: readonly string[];
}

/** One row of the table; `send` gets the row's path prefix (/hNN). */
interface Row {
  readonly name: string;
  readonly send: (p: string) => Part[];
  readonly expect: Expect;
  /** Where the node engine (llhttp) differs harmlessly: both refuse, or node is laxer on a pure limit. */
  readonly node?: Expect;
}

const H = 'Host: x\r\n';
const REJECT: Expect = { status: [400], upstream: [] };
const LIMIT: Expect = { status: [400, 414, 431], upstream: [] };
/** A request a backend must see once, with its body framed exactly. */
const ok = (line: string, body = 0): Expect => ({ status: [200], upstream: [`${line} body=${body}`] });
const smuggled = (p: string) => `GET ${p}-smuggled HTTP/1.1\r\n${H}\r\n`;
/** Its length (row prefixes all have two digits). */
const SMUGGLED = smuggled('/h00').length;
/** A POST with `headers` and `body`. */
const post = (p: string, headers: string, body: string) => `POST ${p} HTTP/1.1\r\n${H}${headers}\r\n${body}`;
/** A chunked POST with `chunks` (raw chunk framing, terminator included). */
const chunked = (p: string, chunks: string) => post(p, 'Transfer-Encoding: chunked\r\n', chunks);
const trickle = (text: string, everyMs: number): Part[] => [...text].flatMap((c) => [c, { wait: everyMs }]);

/** The table. */
function rows(victimPort: number, clientHello: Buffer): Row[] {
  return [
    // Framing: Content-Length and Transfer-Encoding together or malformed (request smuggling).
    { name: 'CL and TE: chunked together (CL.TE)', send: (p) => [post(p, 'Content-Length: 6\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    { name: 'TE: chunked and CL together (TE.CL)', send: (p) => [post(p, 'Transfer-Encoding: chunked\r\nContent-Length: 3\r\n', `5\r\nhello\r\n0\r\n\r\n`)], expect: REJECT },
    { name: 'TE: chunked, identity', send: (p) => [post(p, 'Transfer-Encoding: chunked, identity\r\n', `5\r\nhello\r\n0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    // 501 is RFC 9112 §6.1's answer to a coding the server does not know; refused and closed either way.
    { name: 'TE: identity, chunked + CL', send: (p) => [post(p, 'Transfer-Encoding: identity, chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')], expect: { status: [400, 501], upstream: [] } },
    { name: 'TE: xchunked', send: (p) => [post(p, 'Transfer-Encoding: xchunked\r\n', `5\r\nhello\r\n0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    { name: 'TE: chunked;q=1 (parameter)', send: (p) => [post(p, 'Transfer-Encoding: chunked;q=1\r\n', `0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    { name: 'TE: gzip (not chunked last)', send: (p) => [post(p, 'Transfer-Encoding: gzip\r\n', `0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    { name: 'TE: chunked twice (two headers)', send: (p) => [post(p, 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n`)], expect: REJECT },
    { name: 'TE folded onto the line before (" Transfer-Encoding: chunked")', send: (p) => [post(p, 'X-A: a\r\n Transfer-Encoding: chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')], expect: REJECT },
    { name: 'TE value folded (obs-fold "Transfer-Encoding:\\r\\n chunked")', send: (p) => [post(p, 'Transfer-Encoding:\r\n chunked\r\n', `0\r\n\r\n${smuggled(p)}`)], expect: REJECT },
    { name: 'TE with space before the colon', send: (p) => [post(p, 'Transfer-Encoding : chunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')], expect: REJECT },
    {
      name: 'TE: chunked in HTTP/1.0',
      send: (p) => [`POST ${p} HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n${smuggled(p)}`],
      expect: REJECT,
      // Finding: llhttp decodes the chunked body and closes after the answer (RFC 9112 §6.1's
      // second half); nothing after it is read, so nothing is smuggled, but it is not refused.
      node: { status: [200], closes: true, upstream: ['POST /hN HTTP/1.1 body=0'] },
    },
    { name: 'TE with a vertical tab ("\\vchunked")', send: (p) => [post(p, 'Transfer-Encoding: \x0bchunked\r\nContent-Length: 5\r\n', '0\r\n\r\n')], expect: REJECT },
    { name: 'TE: chunked, tab before the value (valid OWS) is framed as chunked', send: (p) => [chunked(p, '5\r\nhello\r\n0\r\n\r\n').replace('Encoding: ', 'Encoding:\t')], expect: ok(`POST /hN HTTP/1.1`, 5) },
    { name: 'CL twice, differing', send: (p) => [post(p, 'Content-Length: 5\r\nContent-Length: 6\r\n', 'hello!')], expect: REJECT },
    { name: 'CL listed, differing ("5, 6")', send: (p) => [post(p, 'Content-Length: 5, 6\r\n', 'hello!')], expect: REJECT },
    { name: 'CL with a sign (+5)', send: (p) => [post(p, 'Content-Length: +5\r\n', 'hello')], expect: REJECT },
    { name: 'CL negative (-1)', send: (p) => [post(p, 'Content-Length: -1\r\n', smuggled(p))], expect: REJECT },
    { name: 'CL in hex (0x5)', send: (p) => [post(p, 'Content-Length: 0x5\r\n', 'hello')], expect: REJECT },
    { name: 'CL with a space inside ("1 0")', send: (p) => [post(p, 'Content-Length: 1 0\r\n', 'hello')], expect: REJECT },
    { name: 'CL too large for 64 bits', send: (p) => [post(p, 'Content-Length: 99999999999999999999999\r\n', 'hello')], expect: { status: [400, 413], upstream: [] } },
    { name: 'CL with leading zeros (005) is 5', send: (p) => [post(p, 'Content-Length: 005\r\n', 'hello')], expect: ok('POST /hN HTTP/1.1', 5) },
    { name: 'a chunked GET has its body framed', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`], expect: ok('GET /hN HTTP/1.1', 5) },
    { name: 'CL with space before the colon', send: (p) => [post(p, 'Content-Length : 5\r\n', 'hello')], expect: REJECT },
    // Header syntax.
    { name: 'obs-fold in an ordinary header', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`], expect: REJECT },
    { name: 'space before a colon (Host : x)', send: (p) => [`GET ${p} HTTP/1.1\r\nHost : x\r\n\r\n`], expect: REJECT },
    { name: 'NUL in a header name', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-\0A: b\r\n\r\n`], expect: REJECT },
    { name: 'NUL in a header value', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A: a\0b\r\n\r\n`], expect: REJECT },
    { name: 'control character (0x01) in a header value', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`], expect: REJECT },
    { name: 'DEL in a header name', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-\x7fA: b\r\n\r\n`], expect: REJECT },
    { name: 'a header line with no colon', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A b\r\n\r\n`], expect: REJECT },
    { name: 'bare CR inside a header value', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`], expect: REJECT },
    { name: 'bare LF line ends throughout', send: (p) => [`GET ${p} HTTP/1.1\n${H.replace('\r', '')}\n`], expect: REJECT },
    { name: 'bare LF ending a CL header, smuggled body', send: (p) => [post(p, 'X-A: a\nContent-Length: 29\r\n', smuggled(p))], expect: REJECT },
    // Chunked bodies: the head is fine, so the request may have been started upstream.
    { name: 'chunk size not hex (zz)', send: (p) => [chunked(p, `zz\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk size with a sign (+5)', send: (p) => [chunked(p, `+5\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk size 0x5', send: (p) => [chunked(p, `0x5\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk size past 64 bits', send: (p) => [chunked(p, `fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400, 413], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk data longer than its size, a request after it', send: (p) => [chunked(p, `3\r\nhello\r\n0\r\n\r\n${smuggled(p)}`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk data ended by a bare LF', send: (p) => [chunked(p, `5\r\nhello\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk size line ended by a bare LF', send: (p) => [chunked(p, `5\nhello\r\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk extension of 20 KiB', send: (p) => [chunked(p, `5;a=${'x'.repeat(20 * 1024)}\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400, 413], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    { name: 'chunk extension with a bare CR', send: (p) => [chunked(p, `5;a\rb\r\nhello\r\n0\r\n\r\n`)], expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] } },
    {
      name: 'a request line in the chunked trailer section',
      send: (p) => [chunked(p, `5\r\nhello\r\n0\r\n${smuggled(p)}`)],
      expect: { status: [400], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] },
    },
    { name: 'a short chunk extension is fine', send: (p) => [chunked(p, `5;name=value\r\nhello\r\n0\r\n\r\n`)], expect: ok('POST /hN HTTP/1.1', 5) },
    // Limits.
    { name: 'request line of 9 KiB (over 8 KiB)', send: (p) => [`GET ${p}/${'a'.repeat(9 * 1024)} HTTP/1.1\r\n${H}\r\n`], expect: LIMIT, node: { status: [200], upstream: [`GET /hN/${'a'.repeat(9 * 1024)} HTTP/1.1 body=0`] } },
    { name: 'request line of 40 KiB', send: (p) => [`GET ${p}/${'a'.repeat(40 * 1024)} HTTP/1.1\r\n${H}\r\n`], expect: LIMIT },
    { name: 'header block of 40 KiB', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}${Array.from({ length: 40 }, (_, i) => `X-${i}: ${'v'.repeat(1000)}\r\n`).join('')}\r\n`], expect: { status: [431], upstream: [] } },
    { name: 'one header of 40 KiB', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-Big: ${'v'.repeat(40 * 1024)}\r\n\r\n`], expect: { status: [431], upstream: [] } },
    { name: '101 header lines', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}${Array.from({ length: 100 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`], expect: { status: [431], upstream: [] } },
    { name: '100 header lines pass', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}${Array.from({ length: 99 }, (_, i) => `X-${i}: v\r\n`).join('')}\r\n`], expect: ok('GET /hN HTTP/1.1') },
    // Host.
    { name: 'no Host (HTTP/1.1)', send: (p) => [`GET ${p} HTTP/1.1\r\n\r\n`], expect: REJECT },
    { name: 'two Hosts', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}Host: y\r\n\r\n`], expect: REJECT },
    { name: 'invalid Host ("a b")', send: (p) => [`GET ${p} HTTP/1.1\r\nHost: a b\r\n\r\n`], expect: REJECT },
    { name: 'invalid Host ("x/y")', send: (p) => [`GET ${p} HTTP/1.1\r\nHost: x/y\r\n\r\n`], expect: REJECT },
    { name: 'no Host in HTTP/1.0 is fine', send: (p) => [`GET ${p} HTTP/1.0\r\n\r\n`], expect: ok('GET /hN HTTP/1.1') },
    {
      name: 'absolute-form to another host goes to our server, never that host',
      send: (p) => [`GET http://127.0.0.1:${victimPort}${p} HTTP/1.1\r\nHost: 127.0.0.1:${victimPort}\r\n\r\n`],
      expect: { status: [200, 400], upstream: [], maybe: ['GET /hN HTTP/1.1 body=0'] },
    },
    // Request line.
    {
      name: 'version HTTP/2.0 in an HTTP/1 request line',
      send: (p) => [`GET ${p} HTTP/2.0\r\n${H}\r\n`],
      expect: { status: [400, 505], upstream: [] },
      // Finding: llhttp takes any one-digit major version; node answers it as HTTP/1 and closes.
      node: { status: [200], closes: true, upstream: ['GET /hN HTTP/1.1 body=0'] },
    },
    { name: 'version HTTP/1.1x', send: (p) => [`GET ${p} HTTP/1.1x\r\n${H}\r\n`], expect: REJECT },
    { name: 'version in lower case (http/1.1)', send: (p) => [`GET ${p} http/1.1\r\n${H}\r\n`], expect: REJECT },
    { name: 'HTTP/0.9 (no version)', send: (p) => [`GET ${p}\r\n\r\n`], expect: { status: [400], closeOk: true, upstream: [] } },
    { name: 'a space inside the target', send: (p) => [`GET ${p} x HTTP/1.1\r\n${H}\r\n`], expect: REJECT },
    { name: 'a control character in the target', send: (p) => [`GET ${p}\x01 HTTP/1.1\r\n${H}\r\n`], expect: REJECT },
    { name: 'a method that is not a token', send: (p) => [`G(T ${p} HTTP/1.1\r\n${H}\r\n`], expect: REJECT },
    // Bodies and pipelining.
    { name: 'a request inside a CL body stays body', send: (p) => [post(p, `Content-Length: ${smuggled(p).length}\r\n`, smuggled(p))], expect: ok('POST /hN HTTP/1.1', SMUGGLED) },
    { name: 'a request inside a chunked body stays body', send: (p) => [chunked(p, `${smuggled(p).length.toString(16)}\r\n${smuggled(p)}\r\n0\r\n\r\n`)], expect: ok('POST /hN HTTP/1.1', SMUGGLED) },
    { name: 'Connection: content-length does not strip the framing', send: (p) => [post(p, `Connection: content-length\r\nContent-Length: ${smuggled(p).length}\r\n`, smuggled(p))], expect: { status: [200, 400], upstream: [], maybe: [`POST /hN HTTP/1.1 body=${SMUGGLED}`] } },
    { name: 'Connection: transfer-encoding does not strip the framing', send: (p) => [chunked(p, `${smuggled(p).length.toString(16)}\r\n${smuggled(p)}\r\n0\r\n\r\n`).replace('Transfer-Encoding', 'Connection: transfer-encoding\r\nTransfer-Encoding')], expect: { status: [200, 400], upstream: [], maybe: [`POST /hN HTTP/1.1 body=${SMUGGLED}`] } },
    { name: 'a request in chunked trailers stays out', send: (p) => [chunked(p, `5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n`)], expect: ok('POST /hN HTTP/1.1', 5) },
    {
      name: 'three pipelined requests, answered in order',
      send: (p) => [`GET ${p}/1 HTTP/1.1\r\n${H}\r\nPOST ${p}/2 HTTP/1.1\r\n${H}Content-Length: 2\r\n\r\nhiGET ${p}/3 HTTP/1.1\r\n${H}\r\n`],
      expect: { status: [200], responses: 3, upstream: ['GET /hN/1 HTTP/1.1 body=0', 'POST /hN/2 HTTP/1.1 body=2', 'GET /hN/3 HTTP/1.1 body=0'] },
    },
    {
      // WebSocket smuggling: a proxy that takes the Upgrade for done although the server said no
      // would tunnel what follows, unseen, straight to the server (no X-Forwarded-For on it).
      name: 'an upgrade the server refuses (200), then another request',
      send: (p) => [`GET ${p}/ws HTTP/1.1\r\n${H}Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`, { wait: 300 }, `GET ${p}/after HTTP/1.1\r\n${H}\r\n`],
      expect: { status: [200], responses: 2, mayCloseEarly: true, upstream: ['GET /hN/ws HTTP/1.1 body=0'], maybe: ['GET /hN/after HTTP/1.1 body=0'] },
    },
    { name: 'a request pipelined after a refused one is not served', send: (p) => [`GET ${p} HTTP/1.1\r\nHost: a b\r\n\r\n${smuggled(p)}`], expect: REJECT },
    // Slow clients (timeouts.requestHead 2 s, limits.minRequestBodyRate 1000 B/s after 1 s).
    { name: 'slowloris head: a byte every 200 ms', send: (p) => trickle(`GET ${p} HTTP/1.1\r\n${H}X-Long: ${'a'.repeat(60)}\r\n\r\n`, 200), expect: { status: [408], upstream: [] } },
    { name: 'a head that stops halfway', send: (p) => [`GET ${p} HTTP/1.1\r\n${H}X-A: b`, { wait: 8000 }], expect: { status: [408], upstream: [] } },
    { name: 'a connection that sends nothing', send: () => [{ wait: 8000 }], expect: { status: [408], closeOk: true, upstream: [] } },
    {
      name: 'slowloris body: a byte every 200 ms',
      send: (p) => [post(p, 'Content-Length: 100\r\n', 'a'), ...trickle('b'.repeat(60), 200)],
      expect: { status: [408], closeOk: true, upstream: [], maybe: ['POST /hN HTTP/1.1'] },
    },
    // Not HTTP/1 at all.
    { name: 'a TLS ClientHello on the plain port', send: () => [clientHello], expect: { status: [400], closeOk: true, upstream: [] } },
    { name: 'an HTTP/2 preface on the plain port', send: () => ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', Buffer.from('000000040000000000', 'hex')], expect: { status: [400, 505], closeOk: true, upstream: [] } },
  ];
}

/** What the client got: the statuses of complete answers, and whether the balancer closed. */
interface Outcome {
  statuses: number[];
  closedByServer: boolean;
  data: string;
}

/** Counts complete responses (each with a Content-Length, as every answer here has) in `data`. */
function parseResponses(data: string): number[] {
  const statuses: number[] = [];
  let at = 0;
  for (;;) {
    const end = data.indexOf('\r\n\r\n', at);
    if (end < 0) return statuses;
    const head = data.slice(at, end);
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
    if (!m) return statuses;
    const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
    if (data.length < end + 4 + len) return statuses;
    statuses.push(Number(m[1]));
    at = end + 4 + len;
  }
}

/**
 * Sends `parts` on a new connection (stopping if the balancer closes it), reads until `responses`
 * complete answers or the close, then half-closes and waits for the balancer to close.
 */
function exchange(url: string, parts: Part[], responses: number): Promise<Outcome> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve) => {
    const s = connect(Number(port), hostname);
    let data = '';
    let closed = false;
    let ended = false;
    let timedOut = false;
    // A balancer that never answers nor closes: the row fails as "kept open", not as a close.
    const deadline = setTimeout(() => ((timedOut = true), s.destroy()), 20_000);
    s.setEncoding('latin1');
    s.on('error', () => undefined);
    s.on('data', (d: string) => {
      data += d;
      const statuses = parseResponses(data);
      // An error answer: the balancer must close by itself; a good one: we are done.
      if (!ended && statuses.length >= responses && statuses.every((st) => st < 400)) {
        ended = true;
        s.end();
      }
    });
    s.on('close', () => {
      closed = true;
      clearTimeout(deadline);
      resolve({ statuses: parseResponses(data), closedByServer: !ended && !timedOut, data });
    });
    void (async () => {
      for (const part of parts) {
        if (closed || ended) return;
        // Unref'd: a row that ended early leaves no timer holding the test process open.
        if (typeof part === 'object' && !Buffer.isBuffer(part)) await new Promise((r) => setTimeout(r, part.wait).unref());
        else s.write(part);
      }
    })();
  });
}

/** The first bytes a real TLS client sends (a ClientHello), captured from node:tls. */
async function captureClientHello(): Promise<Buffer> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const hello = new Promise<Buffer>((r) => server.once('connection', (s) => s.once('data', (d: Buffer) => (r(d), s.destroy()))));
  const c = tlsConnect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', servername: 'example.com' });
  c.on('error', () => undefined);
  const bytes = await hello;
  c.destroy();
  server.close();
  return bytes;
}

/** The request lines the backend saw for row prefix `p`, written with /hN for the prefix. */
function seenFor(backend: RecordingBackend, p: string): string[] {
  const mine = new RegExp(`^\\S+ (?:http://[^/]+)?${p}(?:[/?-]| )`);
  return backend.requests.filter((r) => mine.test(r.line)).map((r) => (r.complete ? `${r.line} body=${r.body}` : r.line).replace(p, '/hN'));
}

describe(`hostile-request table (engine: ${ENGINE})`, () => {
  let backend: RecordingBackend;
  let b: BalancerProcess;
  let victim: Server;
  let victimConnections = 0;
  let clientHello: Buffer;
  const normal = { ok: 0, failed: [] as string[] };
  /** Each row's allowed backend lines, checked again at the end (a late upstream request counts too). */
  const allowedFor = new Map<string, string[]>();
  let stopNormal = false;
  let normalLoop: Promise<void>;

  before(async () => {
    backend = await recordingBackend();
    victim = createServer((s) => (victimConnections++, s.destroy()));
    await new Promise<void>((r) => victim.listen(0, '127.0.0.1', r));
    clientHello = await captureClientHello();
    b = await startBalancer({
      timeouts: { requestHead: 2 },
      limits: { minRequestBodyRate: { bytesPerSecond: 1000, grace: 1 } },
      healthCheck: { enabled: false, passive: { maxFails: 0 } },
      servers: [{ addr: backend.url }],
    });
    // The normal client: one request after another on its own keep-alive connection, all along.
    const agent = new Agent({ connections: 1, headersTimeout: 10_000, bodyTimeout: 10_000 });
    normalLoop = (async () => {
      while (!stopNormal) {
        try {
          const r = await request(`${b.url}/normal`, { dispatcher: agent });
          await r.body.text();
          if (r.statusCode === 200) normal.ok++;
          else normal.failed.push(String(r.statusCode));
        } catch (err) {
          normal.failed.push((err as Error).message);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      await agent.close();
    })();
  });

  after(async () => {
    stopNormal = true;
    await normalLoop;
    // A connection some row left open would hold a graceful stop for ever: fail, do not hang.
    const stopped = await Promise.race([b.stop(), new Promise<'late'>((r) => setTimeout(() => r('late'), 20_000))]);
    if (stopped === 'late') await b.stop('SIGKILL');
    await backend.close();
    victim.close();
    assert.notEqual(stopped, 'late', 'the balancer did not stop within 20 s of SIGTERM');
  });

  describe('rows', { concurrency: true }, () => {
    const table = rows(0, Buffer.alloc(0));
    test('the table has at least 40 rows', () => assert.ok(table.length >= 40, `${table.length} rows`));
    table.forEach((row, i) => {
      test(`h${String(i).padStart(2, '0')}: ${row.name}`, async (t) => {
        const p = `/h${String(i).padStart(2, '0')}`;
        const live = rows(victim.address() === null ? 0 : (victim.address() as AddressInfo).port, clientHello)[i] as Row;
        const want = (ENGINE === 'node' ? row.node : undefined) ?? row.expect;
        const out = await exchange(b.url, live.send(p), want.responses ?? 1);
        const first = out.statuses[0];
        const got = first === undefined ? 'closed without an answer' : `${first}`;
        if (first === undefined) {
          assert.ok(want.closeOk === true || want.status.length === 0, `expected ${want.status.join('/')}, got ${got}: ${JSON.stringify(out.data.slice(0, 200))}`);
        } else {
          assert.ok(want.status.includes(first), `expected ${want.status.join('/')}, got ${got}: ${JSON.stringify(out.data.slice(0, 300))}`);
          const early = want.mayCloseEarly === true && out.closedByServer;
          if (!early) assert.equal(out.statuses.length, first < 400 ? (want.responses ?? 1) : 1, `answers: ${out.statuses.join(',')}`);
          assert.ok(out.statuses.every((st) => want.status.includes(st)), `answers: ${out.statuses.join(',')}`);
        }
        if (first === undefined || first >= 400) assert.ok(out.closedByServer, 'the balancer kept the connection open after refusing');
        if (want.closes === true) assert.ok(out.closedByServer || /\r\nconnection: close\r\n/i.test(out.data), 'the connection was kept open');
        const seen = seenFor(backend, p);
        t.diagnostic(`${ENGINE}: ${got}${out.closedByServer ? ', closed' : ''}; backend saw ${JSON.stringify(seen).slice(0, 200)}`);
        const allowed = [...want.upstream, ...(want.maybe ?? [])];
        allowedFor.set(p, allowed);
        for (const line of want.upstream) assert.ok(seen.includes(line), `the backend did not get ${line}; it saw ${JSON.stringify(seen)}`);
        for (const line of seen) assert.ok(allowed.includes(line), `the backend saw ${JSON.stringify(line)} (smuggled or misframed); allowed ${JSON.stringify(allowed)}`);
        assert.ok(!seen.some((l) => l.includes('-smuggled')), `smuggled: ${JSON.stringify(seen)}`);
      });
    });
  });

  test('afterwards: no request the backend could not parse, no connection to another host, the normal client always served', async (t) => {
    t.diagnostic(`normal client: ${normal.ok} answers; backend: ${backend.requests.length} requests, ${backend.cutRequests} cut mid-request; incomplete: ${JSON.stringify(backend.requests.filter((r) => !r.complete).map((r) => r.line))}`);
    assert.deepEqual(backend.parseErrors, []);
    for (const [p, allowed] of allowedFor) {
      const late = seenFor(backend, p).filter((l) => !allowed.includes(l));
      assert.deepEqual(late, [], `row ${p}: the backend saw more than allowed (${JSON.stringify(allowed)})`);
    }
    assert.equal(victimConnections, 0, 'absolute-form made the balancer connect to the host it named (open proxy)');
    // Every request the balancer forwards carries the X-Forwarded-For it sets; one without it came
    // through a tunnel or was smuggled.
    const unforwarded = backend.requests.filter((r) => r.headers['x-forwarded-for'] === undefined).map((r) => r.line);
    assert.deepEqual(unforwarded, [], 'requests that reached the backend without passing through the proxy logic');
    const stray = backend.requests.filter((r) => !/^\S+ (?:http:\/\/[^/]+)?\/(?:h\d+|normal)\b/.test(r.line)).map((r) => r.line);
    assert.deepEqual(stray, [], 'requests no row sent');
    assert.ok(normal.ok >= 5, `the normal client got only ${normal.ok} answers`);
    assert.deepEqual(normal.failed, [], 'the normal client was refused');
    assert.ok(!b.logs.some((l) => / down: |ejected/.test(String(l.msg))), 'the server was blamed for a client');
  });
});
