// An upgrade the server refuses is relayed as a well-framed answer: the server's chunked body
// arrives whole, and the connection closes after it (found by the hostile-request table's
// WebSocket-smuggling row: the chunked framing header was relayed over the de-chunked body).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { test } from 'node:test';
import { startBalancer } from '../../helpers/cluster.js';
import { rawBackend } from '../../helpers/raw-backend.js';
import { waitFor } from '../../helpers/wait.js';

test('a refused upgrade with a chunked answer reaches the client whole, framed, and closed', async () => {
  const raw = await rawBackend((_req, res) => {
    res.writeHead(403, { 'content-type': 'text/plain', 'x-kept': 'yes' });
    res.write('no upgrade ');
    res.end('for you');
  });
  const b = await startBalancer({ healthCheck: { enabled: false, passive: { maxFails: 0 } }, servers: [{ addr: raw.url }] });
  try {
    const { port, hostname } = new URL(b.url);
    const reply = await new Promise<{ status: number; headers: Record<string, unknown>; body: string }>((resolve, reject) => {
      const req = request({
        host: hostname,
        port,
        path: '/ws',
        headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' },
      });
      req.on('upgrade', () => reject(new Error('switched protocols')));
      req.on('response', (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(reply.status, 403);
    assert.equal(reply.body, 'no upgrade for you');
    assert.equal(reply.headers['x-kept'], 'yes');
    assert.equal(reply.headers.connection, 'close');
  } finally {
    await b.stop();
    await raw.close();
  }
});

test('a refused upgrade whose client sent more bytes does not hold the connection (SIGTERM still stops the balancer)', async () => {
  const raw = await rawBackend((req, res) => {
    // Slow to refuse, so the client's next bytes arrive while the balancer waits for the answer.
    setTimeout(() => res.end('no'), req.url === '/ws' ? 300 : 0);
  });
  const b = await startBalancer({ timeouts: { shutdown: 5 }, healthCheck: { enabled: false, passive: { maxFails: 0 } }, servers: [{ addr: raw.url }] });
  try {
    const { port, hostname } = new URL(b.url);
    const s = connect(Number(port), hostname);
    let data = '';
    s.setEncoding('latin1');
    s.on('data', (d: string) => (data += d));
    const closed = new Promise<void>((r) => s.on('close', () => r()));
    s.write('GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    // The backend holds the refusal 300 ms; these bytes arrive while the balancer waits for it.
    await new Promise((r) => setTimeout(r, 100));
    s.write('GET /after HTTP/1.1\r\nHost: x\r\n\r\n');
    await closed;
    assert.match(data, /^HTTP\/1\.1 200 /);
    // SIGTERM: the balancer must be gone well within its 5 s grace plus the 5 s lingering close.
    const stopped = await Promise.race([b.stop(), new Promise<'late'>((r) => setTimeout(() => r('late'), 15_000))]);
    assert.equal(stopped, 0, 'the balancer did not stop within 15 s of SIGTERM: a connection was left open');
  } finally {
    await b.stop('SIGKILL');
    await raw.close();
  }
});
