import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { PROBE_BODY_LIMIT, probe, probeHttp, probeTcp, type ProbeOptions } from '../../../src/control/health/probe.js';
import { parseStatusSpec, type StatusRange } from '../../../src/control/health/status-range.js';
import { freePort, TestServer } from './helpers.js';

const ranges = (spec: string): StatusRange[] => {
  const r = parseStatusSpec(spec);
  assert.ok(typeof r !== 'string');
  return r;
};

const opts = (o: Partial<ProbeOptions> = {}): ProbeOptions => ({
  type: 'http',
  path: '/health',
  timeoutMs: 5000,
  expectStatus: ranges('200-399'),
  expectBody: undefined,
  ...o,
});

const paths: string[] = [];
const app = new TestServer((req, res) => {
  paths.push(req.url ?? '');
  switch (req.url) {
    case '/health':
    case '/some/base/health':
      res.end('status: ok');
      return;
    case '/redirect':
      res.writeHead(302, { location: '/' }).end();
      return;
    case '/fail':
      res.writeHead(500).end('boom');
      return;
    case '/split':
      // The word spans two chunks.
      res.write('all go');
      setTimeout(() => res.end('od here'), 20);
      return;
    case '/big':
      res.end('x'.repeat(PROBE_BODY_LIMIT + 10) + 'needle');
      return;
    case '/hang':
      return; // never answers
    default:
      res.writeHead(404).end();
  }
});
await app.start();
const server = () => new URL(app.url);
after(() => app.stop());

test('passes on an expected status; the path is joined to the server address path, as proxied requests', async () => {
  assert.deepEqual(await probe(new URL(app.url + '/some/base'), opts()), { ok: true });
  assert.equal(paths.at(-1), '/some/base/health');
  assert.deepEqual(await probe(new URL(app.url + '/'), opts()), { ok: true });
  assert.equal(paths.at(-1), '/health');
  assert.deepEqual(await probe(server(), opts({ path: '/redirect' })), { ok: true }, '3xx passes by default');
});

test('fails on an unexpected status with "status N"', async () => {
  assert.deepEqual(await probe(server(), opts({ path: '/fail' })), { ok: false, code: 'E_PROBE_STATUS', reason: 'status 500' });
  assert.deepEqual(await probe(server(), opts({ path: '/redirect', expectStatus: ranges('200') })), {
    ok: false,
    code: 'E_PROBE_STATUS',
    reason: 'status 302',
  });
  assert.deepEqual(await probe(server(), opts({ path: '/fail', expectStatus: ranges('5xx') })), { ok: true });
});

test('body substring: found, found across chunks, missing, beyond the 64 KiB limit', async () => {
  assert.deepEqual(await probe(server(), opts({ expectBody: 'ok' })), { ok: true });
  assert.deepEqual(await probe(server(), opts({ path: '/split', expectBody: 'good' })), { ok: true });
  assert.deepEqual(await probe(server(), opts({ expectBody: 'degraded' })), {
    ok: false,
    code: 'E_PROBE_BODY',
    reason: 'body mismatch: no "degraded"',
  });
  const big = await probe(server(), opts({ path: '/big', expectBody: 'needle' }));
  assert.equal(!big.ok && big.code, 'E_PROBE_BODY');
});

test('a closed port fails with ECONNREFUSED, http and tcp', async () => {
  const dead = new URL(`http://127.0.0.1:${await freePort()}`);
  assert.deepEqual(await probe(dead, opts()), { ok: false, code: 'E_PROBE_CONNECT', reason: 'ECONNREFUSED' });
  assert.deepEqual(await probe(dead, opts({ type: 'tcp' })), { ok: false, code: 'E_PROBE_CONNECT', reason: 'ECONNREFUSED' });
});

test('a hanging server fails with "timeout after N ms"', async () => {
  const r = await probeHttp(server(), opts({ path: '/hang', timeoutMs: 200 }));
  assert.deepEqual(r, { ok: false, code: 'E_PROBE_TIMEOUT', reason: 'timeout after 200 ms' });
});

test('tcp probe passes once the port accepts', async () => {
  assert.deepEqual(await probeTcp(server(), { timeoutMs: 5000 }), { ok: true });
});

test('something that does not speak HTTP fails as a protocol error', async () => {
  const raw = net.createServer((s) => s.resume().end('SSH-2.0-OpenSSH\r\n\r\n')); // resume: a paused socket never sees the client's FIN
  await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', () => resolve()));
  try {
    const r = await probe(new URL(`http://127.0.0.1:${(raw.address() as AddressInfo).port}`), opts());
    assert.equal(r.ok, false);
    assert.equal(!r.ok && r.code, 'E_PROBE_PROTOCOL', JSON.stringify(r));
  } finally {
    await new Promise<void>((resolve) => raw.close(() => resolve()));
  }
});

test('an abort signal cancels a running probe', async () => {
  const ac = new AbortController();
  const p = probe(server(), opts({ path: '/hang', timeoutMs: 60_000 }), ac.signal);
  ac.abort();
  assert.deepEqual(await p, { ok: false, code: 'E_PROBE_ABORTED', reason: 'aborted' });
  assert.deepEqual(await probe(server(), opts(), ac.signal), { ok: false, code: 'E_PROBE_ABORTED', reason: 'aborted' });
});
