// One field line (header or trailer) checked byte by byte against RFC 9112 section 5, strictly:
// no obs-fold, no whitespace before the colon, no CTL/NUL, no bare CR, CRLF line ends only.

import { HttpParseError } from './parse-error.js';
import { CR, FIELD_VALUE, HTAB, SP, TCHAR } from './tokens.js';

/** The bounds of the last field line checked: name b[ns..ne), value b[vs..ve) (OWS trimmed). */
export class FieldBounds {
  /** Name start. */
  ns = 0;
  /** Name end. */
  ne = 0;
  /** Value start. */
  vs = 0;
  /** Value end. */
  ve = 0;
}

/** Throws the error for a line b[s..e] (e = its LF) that does not end in CRLF. */
export function checkCrlf(b: Buffer, s: number, e: number, status: number): void {
  if (e === s || b[e - 1] !== CR) throw new HttpParseError(status, 'E_HTTP_BARE_LF', 'line ended by LF without CR');
}

/** The error for a byte c that may not stand where it was found. */
export function badByte(c: number, status: number, where: string): HttpParseError {
  if (c === CR) return new HttpParseError(status, 'E_HTTP_BARE_CR', `CR not followed by LF in ${where}`);
  return new HttpParseError(status, 'E_HTTP_BAD_CHAR', `byte 0x${c.toString(16).padStart(2, '0')} not allowed in ${where}`);
}

/** Checks the field line b[s..e) (e = index of its LF, CR before it already checked, line not empty) and fills out. */
export function parseFieldLine(b: Buffer, s: number, e: number, status: number, out: FieldBounds): void {
  const ce = e - 1;
  let c = b[s]!;
  if (c === SP || c === HTAB) throw new HttpParseError(status, 'E_HTTP_OBS_FOLD', 'field line starts with whitespace (obs-fold)');
  let i = s;
  while (i < ce && TCHAR[b[i]!] === 1) i++;
  if (i === ce) throw new HttpParseError(status, 'E_HTTP_BAD_HEADER', 'field line without a colon');
  c = b[i]!;
  if (c !== 0x3a) {
    if (c === SP || c === HTAB) throw new HttpParseError(status, 'E_HTTP_HEADER_SPACE', 'whitespace between field name and colon');
    throw badByte(c, status, 'a field name');
  }
  if (i === s) throw new HttpParseError(status, 'E_HTTP_BAD_HEADER', 'empty field name');
  out.ns = s;
  out.ne = i;
  i++;
  while (i < ce && (b[i] === SP || b[i] === HTAB)) i++;
  const vs = i;
  for (; i < ce; i++) {
    c = b[i]!;
    if (FIELD_VALUE[c] !== 1) throw badByte(c, status, 'a field value');
  }
  let ve = ce;
  while (ve > vs && (b[ve - 1] === SP || b[ve - 1] === HTAB)) ve--;
  out.vs = vs;
  out.ve = ve;
}
