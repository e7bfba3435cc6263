// Black-box: the admin API and its CLI on the real balancer (the real CLI as a process, real
// backends): live operations under load, every refusal, the start-up refusal, reload, redaction.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { WebhookBody } from '../../src/control/notify/payload.js';
import { backends, CLI, closeAll, get, startBalancer, writeConfig, adminUrl } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { startReceiver } from '../control/notify/helpers.js';
import { rawExchange as raw } from '../helpers/raw-client.js';

const TOKEN = 'live-admin-token-7f3a';
const auth = { authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface ServerJson {
  name: string;
  state: string;
  healthy: boolean;
  inflight: number;
  requests: number;
}

/** The admin URL from the balancer's start-up log. */
async function servers(admin: string): Promise<ServerJson[]> {
  const r = await get(`${admin}/api/servers`, { headers: auth });
  assert.equal(r.status, 200, r.body);
  return (JSON.parse(r.body) as { servers: ServerJson[] }).servers;
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
    );
  });
}

/** Counts the requests the balancer forwards to a test server (they carry X-Forwarded-For; health probes do not). */
function forwarded(server: { server: import('node:http').Server }): () => number {
  let n = 0;
  server.server.on('request', (req: import('node:http').IncomingMessage) => {
    if (req.headers['x-forwarded-for'] !== undefined) n++;
  });
  return () => n;
}

test('drain under load: no new requests from the moment drain returns, the slow one in flight finishes, a reload keeps it drained, enable brings it back', async () => {
  const [a, b] = await backends(2);
  assert.ok(a !== undefined && b !== undefined);
  const config = {
    algorithm: 'round-robin',
    healthCheckDelay: 0.25,
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    servers: [
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
    ],
  };
  const atA = forwarded(a);
  const atB = forwarded(b);
  const bp = await startBalancer(config);
  let running = true;
  try {
    const admin = await adminUrl(bp);
    // Two slow requests: round-robin puts one on each server.
    // Long enough that the drain command (a CLI process, slow to start on a busy machine) answers while they run.
    const slow = [get(`${bp.url}/slow?ms=5000`), get(`${bp.url}/slow?ms=5000`)];
    await waitFor(() => atA() > 0 && atB() > 0, 'a slow request on each server');
    const failed: string[] = [];
    const load = (async () => {
      while (running) {
        const r = await get(`${bp.url}/`).catch((e: unknown) => ({ status: 0, body: String(e) }));
        if (r.status !== 200) failed.push(`${r.status} ${r.body}`);
        await sleep(5);
      }
    })();
    await sleep(200);
    const drained = await cli(['drain', 'a', '--admin', admin, '--token', TOKEN]);
    assert.equal(drained.code, 0, drained.stderr);
    // The slow request, and maybe a quick one of the load that was in flight at that moment.
    assert.match(drained.stdout, /^a \(http:\/\/127\.0\.0\.1:\d+\) is draining: no new requests; [12] requests? in flight/);
    const atDrain = atA();
    const bBefore = atB();
    await sleep(500);
    assert.equal(atA(), atDrain, 'no new request reached the drained server');
    assert.ok(atB() > bBefore + 10, 'the load went on, to b');
    const s = (await servers(admin)).find((x) => x.name === 'a');
    assert.equal(s?.state, 'draining');
    assert.equal(s?.healthy, true, 'still health-checked');
    const [slowA, slowB] = await Promise.all(slow);
    assert.equal(slowA?.status, 200);
    assert.equal(slowB?.status, 200);
    await waitFor(async () => (await servers(admin)).find((x) => x.name === 'a')?.inflight === 0, 'in flight at a falls to 0');
    const status = await cli(['status', '--admin', admin, '--token', TOKEN]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /^a\s+127\.0\.0\.1:\d+\s+draining\s+0\s/m);
    // A reload keeps the operator state.
    writeFileSync(bp.file, JSON.stringify({ addr: '127.0.0.1:0', ...config }));
    const reload = await cli(['reload', '--admin', admin, '--token', TOKEN]);
    assert.equal(reload.code, 0, reload.stderr);
    await sleep(300);
    assert.equal(atA(), atDrain, 'still drained after the reload');
    assert.equal((await servers(admin)).find((x) => x.name === 'a')?.state, 'draining');
    const enabled = await cli(['enable', 'a', '--admin', admin, '--token', TOKEN]);
    assert.equal(enabled.code, 0, enabled.stderr);
    await waitFor(() => atA() > atDrain, 'a back in rotation');
    running = false;
    await load;
    assert.deepEqual(failed, []);
  } finally {
    running = false; // a failed assertion must not leave the load loop running
    await bp.stop();
    await closeAll([a, b]);
  }
});

test('disable: no server-down alert when the disabled server is then stopped', async () => {
  const hook = await startReceiver();
  const [a, b] = await backends(2);
  assert.ok(a !== undefined && b !== undefined);
  const bp = await startBalancer({
    healthCheckDelay: 0.2,
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    admin: { addr: '127.0.0.1:0', token: TOKEN },
    notifications: [{ type: 'webhook', url: `${hook.url}/hook`, flapping: { enabled: false } }],
    servers: [
      { addr: a.url, name: 'a' },
      { addr: b.url, name: 'b' },
    ],
  });
  try {
    const admin = await adminUrl(bp);
    const r = await get(`${admin}/api/servers/b/disable`, { method: 'POST', headers: auth });
    assert.equal(r.status, 200, r.body);
    assert.equal((JSON.parse(r.body) as ServerJson).state, 'disabled');
    await b.close();
    await waitFor(async () => (await servers(admin)).find((x) => x.name === 'b')?.healthy === false, 'the checks see b down');
    await sleep(500);
    const alerts = hook.requests.map((x) => JSON.parse(x.body) as WebhookBody).filter((x) => x.event === 'server-down');
    assert.deepEqual(alerts, [], 'no down alert for a disabled server');
    assert.equal((await servers(admin)).find((x) => x.name === 'b')?.state, 'disabled');
  } finally {
    await bp.stop();
    await closeAll([a]);
    await hook.close();
  }
});

