import type { Pool as UndiciPool } from 'undici';
import type { Upstream } from '../../control/selection/upstream.js';
import type { LogSink } from '../../util/logger.js';

/** How long a server that sent unsolicited bytes first gets a fresh connection per request. */
export const NO_REUSE_MS = 60_000;
/** The period doubles each time the server does it again after a period ended, up to this. */
export const MAX_NO_REUSE_MS = 3_600_000;
/** At most one log line per server per this many milliseconds; the rest are counted into it. */
const LOG_EVERY_MS = 1000;

/** What the guard reports a stray to: passive health. */
export interface StraySink {
  /** Counts a failure against `u` (passive health). */
  reportFailure(u: Upstream, reason: string, cause: 'response'): void;
}

/** Per-server state; made on the first stray only. */
interface Suspect {
  /** performance.now() until which connections to the server are not reused. */
  until: number;
  /** performance.now() of the last log line. */
  loggedAt: number;
  /** Strays since the last log line. */
  unlogged: number;
  /** Length of the current (or last) no-reuse period. */
  periodMs: number;
}

/** The reason strays are counted and logged under. */
export const STRAY_REASON = 'unsolicited response bytes on an idle connection';

/**
 * Guards against stray responses: bytes a server sends on a keep-alive connection with no
 * request in flight. undici (8.x) already closes such a connection instead of handing the bytes
 * to the next request ("bad response"), whether they follow a response in the same read or come
 * later, and it reads an idle connection once more before reusing it. This guard makes the stray
 * visible: it logs it (rate-limited), counts it against the server (passive health), and, since
 * a server that sends them may send one just after the next request went out on the same
 * connection (where no proxy can tell it from the real answer), it stops reusing that server's
 * connections for a while: its pool is replaced (the old connections finish their requests and
 * close) and each request gets its own connection (`Connection: close`), for 60 s, doubling
 * each time the server does it again after a period ended (up to an hour).
 */
export class StrayGuard {
  private readonly suspects = new Map<Upstream, Suspect>();

  /** Creates a guard that logs to `log` and counts strays in `sink`. */
  constructor(
    private readonly log: LogSink,
    private readonly sink: StraySink,
    /** Replaces the connection pool of `u`, when it becomes a suspect. */
    private readonly renew: (u: Upstream) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Watches the connection pool of `u` for strays. */
  watch(u: Upstream, pool: UndiciPool): void {
    pool.on('disconnect', (_origin, _targets, err) => {
      // undici's parser says "bad response" exactly when a response starts with no request in flight.
      if ((err as NodeJS.ErrnoException).code === 'UND_ERR_SOCKET' && err.message === 'bad response') this.stray(u);
    });
  }

  /** True while connections to `u` must not be reused (the request is dispatched with `reset`). */
  noReuse(u: Upstream): boolean {
    if (this.suspects.size === 0) return false;
    const s = this.suspects.get(u);
    return s !== undefined && s.until > this.now();
  }

  /** Reports a stray seen by an engine with its own connection pools (the fast engine). */
  report(u: Upstream): void {
    this.stray(u);
  }

  private stray(u: Upstream): void {
    const now = this.now();
    let s = this.suspects.get(u);
    if (s === undefined) {
      s = { until: 0, loggedAt: -Infinity, unlogged: 0, periodMs: 0 };
      this.suspects.set(u, s);
    }
    // A stray within a period comes from a connection of the retired pool: same period.
    if (s.until <= now) {
      s.periodMs = s.periodMs === 0 ? NO_REUSE_MS : Math.min(s.periodMs * 2, MAX_NO_REUSE_MS);
      s.until = now + s.periodMs;
      this.renew(u);
    }
    s.unlogged++;
    if (now - s.loggedAt >= LOG_EVERY_MS) {
      const count = s.unlogged;
      s.unlogged = 0;
      s.loggedAt = now;
      const left = Math.ceil((s.until - now) / 1000);
      this.log.warn(
        { upstream: u.addr, strays: count, noReuseSeconds: left },
        `upstream ${u.addr} sent ${STRAY_REASON}${count > 1 ? ` (${count} times since the last report)` : ''}: connection closed, ` +
          `its connections not reused for ${left} s`,
      );
    }
    // A stray is a bad response: capped by maxEjectionPercent like other traffic-provoked failures.
    this.sink.reportFailure(u, STRAY_REASON, 'response');
  }
}
