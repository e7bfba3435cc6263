import { hash32 } from './hash.js';

/** Maglev lookup-table size: a prime, so every permutation visits every slot; ~64 slots per server at 1,024 servers. */
export const MAGLEV_TABLE_SIZE = 65537;

// Seeds of the two hashes that give each server its permutation (offset, skip).
const OFFSET_SEED = 0x9e3779b9;
const SKIP_SEED = 0x7f4a7c15;

// Below this ratio of largest to average weight, servers claim slots in rounds (cheap, like Envoy);
// above it, rounds would mostly skip light servers, so a heap orders the turns instead.
const MAX_SKEW_FOR_ROUNDS = 16;

/**
 * Builds a weighted Maglev table (Eisenbud et al., NSDI '16): slot -> index into `keys`.
 * Each server walks its own permutation of the slots, derived only from its key, and
 * servers take turns claiming free slots; a server of weight w gets a turn every 1/w
 * of virtual time, so it ends with a share of slots proportional to w (±1 slot).
 * The result depends only on (keys, weights) in the given order, never on randomness.
 * Cost: the probing (~M ln M) plus O(M) or O(M log N) turn-taking, a few ms for M = 65,537.
 */
export function buildMaglevTable(keys: readonly string[], weights: readonly number[], size = MAGLEV_TABLE_SIZE): Int32Array {
  const table = new Int32Array(size).fill(-1);
  const n = keys.length;
  if (n === 0) return table;
  // Next slot and stride of each server's permutation; small ints in typed arrays keep the probe loop fast.
  const next = new Int32Array(n);
  const stride = new Int32Array(n);
  const w = new Float64Array(n);
  keys.forEach((k, i) => {
    next[i] = hash32(k, OFFSET_SEED) % size;
    stride[i] = (hash32(k, SKIP_SEED) % (size - 1)) + 1;
    w[i] = weights[i] ?? 1;
  });
  // Server i takes its next free slot.
  const claim = (i: number): void => {
    const step = stride[i] as number;
    let slot = next[i] as number;
    while (table[slot] !== -1) {
      slot += step;
      if (slot >= size) slot -= size;
    }
    table[slot] = i;
    slot += step;
    next[i] = slot >= size ? slot - size : slot;
  };
  let max = 0;
  let sum = 0;
  for (const x of w) {
    sum += x;
    if (x > max) max = x;
  }
  if ((max * n) / sum <= MAX_SKEW_FOR_ROUNDS) fillInRounds(w, max, size, claim);
  else fillByHeap(w, size, claim);
  return table;
}

// Server i's turn c (0-based) falls at virtual time (c + 1/2) / w_i: starting half a turn in keeps
// rounding unbiased, so 1,000 light servers do not each get a free extra slot at time 0.
// Rounds (like Envoy's) take the turns of virtual times up to (k + 1) / max in round k.
function fillInRounds(w: Float64Array, max: number, size: number, claim: (i: number) => void): void {
  const n = w.length;
  const claims = new Float64Array(n);
  let filled = 0;
  for (let k = 0; filled < size; k++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (((claims[i] as number) + 0.5) * max > (k + 1) * (w[i] as number)) continue;
      claims[i] = (claims[i] as number) + 1;
      claim(i);
      filled++;
    }
  }
}

// The same virtual times in exact order (ties by index), via a min-heap.
function fillByHeap(w: Float64Array, size: number, claim: (i: number) => void): void {
  const n = w.length;
  const turn = w.map((x) => 0.5 / x);
  const before = (a: number, b: number): boolean => {
    const ta = turn[a] as number;
    const tb = turn[b] as number;
    return ta < tb || (ta === tb && a < b);
  };
  // A sorted array is a valid heap.
  const heap = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => (before(a, b) ? -1 : 1));
  for (let filled = 0; filled < size; filled++) {
    const i = heap[0] as number;
    claim(i);
    turn[i] = (turn[i] as number) + 1 / (w[i] as number);
    // The root's turn grew: sift it down.
    let at = 0;
    for (;;) {
      const l = 2 * at + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && before(heap[r] as number, heap[l] as number)) c = r;
      if (!before(heap[c] as number, i)) break;
      heap[at] = heap[c] as number;
      at = c;
    }
    heap[at] = i;
  }
}
