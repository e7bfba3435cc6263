import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { Upstream } from '../../../src/control/selection/upstream.js';
import { HealthChecker, type ProbeFn } from '../../../src/control/health/checker.js';
import { HealthEvents, type HealthEvent } from '../../../src/control/health/events.js';
import type { LogSink } from '../../../src/util/logger.js';
import type { ProbeResult } from '../../../src/control/health/probe.js';
import { FakeClock } from '../../helpers/clock.js';
import { recordingLogger } from '../../helpers/logger.js';
import { serverStates, settingsFrom } from './helpers.js';

const OK: ProbeResult = { ok: true };
const REFUSED: ProbeResult = { ok: false, code: 'E_PROBE_CONNECT', reason: 'ECONNREFUSED' };

interface HarnessOptions {
  readonly n?: number;
  readonly backups?: readonly number[];
  readonly healthCheck?: object;
  readonly intervalMs?: number;
  readonly random?: () => number;
}

function harness(o: HarnessOptions = {}) {
  const clock = new FakeClock();
  const settings = settingsFrom({ timeout: 5, ...o.healthCheck }, o.intervalMs ?? 1000);
  const addrs = Array.from({ length: o.n ?? 2 }, (_, i) => `http://localhost:${9001 + i}`);
  const { states: pool, servers } = serverStates(addrs, { clock, slowStartMs: settings.slowStartMs, backups: o.backups });
  const events: HealthEvent[] = [];
  const bus = new HealthEvents();
  bus.on('event', (e) => events.push(e));
  const logger = recordingLogger();
  // What each server's probe answers: a result, or 'hang' (settles only at the probe timeout).
  const answer = new Map<Upstream, ProbeResult | 'hang'>();
  const calls = new Map<Upstream, number>();
  const running = new Map<Upstream, number>();
  let maxRunning = 0;
  const probe: ProbeFn = (u, signal) => {
    calls.set(u, (calls.get(u) ?? 0) + 1);
    running.set(u, (running.get(u) ?? 0) + 1);
    maxRunning = Math.max(maxRunning, running.get(u) ?? 0);
    const done = (r: ProbeResult): ProbeResult => {
      running.set(u, (running.get(u) ?? 1) - 1);
      return r;
    };
    const a = answer.get(u) ?? OK;
    if (a !== 'hang') return Promise.resolve(done(a));
    return new Promise((resolve) => {
      const t = clock.setTimer(
        () => resolve(done({ ok: false, code: 'E_PROBE_TIMEOUT', reason: `timeout after ${settings.active.timeoutMs} ms` })),
        settings.active.timeoutMs,
      );
      signal.addEventListener('abort', () => {
        clock.clearTimer(t);
        resolve(done({ ok: false, code: 'E_PROBE_ABORTED', reason: 'aborted' }));
      });
    });
  };
  const checker = new HealthChecker({ servers, target: pool, settings, events: bus, logger, clock, random: o.random ?? (() => 0.5), probe });
  const brief = () => events.map((e) => `${e.type} ${e.server.addr.slice(-4)} ${e.healthy}/${e.total}: ${e.reason}`);
  return { clock, servers, pool, events, bus, logger, answer, calls, checker, brief, maxRunning: () => maxRunning };
}

test('probes every server at start, then every interval', async () => {
  const h = harness();
  h.checker.start();
  await h.clock.advance(0);
  assert.deepEqual([...h.calls.values()], [1, 1]);
  await h.clock.advance(999);
  assert.deepEqual([...h.calls.values()], [1, 1]);
  await h.clock.advance(1);
  assert.deepEqual([...h.calls.values()], [2, 2]);
  await h.clock.advance(3000);
  assert.deepEqual([...h.calls.values()], [5, 5]);
  assert.deepEqual(h.events, [], 'healthy servers: no events');
  await h.checker.stop();
});

