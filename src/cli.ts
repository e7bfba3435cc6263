#!/usr/bin/env node
// First: refuses an unsupported Node.js with one clear line before any dependency loads.
import './util/node-version.js';
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { ConfigError, loadConfig, type Config } from './config/load.js';
import { Balancer } from './proxy/balancer.js';
import { startTestServer, startTestServers, type TestServer } from './testservers/server.js';
import { collectShortLivedBuffersEarly } from './util/buffer-gc.js';
import { BalancerError } from './util/errors.js';
import { formatNotifyTestResults, notifyTest, notifyTestExitCode } from './notify/notify-test.js';
import { createLogger, LOG_LEVELS, type Logger } from './util/logger.js';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Exit status for bad input (config or usage), as documented. */
const EXIT_BAD_INPUT = 2;

function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(`${p}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  if (err instanceof BalancerError) {
    process.stderr.write(`balancer: ${err.message} (${err.code})\n`);
    process.exit(1);
  }
  throw err;
}

const numberList = (v: string): number[] =>
  v.split(',').map((s) => {
    const n = Number(s);
    if (s.trim() === '' || !Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${s}" is not a non-negative number`);
    return n;
  });

const port = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`"${v}" is not a port (0 to 65535)`);
  return n;
};

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`"${v}" is not a positive whole number`);
  return n;
};

/** Starts test servers on the ports of the config's loopback servers (for the quick start). */
async function testServersFor(config: Config, log: Logger): Promise<TestServer[]> {
  const started: TestServer[] = [];
  for (const [i, s] of config.servers.entries()) {
    const u = new URL(s.addr);
    if (!['localhost', '127.0.0.1', '[::1]'].includes(u.hostname) || u.protocol !== 'http:') continue;
    const t = await startTestServer({ name: `server-${i + 1}`, port: Number(u.port || 80) });
    started.push(t);
    log.info({ server: t.url }, `test server ${t.name} listening on ${t.url}`);
  }
  return started;
}

/** Runs until SIGINT/SIGTERM, then stops gracefully and exits 0. */
async function start(opts: { config: string; logLevel: LevelWithSilent; withTestServers?: boolean }): Promise<void> {
  const log = createLogger(opts.logLevel);
  let config: Config;
  try {
    config = loadConfig(opts.config);
  } catch (e) {
    if (e instanceof ConfigError && e.code === 'E_CONFIG_READ') {
      for (const p of e.problems) process.stderr.write(`${p}\n`);
      process.stderr.write('hint: give a config with --config FILE, or try the example: npx balancer --config examples/balancer.json --with-test-servers\n');
      process.exit(EXIT_BAD_INPUT);
    }
    fail(e);
  }
  const testServers = opts.withTestServers ? await testServersFor(config, log) : [];
  const balancer = new Balancer(config, log);
  try {
    await balancer.listen();
  } catch (e) {
    await Promise.all(testServers.map((t) => t.close()));
    fail(e);
  }
  log.info(
    { addr: balancer.url(), algorithm: config.algorithm, servers: config.servers.map((s) => s.addr) },
    `balancer ${config.name} listening on ${balancer.url()} (${config.algorithm}, ${config.servers.length} servers; pid ${process.pid}, SIGHUP reloads)`,
  );
  if (testServers.length > 0) log.info(`try: curl ${balancer.url()}/   (run it a few times: each answer names its server)`);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: finishing in-flight requests (up to ${config.timeouts.shutdownMs} ms), then exiting`);
    void balancer
      .close()
      .then(() => Promise.all(testServers.map((t) => t.close())))
      .then(() => {
        log.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP reloads the config file, as nginx and HAProxy do; a bad file changes nothing.
  process.on('SIGHUP', () => {
    let next: Config;
    try {
      next = loadConfig(opts.config);
    } catch (e) {
      const problems = e instanceof ConfigError ? e.problems : [String(e)];
      for (const p of problems) log.error({ problem: p }, `reload rejected, still serving the previous config: ${p}`);
      return;
    }
    const { kept } = balancer.reload(next);
    log.info(
      { algorithm: next.algorithm, servers: next.servers.map((s) => s.addr), kept },
      `reloaded ${opts.config}: ${next.algorithm}, ${next.servers.length} servers${kept.length > 0 ? `; needs a restart to change: ${kept.join(', ')}` : ''}`,
    );
  });
}

/** Builds the command-line interface. */
export function buildCli(): Command {
  const program = new Command('balancer')
    .description('HTTP load balancer and reverse proxy')
    .version(pkg.version, '-v, --version')
    .showHelpAfterError();
  const logLevel = new Option('--log-level <level>', 'log level').choices(LOG_LEVELS).default('info');

  program
    .command('start', { isDefault: true })
    .description('run the balancer (the default command)')
    .option('-c, --config <file>', 'config file', './balancer.json')
    .addOption(logLevel)
    .option('--with-test-servers', "also start built-in test servers on the config's localhost server ports")
    .action(start);

  program
    .command('validate')
    .description('check config files; prints "FILE: OK" or every error; exit 0 or 2')
    .argument('<file...>', 'config files')
    .action((files: string[]) => {
      let bad = false;
      for (const f of files) {
        try {
          loadConfig(f);
          process.stdout.write(`${f}: OK\n`);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          bad = true;
          for (const p of e.problems) process.stderr.write(`${p}\n`);
        }
      }
      process.exitCode = bad ? EXIT_BAD_INPUT : 0;
    });

  program
    .command('notify-test')
    .description('send a test event to every configured notifier and report each result; exit 0 if all arrived')
    .option('-c, --config <file>', 'config file', './balancer.json')
    .addOption(logLevel)
    .action(async (o: { config: string; logLevel: LevelWithSilent }) => {
      let config: Config;
      try {
        config = loadConfig(o.config);
      } catch (e) {
        fail(e);
      }
      const results = await notifyTest(config, createLogger(o.logLevel));
      process.stdout.write(`${formatNotifyTestResults(results)}\n`);
      process.exitCode = notifyTestExitCode(results);
    });

  program
    .command('test-servers')
    .description('start test backends that answer with their identity (for trying the balancer)')
    .option('-n, --count <n>', 'how many servers', positiveInt, 4)
    .option('-p, --port <port>', 'first port; the others follow', port, 9000)
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .option('--latency <ms,...>', 'added latency per server in ms (last value repeats)', numberList)
    .option('--failure-rate <p,...>', 'share 0..1 of requests answered 500, per server (last value repeats)', numberList)
    .option('--names <name,...>', 'server names (default server-1..N)', (v: string) => v.split(','))
    .addOption(logLevel)
    .action(async (o: { count: number; port: number; host: string; latency?: number[]; failureRate?: number[]; names?: string[]; logLevel: LevelWithSilent }) => {
      const log = createLogger(o.logLevel);
      const servers = await startTestServers({ count: o.count, port: o.port, host: o.host, latencyMs: o.latency, failureRate: o.failureRate, names: o.names }).catch((e: NodeJS.ErrnoException) => {
        process.stderr.write(`balancer test-servers: cannot listen: ${e.code ?? e.message}\n`);
        process.exit(1);
      });
      for (const s of servers) log.info({ server: s.name, url: s.url }, `test server ${s.name} listening on ${s.url}`);
      log.info('endpoints: / (identity), /echo, /slow?ms=N, /status/N, /bytes?n=N, /headers, WebSocket echo');
      const stop = (): void => {
        void Promise.all(servers.map((s) => s.close())).then(() => process.exit(0));
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
  return program;
}

collectShortLivedBuffersEarly();
await buildCli().parseAsync(process.argv);
