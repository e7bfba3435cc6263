import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect } from 'node:tls';
import { adminUrl, startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { certDir, makeCert } from '../helpers/certs.js';
import { echoBackend } from './tls-backend.js';

function fingerprint(port: number, servername: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.destroy();
    });
    s.once('error', reject);
  });
}

test('certificates swap on reload without dropping a connection; a bad certificate on reload keeps the old ones serving', async () => {
  const dir = certDir();
  const a1 = makeCert(dir, 'a1', ['a.test']);
  const a2 = makeCert(dir, 'a2', ['a.test']);
  const b = makeCert(dir, 'b', ['b.test'], { days: 10 });
  const backend = await echoBackend();
  const base = { addr: '127.0.0.1:0', servers: [{ addr: backend.url }], admin: { addr: '127.0.0.1:0' } };
  const bp = await startBalancer({ ...base, tls: { certificates: [{ cert: a1.cert, key: a1.key }] } });
  const port = Number(new URL(bp.url).port);
  let session: ClientHttp2Session | undefined;
  try {
    assert.equal(await fingerprint(port, 'a.test'), a1.fingerprint);
    // A client connected across the swap, in the middle of a streaming request.
    session = h2connect(bp.url, { rejectUnauthorized: false, servername: 'a.test' });
    const req = session.request({ ':path': '/echo', ':method': 'POST' });
    req.setEncoding('utf8');
    let echoed = '';
    req.on('data', (d: string) => (echoed += d));
    req.write('before;');
    await waitFor(() => echoed === 'before;', 'the first echo');

    const reloads = (): number => bp.logs.filter((l) => String(l.msg).startsWith('reloaded ')).length;
    writeFileSync(bp.file, JSON.stringify({ ...base, tls: { certificates: [{ cert: a2.cert, key: a2.key }, { cert: b.cert, key: b.key }] } }));
    bp.proc.kill('SIGHUP');
    await waitFor(() => reloads() === 1, 'the reload');
    assert.equal(await fingerprint(port, 'a.test'), a2.fingerprint, 'new connections get the new certificate');
    assert.equal(await fingerprint(port, 'b.test'), b.fingerprint, 'and the added one');

    req.write('after;');
    await waitFor(() => echoed === 'before;after;', 'the echo after the swap, on the same connection');
    const ended = new Promise((r) => req.once('end', r));
    req.end();
    await ended;

    // The admin API and the metrics show what is served.
    const admin = await adminUrl(bp);
    const view = (await (await fetch(`${admin}/api/certificates`)).json()) as { certificates: { names: string[]; daysLeft: number; fingerprint: string; issuer: string; notAfter: string; default: boolean }[] };
    assert.deepEqual(view.certificates.map((c) => c.names), [['a.test'], ['b.test']]);
    assert.equal(view.certificates[0]?.fingerprint, a2.fingerprint);
    assert.equal(view.certificates[0]?.default, true);
    assert.equal(view.certificates[1]?.daysLeft, 9);
    assert.match(view.certificates[1]?.issuer ?? '', /CN=b\.test/);
    const metrics = await (await fetch(`${admin}/metrics`)).text();
    const m = /^balancer_certificate_expiry_timestamp_seconds\{name="b\.test"\} (\d+)$/m.exec(metrics);
    assert.ok(m !== null, 'the expiry metric is there');
    assert.equal(Number(m[1]), Date.parse(view.certificates[1]?.notAfter ?? '') / 1000);
    const config = await (await fetch(`${admin}/api/config`)).text();
    assert.doesNotMatch(config, /PRIVATE KEY/, 'the config view never shows a key');

    // A bad certificate on reload: rejected, named, and the certificates in force keep serving.
    writeFileSync(bp.file, JSON.stringify({ ...base, tls: { certificates: [{ cert: a1.cert, key: b.key }] } }));
    bp.proc.kill('SIGHUP');
    await waitFor(() => bp.logs.some((l) => String(l.msg).startsWith('reload rejected')), 'the rejected reload');
    const line = String(bp.logs.find((l) => String(l.msg).startsWith('reload rejected'))?.msg);
    assert.match(line, /tls\.certificates\[0\]\.key: ".*b\.key" does not match the certificate ".*a1\.crt"/);
    assert.equal(await fingerprint(port, 'a.test'), a2.fingerprint);
    assert.equal(await fingerprint(port, 'b.test'), b.fingerprint);
    const r = await new Promise<number>((resolve, reject) => {
      const s = session?.request({ ':path': '/still' });
      s?.on('response', (h) => resolve(Number(h[':status'])));
      s?.on('error', reject);
      s?.resume();
      s?.end();
    });
    assert.equal(r, 200, 'the connection opened before both reloads still serves');
  } finally {
    session?.close();
    await bp.stop();
    await backend.close();
  }
});
