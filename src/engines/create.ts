import type { Logger } from '../util/logger.js';
import type { TlsTerminator } from '../tls/terminator.js';
import type { ControlPlane, Engine } from './engine.js';
import { FastEngine } from './fast/fast-engine.js';
import { FastHttpsEngine } from './fast/https-engine.js';
import { NodeEngine } from './node/node-engine.js';
import { TcpEngine } from './tcp/tcp-engine.js';

/** An engine as the CLI drives it: the Engine seam plus the access log's SIGUSR1 reopen. */
export interface ProxyEngine extends Engine {
  /** Reopens the access log file (logrotate renamed it); resolves with what happened, for the log. */
  reopenAccessLog(): Promise<{ ok: boolean; message: string }>;
  /** HTTPS on the listener (certificates, HTTP/2); undefined when the config has no `tls` or the engine has none. */
  readonly tls?: TlsTerminator | undefined;
}

/** The engine the config names (`"mode": "tcp"`; else `engine`: "fast", with `tls` its HTTPS listener, or "node"), over `cluster`. */
export function createEngine(cluster: ControlPlane, log: Logger): ProxyEngine {
  const config = cluster.config;
  if (config.tcp !== undefined) return new TcpEngine(cluster, log);
  if (config.engine !== 'fast') return new NodeEngine(cluster, log);
  return config.tls === undefined ? new FastEngine(cluster, log) : new FastHttpsEngine(cluster, log);
}
