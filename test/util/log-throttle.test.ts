import assert from 'node:assert/strict';
import { test } from 'node:test';
import { countOf, lastSeconds, LogThrottle } from '../../src/util/log-throttle.js';
import { FakeClock } from '../helpers/clock.js';

function recorder(clock: FakeClock) {
  const lines: { at: number; cause: string; count: number; windowMs?: number }[] = [];
  const throttle = new LogThrottle(clock, 1000);
  const hit = (cause: string): void =>
    throttle.note(
      cause,
      () => lines.push({ at: clock.now(), cause, count: 1 }),
      (count, windowMs) => lines.push({ at: clock.now(), cause, count, windowMs }),
    );
  return { lines, throttle, hit };
}

test('a repeated cause writes at most one line per second, and the counts add up', () => {
  const clock = new FakeClock();
  const { lines, hit } = recorder(clock);
  // 3,000 occurrences over 10 s, one every 3.33 ms.
  for (let i = 0; i < 3000; i++) {
    hit('no-server');
    clock.advanceSync(10 / 3);
  }
  clock.advanceSync(2000);
  assert.ok(lines.length <= 12, `${lines.length} lines`);
  assert.equal(lines.reduce((s, l) => s + l.count, 0), 3000);
  for (let i = 1; i < lines.length; i++) assert.ok((lines[i]?.at ?? 0) - (lines[i - 1]?.at ?? 0) >= 1000, 'one line per second at most');
  assert.equal(lines[0]?.count, 1, 'the first occurrence is written at once, on its own');
  assert.equal(lines[0]?.at, 0);
});

test('a single occurrence writes its own line and nothing more', () => {
  const clock = new FakeClock();
  const { lines, hit } = recorder(clock);
  hit('a');
  clock.advanceSync(5000);
  hit('a');
  clock.advanceSync(5000);
  assert.deepEqual(
    lines.map((l) => [l.at, l.count]),
    [
      [0, 1],
      [5000, 1],
    ],
  );
  assert.equal(clock.pending, 0);
});

test('a suppressed run ends with a summary line saying how many and over how long', () => {
  const clock = new FakeClock();
  const { lines, hit } = recorder(clock);
  hit('a');
  clock.advanceSync(200);
  hit('a');
  clock.advanceSync(300);
  hit('a');
  clock.advanceSync(600);
  assert.deepEqual(lines[1], { at: 1000, cause: 'a', count: 2, windowMs: 1000 });
  // The next occurrence within a second of the summary is held back too.
  hit('a');
  assert.equal(lines.length, 2);
  clock.advanceSync(1000);
  assert.deepEqual(lines[2], { at: 2000, cause: 'a', count: 1, windowMs: 1000 });
});

test('causes are limited separately', () => {
  const clock = new FakeClock();
  const { lines, hit } = recorder(clock);
  for (let i = 0; i < 10; i++) {
    hit('server a: ECONNREFUSED');
    hit('server b: ECONNREFUSED');
  }
  assert.deepEqual(
    lines.map((l) => l.cause),
    ['server a: ECONNREFUSED', 'server b: ECONNREFUSED'],
  );
  clock.advanceSync(1000);
  assert.deepEqual(
    lines.slice(2).map((l) => [l.cause, l.count]),
    [
      ['server a: ECONNREFUSED', 9],
      ['server b: ECONNREFUSED', 9],
    ],
  );
});

test('flush writes pending summaries at once (before exit)', () => {
  const clock = new FakeClock();
  const { lines, hit, throttle } = recorder(clock);
  hit('a');
  hit('a');
  hit('a');
  throttle.flush();
  assert.equal(lines.reduce((s, l) => s + l.count, 0), 3);
  assert.equal(clock.pending, 0);
});

test('counts and windows read naturally', () => {
  assert.equal(countOf(2981, 'request'), '2,981 requests');
  assert.equal(countOf(1, 'server'), '1 server');
  assert.equal(lastSeconds(10_000), 'in the last 10 s');
  assert.equal(lastSeconds(800), 'in the last 0.8 s');
});
