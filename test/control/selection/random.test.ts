import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RandomSelector } from '../../../src/control/selection/random.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req, testDeps } from './helpers.js';

test('random: uniform or by weight, within 1 percentage point over 100,000 picks', () => {
  for (const weights of [
    [1, 1, 1, 1, 1],
    [1, 2, 3, 4],
    [0.9, 0.1],
  ]) {
    const servers = makeServers(weights);
    const sel = new RandomSelector(testDeps(9));
    sel.update(servers);
    const n = 100_000;
    const counts = new Map<Upstream | undefined, number>();
    for (let i = 0; i < n; i++) {
      const u = sel.select(req());
      counts.set(u, (counts.get(u) ?? 0) + 1);
    }
    const total = weights.reduce((a, b) => a + b, 0);
    for (const s of servers) assert.ok(Math.abs((counts.get(s) ?? 0) / n - s.weight / total) < 0.01, `${weights}: ${s.name}`);
  }
});
