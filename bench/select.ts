// Nanoseconds per pick (select + onStart + onEnd) of every registered algorithm at 4, 64 and
// 1,024 servers, minor GCs during the picks (0 = nothing allocated), and the cost of update().
// Run: npx tsc -p . && node dist/bench/select.js
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { ALGORITHM_NAMES, SELECTORS } from '../src/control/selection/algorithms.js';
import type { PickRequest, Selector, SelectorDeps } from '../src/control/selection/selector.js';
import { createUpstream, type Upstream, type UpstreamState } from '../src/control/selection/upstream.js';
// Seeded PRNG, so runs are comparable; shared with the tests (dev-only code, kept out of src/).
import { mulberry32 } from '../test/control/selection/helpers.js';

const SIZES = [4, 64, 1024];
// Requests kept in flight, so the load-aware algorithms see real, changing in-flight counts.
const CONCURRENCY = 16;
const WARMUP = 200_000;
const MIN_MS = 300;

const REQUESTS: PickRequest[] = Array.from({ length: 4096 }, (_, i) => ({
  clientAddress: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
}));

// The bench plays the control plane: it keeps each server's state record, by index (no lookup
// in the timed loop).
let STATES: UpstreamState[] = [];

function makeServers(n: number): Upstream[] {
  const made = Array.from({ length: n }, (_, i) => createUpstream(`http://10.1.${i >> 8}.${i & 255}:8080`, { weight: 1 + (i % 4), index: i }));
  STATES = made.map((m) => m.state);
  return made.map((m) => m.upstream);
}

// Runs `iterations` picks; each pick first finishes the oldest of CONCURRENCY in-flight requests.
function run(sel: Selector, ring: (Upstream | undefined)[], clock: { t: number }, start: number, iterations: number): void {
  for (let i = start; i < start + iterations; i++) {
    const slot = i % CONCURRENCY;
    const old = ring[slot];
    if (old !== undefined) {
      (STATES[old.index] as UpstreamState).inflight--;
      sel.onEnd?.(old, 5 + (old.index % 7) * 3, false);
    }
    clock.t += 0.05;
    const u = sel.select(REQUESTS[i & 4095] as PickRequest);
    if (u !== undefined) {
      (STATES[u.index] as UpstreamState).inflight++;
      sel.onStart?.(u);
    }
    ring[slot] = u;
  }
}

// For comparison only: nginx's smooth WRR as nginx does it, a linear scan of every server per pick.
const NGINX_SCAN = 'nginx SWRR scan (ref.)';
class NginxScan implements Selector {
  private servers: readonly Upstream[] = [];
  private current = new Float64Array(0);
  select(): Upstream | undefined {
    let best = -1;
    let total = 0;
    for (let i = 0; i < this.servers.length; i++) {
      const w = (this.servers[i] as Upstream).effectiveWeight;
      const c = (this.current[i] as number) + w;
      this.current[i] = c;
      total += w;
      if (best < 0 || c > (this.current[best] as number)) best = i;
    }
    if (best >= 0) this.current[best] = (this.current[best] as number) - total;
    return this.servers[best];
  }
  update(servers: readonly Upstream[]): void {
    this.servers = servers;
    this.current = new Float64Array(servers.length);
  }
}

// Minor (scavenge) GCs seen so far; entries arrive asynchronously, hence settle().
let minorGcs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const detail = (e as PerformanceEntry & { detail?: { kind?: number } }).detail;
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minorGcs++;
  }
}).observe({ entryTypes: ['gc'] });
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** One measurement: time per pick and minor GCs per million picks. */
interface PickCost {
  readonly ns: number;
  readonly gcPerMillion: number;
}

async function measurePicks(name: string, n: number): Promise<PickCost> {
  const factory = name === NGINX_SCAN ? () => new NginxScan() : SELECTORS[name as keyof typeof SELECTORS];
  if (!factory) return { ns: NaN, gcPerMillion: NaN };
  const clock = { t: 0 };
  const deps: SelectorDeps = { random: mulberry32(1), now: () => clock.t };
  const sel: Selector = factory(deps, {});
  const servers = makeServers(n);
  sel.configure?.(servers);
  sel.update(servers);
  const ring: (Upstream | undefined)[] = new Array<Upstream | undefined>(CONCURRENCY).fill(undefined);
  run(sel, ring, clock, 0, WARMUP);
  await settle();
  const gcBefore = minorGcs;
  let done = WARMUP;
  let iterations = 100_000;
  const t0 = process.hrtime.bigint();
  let elapsed = 0;
  for (;;) {
    run(sel, ring, clock, done, iterations);
    done += iterations;
    elapsed = Number(process.hrtime.bigint() - t0) / 1e6;
    if (elapsed >= MIN_MS) break;
    iterations *= 2;
  }
  await settle();
  const picks = done - WARMUP;
  return { ns: (elapsed * 1e6) / picks, gcPerMillion: ((minorGcs - gcBefore) * 1e6) / picks };
}

// update() after one server went down or came back (health checks), or after one weight changed (slow start).
function usPerUpdate(change: 'availability' | 'weight'): (name: string, n: number) => number {
  return (name, n) => {
    const factory = name === NGINX_SCAN ? () => new NginxScan() : SELECTORS[name as keyof typeof SELECTORS];
    if (!factory) return NaN;
    const sel: Selector = factory({ random: mulberry32(2), now: () => 0 }, {});
    const servers = makeServers(n);
    sel.configure?.(servers);
    sel.update(servers);
    const reps = 20;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < reps; r++) {
      const s = servers[r % n] as Upstream;
      if (change === 'weight') (STATES[s.index] as UpstreamState).weightFactor = s.weightFactor === 1 ? 0.5 : 1;
      else (STATES[s.index] as UpstreamState).available = !s.available;
      sel.update(servers.filter((x) => x.available));
    }
    return Number(process.hrtime.bigint() - t0) / 1e3 / reps;
  };
}

const NAMES: string[] = [...ALGORITHM_NAMES.filter((a) => SELECTORS[a] !== undefined), NGINX_SCAN];

function table(title: string, unit: string, cell: (name: string, n: number) => number, digits: number): void {
  const w = Math.max(...NAMES.map((a) => a.length), title.length);
  console.log(`\n${title.padEnd(w)} | ${SIZES.map((n) => `${n} servers`.padStart(13)).join(' | ')}`);
  console.log(`${'-'.repeat(w)}-|-${SIZES.map(() => '-'.repeat(13)).join('-|-')}`);
  for (const a of NAMES) {
    const cells = SIZES.map((n) => `${cell(a, n).toFixed(digits)}${unit ? ` ${unit}` : ''}`.padStart(13));
    console.log(`${a.padEnd(w)} | ${cells.join(' | ')}`);
  }
}

const picks = new Map<string, PickCost>();
for (const a of NAMES) for (const n of SIZES) picks.set(`${a}/${n}`, await measurePicks(a, n));
const pick = (a: string, n: number): PickCost => picks.get(`${a}/${n}`) as PickCost;

console.log(`node ${process.version}, ${CONCURRENCY} requests in flight, weights 1..4, fake clock in fractional ms`);
table('ns per pick', 'ns', (a, n) => pick(a, n).ns, 0);
table('minor GCs per 1M picks', '', (a, n) => pick(a, n).gcPerMillion, 1);
table('update(), server down/up', 'µs', usPerUpdate('availability'), 1);
table('update(), weight changed', 'µs', usPerUpdate('weight'), 1);
