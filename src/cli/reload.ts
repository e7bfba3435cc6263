import { die, EXIT_FAILURE, usageError } from './exit.js';
import { looksLikeBalancer, readPidFile } from './pid-file.js';

/** The signal that always reloads (HAProxy's master-worker reload signal); SIGHUP reloads only when detached. */
export const RELOAD_SIGNAL = 'SIGUSR2';

/** `balancer reload`: sends the reload signal to a running balancer found by pid file or pid. */
export function reloadCommand(o: { pidFile?: string; pid?: number }): void {
  if ((o.pidFile === undefined) === (o.pid === undefined)) usageError('reload needs one of --pid-file FILE or --pid N');
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
