import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_HEAD_LIMITS } from '../../../../src/engines/fast/http1/limits.js';
import { comparable, parseRequests } from './collector.js';

const H = 'Host: example.com\r\n';

/** Requests the parser must accept: [name, raw, expected method, target, rawHeaders, body payload]. */
const VALID: [string, string, string, string, string[], string][] = [
  ['simple GET', `GET / HTTP/1.1\r\n${H}\r\n`, 'GET', '/', ['Host', 'example.com'], ''],
  ['HTTP/1.0 without Host', 'GET /a?b=c HTTP/1.0\r\n\r\n', 'GET', '/a?b=c', [], ''],
  ['OWS trimmed, case kept', `GET / HTTP/1.1\r\nhOsT:   example.com \t\r\nX-A:\t1 2 \r\n\r\n`, 'GET', '/', ['hOsT', 'example.com', 'X-A', '1 2'], ''],
  ['empty value', `GET / HTTP/1.1\r\n${H}X-Empty:\r\n\r\n`, 'GET', '/', ['Host', 'example.com', 'X-Empty', ''], ''],
  ['obs-text in a value', `GET / HTTP/1.1\r\n${H}X-L: caf\xe9\r\n\r\n`, 'GET', '/', ['Host', 'example.com', 'X-L', 'caf\xe9'], ''],
  ['Content-Length body', `POST /p HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello`, 'POST', '/p', ['Host', 'example.com', 'Content-Length', '5'], 'hello'],
  ['Content-Length with leading zeros', `POST /p HTTP/1.1\r\n${H}Content-Length: 003\r\n\r\nabc`, 'POST', '/p', ['Host', 'example.com', 'Content-Length', '003'], 'abc'],
  ['Content-Length 0', `POST /p HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`, 'POST', '/p', ['Host', 'example.com', 'Content-Length', '0'], ''],
  ['chunked', `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\nA\r\n0123456789\r\n0\r\n\r\n`, 'POST', '/c', ['Host', 'example.com', 'Transfer-Encoding', 'chunked'], 'hello0123456789'],
  ['chunked, case-insensitive', `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n`, 'POST', '/c', ['Host', 'example.com', 'Transfer-Encoding', 'ChUnKeD'], ''],
  ['chunk extensions', `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=b;c;d="x \\" y"\r\nabc\r\n0;z\r\n\r\n`, 'POST', '/c', ['Host', 'example.com', 'Transfer-Encoding', 'chunked'], 'abc'],
  ['absolute-form', 'GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\n\r\n', 'GET', 'http://example.com/x', ['Host', 'example.com'], ''],
  ['absolute-form with port and query, no path', 'GET http://example.com:8080?a=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n', 'GET', 'http://example.com:8080?a=1', ['Host', 'example.com:8080'], ''],
  ['asterisk-form OPTIONS', `OPTIONS * HTTP/1.1\r\n${H}\r\n`, 'OPTIONS', '*', ['Host', 'example.com'], ''],
  ['empty lines before the request line', `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`, 'GET', '/', ['Host', 'example.com'], ''],
  ['IPv6 Host with port', 'GET / HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n', 'GET', '/', ['Host', '[::1]:8080'], ''],
  ['empty Host (RFC 9112 3.2)', 'GET / HTTP/1.1\r\nHost:\r\n\r\n', 'GET', '/', ['Host', ''], ''],
  ['Connection list with odd spacing', `GET / HTTP/1.1\r\n${H}Connection: ,  close ,\r\n\r\n`, 'GET', '/', ['Host', 'example.com', 'Connection', ',  close ,'], ''],
  ['extension method', `PURGE /x HTTP/1.1\r\n${H}\r\n`, 'PURGE', '/x', ['Host', 'example.com'], ''],
];

