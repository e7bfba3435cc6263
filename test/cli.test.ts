import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { CLI, startBalancer, writeConfig } from './helpers/cluster.js';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

test('the bin runs by itself (shebang, executable bit), as npx balancer runs it', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string; bin: Record<string, string> };
  assert.equal(new URL(`../../${pkg.bin.balancer}`, import.meta.url).pathname, CLI);
  const r = spawnSync(CLI, ['--version'], { encoding: 'utf8' });
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), pkg.version);
});

test('--help lists every command', () => {
  const r = run(['--help']);
  assert.equal(r.status, 0);
  for (const c of ['start', 'validate', 'reload', 'notify-test', 'test-servers']) assert.match(r.stdout, new RegExp(`\\b${c}\\b`));
});

test('bad usage exits 2: unknown option, missing argument, bad option value', () => {
  for (const args of [['--frobnicate'], ['start', '--config'], ['validate'], ['test-servers', '--count', 'x'], ['start', 'extra']]) {
    const r = run(args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^error: /, args.join(' '));
  }
});

test('an unknown command is called one, with a suggestion when close, and exits 2', () => {
  const r = run(['frobnicate']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: unknown command 'frobnicate'\n/);
  assert.doesNotMatch(r.stderr, /too many arguments/);
  const typo = run(['valdate', 'x.json']);
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown command 'valdate' \(did you mean 'validate'\?\)/);
});

test('test-servers --failure-rate outside 0..1 is refused with exit 2', () => {
  const r = run(['test-servers', '--failure-rate', '0.5,2', '--port', '0']);
  assert.equal(r.status, 2, r.stderr);
  assert.match(r.stderr, /"2" is not a share from 0 to 1/);
});

test('--with-test-servers on a taken port says which port in one line and exits 1', async () => {
  const taken = createNetServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const { port } = taken.address() as AddressInfo;
  try {
    const file = writeConfig({ addr: '127.0.0.1:0', servers: [{ addr: `http://127.0.0.1:${port}` }] });
    const proc = spawn(process.execPath, [CLI, 'start', '--config', file, '--with-test-servers'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const status = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.equal(status, 1, stderr);
    assert.equal(stderr, `balancer: --with-test-servers: cannot start a test server for http://127.0.0.1:${port} on port ${port}: the port is taken (EADDRINUSE)\n`);
  } finally {
    taken.close();
  }
});

test('notify-test prints each result once', async () => {
  let received = 0;
  const hook = createServer((req, res) => {
    received++;
    req.resume();
    res.end('ok');
  });
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve));
  const { port } = hook.address() as AddressInfo;
  try {
    const file = writeConfig({ servers: [{ addr: 'http://localhost:9000' }], notifications: [{ type: 'webhook', name: 'ops-hook', url: `http://127.0.0.1:${port}/h` }] });
    const proc = spawn(process.execPath, [CLI, 'notify-test', '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    proc.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const status = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    assert.equal(status, 0, stdout);
    assert.equal(received, 1);
    assert.equal(stdout.split('ops-hook').length - 1, 1, stdout);
    assert.match(stdout, /^ok {4}ops-hook \(webhook http:\/\/127\.0\.0\.1:\d+\)\n$/);
  } finally {
    hook.close();
  }
});

test('weights under an algorithm that ignores them start with a warning naming the algorithms that use them', async () => {
  const servers = [
    { addr: 'http://127.0.0.1:1', weight: 3 },
    { addr: 'http://127.0.0.1:2', weight: 1 },
  ];
  const warned = (logs: readonly Record<string, unknown>[]) => logs.filter((l) => l.level === 40 && String(l.msg).includes('weights are set'));
  const healthCheck = { enabled: false };
  const rr = await startBalancer({ algorithm: 'round-robin', servers, healthCheck });
  const lc = await startBalancer({ algorithm: 'leastconn', servers, healthCheck });
  const wrr = await startBalancer({ algorithm: 'weighted-round-robin', servers, healthCheck });
  try {
    assert.match(String(warned(rr.logs)[0]?.msg), /servers\[\]\.weight: weights are set \(3, 1\) but round-robin ignores them; algorithms that use weights: weighted-round-robin, weighted-least-connections, /);
    assert.match(String(warned(lc.logs)[0]?.msg), /but least-connections ignores them; algorithms that use weights: weighted-least-connections, /);
    assert.equal(warned(wrr.logs).length, 0);
  } finally {
    await Promise.all([rr.stop(), lc.stop(), wrr.stop()]);
  }
  const file = writeConfig({ algorithm: 'first', servers });
  const v = run(['validate', file]);
  assert.equal(v.status, 0);
  assert.match(v.stderr, /^warning: .*: servers\[\]\.weight: weights are set \(3, 1\) but first ignores them/);
});
