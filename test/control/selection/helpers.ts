import type { AlgorithmName } from '../../../src/control/selection/algorithms.js';
import { Pool } from '../../../src/control/selection/pool.js';
import type { AlgorithmOptions, PickRequest, SelectorDeps } from '../../../src/control/selection/selector.js';
import { createUpstream, type Upstream, type UpstreamOptions, type UpstreamState } from '../../../src/control/selection/upstream.js';

// Tests play the control plane: they keep each server's writable state record.
const states = new WeakMap<Upstream, UpstreamState>();

/** A server whose state the test can write with `st`. */
export function testUpstream(addr: string, opts: UpstreamOptions = {}): Upstream {
  const { upstream, state } = createUpstream(addr, opts);
  states.set(upstream, state);
  return upstream;
}

/** The writable state of a server made by `testUpstream`/`makeServers` (tests play the control plane). */
export function st(u: Upstream): UpstreamState {
  const s = states.get(u);
  if (s === undefined) throw new Error(`${u.addr} was not made by testUpstream`);
  return s;
}

/** A Pool over test servers (in-flight counts written through `st`). */
export function testPool(servers: readonly Upstream[], algorithm: AlgorithmName, options: AlgorithmOptions = {}, deps: SelectorDeps = testDeps()): Pool {
  return new Pool(servers, algorithm, options, deps, st);
}

/** mulberry32: a tiny seeded PRNG with uniform output in [0, 1), so runs repeat exactly. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Selector deps with a seeded PRNG and a clock that only moves when the test says so. */
export interface TestDeps extends SelectorDeps {
  /** Current fake time in milliseconds. */
  time: number;
}

/** Seeded random and a manual clock starting at 0 ms. */
export function testDeps(seed = 1): TestDeps {
  const random = mulberry32(seed);
  const deps: TestDeps = { time: 0, random, now: () => deps.time };
  return deps;
}

/** Servers named a, b, c, ... at http://10.1.<i / 256>.<i % 256>:8080, with the given weights, in config order. */
export function makeServers(weights: readonly number[] | number, opts: { backupFrom?: number } = {}): Upstream[] {
  const ws = typeof weights === 'number' ? Array.from({ length: weights }, () => 1) : weights;
  return ws.map(
    (weight, index) =>
      testUpstream(`http://10.1.${index >> 8}.${index & 255}:8080`, {
        weight,
        index,
        name: serverName(index),
        backup: opts.backupFrom !== undefined && index >= opts.backupFrom,
      }),
  );
}

/** a..z, then s26, s27, ... */
export function serverName(i: number): string {
  return i < 26 ? String.fromCharCode(97 + i) : `s${i}`;
}

/** A request from `clientAddress`. */
export const req = (clientAddress = '192.0.2.1'): PickRequest => ({ clientAddress });

/** The i-th of many distinct client addresses (IPv4 in 10.0.0.0/8, then IPv6). */
export function clientAddress(i: number): string {
  return i < 1 << 24 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8::${i.toString(16)}`;
}

/** Counts of picks per server name. */
export function tally(picks: readonly (Upstream | undefined)[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const u of picks) {
    const k = u?.name ?? 'undefined';
    m.set(k, (m.get(k) ?? 0) + 1);
  }
  return m;
}
