import type { AddressInfo } from 'node:net';
import type { LevelWithSilent } from 'pino';
import { ConfigError, configWarnings, loadConfig, type Config } from '../config/load.js';
import { formatHostPort } from '../config/listen.js';
import { startAdminServer, type AdminServer } from '../admin/server.js';
import { adminNeedsRestart } from '../config/admin.js';
import { Cluster } from '../control/cluster.js';
import { DnsSource, sourcesFromConfig } from '../control/sources/dns.js';
import type { UpstreamSource } from '../control/sources/source.js';
import { watchConfigFile } from '../control/watch.js';
import { DEFAULT_CLOSE_DEADLINE_MS } from '../control/notify/notifier.js';
import { createEngine, type ProxyEngine } from '../engines/create.js';
import { countOf } from '../util/log-throttle.js';
import { createLogger } from '../util/logger.js';
import { EXIT_BAD_INPUT, fail, usageError } from './exit.js';
import { writePidFile } from './pid-file.js';
import { FLAGS_LABEL, quickConfig } from './quick-config.js';
import { RELOAD_SIGNAL } from './reload.js';
import { testServersFor } from './test-servers.js';
import type { ControlPlane, Engine } from '../engines/engine.js';
import type { Logger } from '../util/logger.js';
import { runWorker } from '../workers/worker.js';
import { isWorkerProcess, keepWorkerCount, logWorkers, workerPool } from '../workers/start.js';

/** Options of `balancer start` (the default command). */
export interface StartOptions {
  config?: string;
  logLevel: LevelWithSilent;
  withTestServers?: boolean;
  pidFile?: string;
  from?: string;
  to: string[];
  algorithm?: string;
  printConfig?: boolean;
  watch?: boolean;
}

/** The default config file. */
export const DEFAULT_CONFIG_FILE = './balancer.json';

/** Where it listens, truthfully: ":8000 (all interfaces)", "127.0.0.1:8000". */
export function listenDescription(config: Config, bound: AddressInfo): string {
  const host = config.listen.host;
  if (host === undefined) return `:${bound.port} (all interfaces)`;
  if (host === '0.0.0.0') return `0.0.0.0:${bound.port} (all IPv4 interfaces)`;
  if (host === '::') return `[::]:${bound.port} (all interfaces)`;
  return formatHostPort(host, bound.port);
}

/**
 * True when the balancer runs in a terminal (stdin or stdout is a TTY): then SIGHUP means the
 * terminal hung up and the balancer stops, as every foreground program does. Detached (daemon,
 * Docker, systemd), SIGHUP reloads as it does for nginx.
 */
export function attachedToTerminal(): boolean {
  return process.stdin.isTTY === true || process.stdout.isTTY === true;
}

function loadStartConfig(opts: StartOptions): Config {
  const quick = opts.from !== undefined || opts.to.length > 0 || opts.algorithm !== undefined;
  if (!quick) {
    if (opts.printConfig) usageError('--print-config prints the config of --from/--to flags; give at least one --to URL');
    const file = opts.config ?? DEFAULT_CONFIG_FILE;
    try {
      return loadConfig(file);
    } catch (e) {
      if (e instanceof ConfigError && e.code === 'E_CONFIG_READ') {
        for (const p of e.problems) process.stderr.write(`${p}\n`);
        process.stderr.write(
          'hint: give a config with --config FILE, or servers with --to URL (balancer --to http://localhost:9000 --to http://localhost:9001),\n' +
            '      or try the example: npx balancer --config examples/balancer.json --with-test-servers\n',
        );
        process.exit(EXIT_BAD_INPUT);
      }
      fail(e);
    }
  }
  if (opts.config !== undefined) usageError('--config cannot be combined with --from/--to/--algorithm (the flags stand for a whole config file)');
  if (opts.to.length === 0) usageError('--from and --algorithm need at least one --to URL (a server to send requests to)');
  try {
    const { config, file } = quickConfig({ from: opts.from, to: opts.to, algorithm: opts.algorithm });
    if (opts.printConfig) {
      process.stdout.write(`${JSON.stringify(file, null, 2)}\n`);
      process.exit(0);
    }
    return config;
  } catch (e) {
    fail(e);
  }
}

/** The engine serving clients (in this process, or in each worker). */
const makeEngine = (plane: ControlPlane, log: Logger): ProxyEngine => createEngine(plane, log);

