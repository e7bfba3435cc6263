// The control plane on a fake clock: operator actions, reload carry-over, one writer of state.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Upstream } from '../../src/control/selection/upstream.js';
import { loadConfig, parseConfig, type Config } from '../../src/config/load.js';
import { Cluster } from '../../src/control/cluster.js';
import type { ServerSpec, UpstreamSource } from '../../src/control/sources/source.js';
import type { HealthEvent } from '../../src/control/health/events.js';
import type { ProbeResult } from '../../src/control/health/probe.js';
import { clientAddress, testDeps } from './selection/helpers.js';
import { FakeClock } from '../helpers/clock.js';
import { recordingLogger } from '../helpers/logger.js';

const A = 'http://10.0.0.1:8080';
const B = 'http://10.0.0.2:8080';
const C = 'http://10.0.0.3:8080';
const D = 'http://10.0.0.4:8080';
const X = 'http://10.0.0.9:8080'; // dead all along

function configOf(o: Record<string, unknown>): Config {
  const raw = { addr: '127.0.0.1:0', healthCheck: { fall: 1, rise: 1, slowStart: 10, passive: { maxFails: 2, baseEjection: 30 } }, ...o };
  return parseConfig(JSON.stringify(raw), 'test.json', {});
}

function harness(config: Config) {
  const clock = new FakeClock();
  const down = new Set<string>([X]);
  const probe = (u: Upstream): Promise<ProbeResult> =>
    Promise.resolve(down.has(u.addr) ? { ok: false, code: 'E_PROBE_CONNECT', reason: 'ECONNREFUSED' } : { ok: true });
  const log = recordingLogger();
  const cluster = new Cluster(config, { log, clock, deps: testDeps(), probe });
  const events: HealthEvent[] = [];
  cluster.events.on('event', (e) => events.push(e));
  const left: string[] = [];
  cluster.attach({ serverLeft: (u) => void left.push(u.addr), apply: () => ({ kept: [] }), ready: () => true });
  const byAddr = (addr: string) => cluster.servers().find((s) => s.addr === addr);
  const picks = (n: number, from = 0) => {
    const out: string[] = [];
    for (let i = 0; i < n; i++) {
      const u = cluster.pick({ clientAddress: clientAddress(from + i) });
      out.push(u?.addr ?? 'none');
      if (u !== undefined) cluster.attemptEnded(u, 5, { status: 200 });
    }
    return out;
  };
  const serverDown = () => events.filter((e) => e.type === 'server-down').map((e) => e.server.addr);
  return { clock, down, cluster, events, left, byAddr, picks, serverDown, log };
}

test('drain: no new request by any algorithm (ip-hash too), in-flight ones finish, still health-checked; enable eases it back in', async () => {
  const h = harness(configOf({ algorithm: 'ip-hash', servers: [{ addr: A }, { addr: B }, { addr: C }] }));
  h.cluster.start();
  await h.clock.advance(0);
  // A client that ip-hash sends to B, and one request of it in flight.
  let client = 0;
  let bUp: Upstream | undefined;
  for (;;) {
    const u = h.cluster.pick({ clientAddress: clientAddress(client) });
    if (u?.addr === B) {
      bUp = u;
      break;
    }
    if (u !== undefined) h.cluster.attemptEnded(u, 1, { status: 200 });
    client++;
  }
  const inflightB = h.cluster.servers().find((s) => s.addr === B);
  assert.equal(inflightB?.inflight, 1);
  const view = h.cluster.act('10.0.0.2:8080', 'drain');
  assert.equal(view?.state, 'draining');
  assert.equal(view?.inflight, 1, 'the admin API says what is still in flight');
  assert.equal(view?.effectiveWeight, 0);
  assert.ok(!h.picks(300).includes(B), 'no new request reaches a drained server');
  assert.notEqual(h.cluster.pick({ clientAddress: clientAddress(client) })?.addr, B, "B's client moved");
  // The request in flight ends: the count falls to 0, the totals count it.
  h.cluster.attemptEnded(bUp, 100, { status: 200 });
  assert.equal(h.byAddr(B)?.inflight, 0);
  assert.equal(h.byAddr(B)?.requests, 1);
  // Still health-checked: a drained server that dies shows as unhealthy (and the alert goes out).
  h.down.add(B);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(B)?.healthy, false);
  assert.equal(h.byAddr(B)?.state, 'draining');
  assert.deepEqual(h.serverDown(), [B]);
  h.down.delete(B);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(B)?.healthy, true);
  assert.equal(h.byAddr(B)?.state, 'draining', 'healthy again, still drained');
  assert.ok(!h.picks(300).includes(B));
  // Enable: back, at a tenth of its weight (slow start), and its clients come back.
  const enabled = h.cluster.act('10.0.0.2:8080', 'enable');
  assert.equal(enabled?.state, 'up');
  assert.equal(enabled?.effectiveWeight, 0.1);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(B)?.effectiveWeight, 1, 'slow start over');
  assert.equal(h.cluster.pick({ clientAddress: clientAddress(client) })?.addr, B, 'ip-hash clients are back once B is at full weight');
  await h.cluster.stop(0);
});

