import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PeakEwma } from '../../../src/control/selection/peak-ewma.js';
import { Pool } from '../../../src/control/selection/pool.js';
import type { AlgorithmOptions } from '../../../src/control/selection/selector.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps, type TestDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

interface Sim {
  /** Milliseconds between arrivals. */
  readonly every: number;
  /** Simulated milliseconds. */
  readonly span: number;
  readonly latency: (u: Upstream) => number;
  readonly fails?: (u: Upstream) => boolean;
}

// Event-driven run on the fake clock: requests arrive at a fixed rate and finish after their server's latency.
function simulate(pool: Pool, deps: TestDeps, sim: Sim): Map<string, number> {
  const pending: { end: number; u: Upstream; start: number }[] = [];
  const counts = new Map<string, number>();
  const finishUntil = (t: number): void => {
    pending.sort((x, y) => x.end - y.end);
    while (pending.length > 0 && (pending[0]?.end ?? Infinity) <= t) {
      const p = pending.shift() as { end: number; u: Upstream; start: number };
      deps.time = p.end;
      pool.release(p.u, p.end - p.start, sim.fails?.(p.u) ?? false);
    }
  };
  for (let t = deps.time + sim.every; t <= sim.span; t += sim.every) {
    finishUntil(t);
    deps.time = t;
    const u = pool.acquire(req()) as Upstream;
    counts.set(u.name, (counts.get(u.name) ?? 0) + 1);
    pending.push({ start: t, end: t + sim.latency(u), u });
  }
  finishUntil(Infinity);
  return counts;
}

const share = (counts: Map<string, number>, name: string): number => {
  let total = 0;
  for (const v of counts.values()) total += v;
  return (counts.get(name) ?? 0) / total;
};

describe('least-response-time', () => {
  test('a 5 ms server gets over 75% against a 50 ms one', () => {
    const servers = makeServers(2);
    const deps = testDeps(1);
    const pool = testPool(servers, 'least-response-time', {}, deps);
    const counts = simulate(pool, deps, { every: 2, span: 20_000, latency: (u) => (u.name === 'a' ? 5 : 50) });
    assert.ok(share(counts, 'a') > 0.75, `a got ${share(counts, 'a')}`);
  });

  test('also among several servers, the fast one wins the most', () => {
    const servers = makeServers(4);
    const deps = testDeps(2);
    const pool = testPool(servers, 'least-response-time', {}, deps);
    const counts = simulate(pool, deps, { every: 2, span: 20_000, latency: (u) => (u.name === 'c' ? 5 : 50) });
    assert.ok(share(counts, 'c') > 0.5, `c got ${share(counts, 'c')}`);
  });

  test('a server that fails fast gets little traffic', () => {
    const servers = makeServers(3);
    const deps = testDeps(3);
    const pool = testPool(servers, 'least-response-time', {}, deps);
    const counts = simulate(pool, deps, {
      every: 10,
      span: 60_000,
      latency: (u) => (u.name === 'a' ? 1 : 50),
      fails: (u) => u.name === 'a',
    });
    assert.ok(share(counts, 'a') < 0.02, `a got ${share(counts, 'a')}`);
    assert.ok((counts.get('a') ?? 0) >= 1, 'but it is still probed');
  });

  test('decayMs is configurable: a shorter decay retries a penalised server sooner', () => {
    const run = (options: AlgorithmOptions): number => {
      const servers = makeServers(2);
      const deps = testDeps(4);
      const pool = testPool(servers, 'least-response-time', options, deps);
      return simulate(pool, deps, { every: 10, span: 60_000, latency: () => 20, fails: (u) => u.name === 'a' }).get('a') ?? 0;
    };
    const slow = run({ decayMs: 10_000 });
    const fast = run({ decayMs: 1_000 });
    assert.ok(fast > 2 * slow, `decay 1s: ${fast} picks of the failing server, 10s: ${slow}`);
  });

  test('a server with no history is tried at once, but not flooded before its first answer', () => {
    const servers = makeServers(2);
    const [a, b] = servers as [Upstream, Upstream];
    st(b).available = false;
    const deps = testDeps(5);
    const pool = testPool(servers, 'least-response-time', {}, deps);
    simulate(pool, deps, { every: 10, span: 1_000, latency: () => 5 });
    st(b).available = true;
    pool.refresh();
    assert.equal(pool.acquire(req()), b, 'untried b goes first');
    assert.equal(pool.acquire(req()), a, 'b has one request out and no history: wait for it');
    assert.equal(pool.acquire(req()), a);
  });

  test('weights count: at equal latency a weight-3 server takes most of the load', () => {
    const servers = makeServers([3, 1]);
    const deps = testDeps(6);
    const pool = testPool(servers, 'least-response-time', {}, deps);
    const counts = simulate(pool, deps, { every: 2, span: 20_000, latency: () => 20 });
    assert.ok(share(counts, 'a') > 0.6, `a got ${share(counts, 'a')}`);
  });

  test('peak EWMA: jumps to a slower sample, decays with time, blends faster samples', () => {
    const e = new PeakEwma(1000, 0);
    assert.equal(e.seen, false);
    e.observe(100, 0);
    assert.equal(e.cost, 100);
    e.observe(400, 10);
    assert.equal(e.cost, 400, 'peak: a slower sample replaces the estimate');
    e.decay(1010);
    assert.ok(Math.abs(e.cost - 400 * Math.exp(-1)) < 1e-9, 'decays by e after one decay time');
    e.observe(10, 2010);
    const want = 400 * Math.exp(-1) * Math.exp(-1) + 10 * (1 - Math.exp(-1));
    assert.ok(Math.abs(e.cost - want) < 1e-9, `blended: ${e.cost} vs ${want}`);
  });
});
