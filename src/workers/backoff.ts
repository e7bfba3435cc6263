// When a crashed worker is started again: 100 ms, doubling up to 10 s, back to 100 ms once a
// worker has run a minute without crashing (systemd's and supervisors' restart backoff).

/** First restart delay. */
export const FIRST_DELAY_MS = 100;
/** Longest restart delay. */
export const MAX_DELAY_MS = 10_000;
/** A worker that ran this long was stable: its next crash restarts it after FIRST_DELAY_MS again. */
export const STABLE_MS = 60_000;

/** The restart delays of one worker slot. */
export class RestartBackoff {
  private next = FIRST_DELAY_MS;

  /** The delay before restarting a worker that ran `ranMs` before it died. */
  delay(ranMs: number): number {
    if (ranMs >= STABLE_MS) this.next = FIRST_DELAY_MS;
    const d = this.next;
    this.next = Math.min(MAX_DELAY_MS, this.next * 2);
    return d;
  }
}
