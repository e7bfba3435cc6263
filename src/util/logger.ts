import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

/** The logger type used everywhere (pino). */
export type { Logger } from 'pino';

/**
 * The part of a pino logger the health checks and notifiers use, in pino's `(obj, msg)` form,
 * so the CLI's Logger fits as is and tests pass a recording one.
 */
export interface LogSink {
  /** Per-attempt detail (retry decisions, failed attempts that will be retried). */
  debug(obj: Record<string, unknown>, msg: string): void;
  /** Normal operation worth a line: a server came back, checks started, a message was sent. */
  info(obj: Record<string, unknown>, msg: string): void;
  /** Trouble: a server went down or was ejected, a message was dropped or failed. */
  warn(obj: Record<string, unknown>, msg: string): void;
  /** Something that should not happen. */
  error(obj: Record<string, unknown>, msg: string): void;
}

/** Log levels the CLI accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** JSON lines when stdout is not a terminal (for collectors), readable lines when it is. */
export function createLogger(level: LevelWithSilent = 'info', prettyOutput = process.stdout.isTTY === true): Logger {
  if (!prettyOutput) {
    // Logging must never stall the proxy: when whatever reads stdout stops reading (a full pipe,
    // a dead collector), lines are dropped instead of retried in a blocking loop.
    const destination = pino.destination({ dest: 1, sync: true, retryEAGAIN: () => false });
    destination.on('error', () => undefined);
    return pino({ level, base: undefined }, destination);
  }
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}