test('jitter spreads the interval by up to +-jitter', async () => {
  const low = harness({ random: () => 0 }); // interval x 0.9
  low.checker.start();
  await low.clock.advance(899);
  assert.equal(low.calls.get(low.servers[0]!), 1);
  await low.clock.advance(1);
  assert.equal(low.calls.get(low.servers[0]!), 2);
  await low.checker.stop();
  const high = harness({ random: () => 0.999_999, healthCheck: { jitter: 0.5 } }); // x ~1.5
  high.checker.start();
  await high.clock.advance(1499);
  assert.equal(high.calls.get(high.servers[0]!), 1);
  await high.clock.advance(1);
  assert.equal(high.calls.get(high.servers[0]!), 2);
  await high.checker.stop();
});

test('fall: a server goes down after 3 failed checks; event, log line and pool follow', async () => {
  const h = harness();
  const [a, b] = h.servers as [Upstream, Upstream];
  h.checker.start();
  await h.clock.advance(0);
  h.answer.set(a, REFUSED);
  await h.clock.advance(2000);
  assert.equal(a.available, true, 'two failures: still up');
  await h.clock.advance(1000);
  assert.equal(a.available, false);
  assert.deepEqual(h.brief(), ['server-down 9001 1/2: 3 failed checks, last: ECONNREFUSED']);
  assert.equal(h.events[0]!.time, h.clock.epoch());
  const line = h.logger.entries.find((l) => l.level === 'warn');
  assert.equal(line?.msg, 'server http://localhost:9001 down: 3 failed checks, last: ECONNREFUSED');
  const reason = '3 failed checks, last: ECONNREFUSED';
  assert.deepEqual(line?.obj, { server: a.addr, name: a.name, reason, source: 'active', healthy: 1, total: 2 });
  for (let i = 0; i < 5; i++) assert.equal(h.pool.acquire({ clientAddress: '' }), b, 'only b is picked');
  // Down servers keep being probed.
  const before = h.calls.get(a)!;
  await h.clock.advance(3000);
  assert.equal(h.calls.get(a), before + 3);
  await h.checker.stop();
});

test('a server dead at startup is taken out by the first check', async () => {
  const h = harness();
  h.answer.set(h.servers[1]!, REFUSED);
  h.checker.start();
  await h.clock.advance(0);
  assert.deepEqual(h.brief(), ['server-down 9002 1/2: first check failed: ECONNREFUSED']);
  await h.checker.stop();
});

test('all-down when the last server goes, recovered when one comes back after rise, in order with counts', async () => {
  const h = harness();
  const [a, b] = h.servers as [Upstream, Upstream];
  h.checker.start();
  await h.clock.advance(0);
  h.answer.set(a, REFUSED);
  await h.clock.advance(1000);
  h.answer.set(b, { ok: false, code: 'E_PROBE_STATUS', reason: 'status 500' });
  await h.clock.advance(3000);
  assert.deepEqual(h.brief(), [
    'server-down 9001 1/2: 3 failed checks, last: ECONNREFUSED',
    'server-down 9002 0/2: 3 failed checks, last: status 500',
    'all-down 9002 0/2: 3 failed checks, last: status 500',
  ]);
  assert.equal(h.pool.acquire({ clientAddress: '' }), undefined);
  h.answer.set(b, OK);
  await h.clock.advance(1000);
  assert.equal(b.available, false, 'one pass is not enough (rise 2)');
  await h.clock.advance(1000);
  h.answer.set(a, OK);
  await h.clock.advance(2000);
  assert.deepEqual(h.brief().slice(3), [
    'server-up 9002 1/2: 2 passed checks',
    'recovered 9002 1/2: 2 passed checks',
    'server-up 9001 2/2: 2 passed checks',
  ]);
  await h.checker.stop();
});

