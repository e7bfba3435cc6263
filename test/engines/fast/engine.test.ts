// The fast engine's own behaviour, black-box (the real CLI with "engine": "fast"): what the
// node:http engine leaves to node and undici, and this engine does itself.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { connect, createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLI, startBalancer, writeConfig, type BalancerProcess } from '../../helpers/cluster.js';
import { rawBackend, type RawBackend } from '../../helpers/raw-backend.js';
import { waitFor } from '../../helpers/wait.js';

const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };

/** A client on a raw socket that collects what it reads. */
interface Raw {
  readonly socket: Socket;
  text(): string;
  bytes(): number;
  closed(): boolean;
}

function rawClient(url: string): Promise<Raw> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let data = '';
    let n = 0;
    let isClosed = false;
    socket.on('data', (d: Buffer) => {
      n += d.length;
      if (data.length < 1_000_000) data += d.toString('latin1');
    });
    socket.on('close', () => (isClosed = true));
    socket.on('error', () => undefined);
    socket.once('connect', () => resolve({ socket, text: () => data, bytes: () => n, closed: () => isClosed }));
    socket.once('error', reject);
  });
}

/** A backend on a raw socket: `onRequest` gets each request head's text and answers on the socket. */
async function rawSocketBackend(onRequest: (head: string, socket: Socket) => void): Promise<{ url: string; connections: () => number; server: NetServer; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server = createNetServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    let buf = '';
    s.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      let end: number;
      while ((end = buf.indexOf('\r\n\r\n')) !== -1) {
        const head = buf.slice(0, end);
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return; // the body is not all here yet
        buf = buf.slice(end + 4 + length);
        onRequest(head, s);
      }
    });
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    connections: () => connections,
    server,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('fast engine', () => {
  let backend: Awaited<ReturnType<typeof rawSocketBackend>>;
  let b: BalancerProcess;
  before(async () => {
    backend = await rawSocketBackend((head, s) => {
      const path = head.split(' ')[1] ?? '/';
      if (path === '/chunked') {
        s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: x-sum\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\nx-sum: 42\r\n\r\n');
      } else if (path === '/eof') {
        // A close-delimited body: no length, no chunking; the server closes to end it.
        s.end('HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end');
      } else if (path === '/hints') {
        s.write('HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      } else if (path === '/named') {
        // Connection names the framing header and another one.
        const echoed = /\r\ncontent-length: *\d+/i.test(head) ? 'length kept' : 'length lost';
        s.write(`HTTP/1.1 200 OK\r\nConnection: content-length, x-drop\r\nX-Drop: 1\r\nContent-Length: ${echoed.length}\r\n\r\n${echoed}`);
      } else if (path === '/204') {
        s.write('HTTP/1.1 204 No Content\r\n\r\n');
      } else {
        const body = `path ${path}`;
        s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\nX-Hop: yes\r\n\r\n${body}`);
      }
    });
    b = await startBalancer({ engine: 'fast', healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
  });
  after(async () => {
    await b.stop();
    await backend.close();
  });

  test('keep-alive connections to the server are reused: 30 requests over 3 client connections, one or two server connections', async () => {
    const before = backend.connections();
    for (let c = 0; c < 3; c++) {
      const client = await rawClient(b.url);
      let batch = '';
      for (let i = 0; i < 10; i++) batch += `GET /r${c}-${i} HTTP/1.1\r\nHost: x\r\n${i === 9 ? 'Connection: close\r\n' : ''}\r\n`;
      client.socket.write(batch);
      await waitFor(() => client.closed(), 'answers', 10_000);
      // Pipelined answers come back in order, each with its own body.
      assert.deepEqual([...client.text().matchAll(/path (\/r\d-\d)/g)].map((m) => m[1]), Array.from({ length: 10 }, (_, i) => `/r${c}-${i}`));
      // Hop-by-hop headers of the server's response are not passed on.
      assert.doesNotMatch(client.text(), /keep-alive: timeout/i);
    }
    const opened = backend.connections() - before;
    assert.ok(opened >= 1 && opened <= 2, `${opened} server connections for 30 requests`);
  });

  test('a chunked response passes through to an HTTP/1.1 client, trailers included', async () => {
    const c = await rawClient(b.url);
    c.socket.write('GET /chunked HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed(), 'answer', 10_000);
    assert.match(c.text(), /^HTTP\/1\.1 200 /);
    assert.match(c.text(), /transfer-encoding: chunked\r\n/i);
    assert.match(c.text(), /\r\n\r\n6\r\nhello \r\n5\r\nworld\r\n0\r\nx-sum: 42\r\n\r\n$/);
  });

  test('an HTTP/1.0 client gets a chunked response de-chunked and the connection closed after it', async () => {
    const c = await rawClient(b.url);
    c.socket.write('GET /chunked HTTP/1.0\r\n\r\n');
    await waitFor(() => c.closed(), 'answer', 10_000);
    const [head = '', body] = c.text().split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 200 /);
    assert.doesNotMatch(head, /transfer-encoding/i);
    assert.match(head, /connection: close/i);
    assert.equal(body, 'hello world');
  });

  test('a close-delimited response is chunked for a keep-alive HTTP/1.1 client, which keeps its connection', async () => {
    const c = await rawClient(b.url);
    c.socket.write('GET /eof HTTP/1.1\r\nHost: x\r\n\r\n');
    await waitFor(() => c.text().includes('0\r\n\r\n'), 'chunked answer', 10_000);
    assert.match(c.text(), /transfer-encoding: chunked\r\n/i);
    assert.match(c.text(), /\r\n\r\nd\r\nuntil the end\r\n0\r\n\r\n$/);
    c.socket.write('GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed(), 'second answer', 10_000);
    assert.match(c.text(), /path \/after$/);
  });

  test('1xx interim responses (103) reach an HTTP/1.1 client before the final one; 204 has no body', async () => {
    const c = await rawClient(b.url);
    c.socket.write('GET /hints HTTP/1.1\r\nHost: x\r\n\r\nGET /204 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed(), 'answers', 10_000);
    assert.match(c.text(), /^HTTP\/1\.1 103 Early Hints\r\nLink: <\/style\.css>; rel=preload\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    assert.match(c.text(), /\r\n\r\nokHTTP\/1\.1 204 No Content\r\n[^]*\r\n\r\n$/);
  });

  test('a Connection header naming Content-Length drops neither side\'s framing (no smuggling); other named headers go', async () => {
    const c = await rawClient(b.url);
    c.socket.write('POST /named HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: 5\r\n\r\nhelloGET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await waitFor(() => c.closed(), 'answers', 10_000);
    assert.match(c.text(), /^HTTP\/1\.1 200 OK\r\n/);
    assert.match(c.text(), /\r\nContent-Length: 11\r\n/);
    assert.doesNotMatch(c.text(), /x-drop/i);
    assert.match(c.text(), /\r\n\r\nlength keptHTTP\/1\.1 200 OK\r\n[^]*path \/after$/);
  });

  test('an unknown engine is a config error naming the field', () => {
    const file = writeConfig({ engine: 'turbo', servers: [{ addr: 'http://127.0.0.1:9' }] });
    const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr + r.stdout);
    assert.match(r.stderr + r.stdout, /engine: "turbo" is not an engine \(allowed: "node", "fast"\)/);
  });
});

describe('fast engine backpressure', () => {
  let backend: RawBackend;
  let written = 0;
  let finished = false;
  before(async () => {
    // 64 MiB in 64 KiB writes, each waiting for 'drain' when the socket is full.
    backend = await rawBackend((_req, res) => {
      const chunk = Buffer.alloc(64 * 1024, 'b');
      let left = 1024;
      res.writeHead(200, { 'content-length': String(chunk.length * left) });
      const pump = (): void => {
        while (left > 0) {
          left--;
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
        finished = true;
      };
      pump();
    });
  });
  after(async () => {
    await backend.close();
  });

  test('a client that stops reading stops the server (bounded buffering), and gets every byte when it reads again', async () => {
    const b = await startBalancer({ engine: 'fast', healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
    try {
      const c = await rawClient(b.url);
      c.socket.pause();
      c.socket.write('GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      await waitFor(() => written > 0, 'server writing', 10_000);
      // Let the buffers fill, then see the server held back.
      let last = -1;
      await waitFor(
        async () => {
          const now = written;
          const still = now === last;
          last = now;
          await new Promise((r) => setTimeout(r, 300));
          return still;
        },
        'server held back',
        15_000,
      );
      assert.ok(!finished, 'the whole 64 MiB went out to a client that reads nothing');
      assert.ok(written < 48 * 1024 * 1024, `${written} bytes written before the server was held back`);
      c.socket.resume();
      await waitFor(() => c.closed(), 'all bytes', 30_000);
      const headLength = c.text().indexOf('\r\n\r\n') + 4;
      assert.equal(c.bytes() - headLength, 64 * 1024 * 1024);
    } finally {
      await b.stop();
    }
  });
});
