import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PowerOfTwo } from '../../../src/control/selection/power-of-two.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

describe('power-of-two', () => {
  test('of the two drawn, the one with fewer in flight wins', () => {
    const servers = makeServers(2);
    const [a, b] = servers as [Upstream, Upstream];
    const sel = new PowerOfTwo(testDeps(1));
    sel.update(servers);
    st(a).inflight = 5;
    // a (busy) wins only when drawn twice: 1/4 of picks.
    let picksOfA = 0;
    for (let i = 0; i < 10_000; i++) if (sel.select(req()) === a) picksOfA++;
    assert.ok(Math.abs(picksOfA / 10_000 - 0.25) < 0.02, `a picked ${picksOfA} times`);
    st(b).inflight = 5;
    let ties = 0;
    for (let i = 0; i < 10_000; i++) if (sel.select(req()) === a) ties++;
    assert.ok(Math.abs(ties / 10_000 - 0.5) < 0.02, `equal load: the first draw wins, ${ties}`);
  });

  test('keeps load even under concurrency', () => {
    const servers = makeServers(8);
    const pool = testPool(servers, 'power-of-two', {}, testDeps(2));
    const held: Upstream[] = [];
    for (let i = 0; i < 800; i++) held.push(pool.acquire(req()) as Upstream);
    const loads = servers.map((s) => s.inflight);
    assert.ok(Math.max(...loads) - Math.min(...loads) <= 3, `in flight: ${loads}`);
  });

  test('idle shares follow weights (within 1 percentage point over 100,000 picks)', () => {
    for (const weights of [
      [1, 1, 1, 1],
      [1, 2, 3, 4],
    ]) {
      const servers = makeServers(weights);
      const pool = testPool(servers, 'power-of-two', {}, testDeps(3));
      const n = 100_000;
      const counts = new Map<Upstream, number>();
      for (let i = 0; i < n; i++) {
        const u = pool.acquire(req()) as Upstream;
        counts.set(u, (counts.get(u) ?? 0) + 1);
        pool.release(u, 1, false);
      }
      const total = weights.reduce((x, y) => x + y, 0);
      for (const s of servers) assert.ok(Math.abs((counts.get(s) ?? 0) / n - s.weight / total) < 0.01, `${weights}: ${s.name}`);
    }
  });
});
