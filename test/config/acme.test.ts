import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { LETS_ENCRYPT_PRODUCTION } from '../../src/config/acme.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const servers = [{ addr: 'http://a.example' }];
const parse = (acme: unknown) => parseConfig(JSON.stringify({ servers, acme }), 'b.json', {});
function problems(acme: unknown): string {
  try {
    parse(acme);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  assert.fail('config accepted');
}

test('acme: off unless configured; defaults to Let\'s Encrypt production, ./certs and HTTP-01', () => {
  assert.equal(parseConfig(JSON.stringify({ servers }), 'b.json', {}).acme, undefined);
  assert.deepEqual(parse({ email: 'ops@example.com', domains: ['Example.com', 'www.example.com.'] }).acme, {
    email: 'ops@example.com',
    domains: ['example.com', 'www.example.com'],
    directory: LETS_ENCRYPT_PRODUCTION,
    storage: resolve('./certs'),
    challenge: 'http-01',
  });
  const c = parse({ email: 'a@b.c', domains: ['x.test'], directory: 'https://127.0.0.1:14000/dir', storage: '/var/lib/balancer/certs', ca: 'pebble.pem' }).acme;
  assert.equal(c?.storage, '/var/lib/balancer/certs');
  assert.equal(c?.ca, resolve('pebble.pem'));
});

test('acme: bad fields name the file and field and say what is allowed', () => {
  assert.match(problems({ email: 'ops', domains: ['a.com'] }), /^b\.json: acme\.email: "ops" is not an e-mail address/);
  assert.match(problems({ email: 'a@b.c', domains: [] }), /^b\.json: acme\.domains: is empty \(list at least one domain name/);
  assert.match(problems({ email: 'a@b.c', domains: ['*.example.com'] }), /acme\.domains\[0\]: "\*\.example\.com" is a wildcard name; HTTP-01 cannot prove a wildcard/);
  assert.match(problems({ email: 'a@b.c', domains: ['exa mple.com'] }), /acme\.domains\[0\]: "exa mple\.com" is not a DNS name/);
  assert.match(problems({ email: 'a@b.c', domains: ['10.0.0.1'] }), /acme\.domains\[0\]: "10\.0\.0\.1" is an IP address/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com', 'A.com'] }), /acme\.domains: .* lists a domain twice/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], directory: 'ftp://x' }), /acme\.directory: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], challenge: 'dns-01' }), /acme\.challenge: "dns-01" is not a supported challenge \(allowed: "http-01"\)/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], storge: 'x' }), /acme\.storge: unknown key \(did you mean "storage"\?\)/);
});
