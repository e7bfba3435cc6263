import type { LogSink } from '../../util/logger.js';
import { ThrottledLog } from '../../util/log-throttle.js';

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

// One per process: the resource is the process's, whichever config or checker hit it.
const localErrors = new ThrottledLog();

/** Logs a local resource error (at most one line per second per code), saying it is the balancer's own problem. */
export function logLocalResourceError(log: LogSink, code: string, where: string): void {
  localErrors.note(code, log, (count, seconds) => [
    { code, where, count, local: true },
    `balancer's own problem, not the servers': ${code}: ${WHAT[code] ?? code}; ${count} ${where} failed${count > 1 ? ` in the last ${seconds} s` : ''}; no server is blamed`,
  ]);
}