/** Requests the parser must reject: [name, raw, status, code]. */
const INVALID: [string, string, number, string][] = [
  ['CL and TE', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400, 'E_HTTP_CL_AND_TE'],
  ['TE and CL', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n`, 400, 'E_HTTP_CL_AND_TE'],
  ['TE gzip, chunked (501)', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`, 501, 'E_HTTP_TE_NOT_IMPLEMENTED'],
  ['TE chunked, gzip', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, gzip\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE gzip', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE identity', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE chunked twice in a list', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, chunked\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE on two lines', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE with a parameter', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked;q=1\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE "xchunked"', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE empty', `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['TE on HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'E_HTTP_BAD_TE'],
  ['duplicate CL, different', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\n`, 400, 'E_HTTP_DUP_CL'],
  ['duplicate CL, identical', `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 3\r\n\r\nabc`, 400, 'E_HTTP_DUP_CL'],
  ['CL comma list', `POST / HTTP/1.1\r\n${H}Content-Length: 3, 3\r\n\r\nabc`, 400, 'E_HTTP_DUP_CL'],
  ['CL not digits', `POST / HTTP/1.1\r\n${H}Content-Length: 3a\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['CL negative', `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['CL plus sign', `POST / HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['CL empty', `POST / HTTP/1.1\r\n${H}Content-Length:\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['CL overflow', `POST / HTTP/1.1\r\n${H}Content-Length: 9007199254740992\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['CL huge', `POST / HTTP/1.1\r\n${H}Content-Length: 99999999999999999999999\r\n\r\n`, 400, 'E_HTTP_BAD_CL'],
  ['obs-fold', `GET / HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n\r\n`, 400, 'E_HTTP_OBS_FOLD'],
  ['obs-fold with tab', `GET / HTTP/1.1\r\n${H}X-A: 1\r\n\t2\r\n\r\n`, 400, 'E_HTTP_OBS_FOLD'],
  ['whitespace before the first field', `GET / HTTP/1.1\r\n ${H}\r\n`, 400, 'E_HTTP_OBS_FOLD'],
  ['space before colon', `POST / HTTP/1.1\r\n${H}Content-Length : 3\r\n\r\nabc`, 400, 'E_HTTP_HEADER_SPACE'],
  ['tab before colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n`, 400, 'E_HTTP_HEADER_SPACE'],
  ['no colon', `GET / HTTP/1.1\r\n${H}Garbage\r\n\r\n`, 400, 'E_HTTP_BAD_HEADER'],
  ['empty name', `GET / HTTP/1.1\r\n${H}: v\r\n\r\n`, 400, 'E_HTTP_BAD_HEADER'],
  ['NUL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`, 400, 'E_HTTP_BAD_CHAR'],
  ['NUL in a name', `GET / HTTP/1.1\r\n${H}X\x00A: b\r\n\r\n`, 400, 'E_HTTP_BAD_CHAR'],
  ['control char in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x01b\r\n\r\n`, 400, 'E_HTTP_BAD_CHAR'],
  ['DEL in a value', `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`, 400, 'E_HTTP_BAD_CHAR'],
  ['separator in a name', `GET / HTTP/1.1\r\n${H}X(A): b\r\n\r\n`, 400, 'E_HTTP_BAD_CHAR'],
  ['bare CR in a value', `GET / HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`, 400, 'E_HTTP_BARE_CR'],
  ['bare CR in the request line', `GET /\r HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BARE_CR'],
  ['bare LF ends a field line', `GET / HTTP/1.1\r\n${H}X-A: 1\n\r\n`, 400, 'E_HTTP_BARE_LF'],
  ['bare LF ends the request line', `GET / HTTP/1.1\n${H}\r\n`, 400, 'E_HTTP_BARE_LF'],
  ['bare LF ends the head', `GET / HTTP/1.1\r\n${H}\n`, 400, 'E_HTTP_BARE_LF'],
  ['chunk size not hex', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size empty', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size with 0x', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size with a space', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size negative', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n-5\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size over 2^53', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n20000000000000\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size of 17 digits', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk data longer than its size', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk data without CRLF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk data ended by bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nabc\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk size line ended by bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\nabc\r\n0\r\n\r\n`, 400, 'E_HTTP_BARE_LF'],
  ['chunk size line with bare CR', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\rabc\r\n0\r\n\r\n`, 400, 'E_HTTP_BARE_CR'],
  ['chunk extension too long', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;${'a'.repeat(DEFAULT_HEAD_LIMITS.maxChunkExtensionBytes)}\r\nabc\r\n0\r\n\r\n`, 400, 'E_HTTP_CHUNK_EXT'],
  ['chunk extension with a control char', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=\x01\r\nabc\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_CHUNK'],
  ['chunk extension ended by bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3;a=b\nabc\r\n0\r\n\r\n`, 400, 'E_HTTP_BARE_LF'],
  ['trailer with obs-fold', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n 2\r\n\r\n`, 400, 'E_HTTP_OBS_FOLD'],
  ['Content-Length as a trailer', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n`, 400, 'E_HTTP_BAD_TRAILER'],
  ['Transfer-Encoding as a trailer', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n`, 400, 'E_HTTP_BAD_TRAILER'],
  ['bare CR in an unfinished line', `GET / HTTP/1.1\r\n${H}X-A: 1\r2`, 400, 'E_HTTP_BARE_CR'],
  ['TE with a trailing tab', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\t\r\n\r\n0\r\n\r\n`, 400, 'E_HTTP_BAD_TE'],
  ['trailer ended by bare LF', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\n\r\n`, 400, 'E_HTTP_BARE_LF'],
  ['trailer with space before colon', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T : 1\r\n\r\n`, 400, 'E_HTTP_HEADER_SPACE'],
  ['method not a token', `G(T / HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_METHOD'],
  ['empty method', ` / HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_METHOD'],
  ['two spaces after the method', `GET  / HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['tab between method and target', `GET\t/ HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_METHOD'],
  ['space in the target', `GET /a b HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_START_LINE'],
  ['control char in the target', `GET /a\x01b HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['obs-text in the target', `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['authority-form for GET', `GET example.com:80 HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['absolute-form with userinfo', `GET http://user@example.com/ HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['absolute-form with a bad authority', `GET http://exa"mple.com/ HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['absolute-form with an empty authority', `GET http:///x HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['DEL in the target', `GET /a\x7fb HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['target not a form', `GET a/b HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['asterisk for GET', `GET * HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['CONNECT to a path', `CONNECT / HTTP/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_TARGET'],
  ['CONNECT without port', 'CONNECT example.com HTTP/1.1\r\nHost: example.com\r\n\r\n', 400, 'E_HTTP_BAD_TARGET'],
  ['CONNECT with a body', 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nContent-Length: 2\r\n\r\nhi', 400, 'E_HTTP_CONNECT_BODY'],
  ['HTTP/0.9 line', 'GET /\r\n\r\n', 400, 'E_HTTP_BAD_START_LINE'],
  ['lowercase version', `GET / http/1.1\r\n${H}\r\n`, 400, 'E_HTTP_BAD_START_LINE'],
  ['space after the version', `GET / HTTP/1.1 \r\n${H}\r\n`, 400, 'E_HTTP_BAD_START_LINE'],
  ['HTTP/1.2', `GET / HTTP/1.2\r\n${H}\r\n`, 505, 'E_HTTP_BAD_VERSION'],
  ['HTTP/2.0', `GET / HTTP/2.0\r\n${H}\r\n`, 505, 'E_HTTP_BAD_VERSION'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 505, 'E_HTTP_BAD_VERSION'],
  ['no Host on 1.1', 'GET / HTTP/1.1\r\nX-A: 1\r\n\r\n', 400, 'E_HTTP_NO_HOST'],
  ['two Hosts', `GET / HTTP/1.1\r\n${H}${H}\r\n`, 400, 'E_HTTP_DUP_HOST'],
  ['two Hosts on 1.0', `GET / HTTP/1.0\r\n${H}Host: other\r\n\r\n`, 400, 'E_HTTP_DUP_HOST'],
  ['Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400, 'E_HTTP_BAD_HOST'],
  ['Host with a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400, 'E_HTTP_BAD_HOST'],
  ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', 400, 'E_HTTP_BAD_HOST'],
  ['Host with a bad port', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 400, 'E_HTTP_BAD_HOST'],
  ['Host with an open bracket', 'GET / HTTP/1.1\r\nHost: [::1\r\n\r\n', 400, 'E_HTTP_BAD_HOST'],
  ['request line too long', `GET /${'a'.repeat(DEFAULT_HEAD_LIMITS.maxRequestLineBytes)} HTTP/1.1\r\n${H}\r\n`, 414, 'E_HTTP_LINE_TOO_LONG'],
  ['request line too long, unfinished', `GET /${'a'.repeat(DEFAULT_HEAD_LIMITS.maxRequestLineBytes + 10)}`, 414, 'E_HTTP_LINE_TOO_LONG'],
  ['head too large', `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(DEFAULT_HEAD_LIMITS.maxHeaderBytes)}\r\n\r\n`, 431, 'E_HTTP_HEAD_TOO_LARGE'],
  ['head too large, unfinished', `GET / HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(DEFAULT_HEAD_LIMITS.maxHeaderBytes)}`, 431, 'E_HTTP_HEAD_TOO_LARGE'],
  ['too many fields', `GET / HTTP/1.1\r\n${H}${'X-A: 1\r\n'.repeat(DEFAULT_HEAD_LIMITS.maxHeaders)}\r\n`, 431, 'E_HTTP_TOO_MANY_HEADERS'],
  ['endless empty lines', '\r\n'.repeat(DEFAULT_HEAD_LIMITS.maxHeaderBytes), 431, 'E_HTTP_HEAD_TOO_LARGE'],
  ['too many trailers', `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n${'X-T: 1\r\n'.repeat(DEFAULT_HEAD_LIMITS.maxHeaders + 1)}\r\n`, 431, 'E_HTTP_TOO_MANY_HEADERS'],
];

for (const [name, raw, method, target, rawHeaders, payload] of VALID) {
  test(`accepts: ${name}`, () => {
    const out = parseRequests(raw);
    assert.equal(out.error, null, JSON.stringify(out.error));
    assert.equal(out.messages.length, 1);
    const m = out.messages[0]!;
    assert.equal(m.head.method, method);
    assert.equal(m.head.target, target);
    assert.deepEqual(m.head.rawHeaders, rawHeaders);
    assert.equal(m.payload, payload);
    assert.equal(m.complete, true);
  });
}

for (const [name, raw, status, code] of INVALID) {
  test(`rejects with ${status} ${code}: ${name}`, () => {
    const out = parseRequests(raw);
    assert.deepEqual(out.error, { status, code });
    // Nothing of a rejected request reaches the engine as a complete message.
    assert.ok(out.messages.every((m) => !m.complete) || out.messages.length === 0);
  });
}

test('the rejection table has at least 80 rows and the valid table 15', () => {
  assert.ok(INVALID.length >= 80, String(INVALID.length));
  assert.ok(VALID.length >= 15);
});

test('every row parses identically when split at every point, and into 1-byte pieces', () => {
  for (const [, raw] of [...VALID.map((v) => [v[0], v[1]] as const), ...INVALID.map((v) => [v[0], v[1]] as const)]) {
    if (raw.length > 4096) continue;
    const whole = comparable(parseRequests(raw));
    for (let cut = 1; cut < raw.length; cut++) {
      assert.deepEqual(comparable(parseRequests(raw, [cut])), whole, `cut at ${cut}: ${JSON.stringify(raw)}`);
    }
    const bytes = Array.from({ length: raw.length }, (_, i) => i + 1);
    assert.deepEqual(comparable(parseRequests(raw, bytes)), whole, `1-byte pieces: ${JSON.stringify(raw)}`);
  }
});

test('limits hold when the head arrives 1 byte at a time', () => {
  const long = `GET /${'a'.repeat(DEFAULT_HEAD_LIMITS.maxRequestLineBytes + 10)} HTTP/1.1\r\n${H}\r\n`;
  const bytes = Array.from({ length: long.length }, (_, i) => i + 1);
  assert.deepEqual(parseRequests(long, bytes).error, { status: 414, code: 'E_HTTP_LINE_TOO_LONG' });
});

test('pipelined requests: execute stops after each message, and all three parse', () => {
  const a = `GET /a HTTP/1.1\r\n${H}\r\n`;
  const b = `POST /b HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nxyz`;
  const c = `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\n`;
  const out = parseRequests(a + b + c);
  assert.equal(out.error, null);
  assert.deepEqual(
    out.messages.map((m) => [m.head.target, m.payload, m.complete]),
    [
      ['/a', '', true],
      ['/b', 'xyz', true],
      ['/c', 'hi', true],
    ],
  );
  assert.deepEqual(out.stops, [a.length, a.length + b.length]);
  // The wire bytes of the chunked body are forwarded as sent, trailers included.
  assert.equal(out.messages[2]!.wire, '2\r\nhi\r\n0\r\nX-Trailer: t\r\n\r\n');
  assert.deepEqual(out.messages[2]!.trailers, ['X-Trailer', 't']);
});

test('upgrade: execute stops after the head; the rest is left for the tunnel', () => {
  const head = `GET /ws HTTP/1.1\r\n${H}Connection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n`;
  const out = parseRequests(head + '\x81\x05hello');
  assert.equal(out.error, null);
  assert.equal(out.messages.length, 1);
  assert.equal(out.messages[0]!.head.upgrade, true);
  assert.deepEqual(out.stops, [head.length]);
});

test('CONNECT stops after the head; an Upgrade with a body is a plain request', () => {
  const head = 'CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n';
  const out = parseRequests(head + '\x16\x03\x01');
  assert.equal(out.messages[0]!.head.upgrade, true);
  assert.deepEqual(out.stops, [head.length]);
  const h2c = parseRequests(`POST / HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nContent-Length: 2\r\n\r\nhi`);
  assert.equal(h2c.messages[0]!.head.upgrade, false);
  assert.equal(h2c.messages[0]!.payload, 'hi');
});

test('head fields: keepAlive, expectContinue, host, contentLength, chunked, headBytes, minor', () => {
  const h1 = parseRequests(`POST / HTTP/1.1\r\n${H}Connection: close\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\nhi`).messages[0]!.head;
  assert.deepEqual(
    [h1.keepAlive, h1.expectContinue, h1.host, h1.contentLength, h1.chunked, h1.minor, h1.upgrade],
    [false, true, 'example.com', 2, false, 1, false],
  );
  assert.equal(h1.headBytes, `POST / HTTP/1.1\r\n${H}Connection: close\r\nExpect: 100-Continue\r\nContent-Length: 2\r\n\r\n`.length);
  const h0 = parseRequests('GET / HTTP/1.0\r\n\r\n').messages[0]!.head;
  assert.deepEqual([h0.keepAlive, h0.minor, h0.host, h0.contentLength], [false, 0, undefined, -1]);
  const h0k = parseRequests('GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n').messages[0]!.head;
  assert.equal(h0k.keepAlive, true);
  const h1c = parseRequests(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`).messages[0]!.head;
  assert.deepEqual([h1c.chunked, h1c.contentLength, h1c.keepAlive], [true, -1, true]);
});

test('body slices are views of the input, not copies', async () => {
  const { RequestParser } = await import('../../../../src/engines/fast/http1/request-parser.js');
  const input = Buffer.from(`POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`);
  const seen: Buffer[] = [];
  const p = new RequestParser({ onHead: () => {}, onBody: (b) => seen.push(b), onPayload: (b) => seen.push(b), onComplete: () => {} });
  p.execute(input);
  assert.ok(seen.length >= 2);
  for (const b of seen) assert.equal(b.buffer, input.buffer);
});

test('inBody and idle track the connection state; a failed parser keeps failing', async () => {
  const { RequestParser } = await import('../../../../src/engines/fast/http1/request-parser.js');
  const p = new RequestParser({ onHead: () => {}, onBody: () => {}, onComplete: () => {} });
  assert.equal(p.idle, true);
  p.execute(Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nab'));
  assert.deepEqual([p.inBody, p.idle], [true, false]);
  p.execute(Buffer.from('cd'));
  assert.deepEqual([p.inBody, p.idle], [false, true]);
  p.execute(Buffer.from('GE'));
  assert.equal(p.idle, false);
  assert.throws(() => p.execute(Buffer.from('T / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')), { code: 'E_HTTP_DUP_HOST' });
  assert.throws(() => p.execute(Buffer.from('GET / HTTP/1.1\r\nHost: a\r\n\r\n')), { code: 'E_HTTP_DUP_HOST' });
});

test('custom limits apply', () => {
  const limits = { maxRequestLineBytes: 20, maxHeaderBytes: 60, maxHeaders: 2, maxChunkExtensionBytes: 4 };
  assert.equal(parseRequests('GET /0123456789012 HTTP/1.1\r\nHost: a\r\n\r\n', [], limits).error?.status, 414);
  assert.equal(parseRequests('GET / HTTP/1.1\r\nHost: a\r\nA: 1\r\nB: 2\r\n\r\n', [], limits).error?.code, 'E_HTTP_TOO_MANY_HEADERS');
  assert.equal(parseRequests(`GET / HTTP/1.1\r\nHost: a\r\nA: ${'x'.repeat(40)}\r\n\r\n`, [], limits).error?.code, 'E_HTTP_HEAD_TOO_LARGE');
  assert.equal(parseRequests('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;abcd\r\nx\r\n0\r\n\r\n', [], limits).error?.code, 'E_HTTP_CHUNK_EXT');
  assert.equal(parseRequests('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1;abc\r\nx\r\n0\r\n\r\n', [], limits).error, null);
});

test('a read buffer reused for every input (socket onread) parses like fresh buffers', async () => {
  const { RequestParser } = await import('../../../../src/engines/fast/http1/request-parser.js');
  const text = `\r\n\r\nGET /a HTTP/1.1\r\n${H}X-One: 1\r\n\r\nGET /bb HTTP/1.1\r\n${H}X-Two: 22\r\n\r\nPOST /c HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nxyz`;
  for (const size of [7, 16, 33, 64]) {
    const shared = Buffer.alloc(size);
    const heads: string[] = [];
    const p = new RequestParser({ onHead: (h) => heads.push(`${h.method} ${h.target} ${h.rawHeaders.join('|')}`), onBody: () => {}, onComplete: () => {} });
    for (let at = 0; at < text.length; at += size) {
      const n = Buffer.from(text.slice(at, at + size), 'latin1').copy(shared);
      const buf = n === size ? shared : shared.subarray(0, n);
      let off = 0;
      while (off < buf.length) off = p.execute(buf, off);
    }
    assert.deepEqual(heads, ['GET /a Host|example.com|X-One|1', 'GET /bb Host|example.com|X-Two|22', 'POST /c Host|example.com|Content-Length|3'], `size ${size}`);
  }
});
