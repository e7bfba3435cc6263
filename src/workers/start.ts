// The branch from `balancer start` into workers: in a worker, run it; in the primary of
// `"workers"` > 1, the pool that stands in for the engine; and the start-up line that says so.
import cluster from 'node:cluster';
import type { Config } from '../config/load.js';
import type { Cluster } from '../control/cluster.js';
import type { Logger } from '../util/logger.js';
import { DEFAULT_LISTEN_MODE, WorkerPool, type ListenMode } from './primary.js';

/** True in a worker process (node:cluster started it). */
export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/**
 * How workers share the port: BALANCER_WORKERS_LISTEN=round-robin|reuseport (for benchmarks;
 * the default is the one the figures in the README chose).
 */
export function listenMode(env: NodeJS.ProcessEnv = process.env): ListenMode {
  const v = env.BALANCER_WORKERS_LISTEN;
  return v === 'round-robin' || v === 'reuseport' ? v : DEFAULT_LISTEN_MODE;
}

/** The pool of `config.workers` workers, or undefined when this process serves clients itself (1). */
export function workerPool(config: Config, plane: Cluster, log: Logger): WorkerPool | undefined {
  const n = config.workers ?? 1;
  return n > 1 ? new WorkerPool(plane, log, n, listenMode()) : undefined;
}

/** The start-up line of the workers: how many, their pids, how they share the port, what the primary does. */
export function logWorkers(pool: WorkerPool, log: Logger): void {
  const pids = pool.views().map((v) => v.pid);
  const how = pool.mode === 'reuseport' ? 'each on its own socket (SO_REUSEPORT: the kernel spreads connections)' : "node:cluster's round-robin hand-off";
  log.info(
    { workers: pool.count, pids, listen: pool.mode, primary: process.pid },
    `${pool.count} workers serve clients, ${how}: pids ${pids.join(', ')}; this process (pid ${process.pid}) runs health checks, discovery, notifications and the admin API`,
  );
}

/** A reload that changes `workers` is told it needs a restart (with one process or many). */
export function keepWorkerCount(plane: Cluster, startedWith: Config): void {
  const n = startedWith.workers ?? 1;
  plane.attach({
    serverLeft: () => undefined,
    ready: () => true,
    apply: (next) => ({ kept: (next.workers ?? 1) !== n ? [`workers (still ${n})`] : [] }),
  });
}
