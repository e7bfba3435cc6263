import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RetryBudget } from '../../../src/control/health/retry-budget.js';
import { decideRetry, failureKind, retryAllowed, type FailureKind, type RetryInput } from '../../../src/control/health/retry.js';

const input = (method: string, kind: FailureKind, extra: Partial<RetryInput> = {}): RetryInput => ({
  method,
  kind,
  bodyReplayable: true,
  attempts: 1,
  ...extra,
});

test('any method is retried when the backend never accepted the connection', () => {
  for (const m of ['GET', 'POST', 'PATCH', 'put', 'CONNECT']) assert.deepEqual(retryAllowed(input(m, 'connect')), { retry: true }, m);
});

test('idempotent methods are retried after a reset or a timeout before response headers; others are not', () => {
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE', 'get']) {
    for (const k of ['reset', 'timeout'] as const) assert.equal(retryAllowed(input(m, k)).retry, true, `${m} ${k}`);
  }
  for (const m of ['POST', 'PATCH']) {
    for (const k of ['reset', 'timeout'] as const) {
      const d = retryAllowed(input(m, k));
      assert.equal(!d.retry && d.code, 'E_RETRY_NOT_IDEMPOTENT', `${m} ${k}`);
    }
  }
});

test('nothing is retried after a response byte', () => {
  for (const m of ['GET', 'POST']) {
    const d = retryAllowed(input(m, 'response'));
    assert.equal(!d.retry && d.code, 'E_RETRY_AFTER_RESPONSE');
  }
});

test('a streamed (not kept) body cannot be replayed', () => {
  const d = retryAllowed(input('PUT', 'connect', { bodyReplayable: false }));
  assert.equal(!d.retry && d.code, 'E_RETRY_BODY_NOT_KEPT');
});

test('attempts are limited (default 3 in all)', () => {
  assert.equal(retryAllowed(input('GET', 'connect', { attempts: 2 })).retry, true);
  const d = retryAllowed(input('GET', 'connect', { attempts: 3 }));
  assert.equal(!d.retry && d.code, 'E_RETRY_ATTEMPTS');
  assert.equal(retryAllowed(input('GET', 'connect', { attempts: 3 }), 5).retry, true);
});

test('budget: at least minPerSecond x window even without traffic', () => {
  const clock = { t: 0 };
  const b = new RetryBudget(() => clock.t, { ratio: 0.2, minPerSecond: 1, windowMs: 10_000 });
  let n = 0;
  while (b.tryWithdraw()) n++;
  assert.equal(n, 10);
});

test('budget: ratio of requests on top of the minimum', () => {
  const clock = { t: 0 };
  const b = new RetryBudget(() => clock.t, { ratio: 0.2, minPerSecond: 0.5, windowMs: 10_000 });
  for (let i = 0; i < 100; i++) b.recordRequest();
  let n = 0;
  while (b.tryWithdraw()) n++;
  assert.equal(n, 5 + 20);
  assert.ok(b.balance() < 1);
});

test('budget: spent retries come back as the window slides', () => {
  const clock = { t: 0 };
  const b = new RetryBudget(() => clock.t, { ratio: 0, minPerSecond: 1, windowMs: 10_000 });
  let n = 0;
  while (b.tryWithdraw()) n++;
  assert.equal(n, 10);
  clock.t = 5000;
  assert.equal(b.tryWithdraw(), false, 'still inside the window');
  clock.t = 10_000;
  assert.equal(b.tryWithdraw(), true, 'the first bucket slid out');
  clock.t = 100_000;
  assert.equal(b.balance(), 10, 'a long pause resets everything');
});

test('decideRetry checks the rules first and only then takes from the budget', () => {
  const clock = { t: 0 };
  const b = new RetryBudget(() => clock.t, { ratio: 0, minPerSecond: 0.1, windowMs: 10_000 }); // 1 retry
  const refused = decideRetry(input('POST', 'reset'), b);
  assert.equal(!refused.retry && refused.code, 'E_RETRY_NOT_IDEMPOTENT');
  assert.equal(b.balance(), 1, 'a refused retry takes nothing');
  assert.deepEqual(decideRetry(input('GET', 'reset'), b), { retry: true });
  const spent = decideRetry(input('GET', 'reset'), b);
  assert.equal(!spent.retry && spent.code, 'E_RETRY_BUDGET');
});

test('failureKind classifies node and undici errors', () => {
  const err = (code: string) => Object.assign(new Error(code), { code });
  const before = { responseStarted: false };
  assert.equal(failureKind(err('ECONNREFUSED'), before), 'connect');
  assert.equal(failureKind(err('UND_ERR_CONNECT_TIMEOUT'), before), 'connect');
  assert.equal(failureKind(err('ENOTFOUND'), before), 'connect');
  assert.equal(failureKind(err('DEPTH_ZERO_SELF_SIGNED_CERT'), before), 'connect');
  assert.equal(failureKind(new Error('fetch failed', { cause: err('ECONNREFUSED') }), before), 'connect');
  assert.equal(failureKind(err('ECONNRESET'), before), 'reset');
  assert.equal(failureKind(err('UND_ERR_SOCKET'), before), 'reset');
  assert.equal(failureKind(err('ETIMEDOUT'), before), 'reset', 'not trusted to mean never connected');
  assert.equal(failureKind(err('ETIMEDOUT'), { responseStarted: false, connected: false }), 'connect');
  assert.equal(failureKind(err('UND_ERR_HEADERS_TIMEOUT'), before), 'timeout');
  assert.equal(failureKind(new Error('weird'), before), 'reset');
  assert.equal(failureKind(err('ECONNREFUSED'), { responseStarted: true }), 'response');
});
