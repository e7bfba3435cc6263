// HTTPS towards servers: certificates verified against upstreamTls.ca or the system CAs, SNI from
// the address or `servername`, insecureSkipVerify loud; proxied requests, WebSocket and health checks.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { adminUrl, CLI, get, startBalancer, withTestEngine, writeConfig, type BalancerProcess } from '../../helpers/cluster.js';
import { makeTestPki, type CertFiles, type TestPki } from '../../helpers/certs.js';
import { waitFor } from '../../helpers/wait.js';
import { Dnsmasq } from '../../helpers/dnsmasq.js';

let pki: TestPki;
let signed: CertFiles; // localhost + 127.0.0.1, signed by the test CA
let named: CertFiles; // backend.test only, signed by the test CA
let selfSigned: CertFiles;

before(() => {
  pki = makeTestPki();
  signed = pki.leaf('signed', 'DNS:localhost,IP:127.0.0.1');
  named = pki.leaf('named', 'DNS:backend.test');
  selfSigned = pki.leaf('self', 'DNS:localhost,IP:127.0.0.1', { selfSigned: true });
});

interface HttpsBackend {
  readonly url: string;
  /** SNI names the backend was sent, one per TLS connection. */
  readonly sni: string[];
  close(): Promise<void>;
}

// An HTTPS backend answering "hello" (and /health), with a WebSocket echo.
async function httpsBackend(cert: CertFiles): Promise<HttpsBackend> {
  const sni: string[] = [];
  const server: Server = createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(`hello over ${(req.socket as TLSSocket).encrypted ? 'tls' : 'plain'} ${req.url}`);
  });
  server.on('secureConnection', (s: TLSSocket) => sni.push(String(s.servername)));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo ${String(m)}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    sni,
    close: () =>
      new Promise((r) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const NO_CHECKS = { enabled: false, passive: { maxFails: 0 } };
const FAST_CHECKS = { timeout: 2, rise: 1, fall: 1, downInterval: 0.2 };

async function serversView(b: BalancerProcess): Promise<{ addr: string; healthy: boolean; reason?: string }[]> {
  const r = await get(`${await adminUrl(b)}/api/servers`);
  return (JSON.parse(r.body) as { servers: { addr: string; healthy: boolean; reason?: string }[] }).servers;
}

test('https server verified with upstreamTls.ca: proxied and health-checked over TLS', async () => {
  const be = await httpsBackend(signed);
  const b = await startBalancer({
    upstreamTls: { ca: pki.caFile },
    healthCheckDelay: 0.2,
    healthCheck: { ...FAST_CHECKS, path: '/health' },
    admin: { addr: '127.0.0.1:0' },
    servers: [{ addr: be.url }],
  });
  try {
    const r = await get(`${b.url}/x?y=1`);
    assert.equal(r.status, 200);
    assert.equal(r.body, 'hello over tls /x?y=1');
    // Health probes are TLS connections too, and keep the server up.
    await waitFor(() => be.sni.length >= 3, 'health probes over TLS');
    const [s] = await serversView(b);
    assert.equal(s?.healthy, true);
    // An IP address is never sent as SNI.
    assert.ok(be.sni.every((n) => n === 'false' || n === 'undefined'), `SNI sent for an IP address: ${be.sni.join(',')}`);
  } finally {
    await b.stop();
    await be.close();
  }
});

test('without the CA: health checks mark the server down with it', async () => {
  const be = await httpsBackend(signed);
  const b = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: FAST_CHECKS,
    admin: { addr: '127.0.0.1:0' },
    retries: { attempts: 1 },
    servers: [{ addr: be.url }],
  });
  try {
    await waitFor(async () => (await serversView(b))[0]?.healthy === false, 'server marked down by health checks');
    const [s] = await serversView(b);
    assert.match(String(s?.reason), /certificate verify failed: unable to verify the first certificate/);
    assert.ok(
      b.logs.some((l) => /certificate verify failed: unable to verify the first certificate/.test(String(l.msg))),
      'the down transition is logged with the reason',
    );
    // The only server is down: no one to send to.
    assert.equal((await get(`${b.url}/`)).status, 503);
  } finally {
    await b.stop();
    await be.close();
  }
});

