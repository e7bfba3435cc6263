// Black-box helpers: the balancer runs as its own process (the real CLI), backends on real sockets.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { request as undiciRequest, Agent } from 'undici';
import { waitFor } from './wait.js';
import { startTestServers, type TestServer } from '../../src/testservers/server.js';

/** Path of the built CLI. */
export const CLI = new URL('../../src/cli.js', import.meta.url).pathname;

/** The engine the black-box suite runs against (BALANCER_TEST_ENGINE, else the config's default). */
export const TEST_ENGINE: string | undefined = process.env.BALANCER_TEST_ENGINE || undefined;
/** The engine a plain-HTTP config in these tests runs on: BALANCER_TEST_ENGINE, else the default ("fast"). */
export const ENGINE_UNDER_TEST: string = TEST_ENGINE ?? 'fast';

/** `config` with the engine under test (BALANCER_TEST_ENGINE) unless it names one: for configs written at start and at reloads. */
export function withTestEngine(config: Record<string, unknown>): Record<string, unknown> {
  return TEST_ENGINE !== undefined && !('engine' in config) ? { engine: TEST_ENGINE, ...config } : config;
}

/** A balancer process under test. */
export interface BalancerProcess {
  readonly url: string;
  /** The config file it runs with (rewrite it and send SIGHUP to reload). */
  readonly file: string;
  readonly proc: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** Resident memory of the process in bytes (from /proc). */
  rss(): number;
  /** Sends a signal and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Writes `config` to a temporary file and returns its path. */
export function writeConfig(config: unknown, name = 'balancer.json'): string {
  const dir = mkdtempSync(join(tmpdir(), 'balancer-test-'));
  const file = join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : JSON.stringify(config, null, 2));
  return file;
}

/**
 * Starts `balancer start --config` on a temp config (addr defaults to 127.0.0.1:0) and waits until
 * it listens; with `config` null, no config file (`extraArgs` give --from/--to).
 */
export async function startBalancer(
  config: Record<string, unknown> | null,
  extraArgs: string[] = [],
  opts: { /** Runs the balancer under `ulimit -n fdLimit` (soft and hard). */ fdLimit?: number } = {},
): Promise<BalancerProcess> {
  const file = config === null ? '' : writeConfig({ addr: '127.0.0.1:0', ...withTestEngine(config) });
  const configArgs = config === null ? [] : ['--config', file];
  const args = [CLI, 'start', ...configArgs, '--log-level', 'debug', ...extraArgs];
  const proc =
    opts.fdLimit === undefined
      ? spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
      : spawn('sh', ['-c', `ulimit -n ${opts.fdLimit} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  proc.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: proc.stdout as NodeJS.ReadableStream });
    rl.on('line', (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (typeof entry.msg === 'string' && entry.msg.includes(' listening on ') && typeof entry.addr === 'string') resolve(entry.addr);
      } catch {
        logs.push({ msg: line });
      }
    });
    void exited.then((code) => reject(new Error(`balancer exited (${code}) before listening: ${stderr}`)));
  });
  return {
    url,
    file,
    proc,
    logs,
    rss: () => {
      const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      const m = /VmRSS:\s+(\d+) kB/.exec(status);
      return Number(m?.[1] ?? 0) * 1024;
    },
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

/** Starts `n` test servers on free ports. */
export function backends(n: number, opts: { latencyMs?: number[] } = {}): Promise<TestServer[]> {
  return startTestServers({ count: n, port: 0, latencyMs: opts.latencyMs });
}

/** Closes test servers. */
export async function closeAll(servers: readonly { close(): Promise<void> }[]): Promise<void> {
  await Promise.all(servers.map((s) => s.close()));
}

// One keep-alive agent for the tests' client side.
const agent = new Agent({ keepAliveTimeout: 1000 });

/** A finished response. */
export interface Reply {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** Sends one request and reads the whole (small) reply. */
export async function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string; localAddress?: string } = {}): Promise<Reply> {
  const dispatcher = opts.localAddress ? new Agent({ localAddress: opts.localAddress }) : agent;
  const r = await undiciRequest(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    dispatcher,
  });
  const body = await r.body.text();
  if (dispatcher !== agent) await dispatcher.close();
  return { status: r.statusCode, headers: r.headers, body };
}

/** The name of the test server that answered (from the X-Server header). */
export function servedBy(r: Reply): string {
  return String(r.headers['x-server']);
}

/** The admin API's URL, from the balancer's "admin API at URL" start line. */
export async function adminUrl(bp: BalancerProcess): Promise<string> {
  await waitFor(() => bp.logs.some((l) => typeof l.admin === 'string'), 'the admin API start line');
  return String(bp.logs.find((l) => typeof l.admin === 'string')?.admin);
}
