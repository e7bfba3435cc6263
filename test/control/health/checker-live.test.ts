import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthChecker } from '../../../src/control/health/checker.js';
import { HealthEvents, type HealthEvent } from '../../../src/control/health/events.js';
import { probe, type ProbeResult } from '../../../src/control/health/probe.js';
import { recordingLogger } from '../../helpers/logger.js';
import { serverStates, settingsFrom, TestServer } from './helpers.js';
import { waitFor } from '../../helpers/wait.js';

// Real servers, real sockets, real timers: small intervals, generous deadlines, no wall-clock assertions.

function setup(servers: TestServer[], healthCheck: object = {}) {
  const { states: pool, servers: ups } = serverStates(servers.map((s) => s.url));
  const bus = new HealthEvents();
  const events: HealthEvent[] = [];
  bus.on('event', (e) => events.push(e));
  const logger = recordingLogger();
  const settings = settingsFrom({ path: '/health', timeout: 1, rise: 2, fall: 2, ...healthCheck }, 50);
  const checker = new HealthChecker({ servers: ups, target: pool, settings, events: bus, logger });
  const brief = () => events.map((e) => `${e.type} ${ups.findIndex((u) => u.addr === e.server.addr)} ${e.healthy}/${e.total}`);
  return { ups, pool, events, logger, checker, brief };
}

test('a killed server is marked down, a restarted one comes back after rise; events in order with counts', async () => {
  const a = await new TestServer().start();
  const b = await new TestServer().start();
  const h = setup([a, b]);
  try {
    h.checker.start();
    await waitFor(() => a.requests >= 2 && b.requests >= 2, 'first probes');
    assert.equal(h.events.length, 0);

    await a.stop();
    await waitFor(() => h.events.length >= 1, 'a down');
    assert.deepEqual(h.brief(), ['server-down 0 1/2']);
    assert.equal(h.events[0]!.reason, '2 failed checks, last: ECONNREFUSED');
    assert.equal(h.ups[0]!.available, false);
    assert.ok(h.logger.entries.some((l) => l.msg === `server ${a.url} down: 2 failed checks, last: ECONNREFUSED`));

    await b.stop();
    await waitFor(() => h.events.length >= 3, 'all down');
    assert.deepEqual(h.brief(), ['server-down 0 1/2', 'server-down 1 0/2', 'all-down 1 0/2']);

    await b.start(); // same port
    await waitFor(() => h.events.length >= 5, 'b back');
    assert.deepEqual(h.brief().slice(3), ['server-up 1 1/2', 'recovered 1 1/2']);
    assert.equal(h.events[3]!.reason, '2 passed checks');
    assert.equal(h.pool.acquire({ clientAddress: '' }), h.ups[1]);

    await a.start();
    await waitFor(() => h.events.length >= 6, 'a back');
    assert.deepEqual(h.brief().slice(5), ['server-up 0 2/2']);
    assert.equal(h.events.length, 6, 'no flapping');
  } finally {
    await h.checker.stop();
    await a.stop();
    await b.stop();
  }
});

test('probes do not overlap when a server hangs; it is marked down by timeout', async () => {
  const hang = await new TestServer((req) => {
    if (req.url === '/health') return; // never answers
  }).start();
  const ok = await new TestServer().start();
  const { states: pool, servers: ups } = serverStates([hang.url, ok.url]);
  const bus = new HealthEvents();
  const events: HealthEvent[] = [];
  bus.on('event', (e) => events.push(e));
  const settings = settingsFrom({ path: '/health', timeout: 0.3, rise: 2, fall: 2 }, 50);
  let running = 0;
  let maxRunning = 0;
  let hangProbes = 0;
  const checker = new HealthChecker({
    servers: ups,
    target: pool,
    settings,
    events: bus,
    logger: recordingLogger(),
    probe: async (u, signal): Promise<ProbeResult> => {
      if (u !== ups[0]) return probe(u.url, settings.active, signal);
      hangProbes++;
      running++;
      maxRunning = Math.max(maxRunning, running);
      try {
        return await probe(u.url, settings.active, signal);
      } finally {
        running--;
      }
    },
  });
  try {
    checker.start();
    await waitFor(() => events.length >= 1, 'hanging server down');
    assert.equal(events[0]!.type, 'server-down');
    assert.equal(events[0]!.reason, 'first check failed: timeout after 300 ms');
    await waitFor(() => hangProbes >= 4, 'more probes of the hanging server');
    assert.equal(maxRunning, 1);
    assert.equal(ups[1]!.available, true);
    assert.ok(ok.requests > hangProbes, 'the healthy server is probed on its own schedule');
  } finally {
    await checker.stop();
    await hang.stop();
    await ok.stop();
  }
});

test('tcp checks: a closed port goes down, a listening one comes back', async () => {
  const a = await new TestServer().start();
  const b = await new TestServer().start();
  const h = setup([a, b], { type: 'tcp', path: '/' });
  try {
    h.checker.start();
    await a.stop();
    await waitFor(() => h.events.length >= 1, 'a down');
    assert.deepEqual(h.brief(), ['server-down 0 1/2']);
    assert.match(h.events[0]!.reason, /ECONNREFUSED$/);
    await a.start();
    await waitFor(() => h.events.length >= 2, 'a back');
    assert.deepEqual(h.brief(), ['server-down 0 1/2', 'server-up 0 2/2']);
  } finally {
    await h.checker.stop();
    await a.stop();
    await b.stop();
  }
});
