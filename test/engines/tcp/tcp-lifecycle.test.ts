// "mode": "tcp" black-box, lifecycle: timeouts, limits, shutdown, health, backpressure (real CLI, real sockets).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { adminUrl, get, startBalancer } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';
import { echoBackend, servers, tcpClient } from './tcp-helpers.js';

test('idle timeout: a silent connection is closed on both sides; limits.maxConnections holds', async () => {
  const a = await echoBackend('a');
  const bp = await startBalancer({ mode: 'tcp', healthCheck: { enabled: false }, timeouts: { idle: 0.5 }, limits: { maxConnections: 2 }, servers: [{ addr: a.addr }] });
  try {
    const c = await tcpClient(bp.url);
    await c.waitFor(/^a\n/);
    const second = await tcpClient(bp.url);
    await second.waitFor(/^a\n/);
    // A third is over the cap: closed at once, never sent to the server.
    const third = await tcpClient(bp.url);
    await third.closed;
    assert.equal(third.text(), '');
    assert.equal(a.accepted, 2);
    await c.closed;
    await second.closed;
    const upstream = a.sockets[0];
    await waitFor(() => upstream?.closed === true, 'the server side closed too');
    assert.ok(bp.logs.some((l) => String(l.msg).includes('idle for 0.5 s')));
  } finally {
    await bp.stop();
    await a.close();
  }
});

test('graceful shutdown: no new connections, open ones run until the grace period, then are cut without blaming the server', async () => {
  const a = await echoBackend('a');
  const bp = await startBalancer({ mode: 'tcp', timeouts: { shutdown: 1.5 }, servers: [{ addr: a.addr }] });
  try {
    const c = await tcpClient(bp.url);
    await c.waitFor(/^a\n/);
    const exited = bp.stop('SIGTERM');
    await waitFor(() => bp.logs.some((l) => String(l.msg).includes('1 connection open; waiting up to 1.5 s')), 'the shutdown waiting');
    // Still relaying during the grace period.
    c.socket.write('during\n');
    await c.waitFor(/during\n$/);
    await assert.rejects(tcpClient(bp.url), /ECONNREFUSED/, 'the listener is closed');
    assert.equal(await exited, 0);
    await c.closed;
    assert.ok(bp.logs.some((l) => String(l.msg).includes('connection cut by the shutdown (grace period over); tcp://127.0.0.1') && String(l.msg).includes('not blamed')));
    assert.ok(!bp.logs.some((l) => String(l.msg).includes(' down: ')), 'no server down');
  } finally {
    await bp.stop();
    await a.close();
  }
});

test('health: a TCP connect check by default; the HTTP check when configured (healthCheck.type "http")', async () => {
  const { createServer } = await import('node:http');
  const http = (status: number) => createServer((req, res) => {
    res.statusCode = req.url === '/health' ? status : 200;
    res.end();
  });
  const ok = http(200);
  const sick = http(503);
  const listen = (s: ReturnType<typeof http>) => new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as { port: number }).port)));
  const [okPort, sickPort] = [await listen(ok), await listen(sick)];
  const echo = await echoBackend('echo');
  const servers3 = [{ addr: `127.0.0.1:${okPort}`, name: 'ok' }, { addr: `127.0.0.1:${sickPort}`, name: 'sick' }, { addr: echo.addr, name: 'echo' }];
  const byDefault = await startBalancer({ mode: 'tcp', healthCheckDelay: 0.2, healthCheck: { fall: 1 }, admin: { addr: '127.0.0.1:0' }, servers: servers3 });
  const httpCheck = await startBalancer({ mode: 'tcp', healthCheckDelay: 0.2, healthCheck: { type: 'http', path: '/health', fall: 1 }, admin: { addr: '127.0.0.1:0' }, servers: servers3 });
  try {
    const states = async (bp: typeof byDefault) => Object.fromEntries((await servers(await adminUrl(bp))).map((v) => [v.name, v.state]));
    // A connect check passes every server that accepts connections (the echo server speaks no HTTP).
    await waitFor(async () => byDefault.logs.filter((l) => String(l.msg) === 'health checks started' && l.active === 'tcp').length === 1, 'tcp checks');
    // The HTTP check: 503 is down, and so is the echo server, which answers no HTTP.
    await waitFor(async () => JSON.stringify(await states(httpCheck)) === JSON.stringify({ ok: 'up', sick: 'down', echo: 'down' }), 'http check verdicts');
    assert.deepEqual(await states(byDefault), { ok: 'up', sick: 'up', echo: 'up' });
  } finally {
    await byDefault.stop();
    await httpCheck.stop();
    await echo.close();
    await new Promise<void>((resolve) => ok.close(() => resolve()));
    await new Promise<void>((resolve) => sick.close(() => resolve()));
  }
});