test('probes of one server never overlap, even when it hangs longer than the interval', async () => {
  const h = harness({ healthCheck: { timeout: 5, fall: 2 } });
  const [a] = h.servers as [Upstream];
  h.answer.set(a, 'hang');
  h.checker.start();
  await h.clock.advance(20_000);
  assert.equal(h.maxRunning(), 1);
  assert.equal(h.calls.get(a), 5, 'one probe per timeout (0, 5, 10, 15, 20 s), not one per interval');
  assert.equal(h.calls.get(h.servers[1]!), 21, 'the other server is not held up');
  assert.equal(h.events[0]?.reason, 'first check failed: timeout after 5000 ms');
  await h.checker.stop();
});

test('passive: failures reported by the proxy eject at once; the ejection ends by itself', async () => {
  const h = harness({ healthCheck: { enabled: false } });
  const [a] = h.servers as [Upstream];
  h.checker.start();
  h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.checker.reportSuccess(a, 502);
  assert.equal(a.available, true);
  h.checker.reportSuccess(a, 503);
  assert.equal(a.available, false);
  assert.deepEqual(h.brief(), ['server-down 9001 1/2: ejected for 30 s after 3 failed requests within 10 s, last: status 503']);
  await h.clock.advance(29_999);
  assert.equal(a.available, false);
  await h.clock.advance(1);
  assert.equal(a.available, true);
  assert.deepEqual(h.brief().slice(1), ['server-up 9001 2/2: ejection of 30 s ended']);
  // Ejected again soon: twice as long.
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNRESET', 'reset');
  assert.match(h.events.at(-1)!.reason, /^ejected for 60 s/);
  await h.checker.stop();
});

test('a 2xx/4xx response breaks a run of failures', async () => {
  const h = harness({ healthCheck: { enabled: false } });
  const [a] = h.servers as [Upstream];
  h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.checker.reportSuccess(a, 404);
  h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  assert.equal(a.available, true);
  await h.checker.stop();
});

test('active and passive together: one event per change of availability', async () => {
  const h = harness();
  const [a] = h.servers as [Upstream];
  h.checker.start();
  await h.clock.advance(0);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.answer.set(a, REFUSED);
  await h.clock.advance(3000); // active checks take it down too: no new event
  assert.deepEqual(h.brief(), ['server-down 9001 1/2: ejected for 30 s after 3 failed requests within 10 s, last: ECONNREFUSED']);
  await h.clock.advance(30_000); // ejection ends, still down by checks: no event
  assert.equal(a.available, false);
  assert.equal(h.events.length, 1);
  assert.ok(h.logger.entries.some((l) => l.msg === 'server http://localhost:9001 ejection of 30 s ended; still out: down by health checks'));
  h.answer.set(a, OK);
  await h.clock.advance(2000);
  assert.deepEqual(h.brief().slice(1), ['server-up 9001 2/2: 2 passed checks']);
  await h.checker.stop();
});

test('maxEjectionPercent: the second of two servers is not ejected; the refusal is logged once', async () => {
  const h = harness({ healthCheck: { enabled: false } });
  const [a, b] = h.servers as [Upstream, Upstream];
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNRESET', 'reset');
  for (let i = 0; i < 9; i++) h.checker.reportFailure(b, 'response headers timeout', 'timeout');
  assert.equal(a.available, false);
  assert.equal(b.available, true);
  const warns = h.logger.entries.filter((l) => l.msg.startsWith('server http://localhost:9002 failing'));
  assert.equal(warns.length, 1);
  assert.match(warns[0]!.msg, /not ejected: 1 of 2 servers already out \(maxEjectionPercent 50\)/);
  await h.checker.stop();
});