test('disable: no traffic and no alert when the server then dies; enable brings it back', async () => {
  const h = harness(configOf({ algorithm: 'round-robin', servers: [{ addr: A }, { addr: B }] }));
  h.cluster.start();
  await h.clock.advance(0);
  assert.equal(h.cluster.act('10.0.0.2:8080', 'disable')?.state, 'disabled');
  assert.deepEqual([...new Set(h.picks(10))], [A]);
  h.down.add(B);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(B)?.healthy, false);
  assert.equal(h.byAddr(B)?.state, 'disabled');
  assert.deepEqual(h.events, [], 'no alert for a disabled server');
  assert.ok(h.log.entries.some((l) => l.msg.includes('disabled by an operator: no alert')));
  h.down.delete(B);
  await h.clock.advance(30_000);
  assert.equal(h.cluster.act('10.0.0.2:8080', 'enable')?.state, 'up');
  await h.clock.advance(30_000);
  assert.deepEqual([...new Set(h.picks(10))].sort(), [A, B]);
  assert.equal(h.cluster.act('nope', 'drain'), undefined, 'unknown server');
  await h.cluster.stop(0);
});

test("set weight: holds until a reload changes that server's weight", async () => {
  const cfg = (wb: number) => configOf({ algorithm: 'weighted-round-robin', servers: [{ addr: A, name: 'a' }, { addr: B, name: 'b', weight: wb }] });
  const h = harness(cfg(1));
  h.cluster.start();
  await h.clock.advance(0);
  assert.equal(h.cluster.setWeight('b', 3)?.weight, 3);
  const share = () => h.picks(400).filter((x) => x === B).length / 400;
  assert.equal(share(), 0.75);
  h.cluster.apply(cfg(1));
  assert.equal(h.byAddr(B)?.weight, 3, 'a reload that leaves its weight alone keeps the operator weight');
  assert.equal(share(), 0.75);
  h.cluster.apply(cfg(2));
  assert.equal(h.byAddr(B)?.weight, 2, 'a reload that changes its weight wins');
  assert.equal(Math.round(share() * 300), 200);
  await h.cluster.stop(0);
});

