import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CertificateError, CertificateSet } from '../../src/tls/certificates.js';
import { MOZILLA_INTERMEDIATE_CIPHERS } from '../../src/config/tls.js';
import { certDir, makeCert } from '../helpers/certs.js';

const options = { minVersion: 'TLSv1.2', ciphers: MOZILLA_INTERMEDIATE_CIPHERS } as const;
const dir = certDir();
const a = makeCert(dir, 'a', ['a.test', 'www.a.test']);
const wild = makeCert(dir, 'wild', ['*.wild.test']);
const cnOnly = makeCert(dir, 'cn', ['cn.test'], { san: false });

test('SNI: exact names, a wildcard one label deep, and the first certificate for everything else', () => {
  const set = CertificateSet.load([a, wild, cnOnly], options);
  assert.equal(set.sourceFor('a.test'), a.cert);
  assert.equal(set.sourceFor('WWW.A.TEST.'), a.cert, 'case and a trailing dot do not matter');
  assert.equal(set.sourceFor('x.wild.test'), wild.cert);
  assert.equal(set.sourceFor('y.x.wild.test'), a.cert, 'a wildcard matches one label only');
  assert.equal(set.sourceFor('wild.test'), a.cert, 'a wildcard does not match its parent');
  assert.equal(set.sourceFor('cn.test'), cnOnly.cert, 'no SAN: the CN names it');
  assert.equal(set.sourceFor(undefined), a.cert, 'no SNI: the default');
  assert.equal(set.sourceFor('other.test'), a.cert, 'unknown name: the default');
  assert.ok(set.contextFor('x.wild.test') !== undefined);
});

test('list() shows names, issuer, validity, days left, source and fingerprint; JSON never shows a key', () => {
  const set = CertificateSet.load([a, wild], options);
  const [first, second] = set.list();
  assert.deepEqual(first?.names, ['a.test', 'www.a.test']);
  assert.equal(first?.default, true);
  assert.equal(second?.default, false);
  assert.match(first?.issuer ?? '', /CN=a\.test/);
  assert.equal(first?.fingerprint, a.fingerprint);
  assert.equal(first?.source, a.cert);
  assert.ok(first !== undefined && first.daysLeft >= 29 && first.daysLeft <= 30, `daysLeft ${first?.daysLeft}`);
  assert.ok(Date.parse(first?.notAfter ?? '') > Date.now());
  const json = JSON.stringify({ set });
  assert.doesNotMatch(json, /PRIVATE KEY/);
  assert.match(json, /a\.test/);
});

test('fromPem and withExtra: run-time certificates serve the names the configured ones do not', () => {
  const base = CertificateSet.load([a], options);
  const extra = CertificateSet.fromPem([{ cert: readFileSync(wild.cert, 'utf8'), key: readFileSync(wild.key, 'utf8'), source: 'acme:*.wild.test' }], options);
  const both = base.withExtra(extra);
  assert.equal(both.sourceFor('z.wild.test'), 'acme:*.wild.test');
  assert.equal(both.sourceFor(undefined), a.cert, 'the configured first stays the default');
  assert.equal(CertificateSet.empty(options).withExtra(extra).sourceFor(undefined), 'acme:*.wild.test');
  assert.equal(base.size, 1, 'sets are immutable');
});

test('every bad pair is a problem naming the field and the file', () => {
  const expired = makeCert(dir, 'old', ['old.test'], { days: -1 });
  const notPem = join(dir, 'not.pem');
  writeFileSync(notPem, 'hello\n');
  const cases: [string, { cert: string; key: string }, RegExp][] = [
    ['missing cert', { cert: join(dir, 'nope.crt'), key: a.key }, /^tls\.certificates\[0\]\.cert: ".*nope\.crt" cannot be read: no such file$/],
    ['missing key', { cert: a.cert, key: join(dir, 'nope.key') }, /^tls\.certificates\[0\]\.key: ".*nope\.key" cannot be read: no such file$/],
    ['not a certificate', { cert: notPem, key: a.key }, /^tls\.certificates\[0\]\.cert: ".*not\.pem" is not a PEM certificate/],
    ['a key given as the cert', { cert: a.key, key: a.key }, /^tls\.certificates\[0\]\.cert: ".*a\.key" is not a PEM certificate/],
    ['not a key', { cert: a.cert, key: a.cert }, /^tls\.certificates\[0\]\.key: ".*a\.crt" is not a PEM private key/],
    ['mismatched key', { cert: a.cert, key: wild.key }, /^tls\.certificates\[0\]\.key: ".*wild\.key" does not match the certificate ".*a\.crt"/],
    ['expired', { cert: expired.cert, key: expired.key }, /^tls\.certificates\[0\]\.cert: ".*old\.crt" expired on \d{4}-/],
  ];
  for (const [what, pair, expected] of cases) {
    assert.throws(
      () => CertificateSet.load([pair], options),
      (e: unknown) => e instanceof CertificateError && e.problems.length === 1 && expected.test(`${e.problems[0]?.field}: ${e.problems[0]?.message}`),
      what,
    );
  }
  // Several bad entries: each is reported, with its own index.
  assert.throws(
    () => CertificateSet.load([a, { cert: a.cert, key: wild.key }, { cert: join(dir, 'x'), key: a.key }], options),
    (e: unknown) => e instanceof CertificateError && e.problems.map((p) => p.field).sort().join() === 'tls.certificates[1].key,tls.certificates[2].cert',
  );
});
