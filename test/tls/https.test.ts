import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { connect as h2connect, type ClientHttp2Session } from 'node:http2';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import { startBalancer, type BalancerProcess } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { certDir, makeCert, type TestCert } from '../helpers/certs.js';
import { echoBackend, type EchoBackend } from './tls-backend.js';

const run = promisify(execFile);
let backend: EchoBackend;
let bp: BalancerProcess;
let port: number;
let a: TestCert;
let b: TestCert;
let wild: TestCert;

before(async () => {
  const dir = certDir();
  a = makeCert(dir, 'a', ['a.test']);
  b = makeCert(dir, 'b', ['b.test']);
  wild = makeCert(dir, 'wild', ['*.wild.test']);
  backend = await echoBackend();
  bp = await startBalancer({ servers: [{ addr: backend.url }], tls: { certificates: [a, b, wild].map(({ cert, key }) => ({ cert, key })) } });
  port = Number(new URL(bp.url).port);
});

after(async () => {
  await bp.stop();
  await backend.close();
});

/** Handshakes and returns the socket (ALPN protocol, peer certificate). */
function handshake(opts: ConnectionOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...opts }, () => resolve(s));
    s.once('error', reject);
  });
}

async function fingerprintFor(servername: string | undefined): Promise<string> {
  const s = await handshake(servername === undefined ? {} : { servername });
  const f = s.getPeerCertificate().fingerprint256;
  s.destroy();
  return f;
}

/** One HTTP/2 request on `session`; resolves with status, headers and body. */
function h2request(session: ClientHttp2Session, path: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':path': path, ':method': opts.method ?? 'GET', ...opts.headers });
    let body = '';
    let headers: Record<string, unknown> = {};
    req.setEncoding('utf8');
    req.on('response', (h) => (headers = h));
    req.on('data', (d: string) => (body += d));
    req.on('end', () => resolve({ status: Number(headers[':status']), headers, body }));
    req.on('error', reject);
    req.end(opts.body);
  });
}

function h2session(servername = 'a.test'): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const s = h2connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false, servername });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

test('SNI picks the certificate for each name and the wildcard; no SNI or an unknown name gets the first', async () => {
  assert.equal(await fingerprintFor('a.test'), a.fingerprint);
  assert.equal(await fingerprintFor('b.test'), b.fingerprint);
  assert.equal(await fingerprintFor('x.wild.test'), wild.fingerprint);
  assert.equal(await fingerprintFor('y.x.wild.test'), a.fingerprint, 'a wildcard covers one label');
  assert.equal(await fingerprintFor('unknown.test'), a.fingerprint);
  assert.equal(await fingerprintFor(undefined), a.fingerprint);
});

test('TLS 1.0 and 1.1 are refused; 1.2 and 1.3 are served; ALPN offers h2 then http/1.1', async () => {
  for (const maxVersion of ['TLSv1', 'TLSv1.1'] as const) {
    await assert.rejects(handshake({ servername: 'a.test', minVersion: 'TLSv1', maxVersion, ciphers: 'DEFAULT@SECLEVEL=0' }), /version|protocol/i, maxVersion);
  }
  const s12 = await handshake({ servername: 'a.test', maxVersion: 'TLSv1.2', ALPNProtocols: ['h2', 'http/1.1'] });
  assert.equal(s12.getProtocol(), 'TLSv1.2');
  assert.equal(s12.alpnProtocol, 'h2');
  s12.destroy();
  const s13 = await handshake({ servername: 'a.test', ALPNProtocols: ['http/1.1'] });
  assert.equal(s13.getProtocol(), 'TLSv1.3');
  assert.equal(s13.alpnProtocol, 'http/1.1');
  s13.destroy();
  // The same with openssl's own client.
  const r = await run('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', 'a.test', '-tls1_1'], { timeout: 10_000 }).catch((e: { stdout?: string; stderr?: string }) => e);
  assert.match(`${r.stdout ?? ''}`, /Cipher is \(NONE\)/, 'no session was established');
  assert.doesNotMatch(`${r.stdout ?? ''}`, /BEGIN CERTIFICATE/);
});

