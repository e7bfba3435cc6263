import { IndexedHeap, type HeapItem } from './indexed-heap.js';
import type { PickRequest, Selector } from './selector.js';
import type { Upstream } from './upstream.js';

// One server's place in the heap.
class Entry implements HeapItem {
  heapIndex = -1;
  /** Primary key: in-flight requests, divided by the effective weight when weighted. */
  load = 0;
  /** Tie-breaker: virtual time of this server's next turn; grows by 1/weight (or 1) per pick. */
  tag = 0;
  /** 1 / effective weight when weighted, else 1 / slow-start factor (1 when not ramping). */
  perUnit = 1;
  /** Position in the candidate list (config order), the last tie-breaker. */
  order = 0;
  constructor(readonly u: Upstream) {}
}

const before = (a: Entry, b: Entry): boolean =>
  a.load < b.load || (a.load === b.load && (a.tag < b.tag || (a.tag === b.tag && a.order < b.order)));

/**
 * Fewest in-flight requests (nginx least_conn, HAProxy leastconn); with `weighted`,
 * fewest in-flight per unit of effective weight (LVS wlc).
 *
 * An indexed min-heap keyed by (load, tag, order) is repaired in `onStart`/`onEnd`,
 * so each pick is O(log N). Ties rotate: among equally loaded servers the one whose
 * turn (`tag`, a start-time fair-queueing virtual time) comes first wins, so equal
 * servers take turns, and when weighted, idle servers share in proportion to weight
 * instead of all traffic going to the first one. A server (re)joining starts at the
 * current virtual time, so it neither hoards ties nor waits for the others to catch up.
 */
export class LeastConnections implements Selector {
  private readonly heap = new IndexedHeap<Entry>(before);
  private readonly entries = new Map<Upstream, Entry>();
  // Virtual time: the turn of the latest pick.
  private vtime = 0;

  constructor(private readonly weighted: boolean) {}

  select(_req: PickRequest): Upstream | undefined {
    const e = this.heap.peek();
    if (e === undefined) return undefined;
    const start = e.tag > this.vtime ? e.tag : this.vtime;
    this.vtime = start;
    e.tag = start + e.perUnit;
    this.heap.update(e);
    return e.u;
  }

  update(servers: readonly Upstream[]): void {
    const old = new Map(this.entries);
    this.entries.clear();
    const list = servers.map((u, i) => {
      const e = old.get(u) ?? new Entry(u);
      e.order = i;
      // Unweighted still honours slow start: a ramping server counts its load as larger.
      e.perUnit = this.weighted ? 1 / u.effectiveWeight : 1 / u.weightFactor;
      e.load = u.inflight * e.perUnit;
      if (e.tag < this.vtime) e.tag = this.vtime;
      this.entries.set(u, e);
      return e;
    });
    this.heap.reset(list);
  }

  onStart(u: Upstream): void {
    this.touch(u);
  }

  onEnd(u: Upstream): void {
    this.touch(u);
  }

  // u.inflight changed: refresh its key. Servers not in the candidate set are ignored.
  private touch(u: Upstream): void {
    const e = this.entries.get(u);
    if (e === undefined) return;
    e.load = u.inflight * e.perUnit;
    this.heap.update(e);
  }
}

/** Factory for the registry. */
export const createLeastConnections = (): Selector => new LeastConnections(false);
