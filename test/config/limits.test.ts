import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { defaultMaxConnections, softFdLimit } from '../../src/config/limits.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';

const base = { servers: [{ addr: 'http://a.example' }] };
const parse = (extra: Record<string, unknown>) => parseConfig(JSON.stringify({ ...base, ...extra }), 'x.json');
function problems(extra: Record<string, unknown>): string {
  try {
    parse(extra);
  } catch (e) {
    if (e instanceof ConfigError) return e.problems.join('\n');
    throw e;
  }
  assert.fail('config accepted');
}

describe('limits and the request head timeout', () => {
  test('defaults: 100 header lines, Kestrel rates, a 30 s head deadline, a cap from the fd limit', () => {
    const c = parse({});
    assert.equal(c.timeouts.requestHeadMs, 30_000);
    assert.equal(c.limits.maxHeaders, 100);
    assert.deepEqual(c.limits.minRequestBodyRate, { bytesPerSecond: 240, graceMs: 5000 });
    assert.deepEqual(c.limits.minResponseRate, { bytesPerSecond: 240, graceMs: 5000 });
    assert.equal(c.limits.maxConnections, defaultMaxConnections(softFdLimit()));
    assert.equal(c.limits.maxConnectionsDerived, true);
  });

  test('rates can be set or turned off; the cap set by hand', () => {
    const c = parse({ limits: { maxConnections: 50, minRequestBodyRate: false, minResponseRate: { bytesPerSecond: 1000 } } });
    assert.equal(c.limits.maxConnections, 50);
    assert.equal(c.limits.maxConnectionsDerived, false);
    assert.equal(c.limits.minRequestBodyRate, undefined);
    assert.deepEqual(c.limits.minResponseRate, { bytesPerSecond: 1000, graceMs: 5000 });
  });

  test('the fd limit is read from /proc/self/limits; the cap leaves room for upstream sockets', () => {
    const text = 'Limit                     Soft Limit           Hard Limit           Units\nMax open files            1024                 4096                 files\n';
    assert.equal(softFdLimit(() => text), 1024);
    assert.equal(softFdLimit(() => text.replace('1024  ', 'unlimited')), Number.MAX_SAFE_INTEGER);
    assert.equal(softFdLimit(() => { throw new Error('ENOENT'); }), 1024);
    assert.equal(defaultMaxConnections(1024), 462);
    assert.equal(defaultMaxConnections(256), 78);
    assert.equal(defaultMaxConnections(50), 1);
  });

  test('bad values name the field and what is allowed', () => {
    assert.match(problems({ limits: { maxConnections: 0 } }), /^x\.json: limits\.maxConnections: 0 is not a whole number of at least 1/);
    assert.match(problems({ limits: { maxHeaders: 2.5 } }), /^x\.json: limits\.maxHeaders: 2\.5 is not a whole number of at least 1/);
    assert.match(problems({ limits: { minResponseRate: true } }), /limits\.minResponseRate: true is not false or an object like \{ "bytesPerSecond": 240, "grace": 5 \}/);
    assert.match(problems({ limits: { minResponseRate: { bytesPerSecond: -1 } } }), /limits\.minResponseRate\.bytesPerSecond: -1 is not a whole number of at least 1/);
    assert.match(problems({ limits: { minResponseRate: { bytesPerSecnd: 3 } } }), /unknown key \(did you mean "bytesPerSecond"\?\)/);
    assert.match(problems({ limits: { maxHeadrs: 2 } }), /limits\.maxHeadrs: unknown key \(did you mean "maxHeaders"\?\)/);
    assert.match(problems({ timeouts: { requestHead: 0 } }), /timeouts\.requestHead: 0 is not a positive number/);
  });
});
