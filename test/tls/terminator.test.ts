// The seam ACME uses: certificates added at run time (setExtra) serve new handshakes at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { resolveTls } from '../../src/config/tls.js';
import { CertificateSet } from '../../src/tls/certificates.js';
import { TlsTerminator } from '../../src/tls/terminator.js';
import { certDir, makeCert, type TestCert } from '../helpers/certs.js';
import { recordingLogger } from '../helpers/logger.js';

function fingerprint(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...(servername === undefined ? {} : { servername }) }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

const pem = (c: TestCert, source: string) => ({ cert: readFileSync(c.cert, 'utf8'), key: readFileSync(c.key, 'utf8'), source });

async function listen(t: TlsTerminator): Promise<{ port: number; close: () => Promise<void> }> {
  const server = t.createServer({}, 100, (_req, res) => res.end('ok'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

test('setExtra: run-time certificates serve their names at once; the configured default stays; removing them restores the set', async () => {
  const dir = certDir();
  const conf = makeCert(dir, 'conf', ['conf.test']);
  const acme = makeCert(dir, 'acme', ['acme.test']);
  const settings = resolveTls({ certificates: [{ cert: conf.cert, key: conf.key }], minVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256', http2: { maxConcurrentStreams: 10, maxHeaderListSize: 8192, maxSessionMemory: 10, maxResetsPerSecond: 100 } });
  assert.ok(settings !== undefined);
  const t = new TlsTerminator(settings, recordingLogger());
  const swaps: number[] = [];
  t.onSwap((set) => swaps.push(set.size));
  const l = await listen(t);
  try {
    assert.equal(await fingerprint(l.port, 'acme.test'), conf.fingerprint, 'unknown name: the default');
    t.setExtra(CertificateSet.fromPem([pem(acme, 'acme:acme.test')], t.contextOptions));
    assert.equal(await fingerprint(l.port, 'acme.test'), acme.fingerprint);
    assert.equal(await fingerprint(l.port), conf.fingerprint, 'no SNI: still the configured default');
    assert.deepEqual(t.list().map((c) => c.source), [conf.cert, 'acme:acme.test']);
    t.setExtra(undefined);
    assert.equal(await fingerprint(l.port, 'acme.test'), conf.fingerprint);
    assert.deepEqual(swaps, [2, 1]);
  } finally {
    await l.close();
  }
});

test('no configured certificate (ACME only): the first run-time certificate becomes the default, also without SNI', async () => {
  const dir = certDir();
  const acme = makeCert(dir, 'acme', ['acme.test']);
  const settings = resolveTls({ certificates: [], minVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256:TLS_AES_128_GCM_SHA256', http2: { maxConcurrentStreams: 10, maxHeaderListSize: 8192, maxSessionMemory: 10, maxResetsPerSecond: 100 } });
  assert.ok(settings !== undefined);
  const t = new TlsTerminator(settings, recordingLogger());
  const l = await listen(t);
  try {
    await assert.rejects(fingerprint(l.port, 'acme.test'), 'no certificate yet: the handshake fails');
    t.setExtra(CertificateSet.fromPem([pem(acme, 'acme:acme.test')], t.contextOptions));
    assert.equal(await fingerprint(l.port, 'acme.test'), acme.fingerprint);
    assert.equal(await fingerprint(l.port), acme.fingerprint);
  } finally {
    await l.close();
  }
});
