import { ConfigError } from '../config/load.js';
import { BalancerError } from '../util/errors.js';

/** Exit status for bad input (config or usage), as documented. */
export const EXIT_BAD_INPUT = 2;
/** Exit status for other failures (a taken port, a stale pid file). */
export const EXIT_FAILURE = 1;

/** Prints one `balancer: ...` line and exits with `status`. */
export function die(message: string, status: number): never {
  process.stderr.write(`balancer: ${message}\n`);
  process.exit(status);
}

/** Bad usage: one line, a pointer to --help, exit 2. */
export function usageError(message: string): never {
  process.stderr.write(`error: ${message}\n(see balancer --help)\n`);
  process.exit(EXIT_BAD_INPUT);
}

/** Reports an error as the CLI's contract says (config problems exit 2, our own errors 1) and exits. */
export function fail(err: unknown): never {
  if (err instanceof ConfigError) {
    for (const p of err.problems) process.stderr.write(`${p}\n`);
    process.exit(EXIT_BAD_INPUT);
  }
  if (err instanceof BalancerError) die(`${err.message} (${err.code})`, EXIT_FAILURE);
  throw err;
}

/** "port taken" for EADDRINUSE and friends, the code otherwise. */
export function listenProblem(code: string | undefined): string {
  if (code === 'EADDRINUSE') return 'the port is taken (EADDRINUSE)';
  if (code === 'EACCES') return 'permission denied (EACCES; ports below 1024 need privileges)';
  if (code === 'EADDRNOTAVAIL') return 'no such local address (EADDRNOTAVAIL)';
  return code ?? 'failed';
}
