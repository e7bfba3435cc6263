import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CheckState } from '../../../src/control/health/state.js';

const PASS = { ok: true } as const;
const fail = (reason: string) => ({ ok: false, reason }) as const;

test('the first check settles an unknown server at once', () => {
  const up = new CheckState(2, 3);
  assert.equal(up.status, 'unknown');
  assert.equal(up.isUp, true, 'unknown servers take traffic');
  assert.equal(up.record(PASS, 0), undefined, 'unknown -> up changes nothing visible');
  assert.equal(up.status, 'up');

  const down = new CheckState(2, 3);
  assert.deepEqual(down.record(fail('ECONNREFUSED'), 5), { to: 'down', reason: 'first check failed: ECONNREFUSED' });
  assert.equal(down.isUp, false);
  assert.equal(down.lastChangeAt, 5);
});

test('fall: an up server goes down after `fall` consecutive failures, with the last error', () => {
  const s = new CheckState(2, 3);
  s.record(PASS, 0);
  assert.equal(s.record(fail('ECONNREFUSED'), 10), undefined);
  assert.equal(s.record(fail('timeout after 2000 ms'), 20), undefined);
  assert.equal(s.consecutiveFails, 2);
  assert.deepEqual(s.record(fail('ECONNREFUSED'), 30), { to: 'down', reason: '3 failed checks, last: ECONNREFUSED' });
  assert.equal(s.lastChangeAt, 30);
  assert.equal(s.record(fail('ECONNREFUSED'), 40), undefined, 'already down: no second transition');
});

test('a pass in between restarts the failure count', () => {
  const s = new CheckState(2, 3);
  s.record(PASS, 0);
  s.record(fail('status 500'), 1);
  s.record(fail('status 500'), 2);
  s.record(PASS, 3);
  assert.equal(s.record(fail('status 500'), 4), undefined);
  assert.equal(s.record(fail('status 500'), 5), undefined);
  assert.equal(s.status, 'up');
  assert.deepEqual(s.record(fail('status 500'), 6), { to: 'down', reason: '3 failed checks, last: status 500' });
});

test('rise: a down server comes back after `rise` consecutive passes; a failure restarts the count', () => {
  const s = new CheckState(2, 1);
  s.record(fail('ECONNREFUSED'), 0);
  assert.equal(s.record(PASS, 1), undefined);
  assert.equal(s.record(fail('ECONNRESET'), 2), undefined);
  assert.equal(s.record(PASS, 3), undefined);
  assert.deepEqual(s.record(PASS, 4), { to: 'up', reason: '2 passed checks' });
  assert.equal(s.lastError, 'ECONNRESET', 'the last error is kept for admins after recovery');
  assert.equal(s.lastCheckAt, 4);
});

test('rise 1 / fall 1 flip on every change, with singular wording', () => {
  const s = new CheckState(1, 1);
  s.record(PASS, 0);
  assert.deepEqual(s.record(fail('ECONNREFUSED'), 1), { to: 'down', reason: '1 failed check, last: ECONNREFUSED' });
  assert.deepEqual(s.record(PASS, 2), { to: 'up', reason: '1 passed check' });
});
