/** An element of an IndexedHeap: the heap records where the element sits so it can be moved in O(log N). */
export interface HeapItem {
  /** Position in the heap array, or -1 while not in the heap. */
  heapIndex: number;
}

/**
 * Binary min-heap whose elements know their own position, so a changed key is
 * repaired in place (O(log N), no allocation) instead of remove + insert.
 */
export class IndexedHeap<T extends HeapItem> {
  private items: T[] = [];

  /** `less(a, b)` is true when `a` must come out before `b`; it must be a strict total order. */
  constructor(private readonly less: (a: T, b: T) => boolean) {}

  /** Number of elements. */
  get size(): number {
    return this.items.length;
  }

  /** The smallest element, or undefined when empty. */
  peek(): T | undefined {
    return this.items[0];
  }

  /** Replaces the contents with `items` (the array is adopted) and heapifies in O(N). */
  reset(items: T[]): void {
    for (const it of this.items) it.heapIndex = -1;
    this.items = items;
    items.forEach((it, i) => (it.heapIndex = i));
    for (let i = (items.length >>> 1) - 1; i >= 0; i--) this.down(i);
  }

  /** Restores heap order after `item`'s key changed in either direction. */
  update(item: T): void {
    const i = item.heapIndex;
    if (i < 0) return;
    if (this.up(i) === i) this.down(i);
  }

  // Moves the element at i towards the root while it beats its parent; returns its final position.
  private up(i: number): number {
    const a = this.items;
    const it = a[i] as T;
    while (i > 0) {
      const p = (i - 1) >>> 1;
      const parent = a[p] as T;
      if (!this.less(it, parent)) break;
      a[i] = parent;
      parent.heapIndex = i;
      i = p;
    }
    a[i] = it;
    it.heapIndex = i;
    return i;
  }

  // Moves the element at i towards the leaves while a child beats it.
  private down(i: number): void {
    const a = this.items;
    const n = a.length;
    const it = a[i] as T;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      let c = l;
      if (r < n && this.less(a[r] as T, a[l] as T)) c = r;
      const child = a[c] as T;
      if (!this.less(child, it)) break;
      a[i] = child;
      child.heapIndex = i;
      i = c;
    }
    a[i] = it;
    it.heapIndex = i;
  }
}
