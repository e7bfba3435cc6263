// "workers": 2, black-box: the real CLI, real sockets. Both workers serve; a worker killed with
// SIGKILL is restarted and traffic goes on; /metrics adds up what both workers counted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { adminUrl, CLI, startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { backend, many, metrics, servers, total } from './support.js';

test('two workers both serve, and the admin API and /metrics add up what each counted', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const bp = await startBalancer({ workers: 2, healthCheck: { path: '/health' }, admin: { addr: '127.0.0.1:0' }, servers: [{ addr: a.url }, { addr: b.url }] });
  try {
    const startLine = (): Record<string, unknown> | undefined => bp.logs.find((l) => typeof l.msg === 'string' && l.msg.includes('2 workers serve clients'));
    await waitFor(() => startLine() !== undefined, 'the start-up line saying how many workers serve');
    const start = startLine() as Record<string, unknown>;
    const pids = start.pids as number[];
    assert.equal(new Set(pids).size, 2);
    const replies = await many(bp.url, 40);
    assert.ok(replies.every((r) => r.status === 200), 'every request answered');
    assert.equal(a.served + b.served, 40);
    // Outcomes reach the primary in batches (within ~100 ms): both workers served some.
    await waitFor(async () => (await servers(bp)).workers.reduce((n, w) => n + w.requests, 0) === 40, 'both workers to report 40 requests');
    const view = await servers(bp);
    assert.deepEqual(view.workers.map((w) => w.pid).sort(), [...pids].sort());
    for (const w of view.workers) {
      assert.ok(w.requests > 0, `worker ${w.slot} served some of 40 fresh connections (${JSON.stringify(view.workers)})`);
      assert.equal(w.restarts, 0);
      assert.equal(w.ready, true);
    }
    assert.equal(view.servers.reduce((n, s) => n + s.requests, 0), 40, 'per-server totals (admin API) count both workers');
    // `balancer status` shows them under the table.
    const status = spawnSync(process.execPath, [CLI, 'status', '--admin', await adminUrl(bp)], { encoding: 'utf8' });
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^workers: 2 — 1: pid ${view.workers[0]?.pid} up since .*, 0 restarts, \\d+ requests; 2: pid ${view.workers[1]?.pid} up since .*, 0 restarts, \\d+ requests$`, 'm'));
    const text = await metrics(bp);
    assert.equal(total(text, 'balancer_requests_total'), 40, 'balancer_requests_total sums both workers');
    assert.equal(total(text, 'balancer_request_duration_seconds_count'), 40, 'the duration histograms are merged');
    // Buckets merged too: the +Inf bucket of each server holds all its requests.
    const inf = [...text.matchAll(/^balancer_request_duration_seconds_bucket\{le="\+Inf",server="[^"]+"\} (\d+)$/gm)].map((m) => Number(m[1]));
    assert.equal(inf.reduce((x, y) => x + y, 0), 40);
    // The primary's own metrics are there once (not once per worker).
    assert.equal(total(text, 'balancer_config_reloads_total'), 0);
    assert.match(text, /^balancer_server_up\{server="127\.0\.0\.1:\d+"\} 1$/m);
    assert.equal([...text.matchAll(/^balancer_server_up\{/gm)].length, 2);
  } finally {
    await bp.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('a worker killed with SIGKILL is restarted (logged truthfully) and traffic goes on; counts survive it', async () => {
  const a = await backend('a');
  const bp = await startBalancer({ workers: 2, healthCheck: { path: '/health' }, admin: { addr: '127.0.0.1:0' }, servers: [{ addr: a.url }] });
  try {
    await many(bp.url, 20);
    await waitFor(async () => (await servers(bp)).workers.reduce((n, w) => n + w.requests, 0) === 20, 'reports of 20 requests');
    // A scrape keeps each worker's counts in the primary, so the killed one's stay in the totals.
    assert.equal(total(await metrics(bp), 'balancer_requests_total'), 20);
    const before = (await servers(bp)).workers;
    const victim = before[0];
    assert.ok(victim?.pid !== undefined);
    process.kill(victim.pid, 'SIGKILL');
    await waitFor(
      () => bp.logs.some((l) => l.level === 50 && typeof l.msg === 'string' && l.msg.startsWith(`worker ${victim.slot} (pid ${victim.pid}) was killed by SIGKILL`) && /restarting it in 100 ms \(restart 1\)/.test(l.msg)),
      'the crash to be logged with its restart delay',
    );
    await waitFor(async () => {
      const w = (await servers(bp)).workers.find((x) => x.slot === victim.slot);
      return w !== undefined && w.ready && w.pid !== undefined && w.pid !== victim.pid && w.restarts === 1;
    }, 'the worker to be restarted');
    assert.ok(bp.logs.some((l) => l.msg === `worker ${victim.slot} restarted (pid ${(l as { pid?: number }).pid})`));
    const after = await many(bp.url, 20);
    assert.ok(after.every((r) => r.status === 200), 'traffic goes on after the restart');
    await waitFor(async () => (await servers(bp)).workers.reduce((n, w) => n + w.requests, 0) === 40, 'reports of 40 requests');
    assert.equal(total(await metrics(bp), 'balancer_requests_total'), 40, 'the dead worker\'s counts stay in the totals');
    assert.equal((await servers(bp)).workers.find((x) => x.slot !== victim.slot)?.restarts, 0);
  } finally {
    await bp.stop();
    await a.close();
  }
});
