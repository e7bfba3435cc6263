import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { st, testUpstream } from '../selection/helpers.js';
import { SLOW_START_MIN_FACTOR, SlowStart, slowStartFactor, slowStartStepMs } from '../../../src/control/health/slow-start.js';
import { FakeClock } from '../../helpers/clock.js';

const setFactor = (u: Upstream, f: number): void => void (st(u).weightFactor = f);
const round = (n: number) => Math.round(n * 1000) / 1000;

test('the ramp is linear from 0.1 to 1', () => {
  assert.equal(SLOW_START_MIN_FACTOR, 0.1);
  assert.equal(slowStartFactor(0, 10_000), 0.1);
  assert.equal(round(slowStartFactor(5000, 10_000)), 0.55);
  assert.equal(slowStartFactor(10_000, 10_000), 1);
  assert.equal(slowStartFactor(99_999, 10_000), 1);
  assert.equal(slowStartFactor(0, 0), 1, 'off');
});

test('steps: every second, or a tenth of a short ramp', () => {
  assert.equal(slowStartStepMs(60_000), 1000);
  assert.equal(slowStartStepMs(10_000), 1000);
  assert.equal(slowStartStepMs(2000), 200);
});

test('a 10 s ramp sets weightFactor every second and refreshes the pool each step', () => {
  const clock = new FakeClock();
  let refreshes = 0;
  const ss = new SlowStart(10_000, clock, () => refreshes++, setFactor);
  const u = testUpstream('http://127.0.0.1:9001', { weight: 4 });
  ss.begin(u);
  assert.equal(u.weightFactor, 0.1);
  assert.equal(u.effectiveWeight, 0.4);
  assert.equal(refreshes, 0, 'begin leaves the refresh to the caller');
  const seen: number[] = [];
  for (let s = 1; s <= 10; s++) {
    clock.advanceSync(1000);
    seen.push(round(u.weightFactor));
  }
  assert.deepEqual(seen, [0.19, 0.28, 0.37, 0.46, 0.55, 0.64, 0.73, 0.82, 0.91, 1]);
  assert.equal(refreshes, 10);
  assert.equal(ss.isRamping(u), false);
  assert.equal(clock.pending, 0, 'no timer left once at full weight');
});

test('late timers do not stretch the ramp: the factor follows the clock', () => {
  const clock = new FakeClock();
  let refreshes = 0;
  const ss = new SlowStart(2000, clock, () => refreshes++, setFactor);
  const u = testUpstream('http://127.0.0.1:9001');
  ss.begin(u);
  clock.t = 1500; // the event loop was busy: timers fire late
  clock.advanceSync(0);
  assert.equal(round(u.weightFactor), round(0.1 + 0.9 * 0.75));
  assert.equal(refreshes, 1, 'missed steps are not replayed one by one');
  clock.advanceSync(500);
  assert.equal(u.weightFactor, 1);
  assert.equal(clock.pending, 0);
});

test('cancel (server down again) stops the ramp and restores full weight; begin restarts it', () => {
  const clock = new FakeClock();
  let refreshes = 0;
  const ss = new SlowStart(10_000, clock, () => refreshes++, setFactor);
  const u = testUpstream('http://127.0.0.1:9001');
  ss.begin(u);
  clock.advanceSync(3000);
  ss.cancel(u);
  assert.equal(u.weightFactor, 1);
  assert.equal(clock.pending, 0);
  const before = refreshes;
  clock.advanceSync(5000);
  assert.equal(refreshes, before, 'no more steps after cancel');
  ss.begin(u);
  assert.equal(u.weightFactor, 0.1);
  clock.advanceSync(1000);
  assert.equal(round(u.weightFactor), 0.19);
  ss.stop();
  assert.equal(u.weightFactor, 1);
});

test('slow start off (0): begin keeps full weight and schedules nothing', () => {
  const clock = new FakeClock();
  const ss = new SlowStart(0, clock, () => assert.fail('no steps when off'), setFactor);
  const u = testUpstream('http://127.0.0.1:9001');
  ss.begin(u);
  assert.equal(u.weightFactor, 1);
  assert.equal(clock.pending, 0);
});
