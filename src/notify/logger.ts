/** One log method, shaped like pino's `(obj, msg)` call so a pino Logger fits. */
export type LogFn = (obj: Record<string, unknown>, msg: string) => void;

/** The part of a pino logger the notifiers use; tests pass a recording one. */
export interface NotifyLogger {
  /** Normal operation worth a line (a delivered message at debug would be too chatty here). */
  info: LogFn;
  /** A message was dropped or a delivery failed. */
  warn: LogFn;
  /** Something that should not happen. */
  error: LogFn;
  /** Per-attempt detail. */
  debug: LogFn;
}