test('HTTP/1.1 over TLS: X-Forwarded-Proto https and X-Forwarded-Port the listener port', async () => {
  const s = await handshake({ servername: 'a.test', ALPNProtocols: ['http/1.1'] });
  s.write('GET /headers HTTP/1.1\r\nhost: a.test\r\nx-forwarded-proto: http\r\nconnection: close\r\n\r\n');
  let text = '';
  s.setEncoding('utf8');
  for await (const d of s) text += d as string;
  assert.match(text, /^HTTP\/1\.1 200/);
  const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, string> };
  assert.equal(body.headers['x-forwarded-proto'], 'https', 'set by us, the client cannot spoof it');
  assert.equal(body.headers['x-forwarded-port'], String(port));
  assert.equal(body.headers.host, 'a.test');
});

test('HTTP/2: :authority becomes Host, X-Forwarded-Proto https, no connection-specific response headers', async () => {
  const session = await h2session();
  try {
    const r = await h2request(session, '/headers', { headers: { ':authority': 'h2.a.test:8443', cookie: ['a=1', 'b=2'] as unknown as string } });
    assert.equal(r.status, 200);
    const body = JSON.parse(r.body) as { headers: Record<string, string>; rawHeaders: string[]; httpVersion: string };
    assert.equal(body.httpVersion, '1.1', 'servers get HTTP/1.1');
    assert.deepEqual(body.rawHeaders.filter((_, i) => i % 2 === 0 && body.rawHeaders[i]?.toLowerCase() === 'cookie').length, 1, 'one Cookie field');
    assert.equal(body.headers.host, 'h2.a.test:8443');
    assert.equal(body.headers.cookie, 'a=1; b=2', 'split cookies are joined for HTTP/1.1');
    assert.equal(body.headers['x-forwarded-proto'], 'https');
    assert.equal(body.headers['x-forwarded-port'], String(port));
    assert.equal(body.headers['x-forwarded-host'], 'h2.a.test:8443');
    assert.ok(!Object.keys(body.headers).some((h) => h.startsWith(':')), 'no pseudo-header goes upstream');
    for (const h of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection']) assert.equal(r.headers[h], undefined, h);
  } finally {
    session.close();
  }
});

test('HTTP/2 request and response bodies stream both ways: each chunk comes back before the next is sent', async () => {
  const session = await h2session();
  try {
    const req = session.request({ ':path': '/echo', ':method': 'POST' });
    const got: string[] = [];
    let waiting: ((s: string) => void) | undefined;
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      got.push(d);
      waiting?.(d);
    });
    const next = (): Promise<string> => new Promise((r) => (waiting = r));
    for (let i = 0; i < 5; i++) {
      const echoed = next();
      req.write(`chunk-${i};`);
      assert.equal(await echoed, `chunk-${i};`, 'the echo of a chunk arrives while the request body is still open');
    }
    const ended = new Promise((r) => req.once('end', r));
    req.end();
    await ended;
    assert.equal(got.join(''), 'chunk-0;chunk-1;chunk-2;chunk-3;chunk-4;');
  } finally {
    session.close();
  }
});

test('HTTP/2: 300 concurrent streams on one connection, each answered with its own response', async () => {
  const session = await h2session();
  try {
    const n = 300;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => h2request(session, `/item/${i}?q=${i}`, i % 3 === 0 ? { method: 'POST', body: `b${i}` } : {})));
    results.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.equal(r.body, `${i % 3 === 0 ? 'POST' : 'GET'} /item/${i}?q=${i}`);
    });
  } finally {
    session.close();
  }
});

test('HTTP/2 flow control: a client that does not read makes the server wait, then gets every byte', async () => {
  const session = await h2session();
  const kib = 64 * 1024; // 64 MiB
  try {
    const req = session.request({ ':path': `/big/${kib}`, ':method': 'GET' });
    req.pause();
    await new Promise((r) => req.once('response', r));
    // Not reading: the HTTP/2 window closes, our writes back up and we stop reading the server, so
    // it is held at what the buffers on the way take (socket buffers, windows), far below 64 MiB.
    let last = -1;
    await waitFor(async () => {
      const now = backend.bigSent.kib;
      const stable = now === last;
      last = now;
      await new Promise((r) => setTimeout(r, 200));
      return stable && now > 0;
    }, 'the server to stall');
    if (process.env.SHOW_FIGURES) console.log(`server stalled at ${backend.bigSent.kib} KiB`);
    assert.ok(backend.bigSent.kib < kib / 2, `the server sent ${backend.bigSent.kib} KiB of ${kib} to a client that reads nothing`);
    let total = 0;
    req.on('data', (d: Buffer) => (total += d.length));
    req.resume();
    await new Promise((r) => req.once('end', r));
    assert.equal(total, kib * 1024);
  } finally {
    session.close();
  }
});

