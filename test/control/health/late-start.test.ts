// Black-box, default health settings: servers that come up after the balancer are in service
// within seconds (down servers are probed every downInterval), not after rise x healthCheckDelay.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startTestServer, type TestServer } from '../../../src/testservers/server.js';
import { closeAll, get, startBalancer } from '../../helpers/cluster.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

test('servers that start a second after the balancer take traffic within seconds, at default health settings', async () => {
  const ports = [await freePort(), await freePort()];
  const b = await startBalancer({ servers: ports.map((p) => ({ addr: `http://127.0.0.1:${p}` })) });
  const servers: TestServer[] = [];
  try {
    await waitFor(() => b.logs.filter((l) => String(l.msg).includes(' down: first check failed')).length === 2, 'first checks to fail', 10_000);
    const early = await get(`${b.url}/`);
    assert.equal(early.status, 503);
    await new Promise((r) => setTimeout(r, 1000));
    const startedAt = Date.now();
    for (const [i, port] of ports.entries()) servers.push(await startTestServer({ name: `late-${i + 1}`, port }));
    await waitFor(async () => (await get(`${b.url}/`)).status === 200, 'the first 200', 30_000);
    const firstOk = Date.now() - startedAt;
    await waitFor(() => b.logs.filter((l) => / up: 2 passed checks$/.test(String(l.msg))).length === 2, 'both up', 30_000);
    const bothUp = Date.now() - startedAt;
    console.log(`first 200 ${firstOk} ms after the servers started; both in service after ${bothUp} ms`);
    // Default: probes of a down server every 1 s, rise 2; before, rise x healthCheckDelay = 20 s.
    assert.ok(bothUp < 8000, `both in service after ${bothUp} ms`);
  } finally {
    await b.stop();
    await closeAll(servers);
  }
});