test('a proxied request to a self-signed server fails 502 with "self-signed certificate" in the log', async () => {
  const be = await httpsBackend(selfSigned);
  const b = await startBalancer({ upstreamTls: { ca: pki.caFile }, healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [{ addr: be.url }] });
  try {
    const r = await get(`${b.url}/`);
    assert.equal(r.status, 502, r.body);
    assert.match(r.body, /certificate verify failed: self-signed certificate/);
    await waitFor(() => b.logs.some((l) => /certificate verify failed: self-signed certificate/.test(String(l.msg ?? '') + String(l.reason ?? ''))), 'the failure logged with its reason');
  } finally {
    await b.stop();
    await be.close();
  }
});

test('insecureSkipVerify: served without verification, warned about at start and on reload', async () => {
  const be = await httpsBackend(selfSigned);
  const b = await startBalancer({ upstreamTls: { insecureSkipVerify: true }, healthCheck: NO_CHECKS, servers: [{ addr: be.url }] });
  try {
    const warned = () => b.logs.filter((l) => l.level === 40 && /insecureSkipVerify.*NOT verified/.test(String(l.msg))).length;
    assert.equal(warned(), 1);
    const r = await get(`${b.url}/`);
    assert.equal(r.status, 200, r.body);
    b.proc.kill('SIGUSR2');
    await waitFor(() => warned() === 2, 'the warning again on reload');
  } finally {
    await b.stop();
    await be.close();
  }
});

test('servername: SNI and the checked name; without it the address host must match', async () => {
  const be = await httpsBackend(named);
  const without = await startBalancer({ upstreamTls: { ca: pki.caFile }, healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [{ addr: be.url }] });
  try {
    const r = await get(`${without.url}/`);
    assert.equal(r.status, 502);
    assert.match(r.body, /certificate verify failed: Hostname\/IP does not match/);
  } finally {
    await without.stop();
  }
  const b = await startBalancer({ upstreamTls: { ca: pki.caFile, servername: 'backend.test' }, healthCheck: NO_CHECKS, servers: [{ addr: be.url }] });
  try {
    const r = await get(`${b.url}/`);
    assert.equal(r.status, 200, r.body);
    assert.ok(be.sni.includes('backend.test'), `SNI sent: ${be.sni.join(',')}`);
  } finally {
    await b.stop();
    await be.close();
  }
});

test('WebSocket upgrades to a wss server are verified too', async () => {
  const be = await httpsBackend(signed);
  const ok = await startBalancer({ upstreamTls: { ca: pki.caFile }, healthCheck: NO_CHECKS, servers: [{ addr: be.url }] });
  try {
    const ws = new WebSocket(`${ok.url.replace('http', 'ws')}/ws`);
    const reply = await new Promise<string>((resolve, reject) => {
      ws.on('open', () => ws.send('ping'));
      ws.on('message', (m) => resolve(String(m)));
      ws.on('error', reject);
    });
    assert.equal(reply, 'echo ping');
    ws.close();
  } finally {
    await ok.stop();
  }
  const bad = await startBalancer({ healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [{ addr: be.url }] });
  try {
    const ws = new WebSocket(`${bad.url.replace('http', 'ws')}/ws`);
    const status = await new Promise<number>((resolve) => {
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => resolve(-1));
    });
    assert.equal(status, 502);
    await waitFor(() => bad.logs.some((l) => /websocket upstream .* failed: certificate verify failed/.test(String(l.msg))), 'the wss failure logged');
  } finally {
    await bad.stop();
    await be.close();
  }
});

test('a CA file that does not exist or holds no certificate is a config error naming file and field', () => {
  const missing = writeConfig({ upstreamTls: { ca: '/nonexistent/ca.pem' }, servers: [{ addr: 'https://127.0.0.1:9' }] });
  let r = spawnSync(process.execPath, [CLI, 'validate', missing], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, new RegExp(`${missing}: upstreamTls\\.ca: "/nonexistent/ca.pem" is a CA file that does not exist`));
  const notPem = writeConfig({ upstreamTls: { ca: missing }, servers: [{ addr: 'https://127.0.0.1:9' }] });
  r = spawnSync(process.execPath, [CLI, 'validate', notPem], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /upstreamTls\.ca: ".*" is a CA file with no PEM certificate in it/);
});

