import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hash32 } from '../../../src/control/selection/hash.js';
import { buildMaglevTable, MAGLEV_TABLE_SIZE } from '../../../src/control/selection/maglev.js';

test('maglev: every slot filled, slots in proportion to weight (±1)', () => {
  const keys = ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1'];
  const weights = [1, 2, 3, 0.5];
  const t = buildMaglevTable(keys, weights);
  assert.equal(t.length, MAGLEV_TABLE_SIZE);
  const counts = new Array<number>(keys.length).fill(0);
  for (const i of t) {
    assert.ok(i >= 0 && i < keys.length);
    counts[i] = (counts[i] ?? 0) + 1;
  }
  const total = weights.reduce((a, b) => a + b, 0);
  weights.forEach((w, i) => {
    assert.ok(Math.abs((counts[i] ?? 0) - (MAGLEV_TABLE_SIZE * w) / total) <= 1, `${keys[i]}: ${counts[i]}`);
  });
});

test('maglev: skewed weights (one heavy, 1,023 light) keep their proportions', () => {
  const keys = Array.from({ length: 1024 }, (_, i) => `http://10.0.${i >> 8}.${i & 255}:80`);
  const weights = keys.map((_, i) => (i === 0 ? 1000 : 1));
  const t = buildMaglevTable(keys, weights);
  const heavy = t.filter((i) => i === 0).length / t.length;
  assert.ok(Math.abs(heavy - 1000 / 2023) < 0.005, `heavy share ${heavy}`);
  const light = new Array<number>(1024).fill(0);
  for (const i of t) light[i] = (light[i] ?? 0) + 1;
  assert.ok(light.slice(1).every((c) => c >= 31 && c <= 34), 'each light server gets ~32.4 slots');
});

test('maglev: deterministic, and removing a server disturbs few other slots', () => {
  const keys = Array.from({ length: 20 }, (_, i) => `http://10.0.0.${i}:80`);
  const ones = keys.map(() => 1);
  const t1 = buildMaglevTable(keys, ones);
  assert.deepEqual(buildMaglevTable(keys, ones), t1);
  const t2 = buildMaglevTable(keys.slice(1), ones.slice(1));
  let disturbed = 0;
  for (let s = 0; s < t1.length; s++) if (t1[s] !== 0 && (t2[s] ?? -1) + 1 !== t1[s]) disturbed++;
  assert.ok(disturbed / t1.length < 0.05, `${disturbed} slots of surviving servers moved`);
});

test('hash32 is stable across releases (changing it would move every ip-hash client)', () => {
  assert.equal(hash32('', 0), 0);
  assert.equal(hash32('10.0.0.1', 0), 362955043);
  assert.equal(hash32('2001:db8::1', 0x2545f491), 3201527786);
  assert.equal(hash32('http://localhost:9000', 0x9e3779b9), 1277278306);
  assert.notEqual(hash32('10.0.0.1', 0), hash32('10.0.0.2', 0));
  assert.notEqual(hash32('10.0.0.1', 0), hash32('10.0.0.1', 1));
});