test('slow start: a returning server ramps from 0.1 to full weight, refreshing the pool each step', async () => {
  const h = harness({ healthCheck: { slowStart: 10, rise: 1, fall: 1 }, intervalMs: 60_000 });
  const [a] = h.servers as [Upstream];
  h.answer.set(a, REFUSED);
  h.checker.start();
  await h.clock.advance(0);
  assert.equal(a.weightFactor, 1, 'a down server is not ramping');
  h.answer.set(a, OK);
  await h.clock.advance(1000); // a down server is probed every downInterval (1 s), not every 60 s
  assert.equal(a.available, true);
  assert.equal(a.weightFactor, 0.1);
  const refreshes = h.pool.refreshes;
  await h.clock.advance(5000);
  assert.equal(Math.round(a.weightFactor * 100) / 100, 0.55);
  await h.clock.advance(5000);
  assert.equal(a.weightFactor, 1);
  assert.equal(h.pool.refreshes - refreshes, 10);
  assert.equal(h.checker.snapshot()[0]!.weightFactor, 1);
  await h.checker.stop();
});

test('slow start is cut short when the server goes down again; not applied at startup', async () => {
  const h = harness({ healthCheck: { slowStart: 10, rise: 1, fall: 1 } });
  const [a, b] = h.servers as [Upstream, Upstream];
  h.checker.start();
  await h.clock.advance(0);
  assert.equal(b.weightFactor, 1, 'first check passing is not a return');
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  await h.clock.advance(1000); // ejected for connection failures: the next passing check brings it back
  assert.equal(a.available, true);
  assert.ok(a.weightFactor < 1);
  h.answer.set(a, REFUSED);
  await h.clock.advance(1000);
  assert.equal(a.available, false);
  assert.equal(a.weightFactor, 1);
  await h.checker.stop();
});

test('backups: traffic moving to backups and back is logged', async () => {
  const h = harness({ n: 2, backups: [1], healthCheck: { fall: 1, rise: 1 } });
  const [a, b] = h.servers as [Upstream, Upstream];
  h.checker.start();
  await h.clock.advance(0);
  h.answer.set(a, REFUSED);
  await h.clock.advance(1000);
  assert.equal(h.pool.acquire({ clientAddress: '' }), b);
  assert.ok(h.logger.entries.some((l) => l.msg === 'all primary servers down: backup servers take requests'));
  assert.deepEqual(h.brief(), ['server-down 9001 1/2: 1 failed check, last: ECONNREFUSED'], 'a backup still serves: not all-down');
  h.answer.set(a, OK);
  await h.clock.advance(1000);
  assert.ok(h.logger.entries.some((l) => l.msg === 'primary servers take requests again'));
  await h.checker.stop();
});

test('snapshot: every server, in config order, times as epoch milliseconds', async () => {
  const h = harness();
  const [a] = h.servers as [Upstream];
  h.answer.set(a, REFUSED);
  h.checker.start();
  await h.clock.advance(0);
  await h.clock.advance(500);
  const [sa, sb] = h.checker.snapshot();
  assert.deepEqual(sa, {
    addr: 'http://localhost:9001',
    name: 'localhost:9001',
    backup: false,
    available: false,
    healthy: false,
    since: 1_700_000_000_000,
    weightFactor: 1,
    inflight: 0,
    active: {
      status: 'down',
      consecutivePasses: 0,
      consecutiveFails: 1,
      lastError: 'ECONNREFUSED',
      lastCheckAt: 1_700_000_000_000,
      lastChangeAt: 1_700_000_000_000,
    },
    passive: { ejected: false, ejectedUntil: undefined, ejections: 0, ejectedFor: undefined, recentFailures: 0 },
    lastReason: 'first check failed: ECONNREFUSED',
  });
  assert.equal(sb!.active.status, 'up');
  assert.equal(sb!.available, true);
  await h.checker.stop();
});

