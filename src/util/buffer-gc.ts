import { setFlagsFromString } from 'node:v8';

/**
 * `--scavenger-max-new-space-capacity-mb` for the balancer: V8 scavenges once young ArrayBuffers
 * (socket reads, 64 KiB each) reach 2 × (this × 2 MB), 12 MB here; it also caps how much the young
 * generation fills before a scavenge. Measured on Node 24: a 1 GiB stream leaves RSS +33–36 MB
 * with 3 (+35–44 with 4, +51–53 with 8, +100 with Node 24's 32), large bodies stream faster than
 * with 32, and small requests cost the same CPU as with 32 (2 cost 12 % more: too many scavenges).
 */
export const YOUNG_BUFFER_SCAVENGE_MB = 3;

/**
 * Makes V8 free short-lived Buffers with cheap scavenges again, so streaming bodies keeps the
 * resident memory flat. V8 13.6 (Node 24) raised the young-ArrayBuffer scavenge trigger from 32 to
 * 128 MB, above the 64 MB external-memory limit that starts a full mark-compact: a streamed body
 * then left 60–90 MB of dead read buffers between full GCs, and glibc kept the freed memory
 * (nodejs/node#61967). A flag given on the command line wins.
 */
export function collectShortLivedBuffersEarly(): void {
  if (process.execArgv.some((a) => a.replaceAll('_', '-').startsWith('--scavenger-max-new-space-capacity-mb'))) return;
  // Only the trigger reads this flag after start-up; the heap's layout is already fixed.
  setFlagsFromString(`--scavenger-max-new-space-capacity-mb=${YOUNG_BUFFER_SCAVENGE_MB}`);
}
