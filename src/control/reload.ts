import type { ReloadOutcome } from '../admin/control.js';
import { countOf } from '../util/log-throttle.js';
import type { Logger } from '../util/logger.js';
import type { Cluster } from './cluster.js';

/**
 * The one reload, whatever asked for it (SIGHUP/SIGUSR2, --watch, the admin API): reads the
 * config file, validates it, applies it, and logs the outcome. A bad file changes nothing and
 * every problem is logged. Reloads never overlap: one asked for during another runs after it.
 */
export class Reloader {
  private running: Promise<ReloadOutcome> | undefined;
  private again: Promise<ReloadOutcome> | undefined;

  /** Reloads `cluster` (and its engines), logging to `log`. */
  constructor(
    private readonly cluster: Cluster,
    private readonly log: Logger,
  ) {}

  /** Reloads; `trigger` ("SIGHUP", "config file changed", "admin API") goes into the log. */
  reload(trigger: string): Promise<ReloadOutcome> {
    if (this.running === undefined) return (this.running = this.run(trigger));
    // One more reload after the current one reads the file as it is by then; further asks share it.
    this.again ??= this.running.then(() => {
      this.again = undefined;
      return (this.running = this.run(trigger));
    });
    return this.again;
  }

  private async run(trigger: string): Promise<ReloadOutcome> {
    try {
      const file = this.cluster.config.file;
      const outcome = await this.cluster.reload();
      if (!outcome.ok) {
        for (const p of outcome.problems) this.log.error({ problem: p, trigger }, `reload rejected, still serving the previous config: ${p}`);
        return outcome;
      }
      const next = this.cluster.config;
      const { kept, changes } = outcome;
      this.log.info(
        { algorithm: next.algorithm, servers: next.servers.map((s) => s.addr), changes, kept, signal: trigger },
        `reloaded ${file} (${trigger}): ${next.algorithm} over ${countOf(next.servers.length, 'server')}` +
          `${changes.length > 0 ? `; changed: ${changes.join(', ')}` : '; nothing changed'}` +
          `${kept.length > 0 ? `; needs a restart to change: ${kept.join(', ')}` : ''}`,
      );
      return outcome;
    } finally {
      this.running = undefined;
    }
  }
}
