/** Stable codes of notification failures; messages may change, codes do not. */
export type NotifyErrorCode =
  /** The receiver did not answer within the notifier's timeout. */
  | 'E_NOTIFY_TIMEOUT'
  /** Connection refused, reset, DNS failure and the like. */
  | 'E_NOTIFY_NETWORK'
  /** The receiver answered with a non-2xx status. */
  | 'E_NOTIFY_HTTP'
  /** The Telegram Bot API answered but refused the message (`ok: false`). */
  | 'E_NOTIFY_TELEGRAM'
  /** The notifier was closed before the message could be sent. */
  | 'E_NOTIFY_CLOSED';

/** A failed delivery attempt, with a stable code and whether trying again may help. */
export class NotifyError extends Error {
  /** Attempts made before giving up; set by the retry loop. */
  attempts = 1;

  /** Creates a delivery error; `retryable` says whether another attempt may succeed. */
  constructor(
    readonly code: NotifyErrorCode,
    message: string,
    readonly retryable: boolean,
    /** How long the receiver asked us to wait before retrying (HTTP 429 Retry-After / Telegram retry_after), in ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'NotifyError';
  }
}
