// Transfer-Encoding lists: the one place that decides whether a body is chunked.

import { HttpParseError } from './parse-error.js';
import { equalsLower, HTAB, SP, TCHAR } from './tokens.js';

/** Kinds of Transfer-Encoding value. */
export const enum Te {
  /** Exactly `chunked`. */
  Chunked,
  /** Other codings, then one final `chunked` (e.g. `gzip, chunked`). */
  CodedChunked,
  /** No `chunked` at all (e.g. `gzip`, `identity`). */
  NotChunked,
  /** `chunked` not last, or more than once, or an empty list, or a byte outside token/OWS/comma (parameters included). */
  Invalid,
}

/** Classifies the Transfer-Encoding list b[s..e). */
export function classifyTe(b: Buffer, s: number, e: number): Te {
  let n = 0;
  let chunked = 0;
  let lastChunked = false;
  let i = s;
  while (i < e) {
    const ts = i;
    while (i < e && TCHAR[b[i]!] === 1) i++;
    if (i === ts) return Te.Invalid;
    n++;
    lastChunked = equalsLower(b, ts, i, 'chunked');
    if (lastChunked) chunked++;
    while (i < e && (b[i] === SP || b[i] === HTAB)) i++;
    if (i === e) break;
    if (b[i] !== 0x2c) return Te.Invalid;
    i++;
    while (i < e && (b[i] === SP || b[i] === HTAB)) i++;
    if (i === e) return Te.Invalid;
  }
  if (n === 0) return Te.Invalid;
  if (chunked === 0) return Te.NotChunked;
  if (chunked > 1 || !lastChunked) return Te.Invalid;
  return n === 1 ? Te.Chunked : Te.CodedChunked;
}

/** Throws unless a request's Transfer-Encoding b[s..e) is exactly `chunked`: 501 for codings we do not implement before a final chunked (RFC 9112 6.1), 400 for anything else (6.3: length cannot be determined). */
export function checkTransferEncoding(b: Buffer, s: number, e: number, status: number): void {
  const kind = classifyTe(b, s, e);
  if (kind === Te.Chunked) return;
  if (kind === Te.CodedChunked && status === 400) {
    throw new HttpParseError(501, 'E_HTTP_TE_NOT_IMPLEMENTED', 'transfer coding other than chunked not implemented');
  }
  throw new HttpParseError(status, 'E_HTTP_BAD_TE', 'Transfer-Encoding is not a single final chunked');
}
