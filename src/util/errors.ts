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
  | 'E_LISTEN'
  /** A worker process (`"workers"` > 1) exited before it listened. */
  | 'E_WORKER_START';

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

/** Admin API refusals and errors (the `code` of its JSON error answers). */
export type AdminErrorCode =
  /** No `Authorization: Bearer` token, or the wrong one (401). */
  | 'E_ADMIN_UNAUTHORIZED'
  /** A write on an admin listener without a token, which is read-only (403). */
  | 'E_ADMIN_READ_ONLY'
  /** A cross-site `Origin` or `Sec-Fetch-Site: cross-site`: request forgery from a web page (403). */
  | 'E_ADMIN_FORBIDDEN_ORIGIN'
  /** A `Host` that is not the admin address or localhost: DNS rebinding (403). */
  | 'E_ADMIN_BAD_HOST'
  /** A write with a body that is not `Content-Type: application/json` (415). */
  | 'E_ADMIN_CONTENT_TYPE'
  /** The request body is larger than the admin API takes (413). */
  | 'E_ADMIN_TOO_LARGE'
  /** A body that is not the JSON the endpoint takes, or a bad name in the path (400). */
  | 'E_ADMIN_BAD_REQUEST'
  /** No server has that name (404; the answer lists the known ones). */
  | 'E_ADMIN_UNKNOWN_SERVER'
  /** No such endpoint (404). */
  | 'E_ADMIN_NOT_FOUND'
  /** The endpoint exists but not with this method (405, with Allow). */
  | 'E_ADMIN_METHOD'
  /** A reload found problems in the config file; the old config still serves (400). */
  | 'E_ADMIN_RELOAD_INVALID'
  /** Too many event streams are open (503). */
  | 'E_ADMIN_BUSY'
  /** The control plane failed to do what was asked (500). */
  | 'E_ADMIN_INTERNAL';

/** Every stable code. */
export type ErrorCode = ConfigErrorCode | StartupErrorCode | HealthErrorCode | ProbeFailureCode | RetryRefusal | NotifyErrorCode | AdminErrorCode;

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
