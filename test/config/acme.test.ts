import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { LETS_ENCRYPT_PRODUCTION } from '../../src/config/acme.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const servers = [{ addr: 'http://a.example' }];
// `redirectHttp` null: no redirect listener.
const parse = (acme: unknown, redirectHttp: string | null = ':80') => parseConfig(JSON.stringify({ servers, redirectHttp: redirectHttp ?? undefined, tls: { acme } }), 'b.json', {});
function problems(acme: unknown, redirectHttp: string | null = ':80'): string {
  try {
    parse(acme, redirectHttp);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  assert.fail('config accepted');
}

test('tls.acme: off unless configured; defaults to Let\'s Encrypt production, ./certs and HTTP-01', () => {
  assert.equal(parseConfig(JSON.stringify({ servers }), 'b.json', {}).acme, undefined);
  assert.deepEqual(parse({ email: 'ops@example.com', domains: ['Example.com', 'www.example.com.'] }).acme, {
    email: 'ops@example.com',
    domains: ['example.com', 'www.example.com'],
    directory: LETS_ENCRYPT_PRODUCTION,
    storage: resolve('./certs'),
    challenge: 'http-01',
  });
  const ca = join(mkdtempSync(join(tmpdir(), 'balancer-acme-ca-')), 'pebble.pem');
  writeFileSync(ca, '-----BEGIN CERTIFICATE-----\n');
  const c = parse({ email: 'a@b.c', domains: ['x.test'], directory: 'https://127.0.0.1:14000/dir', storage: '/var/lib/balancer/certs', ca }).acme;
  assert.equal(c?.storage, '/var/lib/balancer/certs');
  assert.equal(c?.ca, ca);
  // With ACME, `tls` needs no certificates of its own.
  assert.equal(parse({ email: 'a@b.c', domains: ['x.test'] }).tls?.certificates.size, 0);
});

test('tls.acme: bad fields name the file and field and say what is allowed', () => {
  assert.match(problems({ email: 'ops', domains: ['a.com'] }), /^b\.json: tls\.acme\.email: "ops" is not an e-mail address/);
  assert.match(problems({ email: 'a@b.c', domains: [] }), /^b\.json: tls\.acme\.domains: is empty \(list at least one domain name/);
  assert.match(problems({ email: 'a@b.c', domains: ['*.example.com'] }), /tls\.acme\.domains\[0\]: "\*\.example\.com" is a wildcard name; HTTP-01 cannot prove a wildcard/);
  assert.match(problems({ email: 'a@b.c', domains: ['exa mple.com'] }), /tls\.acme\.domains\[0\]: "exa mple\.com" is not a DNS name/);
  assert.match(problems({ email: 'a@b.c', domains: ['10.0.0.1'] }), /tls\.acme\.domains\[0\]: "10\.0\.0\.1" is an IP address/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com', 'A.com'] }), /tls\.acme\.domains: .* lists a domain twice/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], directory: 'ftp://x' }), /tls\.acme\.directory: "ftp:\/\/x" is not an http:\/\/ or https:\/\/ URL/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], challenge: 'dns-01' }), /tls\.acme\.challenge: "dns-01" is not a supported challenge \(allowed: "http-01"\)/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], storge: 'x' }), /tls\.acme\.storge: unknown key \(did you mean "storage"\?\)/);
});

test('tls.acme: HTTP-01 needs the redirect listener; a ca file must be readable PEM', () => {
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'] }, null), /^b\.json: tls\.acme: needs "redirectHttp" \(e\.g\. ":80"\): the CA checks HTTP-01 challenges over plain HTTP/);
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], ca: '/nonexistent/ca.pem' }), /^b\.json: tls\.acme\.ca: "\/nonexistent\/ca\.pem" cannot be read: no such file$/);
  const notPem = join(mkdtempSync(join(tmpdir(), 'balancer-acme-ca-')), 'ca.txt');
  writeFileSync(notPem, 'hello');
  assert.match(problems({ email: 'a@b.c', domains: ['a.com'], ca: notPem }), /tls\.acme\.ca: ".*ca\.txt" is not a PEM file of CA certificates/);
});

test('tls.acme with more than one worker is a config error naming workers (the certificates would never reach them)', () => {
  const cfg = (workers: unknown) => JSON.stringify({ servers, redirectHttp: ':80', workers, tls: { acme: { email: 'a@b.c', domains: ['x.test'] } } });
  assert.throws(() => parseConfig(cfg(2), 'b.json', {}), (e: unknown) => e instanceof ConfigError && e.problems.some((p) => p === 'b.json: workers: 2 is more than one process: automatic certificates ("tls.acme") need "workers": 1 for now'));
  assert.equal(parseConfig(cfg(1), 'b.json', {}).workers, 1);
});
