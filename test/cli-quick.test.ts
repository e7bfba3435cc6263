import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { backends, CLI, closeAll, get, servedBy, startBalancer, writeConfig } from './helpers/cluster.js';
import { freePort } from './helpers/ports.js';

const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 20_000 });

test('balancer --from --to runs without a config file and balances over the --to servers', async () => {
  const servers = await backends(2);
  const started = startBalancer(null, ['--from', '127.0.0.1:0', ...servers.flatMap((s) => ['--to', s.url]), '--algorithm', 'least-connections']);
  const b = await started.catch(async (e: unknown) => {
    await closeAll(servers);
    throw e;
  });
  try {
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) {
      const r = await get(`${b.url}/`);
      assert.equal(r.status, 200);
      seen.add(servedBy(r));
    }
    assert.deepEqual([...seen].sort(), servers.map((s) => s.name).sort());
    const line = b.logs.find((l) => String(l.msg).includes(' listening on '));
    assert.equal(line?.algorithm, 'least-connections');
  } finally {
    await b.stop();
    await closeAll(servers);
  }
});

test('--from/--to flags are validated as a config file would be, and problems name the flag (exit 2)', () => {
  const bad = run(['--from', ':99999', '--to', 'http://localhost:9000', '--to', 'localhost:9001', '--algorithm', 'fastest']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^command line: --from: ":99999" has a port out of range/m);
  assert.match(bad.stderr, /^command line: --to \(#2\): "localhost:9001" is not an http:\/\/ or https:\/\/ URL$/m);
  assert.match(bad.stderr, /^command line: --algorithm: "fastest" is not a known algorithm/m);
  const noTo = run(['--from', ':8000']);
  assert.equal(noTo.status, 2);
  assert.match(noTo.stderr, /need at least one --to URL/);
  const both = run(['--config', 'x.json', '--to', 'http://localhost:9000']);
  assert.equal(both.status, 2);
});

test('--print-config prints the equivalent config file, which validates and has the same defaults', () => {
  const r = run(['--to', 'http://localhost:9000', '--to', 'http://localhost:9001', '--algorithm', 'least-connections', '--print-config']);
  assert.equal(r.status, 0, r.stderr);
  const file: unknown = JSON.parse(r.stdout);
  assert.deepEqual(file, { addr: ':8000', algorithm: 'least-connections', servers: [{ addr: 'http://localhost:9000' }, { addr: 'http://localhost:9001' }] });
  const path = writeConfig(file);
  assert.equal(run(['validate', path]).status, 0);
  const c = parseConfig(r.stdout, 'printed.json');
  assert.equal(c.healthCheckIntervalMs, 10_000);
  assert.equal(c.retries.attempts, parseConfig('{"servers":[{"addr":"http://a:1"}]}', 'x').retries.attempts);
});

test('--to works with --with-test-servers', async () => {
  const port = await freePort();
  const b = await startBalancer(null, ['--from', '127.0.0.1:0', '--to', `http://127.0.0.1:${port}`, '--with-test-servers']);
  try {
    const r = await get(`${b.url}/`);
    assert.equal(r.status, 200);
    assert.equal(servedBy(r), 'server-1');
  } finally {
    await b.stop();
  }
});
