// "workers": 2, black-box: SIGTERM reaches every worker, which finishes its in-flight request
// before exiting; the primary exits 0 once all are done. SIGUSR1 reaches them too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startBalancer } from '../helpers/cluster.js';
import { alive } from '../helpers/alive.js';
import { waitFor } from '../helpers/wait.js';
import { backend, once, servers } from './support.js';

test('SIGTERM: every worker finishes its in-flight slow request, then all exit and the primary exits 0', async () => {
  const a = await backend('a', 1500);
  const bp = await startBalancer({ workers: 2, healthCheck: { path: '/health' }, admin: { addr: '127.0.0.1:0' }, servers: [{ addr: a.url }] });
  try {
    await waitFor(async () => (await servers(bp)).workers.every((w) => w.ready), 'both workers to listen');
    const pids = (await servers(bp)).workers.map((w) => w.pid as number);
    // Enough slow requests on their own connections that both workers hold some.
    const slow = Array.from({ length: 16 }, () => once(`${bp.url}/slow`));
    await waitFor(async () => (await servers(bp)).servers[0]?.inflight === 16, 'the workers to report 16 requests in flight');
    const held = (await servers(bp)).workers.map((w) => w.inflight);
    assert.ok(held.every((n) => n > 0), `both workers hold some (${held.join(', ')})`);
    const code = bp.stop('SIGTERM');
    const replies = await Promise.all(slow);
    assert.deepEqual(replies.map((r) => r.status), Array(16).fill(200), 'every in-flight request finished with its answer');
    assert.equal(await code, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `worker ${pid} exited`);
    assert.equal(bp.logs.filter((l) => typeof l.msg === 'string' && /^worker \d \(pid \d+\) stopped$/.test(l.msg)).length, 2);
    assert.equal(bp.logs.at(-1)?.msg, 'stopped');
  } finally {
    await bp.stop('SIGKILL');
    await a.close();
  }
});

test('SIGUSR1 reaches every worker (access log reopened in each)', async () => {
  const a = await backend('a');
  const bp = await startBalancer({ workers: 2, healthCheck: { path: '/health' }, accessLog: { format: 'json', path: `${process.env.TMPDIR ?? '/tmp'}/balancer-workers-${process.pid}.log` }, servers: [{ addr: a.url }] });
  try {
    // Signal handlers are in place once the line telling how to stop is out.
    await waitFor(() => bp.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('SIGTERM stops')), 'the start-up lines');
    bp.proc.kill('SIGUSR1');
    await waitFor(() => bp.logs.some((l) => typeof l.msg === 'string' && /^SIGUSR1: access log reopened: .* \(2 workers\)$/.test(l.msg)), 'the reopen in both workers');
    assert.equal((await once(bp.url)).status, 200);
  } finally {
    await bp.stop();
    await a.close();
  }
});
