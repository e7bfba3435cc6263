import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { WeightedRoundRobin } from '../../../src/control/selection/weighted-round-robin.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, mulberry32, req } from './helpers.js';
import { NaiveSwrr } from './nginx-swrr.js';
import { st } from './helpers.js';

const sequence = (weights: readonly number[], n: number): string => {
  const sel = new WeightedRoundRobin();
  sel.update(makeServers(weights));
  return Array.from({ length: n }, () => sel.select(req())?.name).join(' ');
};

describe('weighted-round-robin', () => {
  test('weights 5,1,1 give nginx\'s a a b a c a a, cycle after cycle', () => {
    assert.equal(sequence([5, 1, 1], 14), 'a a b a c a a a a b a c a a');
  });

  test('fractional weights: 0.9/0.1/0.1/0.1 behaves exactly like nginx 9/1/1/1', () => {
    const expected = 'a a a b a a c a a d a a';
    assert.equal(sequence([0.9, 0.1, 0.1, 0.1], 12), expected);
    assert.equal(sequence([9, 1, 1, 1], 12), expected);
    assert.equal(sequence([0.9, 0.1], 20), 'a a a a a b a a a a a a a a a b a a a a');
    assert.equal(sequence([0.9, 0.1], 20), sequence([9, 1], 20));
  });

  test('equal weights rotate strictly', () => {
    assert.equal(sequence([2, 2, 2], 7), 'a b c a b c a');
    assert.equal(sequence([0.5, 0.5], 4), 'a b a b');
  });

  test('matches a linear-scan nginx reference on random integer weights, through membership and weight changes', () => {
    const rng = mulberry32(2024);
    for (const n of [1, 2, 3, 5, 8, 33, 130]) {
      const servers = makeServers(Array.from({ length: n }, () => 1 + Math.floor(rng() * 20)));
      const sel = new WeightedRoundRobin();
      const ref = new NaiveSwrr();
      let set: Upstream[] = servers;
      for (let phase = 0; phase < 12; phase++) {
        sel.update(set);
        ref.update(set);
        for (let i = 0; i < 400; i++) {
          const got = sel.select(req());
          const want = ref.select();
          assert.equal(got, want, `n=${n} phase=${phase} pick=${i}: ${got?.name} vs nginx ${want?.name}`);
        }
        // Next phase: drop or restore random servers, ramp some weights (slow start style, integers here).
        for (const s of servers) if (rng() < 0.3) st(s).weightFactor = rng() < 0.5 ? 1 : 0.5;
        set = servers.filter((s) => rng() < 0.8 && Number.isInteger(s.effectiveWeight));
      }
    }
  });

  test('matches the reference on arbitrary (non-decimal) fractional weights too', () => {
    const rng = mulberry32(5);
    for (const n of [2, 3, 7, 50]) {
      const servers = makeServers(Array.from({ length: n }, () => 0.1 + rng() * 5));
      const sel = new WeightedRoundRobin();
      const ref = new NaiveSwrr();
      sel.update(servers);
      ref.update(servers);
      for (let i = 0; i < 50_000; i++) {
        if (sel.select(req()) !== ref.select()) assert.fail(`n=${n}: diverged at pick ${i}`);
      }
    }
  });

  test('nearly equal fractional weights (float noise) neither hang nor skew', () => {
    const third = 1 / 3;
    const weights = [third, third * (1 + 2 ** -50), third * (1 - 2 ** -51), 0.1 * 3, 0.3];
    const servers = makeServers(weights);
    const sel = new WeightedRoundRobin();
    sel.update(servers);
    const counts = new Map<Upstream, number>();
    for (let i = 0; i < 1_100_000; i++) {
      const u = sel.select(req()) as Upstream;
      counts.set(u, (counts.get(u) ?? 0) + 1);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    for (const s of servers) {
      assert.ok(Math.abs((counts.get(s) ?? 0) - (1_100_000 * s.weight) / total) <= 2, `${s.name}: ${counts.get(s)}`);
    }
  });

  test('stays exact past the internal re-basing (over a million picks)', () => {
    const servers = makeServers([7, 3, 2, 1]);
    const sel = new WeightedRoundRobin();
    const ref = new NaiveSwrr();
    sel.update(servers);
    ref.update(servers);
    for (let i = 0; i < 1_100_000; i++) {
      if (sel.select(req()) !== ref.select()) assert.fail(`diverged at pick ${i}`);
    }
  });

  test('shares match weights over 100,000 picks (exactly, per cycle), incl. non-decimal weights', () => {
    for (const weights of [
      [1, 2, 3, 4],
      [0.5, 1.5, 3],
      [1 / 3, 2 / 3, Math.SQRT2],
    ]) {
      const servers = makeServers(weights);
      const sel = new WeightedRoundRobin();
      sel.update(servers);
      const counts = new Map<Upstream, number>();
      const n = 100_000;
      for (let i = 0; i < n; i++) {
        const u = sel.select(req()) as Upstream;
        counts.set(u, (counts.get(u) ?? 0) + 1);
      }
      const total = weights.reduce((a, b) => a + b, 0);
      for (const s of servers) {
        const want = (n * s.weight) / total;
        // Smooth WRR never lags or leads a server by a whole pick or more.
        assert.ok(Math.abs((counts.get(s) ?? 0) - want) <= 1, `${weights}: ${s.name} got ${counts.get(s)}, want ${want}`);
      }
    }
  });

  test('a server going down and back keeps the others interleaved', () => {
    const servers = makeServers([5, 1, 1]);
    const [a, b, c] = servers as [Upstream, Upstream, Upstream];
    const sel = new WeightedRoundRobin();
    sel.update(servers);
    const picks = (k: number): string => Array.from({ length: k }, () => sel.select(req())?.name).join(' ');
    assert.equal(picks(3), 'a a b');
    sel.update([a, c]);
    const during = picks(12);
    assert.ok(!during.includes('b'));
    assert.equal(during.split(' ').filter((x) => x === 'c').length, 2, `c keeps its 1/6: ${during}`);
    sel.update([a, b, c]);
    const after = picks(70).split(' ');
    for (const [name, want] of [['a', 50], ['b', 10], ['c', 10]] as const) {
      assert.ok(Math.abs(after.filter((x) => x === name).length - want) <= 1, `${name} after return: ${after.join(' ')}`);
    }
  });

  test('follows slow start: weights are read from effectiveWeight at update()', () => {
    const servers = makeServers([1, 1]);
    const [a, b] = servers as [Upstream, Upstream];
    const sel = new WeightedRoundRobin();
    st(b).weightFactor = 0.25;
    sel.update(servers);
    const count = (k: number): number => Array.from({ length: k }, () => sel.select(req())).filter((u) => u === b).length;
    assert.equal(count(500), 100, 'b at 1/4 weight gets 1/5');
    st(b).weightFactor = 1;
    sel.update(servers);
    assert.ok(Math.abs(count(500) - 250) <= 1, 'b at full weight gets 1/2');
    assert.equal(a.effectiveWeight, 1);
  });
});
