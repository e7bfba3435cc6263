import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

describe('weighted-least-connections', () => {
  test('fills servers in proportion to weight: fewest in flight per unit of weight', () => {
    const servers = makeServers([3, 1]);
    const [a, b] = servers as [Upstream, Upstream];
    const pool = testPool(servers, 'weighted-least-connections', {}, testDeps());
    for (let i = 0; i < 8; i++) pool.acquire(req());
    assert.deepEqual([a.inflight, b.inflight], [6, 2]);
    pool.release(a, 1, false);
    pool.release(a, 1, false);
    assert.equal(pool.acquire(req()), a, 'a at 4/3 < b at 2/1');
  });

  test('idle servers share in proportion to weight (within 1 percentage point over 100,000 picks)', () => {
    const weights = [1, 2, 3, 4];
    const servers = makeServers(weights);
    const pool = testPool(servers, 'weighted-least-connections', {}, testDeps());
    const counts = new Map<Upstream, number>();
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const u = pool.acquire(req()) as Upstream;
      counts.set(u, (counts.get(u) ?? 0) + 1);
      pool.release(u, 1, false);
    }
    for (const s of servers) {
      const share = (counts.get(s) ?? 0) / n;
      assert.ok(Math.abs(share - s.weight / 10) < 0.01, `${s.name}: ${share}`);
    }
  });

  test('ties rotate by weight: 2,1 idle gives a b a a b a', () => {
    const servers = makeServers([2, 1]);
    const pool = testPool(servers, 'weighted-least-connections', {}, testDeps());
    const seq: string[] = [];
    for (let i = 0; i < 6; i++) {
      const u = pool.acquire(req()) as Upstream;
      seq.push(u.name);
      pool.release(u, 1, false);
    }
    assert.equal(seq.join(' '), 'a b a a b a');
  });

  test('follows effective weight (slow start)', () => {
    const servers = makeServers([1, 1]);
    const [a, b] = servers as [Upstream, Upstream];
    st(b).weightFactor = 0.25;
    const pool = testPool(servers, 'weighted-least-connections', {}, testDeps());
    for (let i = 0; i < 10; i++) pool.acquire(req());
    assert.deepEqual([a.inflight, b.inflight], [8, 2]);
  });
});
