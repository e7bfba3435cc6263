// The contract every registered algorithm must meet (run by conformance.test.ts for each entry of SELECTORS).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AlgorithmName } from '../../../src/control/selection/algorithms.js';
import { Pool } from '../../../src/control/selection/pool.js';
import type { AlgorithmOptions, Selector, SelectorFactory } from '../../../src/control/selection/selector.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { clientAddress, makeServers, mulberry32, req, testDeps, type TestDeps } from './helpers.js';
import { st, testPool } from './helpers.js';

/** Options the suite passes per algorithm, where the defaults would not spread load (first). */
export const CONFORMANCE_OPTIONS: Partial<Record<AlgorithmName, AlgorithmOptions>> = {
  first: { maxInflight: 1 },
};

/** How a simulated client load behaves. */
export interface Load {
  /** Requests kept in flight; the oldest finishes before the next starts. */
  readonly window: number;
  /** Distinct client addresses, used in turn. */
  readonly clients: number;
  /** Milliseconds the fake clock moves per request. */
  readonly tickMs: number;
  /** Response time of a request to `u`. */
  readonly latency: (u: Upstream) => number;
  /** Whether a request to `u` fails. */
  readonly fails: (u: Upstream) => boolean;
}

const DEFAULT_LOAD: Load = {
  window: 8,
  clients: 64,
  tickMs: 1,
  latency: (u) => 5 + u.index * 3,
  fails: () => false,
};

/** Runs `n` requests through a pool the way the proxy does (acquire, later release); returns the picks in order. */
export function drivePool(pool: Pool, deps: TestDeps, n: number, load: Partial<Load> = {}): (Upstream | undefined)[] {
  const l = { ...DEFAULT_LOAD, ...load };
  const inFlight: Upstream[] = [];
  const picks: (Upstream | undefined)[] = [];
  for (let i = 0; i < n; i++) {
    while (inFlight.length >= l.window) {
      const u = inFlight.shift() as Upstream;
      pool.release(u, l.latency(u), l.fails(u));
    }
    deps.time += l.tickMs;
    const u = pool.acquire(req(clientAddress(i % l.clients)));
    picks.push(u);
    if (u !== undefined) inFlight.push(u);
  }
  for (const u of inFlight) pool.release(u, l.latency(u), l.fails(u));
  return picks;
}

/** Like drivePool but against a bare selector, doing the pool's in-flight bookkeeping; returns the in-flight requests left. */
export function driveSelector(
  sel: Selector,
  deps: TestDeps,
  n: number,
  load: Partial<Load> = {},
  inFlight: Upstream[] = [],
  picks: (Upstream | undefined)[] = [],
): Upstream[] {
  const l = { ...DEFAULT_LOAD, ...load };
  for (let i = 0; i < n; i++) {
    while (inFlight.length >= l.window) {
      const u = inFlight.shift() as Upstream;
      st(u).inflight--;
      sel.onEnd?.(u, l.latency(u), l.fails(u));
    }
    deps.time += l.tickMs;
    const u = sel.select(req(clientAddress(i % l.clients)));
    picks.push(u);
    if (u !== undefined) {
      st(u).inflight++;
      sel.onStart?.(u);
      inFlight.push(u);
    }
  }
  return inFlight;
}

