// Every stable code of the balancer, in one place so no two areas invent the same code twice.
// Messages and reasons are for humans and may change; codes do not.

/** Config file problems (thrown as ConfigError). */
export type ConfigErrorCode =
  /** The file cannot be read. */
  | 'E_CONFIG_READ'
  /** The file is not valid JSON. */
  | 'E_CONFIG_JSON'
  /** The JSON does not pass the config schema (or names an unset environment variable). */
  | 'E_CONFIG_INVALID';

/** Starting the balancer (thrown as BalancerError). */
export type StartupErrorCode =
  /** The configured algorithm has no selector yet. */
  | 'E_ALGORITHM_NOT_IMPLEMENTED'
  /** The listen address cannot be bound (taken, not permitted...). */
  | 'E_LISTEN';

/** Health checker misuse (thrown as HealthError). */
export type HealthErrorCode =
  /** `start()` on a checker that was stopped: build a new one instead. */
  'E_HEALTH_STOPPED';

/** Why an active health probe failed (reported in a ProbeResult, not thrown). */
export type ProbeFailureCode =
  /** No connection: ECONNREFUSED, EHOSTUNREACH, ENOTFOUND, ECONNRESET... */
  | 'E_PROBE_CONNECT'
  /** TLS handshake or certificate failure. */
  | 'E_PROBE_TLS'
  /** The whole probe took longer than the timeout. */
  | 'E_PROBE_TIMEOUT'
  /** The status is not one of the expected ones. */
  | 'E_PROBE_STATUS'
  /** The body does not contain the expected substring. */
  | 'E_PROBE_BODY'
  /** The server did not speak HTTP. */
  | 'E_PROBE_PROTOCOL'
  /** The caller cancelled the probe (checker stopping). */
  | 'E_PROBE_ABORTED';

/** Why a failed request is not retried on another server (reported in a RetryDecision, not thrown). */
export type RetryRefusal =
  /** A response byte already arrived: never replayed. */
  | 'E_RETRY_AFTER_RESPONSE'
  /** The request may have run and its method is not idempotent. */
  | 'E_RETRY_NOT_IDEMPOTENT'
  /** The request body was streamed, not kept, so it cannot be sent again. */
  | 'E_RETRY_BODY_NOT_KEPT'
  /** The request used all its attempts. */
  | 'E_RETRY_ATTEMPTS'
  /** The retry budget is spent. */
  | 'E_RETRY_BUDGET'
  /** The attempt was cut by the balancer's own shutdown or reload: no server is to blame. */
  | 'E_RETRY_CUT';

/** Failed notification deliveries (thrown as NotifyError). */
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

/** Every stable code. */
export type ErrorCode = ConfigErrorCode | StartupErrorCode | HealthErrorCode | ProbeFailureCode | RetryRefusal | NotifyErrorCode;

/** An error with a stable code; the base of every error the balancer throws on purpose. */
export class BalancerError extends Error {
  /** Creates an error with a stable code. */
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'BalancerError';
  }
}
