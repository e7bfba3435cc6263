// "engine": "fast" with "tls" (src/engines/fast/https-engine.ts): the node engine's HTTPS listener
// keeps HTTP/2 connections and hands HTTP/1.1 ones to the fast engine. Black-box: the real CLI,
// real TLS clients; what only the fast engine's parser refuses shows which engine answered.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';
import { startBalancer, type BalancerProcess } from '../helpers/cluster.js';
import { certDir, makeCert } from '../helpers/certs.js';
import { h2get } from '../helpers/h2.js';
import { echoBackend, type EchoBackend } from './tls-backend.js';

let backend: EchoBackend;
let bp: BalancerProcess;
let port: number;

before(async () => {
  const a = makeCert(certDir(), 'a', ['a.test']);
  backend = await echoBackend();
  bp = await startBalancer({ engine: 'fast', servers: [{ addr: backend.url }], tls: { certificates: [{ cert: a.cert, key: a.key }] } });
  port = Number(new URL(bp.url).port);
});

after(async () => {
  await bp.stop();
  await backend.close();
});

/** Sends `raw` on a new TLS connection (ALPN `alpn`, none when empty) and reads until the server closes or `until` matches. */
function exchange(raw: string, alpn: string[], until?: RegExp): Promise<{ text: string; protocol: string | false | null }> {
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: alpn }, () => s.write(raw));
    let text = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      text += d;
      if (until?.test(text) === true) s.end();
    });
    s.on('error', reject);
    s.on('close', () => resolve({ text, protocol: s.alpnProtocol }));
  });
}

test('HTTP/1.1 over TLS is served by the fast engine: X-Forwarded-Proto https, keep-alive, its strict parser', async () => {
  const r = await exchange('GET /headers HTTP/1.1\r\nHost: a.test\r\n\r\nGET /headers HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n', ['http/1.1']);
  assert.equal(r.protocol, 'http/1.1');
  const answers = r.text.split(/(?=HTTP\/1\.1 )/);
  assert.equal(answers.length, 2, 'two answers on one kept-alive connection');
  for (const a of answers) {
    assert.match(a, /^HTTP\/1\.1 200 /);
    const seen = JSON.parse(a.slice(a.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-port'], String(port));
  }
  // Transfer-Encoding in an HTTP/1.0 request: the node engine (llhttp) serves it, the fast engine refuses it.
  const te = await exchange('POST /headers HTTP/1.0\r\nHost: a.test\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', []);
  assert.match(te.text, /^HTTP\/1\.1 400 /, 'refused by the fast engine');
});

test('HTTP/2 clients are served by the same listener (the node engine), with X-Forwarded-Proto https', async () => {
  const got = await h2get(port, '/headers');
  assert.equal(got.status, 200);
  assert.equal((JSON.parse(got.body) as { headers: Record<string, string> }).headers['x-forwarded-proto'], 'https');
});
