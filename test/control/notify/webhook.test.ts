import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { HealthEvents } from '../../../src/control/health/events.js';
import { Notifier } from '../../../src/control/notify/notifier.js';
import type { WebhookBody } from '../../../src/control/notify/payload.js';
import { verifySignature } from '../../../src/control/notify/signature.js';
import { recordingLogger } from '../../helpers/logger.js';
import { healthEvent, notifiers, startReceiver } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

const balancer = { name: 'edge', addr: '127.0.0.1:8000' };

describe('webhook notifier', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('POSTs signed down and up messages with the documented body and custom headers', async () => {
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers(
        [{ type: 'webhook', name: 'hook', url: `${rx.url}/hooks/balancer?x=1`, secret: '${HOOK_SECRET}', headers: { Authorization: 'Bearer ${HOOK_TOKEN}' } }],
        { HOOK_SECRET: 'wh-secret', HOOK_TOKEN: 'tok-1' },
      ),
    });
    cleanup.push(() => notifier.close(1000));

    events.publish(healthEvent('server-down'));
    events.publish(healthEvent('server-up', 'web-2', 'http://localhost:9001', { time: Date.UTC(2025, 0, 15, 12, 1, 0) }));
    await waitFor(() => rx.requests.length === 2, 'two webhook requests', 20_000);

    const [down, up] = rx.requests;
    assert.ok(down && up);
    for (const r of [down, up]) {
      assert.equal(r.method, 'POST');
      assert.equal(r.url, '/hooks/balancer?x=1');
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assert.equal(r.headers['authorization'], 'Bearer tok-1');
      // The signature is HMAC-SHA256 over "<timestamp>.<raw body>", as documented.
      const ts = String(r.headers['x-balancer-timestamp']);
      assert.match(ts, /^\d+$/);
      const expected = `sha256=${createHmac('sha256', 'wh-secret').update(`${ts}.${r.body}`).digest('hex')}`;
      assert.equal(r.headers['x-balancer-signature'], expected);
      assert.ok(verifySignature('wh-secret', r.body, expected, ts, Number(ts)));
      assert.ok(!verifySignature('other-secret', r.body, expected, ts, Number(ts)));
      assert.ok(!verifySignature('wh-secret', `${r.body} `, expected, ts, Number(ts)), 'a changed body fails');
      assert.ok(!verifySignature('wh-secret', r.body, expected, ts, Number(ts) + 301), 'an old timestamp fails');
    }
    const d = JSON.parse(down.body) as WebhookBody;
    assert.equal(down.headers['x-balancer-event'], 'server-down');
    assert.equal(down.headers['x-balancer-delivery'], d.id);
    assert.deepEqual({ ...d, id: 'ID' }, {
      id: 'ID',
      event: 'server-down',
      server: { name: 'web-2', addr: 'http://localhost:9001' },
      reason: '3 failed checks, last: ECONNREFUSED',
      time: '2025-01-15T12:00:00.000Z',
      healthy: 3,
      total: 4,
      balancer,
      message: '🔴 server web-2 (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy',
      test: false,
      flapping: null,
    });
    const u = JSON.parse(up.body) as WebhookBody;
    assert.equal(u.event, 'server-up');
    assert.equal(u.time, '2025-01-15T12:01:00.000Z');
    assert.equal(u.message, '🟢 server web-2 (http://localhost:9001) is UP: 2 successful checks — 4/4 healthy');
    assert.notEqual(u.id, d.id);

    await waitFor(() => logger.entries.filter((e) => e.msg === 'notification sent').length === 2, 'two "sent" log lines', 20_000);
    const st = notifier.stats()[0];
    assert.equal(st?.sent, 2);
    assert.equal(st?.target, rx.url, 'logs name the origin only, not the path');
  });

  it('sends only the configured events, and no signature without a secret', async () => {
    const rx = await startReceiver();
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const notifier = new Notifier(events, {
      balancer,
      logger: recordingLogger(),
      notifiers: notifiers([{ type: 'webhook', url: rx.url, events: ['all-down', 'recovered'] }]),
    });
    events.publish(healthEvent('server-down'));
    events.publish(healthEvent('all-down', 'web-2', 'http://localhost:9001', { healthy: 0 }));
    events.publish(healthEvent('server-up'));
    const report = await notifier.close(20_000);
    assert.equal(report.flushed, true);
    assert.equal(rx.requests.length, 1);
    assert.equal((JSON.parse(rx.requests[0]?.body ?? '{}') as WebhookBody).event, 'all-down');
    assert.equal(rx.requests[0]?.headers['x-balancer-signature'], undefined);
    assert.equal(rx.requests[0]?.headers['x-balancer-timestamp'], undefined);
  });

  it('retries 5xx with the same delivery id, and gives up at once on other 4xx', async () => {
    const rx = await startReceiver((_, i) => (i < 2 ? { status: 503, body: 'busy' } : i === 2 ? { status: 200 } : { status: 400, body: 'no thanks' }));
    cleanup.push(() => rx.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'webhook', url: rx.url, retries: 3, retryDelay: 0.01 }]),
    });
    events.publish(healthEvent('server-down'));
    events.publish(healthEvent('server-up'));
    const report = await notifier.close(20_000);
    assert.equal(report.flushed, true);
    assert.equal(rx.requests.length, 4, '3 tries of the first message, 1 of the second');
    const ids = rx.requests.map((r) => r.headers['x-balancer-delivery']);
    assert.equal(ids[0], ids[1]);
    assert.equal(ids[1], ids[2]);
    assert.notEqual(ids[2], ids[3]);
    assert.deepEqual([report.stats[0]?.sent, report.stats[0]?.failed], [1, 1]);
    const sent = logger.entries.find((e) => e.msg === 'notification sent');
    assert.equal(sent?.obj['attempts'], 3);
    const failed = logger.entries.find((e) => e.msg === 'notification failed; dropped');
    assert.equal(failed?.level, 'warn');
    assert.equal(failed?.obj['code'], 'E_NOTIFY_HTTP');
    assert.equal(failed?.obj['attempts'], 1);
    assert.match(String(failed?.obj['error']), /answered HTTP 400: no thanks/);
  });
});
