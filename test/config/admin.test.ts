import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { adminNeedsRestart, isLoopbackHost } from '../../src/config/admin.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { CLI, writeConfig } from '../helpers/cluster.js';

const servers = [{ addr: 'http://localhost:9000' }];
const parse = (admin: unknown, env: Record<string, string> = {}) => parseConfig(JSON.stringify({ servers, admin }), 'balancer.json', env);

function problems(admin: unknown, env: Record<string, string> = {}): string[] {
  try {
    parse(admin, env);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  return [];
}

test('admin: off unless configured', () => {
  assert.equal(parseConfig(JSON.stringify({ servers }), 'b.json', {}).admin, undefined);
});

test('admin: loopback without a token is accepted (a read-only API)', () => {
  for (const addr of ['127.0.0.1:9901', 'localhost:9901', '[::1]:9901', '127.0.0.2:0']) {
    const c = parse({ addr });
    assert.equal(c.admin?.addr, addr);
    assert.equal(c.admin?.token, undefined);
  }
});

test('admin: the token is read from the environment', () => {
  const c = parse({ addr: '127.0.0.1:9901', token: '${BALANCER_ADMIN_TOKEN}' }, { BALANCER_ADMIN_TOKEN: 'abc123' });
  assert.equal(c.admin?.token, 'abc123');
  assert.deepEqual(c.admin?.listen, { host: '127.0.0.1', port: 9901 });
});

test('admin: an address beyond loopback without a token is refused, naming admin.addr and admin.token', () => {
  for (const addr of [':9901', '0.0.0.0:9901', '[::]:9901', '10.0.0.5:9901', 'admin.example.com:9901']) {
    const p = problems({ addr });
    assert.equal(p.length, 1, addr);
    assert.match(p[0] ?? '', new RegExp(`^balancer\\.json: admin\\.addr: "${addr.replace(/[.[\]]/g, '\\$&')}" is not a loopback address, and admin\\.token is not set`));
  }
  // With a token it is accepted.
  assert.equal(parse({ addr: '0.0.0.0:9901', token: 't0ken' }).admin?.token, 't0ken');
});

test('admin: bad fields say what is allowed, without showing a substituted secret', () => {
  assert.match(problems({ addr: '9901' })[0] ?? '', /admin\.addr: "9901" is not a listen address/);
  assert.match(problems({})[0] ?? '', /admin\.addr: is required/);
  assert.match(problems({ addr: '127.0.0.1:9901', token: '' })[0] ?? '', /admin\.token: "" is empty/);
  assert.match(problems({ addr: '127.0.0.1:9901', tokn: 'x' })[0] ?? '', /admin\.tokn: unknown key \(did you mean "token"\?\)/);
  assert.match(problems({ addr: '127.0.0.1:9901', token: '${NOPE}' })[0] ?? '', /admin\.token: "\$\{NOPE\}" uses environment variable NOPE, which is not set/);
  // An empty variable is no token, and so refused: it must not silently make the API open.
  assert.match(problems({ addr: '127.0.0.1:9901', token: '${T}' }, { T: '' })[0] ?? '', /admin\.token: "\$\{T\}" is empty/);
  const spaced = problems({ addr: '127.0.0.1:9901', token: '${T}' }, { T: 'has space' });
  assert.match(spaced[0] ?? '', /admin\.token: "\$\{T\}" has spaces/);
  assert.ok(!spaced[0]?.includes('has space '), 'the substituted value is not shown');
});

test('admin: balancer validate refuses a non-loopback admin address without a token (exit 2)', () => {
  const file = writeConfig({ servers, admin: { addr: '0.0.0.0:9901' } });
  const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr + r.stdout, /admin\.addr: "0\.0\.0\.0:9901" is not a loopback address, and admin\.token is not set/);
});

test('isLoopbackHost', () => {
  const yes = ['127.0.0.1', '127.1.2.3', 'localhost', 'LOCALHOST', 'api.localhost', '::1', '::ffff:127.0.0.1'];
  const no = [undefined, '0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::2', 'localhost.example.com'];
  for (const h of yes) assert.equal(isLoopbackHost(h), true, h);
  for (const h of no) assert.equal(isLoopbackHost(h), false, String(h));
});

test('adminNeedsRestart: a new address or turning it on or off; not a new token', () => {
  const a = parse({ addr: '127.0.0.1:9901', token: 'one' }).admin;
  const sameAddrNewToken = parse({ addr: '127.0.0.1:9901', token: 'two' }).admin;
  const moved = parse({ addr: '127.0.0.1:9902', token: 'one' }).admin;
  assert.equal(adminNeedsRestart(a, sameAddrNewToken), false);
  assert.equal(adminNeedsRestart(a, moved), true);
  assert.equal(adminNeedsRestart(a, undefined), true);
  assert.equal(adminNeedsRestart(undefined, a), true);
  assert.equal(adminNeedsRestart(undefined, undefined), false);
});
