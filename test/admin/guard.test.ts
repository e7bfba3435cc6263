import assert from 'node:assert/strict';
import type { IncomingHttpHeaders } from 'node:http';
import { test } from 'node:test';
import { createGuard, hasBody, isReadMethod, type GuardOptions } from '../../src/admin/guard.js';

const TOKEN = 's3cret-token';
const withToken: GuardOptions = { token: TOKEN, host: '127.0.0.1', port: 9901 };
const readOnly: GuardOptions = { token: undefined, host: '127.0.0.1', port: 9901 };
const everyInterface: GuardOptions = { token: TOKEN, host: '0.0.0.0', port: 9901 };
const onHost: GuardOptions = { token: TOKEN, host: '10.1.2.3', port: 9901 };

const auth = { authorization: `Bearer ${TOKEN}` };
const json = { 'content-type': 'application/json', 'content-length': '13' };

interface Row {
  readonly name: string;
  readonly opts: GuardOptions;
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** Expected refusal code, or undefined when the request passes. */
  readonly code: string | undefined;
  readonly status?: number;
}

const rows: Row[] = [
  // Tokens.
  { name: 'read with the token', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', ...auth }, code: undefined },
  { name: 'read without a token header', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901' }, code: 'E_ADMIN_UNAUTHORIZED', status: 401 },
  { name: 'read with a wrong token', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: 'Bearer nope' }, code: 'E_ADMIN_UNAUTHORIZED', status: 401 },
  { name: 'a token that is a prefix of the real one', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: 'Bearer s3cret' }, code: 'E_ADMIN_UNAUTHORIZED' },
  { name: 'the real token with more after it', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: `Bearer ${TOKEN}x` }, code: 'E_ADMIN_UNAUTHORIZED' },
  { name: 'Basic instead of Bearer', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: `Basic ${TOKEN}` }, code: 'E_ADMIN_UNAUTHORIZED' },
  { name: 'the token without a scheme', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: TOKEN }, code: 'E_ADMIN_UNAUTHORIZED' },
  { name: 'bearer in lower case', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', authorization: `bearer ${TOKEN}` }, code: undefined },
  { name: 'write with the token, no body', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', ...auth }, code: undefined },
  { name: 'write without the token', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901' }, code: 'E_ADMIN_UNAUTHORIZED', status: 401 },
  // Read-only listener (no token configured).
  { name: 'read-only: reads need no token', opts: readOnly, method: 'GET', headers: { host: '127.0.0.1:9901' }, code: undefined },
  { name: 'read-only: POST is refused', opts: readOnly, method: 'POST', headers: { host: '127.0.0.1:9901' }, code: 'E_ADMIN_READ_ONLY', status: 403 },
  { name: 'read-only: PUT is refused even with some token', opts: readOnly, method: 'PUT', headers: { host: '127.0.0.1:9901', ...auth, ...json }, code: 'E_ADMIN_READ_ONLY' },
  { name: 'read-only: DELETE is refused', opts: readOnly, method: 'DELETE', headers: { host: '127.0.0.1:9901' }, code: 'E_ADMIN_READ_ONLY' },
  { name: 'read-only: an unknown method counts as a write', opts: readOnly, method: 'PATCH', headers: { host: '127.0.0.1:9901' }, code: 'E_ADMIN_READ_ONLY' },
  // Host (DNS rebinding).
  { name: 'Host localhost with the port', opts: withToken, method: 'GET', headers: { host: 'localhost:9901', ...auth }, code: undefined },
  { name: 'Host LOCALHOST in capitals', opts: withToken, method: 'GET', headers: { host: 'LOCALHOST:9901', ...auth }, code: undefined },
  { name: 'Host [::1] with the port', opts: withToken, method: 'GET', headers: { host: '[::1]:9901', ...auth }, code: undefined },
  { name: 'a foreign Host name', opts: withToken, method: 'GET', headers: { host: 'evil.example:9901', ...auth }, code: 'E_ADMIN_BAD_HOST', status: 403 },
  { name: 'a rebound name with the right port', opts: readOnly, method: 'GET', headers: { host: 'rebind.attacker.test:9901' }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'localhost on another port', opts: withToken, method: 'GET', headers: { host: 'localhost:8080', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'localhost without a port (port 80)', opts: withToken, method: 'GET', headers: { host: 'localhost', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'no Host header', opts: withToken, method: 'GET', headers: { ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'a malformed Host', opts: withToken, method: 'GET', headers: { host: 'a b:9901', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'a Host with user info', opts: withToken, method: 'GET', headers: { host: 'x@127.0.0.1:9901', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'the configured host', opts: onHost, method: 'GET', headers: { host: '10.1.2.3:9901', ...auth }, code: undefined },
  { name: 'another IP when bound to one host', opts: onHost, method: 'GET', headers: { host: '10.9.9.9:9901', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'every interface: any IP literal passes', opts: everyInterface, method: 'GET', headers: { host: '10.9.9.9:9901', ...auth }, code: undefined },
  { name: 'every interface: a DNS name is still refused', opts: everyInterface, method: 'GET', headers: { host: 'evil.example:9901', ...auth }, code: 'E_ADMIN_BAD_HOST' },
  { name: 'Host is checked before the token', opts: withToken, method: 'GET', headers: { host: 'evil.example:9901' }, code: 'E_ADMIN_BAD_HOST' },
  // Origin and Sec-Fetch-Site (CSRF).
  { name: 'same-origin Origin', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'http://127.0.0.1:9901', ...auth }, code: undefined },
  { name: 'Origin localhost on the admin port', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'http://localhost:9901', ...auth }, code: undefined },
  { name: 'a cross-site Origin', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'https://evil.example', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN', status: 403 },
  { name: 'a cross-site Origin on a read', opts: readOnly, method: 'GET', headers: { host: '127.0.0.1:9901', origin: 'http://evil.example' }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'an Origin on localhost but another port (another local web app)', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'http://localhost:3000', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'Origin null (sandboxed page)', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'null', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'an https Origin of the admin address', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'https://127.0.0.1:9901', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'Sec-Fetch-Site: cross-site', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'cross-site', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN', status: 403 },
  { name: 'Sec-Fetch-Site: same-site (another port of localhost)', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'same-site', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'Sec-Fetch-Site repeated, one of them cross-site', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'same-origin, cross-site', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'Origin repeated (joined by node), one of them foreign', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', origin: 'http://127.0.0.1:9901, http://evil.example', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  { name: 'Sec-Fetch-Site: same-origin', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'same-origin', ...auth }, code: undefined },
  { name: 'Sec-Fetch-Site: none (typed in the address bar)', opts: readOnly, method: 'GET', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'none' }, code: undefined },
  { name: 'a cross-site request is refused even with the token', opts: withToken, method: 'GET', headers: { host: '127.0.0.1:9901', 'sec-fetch-site': 'cross-site', ...auth }, code: 'E_ADMIN_FORBIDDEN_ORIGIN' },
  // Content type of write bodies.
  { name: 'a JSON body', opts: withToken, method: 'PUT', headers: { host: '127.0.0.1:9901', ...auth, ...json }, code: undefined },
  { name: 'a JSON body with a charset', opts: withToken, method: 'PUT', headers: { host: '127.0.0.1:9901', ...auth, ...json, 'content-type': 'Application/JSON; charset=utf-8' }, code: undefined },
  { name: 'a body without Content-Type', opts: withToken, method: 'PUT', headers: { host: '127.0.0.1:9901', ...auth, 'content-length': '13' }, code: 'E_ADMIN_CONTENT_TYPE', status: 415 },
  { name: 'a form body (what an HTML form sends)', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', ...auth, 'content-length': '5', 'content-type': 'application/x-www-form-urlencoded' }, code: 'E_ADMIN_CONTENT_TYPE' },
  { name: 'text/plain (a "simple" cross-origin request)', opts: withToken, method: 'PUT', headers: { host: '127.0.0.1:9901', ...auth, 'transfer-encoding': 'chunked', 'content-type': 'text/plain' }, code: 'E_ADMIN_CONTENT_TYPE' },
  { name: 'an empty body needs no Content-Type', opts: withToken, method: 'POST', headers: { host: '127.0.0.1:9901', ...auth, 'content-length': '0' }, code: undefined },
];

for (const row of rows) {
  test(`guard: ${row.name} → ${row.code ?? 'passes'}`, () => {
    const r = createGuard(row.opts)({ method: row.method, headers: row.headers });
    assert.equal(r?.code, row.code, r?.message);
    if (row.status !== undefined) assert.equal(r?.status, row.status);
    if (r !== undefined) assert.ok(r.message.length > 10, 'every refusal says why');
  });
}

test('guard: a 401 carries WWW-Authenticate: Bearer', () => {
  const r = createGuard(withToken)({ method: 'GET', headers: { host: '127.0.0.1:9901' } });
  assert.match(r?.headers?.['www-authenticate'] ?? '', /^Bearer /);
});

test('guard: refusals never echo the configured token', () => {
  const g = createGuard(withToken);
  for (const row of rows.filter((x) => x.opts === withToken)) {
    const r = g({ method: row.method, headers: { ...row.headers, authorization: 'Bearer wrong' } });
    if (r !== undefined) assert.ok(!r.message.includes(TOKEN), r.message);
  }
});

test('guard: read methods and bodies', () => {
  assert.deepEqual(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'DELETE'].map(isReadMethod), [true, true, true, false, false, false]);
  assert.equal(hasBody({ 'content-length': '0' }), false);
  assert.equal(hasBody({}), false);
  assert.equal(hasBody({ 'content-length': '2' }), true);
  assert.equal(hasBody({ 'transfer-encoding': 'chunked' }), true);
});
