// "workers" with "tls": every worker runs the HTTPS listener (the fast engine for HTTP/1.1, the
// node engine's code for HTTP/2) on the shared port. Black-box: the real CLI, real TLS clients.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { startBalancer, type BalancerProcess } from '../helpers/cluster.js';
import { certDir, makeCert } from '../helpers/certs.js';
import { h2get } from '../helpers/h2.js';
import { echoBackend } from '../tls/tls-backend.js';

/** One HTTP/1.1 request over a new TLS connection; resolves with the raw answer. */
function https1(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () =>
      s.write('GET /headers HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n'),
    );
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (text += d));
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });
}

test('workers with tls: every worker starts the HTTPS listener (certificates cross IPC as PEM); HTTP/1.1 and HTTP/2 are served, X-Forwarded-Proto https', async () => {
  const a = makeCert(certDir(), 'a', ['a.test']);
  const backend = await echoBackend();
  let bp: BalancerProcess | undefined;
  try {
    bp = await startBalancer({ workers: 2, servers: [{ addr: backend.url }], tls: { certificates: [{ cert: a.cert, key: a.key }] } });
    const port = Number(new URL(bp.url).port);
    for (let i = 0; i < 8; i++) {
      const one = await https1(port);
      assert.match(one, /^HTTP\/1\.1 200 /);
      assert.equal((JSON.parse(one.slice(one.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
      const two = await h2get(port, '/headers');
      assert.equal(two.status, 200);
      assert.equal((JSON.parse(two.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
    }
  } finally {
    await bp?.stop();
    await backend.close();
  }
});
