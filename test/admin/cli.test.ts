// The admin CLI commands as a user runs them: the real CLI as a child process against an admin
// server on a real socket (its control plane an in-memory double).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { startAdminServer, type AdminServer } from '../../src/admin/server.js';
import { adminBaseUrl, urlForListenAddress } from '../../src/cli/admin-client.js';
import { formatStatusTable } from '../../src/cli/status.js';
import { CLI, writeConfig } from '../helpers/cluster.js';
import { recordingLogger } from '../helpers/logger.js';
import { FakeControl, view } from './fake-control.js';

const TOKEN = 'cli-token-42';
const control = new FakeControl([
  view('web-1', 'http://127.0.0.1:9001', { requests: 1520, failures: 3, inflight: 2 }),
  view('web-2', 'http://127.0.0.1:9002', { state: 'down', healthy: false, reason: 'connection refused', requests: 40, failures: 40, effectiveWeight: 0 }),
  view('web-3', 'http://127.0.0.1:9003', { state: 'draining', inflight: 1, requests: 700, weight: 2, effectiveWeight: 0, backup: true }),
]);
let admin: AdminServer;

before(async () => {
  admin = await startAdminServer({ addr: '127.0.0.1:0', token: TOKEN, control, log: recordingLogger() });
});
after(() => admin.close());

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (the admin server answers from here). */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const e = { ...process.env, ...env };
    if (!('BALANCER_ADMIN_TOKEN' in env)) delete e.BALANCER_ADMIN_TOKEN;
    execFile(process.execPath, [CLI, ...args], { env: e, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr });
    });
  });
}

test('balancer status prints an aligned table of the servers; all but the reason within 64 columns', async () => {
  const r = await cli(['status', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^NAME\s+ADDRESS\s+STATE\s+ACTIVE\s+REQS\s+FAILS\s+WEIGHT\s+REASON$/);
  assert.match(lines[1] ?? '', /^web-1\s+127\.0\.0\.1:9001\s+up\s+2\s+1,520\s+3\s+1$/);
  assert.match(lines[2] ?? '', /^web-2\s+127\.0\.0\.1:9002\s+down\s+0\s+40\s+40\s+0\/1\s+connection refused$/);
  assert.match(lines[3] ?? '', /^web-3\s+127\.0\.0\.1:9003\s+draining\s+1\s+700\s+0\s+0\/2$/);
  assert.equal(lines[4], 'backup (used only while no other server is up): web-3');
  // Aligned: every column starts where its header starts.
  const col = (line: string, word: string): number => line.indexOf(word);
  assert.equal(col(lines[1] ?? '', '127.0.0.1'), col(lines[0] ?? '', 'ADDRESS'));
  assert.equal(col(lines[2] ?? '', 'connection'), col(lines[0] ?? '', 'REASON'));
  // Short names and loopback addresses leave 16 of 80 columns for the reason (cut to fit in a terminal).
  assert.ok(col(lines[0] ?? '', 'REASON') <= 64, lines[0]);
});

test('formatStatusTable: in a narrow terminal the reason is cut, one line per server', () => {
  const out = formatStatusTable([view('a', 'http://127.0.0.2:80', { state: 'down', healthy: false, reason: 'x'.repeat(200) })], [], 80);
  for (const l of out.trimEnd().split('\n')) assert.ok(l.length <= 80, l);
  assert.match(out, /x…$/m);
});

test('balancer status --json prints the admin API answer', async () => {
  const r = await cli(['status', '--json', '--admin', admin.url], { BALANCER_ADMIN_TOKEN: TOKEN });
  assert.equal(r.code, 0, r.stderr);
  const body = JSON.parse(r.stdout) as { servers: { name: string }[] };
  assert.deepEqual(body.servers.map((s) => s.name), ['web-1', 'web-2', 'web-3']);
});

test('balancer status finds the admin API and token from the config file', async () => {
  const port = new URL(admin.url).port;
  const file = writeConfig({ servers: [{ addr: 'http://127.0.0.1:9001' }], admin: { addr: `127.0.0.1:${port}`, token: '${MY_ADMIN_TOKEN}' } });
  const r = await cli(['status', '--config', file], { MY_ADMIN_TOKEN: TOKEN });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^web-1 /m);
  // The token variable unset: refused in one line that says what to do.
  const no = await cli(['status', '--config', file]);
  assert.equal(no.code, 1);
  assert.equal(no.stderr.trimEnd().split('\n').length, 1, no.stderr);
  assert.match(no.stderr, /^balancer: admin API refused GET \/api\/servers: .*E_ADMIN_UNAUTHORIZED.*give --token or set BALANCER_ADMIN_TOKEN/);
});

