import type { Config } from '../config/load.js';
import { accessLogChanged } from '../config/access-log.js';
import type { Logger } from '../util/logger.js';
import { AccessLog } from './node/access-log.js';

/** The access log a reload leaves in force: the open log (undefined when off) and the config that describes it. */
export interface AccessLogInForce {
  readonly log: AccessLog | undefined;
  readonly config: Config['accessLog'];
}

const show = (a: Config['accessLog']): string => (a === undefined ? 'off' : `${a.format} to ${a.path === '-' ? 'standard output' : a.path}`);

/**
 * Puts a reloaded config's access log in force, for both HTTP engines. A changed log is opened and
 * takes the next lines; the old one closes once its lines are written. One that cannot be opened
 * keeps the old one, logged as an error (not a setting that needs a restart: a problem to fix; the
 * rest of the reload stands). Unchanged, the open log takes the new trusted proxies.
 */
export function reloadAccessLog(current: AccessLog | undefined, old: Config['accessLog'], config: Config, log: Logger): AccessLogInForce {
  if (!accessLogChanged(old, config.accessLog)) {
    current?.trust(config.trustedProxies);
    return { log: current, config: old };
  }
  let next: AccessLog | undefined;
  try {
    next = config.accessLog === undefined ? undefined : new AccessLog(config.accessLog, config.trustedProxies, log, config.file);
  } catch (e) {
    current?.trust(config.trustedProxies);
    const problem = e instanceof Error ? e.message : String(e);
    const still = old === undefined ? 'off' : `${old.format} to ${old.path}`;
    log.error({ problem }, `reload: ${problem}; the access log stays as it was (${still})`);
    return { log: current, config: old };
  }
  void current?.close();
  log.info({ accessLog: config.accessLog ?? null }, `access log: ${show(config.accessLog)} (was ${show(old)})`);
  return { log: next, config: config.accessLog };
}

/** Reopens the access log file (logrotate renamed it): SIGUSR1. Resolves with what happened, for the log. */
export async function reopenAccessLog(a: AccessLog | undefined): Promise<{ ok: boolean; message: string }> {
  if (a === undefined) return { ok: true, message: 'no access log to reopen' };
  if (a.config.path === '-') return { ok: true, message: 'the access log goes to standard output: nothing to reopen' };
  const problem = await a.reopen();
  return problem === undefined
    ? { ok: true, message: `access log reopened: ${a.config.path}` }
    : { ok: false, message: `access log: ${a.config.path} ${problem}; still writing to the old file` };
}
