import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { ALGORITHM_NAMES } from '../../../src/control/selection/algorithms.js';
import { SELECTORS } from '../../../src/control/selection/algorithms.js';
import type { TestServer } from '../../../src/testservers/server.js';
import { backends, closeAll, get, servedBy, startBalancer } from '../../helpers/cluster.js';

describe('routing through a running balancer', () => {
  let servers: TestServer[] = [];
  before(async () => {
    servers = await backends(4);
  });
  after(() => closeAll(servers));

  test('round robin is exact over N requests', async () => {
    const b = await startBalancer({ algorithm: 'round-robin', servers: servers.map((s) => ({ addr: s.url })) });
    try {
      const order: string[] = [];
      for (let i = 0; i < 40; i++) order.push(servedBy(await get(`${b.url}/`)));
      const names = servers.map((s) => s.name);
      // Rotation starts at the first server and cycles in config order.
      assert.deepEqual(order, Array.from({ length: 40 }, (_, i) => names[i % 4]));
    } finally {
      assert.equal(await b.stop(), 0);
    }
  });

  // `first` is failover by design: one request at a time never fills server-1, so it alone answers.
  for (const algorithm of ALGORITHM_NAMES.filter((a) => SELECTORS[a] !== undefined && a !== 'first')) {
    test(`every server gets traffic under ${algorithm}`, async () => {
      const b = await startBalancer({ algorithm, servers: servers.map((s) => ({ addr: s.url })) });
      try {
        const seen = new Map<string, number>();
        // Many client addresses, so that ip-hash spreads too (127.0.0.0/8 is all loopback on Linux).
        for (let i = 0; i < 200; i++) {
          const r = await get(`${b.url}/`, { localAddress: `127.0.${Math.floor(i / 250)}.${(i % 250) + 2}` });
          assert.equal(r.status, 200);
          seen.set(servedBy(r), (seen.get(servedBy(r)) ?? 0) + 1);
        }
        assert.deepEqual([...seen.keys()].sort(), servers.map((s) => s.name).sort(), `shares: ${JSON.stringify([...seen])}`);
      } finally {
        assert.equal(await b.stop(), 0);
      }
    });
  }

  test('the original example config format is accepted verbatim (weigth, random)', async () => {
    const b = await startBalancer({
      algorithm: 'random',
      healthCheckDelay: 10,
      servers: servers.map((s, i) => ({ addr: s.url, weigth: i === 0 ? 0.9 : 0.1 })),
    });
    try {
      const counts = new Map<string, number>();
      for (let i = 0; i < 300; i++) {
        const name = servedBy(await get(`${b.url}/`));
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      // 0.9 of 1.2 total weight = 75% expected on server-1; far from the 25% a uniform pick would give.
      assert.ok((counts.get(servers[0]?.name ?? '') ?? 0) > 170, `shares: ${JSON.stringify([...counts])}`);
    } finally {
      await b.stop();
    }
  });
});
