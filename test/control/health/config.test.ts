import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { formatIssue } from '../../../src/config/format.js';
import { backupField, healthCheckField, healthCheckSchema, resolveHealthConfig } from '../../../src/control/health/config.js';
import { formatStatusRanges, parseStatusSpec, statusMatches } from '../../../src/control/health/status-range.js';

const problems = (raw: unknown): string[] => {
  const r = healthCheckSchema.safeParse(raw, { reportInput: true });
  assert.equal(r.success, false, 'expected a validation failure');
  return r.error!.issues.flatMap((i) => formatIssue(i, raw, () => Object.keys(healthCheckSchema.shape)));
};

test('downInterval: servers that are out are probed every second by default, never slower than healthCheckDelay unless set', () => {
  const at = (hc: object, intervalMs: number) => resolveHealthConfig(healthCheckSchema.parse(hc), intervalMs).active.downIntervalMs;
  assert.equal(at({}, 10_000), 1000);
  assert.equal(at({}, 250), 250, 'a shorter healthCheckDelay wins over the default');
  assert.equal(at({ downInterval: 0.5 }, 10_000), 500);
  assert.equal(at({ downInterval: 30 }, 10_000), 30_000, 'set explicitly: probing dead servers less often is allowed (HAProxy downinter)');
  assert.deepEqual(problems({ downInterval: 0 }), ['downInterval: 0 is not a positive number of seconds']);
  assert.equal(problems({ downInterval: 'fast' }).length, 1);
});

test('defaults: HAProxy rise 2 / fall 3, 2 s timeout, 2xx-3xx, passive 3 fails in 10 s, 30 s ejection, slow start off', () => {
  const s = resolveHealthConfig(healthCheckSchema.parse({}), 10_000);
  assert.deepEqual(
    { ...s.active, expectStatus: formatStatusRanges(s.active.expectStatus) },
    {
      enabled: true,
      type: 'http',
      path: '/',
      intervalMs: 10_000,
      downIntervalMs: 1000,
      timeoutMs: 2000,
      expectStatus: '200-399',
      expectBody: undefined,
      rise: 2,
      fall: 3,
      jitter: 0.1,
    },
  );
  assert.deepEqual({ ...s.passive, statuses: [...s.passive.statuses] }, {
    maxFails: 3,
    failWindowMs: 10_000,
    statuses: [502, 503, 504],
    baseEjectionMs: 30_000,
    maxEjectionMs: 300_000,
    maxEjectionPercent: 50,
  });
  assert.equal(s.slowStartMs, 10_000);
  assert.deepEqual(resolveHealthConfig(undefined, 5000), resolveHealthConfig(healthCheckSchema.parse({}), 5000));
});

test('the field spliced into the config fills defaults when healthCheck is left out', () => {
  const top = z.strictObject({ healthCheck: healthCheckField, servers: z.array(z.strictObject({ backup: backupField })) });
  const parsed = top.parse({ servers: [{}, { backup: true }] });
  assert.equal(parsed.healthCheck.rise, 2);
  assert.equal(parsed.healthCheck.passive.maxFails, 3);
  assert.deepEqual(parsed.servers, [{}, { backup: true }]);
  assert.equal(top.safeParse({ servers: [{ backup: 'yes' }] }).success, false);
});

test('seconds resolve to milliseconds, fractions allowed', () => {
  const s = resolveHealthConfig(
    healthCheckSchema.parse({ timeout: 0.25, slowStart: 1.5, passive: { failWindow: 0.5, baseEjection: 2, maxEjection: 2 } }),
    100,
  );
  assert.equal(s.active.timeoutMs, 250);
  assert.equal(s.slowStartMs, 1500);
  assert.equal(s.passive.failWindowMs, 500);
  assert.equal(s.passive.baseEjectionMs, 2000);
});

test('expectStatus accepts a status, a range, NXX, comma lists and arrays', () => {
  const cases: [unknown, string][] = [
    [200, '200'],
    ['200-399', '200-399'],
    ['2xx', '200-299'],
    ['200, 204', '200,204'],
    [['200', 301, '302-308'], '200,301,302-308'],
  ];
  for (const [input, want] of cases) {
    const s = resolveHealthConfig(healthCheckSchema.parse({ expectStatus: input }), 1000);
    assert.equal(formatStatusRanges(s.active.expectStatus), want, JSON.stringify(input));
  }
});

test('bad status specs are rejected with a phrase that shows the form', () => {
  for (const bad of ['abc', 99, '400-300', '600', true, [], ['200', 'x']]) {
    const p = problems({ expectStatus: bad });
    assert.equal(p.length, 1, JSON.stringify(bad));
    assert.match(p[0]!, /^expectStatus: .* is not a status, range or list like 200, "200-399", "2xx"/, JSON.stringify(bad));
  }
});

test('status matching', () => {
  const r = parseStatusSpec('200-299,304');
  assert.ok(typeof r !== 'string');
  assert.ok(statusMatches(200, r) && statusMatches(299, r) && statusMatches(304, r));
  assert.ok(!statusMatches(300, r) && !statusMatches(500, r));
});

test('invalid values read well through the config formatter', () => {
  assert.deepEqual(problems({ rise: 0 }), ['rise: 0 is not a whole number of at least 1']);
  assert.deepEqual(problems({ fall: 1.5 }), ['fall: 1.5 is not a whole number of at least 1']);
  assert.deepEqual(problems({ timeout: 0 }), ['timeout: 0 is not a positive number of seconds']);
  assert.deepEqual(problems({ type: 'udp' }), ['type: "udp" is not a check type (allowed: "http", "tcp")']);
  assert.deepEqual(problems({ path: 'health' }), ['path: "health" does not start with "/"']);
  assert.deepEqual(problems({ jitter: 0.9 }), ['jitter: 0.9 is not between 0 and 0.5']);
  assert.deepEqual(problems({ passive: { maxEjectionPercent: 150 } }), ['passive.maxEjectionPercent: 150 is not between 0 and 100']);
  assert.deepEqual(problems({ passive: { statuses: [200] } }), ['passive.statuses[0]: 200 is not an HTTP error status (400 to 599)']);
  assert.deepEqual(problems({ passive: { baseEjection: 60, maxEjection: 30 } }), [
    'passive.maxEjection: 30 has maxEjection shorter than baseEjection',
  ]);
  assert.deepEqual(problems({ type: 'tcp', expectBody: 'ok' }), ['expectBody: "ok" has expectBody, which tcp checks cannot test']);
  assert.match(problems({ rize: 2 })[0]!, /^rize: unknown key \(did you mean "rise"\?\)/);
});

test('zero turns passive checks and slow start off; both are accepted', () => {
  const s = resolveHealthConfig(healthCheckSchema.parse({ slowStart: 0, passive: { maxFails: 0 } }), 1000);
  assert.equal(s.slowStartMs, 0);
  assert.equal(s.passive.maxFails, 0);
});

test('the schema converts to JSON Schema for editors', () => {
  const js = z.toJSONSchema(healthCheckSchema, { io: 'input' }) as { properties: Record<string, unknown> };
  assert.ok('expectStatus' in js.properties && 'passive' in js.properties && 'slowStart' in js.properties);
});
