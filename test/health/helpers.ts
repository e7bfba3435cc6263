import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { healthCheckSchema, resolveHealthConfig, type HealthSettings } from '../../src/health/config.js';

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

export { freePort } from '../helpers/ports.js';
