import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { waitFor } from './wait.js';

// A daemon a test runs (pebble, dnsmasq) on loopback, under a small shell that stops it when its
// stdin (a pipe from this process) closes, so no daemon outlives a test process that crashed or
// was killed. The shell runs "$@", prints "<name>-pid <pid>", and kills the daemon when stdin
// reaches its end. A background job's stdin is /dev/null, hence fd 3.
const WATCHDOG = `exec 3<&0
"$@" &
pid=$!
echo "$0-pid $pid"
( while read -r _ <&3; do :; done; kill "$pid" 2>/dev/null ) &
watcher=$!
wait "$pid"
status=$?
kill "$watcher" 2>/dev/null
exit "$status"`;

/** The first of `candidates` (an env override first) that exists, or undefined. */
export function findBinary(candidates: readonly (string | undefined)[]): string | undefined {
  return candidates.find((b) => b !== undefined && b !== '' && existsSync(b));
}

/** What to start a daemon with. */
export interface DaemonStart {
  readonly bin: string;
  readonly args: readonly string[];
  /** True once the daemon's output of this run shows it is serving. */
  readonly ready: (output: string) => boolean;
  readonly timeoutMs: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
}

const live = new Set<Daemon>();

/** One daemon process, started and stopped as often as a test likes; its output is kept across runs. */
export class Daemon {
  private child: ChildProcess | undefined;
  /** The daemon's own pid (the child is the watchdog shell). */
  private pid: number | undefined;
  private log = '';
  /** Where the running daemon's output starts in `log`. */
  private logStart = 0;

  constructor(private readonly name: string) {}

  /** Everything the daemon logged, all runs. */
  get output(): string {
    return this.log;
  }

  /** What the running daemon logged so far. */
  get runOutput(): string {
    return this.log.slice(this.logStart);
  }

  /** Starts the daemon; resolves once `ready` says so, rejects if it exits first. */
  async start(o: DaemonStart): Promise<void> {
    const child = spawn('/bin/sh', ['-c', WATCHDOG, this.name, o.bin, ...o.args], { stdio: ['pipe', 'pipe', 'pipe'], env: o.env, cwd: o.cwd });
    this.child = child;
    this.pid = undefined;
    this.logStart = this.log.length;
    live.add(this);
    // A test that forgets to stop it must not hang: nothing here keeps the process alive, and when
    // it exits the pipe closes and the shell stops the daemon.
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const pidLine = new RegExp(`^${this.name}-pid (\\d+)$`, 'm');
    const collect = (b: Buffer): void => {
      this.log += b.toString();
      this.pid ??= Number(pidLine.exec(this.runOutput)?.[1]) || undefined;
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    await waitFor(() => exited || (this.pid !== undefined && o.ready(this.runOutput)), `${this.name} to start`, o.timeoutMs);
    if (exited) throw new Error(`${this.name} exited at start:\n${this.log}`);
  }

  /** Sends `signal` to the running daemon itself. */
  signal(signal: NodeJS.Signals): void {
    if (this.pid !== undefined) process.kill(this.pid, signal);
  }

  /** Stops the daemon (SIGTERM) and waits for it to exit. */
  async stop(): Promise<void> {
    const child = this.child;
    const pid = this.pid;
    this.child = undefined;
    this.pid = undefined;
    live.delete(this);
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      // Referenced while we wait: an unref'd child alone would let the event loop end mid-await.
      child.ref();
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      // SIGTERM to the daemon itself; the shell exits with it (closing stdin is the fallback).
      if (pid !== undefined) process.kill(pid, 'SIGTERM');
      child.stdin?.end();
      await exited;
    }
  }

  /** Kills every daemon still running (a failed test must not leave one behind). */
  static killAll(): void {
    for (const d of live) {
      try {
        d.signal('SIGKILL');
      } catch {
        // Already gone.
      }
    }
  }
}

process.on('exit', () => Daemon.killAll());
