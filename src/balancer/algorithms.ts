import { createRandom } from './random.js';
import { createRoundRobin } from './round-robin.js';
import type { SelectorFactory } from './selector.js';

/** Canonical (kebab-case) algorithm names the config accepts. */
export const ALGORITHM_NAMES = [
  'round-robin',
  'weighted-round-robin',
  'least-connections',
  'weighted-least-connections',
  'ip-hash',
  'least-response-time',
  'random',
] as const;

/** A canonical algorithm name. */
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/** Implemented algorithms; a canonical name missing here is "not implemented yet". */
export const SELECTORS: Partial<Record<AlgorithmName, SelectorFactory>> = {
  'round-robin': createRoundRobin,
  random: createRandom,
};

// "roundRobin", "round_robin", "RoundRobin", "roundrobin" all fold to "roundrobin".
const fold = (s: string): string => s.toLowerCase().replace(/[-_\s]/g, '');
const BY_FOLDED = new Map<string, AlgorithmName>(ALGORITHM_NAMES.map((n) => [fold(n), n]));
// Short forms users of nginx/HAProxy/Traefik type.
const EXTRA_ALIASES: Record<string, AlgorithmName> = {
  rr: 'round-robin',
  wrr: 'weighted-round-robin',
  leastconn: 'least-connections',
  lc: 'least-connections',
  wlc: 'weighted-least-connections',
  iphash: 'ip-hash',
  lrt: 'least-response-time',
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