test('apply keeps state by address (health, ejection, totals, in-flight, operator state); new servers fresh; removed ones finish, then go', async () => {
  const first = configOf({ algorithm: 'round-robin', servers: [{ addr: A }, { addr: B }, { addr: C }, { addr: X, name: 'x' }] });
  const second = configOf({ algorithm: 'least-connections', servers: [{ addr: A }, { addr: B }, { addr: X, name: 'x' }, { addr: D }] });
  const h = harness(first);
  h.cluster.start();
  await h.clock.advance(0);
  assert.deepEqual(h.serverDown(), [X]);
  // A is ejected by two failed requests; B has totals; C has a request in flight; B is drained.
  const up = (addr: string) => {
    for (let i = 0; i < 20; i++) {
      const u = h.cluster.pick({ clientAddress: '' });
      if (u?.addr === addr) return u;
      if (u !== undefined) h.cluster.attemptEnded(u, 1, { status: 200 });
    }
    throw new Error(`never picked ${addr}`);
  };
  for (let i = 0; i < 2; i++) h.cluster.attemptEnded(up(A), 1, { failure: { kind: 'timeout', reason: 'response headers timeout' }, status: 0 });
  assert.equal(h.byAddr(A)?.healthy, false);
  const cReq = up(C);
  h.cluster.act('10.0.0.2:8080', 'drain');
  const before = { a: h.byAddr(A), b: h.byAddr(B) };
  assert.equal(before.a?.failures, 2);

  for (let i = 0; i < 5; i++) {
    h.cluster.apply(i % 2 === 0 ? second : first);
    h.cluster.apply(second);
    await h.clock.advance(500);
  }
  assert.deepEqual(h.serverDown(), [X, A], 'a known state is not announced again: still one alert for x (and the ejection of A)');
  assert.equal(h.byAddr(A)?.healthy, false, 'the ejection survives');
  assert.match(String(h.byAddr(A)?.reason), /ejected for 30 s/);
  assert.equal(h.byAddr(A)?.failures, 2);
  assert.equal(h.byAddr(B)?.requests, before.b?.requests);
  assert.equal(h.byAddr(B)?.state, 'draining', 'operator state survives reloads');
  assert.equal(h.byAddr(D)?.state, 'up', 'a new server starts as at start-up');
  assert.equal(h.byAddr(D)?.requests, 0);
  // C left the config with a request in flight: it takes nothing new, then goes.
  assert.equal(h.byAddr(C)?.state, 'draining');
  assert.equal(h.byAddr(C)?.inflight, 1);
  assert.ok(!h.picks(50).includes(C));
  h.cluster.attemptEnded(cReq, 5, { status: 200 });
  assert.equal(h.byAddr(C), undefined, 'forgotten once its request finished');
  assert.equal(h.left.at(-1), C, 'the engine heard that C left (and released its pool)');
  // The ejection still runs its time, then A is back (eased in).
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(A)?.healthy, true);
  assert.deepEqual(h.serverDown(), [X, A]);
  await h.cluster.stop(0);
});

test('response-time averages survive a reload: least-response-time keeps preferring the fast server', async () => {
  const cfg = (extra: object[]) =>
    configOf({ algorithm: 'least-response-time', healthCheck: { enabled: false }, servers: [{ addr: A }, { addr: B }, ...extra] });
  const h = harness(cfg([]));
  h.cluster.start();
  const learn = () => {
    for (let i = 0; i < 200; i++) {
      const u = h.cluster.pick({ clientAddress: '' }) as Upstream;
      h.clock.t += 10;
      h.cluster.attemptEnded(u, u.addr === A ? 400 : 10, { status: 200 });
    }
  };
  learn();
  const share = () => {
    let b = 0;
    for (let i = 0; i < 100; i++) {
      const u = h.cluster.pick({ clientAddress: '' }) as Upstream;
      if (u.addr === B) b++;
      h.cluster.attemptEnded(u, u.addr === A ? 400 : 10, { status: 200 });
    }
    return b;
  };
  const warm = share();
  h.cluster.apply(cfg([{ addr: C, weight: 1 }]));
  h.cluster.apply(cfg([]));
  assert.ok(share() >= warm - 5, 'the fast server keeps its share right after the reload');
  await h.cluster.stop(0);
});

