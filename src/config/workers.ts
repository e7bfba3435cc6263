import { availableParallelism } from 'node:os';
import { z } from 'zod';

// `"workers": "auto" | N`: processes serving clients (node:cluster), as nginx's worker_processes.
// 1 (the default) is one process doing everything, as before.

/** The most workers a config may ask for (nginx has no limit; beyond this a typo is likelier than a machine). */
export const MAX_WORKERS = 256;

/** `"workers": "auto"` (one per core: os.availableParallelism()) or a whole number 1..MAX_WORKERS. */
export const workersSchema = z
  .union([z.literal('auto'), z.number().int().min(1).max(MAX_WORKERS)], {
    error: `is not a number of workers (allowed: "auto" for one per core, or a whole number from 1 to ${MAX_WORKERS})`,
  })
  .default(1)
  .meta({ description: 'Processes serving clients: "auto" (one per core) or a whole number (default 1: one process does everything)' });

/** The number of worker processes `workers` stands for. */
export function resolveWorkers(workers: 'auto' | number | undefined): number {
  if (workers === undefined) return 1;
  return workers === 'auto' ? Math.max(1, availableParallelism()) : workers;
}