test('curl --http2 gets a response over HTTP/2 and streams an upload', async () => {
  const r = await run('curl', ['-sk', '--http2', '-o', '-', '-w', '\n%{http_version}', '--resolve', `a.test:${port}:127.0.0.1`, '--data-binary', 'curl-body', `https://a.test:${port}/echo`], { timeout: 15_000 });
  assert.equal(r.stdout, 'curl-body\n2');
});

test('WebSocket over TLS: the HTTP/1.1 upgrade is tunnelled, with X-Forwarded-Proto https', async () => {
  const s = await handshake({ servername: 'a.test', ALPNProtocols: ['http/1.1'] });
  s.setEncoding('utf8');
  let text = '';
  const until = (pred: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (pred()) {
          s.off('data', on);
          resolve();
        }
      };
      const on = (d: string): void => {
        text += d;
        check();
      };
      s.on('data', on);
      check();
    });
  s.write('GET /ws HTTP/1.1\r\nhost: a.test\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n');
  await until(() => text.includes('\r\n\r\n'));
  assert.match(text, /^HTTP\/1\.1 101/);
  assert.match(text, /x-forwarded-proto: https/i);
  text = '';
  s.write('ping over tls');
  await until(() => text.includes('ping over tls'));
  s.destroy();
});

test('HTTP/2: answers the balancer gives itself (no server: 503 with Retry-After; a bad target: 400; too many headers: 431; CONNECT: 405) reach the client as HTTP/2', async () => {
  const dir = certDir();
  const c = makeCert(dir, 'c', ['c.test']);
  const dead = await startBalancer({ servers: [{ addr: 'http://127.0.0.1:1' }], tls: { certificates: [{ cert: c.cert, key: c.key }] } });
  const s = h2connect(dead.url, { rejectUnauthorized: false });
  try {
    const r = await h2request(s, '/x');
    assert.equal(r.status, 503);
    assert.ok(Number(r.headers['retry-after']) > 0);
    assert.match(r.body, /no server available/);
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, 'v']));
    assert.equal((await h2request(s, '/x', { headers: many })).status, 431);
    assert.equal((await h2request(s, '*', { method: 'OPTIONS' })).status, 400);
    // CONNECT: 405 with Allow, as over HTTP/1.1 (never a tunnel, never raw HTTP/1.1 text in a body).
    const connect = await new Promise<{ status: number; allow: unknown; body: string }>((resolve, reject) => {
      const req = s.request({ ':method': 'CONNECT', ':authority': 'example.com:443' });
      let body = '';
      let status = 0;
      let allow: unknown;
      req.setEncoding('utf8');
      req.on('response', (h) => ((status = Number(h[':status'])), (allow = h.allow)));
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve({ status, allow, body }));
      req.on('error', reject);
    });
    assert.equal(connect.status, 405);
    assert.match(String(connect.allow), /GET/);
    assert.doesNotMatch(connect.body, /HTTP\/1\.1/);
    // Session still usable after our own answers.
    assert.equal((await h2request(s, '/y')).status, 503);
  } finally {
    s.close();
    await dead.stop();
  }
});

test('a TLS handshake that never finishes is closed after timeouts.requestHead', async () => {
  const dir = certDir();
  const c = makeCert(dir, 'c', ['c.test']);
  const quick = await startBalancer({ servers: [{ addr: backend.url }], timeouts: { requestHead: 1 }, tls: { certificates: [{ cert: c.cert, key: c.key }] } });
  try {
    const { connect } = await import('node:net');
    const s = connect(Number(new URL(quick.url).port), '127.0.0.1');
    s.on('error', () => undefined);
    s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x50])); // a ClientHello record header, then nothing
    const t0 = Date.now();
    await new Promise((resolve) => s.once('close', resolve));
    const ms = Date.now() - t0;
    assert.ok(ms < 10_000, `closed after ${ms} ms`);
    await waitFor(() => quick.logs.some((l) => /^TLS handshake failed: client 127\.0\.0\.1: ERR_TLS_HANDSHAKE_TIMEOUT$/.test(String(l.msg))), `the log line: ${JSON.stringify(quick.logs.slice(-3))}`);
  } finally {
    await quick.stop();
  }
});
