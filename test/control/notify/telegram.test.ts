import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { HealthEvents } from '../../../src/control/health/events.js';
import { Notifier } from '../../../src/control/notify/notifier.js';
import { recordingLogger } from '../../helpers/logger.js';
import { healthEvent, notifiers, startFakeTelegram } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

const balancer = { name: 'edge', addr: ':8000' };
const TOKEN = '123456:TEST-token_x';

describe('telegram notifier', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  after(async () => {
    for (const c of cleanup.reverse()) await c();
  });

  it('calls sendMessage on the configured apiBase with chat_id and plain text', async () => {
    const tg = await startFakeTelegram(TOKEN);
    cleanup.push(() => tg.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'telegram', botToken: '${TG_TOKEN}', chatId: -1001234567890, apiBase: `${tg.url}/` }], { TG_TOKEN: TOKEN }),
    });
    cleanup.push(() => notifier.close(1000));
    events.publish(healthEvent('server-down', 'web_2*', 'http://localhost:9001'));
    events.publish(healthEvent('server-up', 'web_2*', 'http://localhost:9001'));
    await waitFor(() => notifier.stats()[0]?.sent === 2, 'two messages sent', 20_000);
    assert.equal(tg.requests.length, 2);
    const [down, up] = tg.requests.map((r) => ({ url: r.url, method: r.method, ct: r.headers['content-type'], body: JSON.parse(r.body) as unknown }));
    assert.deepEqual(down, {
      url: `/bot${TOKEN}/sendMessage`,
      method: 'POST',
      ct: 'application/json; charset=utf-8',
      body: { chat_id: -1001234567890, text: '🔴 server web_2* (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy' },
    });
    assert.deepEqual(up?.body, { chat_id: -1001234567890, text: '🟢 server web_2* (http://localhost:9001) is UP: 2 successful checks — 4/4 healthy' });
    // The token never reaches the logs.
    assert.ok(!JSON.stringify(logger.entries).includes(TOKEN));
    assert.equal(notifier.stats()[0]?.target, `${new URL(tg.url).host} chat -1001234567890`);
  });

  it('waits retry_after on 429, and does not retry a refused message', async () => {
    const tg = await startFakeTelegram(TOKEN, (i) =>
      i === 0
        ? { status: 429, body: JSON.stringify({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 0', parameters: { retry_after: 0 } }) }
        : i === 2
          ? { status: 400, body: JSON.stringify({ ok: false, error_code: 400, description: 'Bad Request: chat not found' }) }
          : undefined,
    );
    cleanup.push(() => tg.close());
    const events = new HealthEvents();
    const logger = recordingLogger();
    const notifier = new Notifier(events, {
      balancer,
      logger,
      notifiers: notifiers([{ type: 'telegram', botToken: TOKEN, chatId: '@ops', apiBase: tg.url, retryDelay: 0.01 }]),
    });
    events.publish(healthEvent('server-down'));
    events.publish(healthEvent('server-up'));
    const report = await notifier.close(20_000);
    assert.equal(tg.requests.length, 3);
    assert.deepEqual([report.stats[0]?.sent, report.stats[0]?.failed], [1, 1]);
    const fail = logger.entries.find((e) => e.msg === 'notification failed; dropped');
    assert.equal(fail?.obj['code'], 'E_NOTIFY_TELEGRAM');
    assert.equal(fail?.obj['attempts'], 1);
    assert.match(String(fail?.obj['error']), /HTTP 400: Bad Request: chat not found \(check chatId/);
  });
});
