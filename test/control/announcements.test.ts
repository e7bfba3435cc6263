// The Cluster's announcement bus on a fake clock: operator actions, weights, DNS set changes and
// health events, each with the webhook fields and the server's view; the summary's live figures.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Upstream } from '../../src/control/selection/upstream.js';
import { parseConfig, type Config } from '../../src/config/load.js';
import { Cluster } from '../../src/control/cluster.js';
import type { Announcement } from '../../src/control/announcements.js';
import type { ServerSpec, UpstreamSource } from '../../src/control/sources/source.js';
import type { ProbeResult } from '../../src/control/health/probe.js';
import { testDeps } from './selection/helpers.js';
import { FakeClock } from '../helpers/clock.js';
import { recordingLogger } from '../helpers/logger.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';

function configOf(o: Record<string, unknown>): Config {
  return parseConfig(JSON.stringify({ addr: '127.0.0.1:0', healthCheck: { fall: 1, rise: 1 }, ...o }), 'test.json', {});
}

function harness(sources?: UpstreamSource[]) {
  const clock = new FakeClock();
  const down = new Set<string>();
  const probe = (u: Upstream): Promise<ProbeResult> => Promise.resolve(down.has(u.addr) ? { ok: false, code: 'E_PROBE_CONNECT', reason: 'ECONNREFUSED' } : { ok: true });
  const config = configOf({ algorithm: 'round-robin', servers: [{ addr: A, name: 'a' }, { addr: B, name: 'b' }] });
  const cluster = new Cluster(config, { log: recordingLogger(), clock, deps: testDeps(), probe, sources: sources === undefined ? undefined : () => sources });
  const heard: Announcement[] = [];
  cluster.announcements.on('announcement', (a) => heard.push(a));
  return { clock, down, cluster, heard };
}

test('operator actions are announced once per change, with the view, time and counts; weight carries the new weight', () => {
  const h = harness();
  h.cluster.act('a', 'drain');
  h.cluster.act('a', 'drain'); // no change: no announcement
  h.cluster.act('a', 'disable');
  h.cluster.act('a', 'enable');
  h.cluster.setWeight('b', 3);
  assert.deepEqual(h.heard.map((x) => x.type), ['drained', 'disabled', 'enabled', 'weight']);
  const [drained, , , weight] = h.heard;
  assert.deepEqual(drained?.server, { addr: A, name: 'a' });
  assert.equal(drained?.view?.state, 'draining');
  assert.equal(drained?.time, h.clock.epoch());
  assert.equal(drained?.total, 2);
  assert.equal(drained?.healthy, 1, 'a drained is not available');
  assert.equal(weight?.weight, 3);
  assert.equal(weight?.view?.weight, 3);
});

test('health events go on the bus with the view of the server', async () => {
  const h = harness();
  h.cluster.start();
  await h.clock.advance(0);
  h.down.add(B);
  await h.clock.advance(30_000);
  const down = h.heard.find((x) => x.type === 'server-down');
  assert.equal(down?.server?.name, 'b');
  assert.equal(down?.view?.state, 'down');
  assert.equal(down?.healthy, 1);
  await h.cluster.stop(0);
});

test('a DNS source changing its set is announced; the same answer again is not', async () => {
  let report: ((specs: readonly ServerSpec[]) => void) | undefined;
  const source: UpstreamSource = {
    id: 'dns:api.test',
    start: (onChange) => void (report = onChange),
    stop: async () => undefined,
    status: () => ({ id: 'dns:api.test', ok: true, error: undefined, since: 0, servers: 0 }),
  };
  const h = harness([source]);
  h.cluster.start();
  const spec = (addr: string): ServerSpec => ({ addr, name: undefined, weight: 1, backup: false, source: 'dns:api.test' });
  report?.([spec(C)]);
  report?.([spec(C)]);
  report?.([spec(C), spec('http://10.0.0.4:8080')]);
  const dns = h.heard.filter((x) => x.type === 'dns-changed');
  assert.deepEqual(dns.map((x) => [x.source, x.servers]), [['dns:api.test', 1], ['dns:api.test', 2]]);
  assert.equal(dns[1]?.total, 4, 'counted after the new servers joined');
  await h.cluster.stop(0);
});

test('the summary: rates and latencies per server from attempts, totals, slow-start progress', () => {
  const h = harness();
  for (let i = 0; i < 20; i++) {
    const u = h.cluster.pick({ clientAddress: '' }) as Upstream;
    h.cluster.attemptEnded(u, u.name === 'a' ? 10 : 100, { status: i < 4 ? 502 : 200 });
  }
  h.clock.advanceSync(1000);
  const s = h.cluster.summary();
  assert.equal(s.time, h.clock.epoch());
  assert.deepEqual(s.totals, { rps: 4, errorsPerSecond: 0.8, up: 2, total: 2 });
  const [a, b] = s.servers;
  assert.equal(a?.rps, 2);
  assert.equal(a?.errorRate, 0.2);
  assert.ok(a?.p50 !== null && a?.p50 !== undefined && a.p50 > 7 && a.p50 <= 11.4, `a p50 ${a?.p50}`);
  assert.ok(b?.p99 !== null && b?.p99 !== undefined && b.p99 > 90 && b.p99 <= 128, `b p99 ${b?.p99}`);
  assert.equal(a?.slowStart, 1);
  assert.equal(a?.state, 'up');
});
