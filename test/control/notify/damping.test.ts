import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlapDamper, type Damped } from '../../../src/control/notify/damping.js';
import { FakeClock } from '../../helpers/clock.js';
import { healthEvent } from './helpers.js';

const W = 120_000;

function setup() {
  const clock = new FakeClock(Date.UTC(2025, 0, 15, 12, 0, 0));
  const summaries: Damped[] = [];
  const damper = new FlapDamper({ changes: 4, windowMs: W, clock, onSummary: (s) => summaries.push(s) });
  const flip = (i: number, name = 'web-2', addr = 'http://localhost:9001'): Damped | undefined =>
    damper.filter(healthEvent(i % 2 === 0 ? 'server-down' : 'server-up', name, addr, { time: clock.epoch() }));
  return { clock, summaries, damper, flip };
}

describe('flapping damper', () => {
  it('passes up to N changes within the window', () => {
    const { clock, flip } = setup();
    for (let i = 0; i < 4; i++) {
      const d = flip(i);
      assert.ok(d !== undefined && d.flapping === undefined, `change ${i} passes unmarked`);
      clock.advanceSync(10_000);
    }
  });

  it('does not count changes that left the window', () => {
    const { clock, flip } = setup();
    for (let i = 0; i < 20; i++) {
      assert.equal(flip(i)?.flapping, undefined, `change ${i}`);
      clock.advanceSync(W / 4 + 1); // 4 changes span more than the window
    }
  });

  it('marks the change that crosses the limit, holds later ones, then sends one summary after W of calm', () => {
    const { clock, summaries, damper, flip } = setup();
    for (let i = 0; i < 4; i++) {
      assert.equal(flip(i)?.flapping, undefined);
      clock.advanceSync(5_000);
    }
    const fifth = flip(4); // down
    assert.deepEqual(fifth?.flapping, { state: 'started', changes: 5, spanMs: 20_000, windowMs: W });
    // Two more changes, and the all-down this server causes: held.
    clock.advanceSync(5_000);
    assert.equal(flip(5), undefined);
    clock.advanceSync(5_000);
    assert.equal(damper.filter(healthEvent('all-down', 'web-2', 'http://localhost:9001', { healthy: 0 })), undefined);
    assert.equal(flip(6), undefined); // down again, at t = 30 s
    assert.equal(damper.suppressed, 3);
    assert.deepEqual(damper.flapping(), ['http://localhost:9001']);
    // Another server is not affected.
    assert.equal(flip(1, 'web-3', 'http://localhost:9002')?.flapping, undefined);

    clock.advanceSync(W - 1);
    assert.equal(summaries.length, 0, 'no summary before the server is stable for W');
    clock.advanceSync(1);
    assert.equal(summaries.length, 1);
    const s = summaries[0];
    assert.equal(s?.event.type, 'server-down', 'summary carries the final state');
    assert.equal(s?.event.time, clock.epoch());
    assert.deepEqual(s?.flapping, { state: 'ended', changes: 7, spanMs: 30_000, windowMs: W });
    assert.deepEqual(damper.flapping(), []);

    // Back to normal: the next change passes.
    assert.equal(flip(7)?.flapping, undefined);
    clock.advanceSync(10 * W);
    assert.equal(summaries.length, 1, 'exactly one summary');
  });

  it('restarts the calm period at every held change', () => {
    const { clock, summaries, flip } = setup();
    for (let i = 0; i < 5; i++) flip(i);
    for (let i = 5; i < 12; i++) {
      clock.advanceSync(W - 1_000);
      assert.equal(flip(i), undefined);
    }
    assert.equal(summaries.length, 0);
    clock.advanceSync(W);
    assert.equal(summaries.length, 1);
    assert.equal(summaries[0]?.flapping?.changes, 12);
    assert.equal(summaries[0]?.event.type, 'server-up');
  });

  it('close() cancels pending summaries', () => {
    const { clock, summaries, damper, flip } = setup();
    for (let i = 0; i < 5; i++) flip(i);
    damper.close();
    assert.equal(clock.pending, 0);
    clock.advanceSync(2 * W);
    assert.equal(summaries.length, 0);
  });
});