test('every refusal on the real balancer: no token, wrong token, cross-site Origin, foreign Host, read-only without a token', async () => {
  const [a] = await backends(1);
  assert.ok(a !== undefined);
  const bp = await startBalancer({ admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: [{ addr: a.url, name: 'a' }] });
  const ro = await startBalancer({ admin: { addr: '127.0.0.1:0' }, servers: [{ addr: a.url, name: 'a' }] });
  try {
    const admin = await adminUrl(bp);
    const port = new URL(admin).port;
    const cases: [string, Promise<{ status: number; body: string }>, number, string][] = [
      ['no token', get(`${admin}/api/servers`), 401, 'E_ADMIN_UNAUTHORIZED'],
      ['wrong token', get(`${admin}/api/servers/a/drain`, { method: 'POST', headers: { authorization: 'Bearer nope' } }), 401, 'E_ADMIN_UNAUTHORIZED'],
      ['cross-site Origin', get(`${admin}/api/servers/a/drain`, { method: 'POST', headers: { ...auth, origin: 'https://evil.example' } }), 403, 'E_ADMIN_FORBIDDEN_ORIGIN'],
      ['Sec-Fetch-Site', get(`${admin}/api/servers`, { headers: { ...auth, 'sec-fetch-site': 'cross-site' } }), 403, 'E_ADMIN_FORBIDDEN_ORIGIN'],
    ];
    for (const [what, p, status, code] of cases) {
      const r = await p;
      assert.equal(r.status, status, what);
      assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, code, what);
    }
    const host = await raw(admin, `GET /api/servers HTTP/1.1\r\nHost: rebind.attacker.test:${port}\r\nAuthorization: Bearer ${TOKEN}\r\nConnection: close\r\n\r\n`);
    assert.match(host, /^HTTP\/1\.1 403 [\s\S]*E_ADMIN_BAD_HOST/);
    const roAdmin = await adminUrl(ro);
    const w = await get(`${roAdmin}/api/servers/a/drain`, { method: 'POST' });
    assert.equal(w.status, 403);
    assert.match(w.body, /E_ADMIN_READ_ONLY/);
    assert.equal((await get(`${roAdmin}/api/servers`)).status, 200, 'reads work without a token');
    assert.equal((await get(`${bp.url}/`)).status, 200, 'the proxy never stopped serving');
    await waitFor(() => bp.logs.some((l) => l.code === 'E_ADMIN_BAD_HOST' && l.level === 40), 'the refusal logged as a warning');
    assert.ok(!JSON.stringify(bp.logs).includes(TOKEN), 'the token is never logged');
  } finally {
    await bp.stop();
    await ro.stop();
    await closeAll([a]);
  }
});

test('the balancer refuses to start with an admin address beyond loopback and no token (exit 2)', () => {
  const file = writeConfig({ addr: '127.0.0.1:0', admin: { addr: '0.0.0.0:0' }, servers: [{ addr: 'http://127.0.0.1:9' }] });
  const r = spawnSync(process.execPath, [CLI, 'start', '--config', file], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /admin\.addr: "0\.0\.0\.0:0" is not a loopback address, and admin\.token is not set/);
});

test('POST /api/reload: 400 with every problem and the old config serving; then 200 with the changes; /api/config redacted', async () => {
  const [a, b] = await backends(2);
  assert.ok(a !== undefined && b !== undefined);
  const config = { admin: { addr: '127.0.0.1:0', token: TOKEN }, servers: [{ addr: a.url, name: 'a' }] };
  const bp = await startBalancer(config);
  try {
    const admin = await adminUrl(bp);
    writeFileSync(bp.file, JSON.stringify({ ...config, algorithm: 'fastest', servers: [{ addr: 'localhost:1' }] }));
    const bad = await get(`${admin}/api/reload`, { method: 'POST', headers: auth });
    assert.equal(bad.status, 400);
    const err = (JSON.parse(bad.body) as { error: { code: string; problems: string[] } }).error;
    assert.equal(err.code, 'E_ADMIN_RELOAD_INVALID');
    assert.equal(err.problems.length, 2, err.problems.join('\n'));
    assert.equal((await get(`${bp.url}/`)).status, 200, 'the old config still serves');
    writeFileSync(bp.file, JSON.stringify({ addr: '127.0.0.1:0', ...config, servers: [...config.servers, { addr: b.url, name: 'b' }] }));
    const ok = await get(`${admin}/api/reload`, { method: 'POST', headers: auth });
    assert.equal(ok.status, 200, ok.body);
    assert.ok((JSON.parse(ok.body) as { changes: string[] }).changes.length > 0);
    assert.deepEqual((await servers(admin)).map((s) => s.name), ['a', 'b']);
    const cfg = await get(`${admin}/api/config`, { headers: auth });
    assert.equal(cfg.status, 200);
    assert.ok(!cfg.body.includes(TOKEN));
    assert.match(cfg.body, /"token": "\[redacted\]"/);
    assert.equal((await get(`${admin}/healthz`)).status, 200);
    assert.equal((await get(`${admin}/readyz`)).status, 200);
  } finally {
    await bp.stop();
    await closeAll([a, b]);
  }
});
