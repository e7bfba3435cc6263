/**
 * Segment tree of N numbers keeping each range's minimum: set one value in O(log N),
 * find the leftmost value at or below a threshold in O(log N).
 */
export class MinTree {
  private cap = 1;
  private n = 0;
  private min = new Float64Array(2).fill(Infinity);

  /** Number of values. */
  get size(): number {
    return this.n;
  }

  /** Replaces all values. O(N). */
  reset(values: ArrayLike<number>): void {
    const n = values.length;
    let cap = 1;
    while (cap < n) cap *= 2;
    this.cap = cap;
    this.n = n;
    this.min = new Float64Array(2 * cap).fill(Infinity);
    for (let i = 0; i < n; i++) this.min[cap + i] = values[i] ?? Infinity;
    for (let v = cap - 1; v >= 1; v--) this.pull(v);
  }

  /** Sets value i. O(log N). */
  set(i: number, value: number): void {
    let v = this.cap + i;
    this.min[v] = value;
    for (v >>>= 1; v >= 1; v >>>= 1) this.pull(v);
  }

  /** The smallest value (Infinity when empty). */
  get minimum(): number {
    return this.min[1] ?? Infinity;
  }

  /** Index of the leftmost value <= `threshold`, or -1. */
  firstAtMost(threshold: number): number {
    if (this.n === 0 || (this.min[1] ?? Infinity) > threshold) return -1;
    let v = 1;
    while (v < this.cap) v = (this.min[2 * v] ?? Infinity) <= threshold ? 2 * v : 2 * v + 1;
    return v - this.cap;
  }

  private pull(v: number): void {
    const l = this.min[2 * v] ?? Infinity;
    const r = this.min[2 * v + 1] ?? Infinity;
    this.min[v] = l < r ? l : r;
  }
}
