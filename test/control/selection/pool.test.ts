import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeServers, req, testDeps, testPool } from './helpers.js';

test('acquireExcept picks an untried server, then a backup, then nothing', () => {
  for (const algorithm of ['round-robin', 'ip-hash', 'least-connections'] as const) {
    const servers = makeServers([1, 1, 1], { backupFrom: 2 });
    const [a, b, backup] = servers as [(typeof servers)[0], (typeof servers)[0], (typeof servers)[0]];
    const pool = testPool(servers, algorithm, {}, testDeps());
    const first = pool.acquire(req());
    assert.ok(first === a || first === b, algorithm);
    const second = pool.acquireExcept(req(), [first]);
    assert.ok(second !== undefined && second !== first && second !== backup, `${algorithm}: another primary`);
    assert.equal(pool.acquireExcept(req(), [a, b]), backup, `${algorithm}: the backup takes the retry`);
    assert.equal(pool.acquireExcept(req(), [a, b, backup]), undefined, `${algorithm}: nothing left`);
    assert.deepEqual(
      servers.map((s) => s.inflight),
      [first === a ? 1 : 0, first === b ? 1 : 0, 0].map((n, i) => n + (servers[i] === second ? 1 : 0) + (i === 2 ? 1 : 0)),
      `${algorithm}: in-flight counts follow the picks`,
    );
  }
});

test('setServers keeps the algorithm over changing servers; after heavy churn the servers that stay share the clients', () => {
  const servers = makeServers(40);
  const pool = testPool(servers.slice(0, 4), 'ip-hash');
  // Churn: servers come and go; the four stay. Picks only ever go to current servers.
  for (let i = 4; i < 40; i++) {
    pool.setServers([...servers.slice(0, 4), servers[i] as (typeof servers)[0]]);
    const u = pool.acquire(req(`10.9.9.${i}`));
    assert.ok(u !== undefined && pool.servers.includes(u));
  }
  pool.setServers(servers.slice(0, 4));
  const share = new Map<string, number>();
  for (let i = 0; i < 400; i++) {
    const name = pool.acquire(req(`10.0.${i >> 8}.${i & 255}`))?.name ?? 'none';
    share.set(name, (share.get(name) ?? 0) + 1);
  }
  assert.deepEqual([...share.keys()].sort(), ['a', 'b', 'c', 'd']);
  for (const [name, n] of share) assert.ok(n >= 40, `${name}: ${n} of 400 clients`);
});
