import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock, TimerHandle } from '../../src/health/clock.js';
import { healthCheckSchema, resolveHealthConfig, type HealthSettings } from '../../src/health/config.js';
import type { HealthLogger } from '../../src/health/logger.js';

interface FakeTimer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/** A clock whose time moves only when the test says so. */
export class FakeClock implements Clock {
  t = 0;
  private seq = 0;
  private timers: FakeTimer[] = [];

  now(): number {
    return this.t;
  }

  epoch(): number {
    return 1_700_000_000_000 + this.t;
  }

  setTimer(fn: () => void, ms: number): TimerHandle {
    const id = ++this.seq;
    this.timers.push({ id, at: this.t + Math.max(0, ms), fn });
    return id;
  }

  clearTimer(handle: TimerHandle): void {
    this.timers = this.timers.filter((x) => x.id !== handle);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing due timers in order; no promise settles in between. */
  advanceSync(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
  }

  /** Moves time forward by `ms`, firing due timers in order and letting promise chains settle after each. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.nextDue(end);
      if (next === undefined) break;
      this.t = Math.max(this.t, next.at);
      next.fn();
      await settle();
    }
    this.t = end;
  }

  private nextDue(end: number): FakeTimer | undefined {
    let best: FakeTimer | undefined;
    for (const x of this.timers) {
      if (x.at <= end && (best === undefined || x.at < best.at || (x.at === best.at && x.id < best.id))) best = x;
    }
    if (best !== undefined) this.timers = this.timers.filter((x) => x !== best);
    return best;
  }
}

/** Lets pending promise callbacks run (a macrotask turn drains all microtasks). */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Polls `cond` until true; fails after a generous deadline (busy CI machines). */
export async function waitFor(cond: () => boolean, what: string, deadlineMs = 15_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Log lines captured by a test logger. */
export interface LogLine {
  readonly level: 'info' | 'warn';
  readonly obj: object;
  readonly msg: string;
}

/** A logger that remembers every line. */
export function recordingLogger(): HealthLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (obj, msg) => lines.push({ level: 'info', obj, msg }),
    warn: (obj, msg) => lines.push({ level: 'warn', obj, msg }),
  };
}

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

/** A port nothing listens on (bound, then released). */
export async function freePort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}
