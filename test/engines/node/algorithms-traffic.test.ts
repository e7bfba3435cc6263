import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backends, closeAll, get, servedBy, startBalancer } from '../../helpers/cluster.js';

/** Sends `total` requests from `concurrency` parallel clients; returns requests per server. */
async function load(url: string, total: number, concurrency: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  let left = total;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (left-- > 0) {
        const r = await get(url);
        assert.equal(r.status, 200);
        counts.set(servedBy(r), (counts.get(servedBy(r)) ?? 0) + 1);
      }
    }),
  );
  return counts;
}

describe('algorithms under real traffic', () => {
  test('least-connections sends fewer requests to a server that holds them longer', async () => {
    const servers = await backends(2, { latencyMs: [150, 0] });
    const b = await startBalancer({ algorithm: 'least-connections', servers: servers.map((s) => ({ addr: s.url })) });
    try {
      const counts = await load(`${b.url}/`, 200, 8);
      const slow = counts.get('server-1') ?? 0;
      const fast = counts.get('server-2') ?? 0;
      assert.ok(fast > 3 * slow, `slow ${slow}, fast ${fast}`);
    } finally {
      await b.stop();
      await closeAll(servers);
    }
  });

  test('least-response-time gives a 5 ms server more than 75% against a 200 ms one', async () => {
    // A wide gap: on a busy machine queueing adds tens of milliseconds to every response time.
    const servers = await backends(2, { latencyMs: [5, 200] });
    const b = await startBalancer({ algorithm: 'least-response-time', servers: servers.map((s) => ({ addr: s.url })) });
    try {
      const counts = await load(`${b.url}/`, 300, 4);
      const fast = counts.get('server-1') ?? 0;
      assert.ok(fast / 300 > 0.75, `fast ${fast} of 300: ${JSON.stringify([...counts])}`);
    } finally {
      await b.stop();
      await closeAll(servers);
    }
  });

  test('ip-hash keeps each client on one server (several loopback source addresses)', async () => {
    const servers = await backends(4);
    const b = await startBalancer({ algorithm: 'ip-hash', servers: servers.map((s) => ({ addr: s.url })) });
    try {
      const homes = new Set<string>();
      for (let c = 2; c < 22; c++) {
        const seen = new Set<string>();
        for (let i = 0; i < 5; i++) seen.add(servedBy(await get(`${b.url}/`, { localAddress: `127.0.0.${c}` })));
        assert.equal(seen.size, 1, `client 127.0.0.${c} moved: ${[...seen].join(', ')}`);
        homes.add([...seen][0] ?? '');
      }
      assert.ok(homes.size >= 3, `20 clients landed on only ${homes.size} servers`);
    } finally {
      await b.stop();
      await closeAll(servers);
    }
  });

  test('ip-hash uses the rightmost untrusted X-Forwarded-For address, only from trusted proxies', async () => {
    const servers = await backends(4);
    // 10.1.1.1 is a trusted hop there, so the address left of it is the client.
    const trusted = await startBalancer({
      algorithm: 'ip-hash',
      trustedProxies: ['127.0.0.0/8', '10.0.0.0/8'],
      servers: servers.map((s) => ({ addr: s.url })),
    });
    const untrusted = await startBalancer({ algorithm: 'ip-hash', trustedProxies: ['10.0.0.0/8'], servers: servers.map((s) => ({ addr: s.url })) });
    try {
      const homes = new Set<string>();
      const untrustedHomes = new Set<string>();
      for (let c = 1; c <= 20; c++) {
        const xff = { 'x-forwarded-for': `198.51.100.${c}, 10.1.1.1` };
        const first = servedBy(await get(`${trusted.url}/`, { headers: xff }));
        assert.equal(servedBy(await get(`${trusted.url}/`, { headers: xff })), first);
        homes.add(first);
        untrustedHomes.add(servedBy(await get(`${untrusted.url}/`, { headers: xff })));
      }
      assert.ok(homes.size >= 3, `forwarded clients landed on only ${homes.size} servers`);
      // The peer (127.0.0.1) is not trusted there, so every request hashes the same peer address.
      assert.equal(untrustedHomes.size, 1);
    } finally {
      await trusted.stop();
      await untrusted.stop();
      await closeAll(servers);
    }
  });
});
