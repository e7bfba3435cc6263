/**
 * 32-bit MurmurHash3-style hash of a string's UTF-16 code units, with a seed.
 * Stable across processes and platforms (no randomised seed), allocation-free,
 * and well mixed by the final avalanche, so nearby IPs spread evenly.
 */
export function hash32(s: string, seed: number): number {
  let h = seed >>> 0;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    let k = Math.imul(s.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= n;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
