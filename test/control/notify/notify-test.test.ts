import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { WebhookBody } from '../../../src/control/notify/payload.js';
import { formatNotifyTestResults, notifyTest, notifyTestExitCode } from '../../../src/control/notify/notify-test.js';
import { recordingLogger } from '../../helpers/logger.js';
import { notifiers, startFakeTelegram, startReceiver } from './helpers.js';
import { freePort } from '../../helpers/ports.js';

describe('notifyTest', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('sends one test message to every notifier and reports each result', async () => {
    const rx = await startReceiver();
    const tg = await startFakeTelegram('1:good');
    cleanup.push(() => rx.close(), () => tg.close());
    const port = await freePort();
    const config = {
      name: 'edge',
      addr: ':8000',
      servers: [{}, {}, {}],
      notifications: notifiers([
        { type: 'webhook', name: 'n8n', url: `${rx.url}/webhook/balancer`, events: ['recovered'] },
        { type: 'telegram', name: 'tg-ok', botToken: '1:good', chatId: 42, apiBase: tg.url },
        { type: 'telegram', name: 'tg-bad-token', botToken: '1:bad', chatId: 42, apiBase: tg.url },
        { type: 'webhook', name: 'dead', url: `http://127.0.0.1:${port}/`, retries: 5 },
      ]),
    };
    const results = await notifyTest(config, recordingLogger());
    assert.deepEqual(
      results.map((r) => [r.name, r.ok, r.code]),
      [
        ['n8n', true, undefined],
        ['tg-ok', true, undefined],
        ['tg-bad-token', false, 'E_NOTIFY_TELEGRAM'],
        ['dead', false, 'E_NOTIFY_NETWORK'],
      ],
    );
    assert.equal(rx.requests.length, 1, 'events filter does not apply to the test');
    const body = JSON.parse(rx.requests[0]?.body ?? '{}') as WebhookBody;
    assert.equal(body.test, true);
    assert.equal(body.event, 'server-down');
    assert.equal(body.server.name, 'notify-test');
    assert.equal(body.healthy, 3);
    assert.equal(body.total, 4);
    assert.match(body.message, /^🧪 TEST from edge \(:8000\): 🔴 server notify-test/);
    assert.equal(tg.requests.length, 2, 'one attempt each, no retries');

    const text = formatNotifyTestResults(results);
    const lines = text.split('\n');
    assert.equal(lines.length, 4);
    assert.match(lines[0] ?? '', /^ok {4}n8n \(webhook http:\/\/127\.0\.0\.1:\d+\)$/);
    assert.match(lines[2] ?? '', /^FAIL {2}tg-bad-token \(telegram 127\.0\.0\.1:\d+ chat 42\): telegram .*HTTP 404: Not Found \(check botToken and apiBase\)$/);
    assert.match(lines[3] ?? '', /^FAIL {2}dead .*ECONNREFUSED/);
    assert.ok(!text.includes('1:bad'), 'the token is not printed');
    assert.equal(notifyTestExitCode(results), 1);
    assert.equal(notifyTestExitCode(results.slice(0, 2)), 0);
  });

  it('says so when nothing is configured', async () => {
    const results = await notifyTest({ name: 'edge', addr: ':8000', notifications: [] }, recordingLogger());
    assert.deepEqual(results, []);
    assert.match(formatNotifyTestResults(results), /no notifiers configured/);
    assert.equal(notifyTestExitCode(results), 1);
  });
});

describe('logger', () => {
  it('a pino logger fits LogSink (the CLI passes its own)', async () => {
    const { pino } = await import('pino');
    const logger: import('../../../src/util/logger.js').LogSink = pino({ level: 'silent' });
    const results = await notifyTest({ name: 'edge', addr: ':8000', notifications: [] }, logger);
    assert.deepEqual(results, []);
  });
});
