import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffMs, renewalTime, warningTime } from '../../../src/tls/acme/renewal.js';

const DAY = 86_400_000;

test('renewal is due when a third of the lifetime remains', () => {
  assert.equal(renewalTime({ notBefore: 0, notAfter: 90 * DAY }), 60 * DAY); // Let's Encrypt: 30 days before the end
  assert.equal(renewalTime({ notBefore: 0, notAfter: 6 * DAY }), 4 * DAY); // short-lived: 2 days before
  assert.equal(renewalTime({ notBefore: 1000, notAfter: 3_601_000 }), 2_401_000);
});

test('backoff: 1 min doubling, capped at 1 h', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 100].map(backoffMs), [60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000, 3_600_000]);
  assert.equal(backoffMs(0), 0);
});

test('close to expiry: 7 days before the end, or a sixth of a short lifetime', () => {
  assert.equal(warningTime({ notBefore: 0, notAfter: 90 * DAY }), 83 * DAY);
  assert.equal(warningTime({ notBefore: 0, notAfter: 6 * DAY }), 5 * DAY);
  for (const life of [3_600_000, 6 * DAY, 90 * DAY]) {
    const v = { notBefore: 0, notAfter: life };
    assert.ok(warningTime(v) > renewalTime(v), 'a certificate is due for renewal before it is close to expiry');
  }
});
