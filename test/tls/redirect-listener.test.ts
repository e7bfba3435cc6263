// The redirect listener: plain HTTP gets 308 to HTTPS with path and query kept, Host checked,
// ACME HTTP-01 challenges answered, the main listener's head limits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import pino from 'pino';
import { rawExchange } from '../helpers/raw-client.js';
import { startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { certDir, makeCert, makeTestPki } from '../helpers/certs.js';
import { request as httpsRequest } from 'node:https';
import { ChallengeTokens, redirectHost, startRedirectListener, type RedirectLimits } from '../../src/tls/redirect-listener.js';

const LIMITS: RedirectLimits = { requestHeadMs: 30_000, idleMs: 60_000, maxHeaders: 100, maxConnections: 1000 };
const log = pino({ level: 'silent' });

function statusOf(raw: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
}
function header(raw: string, name: string): string | undefined {
  const head = raw.split('\r\n\r\n')[0] ?? '';
  return new RegExp(`^${name}: (.*)$`, 'im').exec(head)?.[1];
}

test('CLI: redirectHttp answers 308 to https on the main port, path and query unchanged, any method', async () => {
  const { cert, key } = makeCert(certDir(), 'redirect', ['example.com']);
  const b = await startBalancer({ redirectHttp: '127.0.0.1:0', tls: { certificates: [{ cert, key }] }, healthCheck: { enabled: false }, servers: [{ addr: 'http://127.0.0.1:9' }] });
  try {
    const line = b.logs.find((l) => typeof l.redirectHttp === 'string');
    assert.ok(line, 'the redirect listener start line');
    const url = String(line.redirectHttp);
    const mainPort = new URL(b.url).port;
    let raw = await rawExchange(url, 'GET /a/b%20c/?x=1&y=%2F&z HTTP/1.1\r\nHost: Example.COM:8080\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 308, raw);
    assert.equal(header(raw, 'location'), `https://example.com:${mainPort}/a/b%20c/?x=1&y=%2F&z`);
    raw = await rawExchange(url, 'POST /form?q HTTP/1.1\r\nHost: example.com\r\nContent-Length: 3\r\n\r\nabc');
    assert.equal(statusOf(raw), 308, raw);
    assert.equal(header(raw, 'location'), `https://example.com:${mainPort}/form?q`);
    // Changing the address needs a restart, as admin.addr.
    const cfg = JSON.parse(readFileSync(b.file, 'utf8')) as Record<string, unknown>;
    writeFileSync(b.file, JSON.stringify({ ...cfg, redirectHttp: '127.0.0.1:1' }));
    b.proc.kill('SIGUSR2');
    await waitFor(() => b.logs.some((l) => /needs a restart to change: .*redirectHttp \(still 127\.0\.0\.1:0\)/.test(String(l.msg))), 'the reload says redirectHttp needs a restart');
    assert.equal(statusOf(await rawExchange(url, 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')), 308);
  } finally {
    await b.stop();
  }
});

test('redirectHttp without tls: exit 2 naming the field (a redirect to a plain listener is a dead end)', async () => {
  await assert.rejects(startBalancer({ redirectHttp: '127.0.0.1:0', servers: [{ addr: 'http://127.0.0.1:9' }] }), /redirectHttp: "127\.0\.0\.1:0" redirects to HTTPS, but the listener has no "tls"/);
});

test('port handling: 443 is left out, other ports kept, the client\'s port always dropped, IPv6 literals kept', async () => {
  const r443 = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 443, log, limits: LIMITS });
  const r8443 = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 8443, log, limits: LIMITS });
  try {
    let raw = await rawExchange(r443.url(), 'GET /p?q=1 HTTP/1.1\r\nHost: example.com:80\r\nConnection: close\r\n\r\n');
    assert.equal(header(raw, 'location'), 'https://example.com/p?q=1');
    raw = await rawExchange(r8443.url(), 'GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(header(raw, 'location'), 'https://example.com:8443/');
    raw = await rawExchange(r8443.url(), 'GET /v6 HTTP/1.1\r\nHost: [::1]:80\r\nConnection: close\r\n\r\n');
    assert.equal(header(raw, 'location'), 'https://[::1]:8443/v6');
    // Absolute-form: the target's authority is the host, its path kept.
    raw = await rawExchange(r443.url(), 'GET http://abs.example/x?y HTTP/1.1\r\nHost: other.example\r\nConnection: close\r\n\r\n');
    assert.equal(header(raw, 'location'), 'https://abs.example/x?y');
    r8443.setHttpsPort(9443);
    raw = await rawExchange(r8443.url(), 'GET / HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(header(raw, 'location'), 'https://example.com:9443/');
  } finally {
    await Promise.all([r443.close(), r8443.close()]);
  }
});

test('a bad or missing Host is 400, never a redirect', async () => {
  const r = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 443, log, limits: LIMITS });
  try {
    const bad = [
      'GET / HTTP/1.1\r\nConnection: close\r\n\r\n', // no Host (HTTP/1.1)
      'GET / HTTP/1.0\r\n\r\n', // no Host (HTTP/1.0): nowhere to redirect to
      'GET / HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: evil.test@good.test\r\nConnection: close\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: good.test%2fevil.test\r\nConnection: close\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: a.test:99999\r\nConnection: close\r\n\r\n',
      'GET //evil.test/ HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n',
    ];
    for (const req of bad) {
      const raw = await rawExchange(r.url(), req);
      assert.equal(statusOf(raw), 400, `${JSON.stringify(req)} -> ${raw}`);
      assert.equal(header(raw, 'location'), undefined);
    }
  } finally {
    await r.close();
  }
  assert.equal(redirectHost('Example.com:80'), 'example.com');
  assert.equal(redirectHost('[::1]'), '[::1]');
  assert.equal(redirectHost('[zz::1]'), undefined);
  assert.equal(redirectHost('999.1.1.1'), undefined);
  assert.equal(redirectHost('a b'), undefined);
});

test('ACME HTTP-01: a known token gets 200 text/plain key authorization, unknown tokens 404', async () => {
  const tokens = new ChallengeTokens();
  tokens.add('tok_EN-123', 'tok_EN-123.thumbprint');
  const r = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 443, log, limits: LIMITS, challenges: tokens });
  try {
    let raw = await rawExchange(r.url(), 'GET /.well-known/acme-challenge/tok_EN-123 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 200, raw);
    assert.match(String(header(raw, 'content-type')), /^text\/plain/);
    assert.equal(raw.split('\r\n\r\n')[1], 'tok_EN-123.thumbprint');
    raw = await rawExchange(r.url(), 'HEAD /.well-known/acme-challenge/tok_EN-123 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 200);
    assert.equal(raw.split('\r\n\r\n')[1], '');
    raw = await rawExchange(r.url(), 'GET /.well-known/acme-challenge/other HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 404);
    tokens.remove('tok_EN-123');
    raw = await rawExchange(r.url(), 'GET /.well-known/acme-challenge/tok_EN-123 HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 404);
    r.setChallenges(undefined);
    raw = await rawExchange(r.url(), 'GET /.well-known/acme-challenge/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 404);
  } finally {
    await r.close();
  }
});

test('limits: too many header lines 431, a slow head 408, like the main listener', async () => {
  const r = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 443, log, limits: { ...LIMITS, maxHeaders: 5, requestHeadMs: 400 } });
  try {
    const many = Array.from({ length: 8 }, (_, i) => `X-H${i}: v\r\n`).join('');
    let raw = await rawExchange(r.url(), `GET / HTTP/1.1\r\nHost: a.test\r\n${many}\r\n`);
    assert.equal(statusOf(raw), 431, raw);
    // A head that never ends is cut with 408 (the deadline is checked about every 100 ms).
    raw = await new Promise<string>((resolve, reject) => {
      const u = new URL(r.url());
      const s = connect(Number(u.port), u.hostname);
      let data = '';
      s.setEncoding('latin1');
      s.on('data', (d: string) => (data += d));
      s.on('close', () => resolve(data));
      s.on('error', reject);
      s.write('GET / HTTP/1.1\r\nHost: a.test\r\n');
    });
    assert.equal(statusOf(raw), 408, raw);
  } finally {
    await r.close();
  }
});

test('a bad redirectHttp address is a config error naming the field; a taken port stops the start with a clear line', async () => {
  const { spawnSync } = await import('node:child_process');
  const { CLI, writeConfig } = await import('../helpers/cluster.js');
  const file = writeConfig({ redirectHttp: 'port80', servers: [{ addr: 'http://127.0.0.1:9' }] });
  const r = spawnSync(process.execPath, [CLI, 'validate', file], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /redirectHttp: "port80" is not a listen address like ":8000"/);
  const taken = await startRedirectListener({ addr: '127.0.0.1:0', httpsPort: 443, log, limits: LIMITS });
  try {
    const { cert, key } = makeCert(certDir(), 'taken', ['example.com']);
    await assert.rejects(startBalancer({ redirectHttp: `127.0.0.1:${taken.address.port}`, tls: { certificates: [{ cert, key }] }, healthCheck: { enabled: false }, servers: [{ addr: 'http://127.0.0.1:9' }] }), /cannot listen on redirectHttp 127\.0\.0\.1:\d+: address in use/);
  } finally {
    await taken.close();
  }
});

test('with tls on the main listener: the redirect leads to HTTPS that serves', async () => {
  const pki = makeTestPki();
  const cert = pki.leaf('front', 'DNS:localhost,IP:127.0.0.1');
  const { startTestServers } = await import('../../src/testservers/server.js');
  const [backend] = await startTestServers({ count: 1, port: 0 });
  const b = await startBalancer({
    tls: { certificates: [{ cert: cert.certFile, key: cert.keyFile }] },
    redirectHttp: '127.0.0.1:0',
    healthCheck: { enabled: false },
    servers: [{ addr: backend!.url }],
  });
  try {
    const url = String(b.logs.find((l) => typeof l.redirectHttp === 'string')?.redirectHttp);
    const raw = await rawExchange(url, 'GET /hello?x=1 HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    assert.equal(statusOf(raw), 308, raw);
    const location = String(header(raw, 'location'));
    assert.equal(location, `https://localhost:${new URL(b.url).port}/hello?x=1`);
    // Follow it over TLS, trusting the test CA.
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(location.replace('localhost', '127.0.0.1'), { ca: readFileSync(pki.caFile), servername: 'localhost', agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 200);
  } finally {
    await b.stop();
    await backend!.close();
  }
});
