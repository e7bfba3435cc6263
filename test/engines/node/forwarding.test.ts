import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { CLI, startBalancer, ENGINE_UNDER_TEST, writeConfig, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

/** What a recording backend saw of one request or upgrade. */
interface Seen {
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly upgrade: boolean;
}

/**
 * A backend that records every request target and header set exactly as received, answers
 * `{"url", "headers"}` as JSON, and accepts WebSocket-style upgrades (101, then closes).
 */
async function recordingBackend(): Promise<{ url: string; port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers, upgrade: false });
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ url: req.url, headers: req.headers }));
  });
  server.on('upgrade', (req, socket) => {
    seen.push({ url: req.url ?? '', headers: req.headers, upgrade: true });
    socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** Sends raw request bytes (optionally from `localAddress`) and resolves with everything read until the balancer closes. */
function raw(url: string, text: string, localAddress?: string): Promise<string> {
  const { port, hostname } = new URL(url);
  return new Promise<string>((resolve, reject) => {
    const s = connect({ port: Number(port), host: hostname, localAddress });
    let data = '';
    s.on('data', (d) => (data += d.toString('latin1')));
    s.on('close', () => resolve(data));
    s.on('error', reject);
    s.write(text);
  });
}

/** The request (or upgrade) the backend saw last. */
function last(seen: Seen[]): Seen {
  const s = seen.at(-1);
  assert.ok(s !== undefined, 'the backend saw no request');
  return s;
}

/** Health checks off, so only our requests reach the backends. */
const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };

describe('server address with a path', () => {
  let backend: Awaited<ReturnType<typeof recordingBackend>>;
  let prefixed: BalancerProcess;
  let slashed: BalancerProcess;
  let plain: BalancerProcess;
  before(async () => {
    backend = await recordingBackend();
    prefixed = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: `${backend.url}/app` }] });
    slashed = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: `${backend.url}/app/` }] });
    plain = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
  });
  after(async () => {
    await Promise.all([prefixed.stop(), slashed.stop(), plain.stop()]);
    await backend.close();
  });

  // [server, request target as the client sends it, path the server must receive]
  const cases: [string, string, string][] = [
    ['/app', '/foo?q=1', '/app/foo?q=1'],
    ['/app', '/', '/app/'],
    ['/app', '/?only=query', '/app/?only=query'],
    ['/app', '/a%2Fb/c%20d?x=%2F&y=a%20b', '/app/a%2Fb/c%20d?x=%2F&y=a%20b'],
    ['/app', '//double//slashes/', '/app//double//slashes/'],
    ['/app', '/a/../b/./c', '/app/a/../b/./c'],
    ['/app', 'http://example.test/abs/x?y=1', '/app/abs/x?y=1'],
    ['/app', 'http://example.test', '/app/'],
    ['/app', 'http://example.test?y=1', '/app/?y=1'],
    ['/app/', '/foo', '/app/foo'],
    ['/app/', '/', '/app/'],
    ['/app/', '//x', '/app//x'],
    ['', '/foo?q', '/foo?q'],
    ['', 'http://example.test/x%2Fy?z', '/x%2Fy?z'],
  ];
  for (const [prefix, target, expected] of cases) {
    test(`"${prefix || '(none)'}" + ${target} reaches the server as ${expected}`, async () => {
      const b = prefix === '/app' ? prefixed : prefix === '/app/' ? slashed : plain;
      // The fast engine refuses an absolute-form target naming another host than Host (400, issue 11).
      const host = ENGINE_UNDER_TEST === 'fast' && target.startsWith('http://') ? 'example.test' : 'front.test';
      const reply = await raw(b.url, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 200 /, reply.split('\r\n')[0]);
      assert.equal(last(backend.seen).url, expected);
      // An absolute-form target names the host (RFC 9112 §3.2.2): it replaces the Host header.
      assert.equal(last(backend.seen).headers.host, target.startsWith('http://') ? 'example.test' : 'front.test');
    });
  }

  test('a path that climbs above its root cannot step out of the server path: 400, and no server sees it', async () => {
    const climbing = ['/../admin', '/a/../../admin', '/%2e%2e/admin', '/.%2E/admin', '/..%2Fadmin', '/a/..%5c..%5cadmin', '/a/..\\..\\admin', 'http://example.test/../admin'];
    for (const target of climbing) {
      const before = backend.seen.length;
      const reply = await raw(prefixed.url, `GET ${target} HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n`);
      assert.match(reply, /^HTTP\/1\.1 400 /, `${target} -> ${reply.split('\r\n')[0]}`);
      assert.match(reply, /climbs above the root/);
      assert.equal(backend.seen.length, before, `${target} reached the server`);
    }
    const upgrade = await raw(
      prefixed.url,
      'GET /../ws HTTP/1.1\r\nHost: front.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(upgrade, /^HTTP\/1\.1 400 /);
    // Without a server path there is nothing to step out of: the path passes as sent.
    await raw(plain.url, 'GET /../x HTTP/1.1\r\nHost: front.test\r\nConnection: close\r\n\r\n');
    assert.equal(last(backend.seen).url, '/../x');
  });

  test('a WebSocket upgrade is joined the same way', async () => {
    const reply = await raw(
      prefixed.url,
      'GET /ws/room%201?token=a HTTP/1.1\r\nHost: front.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
        'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
    );
    assert.match(reply, /^HTTP\/1\.1 101 /);
    const s = last(backend.seen);
    assert.ok(s.upgrade);
    assert.equal(s.url, '/app/ws/room%201?token=a');
  });

  test('health checks request their path under the server path', async () => {
    const b = await startBalancer({ healthCheckDelay: 0.2, healthCheck: { path: '/health' }, servers: [{ addr: `${backend.url}/app` }] });
    try {
      await waitFor(() => backend.seen.some((s) => s.url === '/app/health'), 'a health check of /app/health', 10_000);
      assert.ok(!backend.seen.some((s) => s.url === '/health'), 'a health check left out the server path');
    } finally {
      await b.stop();
    }
  });

  test('a query, fragment or user info in a server address is a config error naming the field', () => {
    const bad: [string, RegExp][] = [
      ['http://127.0.0.1:9000/app?x=1', /has a query/],
      ['http://127.0.0.1:9000/?', /has a query/],
      ['http://127.0.0.1:9000/app#top', /has a fragment/],
      ['http://user:secret@127.0.0.1:9000/', /has user info/],
      ['http://@127.0.0.1:9000/', /has user info/],
    ];
    for (const [addr, why] of bad) {
      const file = writeConfig({ servers: [{ addr: 'http://127.0.0.1:9001' }, { addr }] });
      const r = spawnSync(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
      assert.equal(r.status, 2, addr);
      assert.match(r.stderr, new RegExp(`${file}: servers\\[1\\]\\.addr: ${JSON.stringify(addr).replace(/[?.*+^$()[\]{}|\\/]/g, '\\$&')} ${why.source}`), r.stderr);
    }
  });
});

