import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatMessage } from '../../../src/control/notify/message.js';
import { webhookBody } from '../../../src/control/notify/payload.js';
import { healthEvent } from './helpers.js';

const balancer = { name: 'edge', addr: ':8000' };

describe('messages', () => {
  it('formats each event type as one plain line', () => {
    const msg = (t: Parameters<typeof healthEvent>[0], more = {}) => formatMessage({ id: 'x', event: healthEvent(t, 'web-2', 'http://localhost:9001', more) }, balancer);
    assert.equal(msg('server-down'), '🔴 server web-2 (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy');
    assert.equal(msg('server-up'), '🟢 server web-2 (http://localhost:9001) is UP: 2 successful checks — 4/4 healthy');
    assert.equal(msg('all-down', { healthy: 0 }), '🚨 ALL servers of edge are DOWN, last: web-2 (http://localhost:9001): 3 failed checks, last: ECONNREFUSED — 0/4 healthy');
    assert.equal(msg('recovered', { healthy: 1 }), '✅ edge recovered: server web-2 (http://localhost:9001) is UP: 2 successful checks — 1/4 healthy');
    assert.equal(msg('server-up', { reason: '' }), '🟢 server web-2 (http://localhost:9001) is UP — 4/4 healthy');
  });

  it('formats flapping start, summary and test messages', () => {
    const e = healthEvent('server-up');
    const f = { changes: 7, spanMs: 95_000, windowMs: 120_000 };
    assert.equal(
      formatMessage({ id: 'x', event: e, flapping: { state: 'ended', ...f } }, balancer),
      '🟡 server web-2 (http://localhost:9001) flapped 7 times in 1 min 35 s, now UP — 4/4 healthy',
    );
    assert.equal(
      formatMessage({ id: 'x', event: healthEvent('server-down'), flapping: { state: 'started', changes: 5, spanMs: 40_000, windowMs: 120_000 } }, balancer),
      '🔴 server web-2 (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy — flapping (5 changes in 40 s): further messages about this server are held until it is stable for 2 min',
    );
    assert.match(formatMessage({ id: 'x', event: e, test: true }, balancer), /^🧪 TEST from edge \(:8000\): 🟢 server web-2/);
  });

  it('formats durations', () => {
    assert.deepEqual([0, 999, 45_000, 60_000, 95_000, 600_000, 3_600_000, 3_900_000].map(formatDuration), [
      '0 s',
      '1 s',
      '45 s',
      '1 min',
      '1 min 35 s',
      '10 min',
      '1 h',
      '1 h 5 min',
    ]);
  });

  it('builds the documented webhook body', () => {
    const body = webhookBody({ id: 'd-1', event: healthEvent('server-down') }, balancer);
    assert.deepEqual(body, {
      id: 'd-1',
      event: 'server-down',
      server: { name: 'web-2', addr: 'http://localhost:9001' },
      reason: '3 failed checks, last: ECONNREFUSED',
      time: '2025-01-15T12:00:00.000Z',
      healthy: 3,
      total: 4,
      balancer: { name: 'edge', addr: ':8000' },
      message: '🔴 server web-2 (http://localhost:9001) is DOWN: 3 failed checks, last: ECONNREFUSED — 3/4 healthy',
      test: false,
      flapping: null,
    });
  });
});
