import { pino, type Logger, type LevelWithSilent } from 'pino';

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

/** JSON lines when stdout is not a terminal (for collectors), one readable line per message when it is. */
export function createLogger(level: LevelWithSilent = 'info', prettyOutput = process.stdout.isTTY === true): Logger {
  if (!prettyOutput) {
    // Logging must never stall the proxy: when whatever reads stdout stops reading (a full pipe,
    // a dead collector), lines are dropped instead of retried in a blocking loop.
    const destination = pino.destination({ dest: 1, sync: true, retryEAGAIN: () => false });
    destination.on('error', () => undefined);
    return pino({ level, base: undefined }, destination);
  }
  // A terminal that went away (closed window, SIGHUP) makes writes fail with EIO; the balancer
  // must still stop gracefully, so a failed write is dropped rather than thrown.
  process.stdout.on('error', () => undefined);
  const terminal = {
    write(line: string): void {
      try {
        process.stdout.write(`${formatTerminalLine(line, process.stdout.hasColors?.() === true)}\n`);
      } catch {
        // The terminal is gone; nothing to tell.
      }
    },
  };
  return pino({ level, base: undefined }, terminal);
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLOURS: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' };
// Fields worth a glance when the message does not already say them (why something failed, and
// who); the others (addresses, counts, lists) are in the message or only in the JSON log.
const DETAIL_FIELDS = ['notifier', 'reason', 'error', 'err', 'code', 'problem'];

function clip(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * One pino JSON line as one line a person reads at a glance: `12:00:01.250 WARN  message
 * (reason: ...)`. Only a few detail fields are shown, and only when the message lacks them.
 */
export function formatTerminalLine(json: string, colours: boolean): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.trimEnd();
  }
  const level = typeof entry.level === 'number' ? entry.level : 30;
  const time = typeof entry.time === 'number' ? new Date(entry.time) : new Date();
  const hhmmss = `${String(time.getHours()).padStart(2, '0')}:${String(time.getMinutes()).padStart(2, '0')}:${String(time.getSeconds()).padStart(2, '0')}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const msg = typeof entry.msg === 'string' ? entry.msg : '';
  const details = DETAIL_FIELDS.filter((k) => entry[k] !== undefined && entry[k] !== null && !msg.includes(clip(entry[k])))
    .map((k) => `${k}: ${clip(entry[k])}`)
    .join(', ');
  const name = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const label = colours ? `\u001b[${LEVEL_COLOURS[level] ?? '0'}m${name}\u001b[39m` : name;
  return `${hhmmss} ${label} ${msg.replace(/\s*\n\s*/g, ' ')}${details === '' ? '' : ` (${details})`}`;
}
