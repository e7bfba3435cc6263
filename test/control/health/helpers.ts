import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { defaultDeps } from '../../../src/control/selection/selector.js';
import type { Upstream } from '../../../src/control/selection/upstream.js';
import { ServerStates } from '../../../src/control/server-states.js';
import { systemClock, type Clock } from '../../../src/util/clock.js';
import { healthCheckSchema, resolveHealthConfig, type HealthSettings } from '../../../src/control/health/config.js';

/** Health settings from a partial `healthCheck` object (as written in the config), interval in ms. */
export function settingsFrom(healthCheck: object, intervalMs: number): HealthSettings {
  return resolveHealthConfig(healthCheckSchema.parse(healthCheck), intervalMs);
}

/** A local HTTP server on a port of its own, restartable on the same port. */
export class TestServer {
  server: http.Server;
  port = 0;
  requests = 0;

  constructor(private handler: http.RequestListener = (_req, res) => res.end('ok')) {
    this.server = this.create();
  }

  /** Origin URL, e.g. "http://127.0.0.1:40123". */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Listens (on the previous port after a stop). */
  async start(): Promise<this> {
    if (!this.server.listening) {
      this.server = this.create();
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => resolve());
      });
      this.port = (this.server.address() as AddressInfo).port;
    }
    return this;
  }

  /** Stops listening and drops open connections, like a killed process. */
  async stop(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await closed;
  }

  private create(): http.Server {
    return http.createServer((req, res) => {
      this.requests++;
      this.handler(req, res);
    });
  }
}

export { freePort } from '../../helpers/ports.js';

/** ServerStates that counts algorithm updates. */
export class SpyStates extends ServerStates {
  /** Algorithm updates so far. */
  refreshes = 0;
  protected override refresh(): void {
    this.refreshes = (this.refreshes ?? 0) + 1;
    super.refresh();
  }
}

/** The control plane's state writer over servers at `addrs` (round-robin), as a checker's target. */
export function serverStates(
  addrs: readonly string[],
  o: { clock?: Clock; slowStartMs?: number; backups?: readonly number[] } = {},
): { states: SpyStates; servers: Upstream[] } {
  const states = new SpyStates('round-robin', {}, defaultDeps, o.clock ?? systemClock, o.slowStartMs ?? 0);
  const servers = addrs.map((addr, index) => states.create(addr, { index, backup: o.backups?.includes(index) ?? false }));
  states.setMembers(servers.map((upstream, index) => ({ upstream, name: upstream.url.host, weight: 1, backup: o.backups?.includes(index) ?? false })));
  return { states, servers };
}
