import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Upstream } from '../../../src/control/selection/upstream.js';
import type { PassiveSettings } from '../../../src/control/health/config.js';
import { PassiveDetector, type FailureCause } from '../../../src/control/health/passive.js';

const SETTINGS: PassiveSettings = {
  maxFails: 3,
  failWindowMs: 10_000,
  statuses: new Set([502, 503, 504]),
  baseEjectionMs: 30_000,
  maxEjectionMs: 300_000,
  maxEjectionPercent: 50,
};

function setup(n = 4, settings: Partial<PassiveSettings> = {}, activeDown: Set<Upstream> = new Set()) {
  const servers = Array.from({ length: n }, (_, i) => new Upstream(`http://127.0.0.1:${9001 + i}`, { index: i }));
  const clock = { t: 0 };
  const d = new PassiveDetector(servers, { ...SETTINGS, ...settings }, () => clock.t, (u) => activeDown.has(u));
  return { servers, clock, d };
}

function failN(d: PassiveDetector, u: Upstream, n: number, reason = 'ECONNRESET', cause: FailureCause = 'reset') {
  let last = d.recordFailure(u, reason, cause);
  for (let i = 1; i < n; i++) last = d.recordFailure(u, reason, cause);
  return last;
}

test('maxFails consecutive failures within failWindow eject at once', () => {
  const { servers, d, clock } = setup();
  const a = servers[0]!;
  assert.equal(d.recordFailure(a, 'ECONNREFUSED', 'connect').kind, 'counted');
  clock.t = 4000;
  assert.equal(d.recordFailure(a, 'status 502', 'status').kind, 'counted');
  clock.t = 9000;
  const v = d.recordFailure(a, 'status 503', 'status');
  assert.deepEqual(v, {
    kind: 'ejected',
    until: 39_000,
    durationMs: 30_000,
    reason: 'ejected for 30 s after 3 failed requests within 10 s, last: status 503',
  });
  assert.equal(d.isEjected(a), true);
  assert.equal(d.nextExpiry(), 39_000);
});

test('failures spread wider than failWindow do not eject', () => {
  const { servers, d, clock } = setup();
  const a = servers[0]!;
  d.recordFailure(a, 'x', 'reset');
  clock.t = 6000;
  d.recordFailure(a, 'x', 'reset');
  clock.t = 11_000; // the first failure is now older than 10 s
  assert.equal(d.recordFailure(a, 'x', 'reset').kind, 'counted');
  assert.equal(d.view(a)!.recentFailures, 2);
  clock.t = 12_000;
  assert.equal(d.recordFailure(a, 'x', 'reset').kind, 'ejected');
});

test('a success breaks the run of failures', () => {
  const { servers, d } = setup();
  const a = servers[0]!;
  failN(d, a, 2);
  d.recordSuccess(a);
  assert.equal(failN(d, a, 2).kind, 'counted');
  assert.equal(d.recordFailure(a, 'x', 'reset').kind, 'ejected');
});

test('an ejection ends after its time; late failures do not extend it', () => {
  const { servers, d, clock } = setup();
  const a = servers[0]!;
  failN(d, a, 3);
  clock.t = 29_999;
  assert.equal(d.recordFailure(a, 'late answer', 'timeout').kind, 'counted');
  assert.deepEqual(d.expire(), []);
  clock.t = 30_000;
  assert.deepEqual(d.expire(), [{ server: a, reason: 'ejection of 30 s ended' }]);
  assert.equal(d.isEjected(a), false);
  assert.equal(d.nextExpiry(), undefined);
  assert.equal(d.view(a)!.recentFailures, 0);
});

test('backoff: ejected again soon means n x baseEjection, capped at maxEjection', () => {
  const { servers, d, clock } = setup(4, { maxEjectionMs: 100_000 });
  const a = servers[0]!;
  const durations: number[] = [];
  for (let i = 0; i < 5; i++) {
    const v = failN(d, a, 3);
    assert.equal(v.kind, 'ejected');
    if (v.kind === 'ejected') durations.push(v.durationMs);
    clock.t = d.nextExpiry()!;
    d.expire();
    clock.t += 1000; // back in service for only a second
  }
  assert.deepEqual(durations, [30_000, 60_000, 90_000, 100_000, 100_000]);
  assert.equal(d.view(a)!.ejections, 5);
});

