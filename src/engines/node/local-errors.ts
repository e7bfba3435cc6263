import type { LogSink } from '../../util/logger.js';

// The balancer's own resource failures: when the process runs out of file descriptors, socket
// buffers or memory, a connect or probe fails without the server having done anything. They are
// never held against a server (no passive failure, no active-check failure, no retry elsewhere,
// which would only fail the same way) and are logged as the balancer's problem.

const LOCAL_RESOURCE_CODES: ReadonlySet<string> = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL']);

const WHAT: Record<string, string> = {
  EMFILE: 'the process is out of file descriptors (ulimit -n)',
  ENFILE: 'the system is out of file descriptors',
  ENOBUFS: 'the system is out of socket buffers',
  ENOMEM: 'the system is out of memory',
  EADDRNOTAVAIL: 'the system is out of local ports for new connections',
};

/** The local resource error code (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL) of `err` or its causes, or of a reason string. */
export function localResourceCode(err: unknown): string | undefined {
  if (typeof err === 'string') return LOCAL_RESOURCE_CODES.has(err) ? err : undefined;
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && LOCAL_RESOURCE_CODES.has(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Logs events that can come in floods at most once per second per cause, each line with the
 * count of events it stands for; a tail of suppressed events is logged a second later.
 */
export class ThrottledLog {
  private readonly causes = new Map<string, { lastAt: number; suppressed: number; timer: NodeJS.Timeout | undefined }>();

  /** Builds the throttle; `now` is a millisecond clock. */
  constructor(private readonly intervalMs = 1000, private readonly now: () => number = () => performance.now()) {}

  /** Logs `line(count)` for `cause` now, or counts it into the next line. */
  note(cause: string, log: LogSink, line: (count: number, seconds: number) => [Record<string, unknown>, string]): void {
    let c = this.causes.get(cause);
    const t = this.now();
    if (c === undefined) {
      c = { lastAt: -Infinity, suppressed: 0, timer: undefined };
      this.causes.set(cause, c);
    }
    if (t - c.lastAt >= this.intervalMs) {
      const [fields, msg] = line(c.suppressed + 1, Math.max(1, Math.round((t - (c.lastAt === -Infinity ? t : c.lastAt)) / 1000)));
      c.lastAt = t;
      c.suppressed = 0;
      log.warn(fields, msg);
      return;
    }
    c.suppressed++;
    if (c.timer !== undefined) return;
    const entry = c;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      if (entry.suppressed === 0) return;
      const [fields, msg] = line(entry.suppressed, Math.max(1, Math.round((this.now() - entry.lastAt) / 1000)));
      entry.lastAt = this.now();
      entry.suppressed = 0;
      log.warn(fields, msg);
    }, this.intervalMs - (t - c.lastAt));
    entry.timer.unref();
  }
}

// One per process: the resource is the process's, whichever config or checker hit it.
const localErrors = new ThrottledLog();

/** Logs a local resource error (at most one line per second per code), saying it is the balancer's own problem. */
export function logLocalResourceError(log: LogSink, code: string, where: string): void {
  localErrors.note(code, log, (count, seconds) => [
    { code, where, count, local: true },
    `balancer's own problem, not the servers': ${code}: ${WHAT[code] ?? code}; ${count} ${where} failed${count > 1 ? ` in the last ${seconds} s` : ''}; no server is blamed`,
  ]);
}
