// A worker process: an engine over a FollowerPlane, serving clients. Everything else (health
// checks, discovery, notifiers, the admin API, reloads, signals) is the primary's; the worker
// follows its messages and reports outcomes back in batches.
import cluster from 'node:cluster';
import type { LevelWithSilent } from 'pino';
import type { ServerView } from '../admin/control.js';
import type { Config } from '../config/load.js';
import type { Upstream } from '../control/selection/upstream.js';
import type { ControlPlane, Engine } from '../engines/engine.js';
import { Metrics } from '../control/metrics.js';
import { createLogger, type Logger } from '../util/logger.js';
import { EXIT_BAD_INPUT } from '../cli/exit.js';
import { FollowerPlane } from './follower.js';
import { isToWorker, type FromWorker, type ToWorker } from './protocol.js';
import { fromWire } from './wire-config.js';
import { Reporter } from './reporter.js';

/** Builds the engine a worker runs (the same kind the single-process balancer would). */
export type EngineFactory = (plane: ControlPlane, log: Logger) => Engine;

/** An engine that can reopen its access log (SIGUSR1), as the node engine can. */
interface Reopens {
  reopenAccessLog(): Promise<{ ok: boolean; message: string }>;
}

function canReopen(e: Engine): e is Engine & Reopens {
  return typeof (e as Partial<Reopens>).reopenAccessLog === 'function';
}

/** The slot (1..N) the primary started this worker in: stable across restarts, for logs. */
export function workerSlot(): number {
  return Number(process.env.BALANCER_WORKER_SLOT ?? cluster.worker?.id ?? 0);
}

// Sends to the primary while the channel is open (a primary that went away cannot be told anything).
function send(m: FromWorker, done?: () => void): void {
  if (process.connected && process.send !== undefined) process.send(m, undefined, {}, () => done?.());
  else done?.();
}

/** Runs this process as a worker until the primary stops it (or goes away). */
export async function runWorker(level: LevelWithSilent, makeEngine: EngineFactory): Promise<void> {
  const slot = workerSlot();
  const log = createLogger(level).child({ worker: slot });
  // Signals are the primary's: a reload signal sent to the whole process group must not kill a
  // worker (SIGHUP's default), nor open an inspector (SIGUSR1's). SIGINT/SIGTERM stop gracefully.
  for (const s of ['SIGHUP', 'SIGUSR1', 'SIGUSR2'] as const) process.on(s, () => undefined);
  const init = await new Promise<Extract<ToWorker, { t: 'init' }>>((resolve) => {
    const first = (m: unknown): void => {
      // Told to stop before it started: nothing to finish.
      if (isToWorker(m) && m.t === 'stop') process.exit(0);
      if (!isToWorker(m) || m.t !== 'init') return;
      process.off('message', first);
      resolve(m);
    };
    process.on('message', first);
  });
  // The closures below run only once `follower` exists.
  const reporter = new Reporter(
    (batch) => send({ t: 'report', batch }),
    () => follower.inflight(),
  );
  let engine: Engine | undefined;
  // Metrics count here what happens here (requests, durations, upstream errors, retries); the primary merges them.
  const metrics = init.metrics ? new Metrics(() => follower.servers.map(viewOf)) : undefined;
  const follower = new FollowerPlane(fromWire(init.config), { reporter, workers: init.workers, metrics, onLeft: (u) => engine?.serverLeft(u) });
  follower.setMembers(init.members);
  let listening = false;
  let stopping: Promise<void> | undefined;
  // Graceful stop: stop accepting, finish in-flight requests, send the last report and metrics, exit.
  const stop = (graceMs: number): void => {
    stopping ??= (async () => {
      // Stopped before it listened: nothing is in flight.
      if (engine !== undefined && listening) await engine.close(graceMs);
      reporter.stop();
      reporter.flush();
      follower.stop();
      const last = metrics === undefined ? undefined : await metrics.registry.getMetricsAsJSON();
      const bye = (): void => process.exit(0);
      if (last === undefined) send({ t: 'report', batch: { servers: {}, inflight: {} } }, bye);
      else send({ t: 'metrics', id: -1, metrics: last }, bye);
    })();
  };
  // Handlers first: whatever the primary sends from now on (a stop while this worker starts) is heard.
  process.on('SIGINT', () => stop(follower.config.timeouts.shutdownMs));
  process.on('SIGTERM', () => stop(follower.config.timeouts.shutdownMs));
  // The primary went away (killed): finish what is in flight and go, rather than serve unsupervised.
  process.on('disconnect', () => stop(follower.config.timeouts.shutdownMs));
  process.on('message', (m: unknown) => {
    if (!isToWorker(m)) return;
    switch (m.t) {
      case 'config':
        apply(fromWire(m.config));
        break;
      case 'members':
        follower.setMembers(m.members);
        break;
      case 'state':
        follower.setState(m.state);
        break;
      case 'metrics':
        if (metrics !== undefined) void metrics.registry.getMetricsAsJSON().then((json) => send({ t: 'metrics', id: m.id, metrics: json }));
        break;
      case 'reopen':
        if (engine !== undefined && canReopen(engine)) void engine.reopenAccessLog().then((r) => send({ t: 'reopened', ...r }));
        else send({ t: 'reopened', ok: true, message: 'no access log to reopen' });
        break;
      case 'stop':
        stop(m.graceMs);
        break;
      case 'init':
        break;
    }
  });

  // The primary says why (it exits, or logs and restarts this worker); this worker just goes.
  const fail = (e: unknown, exitCode: number): void => {
    const message = e instanceof Error ? e.message : String(e);
    send({ t: 'failed', message, exitCode }, () => process.exit(exitCode));
    // Exit even when the message cannot be sent.
    setTimeout(() => process.exit(exitCode), 1000).unref();
  };
  try {
    engine = makeEngine(follower, log);
  } catch (e) {
    fail(e, EXIT_BAD_INPUT);
    return;
  }
  let address;
  try {
    address = await engine.listen();
  } catch (e) {
    fail(e, 1);
    return;
  }
  if (stopping !== undefined) return;
  listening = true;
  send({ t: 'listening', address, url: engine.url() });

  function apply(config: Config): void {
    follower.setConfig(config);
    const kept = engine?.apply(config).kept ?? [];
    send({ t: 'applied', kept });
  }
}

// What the in-flight gauge of this worker's metrics reads (the only gauge the primary takes from workers).
function viewOf(u: Upstream): ServerView {
  return { name: u.name, addr: u.addr, state: 'up', healthy: true, reason: undefined, since: '', weight: u.weight, effectiveWeight: u.weight, inflight: u.inflight, requests: 0, failures: 0, backup: u.backup, source: '' };
}
