/** The two log levels the health modules use; a pino Logger fits as is. */
export interface HealthLogger {
  /** Normal transitions: a server came back, checks started. */
  info(obj: object, msg: string): void;
  /** Trouble: a server went down or was ejected, all servers down. */
  warn(obj: object, msg: string): void;
}

/** Discards everything; for callers that do not log. */
export const silentLogger: HealthLogger = { info() {}, warn() {} };
