import type { Server } from 'node:net';
import type { Config } from '../config/load.js';
import { RESERVED_FDS, softFdLimit } from '../config/limits.js';
import { BalancerError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

/** How an engine names itself in the line that says how many connections it takes. */
export interface ListenLine {
  /** Extra fields for the log line (e.g. `{ engine: 'fast' }`). */
  readonly fields?: Readonly<Record<string, unknown>>;
  /** Put before the message (e.g. "tcp mode: "). */
  readonly prefix?: string;
  /** Put after the message (e.g. '; engine "fast"'). */
  readonly suffix?: string;
}

/**
 * Binds `server` to the config's listen address for every engine: port 0 picks a free port, and
 * workers (src/workers/) each bind the port themselves with SO_REUSEPORT. A failed bind rejects
 * with E_LISTEN naming the address; a bound one logs how many client connections it takes.
 */
export async function listenOn(server: Server, config: Config, log: Logger, line: ListenLine = {}): Promise<void> {
  const { host, port, reusePort } = config.listen;
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new BalancerError('E_LISTEN', `cannot listen on ${config.addr}: ${err.code ?? err.message}`));
    };
    server.once('error', onError);
    server.listen({ port, host, reusePort: reusePort === true }, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const { limits } = config;
  const derived = limits.maxConnectionsDerived;
  log.info(
    { ...line.fields, maxConnections: limits.maxConnections, fdLimit: derived ? softFdLimit() : undefined },
    `${line.prefix ?? ''}up to ${limits.maxConnections} client connections (limits.maxConnections` +
      (derived ? ` from the fd limit ${softFdLimit()}: (limit - ${RESERVED_FDS}) / 2)` : ')') +
      (line.suffix ?? ''),
  );
}
