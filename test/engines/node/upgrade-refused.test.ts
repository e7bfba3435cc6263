// An upgrade the server refuses is relayed as a well-framed answer: the server's chunked body
// arrives whole, and the connection closes after it (found by the hostile-request table's
// WebSocket-smuggling row: the chunked framing header was relayed over the de-chunked body).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { test } from 'node:test';
import { startBalancer } from '../../helpers/cluster.js';
import { rawBackend } from '../../helpers/raw-backend.js';

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
