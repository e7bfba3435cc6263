import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HealthEvents } from '../../../src/control/health/events.js';
import { Notifier } from '../../../src/control/notify/notifier.js';
import { recordingLogger } from '../../helpers/logger.js';
import { healthEvent, notifiers, startReceiver } from './helpers.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

const balancer = { name: 'edge', addr: ':8000' };

describe('slow and dead receivers', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('a hanging receiver never blocks publish; the queue stays bounded and drops are logged', async () => {
    const rx = await startReceiver(() => 'hang');
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'webhook', url: rx.url, queueSize: 3, timeout: 300, retries: 0, flapping: { enabled: false } }]),
    });

    for (let i = 0; i < 50; i++) {
      // publish() is synchronous: it returns before any network work has started.
      const r: unknown = events.publish(healthEvent(i % 2 === 0 ? 'server-down' : 'server-up', `web-${i}`, `http://localhost:${9000 + i}`));
      assert.equal(r, undefined);
      const st = notifier.stats()[0];
      assert.ok(st !== undefined && st.queued <= 3, `queue bounded at 3 after publish ${i} (had ${st?.queued})`);
    }
    assert.equal(rx.requests.length, 0, 'nothing sent during the publishing loop');
    const st = notifier.stats()[0];
    assert.equal(st?.queued, 3);
    assert.equal(st?.dropped, 47, 'oldest dropped beyond the queue size');
    const drops = logger.entries.filter((e) => e.msg.startsWith('notification queue full'));
    assert.equal(drops.length, 47);
    assert.equal(drops[0]?.level, 'warn');
    assert.equal(drops[0]?.obj['server'], 'http://localhost:9000', 'the oldest goes first');

    // The newest three are the ones kept; the sender is now stuck on the first of them.
    await waitFor(() => rx.requests.length === 1, 'the first kept message to reach the hanging receiver', 20_000);
    assert.match(rx.requests[0]?.body ?? '', /web-47/);
    // More events still return at once and still respect the bound.
    for (let i = 0; i < 10; i++) events.publish(healthEvent('server-down', `late-${i}`, `http://localhost:${8000 + i}`));
    assert.equal(notifier.stats()[0]?.queued, 3);
    assert.equal(notifier.stats()[0]?.sending, true);

    // close() gives up at its deadline: aborts the stuck request, drops what is left.
    const report = await notifier.close(50);
    assert.equal(report.flushed, false);
    assert.equal(report.stats[0]?.queued, 0);
    // 47 before; the sender took one, so 9 of the 10 late ones overflowed; 3 left at close.
    assert.equal(report.stats[0]?.dropped, 47 + 9 + 3);
    assert.equal(report.stats[0]?.failed, 1);
    const closedFail = logger.entries.find((e) => e.msg === 'notification failed; dropped');
    assert.equal(closedFail?.obj['code'], 'E_NOTIFY_CLOSED');
    assert.equal(logger.entries.filter((e) => e.msg === 'notifier closing; dropped unsent message').length, 3);
    // After close, publishing is a no-op.
    events.publish(healthEvent('server-down'));
    assert.equal(notifier.stats()[0]?.queued, 0);
  });

  it('times out a hanging receiver and retries with backoff, then drops with a log line', async () => {
    const rx = await startReceiver(() => 'hang');
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'webhook', url: rx.url, timeout: 0.1, retries: 1, retryDelay: 0.01 }]),
    });
    cleanup.push(() => notifier.close(0));
    events.publish(healthEvent('server-down'));
    await waitFor(() => logger.entries.some((e) => e.msg === 'notification failed; dropped'), 'the failure log line', 20_000);
    const fail = logger.entries.find((e) => e.msg === 'notification failed; dropped');
    assert.equal(fail?.obj['code'], 'E_NOTIFY_TIMEOUT');
    assert.equal(fail?.obj['attempts'], 2);
    const retry = logger.entries.find((e) => e.msg === 'notification attempt failed; will retry');
    assert.equal(retry?.obj['delayMs'], 10);
    await waitFor(() => rx.requests.length === 2, 'both attempts to be seen by the receiver', 20_000);
  });

  it('a dead receiver (connection refused) is retried with exponential backoff, then dropped', async () => {
    const port = await freePort();
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'webhook', url: `http://127.0.0.1:${port}/hook`, retries: 3, retryDelay: 0.005 }]),
    });
    cleanup.push(() => notifier.close(0));
    events.publish(healthEvent('server-down'));
    await waitFor(() => notifier.stats()[0]?.failed === 1, 'the delivery to fail', 20_000);
    const delays = logger.entries.filter((e) => e.msg === 'notification attempt failed; will retry').map((e) => e.obj['delayMs']);
    assert.deepEqual(delays, [5, 10, 20]);
    const fail = logger.entries.find((e) => e.msg === 'notification failed; dropped');
    assert.equal(fail?.obj['code'], 'E_NOTIFY_NETWORK');
    assert.equal(fail?.obj['attempts'], 4);
    assert.match(String(fail?.obj['error']), /ECONNREFUSED/);
  });

  it('honours Retry-After, capped by the retry policy', async () => {
    const rx = await startReceiver((_, i) => (i === 0 ? { status: 429, headers: { 'retry-after': '0' } } : { status: 204 }));
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, { balancer, logger, notifiers: notifiers([{ type: 'webhook', url: rx.url, retryDelay: 0.01 }]) });
    events.publish(healthEvent('server-down'));
    const report = await notifier.close(20_000);
    assert.equal(report.stats[0]?.sent, 1);
    assert.equal(rx.requests.length, 2);
  });
});
