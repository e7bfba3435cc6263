import { InvalidArgumentError } from 'commander';
import type { LevelWithSilent } from 'pino';
import type { Config } from '../config/load.js';
import { startTestServer, startTestServers, type TestServer } from '../testservers/server.js';
import { createLogger, type Logger } from '../util/logger.js';
import { die, EXIT_FAILURE, listenProblem } from './exit.js';

/** Parses "a,b,c" into numbers each passing `ok`; `what` says what is allowed. */
export const numberList =
  (ok: (n: number) => boolean, what: string) =>
  (v: string): number[] =>
    v.split(',').map((s) => {
      const n = Number(s);
      if (s.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new InvalidArgumentError(`"${s}" is not ${what}`);
      return n;
    });

/** Starts test servers on the ports of the config's loopback servers (for the quick start); a taken port is one line and exit 1. */
export async function testServersFor(config: Config, log: Logger): Promise<TestServer[]> {
  const started: TestServer[] = [];
  for (const [i, s] of config.servers.entries()) {
    const u = new URL(s.addr);
    // tcp mode relays to them as it would to any TCP server.
    if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || (u.protocol !== 'http:' && u.protocol !== 'tcp:')) continue;
    const port = Number(u.port || 80);
    try {
      const t = await startTestServer({ name: `server-${i + 1}`, port });
      started.push(t);
      log.info({ server: t.url }, `test server ${t.name} listening on ${t.url}`);
    } catch (e) {
      await Promise.all(started.map((t) => t.close()));
      const code = (e as NodeJS.ErrnoException).code;
      die(`--with-test-servers: cannot start a test server for ${s.addr} on port ${port}: ${listenProblem(code)}`, EXIT_FAILURE);
    }
  }
  return started;
}

/** Options of `balancer test-servers`. */
export interface TestServersOptions {
  count: number;
  port: number;
  host: string;
  latency?: number[];
  failureRate?: number[];
  names?: string[];
  logLevel: LevelWithSilent;
}

/** `balancer test-servers`: runs test backends until SIGINT/SIGTERM. */
export async function testServersCommand(o: TestServersOptions): Promise<void> {
  const log = createLogger(o.logLevel);
  const servers = await startTestServers({ count: o.count, port: o.port, host: o.host, latencyMs: o.latency, failureRate: o.failureRate, names: o.names }).catch(
    (e: NodeJS.ErrnoException) => die(`test-servers: cannot listen on ${o.host} from port ${o.port}: ${listenProblem(e.code ?? e.message)}`, EXIT_FAILURE),
  );
  for (const s of servers) log.info({ server: s.name, url: s.url }, `test server ${s.name} listening on ${s.url}`);
  log.info('endpoints: / (identity), /echo, /slow?ms=N, /status/N, /bytes?n=N, /headers, WebSocket echo');
  const stop = (): void => {
    void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
