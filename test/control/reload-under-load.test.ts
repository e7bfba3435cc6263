// Black-box: the control plane outlives reloads. The real CLI under steady load, reloaded with
// SIGHUP eight times between two server lists and two algorithms.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { test } from 'node:test';
import type { WebhookBody } from '../../src/control/notify/payload.js';
import { backends, closeAll, get, servedBy, startBalancer } from '../helpers/cluster.js';
import { freePort } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait.js';
import { startReceiver } from './notify/helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('8 SIGHUP reloads under load: no failed request, one server-down alert for a server dead all along, removed servers finish their requests', async () => {
  const hook = await startReceiver();
  const servers = await backends(4);
  const [a, b, c, d] = servers.map((s) => s.url) as [string, string, string, string];
  const dead = `http://127.0.0.1:${await freePort()}`;
  const common = {
    addr: '127.0.0.1:0',
    healthCheckDelay: 0.25,
    healthCheck: { fall: 1, rise: 1, timeout: 0.5 },
    notifications: [{ type: 'webhook', url: `${hook.url}/hook`, flapping: { enabled: false } }],
  };
  // The dead server is in both lists; b is only in the first; c and d only in the second.
  const first = { ...common, algorithm: 'round-robin', servers: [{ addr: a }, { addr: b }, { addr: dead, name: 'dead' }] };
  const second = { ...common, algorithm: 'least-connections', servers: [{ addr: a }, { addr: c }, { addr: d }, { addr: dead, name: 'dead' }] };
  const bp = await startBalancer(first);
  const reloads = () => bp.logs.filter((l) => String(l.msg).startsWith('reloaded ')).length;
  const downAlerts = () => hook.requests.map((r) => JSON.parse(r.body) as WebhookBody).filter((x) => x.event === 'server-down');
  let running = true;
  let sent = 0;
  const failed: string[] = [];
  // About 300 requests a second: 10 clients, one request each every ~30 ms.
  const client = async (): Promise<void> => {
    while (running) {
      try {
        const r = await get(`${bp.url}/`);
        if (r.status !== 200) failed.push(`status ${r.status}: ${r.body.trim()}`);
      } catch (e) {
        failed.push(String(e));
      }
      sent++;
      await sleep(30);
    }
  };
  try {
    await waitFor(() => downAlerts().length === 1, 'the server-down alert of the dead server', 15_000);
    const load = Array.from({ length: 10 }, client);
    // Slow requests in flight on b when the reload removes it.
    const slow = Array.from({ length: 6 }, () => get(`${bp.url}/slow?ms=1500`));
    await waitFor(() => (servers[1]?.requests() ?? 0) > 0, 'a request at b', 10_000);
    await sleep(200);
    for (let i = 1; i <= 8; i++) {
      writeFileSync(bp.file, JSON.stringify(i % 2 === 1 ? second : first));
      bp.proc.kill('SIGHUP');
      await waitFor(() => reloads() === i, `reload ${i}`, 10_000);
      await sleep(250);
    }
    const slowReplies = await Promise.all(slow);
    assert.deepEqual(slowReplies.map((r) => r.status), [200, 200, 200, 200, 200, 200], 'slow requests in flight across the reload');
    assert.ok(slowReplies.some((r) => servedBy(r) === 'server-2'), 'some slow requests were on b, removed by the first reload');
    await sleep(1000); // time for a wrongly repeated alert to arrive
    running = false;
    await Promise.all(load);
    assert.ok(sent > 500, `steady load (${sent} requests)`);
    assert.deepEqual(failed, [], `${failed.length} of ${sent} requests failed`);
    const down = downAlerts();
    assert.equal(down.length, 1, JSON.stringify(down));
    assert.equal(down[0]?.server.name, 'dead');
    assert.equal(hook.requests.length, 1, 'no other alert (no server-up, no all-down)');
    // Servers new at a reload take traffic; the list in force is the last one written (first).
    const seen = new Set<string>();
    for (let i = 0; i < 8; i++) seen.add(servedBy(await get(`${bp.url}/`)));
    assert.deepEqual([...seen].sort(), ['server-1', 'server-2']);
  } finally {
    running = false;
    assert.equal(await bp.stop(), 0);
    await closeAll(servers);
    await hook.close();
  }
});