/** Runs until SIGINT/SIGTERM (or SIGHUP in a terminal), then stops gracefully and exits 0. */
export async function startCommand(opts: StartOptions): Promise<void> {
  // A worker (`"workers"` > 1) gets its config and servers from the primary (src/workers/).
  if (isWorkerProcess()) return runWorker(opts.logLevel, makeEngine);
  const config = loadStartConfig(opts);
  const log = createLogger(opts.logLevel);
  for (const w of configWarnings(config)) log.warn({ warning: w }, w);
  const testServers = opts.withTestServers ? await testServersFor(config, log) : [];
  if (opts.watch && config.file === FLAGS_LABEL) usageError('--watch watches a config file; it cannot be combined with --from/--to');
  // DNS entries are upstream sources; a reload hands back those whose entry did not change.
  const dnsSources = (c: Config, previous: readonly UpstreamSource[]) =>
    sourcesFromConfig(c, { log, previous: previous.filter((p): p is DnsSource => p instanceof DnsSource) });
  // Prometheus metrics are kept only when the admin listener (which serves /metrics) runs.
  const cluster = new Cluster(config, { log, fileless: config.file === FLAGS_LABEL, sources: dnsSources, metrics: config.admin !== undefined });
  let balancer: ProxyEngine;
  const pool = workerPool(config, cluster, log);
  try {
    balancer = pool ?? makeEngine(cluster, log);
  } catch (e) {
    await Promise.all(testServers.map((t) => t.close()));
    fail(e); // an access log path that cannot be opened: a config error, exit 2
  }
  cluster.attach(balancer);
  keepWorkerCount(cluster, config);
  let bound: AddressInfo;
  try {
    bound = await balancer.listen();
  } catch (e) {
    await Promise.all(testServers.map((t) => t.close()));
    fail(e);
  }
  cluster.start();
  let admin: AdminServer | undefined;
  if (config.admin !== undefined) {
    try {
      const metrics = pool !== undefined && cluster.metrics !== undefined ? pool.metricsSource(cluster.metrics) : cluster.metrics;
      admin = await startAdminServer({ addr: config.admin.addr, token: config.admin.token, control: cluster, log, events: cluster, metrics, workers: pool && (() => pool.views()) });
    } catch (e) {
      await balancer.close(0);
      await cluster.stop(0);
      await Promise.all(testServers.map((t) => t.close()));
      fail(e);
    }
    const served = admin;
    const startedWith = config.admin;
    // The admin listener follows reloads: a new token at once; a new address needs a restart.
    cluster.attach({
      serverLeft: () => undefined,
      ready: () => true,
      apply: (next) => {
        served.setToken(next.admin?.token);
        return { kept: adminNeedsRestart(startedWith, next.admin) ? [`admin.addr (still ${startedWith.addr})`] : [] };
      },
    });
  }
  const removePidFile = opts.pidFile !== undefined ? writePidFile(opts.pidFile) : () => undefined;
  const attached = attachedToTerminal();
  const names = config.dnsServers.length;
  const servers = `${countOf(config.servers.length, 'server')}${names > 0 ? ` and ${countOf(names, 'DNS name')}` : ''}`;
  // `addr` is the URL clients use (test helpers and scripts read it); the message says where it is bound.
  log.info(
    { addr: balancer.url(), algorithm: config.algorithm, servers: config.servers.map((s) => s.addr), pid: process.pid },
    `${config.name} listening on ${listenDescription(config, bound)} — try ${balancer.url()} (${config.algorithm} over ${servers})`,
  );
  const reloadHow =
    config.file === FLAGS_LABEL
      ? ''
      : `; reload the config with ${attached ? '' : 'SIGHUP, '}kill -USR2 ${process.pid}${opts.pidFile !== undefined ? ` or balancer reload --pid-file ${opts.pidFile}` : ''}`;
  if (pool !== undefined) logWorkers(pool, log);
  log.info({ pid: process.pid, attached }, `pid ${process.pid}: ${attached ? 'Ctrl-C or closing the terminal stops' : 'SIGTERM stops'}${reloadHow}`);
  if (testServers.length > 0) log.info(`try: curl ${balancer.url()}/   (run it a few times: each answer names its server)`);

  let stopping = false;
  const stop = (why: string): void => {
    if (stopping) {
      log.warn(`${why} again: exiting now`);
      removePidFile();
      process.exit(1);
    }
    stopping = true;
    log.info(`${why}: finishing in-flight requests (up to ${config.timeouts.shutdownMs / 1000} s), then exiting`);
    watcher?.close();
    void admin?.close();
    const graceMs = config.timeouts.shutdownMs;
    void balancer
      .close()
      .then(() => cluster.stop(Math.min(graceMs, DEFAULT_CLOSE_DEADLINE_MS)))
      .then(() => Promise.all(testServers.map((t) => t.close())))
      .then(() => {
        log.info('stopped');
        removePidFile();
        process.exit(0);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // One reload for signals, --watch and the admin API; a bad file changes nothing.
  const reload = (trigger: string): void => void cluster.reload(trigger);
  process.on('SIGHUP', () => (attached ? stop('SIGHUP (the terminal closed)') : reload('SIGHUP')));
  process.on(RELOAD_SIGNAL, () => reload(RELOAD_SIGNAL));
  // SIGUSR1 reopens the access log, as for nginx (logrotate renames the file, then signals).
  process.on('SIGUSR1', () => {
    void balancer.reopenAccessLog().then(({ ok, message }) => (ok ? log.info({ signal: 'SIGUSR1' }, `SIGUSR1: ${message}`) : log.error({ signal: 'SIGUSR1' }, `SIGUSR1: ${message}`)));
  });
  // A half-written file fails validation and changes nothing; the write that completes it reloads.
  const watcher = opts.watch ? watchConfigFile(config.file, () => reload('config file changed')) : undefined;
  if (watcher !== undefined) log.info({ file: config.file }, `watching ${config.file}: changes are reloaded`);
}