describe('X-Forwarded-* and client addresses', () => {
  let backend: Awaited<ReturnType<typeof recordingBackend>>;
  let trusting: BalancerProcess;
  let untrusting: BalancerProcess;
  before(async () => {
    backend = await recordingBackend();
    trusting = await startBalancer({ healthCheck: NO_CHECKS, trustedProxies: ['127.0.0.1'], servers: [{ addr: backend.url }] });
    untrusting = await startBalancer({ healthCheck: NO_CHECKS, servers: [{ addr: backend.url }] });
  });
  after(async () => {
    await Promise.all([trusting.stop(), untrusting.stop()]);
    await backend.close();
  });

  const spoof =
    'X-Forwarded-For: 6.6.6.6, 127.0.0.9\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: front.example\r\n' +
    'X-Forwarded-Port: 443\r\nX-Forwarded-Prefix: /admin\r\nForwarded: for=6.6.6.6;proto=https\r\nX-Real-IP: 6.6.6.6\r\n' +
    'Proxy: http://evil.test:3128\r\n';

  // [name, balancer, local address of the client, extra request headers, headers the server must see (undefined: absent)]
  type Row = [string, () => BalancerProcess, string, string, Record<string, string | undefined>];
  const rows: Row[] = [
    [
      'a trusted proxy: its X-Forwarded-For is extended with the peer, its Proto/Host/Port and Forwarded kept; Proxy stripped',
      () => trusting,
      '127.0.0.1',
      spoof,
      {
        'x-forwarded-for': '6.6.6.6, 127.0.0.9, 127.0.0.1',
        'x-forwarded-proto': 'https',
        'x-forwarded-host': 'front.example',
        'x-forwarded-port': '443',
        'x-forwarded-prefix': '/admin',
        forwarded: 'for=6.6.6.6;proto=https',
        'x-real-ip': '6.6.6.6',
        proxy: undefined,
      },
    ],
    [
      'a trusted proxy that sends no X-Forwarded-*: ours are set',
      () => trusting,
      '127.0.0.1',
      '',
      { 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'front.test', 'x-forwarded-port': 'PORT' },
    ],
    [
      'a trusted proxy with two X-Forwarded-For lines: both kept, in order, then the peer',
      () => trusting,
      '127.0.0.1',
      'X-Forwarded-For: 1.1.1.1\r\nX-Forwarded-For: 2.2.2.2\r\n',
      { 'x-forwarded-for': '1.1.1.1, 2.2.2.2, 127.0.0.1' },
    ],
    [
      'an untrusted peer of a balancer with trusted proxies: every forwarding header is replaced or dropped',
      () => trusting,
      '127.0.0.2',
      spoof,
      {
        'x-forwarded-for': '127.0.0.2',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'front.test',
        'x-forwarded-port': 'PORT',
        'x-forwarded-prefix': undefined,
        forwarded: undefined,
        'x-real-ip': undefined,
        proxy: undefined,
      },
    ],
    [
      'a client of a balancer that trusts no proxy: the same',
      () => untrusting,
      '127.0.0.1',
      spoof + 'x-forwarded-for: 7.7.7.7\r\nX-FORWARDED-PROTO: wss\r\nX_Forwarded_For: 8.8.8.8\r\nX-Real_IP: 8.8.8.8\r\n',
      {
        'x-forwarded-for': '127.0.0.1',
        'x-forwarded-proto': 'http',
        'x-forwarded-host': 'front.test',
        'x-forwarded-port': 'PORT',
        'x-forwarded-prefix': undefined,
        forwarded: undefined,
        'x-real-ip': undefined,
        // CGI servers read these as X-Forwarded-For and X-Real-IP.
        x_forwarded_for: undefined,
        'x-real_ip': undefined,
        proxy: undefined,
      },
    ],
  ];
  for (const [name, balancer, from, extra, expected] of rows) {
    for (const upgrade of [false, true]) {
      test(`${name}${upgrade ? ' (WebSocket upgrade)' : ''}`, async () => {
        const b = balancer();
        const port = new URL(b.url).port;
        const upgradeHeaders = upgrade
          ? 'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
          : 'Connection: close\r\n';
        const reply = await raw(b.url, `GET /h HTTP/1.1\r\nHost: front.test\r\n${upgradeHeaders}${extra}\r\n`, from);
        assert.match(reply, upgrade ? /^HTTP\/1\.1 101 / : /^HTTP\/1\.1 200 /, reply.split('\r\n')[0]);
        const seen = last(backend.seen);
        assert.equal(seen.upgrade, upgrade);
        for (const [h, v] of Object.entries(expected)) assert.equal(seen.headers[h], v === 'PORT' ? port : v, h);
      });
    }
  }

  test('ip-hash hashes the rightmost untrusted X-Forwarded-For address, so a client cannot pick its server', async () => {
    const servers = await Promise.all([recordingBackend(), recordingBackend(), recordingBackend(), recordingBackend()]);
    const b = await startBalancer({
      algorithm: 'ip-hash',
      healthCheck: NO_CHECKS,
      trustedProxies: ['127.0.0.1', '10.0.0.0/8'],
      servers: servers.map((s) => ({ addr: s.url })),
    });
    try {
      // The trusted proxy 10.0.0.5 saw the client 203.0.113.9; the client wrote the leftmost address itself.
      const homes = new Set<number>();
      for (let i = 0; i < 24; i++) {
        await raw(b.url, `GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Forwarded-For: 198.51.100.${i}, 203.0.113.9, 10.0.0.5\r\n\r\n`);
        homes.add(servers.findIndex((s) => s.seen.length > 0 && s.seen.at(-1)?.headers['x-forwarded-for'] === `198.51.100.${i}, 203.0.113.9, 10.0.0.5, 127.0.0.1`));
      }
      assert.equal(homes.size, 1, `a spoofed leftmost address moved the client over ${homes.size} servers`);
      assert.ok(!homes.has(-1));
    } finally {
      await b.stop();
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});
