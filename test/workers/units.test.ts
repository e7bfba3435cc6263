// The workers' parts on their own: restart backoff, the outcome batches, the follower's mirror.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import type { ControlPlane } from '../../src/engines/engine.js';
import { Cluster } from '../../src/control/cluster.js';
import { FIRST_DELAY_MS, MAX_DELAY_MS, RestartBackoff, STABLE_MS } from '../../src/workers/backoff.js';
import { FollowerPlane } from '../../src/workers/follower.js';
import { MAX_ITEMS, Reporter, type ReportBatch } from '../../src/workers/reporter.js';
import { recordingLogger } from '../helpers/logger.js';

test('restart backoff: 100 ms doubling to 10 s, back to 100 ms after a stable minute', () => {
  const b = new RestartBackoff();
  const delays = Array.from({ length: 10 }, () => b.delay(50));
  assert.deepEqual(delays, [100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000, 10_000]);
  assert.equal(b.delay(STABLE_MS), FIRST_DELAY_MS);
  assert.equal(b.delay(10), 2 * FIRST_DELAY_MS);
  assert.ok(MAX_DELAY_MS === 10_000);
});

test('reporter: outcomes fold per server (counts, histogram, success runs as one), one batch per interval, at once after MAX_ITEMS failures', () => {
  const sent: ReportBatch[] = [];
  const r = new Reporter((b) => sent.push(b), () => ({ k: 1 }));
  for (let i = 0; i < 50; i++) r.attempt('k', 2, false, 200);
  r.attempt('k', 30, true, { reason: 'ECONNRESET', cause: 'reset' });
  r.attempt('k', 2, false, 204);
  r.attempt('k', 2, false, 200);
  r.failure('k', { reason: 'stray bytes', cause: 'response' });
  assert.equal(sent.length, 0, 'nothing is sent per request');
  r.flush();
  assert.equal(sent.length, 1);
  const k = sent[0]?.servers.k;
  assert.equal(k?.requests, 53);
  assert.equal(k?.failures, 1);
  assert.deepEqual(k?.passive, [200, { reason: 'ECONNRESET', cause: 'reset' }, 200, { reason: 'stray bytes', cause: 'response' }]);
  assert.equal(k?.hist.reduce((n, [, c]) => n + c, 0), 53);
  assert.deepEqual(sent[0]?.inflight, { k: 1 });
  for (let i = 0; i < MAX_ITEMS; i++) r.attempt('k', 1, true, { reason: 'ECONNREFUSED', cause: 'connect' });
  assert.equal(sent.length, 2, 'a burst of failures goes at once');
  r.stop();
});

function config(o: Record<string, unknown>) {
  return parseConfig(JSON.stringify({ addr: '127.0.0.1:0', healthCheck: { slowStart: 0 }, ...o }), 'test.json', {});
}

test("follower: mirrors the primary's servers and their state, and picks as the primary's own selection would (ip-hash agrees)", () => {
  const servers = ['a', 'b', 'c', 'd'].map((n, i) => ({ addr: `http://127.0.0.1:${9101 + i}`, name: n }));
  const cfg = config({ algorithm: 'ip-hash', servers });
  const primary = new Cluster(cfg, { log: recordingLogger() });
  const batches: ReportBatch[] = [];
  const followers = [0, 1].map(() => {
    const f: FollowerPlane = new FollowerPlane(cfg, { workers: 2, reporter: new Reporter((b) => batches.push(b), () => f.inflight()) });
    f.setMembers(primary.members());
    return f;
  });
  // Each pick ends at once (a request of 1 ms), so in-flight counts stay as they were.
  const pickAll = (p: ControlPlane) =>
    Array.from({ length: 64 }, (_, i) => {
      const u = p.pick({ clientAddress: `198.51.100.${i}` });
      if (u !== undefined) p.attemptEnded(u, 1, { status: 200 });
      return u?.name;
    });
  const want = pickAll(primary);
  for (const f of followers) assert.deepEqual(pickAll(f), want);
  // An operator drains c in the primary: every follower hears it and stops picking it.
  primary.act('c', 'drain');
  for (const f of followers) f.setMembers(primary.members());
  for (const f of followers) {
    const picks = pickAll(f);
    assert.ok(!picks.includes('c'));
    assert.deepEqual(picks, pickAll(followers[0] as FollowerPlane));
  }
  // A member left: the follower stops picking it; its in-flight requests still end cleanly.
  const f = followers[0] as FollowerPlane;
  const u = f.pick({ clientAddress: '192.0.2.1' });
  assert.ok(u !== undefined);
  f.setMembers(primary.members().filter((m) => m.name !== u.name));
  assert.ok(!pickAll(f).includes(u.name));
  f.attemptEnded(u, 5, { status: 200 });
  assert.equal(u.inflight, 0);
});

test('cluster: a batch from a worker counts in the totals and passive health as its own attempts would', () => {
  const cfg = config({ servers: [{ addr: 'http://127.0.0.1:9201', name: 'a' }, { addr: 'http://127.0.0.1:9202', name: 'b' }], healthCheck: { enabled: false, passive: { maxFails: 3, maxEjectionPercent: 100 } } });
  const primary = new Cluster(cfg, { log: recordingLogger() });
  const key = primary.members()[0]?.key as string;
  const fail = { reason: 'ECONNRESET', cause: 'reset' as const };
  // Two failures, a success, two failures: never three in a row.
  primary.remoteAttempts(key, { requests: 5, failures: 4, passive: [fail, fail, 200, fail, fail], hist: [[3, 5]] });
  assert.equal(primary.servers()[0]?.state, 'up');
  assert.equal(primary.servers()[0]?.requests, 5);
  assert.equal(primary.servers()[0]?.failures, 4);
  // The live figures (dashboard, event stream) count them too.
  assert.equal(primary.summary().servers[0]?.p50 !== null, true);
  // The third in a row (in the next batch) ejects it.
  primary.remoteAttempts(key, { requests: 1, failures: 1, passive: [fail], hist: [[3, 1]] });
  assert.equal(primary.servers()[0]?.state, 'down');
  assert.equal(primary.members()[0]?.healthy, false);
  void primary.stop();
});

test('config: "workers" is "auto" (one per core) or a whole number; anything else names the field and what is allowed', async () => {
  const { availableParallelism } = await import('node:os');
  const servers = [{ addr: 'http://127.0.0.1:9301' }];
  assert.equal(config({ servers }).workers, 1);
  assert.equal(config({ servers, workers: 3 }).workers, 3);
  assert.equal(config({ servers, workers: 'auto' }).workers, availableParallelism());
  const said: Record<string, string> = { '0': 'is too small (minimum 1)', '1.5': 'allowed: "auto"', '"all"': 'allowed: "auto"', '300': 'is too large (maximum 256)' };
  for (const [bad, phrase] of Object.entries(said)) {
    assert.throws(
      () => config({ servers, workers: JSON.parse(bad) as unknown }),
      (e: Error & { problems?: string[] }) => (e.problems ?? []).some((p) => p.startsWith(`test.json: workers: ${bad} `) && p.includes(phrase)),
      `workers: ${JSON.stringify(bad)}`,
    );
  }
});
