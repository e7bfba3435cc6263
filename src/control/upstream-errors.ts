// The one table of upstream errors: for each error code, the status the client gets, the reason
// logs and passive health see, and how it failed as far as a retry goes.
import type { FailureKind } from './health/retry.js';
import { localResourceCode } from '../engines/node/local-errors.js';
import { tlsFailureReason } from '../engines/node/upstream-tls.js';

/** Why a proxied request failed, as the client sees it. */
export interface UpstreamFailure {
  /**
   * 502 (reset, bad response), 504 (timeout) or 503 (the balancer's own resources ran out); the
   * client gets 503 too when no attempt could connect to any server.
   */
  readonly status: 502 | 503 | 504;
  /** Short cause for logs and passive health checks, e.g. "ECONNREFUSED". */
  readonly reason: string;
  /** How it failed as far as a retry is concerned (control/health/retry.ts decides from this). */
  readonly kind: FailureKind;
  /** Set for the balancer's own resource errors (EMFILE...): no server is blamed or retried. */
  readonly local?: string;
}

/** One row: status and retry kind, and the reason when it is not the code itself. */
interface Row {
  readonly status: 502 | 504;
  readonly kind: FailureKind;
  readonly reason?: string;
}

const CONNECT: Row = { status: 502, kind: 'connect' };

/** Error code -> status, reason, retry kind. Codes not listed: 502, reason from the code, kind "reset". */
export const UPSTREAM_ERRORS: ReadonlyMap<string, Row> = new Map<string, Row>([
  // undici raises these only for requests on a pool we destroyed (shutdown) or closed (reload).
  ['UND_ERR_DESTROYED', { status: 502, kind: 'cut', reason: 'cut by the balancer' }],
  ['UND_ERR_CLOSED', { status: 502, kind: 'cut', reason: 'cut by the balancer' }],
  ['UND_ERR_CONNECT_TIMEOUT', { status: 504, kind: 'connect', reason: 'connect timeout' }],
  ['UND_ERR_HEADERS_TIMEOUT', { status: 504, kind: 'timeout', reason: 'response headers timeout' }],
  ['UND_ERR_BODY_TIMEOUT', { status: 504, kind: 'reset', reason: 'response body idle timeout' }],
  // The backend never accepted the connection: nothing was sent.
  ['ECONNREFUSED', CONNECT],
  ['EHOSTUNREACH', CONNECT],
  ['ENETUNREACH', CONNECT],
  ['EHOSTDOWN', CONNECT],
  ['ENOTFOUND', CONNECT],
  ['EAI_AGAIN', CONNECT],
  ['EADDRNOTAVAIL', CONNECT],
]);

// TLS handshake and certificate failures happen before the request is sent.
const TLS_CODE = /^ERR_TLS|^ERR_SSL_|CERT|SELF_SIGNED|UNABLE_TO_VERIFY/;

/** The row of `code`: listed, or a TLS failure (connect), or undefined. */
function rowOf(code: string): Row | undefined {
  return UPSTREAM_ERRORS.get(code) ?? (TLS_CODE.test(code) ? CONNECT : undefined);
}

/** The first error code along `err` and its causes (undici wraps socket errors: UND_ERR_SOCKET with the system error as `cause`). */
function codesOf(err: unknown): string[] {
  const codes: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== null && typeof e === 'object' && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
    e = (e as { cause?: unknown }).cause;
  }
  return codes;
}

/** What the engine knows about the failed attempt besides the error. */
export interface AttemptFacts {
  /** Any response byte (status line included) arrived from the backend. */
  readonly responseStarted: boolean;
  /** The connection to the backend was established; leave undefined when unknown (the error code decides). */
  readonly connected?: boolean;
}

/**
 * How an attempt failed, for retries: after a response byte always "response"; otherwise from the
 * first error code (its own, else its cause's) per the table. Unknown errors count as "reset": only
 * idempotent requests are retried after them. ETIMEDOUT is not trusted to mean "never connected";
 * pass `connected: false` when you know.
 */
export function failureKind(err: unknown, facts: AttemptFacts): FailureKind {
  if (facts.responseStarted) return 'response';
  if (facts.connected === false) return 'connect';
  const code = codesOf(err)[0];
  if (code === undefined) return 'reset';
  const kind = rowOf(code)?.kind ?? 'reset';
  return kind === 'cut' ? 'reset' : kind;
}

/**
 * Classifies an error from undici or a socket once, for everyone: the status the client gets,
 * the reason logs and health checks see, and the kind retries are decided on.
 */
export function classifyUpstreamError(err: Error, responseStarted = false): UpstreamFailure {
  const codes = codesOf(err);
  const top = codes[0] ?? err.name;
  const row = rowOf(top);
  if (row?.kind === 'cut') return { status: row.status, reason: row.reason ?? top, kind: 'cut' };
  // Our own resources ran out (EMFILE...): not the server's doing.
  const local = localResourceCode(err);
  if (local !== undefined) return { status: 503, reason: `balancer ${local}`, kind: failureKind(err, { responseStarted }), local };
  // Unlisted codes (UND_ERR_SOCKET...) are named by the system error they wrap, when there is one.
  const reason = tlsFailureReason(err) ?? row?.reason ?? (row !== undefined ? top : (codes[1] ?? top ?? 'upstream error'));
  return { status: row?.status ?? 502, reason, kind: failureKind(err, { responseStarted }) };
}
