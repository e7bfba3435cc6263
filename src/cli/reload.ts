import { callAdmin, errorOf, resolveAdminTarget, type AdminOptions, type AdminTarget } from './admin-client.js';
import { die, EXIT_BAD_INPUT, EXIT_FAILURE, usageError } from './exit.js';
import { looksLikeBalancer, readPidFile } from './pid-file.js';

/** The signal that always reloads (HAProxy's master-worker reload signal); SIGHUP reloads only when detached. */
export const RELOAD_SIGNAL = 'SIGUSR2';

/** Options of `balancer reload`. */
export interface ReloadOptions extends AdminOptions {
  pidFile?: string;
  pid?: number;
}

/**
 * `balancer reload`: through the admin API (`--admin URL`, or a config with an admin listener),
 * which answers what changed or every problem; or by signal to a balancer found by pid file or pid.
 */
export async function reloadCommand(o: ReloadOptions): Promise<void> {
  const bySignal = o.pidFile !== undefined || o.pid !== undefined;
  if (bySignal && o.admin !== undefined) usageError('reload takes --admin URL or --pid-file/--pid, not both');
  if (!bySignal) {
    const target = resolveAdminTarget(o, false);
    if (target === undefined) {
      usageError(`reload needs an admin API (--admin URL, or "admin" in the config, default ./balancer.json) or one of --pid-file FILE or --pid N`);
    }
    return reloadByApi(target);
  }
  signalReload(o);
}

async function reloadByApi(target: AdminTarget): Promise<void> {
  // A reload may probe new servers and rebuild notifiers: give it longer than a read.
  const { status, body } = await callAdmin(target, 'POST', '/api/reload', { timeoutMs: 30_000, accept: (s) => s === 400 });
  if (status === 400) {
    const err = errorOf(body);
    for (const p of err?.problems ?? []) process.stderr.write(`${p}\n`);
    die(`reload refused: ${err?.message ?? 'the config has problems'}`, EXIT_BAD_INPUT);
  }
  const { changes } = body as { changes: string[] };
  if (changes.length === 0) process.stdout.write('reloaded: no changes\n');
  else process.stdout.write(`reloaded:\n${changes.map((c) => `  ${c}\n`).join('')}`);
}

function signalReload(o: ReloadOptions): void {
  if (o.pidFile !== undefined && o.pid !== undefined) usageError('reload needs one of --pid-file FILE or --pid N');
  let pid: number;
  let from: string;
  if (o.pid !== undefined) {
    pid = o.pid;
    from = `pid ${pid}`;
  } else {
    const file = o.pidFile as string;
    const read = readPidFile(file);
    if (typeof read === 'string') die(read, EXIT_FAILURE);
    pid = read;
    from = `pid ${pid} (from ${file})`;
  }
  // A stale pid file may name a process that is not ours; the reload signal would kill it.
  if (!looksLikeBalancer(pid)) die(`${from} is not a balancer${o.pidFile !== undefined ? ' (stale pid file?)' : ''}; nothing sent`, EXIT_FAILURE);
  try {
    process.kill(pid, RELOAD_SIGNAL);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') die(`${from} is not running${o.pidFile !== undefined ? ' (stale pid file?)' : ''}; nothing to reload`, EXIT_FAILURE);
    if (code === 'EPERM') die(`${from} belongs to another user; cannot signal it (EPERM)`, EXIT_FAILURE);
    throw e;
  }
  process.stdout.write(`reload requested: sent ${RELOAD_SIGNAL} to ${from}; the balancer's log says whether the config was taken\n`);
}
