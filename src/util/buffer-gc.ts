import { setFlagsFromString } from 'node:v8';

/**
 * Young ArrayBuffer bytes (socket read buffers: 64 KiB per read) at which V8 runs a scavenge, as
 * `--scavenger-max-new-space-capacity-mb`: the trigger is 2 × (this × 2 MB) on Node's builds.
 */
export const YOUNG_BUFFER_SCAVENGE_MB = 4;

/**
 * Makes V8 free short-lived Buffers with cheap scavenges again, so streaming bodies keeps the
 * resident memory flat. V8 13.6 (Node 24) raised the young-ArrayBuffer scavenge trigger from 32 to
 * 128 MB, above the 64 MB external-memory limit that starts a full mark-compact: a streamed body
 * then left 60–90 MB of dead read buffers between full GCs, and glibc kept the freed memory
 * (nodejs/node#61967). A flag given on the command line wins.
 */
export function collectShortLivedBuffersEarly(): void {
  if (process.execArgv.some((a) => a.startsWith('--scavenger-max-new-space-capacity-mb'))) return;
  // Only the trigger reads this flag after start-up; the heap's layout is already fixed.
  setFlagsFromString(`--scavenger-max-new-space-capacity-mb=${YOUNG_BUFFER_SCAVENGE_MB}`);
}
