// Live stats on a fake clock: rates over complete seconds, percentiles over the last 10 s, old
// seconds forgotten as the ring turns.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bucketOf, LiveStats } from '../../src/control/live-stats.js';
import { FakeClock } from '../helpers/clock.js';

test('rps and error rate count the last 5 complete seconds, not the current one', () => {
  const clock = new FakeClock();
  const stats = new LiveStats<object>(clock);
  const s = {};
  for (let sec = 0; sec < 5; sec++) {
    for (let i = 0; i < 10; i++) stats.record(s, 5, i < 2);
    clock.advanceSync(1000);
  }
  // 50 requests in seconds 0..4, now in second 5.
  stats.record(s, 5, true); // the current second: not in the rate yet
  const f = stats.figures(s);
  assert.equal(f.rps, 10);
  assert.equal(f.errorRate, 0.2);
  assert.equal(f.errorsPerSecond, 2);
});

test('p50 and p99 come from the latency histogram of the last 10 s, within a bucket of the truth', () => {
  const clock = new FakeClock();
  const stats = new LiveStats<object>(clock);
  const s = {};
  // 99 fast (10 ms) and one slow (1000 ms) per second... p50 near 10, p99 between 10 and 1000.
  for (let i = 0; i < 980; i++) stats.record(s, 10, false);
  for (let i = 0; i < 20; i++) stats.record(s, 1000, false);
  const f = stats.figures(s);
  assert.ok(f.p50 !== null && f.p50 > 7 && f.p50 <= 11.4, `p50 ${f.p50}`);
  assert.ok(f.p99 !== null && f.p99 > 707 && f.p99 <= 1024, `p99 ${f.p99}`);
});

test('a server without requests in the window has no percentiles and zero rates; old seconds are forgotten', () => {
  const clock = new FakeClock();
  const stats = new LiveStats<object>(clock);
  const s = {};
  assert.deepEqual(stats.figures(s), { rps: 0, errorRate: 0, errorsPerSecond: 0, p50: null, p99: null });
  stats.record(s, 50, true);
  clock.advanceSync(1000);
  assert.equal(stats.figures(s).rps, 0.2);
  assert.notEqual(stats.figures(s).p50, null);
  clock.advanceSync(10_000);
  assert.deepEqual(stats.figures(s), { rps: 0, errorRate: 0, errorsPerSecond: 0, p50: null, p99: null });
  // The slot the old second used is reused cleanly (20 s later: the same ring slot).
  clock.advanceSync(9_000);
  stats.record(s, 2, false);
  clock.advanceSync(1000);
  const f = stats.figures(s);
  assert.equal(f.rps, 0.2);
  assert.equal(f.errorRate, 0);
  assert.ok(f.p99 !== null && f.p99 <= 2, `p99 ${f.p99}`);
});

test('latency buckets are log-spaced: each holds durations up to its bound', () => {
  assert.equal(bucketOf(0), 0);
  assert.equal(bucketOf(0.5), 0);
  assert.equal(bucketOf(0.6), 1);
  assert.equal(bucketOf(1), 2);
  assert.equal(bucketOf(2), 4);
  assert.equal(bucketOf(1e9), 35);
});
