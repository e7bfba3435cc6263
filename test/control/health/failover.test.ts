// Black-box: the balancer process in front of real test servers that are killed and restarted.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { freePort } from '../../helpers/ports.js';
import { startTestServer, type TestServer } from '../../../src/testservers/server.js';
import { backends, closeAll, get, servedBy, startBalancer, type BalancerProcess } from '../../helpers/cluster.js';
import { waitFor } from '../../helpers/wait.js';

interface Sample {
  readonly at: number;
  readonly status: number;
  readonly server: string;
}

/** Keeps `concurrency` clients busy with GETs until stopped; records every answer. */
function steadyLoad(url: string, concurrency: number): { samples: Sample[]; stop(): Promise<void> } {
  const samples: Sample[] = [];
  let running = true;
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) {
      try {
        const r = await get(`${url}/`);
        samples.push({ at: Date.now(), status: r.status, server: servedBy(r) });
      } catch (e) {
        samples.push({ at: Date.now(), status: 0, server: String(e) });
      }
    }
  });
  return {
    samples,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}

/** Epoch ms of the first log line (at or after `after`) whose message starts with `prefix` or matches it, once it appears. */
async function logTime(b: BalancerProcess, prefix: string | RegExp, after: number): Promise<number> {
  let at = 0;
  const matches = (msg: string) => (typeof prefix === 'string' ? msg.startsWith(prefix) : prefix.test(msg));
  await waitFor(
    () => {
      const line = b.logs.find((l) => typeof l.msg === 'string' && matches(l.msg) && Number(l.time) >= after);
      at = Number(line?.time ?? 0);
      return line !== undefined;
    },
    `log "${prefix}"`,
    30_000,
  );
  return at;
}

const INTERVAL_S = 0.25;
const TIMEOUT_S = 0.5;
const FALL = 3;
const RISE = 2;
const SLOW_START_S = 4;
// Scheduling on a busy 2-core machine: added to every time bound.
const SLACK_MS = 1500;

