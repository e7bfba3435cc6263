import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HttpParseError } from '../../../../src/engines/fast/http1/parse-error.js';
import { RequestParser } from '../../../../src/engines/fast/http1/request-parser.js';
import { ResponseParser } from '../../../../src/engines/fast/http1/response-parser.js';
import { mulberry32 } from '../../../control/selection/helpers.js';

// Bytes an HTTP parser's state machine turns on, weighted so random inputs reach deep states.
const ALPHABET = ['\r', '\n', '\r\n', '\r\n\r\n', ' ', '\t', ':', ';', '=', '"', '\\', '0', '1', 'a', 'F', 'x', '\x00', '\x7f', '\xff', 'HTTP/1.1', 'HTTP/1.0', 'GET ', '/', 'Host: a', 'Content-Length: ', 'Transfer-Encoding: chunked', 'Connection: ', 'close', 'upgrade', 'Upgrade: x', 'HTTP/1.1 200 OK', 'HTTP/1.1 100 Continue', 'HTTP/1.1 101 S'];

function randomInput(rng: () => number, prefixes: readonly string[]): Buffer {
  // Most inputs start with a valid start line (and Host), so the random part lands in fields and bodies.
  let s = rng() < 0.8 ? prefixes[Math.floor(rng() * prefixes.length)]! : '';
  const n = 1 + Math.floor(rng() * 40);
  for (let i = 0; i < n; i++) s += ALPHABET[Math.floor(rng() * ALPHABET.length)];
  return Buffer.from(s, 'latin1');
}

/** Feeds input in random pieces; asserts every call makes progress or stops for good, and only HttpParseError is thrown. */
function drive(p: { execute(b: Buffer, o?: number): number }, input: Buffer, rng: () => number, onStop?: () => void): void {
  let at = 0;
  while (at < input.length) {
    const len = 1 + Math.floor(rng() * (input.length - at));
    const piece = input.subarray(at, at + len);
    at += len;
    let off = 0;
    let stalls = 0;
    while (off < piece.length) {
      let next: number;
      try {
        next = p.execute(piece, off);
      } catch (err) {
        assert.ok(err instanceof HttpParseError, String(err));
        assert.ok([400, 414, 431, 501, 505, 502].includes(err.status));
        return;
      }
      assert.ok(next >= off && next <= piece.length, `execute returned ${next} for offset ${off} of ${piece.length}`);
      if (next === off) {
        // Only a tunnel consumes nothing, and it keeps consuming nothing.
        assert.equal(p.execute(piece, off), off);
        if (++stalls > 1) return;
        onStop?.();
        return;
      }
      off = next;
    }
  }
}

test('random inputs never crash, loop or throw anything but HttpParseError (request parser, 3000 inputs)', () => {
  const rng = mulberry32(5);
  let heads = 0;
  let completes = 0;
  for (let i = 0; i < 3000; i++) {
    const p = new RequestParser({ onHead: () => void heads++, onBody: () => {}, onPayload: () => {}, onTrailers: () => {}, onComplete: () => void completes++ });
    drive(p, randomInput(rng, ['POST / HTTP/1.1\r\nHost: a\r\n', 'GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n', 'PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n']), rng);
  }
  // The inputs reach past the head, so the body states are exercised too.
  assert.ok(heads > 1000 && completes > 100, `${heads} heads, ${completes} complete`);
});

test('random inputs never crash, loop or throw anything but HttpParseError (response parser, 3000 inputs, then end())', () => {
  const rng = mulberry32(6);
  const methods = ['GET', 'HEAD', 'CONNECT', 'POST'];
  let heads = 0;
  for (let i = 0; i < 3000; i++) {
    const p: ResponseParser = new ResponseParser({
      onHead: () => void heads++,
      onBody: () => {},
      onComplete: () => p.expect(methods[Math.floor(rng() * methods.length)]!),
    });
    p.expect(methods[i % methods.length]!);
    drive(p, randomInput(rng, ['HTTP/1.1 200 OK\r\n', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n', 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n']), rng);
    try {
      p.end();
    } catch (err) {
      assert.ok(err instanceof HttpParseError && err.status === 502, String(err));
    }
  }
  assert.ok(heads > 1000, `${heads} heads`);
});
