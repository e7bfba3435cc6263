import { STATUS_CODES } from 'node:http';
import { connectionNamed } from './upstream-head.js';

/**
 * How a response body goes to the client:
 *  - NONE: no body (HEAD, 1xx, 204, 304);
 *  - PASS: the upstream's bytes as they are (Content-Length, or chunked to an HTTP/1.1 client,
 *    chunk framing and trailers included);
 *  - CHUNK: a close-delimited upstream body, chunked by us for a keep-alive HTTP/1.1 client;
 *  - DECHUNK: a chunked upstream body, de-chunked for an HTTP/1.0 client (close-delimited);
 *  - EOF: a close-delimited body passed as it is; the client connection closes after it.
 */
export const Framing = { NONE: 0, PASS: 1, CHUNK: 2, DECHUNK: 3, EOF: 4 } as const;
/** One of Framing's values. */
export type Framing = (typeof Framing)[keyof typeof Framing];

// Response headers never passed to the client: hop-by-hop (RFC 9110 §7.6.1) and the legacy
// Proxy-Connection. Transfer-Encoding and Content-Length are set by the framing.
const DROPPED = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade', 'trailer']);
const LOOKED_AT = new Uint8Array(128);
for (const c of 'cktpuCKTPU') LOOKED_AT[c.charCodeAt(0)] = 1;

/**
 * The response head for the client as one string: the status line, the upstream's headers minus
 * hop-by-hop ones, and the framing headers. `passChunked`: chunked pass-through (Trailer is kept,
 * since the trailers go through too). `close`: the connection closes after this response.
 * `keepAlive10`: an HTTP/1.0 client asked for keep-alive and gets it.
 */
export function clientHead(
  status: number,
  reason: string,
  raw: readonly string[],
  framing: Framing,
  passChunked: boolean,
  close: boolean,
  keepAlive10: boolean,
): string {
  const named = connectionNamed(raw);
  // A close-delimited or re-framed body has no Content-Length of its own to pass.
  const dropLength = framing === Framing.CHUNK || framing === Framing.DECHUNK || (framing === Framing.PASS && passChunked);
  let out = `HTTP/1.1 ${status} ${reason === '' ? (STATUS_CODES[status] ?? '') : reason}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const n = name.length;
    // Only names of these lengths can be dropped (connection, keep-alive, te, upgrade, trailer,
    // proxy-connection, transfer-encoding, content-length): others are not lower-cased at all.
    if (named !== undefined || (LOOKED_AT[name.charCodeAt(0)] === 1 && (n === 10 || n === 2 || n === 7 || n === 16 || n === 17 || (dropLength && n === 14)))) {
      const lower = name.toLowerCase();
      if (DROPPED.has(lower)) {
        if (!(lower === 'trailer' && passChunked)) continue;
      } else if (named !== undefined && named.has(lower)) continue;
      else if (dropLength && lower === 'content-length') continue;
    }
    out += `${name}: ${raw[i + 1]}\r\n`;
  }
  if (framing === Framing.CHUNK || (framing === Framing.PASS && passChunked)) out += 'transfer-encoding: chunked\r\n';
  if (close) out += 'connection: close\r\n';
  else if (keepAlive10) out += 'connection: keep-alive\r\n';
  return `${out}\r\n`;
}

/** An interim (1xx) response head for an HTTP/1.1 client, hop-by-hop headers dropped. */
export function interimHead(status: number, reason: string, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${status} ${reason === '' ? (STATUS_CODES[status] ?? '') : reason}\r\n`;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (LOOKED_AT[name.charCodeAt(0)] === 1 && DROPPED.has(name.toLowerCase())) continue;
    out += `${name}: ${raw[i + 1]}\r\n`;
  }
  return `${out}\r\n`;
}

/** A 101 head for the client, as the server sent it (Connection and Upgrade kept). */
export function switchingHead(status: number, reason: string, raw: readonly string[]): string {
  let out = `HTTP/1.1 ${status} ${reason === '' ? (STATUS_CODES[status] ?? '') : reason}\r\n`;
  for (let i = 0; i < raw.length; i += 2) out += `${raw[i]}: ${raw[i + 1]}\r\n`;
  return `${out}\r\n`;
}

/** A short plain-text answer of the balancer's own (error statuses), as node's sendUpstreamError writes it. */
export function errorAnswer(status: number, detail: string, close: boolean, retryAfterSeconds?: number): { head: string; body: string } {
  const body = `${status} ${STATUS_CODES[status] ?? 'Error'}: ${detail}\n`;
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\ncontent-type: text/plain; charset=utf-8\r\ncache-control: no-store\r\n`;
  if (retryAfterSeconds !== undefined) head += `retry-after: ${retryAfterSeconds}\r\n`;
  head += `content-length: ${Buffer.byteLength(body)}\r\n`;
  head += close ? 'connection: close\r\n\r\n' : 'connection: keep-alive\r\n\r\n';
  return { head, body };
}
