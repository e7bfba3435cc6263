import type { ServerResponse } from 'node:http';
import { failureKind, type FailureKind } from '../health/retry.js';

/** Why a proxied request failed, as the client sees it. */
export interface UpstreamFailure {
  /** 502 (refused, reset, bad response) or 504 (timeout). */
  readonly status: 502 | 504;
  /** Short cause for logs and passive health checks, e.g. "ECONNREFUSED". */
  readonly reason: string;
  /** How it failed as far as a retry is concerned (health/retry.ts decides from this). */
  readonly kind: FailureKind;
}

/**
 * Classifies an error from undici or a socket once, for everyone: the status the client gets,
 * the reason logs and health checks see, and the kind retries are decided on.
 */
export function classifyUpstreamError(err: Error, responseStarted = false): UpstreamFailure {
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

const TEXT: Record<number, string> = {
  400: 'Bad Request',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Sends a short plain-text error reply, unless a response has already started. */
export function sendError(res: ServerResponse, status: number, detail: string, retryAfterSeconds?: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${status} ${TEXT[status] ?? 'Error'}: ${detail}\n`;
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds;
  res.writeHead(status, headers);
  res.end(body);
}
