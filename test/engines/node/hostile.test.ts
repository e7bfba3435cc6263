// Hostile clients: each holds on to what it can (a slow head, a trickled body, an unread response,
// a pipeline, too many headers, too many connections); each is cut or refused, and everyone else
// is served. Deadlines and grace periods are set small so nothing here waits long.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closeAll, backends, get, startBalancer, withTestEngine, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';
import { rawBackend } from '../../helpers/raw-backend.js';
import type { TestServer } from '../../../src/testservers/server.js';

/** A backend streaming `/big?n=<bytes>` as fast as it may; counts responses cut before their end. */
async function streamingBackend(): Promise<{ raw: Awaited<ReturnType<typeof rawBackend>>; aborted: () => number }> {
  let aborted = 0;
  const raw = await rawBackend((req, res) => {
    if (req.url?.startsWith('/big') !== true) return void res.end('ok');
    const total = Number(new URL(req.url, 'http://x').searchParams.get('n'));
    const chunk = Buffer.alloc(64 * 1024, 'b');
    let sent = 0;
    res.writeHead(200, { 'content-length': total });
    const pump = (): void => {
      while (sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        if (!res.write(part)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    res.on('close', () => {
      if (!res.writableFinished) aborted++;
    });
  });
  return { raw, aborted: () => aborted };
}

const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };

/** A raw client connection that collects what it receives and when it closed. */
interface RawClient {
  readonly socket: Socket;
  data(): string;
  bytes(): number;
  closed(): boolean;
  closedAt: number;
}

function rawClient(url: string, opts: { read?: boolean } = {}): Promise<RawClient> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    const chunks: Buffer[] = [];
    let n = 0;
    let isClosed = false;
    const c: RawClient = {
      socket,
      data: () => Buffer.concat(chunks).toString('latin1'),
      bytes: () => n,
      closed: () => isClosed,
      closedAt: 0,
    };
    if (opts.read !== false) {
      socket.on('data', (d: Buffer) => {
        n += d.length;
        if (chunks.length < 100_000) chunks.push(d);
      });
    }
    socket.on('close', () => {
      isClosed = true;
      c.closedAt = Date.now();
    });
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve(c));
    socket.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The cases are independent (each its own balancer process): run them side by side.
describe('hostile clients', { concurrency: true }, () => {
  describe('a slow request head', () => {
    let servers: TestServer[] = [];
    let b: BalancerProcess;
    before(async () => {
      servers = await backends(1);
      b = await startBalancer({ timeouts: { requestHead: 1 }, servers: servers.map((s) => ({ addr: s.url })) });
    });
    after(async () => {
      await b.stop();
      await closeAll(servers);
    });

    test('a request head sent a byte at a time is answered 408 and closed after timeouts.requestHead', async () => {
      const c = await rawClient(b.url);
      const started = Date.now();
      c.socket.write('GET / HTTP/1.1\r\nHost: x\r\n');
      // One header byte every 200 ms: each byte would restart an idle timer, not this deadline.
      const trickle = setInterval(() => c.socket.writable && c.socket.write('X'), 200);
      try {
        await waitFor(() => c.closed(), 'the slow head cut', 10_000);
      } finally {
        clearInterval(trickle);
      }
      assert.match(c.data(), /^HTTP\/1\.1 408 /);
      assert.ok(c.closedAt - started < 8000, `cut after ${c.closedAt - started} ms`);
      await waitFor(() => b.logs.some((l) => /request head too slow: client 127\.0\.0\.1/.test(String(l.msg))), 'the cut logged', 5000);
      assert.equal((await get(`${b.url}/`)).status, 200);
    });

    test('the head deadline holds for the second request of a keep-alive connection', async () => {
      const c = await rawClient(b.url);
      c.socket.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => /\r\n\r\n/.test(c.data()), 'first response', 10_000);
      assert.match(c.data(), /^HTTP\/1\.1 200 /);
      c.socket.write('GET /second HTTP/1.1\r\nHost: x\r\n');
      const trickle = setInterval(() => c.socket.writable && c.socket.write('Y'), 200);
      try {
        await waitFor(() => c.closed(), 'the slow second head cut', 10_000);
      } finally {
        clearInterval(trickle);
      }
      assert.match(c.data().slice(c.data().lastIndexOf('HTTP/1.1 ')), /^HTTP\/1\.1 408 /);
    });
  });

  describe('minimum data rates', { concurrency: true }, () => {
    test('a trickled small body (kept for retries) is answered 408 and never reaches a server', async () => {
      let arrived = 0;
      const raw = await rawBackend((req, res) => {
        arrived++;
        req.resume();
        req.on('end', () => res.end('ok'));
      });
      const b = await startBalancer({
        limits: { minRequestBodyRate: { bytesPerSecond: 240, grace: 1 } },
        healthCheck: NO_CHECKS,
        servers: [{ addr: raw.url }],
      });
      try {
        const c = await rawClient(b.url);
        c.socket.write('PUT /small HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n');
        const trickle = setInterval(() => c.socket.writable && c.socket.write('z'), 200);
        try {
          await waitFor(() => c.closed(), 'the trickle cut', 12_000);
        } finally {
          clearInterval(trickle);
        }
        assert.match(c.data(), /^HTTP\/1\.1 408 /);
        assert.equal(arrived, 0);
      } finally {
        await b.stop();
        await raw.close();
      }
    });


    test('a trickled request body is answered 408 and its upstream request aborted; a slow real upload is fine', async () => {
      let aborted = 0;
      let arrived = 0;
      const raw = await rawBackend((req, res) => {
        if (req.url === '/upload') arrived++;
        let n = 0;
        req.on('data', (d: Buffer) => (n += d.length));
        req.on('end', () => res.end(`got ${n}`));
        res.on('close', () => {
          if (!res.writableFinished) aborted++;
        });
      });
      const b = await startBalancer({
        limits: { minRequestBodyRate: { bytesPerSecond: 240, grace: 1 } },
        healthCheck: NO_CHECKS,
        servers: [{ addr: raw.url }],
      });
      try {
        // A 100 kB body streams upstream at once (over the replay buffer), 5 bytes a second.
        const c = await rawClient(b.url);
        c.socket.write('POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n');
        const trickle = setInterval(() => c.socket.writable && c.socket.write('z'), 200);
        try {
          await waitFor(() => c.closed(), 'the trickle cut', 12_000);
        } finally {
          clearInterval(trickle);
        }
        assert.match(c.data(), /^HTTP\/1\.1 408 /);
        await waitFor(() => arrived === 1 && aborted === 1, 'upstream request aborted', 10_000);
        await waitFor(() => b.logs.some((l) => /request body too slow: client 127\.0\.0\.1 at [\d.]+ B\/s/.test(String(l.msg))), 'the cut logged', 5000);

        // A slow but real upload: 2.5 kB/s for 3 s, well over 240 B/s.
        const ok = await rawClient(b.url);
        const size = 7500;
        ok.socket.write(`POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\nConnection: close\r\n\r\n`);
        for (let sent = 0; sent < size; sent += 500) {
          ok.socket.write('a'.repeat(500));
          await sleep(200);
        }
        await waitFor(() => ok.closed(), 'the slow upload answered', 10_000);
        assert.match(ok.data(), /^HTTP\/1\.1 200 /);
        assert.match(ok.data(), /got 7500$/);
        assert.equal(aborted, 1);
      } finally {
        await b.stop();
        await raw.close();
      }
    });

    test('a client reading 1 byte a second is cut and its upstream request aborted', async () => {
      const { raw, aborted } = await streamingBackend();
      const b = await startBalancer({
        limits: { minResponseRate: { bytesPerSecond: 240, grace: 1 } },
        healthCheck: NO_CHECKS,
        servers: [{ addr: raw.url }],
      });
      try {
        // Reads 1 byte a second: kernel buffers fill, then the balancer waits on it.
        const slow = await rawClient(b.url, { read: false });
        slow.socket.pause();
        slow.socket.write('GET /big?n=268435456 HTTP/1.1\r\nHost: x\r\n\r\n');
        const reader = setInterval(() => slow.socket.read(1), 1000);
        try {
          await waitFor(() => aborted() === 1, 'upstream request aborted', 20_000);
        } finally {
          clearInterval(reader);
        }
        await waitFor(() => b.logs.some((l) => /response too slow: client 127\.0\.0\.1 at [\d.]+ B\/s/.test(String(l.msg))), 'the cut logged', 5000);
        // The client's connection was closed: it sees the end once it reads what it was sent.
        slow.socket.resume();
        await waitFor(() => slow.closed(), 'the slow reader cut', 20_000);
      } finally {
        await b.stop();
        await raw.close();
      }
    });

    test('a steady reader slower than the backend is not cut (default rate and grace)', async () => {
      const { raw, aborted } = await streamingBackend();
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
      try {
        // A steady reader that is slower than the backend (so it is backpressured) but keeps reading.
        const steady = await rawClient(b.url, { read: false });
        steady.socket.pause();
        const size = 8 * 1024 * 1024;
        steady.socket.write(`GET /big?n=${size} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        let got = 0;
        const drip = setInterval(() => {
          for (let i = 0; i < 16; i++) {
            const d = steady.socket.read() as Buffer | null;
            if (d === null) break;
            got += d.length;
          }
        }, 50);
        try {
          await waitFor(() => steady.closed(), 'the steady reader done', 30_000);
        } finally {
          clearInterval(drip);
        }
        for (let d = steady.socket.read() as Buffer | null; d !== null; d = steady.socket.read() as Buffer | null) got += d.length;
        assert.ok(got > size, `steady reader got ${got} bytes`);
        assert.equal(aborted(), 0);
        assert.ok(!b.logs.some((l) => /too slow/.test(String(l.msg))), 'a cut was logged');
      } finally {
        await b.stop();
        await raw.close();
      }
    });
  });

  describe('pipelining', () => {
    test('1,000 pipelined requests go upstream one at a time and come back in order', async () => {
      let inflight = 0;
      let maxInflight = 0;
      const sockets = new Set<unknown>();
      const raw = await rawBackend((req, res) => {
        sockets.add(req.socket);
        inflight++;
        maxInflight = Math.max(maxInflight, inflight);
        setImmediate(() => {
          inflight--;
          res.end(`<${req.url}>`);
        });
      });
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
      try {
        const c = await rawClient(b.url);
        const n = 1000;
        let batch = '';
        for (let i = 0; i < n; i++) batch += `GET /${i} HTTP/1.1\r\nHost: x\r\n${i === n - 1 ? 'Connection: close\r\n' : ''}\r\n`;
        c.socket.write(batch);
        await waitFor(() => c.closed(), 'all answered', 60_000);
        const bodies = [...c.data().matchAll(/<\/(\d+)>/g)].map((m) => Number(m[1]));
        assert.equal(bodies.length, n);
        assert.deepEqual(bodies, [...Array(n).keys()]);
        assert.equal(maxInflight, 1, 'requests of one connection in flight upstream at once');
        // Kept alive and reused: a handful at most (a new one when the last is not back in the pool yet).
        assert.ok(sockets.size < 10, `${sockets.size} upstream connections used`);
      } finally {
        await b.stop();
        await raw.close();
      }
    });

    test('pipelined requests with bodies are each answered with their own body, in order', async () => {
      const servers = await backends(2);
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: servers.map((s) => ({ addr: s.url })) });
      try {
        const c = await rawClient(b.url);
        let batch = '';
        const n = 50;
        for (let i = 0; i < n; i++) {
          const body = `body-${i}-${'x'.repeat(i * 300)}`;
          const last = i === n - 1 ? 'Connection: close\r\n' : '';
          batch += `POST /echo HTTP/1.1\r\nHost: x\r\n${last}Content-Length: ${body.length}\r\n\r\n${body}`;
        }
        c.socket.write(batch);
        await waitFor(() => c.closed(), 'all answered', 20_000);
        const got = [...c.data().matchAll(/body-(\d+)-(x*)/g)].map((m) => [Number(m[1]), (m[2] ?? '').length]);
        assert.deepEqual(got, Array.from({ length: n }, (_, i) => [i, i * 300]));
      } finally {
        await b.stop();
        await closeAll(servers);
      }
    });

    test('a Connection: close request in a pipelined batch is the last one answered', async () => {
      const seen: string[] = [];
      const raw = await rawBackend((req, res) => {
        seen.push(`${req.method} ${req.url}`);
        req.resume();
        req.on('end', () => res.end(`<${req.url}>`));
      });
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
      try {
        const c = await rawClient(b.url);
        c.socket.write(
          'GET /a HTTP/1.1\r\nHost: x\r\n\r\n' +
            'GET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n' +
            'GET /c HTTP/1.1\r\nHost: x\r\n\r\n' +
            'POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi',
        );
        await waitFor(() => c.closed(), 'connection closed', 10_000);
        assert.deepEqual([...c.data().matchAll(/<(\/\w)>/g)].map((m) => m[1]), ['/a', '/b']);
        await sleep(200);
        assert.deepEqual(seen, ['GET /a', 'GET /b']);
      } finally {
        await b.stop();
        await raw.close();
      }
    });

    test('a pipelined upgrade waits for the response owed before it', async () => {
      const servers = await backends(1);
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: servers.map((s) => ({ addr: s.url })) });
      try {
        const c = await rawClient(b.url);
        c.socket.write(
          'GET /slow?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n' +
            'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
        );
        await waitFor(() => /HTTP\/1\.1 101 /.test(c.data()), 'the switch', 10_000);
        const statuses = [...c.data().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
        assert.deepEqual(statuses, ['200', '101']);
        c.socket.destroy();
      } finally {
        await b.stop();
        await closeAll(servers);
      }
    });

    test('a pipelining client that does not read holds one upstream request and bounded memory', async () => {
      let requests = 0;
      const body = Buffer.alloc(256 * 1024, 'r');
      const raw = await rawBackend((req, res) => {
        requests++;
        res.end(body);
      });
      const b = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: raw.url }] });
      try {
        assert.equal((await get(`${b.url}/warm`)).status, 200);
        const rssBefore = b.rss();
        const c = await rawClient(b.url, { read: false });
        c.socket.pause();
        let batch = '';
        for (let i = 0; i < 1000; i++) batch += `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`;
        c.socket.write(batch);
        // Kernel buffers take a few responses; then the balancer must stop.
        await waitFor(() => requests > 3, 'first responses', 10_000);
        // On a busy machine the buffers fill slowly: wait until the count holds for a second.
        let held = requests;
        await waitFor(
          async () => {
            const before = requests;
            await sleep(1000);
            held = requests;
            return held === before;
          },
          'upstream requests to stop for a client that does not read',
          30_000,
        );
        await sleep(1000);
        assert.equal(requests, held, 'requests kept going upstream for a client that does not read');
        assert.ok(held < 60, `${held} requests went upstream`);
        const grown = b.rss() - rssBefore;
        if (process.env.HOSTILE_FIGURES) console.log(`non-reading pipeliner: ${held} upstream requests, RSS +${(grown / 1048576).toFixed(1)} MB`);
        assert.ok(grown < 64 * 1024 * 1024, `balancer grew ${Math.round(grown / 1048576)} MB`);
        // Everyone else is served meanwhile.
        assert.equal((await get(`${b.url}/other`)).status, 200);
        c.socket.destroy();
      } finally {
        await b.stop();
        await raw.close();
      }
    });
  });

  describe('request heads a proxy must refuse', () => {
    let servers: TestServer[] = [];
    let b: BalancerProcess;
    before(async () => {
      servers = await backends(1);
      b = await startBalancer({ servers: servers.map((s) => ({ addr: s.url })) });
    });
    after(async () => {
      await b.stop();
      await closeAll(servers);
    });

    async function exchange(text: string): Promise<string> {
      const c = await rawClient(b.url);
      c.socket.write(text);
      await waitFor(() => c.closed(), 'reply and close', 10_000);
      return c.data();
    }

    const headers = (n: number) => Array.from({ length: n }, (_, i) => `X-H${i}: ${i}\r\n`).join('');

    test('more than 100 header lines get 431; 100 pass', async () => {
      // Host + Connection + 98 = 100 lines.
      assert.match(await exchange(`GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers(98)}\r\n`), /^HTTP\/1\.1 200 /);
      assert.match(await exchange(`GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n${headers(99)}\r\n`), /^HTTP\/1\.1 431 /);
      assert.match(await exchange(`GET /headers HTTP/1.1\r\nHost: x\r\n${headers(1000)}\r\n`), /^HTTP\/1\.1 431 /);
    });

    test('a bad, repeated or missing Host gets 400', async () => {
      assert.match(await exchange('GET / HTTP/1.1\r\nHost: a b\r\n\r\n'), /^HTTP\/1\.1 400 /);
      assert.match(await exchange('GET / HTTP/1.1\r\nHost: a/b\r\n\r\n'), /^HTTP\/1\.1 400 /);
      assert.match(await exchange('GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n'), /^HTTP\/1\.1 400 /);
      assert.match(await exchange('GET / HTTP/1.1\r\n\r\n'), /^HTTP\/1\.1 400 /);
      // Valid forms pass: a name with a port, an IPv6 literal, HTTP/1.0 without Host.
      assert.match(await exchange('GET / HTTP/1.1\r\nHost: example.test:8080\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
      assert.match(await exchange('GET / HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n'), /^HTTP\/1\.1 200 /);
      assert.match(await exchange('GET / HTTP/1.0\r\n\r\n'), /^HTTP\/1\.1 200 /);
      assert.ok(!b.logs.some((l) => / down: /.test(String(l.msg))), 'a server was taken out');
    });

    test('limits.maxHeaders sets the header limit', async () => {
      const b2 = await startBalancer({ limits: { maxHeaders: 10 }, servers: servers.map((s) => ({ addr: s.url })) });
      try {
        const c = await rawClient(b2.url);
        c.socket.write(`GET / HTTP/1.1\r\nHost: x\r\n${headers(10)}\r\n`);
        await waitFor(() => c.closed(), 'reply', 10_000);
        assert.match(c.data(), /^HTTP\/1\.1 431 /);
        assert.equal((await get(`${b2.url}/`)).status, 200);
      } finally {
        await b2.stop();
      }
    });
  });

  describe('connection cap', () => {
    /** Opens `n` connections that send nothing, as fast as the balancer accepts them. */
    async function hold(url: string, n: number): Promise<RawClient[]> {
      const held: RawClient[] = [];
      for (let i = 0; i < n; i++) {
        try {
          held.push(await rawClient(url));
        } catch {
          // The balancer may refuse at the kernel level when out of descriptors.
        }
      }
      return held;
    }

    test('connections beyond limits.maxConnections are closed at once and counted; connected clients are served', async () => {
      const servers = await backends(2);
      const b = await startBalancer({ limits: { maxConnections: 20 }, servers: servers.map((s) => ({ addr: s.url })) });
      const held: RawClient[] = [];
      try {
        // A client connected before the flood keeps its connection and is served throughout.
        const normal = await rawClient(b.url);
        held.push(...(await hold(b.url, 40)));
        await waitFor(() => held.filter((c) => c.closed()).length >= 21, 'connections over the cap closed', 10_000);
        assert.equal(held.filter((c) => !c.closed()).length, 19);
        for (let i = 0; i < 5; i++) {
          normal.socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
          await waitFor(() => (normal.data().match(/HTTP\/1\.1 200 /g) ?? []).length === i + 1, `response ${i}`, 10_000);
        }
        await waitFor(() => b.logs.some((l) => /connection limit reached \(limits\.maxConnections 20\)/.test(String(l.msg))), 'drops logged', 5000);
        // Once the flood lets go, new clients are served again.
        for (const c of held) c.socket.destroy();
        normal.socket.destroy();
        await waitFor(async () => (await get(`${b.url}/`).catch(() => ({ status: 0 }))).status === 200, 'served after the flood', 10_000);
      } finally {
        for (const c of held) c.socket.destroy();
        await b.stop();
        await closeAll(servers);
      }
    });

    test('a reload puts a new connection cap in force; the header limit needs a restart and says so', async () => {
      const servers = await backends(1);
      const b = await startBalancer({ limits: { maxConnections: 50 }, servers: servers.map((s) => ({ addr: s.url })) });
      const held: RawClient[] = [];
      try {
        held.push(...(await hold(b.url, 10)));
        await sleep(200);
        assert.equal(held.filter((c) => c.closed()).length, 0);
        writeFileSync(b.file, JSON.stringify(withTestEngine({ addr: '127.0.0.1:0', limits: { maxConnections: 5, maxHeaders: 10 }, servers: servers.map((s) => ({ addr: s.url })) })));
        b.proc.kill('SIGHUP');
        await waitFor(() => b.logs.some((l) => String(l.msg).startsWith('reloaded ')), 'reload', 10_000);
        assert.match(String(b.logs.find((l) => String(l.msg).startsWith('reloaded '))?.msg), /needs a restart to change: limits\.maxHeaders \(still 100\)/);
        const late = await hold(b.url, 3);
        await waitFor(() => late.every((c) => c.closed()), 'connections over the new cap closed', 10_000);
        assert.equal(held.filter((c) => c.closed()).length, 0, 'connections already held are not cut');
      } finally {
        for (const c of held) c.socket.destroy();
        await b.stop();
        await closeAll(servers);
      }
    });

    test('with a low fd limit, a flood of connections neither starves connected clients nor gets a server marked down', async () => {
      const servers = await backends(2);
      const b = await startBalancer(
        { healthCheckDelay: 0.2, healthCheck: { fall: 1, passive: { maxFails: 1 } }, servers: servers.map((s) => ({ addr: s.url })) },
        [],
        { fdLimit: 256 },
      );
      const held: RawClient[] = [];
      try {
        const normal = await rawClient(b.url);
        held.push(...(await hold(b.url, 300)));
        // The flood has reached the balancer: what it could not take was closed.
        await waitFor(() => held.some((c) => c.closed()), 'the flood accepted or closed', 10_000);
        // Requests on a fresh upstream connection each time (Connection: close upstream is not in
        // our hands; a new path per request is enough: the pool opens sockets as it needs them).
        for (let i = 0; i < 40; i++) {
          normal.socket.write(`GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`);
          await waitFor(() => (normal.data().match(/HTTP\/1\.1 \d{3} /g) ?? []).length === i + 1, `response ${i}`, 10_000);
        }
        const statuses = [...normal.data().matchAll(/HTTP\/1\.1 (\d{3}) /g)].map((m) => m[1]);
        assert.deepEqual([...new Set(statuses)], ['200']);
        await sleep(1000); // a few health-check rounds under the flood
        assert.ok(!b.logs.some((l) => / down: |ejected/.test(String(l.msg))), 'a server was blamed');
        assert.ok(b.logs.some((l) => /connection limit reached \(limits\.maxConnections 78\)/.test(String(l.msg))), 'cap derived from the fd limit');
      } finally {
        for (const c of held) c.socket.destroy();
        await b.stop();
        await closeAll(servers);
      }
    });

    test('running out of descriptors (EMFILE) is logged as the balancer’s problem and blames no server', async () => {
      // Every upstream request needs a new connection: the backend closes each one.
      const raw = await rawBackend((_req, res) => {
        res.setHeader('connection', 'close');
        res.end('ok');
      });
      const b = await startBalancer(
        {
          limits: { maxConnections: 10_000 },
          healthCheckDelay: 0.2, healthCheck: { fall: 1, passive: { maxFails: 1 } },
          servers: [{ addr: raw.url }],
        },
        [],
        { fdLimit: 128 },
      );
      const held: RawClient[] = [];
      try {
        const normal = await rawClient(b.url);
        held.push(...(await hold(b.url, 200)));
        // Out of descriptors: the balancer closes what it cannot accept.
        await waitFor(() => held.some((c) => c.closed()), 'descriptors used up', 10_000);
        normal.socket.write('GET /x HTTP/1.1\r\nHost: x\r\n\r\n');
        await waitFor(() => /HTTP\/1\.1 \d{3} /.test(normal.data()), 'a response', 10_000);
        assert.match(normal.data(), /^HTTP\/1\.1 503 /);
        await waitFor(() => b.logs.some((l) => /balancer's own problem, not the servers': EMFILE/.test(String(l.msg))), 'EMFILE logged as ours', 5000);
        await sleep(1000);
        assert.ok(!b.logs.some((l) => / down: |ejected|failed: /.test(String(l.msg))), 'the server was blamed');
      } finally {
        for (const c of held) c.socket.destroy();
        await b.stop();
        await raw.close();
      }
    });
  });
});
