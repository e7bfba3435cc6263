import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';

/** Errors are classified by the one table in control/upstream-errors.ts. */
export { classifyUpstreamError, type UpstreamFailure } from '../../control/upstream-errors.js';

/** Hears of each request the balancer answers itself with no server (metrics); one per process. */
export type SelfAnsweredHook = (method: string | undefined, status: number) => void;
let selfAnswered: SelfAnsweredHook | undefined;

/** Sets (or clears) the hook that hears of requests answered by sendError and endSocketWithError. */
export function onSelfAnswered(hook: SelfAnsweredHook | undefined): void {
  selfAnswered = hook;
}

/** Sends a short plain-text error reply with no server involved (counted as such), unless a response has already started. */
export function sendError(res: ServerResponse, status: number, detail: string, retryAfterSeconds?: number): void {
  if (!res.headersSent && !res.destroyed) selfAnswered?.(res.req?.method, status);
  sendUpstreamError(res, status, detail, retryAfterSeconds);
}

/** Like sendError, for an answer on behalf of a server that failed (the exchange counts it under that server). */
export function sendUpstreamError(res: ServerResponse, status: number, detail: string, retryAfterSeconds?: number): void {
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${detail}\n`;
  // Set apart, so res.getHeader() reads it back (the access log's byte count); writeHead's own headers are not kept.
  res.setHeader('content-length', Buffer.byteLength(body));
  const headers: Record<string, string | number> = {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
  };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = retryAfterSeconds;
  res.writeHead(status, headers);
  res.end(body);
}

/**
 * Answers on a raw socket (no ServerResponse: upgrades, CONNECT, unparsable requests) with a
 * short plain-text error and closes it; `headers` adds e.g. Retry-After or Allow. Counted as
 * answered with no server; `method` is the request's when one was parsed.
 */
export function endSocketWithError(socket: Duplex, status: number, detail = '', headers: Record<string, string | number> = {}, method?: string): void {
  if (socket.writable) selfAnswered?.(method, status);
  writeSocketError(socket, status, detail, headers);
}

/** Like endSocketWithError, for an upgrade a server failed (not counted as answered with no server). */
export function writeSocketError(socket: Duplex, status: number, detail = '', headers: Record<string, string | number> = {}): void {
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