describe('failover and recovery', () => {
  test('killing a server under load fails no request; it is marked down, comes back and ramps up', async () => {
    const servers = await backends(4);
    const victim = servers[1] as TestServer;
    const b = await startBalancer({
      healthCheckDelay: INTERVAL_S,
      healthCheck: { timeout: TIMEOUT_S, fall: FALL, rise: RISE, slowStart: SLOW_START_S },
      servers: servers.map((s) => ({ addr: s.url })),
    });
    let restarted: TestServer | undefined;
    const load = steadyLoad(b.url, 8);
    try {
      await waitFor(() => load.samples.length > 300, 'load to start', 20_000);
      const killedAt = Date.now();
      await victim.close();
      const downAt = await logTime(b, `server ${victim.url} down`, killedAt);
      const downBound = FALL * INTERVAL_S * 1100 + TIMEOUT_S * 1000 + SLACK_MS;
      assert.ok(downAt - killedAt <= downBound, `marked down after ${downAt - killedAt} ms (bound ${downBound} ms)`);

      // Passive checks usually eject it first; wait until active checks have seen the outage too.
      await logTime(b, new RegExp(`^server ${victim.url} .*${FALL} failed checks`), killedAt);
      await waitFor(() => load.samples.filter((s) => s.at > downAt).length > 300, 'load while down', 20_000);
      const restartedAt = Date.now();
      restarted = await startTestServer({ name: victim.name, port: victim.port });
      const upAt = await logTime(b, `server ${victim.url} up`, restartedAt);
      const upBound = RISE * INTERVAL_S * 1100 + SLACK_MS;
      const history = () =>
        b.logs
          .filter((l) => String(l.msg).includes(victim.url) && !String(l.msg).startsWith('retrying'))
          .map((l) => `${Number(l.time) - killedAt} ms: ${String(l.msg)}`)
          .join('\n');
      assert.ok(upAt - restartedAt <= upBound, `back after ${upAt - restartedAt} ms (bound ${upBound} ms); restarted at ${restartedAt - killedAt} ms:\n${history()}`);

      await waitFor(() => Date.now() > upAt + SLOW_START_S * 1000 + 1000, 'slow start to end', 30_000);
      await load.stop();

      const failed = load.samples.filter((s) => s.status !== 200);
      assert.equal(failed.length, 0, `failed requests: ${JSON.stringify(failed.slice(0, 5))}`);
      const rps = load.samples.length / ((Date.now() - (load.samples[0]?.at ?? 0)) / 1000);
      assert.ok(rps > 200, `load was only ${rps.toFixed(0)} requests/s`);

      // Its share climbs over the slow-start window instead of jumping to a quarter.
      const share = (from: number, to: number): number => {
        const win = load.samples.filter((s) => s.at >= from && s.at < to);
        return win.filter((s) => s.server === victim.name).length / Math.max(1, win.length);
      };
      const early = share(upAt, upAt + 1000);
      const late = share(upAt + SLOW_START_S * 1000, upAt + SLOW_START_S * 1000 + 1000);
      console.log(
        `${load.samples.length} requests at ${rps.toFixed(0)}/s, 0 failed; down after ${downAt - killedAt} ms, ` +
          `up ${upAt - restartedAt} ms after restart; its share ${(early * 100).toFixed(1)}% in the first second back, ` +
          `${(late * 100).toFixed(1)}% after slow start`,
      );
      assert.ok(early < 0.15, `share in the first second back ${early.toFixed(3)}`);
      assert.ok(late > 0.2, `share after slow start ${late.toFixed(3)}`);
      assert.ok(early < late, `share did not climb: ${early.toFixed(3)} -> ${late.toFixed(3)}`);
    } finally {
      await load.stop();
      await b.stop();
      await closeAll(servers.filter((s) => s !== victim));
      await restarted?.close();
    }
  });

  test('all servers down: 503 with Retry-After, then traffic resumes by itself', async () => {
    const servers = await backends(2);
    const b = await startBalancer({
      healthCheckDelay: INTERVAL_S,
      healthCheck: { timeout: TIMEOUT_S, fall: 1, rise: 1 },
      servers: servers.map((s) => ({ addr: s.url })),
    });
    let back: TestServer | undefined;
    try {
      assert.equal((await get(`${b.url}/`)).status, 200);
      await closeAll(servers);
      let last = await get(`${b.url}/`);
      await waitFor(async () => (last = await get(`${b.url}/`)).status === 503, '503', 20_000);
      assert.ok(Number(last.headers['retry-after']) >= 1, `Retry-After: ${String(last.headers['retry-after'])}`);
      assert.match(last.body, /no server available/);
      await logTime(b, 'all servers down', 0);
      back = await startTestServer({ name: 'server-2', port: (servers[1] as TestServer).port });
      await waitFor(async () => (last = await get(`${b.url}/`)).status === 200, 'recovery', 20_000);
      assert.equal(servedBy(last), 'server-2');
    } finally {
      await b.stop();
      await back?.close();
    }
  });

  test('a request to a server that refuses connections is retried on another, any method', async () => {
    const servers = await backends(1);
    const deadPort = await freePort();
    // Checks off, so every request meets the dead server in turn and must be retried.
    const b = await startBalancer({
      healthCheck: { enabled: false, passive: { maxFails: 0 } },
      servers: [{ addr: `http://127.0.0.1:${deadPort}` }, { addr: servers[0]?.url }],
    });
    try {
      for (let i = 0; i < 10; i++) {
        assert.equal((await get(`${b.url}/`)).status, 200);
        const post = await get(`${b.url}/echo`, { method: 'POST', body: `payload ${i}` });
        assert.equal(post.status, 200);
        assert.equal(post.body, `payload ${i}`);
      }
      await waitFor(() => b.logs.some((l) => String(l.msg).startsWith('retrying on')), 'retry log line', 10_000);
    } finally {
      await b.stop();
      await closeAll(servers);
    }
  });

  test('a POST whose backend dies mid-response is not replayed', async () => {
    let posts = 0;
    const dying = createServer((req, res) => {
      if (req.method !== 'POST') return void res.end('ok');
      posts++;
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('partial answer...');
      setTimeout(() => res.socket?.destroy(), 50);
    });
    const healthy = createServer((req, res) => {
      if (req.method === 'POST') posts++;
      req.resume();
      res.end('ok');
    });
    await Promise.all([dying, healthy].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    const url = (s: typeof dying) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
    const b = await startBalancer({ algorithm: 'first', servers: [{ addr: url(dying) }, { addr: url(healthy) }] });
    try {
      const outcome = await get(`${b.url}/order`, { method: 'POST', body: 'buy one' }).then(
        (r) => `status ${r.status}: ${r.body}`,
        (e: Error) => `error: ${e.message}`,
      );
      assert.match(outcome, /error|partial/);
      await new Promise((r) => setTimeout(r, 300)); // a replay, if any, would arrive well within this
      assert.equal(posts, 1, 'the POST reached a backend more than once');
    } finally {
      await b.stop();
      for (const s of [dying, healthy]) {
        s.closeAllConnections();
        s.close();
      }
    }
  });

  test('a backup server takes traffic only while every primary is down', async () => {
    const servers = await backends(2);
    const [primary, backup] = servers as [TestServer, TestServer];
    const b = await startBalancer({
      healthCheckDelay: INTERVAL_S,
      healthCheck: { timeout: TIMEOUT_S, fall: 1, rise: 1, slowStart: 0 },
      servers: [{ addr: primary.url }, { addr: backup.url, backup: true }],
    });
    let back: TestServer | undefined;
    try {
      for (let i = 0; i < 10; i++) assert.equal(servedBy(await get(`${b.url}/`)), primary.name);
      await primary.close();
      // Retries cover the moment of the kill; then the backup answers everything.
      for (let i = 0; i < 10; i++) assert.equal(servedBy(await get(`${b.url}/`)), backup.name);
      back = await startTestServer({ name: primary.name, port: primary.port });
      let last = '';
      await waitFor(async () => (last = servedBy(await get(`${b.url}/`))) === primary.name, 'primary back', 20_000);
      for (let i = 0; i < 10; i++) assert.equal(servedBy(await get(`${b.url}/`)), primary.name);
    } finally {
      await b.stop();
      await closeAll([backup]);
      await back?.close();
    }
  });
});
