import { BalancerError, type NotifyErrorCode } from '../../util/errors.js';

/** A failed delivery attempt, with a stable code and whether trying again may help. */
export class NotifyError extends BalancerError {
  /** Attempts made before giving up; set by the retry loop. */
  attempts = 1;

  /** Creates a delivery error; `retryable` says whether another attempt may succeed. */
  constructor(
    override readonly code: NotifyErrorCode,
    message: string,
    readonly retryable: boolean,
    /** How long the receiver asked us to wait before retrying (HTTP 429 Retry-After / Telegram retry_after), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(code, message);
    this.name = 'NotifyError';
  }
}