test('the admin API shows the CA file, not its certificates', async () => {
  const b = await startBalancer({ upstreamTls: { ca: pki.caFile }, healthCheck: NO_CHECKS, admin: { addr: '127.0.0.1:0' }, servers: [{ addr: 'https://127.0.0.1:9' }] });
  try {
    const r = await get(`${await adminUrl(b)}/api/config`);
    const cfg = JSON.parse(r.body) as { upstreamTls?: Record<string, unknown> };
    assert.equal(cfg.upstreamTls?.caFile, pki.caFile);
    assert.equal(cfg.upstreamTls?.insecureSkipVerify, false);
    assert.ok(!r.body.includes('BEGIN CERTIFICATE'));
  } finally {
    await b.stop();
  }
});

test('reload: a new CA renews the pools at once; a CA file that is gone keeps the old config serving', async () => {
  const be = await httpsBackend(signed);
  const b = await startBalancer({ healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [{ addr: be.url }] });
  const { readFileSync, writeFileSync } = await import('node:fs');
  const rewrite = (tls: unknown): void => {
    const cfg = JSON.parse(readFileSync(b.file, 'utf8')) as Record<string, unknown>;
    writeFileSync(b.file, JSON.stringify(withTestEngine({ ...cfg, upstreamTls: tls })));
  };
  try {
    assert.equal((await get(`${b.url}/`)).status, 502);
    rewrite({ ca: pki.caFile });
    b.proc.kill('SIGUSR2');
    await waitFor(async () => (await get(`${b.url}/`)).status === 200, 'served over a verified connection after the reload');
    rewrite({ ca: `${pki.dir}/gone.pem` });
    b.proc.kill('SIGUSR2');
    await waitFor(() => b.logs.some((l) => /upstreamTls\.ca: .*gone\.pem.{0,2} is a CA file that does not exist/.test(JSON.stringify(l))), 'the bad reload reported');
    assert.equal((await get(`${b.url}/`)).status, 200);
  } finally {
    await b.stop();
    await be.close();
  }
});

test('an https:// address whose server speaks plain HTTP: 502 "TLS handshake failed", health checks say the same', async () => {
  const { createServer: createHttpServer } = await import('node:http');
  const plain = createHttpServer((_req, res) => res.end('plain'));
  await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
  const url = `https://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  const b = await startBalancer({ healthCheckDelay: 0.2, healthCheck: { ...FAST_CHECKS, passive: { maxFails: 0 } }, admin: { addr: '127.0.0.1:0' }, retries: { attempts: 1 }, servers: [{ addr: url }] });
  try {
    await waitFor(async () => (await serversView(b))[0]?.healthy === false, 'server marked down by health checks');
    assert.match(String((await serversView(b))[0]?.reason), /TLS handshake failed: wrong version number/);
  } finally {
    await b.stop();
  }
  const p = await startBalancer({ healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [{ addr: url }] });
  try {
    const r = await get(`${p.url}/`);
    assert.equal(r.status, 502, r.body);
    assert.match(r.body, /TLS handshake failed: wrong version number/);
  } finally {
    await p.stop();
    plain.closeAllConnections();
    plain.close();
  }
});

test('DNS-discovered https servers are verified the same way (servername for certificates issued to a name)', async () => {
  const be = await httpsBackend(named);
  const port = Number(new URL(be.url).port);
  const dns = await Dnsmasq.start({ 'api.service.test': ['127.0.0.1'] });
  const entry = { dns: 'api.service.test', port, scheme: 'https' };
  const discovery = { resolvers: [dns.resolver], refresh: 1 };
  const unverified = await startBalancer({ healthCheck: NO_CHECKS, retries: { attempts: 1 }, servers: [entry], discovery, upstreamTls: { ca: pki.caFile } });
  try {
    await waitFor(async () => (await get(`${unverified.url}/`)).status !== 503, 'the discovered server in rotation');
    const r = await get(`${unverified.url}/`);
    assert.equal(r.status, 502);
    assert.match(r.body, /certificate verify failed: Hostname\/IP does not match/);
  } finally {
    await unverified.stop();
  }
  const b = await startBalancer({ healthCheck: NO_CHECKS, servers: [entry], discovery, upstreamTls: { ca: pki.caFile, servername: 'backend.test' } });
  try {
    await waitFor(async () => (await get(`${b.url}/`)).status === 200, 'served by the discovered server over verified TLS');
    assert.ok(be.sni.includes('backend.test'));
  } finally {
    await b.stop();
    await dns.stop();
    await be.close();
  }
});