test('stop: no probes or timers afterwards, a hanging probe is aborted, start again throws E_HEALTH_STOPPED', async () => {
  const h = harness({ healthCheck: { slowStart: 10 } });
  const [a] = h.servers as [Upstream];
  h.answer.set(a, 'hang');
  h.checker.start();
  for (let i = 0; i < 3; i++) h.checker.reportFailure(h.servers[1]!, 'ECONNREFUSED', 'connect');
  await h.clock.advance(100);
  await h.checker.stop();
  h.pool.stop(); // the state owner's slow-start ramps (the Cluster stops both)
  assert.equal(h.clock.pending, 0);
  const calls = [...h.calls.values()];
  await h.clock.advance(60_000);
  assert.deepEqual([...h.calls.values()], calls);
  assert.throws(() => h.checker.start(), { code: 'E_HEALTH_STOPPED' });
  h.checker.reportFailure(a, 'late', 'reset'); // ignored, no throw
});

test('a throwing event listener does not stop health checking', async () => {
  const h = harness({ healthCheck: { fall: 1, rise: 1 } });
  const [a] = h.servers as [Upstream];
  h.bus.on('event', () => {
    throw new Error('listener bug');
  });
  h.answer.set(a, REFUSED);
  h.checker.start();
  await h.clock.advance(0);
  assert.equal(a.available, false);
  h.answer.set(a, OK);
  await h.clock.advance(1000);
  assert.equal(a.available, true);
  assert.ok(h.logger.entries.some((l) => l.msg === 'health event listener threw'));
  await h.checker.stop();
});

test('reports about servers of another pool (e.g. before a reload) are ignored', async () => {
  const h = harness({ healthCheck: { enabled: false } });
  const stranger = new Upstream('http://localhost:1');
  for (let i = 0; i < 5; i++) h.checker.reportFailure(stranger, 'ECONNREFUSED', 'connect');
  h.checker.reportSuccess(stranger, 200);
  assert.deepEqual(h.events, []);
  await h.checker.stop();
});

test('a pino logger fits LogSink', () => {
  const logger: LogSink = pino({ enabled: false });
  logger.info({ a: 1 }, 'ok');
});

test('a server active checks saw go down and come back is no longer ejected', async () => {
  const h = harness({ healthCheck: { slowStart: 0 } });
  const [a] = h.servers as [Upstream];
  h.checker.start();
  await h.clock.advance(0);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  h.answer.set(a, REFUSED);
  await h.clock.advance(3000); // active checks see the outage too
  assert.equal(a.available, false);
  h.answer.set(a, OK);
  await h.clock.advance(2000); // rise: 2 passes, well before the 30 s ejection ends
  assert.equal(a.available, true);
  assert.deepEqual(h.brief().slice(1), ['server-up 9001 2/2: 2 passed checks']);
  // A relapse is ejected for longer: the ejection count survived.
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  assert.match(h.brief()[2] ?? '', /ejected for 60 s/);
  await h.checker.stop();
});

test('a passing check ends an ejection for connection failures, not one for error statuses', async () => {
  const h = harness({ n: 4, healthCheck: { slowStart: 0 } });
  const [a, b] = h.servers as [Upstream, Upstream];
  h.checker.start();
  await h.clock.advance(0);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  for (let i = 0; i < 3; i++) h.checker.reportSuccess(b, 503);
  assert.equal(a.available, false);
  assert.equal(b.available, false);
  await h.clock.advance(1000); // one round of passing checks
  assert.equal(a.available, true, 'connection-failure ejection ends at a passing check');
  assert.equal(b.available, false, 'status ejection stands');
  await h.clock.advance(30_000);
  assert.equal(b.available, true);
  await h.checker.stop();
});

