// `balancer status` with workers: one line under the table, e.g.
// "workers: 2 — 1: pid 4242 up since 12:00:01Z, 0 restarts; 2: restarting (3 restarts)".
import type { WorkerView } from './primary.js';

/** The workers line of `balancer status`; empty when the balancer runs as one process. */
export function formatWorkers(workers: readonly WorkerView[] | undefined): string {
  if (workers === undefined || workers.length === 0) return '';
  const one = (w: WorkerView): string => {
    const restarts = `${w.restarts} restart${w.restarts === 1 ? '' : 's'}`;
    if (w.pid === undefined || w.since === undefined) return `${w.slot}: restarting (${restarts})`;
    const since = w.since.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return `${w.slot}: pid ${w.pid} up since ${since}, ${restarts}, ${w.requests} requests${w.ready ? '' : ', starting'}`;
  };
  return `workers: ${workers.length} — ${workers.map(one).join('; ')}\n`;
}
