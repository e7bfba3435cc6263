import { DEFAULT_DECAY_MS, PeakEwma } from './peak-ewma.js';
import type { AlgorithmOptions, PickRequest, Selector, SelectorDeps } from './selector.js';
import type { Upstream } from './upstream.js';

/** Default floor for the response time a failed request counts as, in milliseconds. */
export const DEFAULT_FAILURE_PENALTY_MS = 1_000;
// A failure also counts as this many times the server's current estimate, so it always hurts.
const FAILURE_FACTOR = 4;
// Score of a server with no history that already has requests in flight (Finagle's penalty):
// wait for its first answer before sending more.
const UNKNOWN_BUSY = 1e12;
// Added to every estimate (ms) so that servers measured at ~0 ms still compare by queue length.
const EPSILON_MS = 0.001;

// One server and its response-time estimate; history survives the server leaving and returning.
interface Candidate {
  readonly u: Upstream;
  readonly ewma: PeakEwma;
}

/**
 * Least response time by Peak EWMA and power of two choices (Finagle, Linkerd):
 * pick two distinct servers at random and take the one with the lower
 * `estimate * (inflight + 1)`, i.e. the expected wait counting the queue, divided by
 * the effective weight (so weights and the slow-start ramp count too). A server
 * with no history scores 0 while idle, so it gets tried; failures are observed as at
 * least max(failurePenaltyMs, 4 x its estimate), so a server that fails fast looks slow.
 * O(1) per pick; no allocation.
 */
export class LeastResponseTime implements Selector {
  private candidates: Candidate[] = [];
  private readonly byServer = new Map<Upstream, Candidate>();
  private readonly decayMs: number;
  private readonly failurePenaltyMs: number;

  constructor(
    private readonly deps: SelectorDeps,
    options: AlgorithmOptions,
  ) {
    this.decayMs = positiveOr(options.decayMs, DEFAULT_DECAY_MS);
    this.failurePenaltyMs = positiveOr(options.failurePenaltyMs, DEFAULT_FAILURE_PENALTY_MS);
  }

  select(_req: PickRequest): Upstream | undefined {
    const c = this.candidates;
    const n = c.length;
    if (n <= 1) return c[0]?.u;
    const i = Math.floor(this.deps.random() * n);
    let j = Math.floor(this.deps.random() * (n - 1));
    if (j >= i) j++;
    const a = c[i] as Candidate;
    const b = c[j] as Candidate;
    const now = this.deps.now();
    a.ewma.decay(now);
    b.ewma.decay(now);
    // Ties go to the first draw, which is itself random.
    return score(b) < score(a) ? b.u : a.u;
  }

  update(servers: readonly Upstream[]): void {
    const now = this.deps.now();
    this.candidates = servers.map((u) => {
      let c = this.byServer.get(u);
      if (c === undefined) {
        c = { u, ewma: new PeakEwma(this.decayMs, now) };
        this.byServer.set(u, c);
      }
      return c;
    });
  }

  onEnd(u: Upstream, durationMs: number, failed: boolean): void {
    const c = this.byServer.get(u);
    if (c === undefined) return;
    const now = this.deps.now();
    c.ewma.decay(now);
    const rtt = failed ? Math.max(durationMs, this.failurePenaltyMs, FAILURE_FACTOR * c.ewma.cost) : durationMs;
    c.ewma.observe(rtt, now);
  }
}

// Expected wait at this server, estimate times queue length (cost already decayed to now), per unit of weight.
function score(c: Candidate): number {
  const inflight = c.u.inflight;
  if (!c.ewma.seen) return inflight === 0 ? 0 : UNKNOWN_BUSY + inflight;
  return ((c.ewma.cost + EPSILON_MS) * (inflight + 1)) / c.u.effectiveWeight;
}

const positiveOr = (x: number | undefined, dflt: number): number => (x !== undefined && x > 0 ? x : dflt);

/** Factory for the registry. */
export const createLeastResponseTime = (deps: SelectorDeps, options: AlgorithmOptions): Selector =>
  new LeastResponseTime(deps, options);
