// After this many steps the lines are re-based at step 0, so base + slope * step stays
// small: exact while slopes and bases are integers below 2^32, precise for fractions.
const REBASE_AFTER = 1 << 20;
// A crossing computed from rounded values is settled by stepping at most this far.
const MAX_SETTLE = 8;

/**
 * The maximum of N lines `base[i] + slope[i] * step` as the integer `step` advances,
 * kept by a kinetic tournament (Basch, Guibas & Hershberger): every node of a binary
 * tournament tree stores the winner of its two children now and the first step at
 * which that comparison flips (its certificate). Advancing re-plays only the nodes
 * whose certificate expired; changing one line repairs one leaf-to-root path. Ties go
 * to the lower index, like a linear scan that keeps the first maximum.
 *
 * Per step: O(log N) for the changed line, plus O(log N) per expired certificate.
 */
export class KineticMax {
  private cap = 2; // leaf slots, a power of two >= 2 so the root is an internal node
  private n = 0;
  private step = 0;
  private slope = new Float64Array(0);
  private base = new Float64Array(0);
  // Per tree node (root 1, leaf i at cap + i): winning line, certificate, subtree minimum certificate.
  private win = new Int32Array(0);
  private cert = new Float64Array(0);
  private minCert = new Float64Array(0);

  /** Number of lines. */
  get size(): number {
    return this.n;
  }

  /** Replaces all lines (the arrays are copied) and restarts at step 0. O(N). */
  reset(slopes: ArrayLike<number>, bases: ArrayLike<number>): void {
    const n = slopes.length;
    let cap = 2;
    while (cap < n) cap *= 2;
    this.cap = cap;
    this.n = n;
    this.step = 0;
    this.slope = Float64Array.from(slopes);
    this.base = Float64Array.from(bases);
    this.win = new Int32Array(2 * cap).fill(-1);
    this.cert = new Float64Array(2 * cap).fill(Infinity);
    this.minCert = new Float64Array(2 * cap).fill(Infinity);
    for (let i = 0; i < n; i++) this.win[cap + i] = i;
    for (let v = cap - 1; v >= 1; v--) this.recompute(v);
  }

  /** Value of line i at the current step. */
  value(i: number): number {
    return (this.base[i] ?? 0) + (this.slope[i] ?? 0) * this.step;
  }

  /** Moves to the next step and returns the index of the maximum there (-1 when empty). */
  advance(): number {
    if (this.n === 0) return -1;
    if (this.step >= REBASE_AFTER) this.rebase();
    this.step++;
    if ((this.minCert[1] ?? Infinity) <= this.step) this.replay(1);
    return this.win[1] ?? -1;
  }

  /** Adds `delta` to line i's base (its value from now on) and repairs its path. O(log N). */
  shift(i: number, delta: number): void {
    this.base[i] = (this.base[i] ?? 0) + delta;
    for (let v = (this.cap + i) >>> 1; v >= 1; v >>>= 1) this.recompute(v);
  }

  // Folds the elapsed steps into the bases so values stay small; certificates are recomputed.
  private rebase(): void {
    const s = this.step;
    for (let i = 0; i < this.n; i++) this.base[i] = (this.base[i] ?? 0) + (this.slope[i] ?? 0) * s;
    this.step = 0;
    for (let v = this.cap - 1; v >= 1; v--) this.recompute(v);
  }

  // Re-plays every node under v whose certificate (or a descendant's) has expired, children first.
  private replay(v: number): void {
    if (v >= this.cap || (this.minCert[v] ?? Infinity) > this.step) return;
    this.replay(2 * v);
    this.replay(2 * v + 1);
    this.recompute(v);
  }

  // Winner of node v at the current step and the first later step at which it changes.
  private recompute(v: number): void {
    const l = this.win[2 * v] ?? -1;
    const r = this.win[2 * v + 1] ?? -1;
    let w: number;
    let c = Infinity;
    if (l < 0 || r < 0) w = l < 0 ? r : l;
    else if (this.value(l) >= this.value(r)) {
      w = l;
      c = this.overtake(l, r);
    } else {
      w = r;
      c = this.regain(l, r);
    }
    this.win[v] = w;
    this.cert[v] = c;
    const below = Math.min(this.minCert[2 * v] ?? Infinity, this.minCert[2 * v + 1] ?? Infinity);
    this.minCert[v] = c < below ? c : below;
  }

  // First step after now at which right line r is strictly above left line l (which leads now).
  private overtake(l: number, r: number): number {
    const dw = (this.slope[r] ?? 0) - (this.slope[l] ?? 0);
    if (dw <= 0) return Infinity;
    const x = ((this.base[l] ?? 0) - (this.base[r] ?? 0)) / dw;
    // Beyond the next re-base, which recomputes every certificate anyway.
    if (!(x <= REBASE_AFTER + 1)) return Infinity;
    let s = Math.max(this.step + 1, Math.floor(x) + 1);
    // The division may round; settle on the first step by the same comparison recompute uses
    // (exact with integer lines; with fractional ones a near-tie may be judged a step late).
    for (let k = 0; k < MAX_SETTLE && s - 1 > this.step && this.at(r, s - 1) > this.at(l, s - 1); k++) s--;
    for (let k = 0; k < MAX_SETTLE && !(this.at(r, s) > this.at(l, s)); k++) s++;
    return s;
  }

  // First step after now at which left line l is at least right line r (which leads now).
  private regain(l: number, r: number): number {
    const dw = (this.slope[l] ?? 0) - (this.slope[r] ?? 0);
    if (dw <= 0) return Infinity;
    const x = ((this.base[r] ?? 0) - (this.base[l] ?? 0)) / dw;
    if (!(x <= REBASE_AFTER + 1)) return Infinity;
    let s = Math.max(this.step + 1, Math.ceil(x));
    for (let k = 0; k < MAX_SETTLE && s - 1 > this.step && this.at(l, s - 1) >= this.at(r, s - 1); k++) s--;
    for (let k = 0; k < MAX_SETTLE && !(this.at(l, s) >= this.at(r, s)); k++) s++;
    return s;
  }

  private at(i: number, s: number): number {
    return (this.base[i] ?? 0) + (this.slope[i] ?? 0) * s;
  }
}
