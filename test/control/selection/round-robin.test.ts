import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RoundRobin } from '../../../src/control/selection/round-robin.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { makeServers, req } from './helpers.js';

const picks = (sel: RoundRobin, n: number): string => Array.from({ length: n }, () => sel.select(req())?.name).join(' ');

test('round-robin: strict rotation, ignoring weights', () => {
  const sel = new RoundRobin();
  sel.update(makeServers([1, 5, 1]));
  assert.equal(picks(sel, 7), 'a b c a b c a');
});

test('round-robin: a server going down is skipped without skewing the others', () => {
  const servers = makeServers(4);
  const [a, b, c, d] = servers as [Upstream, Upstream, Upstream, Upstream];
  const sel = new RoundRobin();
  sel.update(servers);
  assert.equal(picks(sel, 2), 'a b');
  sel.update([a, b, d]); // c down: rotation continues after b
  assert.equal(picks(sel, 6), 'd a b d a b');
  sel.update([a, c, d]); // b (picked last) down: continue with the next in config order
  assert.equal(picks(sel, 4), 'c d a c');
  sel.update(servers); // all back, no one repeated or skipped
  assert.equal(picks(sel, 5), 'd a b c d');
  sel.update([b]);
  assert.equal(picks(sel, 2), 'b b');
});
