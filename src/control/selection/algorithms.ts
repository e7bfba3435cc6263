import { createFirst } from './first.js';
import { createIpHash } from './ip-hash.js';
import { createLeastConnections } from './least-connections.js';
import { createLeastResponseTime } from './least-response-time.js';
import { createPowerOfTwo } from './power-of-two.js';
import { createRandom } from './random.js';
import { createRoundRobin } from './round-robin.js';
import type { SelectorFactory } from './selector.js';
import { createWeightedLeastConnections } from './weighted-least-connections.js';
import { createWeightedRoundRobin } from './weighted-round-robin.js';

/** Canonical (kebab-case) algorithm names the config accepts. */
export const ALGORITHM_NAMES = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'weighted-least-connections',
  'ip-hash',
  'least-response-time',
  'random',
  'power-of-two',
  'first',
] as const;

/** A canonical algorithm name. */
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/** Implemented algorithms; a canonical name missing here is "not implemented yet". */
export const SELECTORS: Partial<Record<AlgorithmName, SelectorFactory>> = {
  'round-robin': createRoundRobin,
  'weighted-round-robin': createWeightedRoundRobin,
  'least-connections': createLeastConnections,
  'weighted-least-connections': createWeightedLeastConnections,
  'ip-hash': createIpHash,
  'least-response-time': createLeastResponseTime,
  random: createRandom,
  'power-of-two': createPowerOfTwo,
  first: createFirst,
};

// "roundRobin", "round_robin", "RoundRobin", "roundrobin" all fold to "roundrobin".
const fold = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
const BY_FOLDED = new Map<string, AlgorithmName>(ALGORITHM_NAMES.map((n) => [fold(n), n]));
// Short forms and the names nginx, HAProxy, Envoy, Traefik and Linkerd users type (already folded).
const EXTRA_ALIASES: Record<string, AlgorithmName> = {
  rr: 'round-robin',
  wrr: 'weighted-round-robin',
  swrr: 'weighted-round-robin',
  smoothweightedroundrobin: 'weighted-round-robin',
  staticrr: 'weighted-round-robin', // HAProxy static-rr
  leastconn: 'least-connections', // HAProxy leastconn, nginx least_conn
  lc: 'least-connections',
  wlc: 'weighted-least-connections',
  iphash: 'ip-hash',
  source: 'ip-hash', // HAProxy balance source
  maglev: 'ip-hash', // Envoy MAGLEV
  lrt: 'least-response-time',
  leasttime: 'least-response-time', // nginx least_time
  ewma: 'least-response-time', // Linkerd / Finagle
  peakewma: 'least-response-time',
  p2c: 'power-of-two', // Traefik p2c
  poweroftwochoices: 'power-of-two',
  leastrequest: 'power-of-two', // Envoy LEAST_REQUEST
};

/** Canonical name for a user-written algorithm name or alias, or undefined when unknown. */
export function canonicalAlgorithm(name: string): AlgorithmName | undefined {
  const f = fold(name);
  return BY_FOLDED.get(f) ?? EXTRA_ALIASES[f];
}

/** The factory for an algorithm, or undefined while it is not implemented. */
export function selectorFactory(name: AlgorithmName): SelectorFactory | undefined {
  return SELECTORS[name];
}

/**
 * Algorithms that read server weights. The others ignore them: `round-robin` and
 * `least-connections` (which honour only the slow-start ramp) and `first` (config order).
 */
export const WEIGHTED_ALGORITHMS: readonly AlgorithmName[] = [
  'weighted-round-robin',
  'weighted-least-connections',
  'ip-hash',
  'least-response-time',
  'random',
  'power-of-two',
];

// The weighted counterpart of an algorithm that ignores weights, when it has one.
const WEIGHTED_VARIANT: Partial<Record<AlgorithmName, AlgorithmName>> = {
  'round-robin': 'weighted-round-robin',
  'least-connections': 'weighted-least-connections',
};

/**
 * For an algorithm that ignores weights, the algorithms that would use them, its weighted
 * counterpart first; undefined when `name` uses weights.
 */
export function algorithmsUsingWeightsInstead(name: AlgorithmName): readonly AlgorithmName[] | undefined {
  if (WEIGHTED_ALGORITHMS.includes(name)) return undefined;
  const variant = WEIGHTED_VARIANT[name];
  return variant === undefined ? WEIGHTED_ALGORITHMS : [variant, ...WEIGHTED_ALGORITHMS.filter((n) => n !== variant)];
}