test('sources: the cluster merges what every source reports; a server that leaves its source drains, then goes', async () => {
  let report: ((specs: readonly ServerSpec[]) => void) | undefined;
  let started = 0;
  let replace = false;
  const makeSource = (): UpstreamSource => ({
    id: 'dns:api.test',
    start: (onChange) => {
      started++;
      report = onChange;
    },
    stop: async () => undefined,
    status: () => ({ id: 'dns:api.test', ok: true, error: undefined, since: 0, servers: 0 }),
  });
  const clock = new FakeClock();
  const config = configOf({ algorithm: 'round-robin', healthCheck: { enabled: false }, servers: [{ addr: A }] });
  const cluster = new Cluster(config, { log: recordingLogger(), clock, deps: testDeps(), sources: (_c, previous) => [replace ? makeSource() : (previous[0] ?? makeSource())] });
  const left: string[] = [];
  cluster.attach({ serverLeft: (u) => void left.push(u.addr), apply: () => ({ kept: [] }), ready: () => true });
  cluster.start();
  const spec = (addr: string): ServerSpec => ({ addr, name: undefined, weight: 1, backup: false, source: 'dns:api.test' });
  report?.([spec(B), spec(C), spec(A)]); // A is also in the config: the first source (config) owns it
  assert.deepEqual(cluster.servers().map((s) => `${s.addr} ${s.source}`), [`${A} config`, `${B} dns:api.test`, `${C} dns:api.test`]);
  const held = [0, 1, 2].map(() => cluster.pick({ clientAddress: '' }) as Upstream);
  assert.deepEqual(held.map((u) => u.addr).sort(), [A, B, C]);
  report?.([spec(B)]);
  const c = cluster.servers().find((s) => s.addr === C);
  assert.equal(c?.state, 'draining', 'left its source: no new requests, the one in flight finishes');
  for (let i = 0; i < 20; i++) {
    const u = cluster.pick({ clientAddress: '' }) as Upstream;
    assert.notEqual(u.addr, C);
    cluster.attemptEnded(u, 1, { status: 200 });
  }
  for (const u of held) cluster.attemptEnded(u, 1, { status: 200 });
  assert.deepEqual(cluster.servers().map((s) => s.addr), [A, B]);
  assert.deepEqual(left, [C]);
  // A reload that keeps the source keeps it running (and its servers); one without it stops it.
  cluster.apply(config);
  assert.equal(started, 1, 'the factory handed back the running source: kept, not restarted');
  assert.deepEqual(cluster.servers().map((s) => s.addr), [A, B]);
  // A new instance of the same source (its settings changed) replaces it; the last known set stays until it reports.
  replace = true;
  cluster.apply(config);
  assert.equal(started, 2);
  assert.deepEqual(cluster.servers().map((s) => s.addr), [A, B]);
  report?.([spec(C)]);
  assert.deepEqual(cluster.servers().filter((s) => s.state !== 'draining').map((s) => s.addr), [A, C]);
  await cluster.stop(0);
});

test('reload(): a bad file keeps the config in force and returns every problem; a good one returns what changed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'cluster-reload-'));
  const file = join(dir, 'balancer.json');
  const write = (o: object) => writeFileSync(file, JSON.stringify({ addr: '127.0.0.1:0', healthCheck: { enabled: false }, ...o }));
  write({ servers: [{ addr: A }] });
  const log = recordingLogger();
  const cluster = new Cluster(loadConfig(file), { log, clock: new FakeClock(), deps: testDeps() });
  cluster.attach({ serverLeft: () => undefined, apply: () => ({ kept: ['addr (still 127.0.0.1:0)'] }), ready: () => true });
  write({ servers: [{ addr: 'localhost:9' }, { addr: B, weight: -1 }] });
  const bad = await cluster.reload('test');
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.problems.length, 2, 'every problem');
  assert.ok(log.entries.some((l) => l.msg.startsWith('reload rejected, still serving the previous config: ')));
  assert.deepEqual(cluster.servers().map((s) => s.addr), [A]);
  write({ algorithm: 'least-connections', servers: [{ addr: A }, { addr: B }] });
  // Two at once run one after the other; the second finds nothing to change.
  const [good, again] = await Promise.all([cluster.reload('test'), cluster.reload('test')]);
  assert.deepEqual(good, { ok: true, changes: ['algorithm round-robin -> least-connections', `+ ${B}`], kept: ['addr (still 127.0.0.1:0)'] });
  assert.deepEqual(again, { ok: true, changes: [], kept: ['addr (still 127.0.0.1:0)'] });
  assert.deepEqual(cluster.servers().map((s) => s.addr), [A, B]);
  await cluster.stop(0);
});

test('a server removed while down and added back before its requests finished starts its health over', async () => {
  const both = configOf({ algorithm: 'round-robin', servers: [{ addr: A }, { addr: B }] });
  const onlyB = configOf({ algorithm: 'round-robin', servers: [{ addr: B }] });
  const h = harness(both);
  h.cluster.start();
  await h.clock.advance(0);
  let held: Upstream | undefined;
  while (held?.addr !== A) held = h.cluster.pick({ clientAddress: '' });
  h.down.add(A);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(A)?.state, 'down');
  h.cluster.apply(onlyB);
  assert.equal(h.byAddr(A)?.state, 'draining');
  h.down.delete(A);
  h.cluster.apply(both);
  await h.clock.advance(30_000);
  assert.equal(h.byAddr(A)?.state, 'up');
  assert.ok(h.picks(10).includes(A));
  h.cluster.attemptEnded(held, 1, { status: 200 });
  assert.equal(h.byAddr(A)?.inflight, 0);
  await h.cluster.stop(0);
});
