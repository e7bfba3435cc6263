import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ResponseParser } from '../../../../src/engines/fast/http1/response-parser.js';
import { comparable, parseResponses } from './collector.js';

/** [name, raw, methods, eof, expected: per message [status, payload, bodyless, closeDelimited, keepAlive, complete], error]. */
const CASES: [string, string, string[], boolean, [number, string, boolean, boolean, boolean, boolean][], { status: number; code: string } | null][] = [
  ['Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello', ['GET'], false, [[200, 'hello', false, false, true, true]], null],
  ['chunked with trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\nX-T: 1\r\n\r\n', ['GET'], false, [[200, 'hello', false, false, true, true]], null],
  ['gzip, chunked is chunked', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nxy\r\n0\r\n\r\n', ['GET'], false, [[200, 'xy', false, false, true, true]], null],
  ['close-delimited, completed by end()', 'HTTP/1.1 200 OK\r\n\r\nuntil eof', ['GET'], true, [[200, 'until eof', false, true, false, true]], null],
  ['TE gzip alone is close-delimited', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nzz', ['GET'], true, [[200, 'zz', false, true, false, true]], null],
  ['HEAD: bodyless despite Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n', ['HEAD'], false, [[200, '', true, false, true, true]], null],
  ['204 bodyless', 'HTTP/1.1 204 No Content\r\n\r\n', ['GET'], false, [[204, '', true, false, true, true]], null],
  ['304 bodyless despite Content-Length', 'HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n', ['GET'], false, [[304, '', true, false, true, true]], null],
  ['100 then 200', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok', ['POST'], false, [[100, '', true, false, true, false], [200, 'ok', false, false, true, true]], null],
  ['103 then 200', 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n', ['GET'], false, [[103, '', true, false, true, false], [200, '', false, false, true, true]], null],
  ['empty reason, no SP', 'HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n', ['GET'], false, [[200, '', false, false, true, true]], null],
  ['HTTP/1.0 without keep-alive', 'HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx', ['GET'], false, [[200, 'x', false, false, false, true]], null],
  ['HTTP/1.0 with keep-alive', 'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1\r\n\r\nx', ['GET'], false, [[200, 'x', false, false, true, true]], null],
  ['Connection: close', 'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx', ['GET'], false, [[200, 'x', false, false, false, true]], null],
  ['CL and TE: 502', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_CL_AND_TE' }],
  ['duplicate CL: 502', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_DUP_CL' }],
  ['bad CL: 502', 'HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BAD_CL' }],
  ['chunked, gzip: 502', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BAD_TE' }],
  ['chunked then gzip on two lines: 502', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BAD_TE' }],
  ['obs-fold: 502', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\nContent-Length: 0\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_OBS_FOLD' }],
  ['bare LF: 502', 'HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BARE_LF' }],
  ['HTTP/2.0 status line: 502', 'HTTP/2.0 200 OK\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BAD_VERSION' }],
  ['garbage status line: 502', 'SSH-2.0-OpenSSH_9.2\r\n\r\n', ['GET'], false, [], { status: 502, code: 'E_HTTP_BAD_START_LINE' }],
  ['bad chunk: 502 (after the head went out)', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nq\r\n', ['GET'], false, [[200, '', false, false, true, false]], { status: 502, code: 'E_HTTP_BAD_CHUNK' }],
  ['truncated Content-Length body', 'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc', ['GET'], true, [[200, 'abc', false, false, true, false]], { status: 502, code: 'E_HTTP_TRUNCATED' }],
  ['truncated chunked body', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab', ['GET'], true, [[200, 'ab', false, false, true, false]], { status: 502, code: 'E_HTTP_TRUNCATED' }],
  ['truncated head', 'HTTP/1.1 200 OK\r\nContent-Le', ['GET'], true, [], { status: 502, code: 'E_HTTP_TRUNCATED' }],
  ['no response at all', '', ['GET'], true, [], { status: 502, code: 'E_HTTP_TRUNCATED' }],
];

for (const [name, raw, methods, eof, expected, error] of CASES) {
  test(`response: ${name}`, () => {
    const out = parseResponses(raw, methods, [], eof);
    assert.deepEqual(out.error, error);
    assert.deepEqual(
      out.messages.map((m) => [m.head.status, m.payload, m.head.bodyless, m.head.closeDelimited, m.head.keepAlive, m.complete]),
      expected,
    );
    // Split invariance: every cut point, and 1-byte pieces.
    const whole = comparable(out);
    for (let cut = 1; cut < raw.length; cut++) assert.deepEqual(comparable(parseResponses(raw, methods, [cut], eof)), whole, `cut at ${cut}`);
    const bytes = Array.from({ length: raw.length }, (_, i) => i + 1);
    assert.deepEqual(comparable(parseResponses(raw, methods, bytes, eof)), whole, '1-byte pieces');
  });
}

test('response: 101 stops after the head; the rest is the tunnel', () => {
  const head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n';
  const out = parseResponses(head + '\x81\x02hi', ['GET']);
  assert.equal(out.error, null);
  assert.deepEqual(out.messages.map((m) => [m.head.status, m.head.bodyless, m.head.keepAlive]), [[101, true, false]]);
  assert.deepEqual(out.stops, [head.length]);
});

test('response: 2xx to CONNECT is a tunnel, a 407 to CONNECT is not', () => {
  const head = 'HTTP/1.1 200 Connection Established\r\n\r\n';
  const out = parseResponses(head + '\x16\x03', ['CONNECT']);
  assert.deepEqual(out.stops, [head.length]);
  assert.equal(out.messages[0]!.head.bodyless, true);
  const denied = parseResponses('HTTP/1.1 407 Proxy Auth\r\nContent-Length: 2\r\n\r\nno', ['CONNECT']);
  assert.deepEqual(denied.messages.map((m) => [m.head.status, m.payload, m.complete]), [[407, 'no', true]]);
});

test('response: pipelined responses, execute stops after each final response', () => {
  const a = 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na';
  const b = 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n';
  const c = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\n\r\n';
  const out = parseResponses(a + b + c, ['POST', 'HEAD', 'GET']);
  assert.equal(out.error, null);
  assert.deepEqual(out.messages.map((m) => [m.head.status, m.payload, m.complete]), [
    [100, '', false],
    [200, 'a', true],
    [200, '', true],
    [200, 'c', true],
  ]);
  assert.deepEqual(out.stops, [a.length, a.length + b.length]);
});

test('response: end() on an idle pooled connection is quiet; idle and inBody report state', () => {
  const p = new ResponseParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
  p.end();
  const q = new ResponseParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
  q.expect('GET');
  assert.equal(q.idle, true);
  q.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\na'));
  assert.deepEqual([q.idle, q.inBody], [false, true]);
  q.execute(Buffer.from('bc'));
  assert.deepEqual([q.idle, q.inBody], [true, false]);
  q.end();
});

test('response: trailers and wire bytes of a chunked body are reported as sent', () => {
  const body = '3\r\nabc\r\n0\r\nX-Checksum: 1\r\n\r\n';
  const out = parseResponses(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${body}`, ['GET']);
  assert.equal(out.messages[0]!.wire, body);
  assert.deepEqual(out.messages[0]!.trailers, ['X-Checksum', '1']);
});
