import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, writeConfig } from '../helpers/cluster.js';
import { certDir, makeCert } from '../helpers/certs.js';

const dir = certDir();
const pair = (c: { cert: string; key: string }) => ({ cert: c.cert, key: c.key });
const good = pair(makeCert(dir, 'good', ['good.test']));
const other = pair(makeCert(dir, 'other', ['other.test']));
const expired = pair(makeCert(dir, 'expired', ['expired.test'], { days: -1 }));
const garbage = join(dir, 'garbage.pem');
writeFileSync(garbage, '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n');

/** Starts the balancer on `tls` and returns its exit status and standard error (it must not start). */
function start(tls: unknown): { status: number | null; stderr: string; file: string } {
  const file = writeConfig({ addr: '127.0.0.1:0', servers: [{ addr: 'http://127.0.0.1:9' }], tls });
  const r = spawnSync(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stderr: r.stderr, file };
}

const cases: [string, unknown, (file: string) => RegExp][] = [
  ['a missing certificate file', { certificates: [good, { cert: join(dir, 'missing.crt'), key: good.key }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[1\\]\\.cert: ".*missing\\.crt" cannot be read: no such file$`, 'm')],
  ['a missing key file', { certificates: [{ cert: good.cert, key: join(dir, 'missing.key') }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.key: ".*missing\\.key" cannot be read: no such file$`, 'm')],
  ['a file that is not PEM', { certificates: [{ cert: good.key, key: good.key }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.cert: ".*good\\.key" is not a PEM certificate`, 'm')],
  ['a PEM block that is no certificate', { certificates: [{ cert: garbage, key: good.key }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.cert: ".*garbage\\.pem" is not a valid PEM certificate`, 'm')],
  ['a certificate given as the key', { certificates: [{ cert: good.cert, key: good.cert }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.key: ".*good\\.crt" is not a PEM private key`, 'm')],
  ['a key that does not match', { certificates: [good, { cert: other.cert, key: good.key }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[1\\]\\.key: ".*good\\.key" does not match the certificate ".*other\\.crt"`, 'm')],
  ['an expired certificate', { certificates: [expired] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.cert: ".*expired\\.crt" expired on `, 'm')],
  ['no certificates', { certificates: [] }, (f) => new RegExp(`^${f}: tls: .*has no certificates`, 'm')],
  ['TLS 1.1 as the minimum', { certificates: [good], minVersion: 'TLSv1.1' }, (f) => new RegExp(`^${f}: tls\\.minVersion: "TLSv1\\.1" is not a TLS version the balancer allows \\(allowed: "TLSv1\\.2", "TLSv1\\.3"\\)`, 'm')],
  ['a cipher list OpenSSL rejects', { certificates: [good], ciphers: 'NOT-A-CIPHER' }, (f) => new RegExp(`^${f}: tls\\.ciphers: "NOT-A-CIPHER" is not a cipher list OpenSSL accepts`, 'm')],
  ['a misspelt certificate field', { certificates: [{ ...good, fingerprint: 'x' }] }, (f) => new RegExp(`^${f}: tls\\.certificates\\[0\\]\\.fingerprint: unknown key; allowed: cert, key`, 'm')],
  ['a misspelt field', { certificates: [good], minVerison: 'TLSv1.3' }, (f) => new RegExp(`^${f}: tls\\.minVerison: unknown key.*minVersion`, 'm')],
];

for (const [what, tls, expected] of cases) {
  test(`${what}: exit 2, the file, the field and the problem named`, () => {
    const r = start(tls);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, expected(r.file));
  });
}