test('--with-test-servers in tcp mode: the HTTP test servers are reached through the relay', async () => {
  const [p1, p2] = [await freePort(), await freePort()];
  const bp = await startBalancer({ mode: 'tcp', servers: [{ addr: `127.0.0.1:${p1}` }, { addr: `tcp://127.0.0.1:${p2}` }] }, ['--with-test-servers']);
  try {
    const http = bp.url.replace(/^tcp:/, 'http:');
    await waitFor(() => bp.logs.some((l) => l.msg === `try: curl ${http}/   (run it a few times: each answer names its server)`), 'the try line with an http:// URL');
    const names = [];
    for (let i = 0; i < 4; i++) names.push((await get(`${http}/`, { headers: { connection: 'close' } })).body.split(' ')[0]);
    assert.deepEqual(names.sort(), ['server-1', 'server-1', 'server-2', 'server-2']);
  } finally {
    await bp.stop();
  }
});

// Writes 1 MiB chunks to `s` until a write is not drained within `stallMs` (or `maxBytes`); resolves with the bytes written.
async function floodUntilStalled(s: import('node:net').Socket, maxBytes: number, stallMs = 1500): Promise<number> {
  const chunk = Buffer.alloc(1 << 20, 'z');
  let written = 0;
  while (written < maxBytes) {
    written += chunk.length;
    if (s.write(chunk)) continue;
    const drained = await new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), stallMs);
      s.once('drain', () => {
        clearTimeout(t);
        resolve(true);
      });
    });
    if (!drained) break;
  }
  return written;
}

test('backpressure both ways: a side that does not read stalls the other, the balancer buffers nothing much', async () => {
  const { createServer } = await import('node:net');
  const MAX = 256 << 20;
  const serverSides: import('node:net').Socket[] = [];
  // A server that never reads (upload case) and floods (download case).
  const srv = createServer((s) => {
    s.on('error', () => undefined);
    s.pause();
    serverSides.push(s);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  const port = (srv.address() as { port: number }).port;
  // A paused side notices its peer's close only by timeouts.idle: short here.
  const bp = await startBalancer({ mode: 'tcp', healthCheck: { enabled: false }, timeouts: { idle: 3, shutdown: 1 }, servers: [{ addr: `127.0.0.1:${port}` }] });
  try {
    const rss0 = bp.rss();
    const up = await tcpClient(bp.url);
    const uploaded = await floodUntilStalled(up.socket, MAX);
    assert.ok(uploaded < 64 << 20, `the upload stalled after ${uploaded >> 20} MiB (kernel buffers), not after the balancer took it all`);
    up.socket.destroy();
    const down = await tcpClient(bp.url);
    down.socket.pause(); // the client does not read
    await waitFor(() => serverSides.length === 2, 'the second server connection');
    const s = serverSides[1] as import('node:net').Socket;
    const downloaded = await floodUntilStalled(s, MAX);
    assert.ok(downloaded < 64 << 20, `the download stalled after ${downloaded >> 20} MiB`);
    assert.ok(bp.rss() - rss0 < 50 << 20, `balancer memory grew by ${(bp.rss() - rss0) >> 20} MiB`);
    down.socket.destroy();
  } finally {
    await bp.stop();
    // Paused sockets never see the FIN: close them ourselves.
    for (const x of serverSides) x.destroy();
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  }
});
