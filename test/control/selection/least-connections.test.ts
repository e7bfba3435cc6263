import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeastConnections } from '../../../src/control/selection/least-connections.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

describe('least-connections', () => {
  test('prefers the idle server', () => {
    const servers = makeServers(3);
    const [a, b, c] = servers as [Upstream, Upstream, Upstream];
    const pool = testPool(servers, 'least-connections', {}, testDeps());
    assert.equal(pool.acquire(req()), a);
    assert.equal(pool.acquire(req()), b);
    assert.equal(pool.acquire(req()), c);
    pool.release(b, 10, false);
    assert.equal(pool.acquire(req()), b, 'b is the only idle one');
    assert.equal(pool.acquire(req()), a, 'now a tie at 1 in flight; a waited longest');
    pool.release(c, 10, false);
    assert.equal(pool.acquire(req()), c);
    assert.deepEqual([a.inflight, b.inflight, c.inflight], [2, 1, 1]);
    for (let i = 0; i < 30; i++) {
      const u = pool.acquire(req()) as Upstream;
      // The pick always has the fewest in flight.
      assert.ok(servers.every((s) => u.inflight - 1 <= s.inflight + (s === u ? 1 : 0)));
    }
  });

  test('ties rotate, so equal servers share evenly (sequential and select-only)', () => {
    const servers = makeServers([1, 9, 1]);
    const pool = testPool(servers, 'least-connections', {}, testDeps());
    const seq: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const u = pool.acquire(req()) as Upstream;
      seq.push(u.name);
      pool.release(u, 1, false);
    }
    assert.equal(seq.slice(0, 7).join(' '), 'a b c a b c a');
    for (const name of ['a', 'b', 'c']) assert.equal(seq.filter((x) => x === name).length, 1000, name);
    const sel = new LeastConnections(false);
    sel.update(servers);
    assert.equal(Array.from({ length: 5 }, () => sel.select(req())?.name).join(' '), 'a b c a b');
  });

  test('a server joining takes its turn without hoarding the ties', () => {
    const servers = makeServers(4);
    const [a, b, c, d] = servers as [Upstream, Upstream, Upstream, Upstream];
    const sel = new LeastConnections(false);
    sel.update([a, b, c]);
    for (let i = 0; i < 300; i++) sel.select(req());
    sel.update([a, b, c, d]);
    const names = Array.from({ length: 8 }, () => sel.select(req())?.name).join(' ');
    // d starts at the current virtual time: it goes next, then simply joins the rotation.
    assert.equal(names, 'd a b c d a b c');
  });

  test('in-flight requests finishing after their server left are ignored', () => {
    const servers = makeServers(2);
    const [a, b] = servers as [Upstream, Upstream];
    const pool = testPool(servers, 'least-connections', {}, testDeps());
    const first = pool.acquire(req()) as Upstream;
    assert.equal(first, a);
    st(a).available = false;
    pool.refresh();
    pool.release(a, 5, true);
    assert.equal(pool.acquire(req()), b);
    st(a).available = true;
    pool.refresh();
    assert.equal(pool.acquire(req()), a, 'a rejoins with 0 in flight, b has 1');
  });
});
