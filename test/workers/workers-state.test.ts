// "workers": 2, black-box: what the primary decides reaches every worker. A server health checks
// take down gets no traffic from any worker; a reload changes every worker; ip-hash agrees.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { adminUrl, startBalancer } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';
import { backend, many, servers } from './support.js';

// Requests each worker reported so far, by slot.
async function perWorker(bp: Parameters<typeof servers>[0], token?: string): Promise<number[]> {
  return (await servers(bp, token)).workers.map((w) => w.requests);
}

// Waits until the workers' reports add up to `n`; returns each worker's share of the requests since `before`.
async function shares(bp: Parameters<typeof servers>[0], before: number[], n: number, token?: string): Promise<number[]> {
  const sum = before.reduce((x, y) => x + y, 0) + n;
  await waitFor(async () => (await perWorker(bp, token)).reduce((x, y) => x + y, 0) === sum, `reports of ${n} more requests`);
  return (await perWorker(bp, token)).map((r, i) => r - (before[i] ?? 0));
}

test('a server health checks (in the primary) take down gets no traffic from any worker, and gets it back when it recovers', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const bp = await startBalancer({
    workers: 2,
    healthCheckDelay: 0.2,
    healthCheck: { path: '/health', fall: 1, rise: 1, timeout: 0.5, jitter: 0, slowStart: 0 },
    admin: { addr: '127.0.0.1:0' },
    servers: [{ addr: a.url, name: 'a' }, { addr: b.url, name: 'b' }],
  });
  try {
    b.healthy = false;
    await waitFor(async () => (await servers(bp)).servers.find((s) => s.name === 'b')?.state === 'down', 'b to be marked down');
    const before = await perWorker(bp);
    const servedBefore = b.served;
    const replies = await many(bp.url, 40);
    // b still answers requests: had any worker sent it one, it would show here.
    assert.deepEqual(new Set(replies.map((r) => r.server)), new Set(['a']));
    assert.equal(b.served, servedBefore);
    const s = await shares(bp, before, 40);
    assert.ok(s.every((n) => n > 0), `both workers served while b was down (${s.join(', ')})`);
    b.healthy = true;
    await waitFor(async () => (await servers(bp)).servers.find((x) => x.name === 'b')?.state === 'up', 'b to be up again');
    const back = await many(bp.url, 40);
    assert.ok(back.some((r) => r.server === 'b'), 'b takes traffic again');
  } finally {
    await bp.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('an operator drain (admin API, in the primary) reaches every worker; enable brings the server back', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const bp = await startBalancer({
    workers: 2,
    healthCheck: { path: '/health', slowStart: 0 },
    admin: { addr: '127.0.0.1:0', token: 'sesame' },
    servers: [{ addr: a.url, name: 'a' }, { addr: b.url, name: 'b' }],
  });
  const act = async (what: string): Promise<number> =>
    (await fetch(`${await adminUrl(bp)}/api/servers/b/${what}`, { method: 'POST', headers: { authorization: 'Bearer sesame' } })).status;
  try {
    assert.equal(await act('drain'), 200);
    const before = await perWorker(bp, 'sesame');
    const servedBefore = b.served;
    const replies = await many(bp.url, 40);
    assert.ok(replies.every((r) => r.server === 'a'), 'no worker sends new requests to the drained server');
    assert.equal(b.served, servedBefore);
    const s = await shares(bp, before, 40, 'sesame');
    assert.ok(s.every((n) => n > 0), `both workers served while b was drained (${s.join(', ')})`);
    assert.equal(await act('enable'), 200);
    await waitFor(async () => (await many(bp.url, 8)).some((r) => r.server === 'b'), 'b to take requests again');
  } finally {
    await bp.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('passive health: the primary ejects a failing server once, from the workers\' reports, and then no worker sends to it', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const bp = await startBalancer({
    workers: 2,
    healthCheck: { path: '/health', passive: { maxFails: 6, failWindow: 60, baseEjection: 60 } },
    admin: { addr: '127.0.0.1:0' },
    servers: [{ addr: a.url, name: 'a' }, { addr: b.url, name: 'b' }],
  });
  try {
    b.status = 502;
    // Round-robin in each worker: about half of the requests reach b, from both workers, until it is ejected.
    for (let i = 0; i < 10 && (await servers(bp)).servers.find((s) => s.name === 'b')?.state !== 'down'; i++) await many(bp.url, 8);
    await waitFor(async () => (await servers(bp)).servers.find((s) => s.name === 'b')?.state === 'down', 'b to be ejected');
    const text = await (await fetch(`${String(bp.logs.find((l) => typeof l.admin === 'string')?.admin)}/metrics`)).text();
    assert.match(text, /^balancer_server_ejections_total\{server="b"\} 1$/m, 'ejected once, by the primary');
    assert.equal(bp.logs.filter((l) => typeof l.msg === 'string' && l.msg.includes(' down: ejected ')).length, 1);
    const before = b.served;
    const replies = await many(bp.url, 24);
    assert.ok(replies.every((r) => r.server === 'a' && r.status === 200), 'no worker sends to the ejected server');
    assert.equal(b.served, before);
  } finally {
    await bp.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('a reload (SIGHUP) changes every worker: the new server list and algorithm serve from all of them', async () => {
  const [a, b] = await Promise.all([backend('a'), backend('b')]);
  const config = (addr: string, algorithm: string) => ({ addr: '127.0.0.1:0', workers: 2, algorithm, healthCheck: { path: '/health' }, admin: { addr: '127.0.0.1:0' }, servers: [{ addr }] });
  const bp = await startBalancer(config(a.url, 'round-robin'));
  try {
    const first = await many(bp.url, 8);
    assert.ok(first.every((r) => r.server === 'a'));
    // Also a setting the engine takes only at start: the workers say they keep it.
    writeFileSync(bp.file, JSON.stringify({ ...config(b.url, 'least-connections'), limits: { maxHeaders: 50 } }));
    bp.proc.kill('SIGHUP');
    await waitFor(() => bp.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('reloaded ')), 'the reload');
    await waitFor(() => bp.logs.some((l) => l.msg === 'reload: the workers keep limits.maxHeaders (still 100): needs a restart to change'), 'the workers to say what they keep');
    // The workers hear of it over IPC right after; a request or two may still go the old way.
    await waitFor(async () => (await many(bp.url, 4)).every((r) => r.server === 'b'), 'requests to go to b');
    // Every request so far reported (the backends count what they got), then the shares from here.
    await waitFor(async () => (await perWorker(bp)).reduce((x, y) => x + y, 0) === a.served + b.served, 'the reports to catch up');
    const before = await perWorker(bp);
    const replies = await many(bp.url, 40);
    assert.ok(replies.every((r) => r.server === 'b'), 'every worker sends to the reloaded list');
    const s = await shares(bp, before, 40);
    assert.ok(s.every((n) => n > 0), `both workers served after the reload (${s.join(', ')})`);
    const cfg = (await (await fetch(`${String(bp.logs.find((l) => typeof l.admin === 'string')?.admin)}/api/config`)).json()) as { algorithm: string };
    assert.equal(cfg.algorithm, 'least-connections');
  } finally {
    await bp.stop();
    await Promise.all([a.close(), b.close()]);
  }
});

test('ip-hash agrees across workers: each client address goes to one server whichever worker takes its connection', async () => {
  const backs = await Promise.all(['a', 'b', 'c', 'd'].map((n) => backend(n)));
  const bp = await startBalancer({
    workers: 2,
    algorithm: 'ip-hash',
    trustedProxies: ['127.0.0.1'],
    healthCheck: { path: '/health' },
    admin: { addr: '127.0.0.1:0' },
    servers: backs.map((x) => ({ addr: x.url, name: x.name })),
  });
  try {
    const before = await perWorker(bp);
    const used = new Set<string>();
    for (let i = 1; i <= 12; i++) {
      const client = `203.0.113.${i}`;
      const replies = await many(bp.url, 8, { 'x-forwarded-for': client });
      const to = new Set(replies.map((r) => r.server));
      assert.equal(to.size, 1, `${client} went to one server (${[...to].join(', ')})`);
      used.add([...to][0] as string);
    }
    assert.ok(used.size > 1, 'different clients go to different servers');
    const s = await shares(bp, before, 96);
    assert.ok(s.every((n) => n > 0), `both workers served (${s.join(', ')})`);
  } finally {
    await bp.stop();
    await Promise.all(backs.map((x) => x.close()));
  }
});
