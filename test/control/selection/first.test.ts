import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

describe('first', () => {
  test('fills servers in config order up to maxInflight', () => {
    const servers = makeServers(3);
    const [a, b, c] = servers as [Upstream, Upstream, Upstream];
    const pool = testPool(servers, 'first', { maxInflight: 2 }, testDeps());
    const names = Array.from({ length: 6 }, () => pool.acquire(req())?.name).join(' ');
    assert.equal(names, 'a a b b c c');
    pool.release(a, 1, false);
    assert.equal(pool.acquire(req()), a, 'a has room again');
    pool.release(b, 1, false);
    pool.release(b, 1, false);
    assert.equal(pool.acquire(req()), b);
    assert.equal(pool.acquire(req()), b);
    assert.equal(pool.acquire(req()), a, 'all full: the least busy, first in config order');
    assert.deepEqual([a.inflight, b.inflight, c.inflight], [3, 2, 2]);
  });

  test('without maxInflight it is failover: always the first available server', () => {
    const servers = makeServers(3);
    const [a, b] = servers as [Upstream, Upstream];
    const pool = testPool(servers, 'first', {}, testDeps());
    for (let i = 0; i < 10; i++) assert.equal(pool.acquire(req()), a);
    st(a).available = false;
    pool.refresh();
    assert.equal(pool.acquire(req()), b);
    st(a).available = true;
    pool.refresh();
    assert.equal(pool.acquire(req()), a);
  });

  test('config order even when given another order', () => {
    const servers = makeServers(3);
    const pool = testPool([...servers].reverse(), 'first', {}, testDeps());
    assert.equal(pool.acquire(req())?.name, 'a');
  });
});
