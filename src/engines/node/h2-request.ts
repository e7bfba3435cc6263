import type { IncomingMessage } from 'node:http';

/**
 * The authority an HTTP/2 request names (`:authority`), which goes upstream as its Host
 * (RFC 9113 §8.3.1: it takes the place of Host); undefined for HTTP/1.x requests.
 */
export function authorityOf(req: IncomingMessage): string | undefined {
  if (req.httpVersionMajor !== 2) return undefined;
  const a = req.headers[':authority'];
  return typeof a === 'string' && a !== '' ? a : undefined;
}

/**
 * True for an HTTP/2 request whose body is still to come: HTTP/2 frames bodies itself (no
 * Content-Length or Transfer-Encoding needed), and a request without one ends with its HEADERS.
 */
export function h2HasBody(req: IncomingMessage): boolean {
  if (req.httpVersionMajor !== 2) return false;
  const stream = (req as IncomingMessage & { stream?: { endAfterHeaders?: boolean } }).stream;
  return stream?.endAfterHeaders === false;
}