/** The shared suite: registers the conformance tests for one algorithm. */
export function conformance(name: AlgorithmName, factory: SelectorFactory): void {
  const options = CONFORMANCE_OPTIONS[name] ?? {};
  const make = (seed = 1): { sel: Selector; deps: TestDeps } => {
    const deps = testDeps(seed);
    return { sel: factory(deps, options), deps };
  };

  describe(`conformance: ${name}`, () => {
    test('returns undefined when no server is available', () => {
      const { sel } = make();
      assert.equal(sel.select(req()), undefined, 'before any update');
      sel.update([]);
      assert.equal(sel.select(req()), undefined, 'after update([])');
      sel.update(makeServers(3));
      assert.notEqual(sel.select(req()), undefined);
      sel.update([]);
      assert.equal(sel.select(req()), undefined, 'after the last server left');

      const servers = makeServers(3);
      for (const s of servers) st(s).available = false;
      const deps = testDeps();
      const pool = testPool(servers, name, options, deps);
      assert.equal(pool.acquire(req()), undefined, 'pool with every server down');
    });

    test('never picks an unavailable server; backups only while every primary is down', () => {
      const servers = makeServers([1, 2, 3, 1, 0.5, 2, 1, 1], { backupFrom: 6 });
      const deps = testDeps(3);
      const pool = testPool(servers, name, options, deps);
      const rng = mulberry32(99);
      const inFlight: Upstream[] = [];
      for (let round = 0; round < 300; round++) {
        const s = servers[Math.floor(rng() * servers.length)] as Upstream;
        st(s).available = !s.available;
        pool.refresh();
        const anyPrimary = servers.some((x) => x.available && !x.backup);
        const anyUp = servers.some((x) => x.available);
        for (let i = 0; i < 20; i++) {
          if (inFlight.length >= 6) {
            const done = inFlight.shift() as Upstream;
            deps.time += 1;
            pool.release(done, 3 + done.index, done.index === 2);
          }
          const u = pool.acquire(req(clientAddress(round * 20 + i)));
          if (!anyUp) {
            assert.equal(u, undefined, `round ${round}: nothing is up`);
            continue;
          }
          assert.ok(u, `round ${round}: something is up`);
          assert.ok(u.available, `round ${round}: picked ${u.name}, which is down`);
          assert.equal(u.backup, !anyPrimary, `round ${round}: picked ${u.name}; backup must be used iff no primary is up`);
          inFlight.push(u);
        }
      }
      for (const u of inFlight) pool.release(u, 1, false);
      for (const s of servers) assert.equal(s.inflight, 0, `${s.name} in flight after draining`);
    });

    test('copes with servers added and removed (update with a different set)', () => {
      const all = makeServers([1, 2, 1, 3, 1, 2]);
      const [a, b, c, d, e, f] = all as [Upstream, Upstream, Upstream, Upstream, Upstream, Upstream];
      const { sel, deps } = make(5);
      let inFlight: Upstream[] = [];
      for (const set of [[a, b, c], [c, d, e, f], [f], [], [a, f], all, [b, d]]) {
        sel.update(set);
        const picks: (Upstream | undefined)[] = [];
        // Requests to servers that just left finish later: onEnd for a non-member must be harmless.
        inFlight = driveSelector(sel, deps, 300, { window: set.length + 2 }, inFlight, picks);
        const names = set.map((s) => s.name).join(',');
        if (set.length === 0) {
          assert.ok(
            picks.every((p) => p === undefined),
            'empty set picks nothing',
          );
          continue;
        }
        for (const p of picks) assert.ok(p !== undefined && set.includes(p), `picked ${p?.name} outside {${names}}`);
        for (const s of set) assert.ok(picks.includes(s), `${s.name} never picked among {${names}}`);
      }
    });

    test('is deterministic with injected random and clock', () => {
      const run = (): string[] => {
        const servers = makeServers([1, 2, 3, 1, 1]);
        const deps = testDeps(42);
        const pool = testPool(servers, name, options, deps);
        const first = drivePool(pool, deps, 1500, { fails: (u) => u.index === 4 });
        st((servers[1] as Upstream)).available = false;
        pool.refresh();
        const second = drivePool(pool, deps, 500, { window: 3 });
        return [...first, ...second].map((u) => u?.name ?? '-');
      };
      assert.deepEqual(run(), run());
    });

    test('gives every server picks, through Pool acquire/release', () => {
      const servers = makeServers([1, 2, 3, 1, 2, 1]);
      const deps = testDeps(7);
      const pool = testPool(servers, name, options, deps);
      const picks = drivePool(pool, deps, 600);
      for (const s of servers) assert.ok(picks.includes(s), `${s.name} never picked`);
      for (const s of servers) assert.equal(s.inflight, 0, `${s.name} in flight after draining`);
      assert.ok(picks.every((p) => p !== undefined));
    });

    test('works with one server and with 1,024', () => {
      for (const n of [1, 1024]) {
        const servers = makeServers(Array.from({ length: n }, (_, i) => 1 + (i % 4)));
        const deps = testDeps(n);
        const pool = testPool(servers, name, options, deps);
        const picks = drivePool(pool, deps, 3000, { window: 16, clients: 3000 });
        assert.ok(picks.every((p) => p !== undefined && servers.includes(p)));
        if (n === 1) assert.ok(picks.every((p) => p === servers[0]));
      }
    });

    // `first` fills servers in config order by design; slow start does not apply to it.
    if (name !== 'first') {
      test('a server in slow start gets a smaller share than its peers', () => {
        const servers = makeServers(4);
        const deps = testDeps(11);
        const pool = testPool(servers, name, options, deps);
        st((servers[0] as Upstream)).weightFactor = 0.1;
        pool.refresh();
        const picks = drivePool(pool, deps, 20_000, { latency: () => 5, clients: 4096 });
        const count = (u: Upstream | undefined) => picks.filter((p) => p === u).length;
        const ramping = count(servers[0]);
        const others = servers.slice(1).map(count);
        const mean = others.reduce((a, b) => a + b, 0) / others.length;
        assert.ok(ramping < 0.5 * mean, `ramping server ${ramping} picks vs peers ${others.join(', ')}`);
        assert.ok(ramping > 0, 'a ramping server still gets some traffic');
      });
    }
  });
}