test('the multiplier decays by one per baseEjection spent in service', () => {
  const { servers, d, clock } = setup();
  const a = servers[0]!;
  failN(d, a, 3); // 30 s
  clock.t = 30_000;
  d.expire();
  failN(d, a, 3); // 60 s
  clock.t = 90_000;
  d.expire();
  clock.t = 90_000 + 30_000; // one baseEjection in service: multiplier 2 -> 1
  const v = failN(d, a, 3);
  assert.equal(v.kind === 'ejected' && v.durationMs, 60_000);
  clock.t = d.nextExpiry()!;
  d.expire();
  clock.t += 10 * 30_000; // long healthy: back to the first step
  const w = failN(d, a, 3);
  assert.equal(w.kind === 'ejected' && w.durationMs, 30_000);
});

test('maxEjectionPercent caps how many servers are out at once (rounded down)', () => {
  const { servers, d } = setup(5); // 50% of 5 -> 2
  const [a, b, c] = servers as [Upstream, Upstream, Upstream];
  assert.equal(failN(d, a, 3).kind, 'ejected');
  assert.equal(failN(d, b, 3).kind, 'ejected');
  const v = failN(d, c, 3);
  assert.equal(v.kind, 'capped');
  assert.match(v.kind === 'capped' ? v.reason : '', /not ejected: 2 of 5 servers already out \(maxEjectionPercent 50\)/);
  assert.equal(d.isEjected(c), false);
  assert.equal(d.view(c)!.recentFailures, 0, 'the count starts over after a capped ejection');
});

test('a lone server is not ejected at 50% for what traffic provokes: there is nowhere else to go', () => {
  const { servers, d } = setup(1);
  assert.equal(failN(d, servers[0]!, 3).kind, 'capped');
  assert.equal(failN(d, servers[0]!, 3, 'status 503', 'status').kind, 'capped', 'and again after the next run');
  assert.equal(failN(d, servers[0]!, 3, 'response headers timeout', 'timeout').kind, 'capped');
});

test('a server that refuses connections is ejected beyond the cap, and does not count towards it', () => {
  const { servers, d } = setup(4); // cap 2
  const [a, b, c, e] = servers as [Upstream, Upstream, Upstream, Upstream];
  assert.equal(failN(d, a, 3, 'ECONNREFUSED', 'connect').kind, 'ejected');
  assert.equal(failN(d, b, 3, 'connect timeout', 'connect').kind, 'ejected');
  assert.equal(failN(d, c, 3, 'ECONNREFUSED', 'connect').kind, 'ejected', 'beyond 50%: refusing is a fact about the server');
  assert.equal(failN(d, e, 3).kind, 'ejected', 'refusing servers do not count: a reset may still eject one');
  assert.equal(d.view(a)!.ejectedFor, 'connect');
  assert.equal(d.view(e)!.ejectedFor, 'reset');
});

test('a lone server that refuses connections is ejected: nothing can take its requests anyway', () => {
  const { servers, d } = setup(1);
  assert.equal(failN(d, servers[0]!, 3, 'ECONNREFUSED', 'connect').kind, 'ejected');
});

test('only an ejection for refused connections ends at a passing check', () => {
  const { servers, d } = setup(4, { maxEjectionPercent: 100 });
  const [a, b, c, e] = servers as [Upstream, Upstream, Upstream, Upstream];
  failN(d, a, 3, 'ECONNREFUSED', 'connect');
  failN(d, b, 3, 'response headers timeout', 'timeout');
  failN(d, c, 3, 'ECONNRESET', 'reset');
  failN(d, e, 3, 'status 503', 'status');
  assert.deepEqual(servers.map((u) => d.unejectIfRefused(u)), [true, false, false, false]);
  assert.deepEqual(servers.map((u) => d.isEjected(u)), [false, true, true, true]);
});

test('servers held down by active checks do not count towards the cap', () => {
  const down = new Set<Upstream>();
  const { servers, d } = setup(4, {}, down); // cap 2
  const [a, b, c, e] = servers as [Upstream, Upstream, Upstream, Upstream];
  down.add(a);
  assert.equal(failN(d, a, 3).kind, 'ejected', 'a is down anyway: always ejectable');
  assert.equal(failN(d, b, 3).kind, 'ejected');
  assert.equal(failN(d, c, 3).kind, 'ejected', 'a does not count: b and c make two');
  assert.equal(failN(d, e, 3).kind, 'capped');
});

test('maxFails 0 turns passive checks off', () => {
  const { servers, d } = setup(4, { maxFails: 0 });
  assert.equal(d.enabled, false);
  assert.equal(failN(d, servers[0]!, 100).kind, 'counted');
  assert.equal(d.isEjected(servers[0]!), false);
});

test('unknown servers are ignored', () => {
  const { d } = setup();
  const stranger = new Upstream('http://127.0.0.1:1');
  assert.equal(failN(d, stranger, 5).kind, 'counted');
  d.recordSuccess(stranger);
  assert.equal(d.view(stranger), undefined);
});