test('balancer drain NAME drains it and says how many requests are in flight', async () => {
  const r = await cli(['drain', 'web-1', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^web-1 \(http:\/\/127\.0\.0\.1:9001\) is draining: no new requests; 2 requests in flight/);
  assert.equal(control.calls.at(-1), 'drain web-1');
  const e = await cli(['enable', 'web-1', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(e.code, 0, e.stderr);
  assert.equal(control.calls.at(-1), 'enable web-1');
  const d = await cli(['disable', 'web-2', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(d.code, 0, d.stderr);
  assert.match(d.stdout, /web-2 .* is disabled/);
});

test('balancer weight NAME N sets it; a bad weight is a usage error before any call', async () => {
  const r = await cli(['weight', 'web-2', '3', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /web-2 .* has weight 3/);
  assert.equal(control.calls.at(-1), 'weight web-2 3');
  const calls = control.calls.length;
  const bad = await cli(['weight', 'web-2', '0', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"0" is not a positive number/);
  assert.equal(control.calls.length, calls);
});

test('an unknown server: one line naming the known ones, exit 1', async () => {
  const r = await cli(['drain', 'web-9', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /no server named "web-9" \(known: web-1, web-2, web-3\) \(E_ADMIN_UNKNOWN_SERVER\)/);
});

test('a wrong token: one line, exit 1, the token not echoed', async () => {
  const r = await cli(['drain', 'web-1', '--admin', admin.url, '--token', 'wrong-token-x']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /wrong token.*E_ADMIN_UNAUTHORIZED/);
  assert.ok(!r.stderr.includes(TOKEN));
});

test('an unreachable admin API: one line, exit 1', async () => {
  // A port that was free a moment ago: nothing listens there.
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  for (const args of [['status'], ['drain', 'web-1'], ['reload']]) {
    const r = await cli([...args, '--admin', `http://127.0.0.1:${port}`, '--token', TOKEN]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^balancer: cannot reach the admin API at http://127\\.0\\.0\\.1:${port}: connection refused`));
  }
});

test('no admin API in the config: one line saying how to turn it on', async () => {
  const file = writeConfig({ servers: [{ addr: 'http://127.0.0.1:9001' }] });
  const r = await cli(['status', '--config', file]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /has no admin listener/);
  const reload = await cli(['reload', '--config', file]);
  assert.equal(reload.code, 2);
  assert.match(reload.stderr, /reload needs an admin API .* or one of --pid-file FILE or --pid N/);
});

test('balancer reload through the admin API prints the changes, or every problem and exit 2', async () => {
  control.nextReload = { ok: true, changes: ['servers: added web-4 (http://127.0.0.1:9004)', 'algorithm: round-robin → least-connections'], kept: [] };
  const r = await cli(['reload', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'reloaded:\n  servers: added web-4 (http://127.0.0.1:9004)\n  algorithm: round-robin → least-connections\n');
  control.nextReload = { ok: false, problems: ['b.json: servers[0].addr: "x" is not an http:// or https:// URL', 'b.json: algorithm: "rr" is not a known algorithm'] };
  const bad = await cli(['reload', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /servers\[0\]\.addr/);
  assert.match(bad.stderr, /algorithm: "rr"/);
  assert.match(bad.stderr, /balancer: reload refused: the config has 2 problems; the old config still serves/);
  control.nextReload = { ok: true, changes: [], kept: [] };
  const none = await cli(['reload', '--admin', admin.url, '--token', TOKEN]);
  assert.equal(none.stdout, 'reloaded: no changes\n');
  assert.equal(
    (await cli(['reload', '--admin', admin.url, '--pid', '1'])).code,
    2,
    '--admin and --pid do not mix',
  );
});

test('formatStatusTable: sources that are failing are shown under the table', () => {
  const out = formatStatusTable([view('a', 'http://127.0.0.2:80')], [
    { id: 'config', ok: true, error: undefined, since: 0, servers: 1 },
    { id: 'dns:api.service.test', ok: false, error: 'SERVFAIL', since: Date.parse('2026-11-25T12:00:00Z'), servers: 2 },
  ]);
  assert.match(out, /^source dns:api\.service\.test: failing since 2026-11-25 12:00:00Z: SERVFAIL \(keeping its last 2 servers\)$/m);
  assert.ok(!out.includes('source config'));
});

test('the CLI reaches an admin listen address from this machine; --admin takes a URL or host:port', () => {
  assert.equal(urlForListenAddress('127.0.0.1:9901'), 'http://127.0.0.1:9901');
  assert.equal(urlForListenAddress(':9901'), 'http://127.0.0.1:9901');
  assert.equal(urlForListenAddress('0.0.0.0:9901'), 'http://127.0.0.1:9901');
  assert.equal(urlForListenAddress('[::]:9901'), 'http://[::1]:9901');
  assert.equal(urlForListenAddress('[::1]:9901'), 'http://[::1]:9901');
  assert.equal(urlForListenAddress('127.0.0.1:0'), undefined, 'port 0 names no port to reach');
  assert.equal(adminBaseUrl('127.0.0.1:9901'), 'http://127.0.0.1:9901');
  assert.equal(adminBaseUrl('http://localhost:9901/'), 'http://localhost:9901');
  assert.equal(adminBaseUrl('https://admin.example:9901'), undefined, 'the admin API is plain http');
  assert.equal(adminBaseUrl('http://x:9901/?a=1'), undefined);
});
