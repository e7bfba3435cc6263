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
  // Written inline, with no helper returning doubles, so the hot path allocates no heap numbers.
  private recompute(v: number): void {
    const win = this.win;
    const l = win[2 * v] as number;
    const r = win[2 * v + 1] as number;
    let w: number;
    let c = Infinity;
    if (l < 0 || r < 0) w = l < 0 ? r : l;
    else {
      const step = this.step;
      const bl = this.base[l] as number;
      const sl = this.slope[l] as number;
      const br = this.base[r] as number;
      const sr = this.slope[r] as number;
      if (bl + sl * step >= br + sr * step) {
        // l leads (ties included); r takes over at the first step where it is strictly above.
        w = l;
        const dw = sr - sl;
        const x = (bl - br) / dw;
        // A crossing beyond the next re-base is left to the re-base, which recomputes everything.
        if (dw > 0 && x <= REBASE_AFTER + 1) {
          let s = Math.max(step + 1, Math.floor(x) + 1);
          // The division may round: settle by the very comparison used above (exact for integer
          // lines; with fractional ones a near-tie may be judged a step late).
          for (let k = 0; k < MAX_SETTLE && s - 1 > step && br + sr * (s - 1) > bl + sl * (s - 1); k++) s--;
          for (let k = 0; k < MAX_SETTLE && !(br + sr * s > bl + sl * s); k++) s++;
          c = s;
        }
      } else {
        // r leads; l takes over at the first step where it is at least equal.
        w = r;
        const dw = sl - sr;
        const x = (br - bl) / dw;
        if (dw > 0 && x <= REBASE_AFTER + 1) {
          let s = Math.max(step + 1, Math.ceil(x));
          for (let k = 0; k < MAX_SETTLE && s - 1 > step && bl + sl * (s - 1) >= br + sr * (s - 1); k++) s--;
          for (let k = 0; k < MAX_SETTLE && !(bl + sl * s >= br + sr * s); k++) s++;
          c = s;
        }
      }
    }
    win[v] = w;
    this.cert[v] = c;
    const a = this.minCert[2 * v] as number;
    const b = this.minCert[2 * v + 1] as number;
    const below = a < b ? a : b;
    this.minCert[v] = c < below ? c : below;
  }
}
