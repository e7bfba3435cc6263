/** What the active checks currently say about a server. */
export type ActiveStatus = 'unknown' | 'up' | 'down';

/** Outcome of one probe, as the state machine needs it. */
export type CheckOutcome = { readonly ok: true } | { readonly ok: false; readonly reason: string };

/** A change of active status, with the reason to log and publish. */
export interface Transition {
  /** The new status. */
  readonly to: 'up' | 'down';
  /** E.g. "3 failed checks, last: ECONNREFUSED" or "2 passed checks". */
  readonly reason: string;
}

/** Read-only view of a server's check state, for snapshots. */
export interface CheckStateView {
  /** What the checks say now. */
  readonly status: ActiveStatus;
  /** Passed checks in a row (0 after a failure). */
  readonly consecutivePasses: number;
  /** Failed checks in a row (0 after a pass). */
  readonly consecutiveFails: number;
  /** Reason of the latest failed check, kept after passes so admins see what last went wrong. */
  readonly lastError: string | undefined;
  /** Clock time (`Clock.now`) of the latest check, or undefined before the first. */
  readonly lastCheckAt: number | undefined;
  /** Clock time of the latest status change, or undefined before the first. */
  readonly lastChangeAt: number | undefined;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The rise/fall state machine of one server (HAProxy `rise`/`fall`). Pure: the caller
 * passes the time of each check. The status starts "unknown" and the first check
 * settles it at once, so a server dead at startup is taken out without waiting `fall`
 * intervals, and a live one is not held back for `rise`.
 */
export class CheckState implements CheckStateView {
  status: ActiveStatus = 'unknown';
  consecutivePasses = 0;
  consecutiveFails = 0;
  lastError: string | undefined;
  lastCheckAt: number | undefined;
  lastChangeAt: number | undefined;

  /** `rise` and `fall` are whole numbers >= 1 (validated by the config schema). */
  constructor(
    public rise: number,
    public fall: number,
  ) {}

  /** New thresholds (a reload); the counts so far are kept. */
  setThresholds(rise: number, fall: number): void {
    this.rise = rise;
    this.fall = fall;
  }

  /** Records one check at clock time `now`; returns the transition it causes, if any. */
  record(outcome: CheckOutcome, now: number): Transition | undefined {
    this.lastCheckAt = now;
    if (outcome.ok) {
      this.consecutivePasses++;
      this.consecutiveFails = 0;
      if (this.status === 'unknown') return this.change('up', 'first check passed', now, false);
      if (this.status === 'down' && this.consecutivePasses >= this.rise) {
        return this.change('up', plural(this.consecutivePasses, 'passed check'), now);
      }
      return undefined;
    }
    this.lastError = outcome.reason;
    this.consecutiveFails++;
    this.consecutivePasses = 0;
    if (this.status === 'unknown') return this.change('down', `first check failed: ${outcome.reason}`, now);
    if (this.status === 'up' && this.consecutiveFails >= this.fall) {
      return this.change('down', `${plural(this.consecutiveFails, 'failed check')}, last: ${outcome.reason}`, now);
    }
    return undefined;
  }

  /** True unless checks have taken the server down ("unknown" counts as up: traffic flows before the first check ends). */
  get isUp(): boolean {
    return this.status !== 'down';
  }

  private change(to: 'up' | 'down', reason: string, now: number, report = true): Transition | undefined {
    this.status = to;
    this.lastChangeAt = now;
    // unknown -> up changes nothing anyone sees: the server was already taking traffic.
    return report ? { to, reason } : undefined;
  }
}
