import type { AddressInfo } from 'node:net';
import type { Config } from '../../config/load.js';
import type { Upstream } from '../../control/selection/upstream.js';
import type { TlsTerminator } from '../../tls/terminator.js';
import type { Logger } from '../../util/logger.js';
import type { ControlPlane, Engine } from '../engine.js';
import { NodeEngine } from '../node/node-engine.js';
import { FastEngine } from './fast-engine.js';

/**
 * The fast engine with `tls`: the HTTPS listener (certificates, SNI, reloads, ACME, HTTP/2 and its
 * limits) is the node engine's (src/tls/terminator.ts), which keeps the connections that choose h2
 * by ALPN and hands every HTTP/1.1 one, handshake done, to the fast engine. One control plane
 * serves both; each keeps its own access log writer on the same file (whole-line appends).
 */
export class FastHttpsEngine implements Engine {
  private readonly fast: FastEngine;
  private readonly node: NodeEngine;
  /** The certificates in force (the admin API, metrics, ACME). */
  readonly tls: TlsTerminator | undefined;

  /** Builds both halves over `cluster` (does not listen yet). */
  constructor(cluster: ControlPlane, log: Logger) {
    const fast = new FastEngine(cluster, log);
    this.fast = fast;
    this.node = new NodeEngine(cluster, log, (socket) => fast.adopt(socket));
    this.tls = this.node.tls;
  }

  /** Starts the HTTPS listener. */
  listen(): Promise<AddressInfo> {
    return this.node.listen();
  }

  /** Puts a reloaded config in force in both halves; what either keeps needs a restart. */
  apply(config: Config): { readonly kept: readonly string[] } {
    const kept = new Set([...this.node.apply(config).kept, ...this.fast.apply(config).kept]);
    return { kept: [...kept] };
  }

  /** Reopens both halves' access log files (SIGUSR1). */
  async reopenAccessLog(): Promise<{ ok: boolean; message: string }> {
    const [a, b] = await Promise.all([this.node.reopenAccessLog(), this.fast.reopenAccessLog()]);
    return a.ok ? b : a;
  }

  /** A server left: both halves release its connections once its requests end. */
  serverLeft(u: Upstream): void {
    this.node.serverLeft(u);
    this.fast.serverLeft(u);
  }

  /** Listening and not closing. */
  ready(): boolean {
    return this.node.ready();
  }

  /** The listener's URL ("https://..."). */
  url(): string {
    return this.node.url();
  }

  /** Graceful stop of both: no new connections, requests finish within `graceMs`, the rest is cut. */
  async close(graceMs?: number): Promise<void> {
    await Promise.all([this.node.close(graceMs), this.fast.close(graceMs)]);
  }
}
