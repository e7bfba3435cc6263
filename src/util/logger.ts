import { pino, type Logger, type LevelWithSilent } from 'pino';
import pretty from 'pino-pretty';

/** The logger type used everywhere (pino). */
export type { Logger } from 'pino';

/** Log levels the CLI accepts. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** JSON lines when stdout is not a terminal (for collectors), readable lines when it is. */
export function createLogger(level: LevelWithSilent = 'info', prettyOutput = process.stdout.isTTY === true): Logger {
  if (!prettyOutput) return pino({ level, base: undefined });
  return pino(
    { level, base: undefined },
    pretty({ colorize: true, sync: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' }),
  );
}
