import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HealthEvents } from '../../../src/control/health/events.js';
import { Notifier } from '../../../src/control/notify/notifier.js';
import type { WebhookBody } from '../../../src/control/notify/payload.js';
import { FakeClock } from '../../helpers/clock.js';
import { recordingLogger } from '../../helpers/logger.js';
import { healthEvent, notifiers, startReceiver } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

describe('Notifier with flapping damping (injected clock)', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('damps a flapping server and sends one summary once it is stable', async () => {
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const clock = new FakeClock(Date.UTC(2025, 0, 15, 12, 0, 0));
    const events = new HealthEvents();
    const notifier = new Notifier(events, {
      balancer: { name: 'edge', addr: ':8000' },
      logger: recordingLogger(),
      clock,
      notifiers: notifiers([{ type: 'webhook', url: rx.url, flapping: { changes: 4, window: 120 } }]),
    });
    cleanup.push(() => notifier.close(1000));
    const body = (i: number) => JSON.parse(rx.requests[i]?.body ?? '{}') as WebhookBody;

    // 7 changes, 10 s apart: 4 pass, the 5th is marked "flapping", the last 2 are held.
    for (let i = 0; i < 7; i++) {
      events.publish(healthEvent(i % 2 === 0 ? 'server-down' : 'server-up', 'web-2', 'http://localhost:9001', { time: clock.epoch() }));
      clock.advanceSync(10_000);
    }
    await waitFor(() => notifier.stats()[0]?.sent === 5, 'five messages', 20_000);
    assert.equal(body(4).flapping?.state, 'started');
    assert.match(body(4).message, /flapping \(5 changes in 40 s\)/);
    assert.equal(notifier.stats()[0]?.suppressed, 2);

    // Last change was at t=60 s; now t=70 s. Stable until t=180 s: summary then, not before.
    clock.advanceSync(109_000);
    assert.equal(notifier.stats()[0]?.queued, 0);
    assert.equal(notifier.stats()[0]?.sending, false);
    assert.equal(rx.requests.length, 5);
    clock.advanceSync(1_000);
    await waitFor(() => rx.requests.length === 6, 'the summary', 20_000);
    const s = body(5);
    assert.equal(s.event, 'server-down');
    assert.deepEqual(s.flapping, { state: 'ended', changes: 7, seconds: 60, windowSeconds: 120 });
    assert.equal(s.message, '🟡 server web-2 (http://localhost:9001) flapped 7 times in 1 min, now DOWN — 3/4 healthy');
    assert.equal(s.time, new Date(clock.epoch()).toISOString());
  });
});
