import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { Readable } from 'node:stream';
import WebSocket from 'ws';
import type { TestServer } from '../../../src/testservers/server.js';
import { freePort } from '../../helpers/ports.js';
import { backends, closeAll, get, servedBy, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { rawBackend } from '../../helpers/raw-backend.js';
import { rawExchange } from '../../helpers/raw-client.js';

/** Health checks off, active and passive. */
const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };

/** Decodes a chunked body read off a raw socket. */
function dechunk(text: string): string {
  let out = '';
  let rest = text;
  for (;;) {
    const nl = rest.indexOf('\r\n');
    const size = parseInt(rest.slice(0, nl), 16);
    if (!(size > 0)) return out;
    out += rest.slice(nl + 2, nl + 2 + size);
    rest = rest.slice(nl + 2 + size + 2);
  }
}

describe('proxy behaviour', () => {
  let servers: TestServer[] = [];
  let b: BalancerProcess;
  before(async () => {
    servers = await backends(2);
    b = await startBalancer({ servers: servers.map((s) => ({ addr: s.url })) });
  });
  after(async () => {
    await b.stop();
    await closeAll(servers);
  });

  test('request hop-by-hop headers are removed and X-Forwarded-* set; Host passes through', async () => {
    // Raw socket: HTTP clients refuse to send some of these headers themselves.
    const reply = await rawExchange(
      b.url,
      'GET /headers HTTP/1.1\r\nHost: example.test\r\nConnection: x-secret, close\r\nX-Secret: drop me\r\n' +
        'Keep-Alive: timeout=5\r\nTE: trailers\r\nTrailer: x-t\r\nProxy-Connection: keep-alive\r\nUpgrade: h2c\r\n' +
        'X-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Keep: yes\r\n\r\n',
    );
    const r = { body: dechunk(reply.slice(reply.indexOf('\r\n\r\n') + 4)) };
    const h = (JSON.parse(r.body) as { headers: Record<string, string> }).headers;
    for (const name of ['x-secret', 'keep-alive', 'te', 'trailer', 'proxy-connection', 'upgrade']) assert.equal(h[name], undefined, name);
    assert.equal(h['x-keep'], 'yes');
    assert.equal(h.host, 'example.test');
    // The client is no trusted proxy: its X-Forwarded-* are replaced (see forwarding.test.ts).
    assert.equal(h['x-forwarded-for'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'example.test');
  });

  test('response hop-by-hop headers are removed', async () => {
    const raw = await rawBackend((_req, res) => {
      res.setHeader('connection', 'x-hop');
      res.setHeader('x-hop', 'secret');
      res.setHeader('keep-alive', 'timeout=99');
      res.setHeader('proxy-connection', 'keep-alive');
      res.setHeader('x-end', 'kept');
      res.end('ok');
    });
    const b2 = await startBalancer({ servers: [{ addr: raw.url }] });
    try {
      const r = await get(`${b2.url}/`);
      assert.equal(r.body, 'ok');
      assert.equal(r.headers['x-hop'], undefined);
      assert.equal(r.headers['proxy-connection'], undefined);
      assert.notEqual(r.headers['keep-alive'], 'timeout=99');
      assert.equal(r.headers['x-end'], 'kept');
    } finally {
      await b2.stop();
      await raw.close();
    }
  });

  test('all methods pass, with status codes and bodies', async () => {
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'HEAD']) {
      const r = await get(`${b.url}/headers`, { method });
      assert.equal(r.status, 200, method);
      if (method !== 'HEAD') assert.equal((JSON.parse(r.body) as { method: string }).method, method);
    }
    assert.equal((await get(`${b.url}/status/418`)).status, 418);
    assert.equal((await get(`${b.url}/echo`, { method: 'POST', body: 'ping' })).body, 'ping');
  });

  test('503 with Retry-After when the backend refuses (no server could be reached), with a log line', async () => {
    // Health checks off: every request meets the dead server. Nothing reached a server, so not 502.
    const b2 = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: `http://127.0.0.1:${await freePort()}` }] });
    try {
      const r = await get(`${b2.url}/`);
      assert.equal(r.status, 503);
      assert.ok(Number(r.headers['retry-after']) >= 1);
      assert.match(r.body, /ECONNREFUSED/);
      await waitFor(() => b2.logs.some((l) => String(l.msg).includes('ECONNREFUSED')), 'log line', 10_000);
    } finally {
      await b2.stop();
    }
  });

  test('502 when the backend resets the connection', async () => {
    const raw = await rawBackend((req) => req.socket.destroy());
    const b2 = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
    try {
      const r = await get(`${b2.url}/`);
      assert.equal(r.status, 502);
    } finally {
      await b2.stop();
      await raw.close();
    }
  });

  test('504 when the backend is slower than timeouts.responseHeaders', async () => {
    const b2 = await startBalancer({ timeouts: { responseHeaders: 0.3 }, servers: [{ addr: servers[0]?.url }] });
    try {
      const r = await get(`${b2.url}/slow?ms=5000`);
      assert.equal(r.status, 504);
      assert.match(r.body, /timeout/);
    } finally {
      await b2.stop();
    }
  });

  test('a client that goes away cancels its upstream request', async () => {
    let upstreamClosedEarly = false;
    let arrived = false;
    const raw = await rawBackend((req: IncomingMessage, res) => {
      if (req.url !== '/hang') return void res.end('quick');
      arrived = true;
      const t = setTimeout(() => res.end('late'), 30_000);
      res.on('close', () => {
        clearTimeout(t);
        if (!res.writableFinished) upstreamClosedEarly = true;
      });
    });
    const b2 = await startBalancer({ servers: [{ addr: raw.url }] });
    try {
      const ac = new AbortController();
      const pending = request(`${b2.url}/hang`, { signal: ac.signal }).catch(() => undefined);
      await waitFor(() => arrived, 'request at backend', 10_000);
      ac.abort();
      await pending;
      await waitFor(() => upstreamClosedEarly, 'upstream request cancelled', 10_000);
      // The balancer serves everyone else as before.
      assert.equal((await get(`${b2.url}/`, {})).status, 200);
    } finally {
      await b2.stop();
      await raw.close();
    }
  });

  test('a malformed request gets 400 and the balancer keeps serving', async () => {
    const cases: [string, number][] = [
      ['GET / HTTP/1.1\r\nHost: x\r\nBad Header Without Colon\r\n\r\n', 400],
      ['OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n', 405],
      ['FOO / HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['GET /a b HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello', 400],
      ['POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n', 400],
      [`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431],
    ];
    // Several rounds: were any of these counted against the servers, passive checks would eject them.
    for (let round = 0; round < 3; round++) {
      for (const [text, status] of cases) {
        const reply = await rawExchange(b.url, text.replace('Host: x\r\n', 'Host: x\r\nConnection: close\r\n'));
        assert.match(reply, new RegExp(`^HTTP/1\\.1 ${status} `), `${JSON.stringify(text.slice(0, 40))} -> ${reply.split('\r\n')[0]}`);
      }
    }
    assert.ok(!b.logs.some((l) => / down: /.test(String(l.msg))), 'a server was taken out');
    for (let i = 0; i < 4; i++) assert.equal((await get(`${b.url}/`)).status, 200);
  });

  test('WebSocket upgrades are tunnelled both ways', async () => {
    const ws = new WebSocket(`${b.url.replace('http', 'ws')}/ws`);
    const messages: string[] = [];
    ws.on('message', (m) => messages.push(m.toString()));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await waitFor(() => messages.length >= 1, 'hello', 10_000);
    ws.send('echo me');
    await waitFor(() => messages.includes('echo me'), 'echo', 10_000);
    assert.match(messages[0] ?? '', /"hello":"server-\d"/);
    ws.close();
  });

  test('a large body streams through intact both ways', async () => {
    const size = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 7);
    const sent = createHash('sha256');
    let left = size;
    async function* body(): AsyncGenerator<Buffer> {
      while (left > 0) {
        left -= chunk.length;
        sent.update(chunk);
        yield chunk;
      }
    }
    const r = await request(`${b.url}/echo`, { method: 'POST', body: Readable.from(body()), headers: { 'content-type': 'application/octet-stream' } });
    const got = createHash('sha256');
    let n = 0;
    for await (const c of r.body) {
      got.update(c as Buffer);
      n += (c as Buffer).length;
    }
    assert.equal(n, size);
    assert.equal(got.digest('hex'), sent.digest('hex'));
  });

  test('graceful stop: an in-flight request finishes, then the process exits 0', async () => {
    let arrived = false;
    const raw = await rawBackend((req, res) => {
      // Health probes ask for "/"; only our request counts as arrived.
      if (req.url === '/inflight') arrived = true;
      setTimeout(() => res.end('finished'), 1000);
    });
    const b2 = await startBalancer({ servers: [{ addr: raw.url }] });
    try {
      const inflight = get(`${b2.url}/inflight`);
      await waitFor(() => arrived, 'request at backend', 10_000);
      const code = b2.stop('SIGTERM');
      const r = await inflight;
      assert.equal(r.status, 200);
      assert.equal(r.body, 'finished');
      assert.equal(await code, 0);
    } finally {
      await raw.close();
    }
  });
});

test('a client that stalls mid-upload is cut after timeouts.idle, and its upstream request too', async () => {
  let upstreamAborted = false;
  let arrived = false;
  const raw = await rawBackend((req, res) => {
    if (req.url !== '/upload') return void res.end('ok');
    arrived = true;
    req.on('data', () => undefined);
    req.on('end', () => res.end('got it'));
    res.on('close', () => {
      if (!res.writableFinished) upstreamAborted = true;
    });
  });
  const b = await startBalancer({ timeouts: { idle: 0.5 }, healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
  try {
    const { port, hostname } = new URL(b.url);
    const closed = new Promise<number>((resolve) => {
      const s = connect(Number(port), hostname);
      s.on('close', () => resolve(Date.now()));
      s.on('error', () => undefined);
      s.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(70_000));
    });
    await waitFor(() => arrived, 'upload at backend', 10_000);
    const sentAt = Date.now();
    const deadline = new Promise<number>((resolve) => setTimeout(() => resolve(Infinity), 10_000).unref());
    const closedAt = await Promise.race([closed, deadline]);
    assert.ok(closedAt - sentAt < 10_000, 'the stalled client was cut');
    await waitFor(() => upstreamAborted, 'upstream request cancelled', 10_000);
    assert.equal((await get(`${b.url}/`)).status, 200);
  } finally {
    await b.stop();
    await raw.close();
  }
});
