import { hash32 } from './hash.js';
import { IndexedHeap, type HeapItem } from './indexed-heap.js';

/** Maglev lookup-table size: a prime, so every permutation visits every slot; ~64 slots per server at 1,024 servers. */
export const MAGLEV_TABLE_SIZE = 65537;

// Seeds of the two hashes that give each server its permutation (offset, skip).
const OFFSET_SEED = 0x9e3779b9;
const SKIP_SEED = 0x7f4a7c15;

// A server's turn in the table fill: it claims its next slot at virtual time `turn`.
interface Turn extends HeapItem {
  readonly i: number;
  readonly step: number;
  turn: number;
  slot: number;
}

/**
 * Builds a weighted Maglev table (Eisenbud et al., NSDI '16): slot -> index into `keys`.
 * Each server walks its own permutation of the slots, derived only from its key, and
 * servers take turns claiming free slots; a server of weight w gets a turn every 1/w
 * of virtual time, so it ends with a share of slots proportional to w (±1 slot).
 * The result depends only on (keys, weights) in the given order, never on randomness.
 * Cost is O(M log N) plus the probing, a few milliseconds for M = 65,537.
 */
export function buildMaglevTable(keys: readonly string[], weights: readonly number[], size = MAGLEV_TABLE_SIZE): Int32Array {
  const table = new Int32Array(size).fill(-1);
  if (keys.length === 0) return table;
  const heap = new IndexedHeap<Turn>((a, b) => a.turn < b.turn || (a.turn === b.turn && a.i < b.i));
  heap.reset(
    keys.map((k, i) => ({
      heapIndex: -1,
      i,
      step: (hash32(k, SKIP_SEED) % (size - 1)) + 1,
      turn: 0,
      slot: hash32(k, OFFSET_SEED) % size,
    })),
  );
  for (let filled = 0; filled < size; filled++) {
    const t = heap.peek() as Turn;
    while (table[t.slot] !== -1) t.slot = (t.slot + t.step) % size;
    table[t.slot] = t.i;
    t.slot = (t.slot + t.step) % size;
    t.turn += 1 / (weights[t.i] ?? 1);
    heap.update(t);
  }
  return table;
}