test('a server ejected for timeouts that passes its checks stays out until its ejection ends, then longer next time', async () => {
  const h = harness({ n: 2, healthCheck: { slowStart: 0 } });
  const [a] = h.servers as [Upstream];
  h.checker.start();
  await h.clock.advance(0);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'response headers timeout', 'timeout');
  assert.equal(a.available, false);
  const probesBefore = h.calls.get(a) ?? 0;
  await h.clock.advance(29_000); // its checks pass all along (every downInterval while out)
  assert.ok((h.calls.get(a) ?? 0) - probesBefore >= 25, 'probed every second while out');
  assert.equal(a.available, false, 'passing checks do not end an ejection for timeouts');
  await h.clock.advance(1000);
  assert.equal(a.available, true);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNRESET', 'reset');
  await h.clock.advance(59_000);
  assert.equal(a.available, false, 'second ejection: 60 s, resets are not ended by checks either');
  await h.clock.advance(1000);
  assert.deepEqual(h.brief(), [
    'server-down 9001 1/2: ejected for 30 s after 3 failed requests within 10 s, last: response headers timeout',
    'server-up 9001 2/2: ejection of 30 s ended',
    'server-down 9001 1/2: ejected for 60 s after 3 failed requests within 10 s, last: ECONNRESET',
    'server-up 9001 2/2: ejection of 60 s ended',
  ]);
  await h.checker.stop();
});

test('every server refusing connections: all are ejected despite the cap, counts fall to 0/4, one all-down', async () => {
  const h = harness({ n: 4 });
  h.checker.start();
  await h.clock.advance(0);
  for (const u of h.servers) for (let i = 0; i < 3; i++) h.checker.reportFailure(u, 'ECONNREFUSED', 'connect');
  // Checks fail too while they are out: no further events, no second all-down.
  for (const u of h.servers) h.answer.set(u, REFUSED);
  await h.clock.advance(10_000);
  assert.deepEqual(
    h.events.map((e) => `${e.type} ${e.healthy}/${e.total}`),
    ['server-down 3/4', 'server-down 2/4', 'server-down 1/4', 'server-down 0/4', 'all-down 0/4'],
  );
  assert.equal(h.pool.acquire({ clientAddress: '' }), undefined);
  h.answer.set(h.servers[2]!, OK);
  await h.clock.advance(3000); // rise 2 at the 1 s downInterval
  assert.deepEqual(h.brief().slice(5), ['server-up 9003 1/4: 2 passed checks', 'recovered 9003 1/4: 2 passed checks']);
  await h.checker.stop();
});

test('down servers are probed every downInterval, up servers every interval; rise still applies', async () => {
  const h = harness({ n: 2, intervalMs: 10_000, healthCheck: { downInterval: 1 } });
  const [a, b] = h.servers as [Upstream, Upstream];
  h.answer.set(a, REFUSED);
  h.checker.start();
  await h.clock.advance(0);
  assert.equal(a.available, false);
  await h.clock.advance(5000);
  assert.equal(h.calls.get(a), 6, 'down: at 0 s and every second');
  assert.equal(h.calls.get(b), 1, 'up: every 10 s');
  h.answer.set(a, OK);
  await h.clock.advance(1000);
  assert.equal(a.available, false, 'one pass is not rise 2');
  await h.clock.advance(1000);
  assert.equal(a.available, true);
  await h.clock.advance(5000);
  assert.equal(h.calls.get(a), 8, 'up again: back to every 10 s');
  await h.checker.stop();
});

test('a server ejected between probes is probed within downInterval, so a refusal ejection ends about a second after it is back', async () => {
  const h = harness({ n: 2, intervalMs: 10_000, healthCheck: { slowStart: 0 } });
  const [a] = h.servers as [Upstream];
  h.checker.start();
  await h.clock.advance(2000); // first probes at 0; the next are due at 10 s
  assert.equal(h.calls.get(a), 1);
  for (let i = 0; i < 3; i++) h.checker.reportFailure(a, 'ECONNREFUSED', 'connect');
  assert.equal(a.available, false);
  await h.clock.advance(1000);
  assert.equal(h.calls.get(a), 2, 'probed 1 s after the ejection, not at 10 s');
  assert.equal(a.available, true, 'the passing probe ended the refusal ejection');
  assert.deepEqual(h.brief().slice(1), ['server-up 9001 2/2: passed a check after its ejection for refused connections']);
  await h.checker.stop();
});
