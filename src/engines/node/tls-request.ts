// The request side of HTTPS and HTTP/2 (src/tls/ terminates TLS): what the forwarder reads off a
// request that came over TLS or HTTP/2.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sendError } from './errors.js';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** "https" for a request that came over TLS (HTTP/1.1 or HTTP/2), "http" otherwise. */
export function protoOf(socket: Socket): 'http' | 'https' {
  // HTTP/2 requests' sockets stand for their stream and read this off the connection's TLS socket.
  return (socket as TLSSocket).encrypted === true ? 'https' : 'http';
}

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

/** Answers an HTTP/2 CONNECT 405 (a reverse proxy opens no tunnels), as HTTP/1.1 CONNECT is. */
export function refuseH2Connect(res: ServerResponse, allow: string): void {
  res.setHeader('allow', allow);
  sendError(res, 405, 'CONNECT is not supported');
}
