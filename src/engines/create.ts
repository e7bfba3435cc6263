import type { Logger } from '../util/logger.js';
import type { ControlPlane, Engine } from './engine.js';
import { FastEngine } from './fast/fast-engine.js';
import { NodeEngine } from './node/node-engine.js';

/** An engine as the CLI drives it: the Engine seam plus the access log's SIGUSR1 reopen. */
export interface ProxyEngine extends Engine {
  /** Reopens the access log file (logrotate renamed it); resolves with what happened, for the log. */
  reopenAccessLog(): Promise<{ ok: boolean; message: string }>;
}

/** The engine the config names (`engine`: "node" by default, or "fast"), over `cluster`. */
export function createEngine(cluster: ControlPlane, log: Logger): ProxyEngine {
  return cluster.config.engine === 'fast' ? new FastEngine(cluster, log) : new NodeEngine(cluster, log);
}
