import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { failureKind, type FailureKind } from '../health/retry.js';
import { localResourceCode } from './local-errors.js';

/** Why a proxied request failed, as the client sees it. */
export interface UpstreamFailure {
  /**
   * 502 (reset, bad response), 504 (timeout) or 503 (the balancer's own resources ran out); the
   * client gets 503 too when no attempt could connect to any server.
   */
  readonly status: 502 | 503 | 504;
  /** Short cause for logs and passive health checks, e.g. "ECONNREFUSED". */
  readonly reason: string;
  /** How it failed as far as a retry is concerned (health/retry.ts decides from this). */
  readonly kind: FailureKind;
  /** Set for the balancer's own resource errors (EMFILE...): no server is blamed or retried. */
  readonly local?: string;
}

/**
 * Classifies an error from undici or a socket once, for everyone: the status the client gets,
 * the reason logs and health checks see, and the kind retries are decided on.
 */
export function classifyUpstreamError(err: Error, responseStarted = false): UpstreamFailure {
  const code = (err as NodeJS.ErrnoException).code;
  // undici raises these only for requests on a pool we destroyed (shutdown) or closed (reload).
  if (code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED') return { status: 502, reason: 'cut by the balancer', kind: 'cut' };
  const local = localResourceCode(err);
  if (local !== undefined) return { status: 503, reason: `balancer ${local}`, kind: failureKind(err, { responseStarted }), local };
  const { status, reason } = statusAndReason(err);
  return { status, reason, kind: failureKind(err, { responseStarted }) };
}

function statusAndReason(err: Error): { status: 502 | 504; reason: string } {
  const code = (err as NodeJS.ErrnoException).code ?? err.name;
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { status: 504, reason: 'connect timeout' };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { status: 504, reason: 'response headers timeout' };
    case 'UND_ERR_BODY_TIMEOUT':
      return { status: 504, reason: 'response body idle timeout' };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { status: 502, reason: code };
    default: {
      // undici wraps socket errors (UND_ERR_SOCKET) with the system error as `cause`.
      const cause = (err as { cause?: unknown }).cause;
      const causeCode = cause instanceof Error ? (cause as NodeJS.ErrnoException).code : undefined;
      return { status: 502, reason: causeCode ?? code ?? 'upstream error' };
    }
  }
}

/** Sends a short plain-text error reply, unless a response has already started. */
export function sendError(res: ServerResponse, status: number, detail: string, retryAfterSeconds?: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${detail}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds;
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * Answers on a raw socket (no ServerResponse: upgrades, CONNECT, unparsable requests) with a
 * short plain-text error and closes it; `headers` adds e.g. Retry-After or Allow.
 */
export function endSocketWithError(socket: Duplex, status: number, detail = '', headers: Record<string, string | number> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = detail === '' ? '' : `${status} ${STATUS_CODES[status] ?? 'Error'}: ${detail}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n`;
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  if (body !== '') head += 'content-type: text/plain; charset=utf-8\r\n';
  socket.end(`${head}content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
}
