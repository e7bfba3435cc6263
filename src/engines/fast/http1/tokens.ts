// Byte classes of RFC 9110/9112 as lookup tables, so the parsers test one byte with one load.

function table(pred: (c: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = pred(c) ? 1 : 0;
  return t;
}

const isAlpha = (c: number): boolean => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;

/** tchar (RFC 9110 5.6.2): the bytes of a method, a field name, a transfer coding. */
export const TCHAR = table((c) => isAlpha(c) || isDigit(c) || "!#$%&'*+-.^_`|~".includes(String.fromCharCode(c)));

/** field-vchar, SP, HTAB (RFC 9110 5.5): what a field value may hold; obs-text (0x80-0xFF) included. */
export const FIELD_VALUE = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f));

/** Bytes of a request-target: VCHAR only (a URI is ASCII; llhttp and so the node engine refuse obs-text too). */
export const TARGET = table((c) => c > 0x20 && c < 0x7f);

/** qdtext of a quoted-string (RFC 9110 5.6.4): HTAB, SP, VCHAR except `"` and `\`, obs-text. */
export const QDTEXT = table((c) => c === 0x09 || (c >= 0x20 && c !== 0x7f && c !== 0x22 && c !== 0x5c));

/** reg-name / IPv4 bytes of a Host (RFC 3986): unreserved, pct-encoded ('%'), sub-delims. */
export const REG_NAME = table((c) => isAlpha(c) || isDigit(c) || "-._~%!$&'()*+,;=".includes(String.fromCharCode(c)));

/** Bytes inside an IP-literal's brackets: hex digits, ':', '.', and IPvFuture's unreserved/sub-delims. */
export const IP_LITERAL = table((c) => isAlpha(c) || isDigit(c) || ":.-_~!$&'()*+,;=".includes(String.fromCharCode(c)));

/** Hex digit values; 255 for a byte that is not a hex digit. */
export const HEX = (() => {
  const t = new Uint8Array(256).fill(255);
  for (let c = 0; c < 256; c++) {
    if (isDigit(c)) t[c] = c - 0x30;
    else if (c >= 0x41 && c <= 0x46) t[c] = c - 0x41 + 10;
    else if (c >= 0x61 && c <= 0x66) t[c] = c - 0x61 + 10;
  }
  return t;
})();

/** CR. */
export const CR = 0x0d;
/** LF. */
export const LF = 0x0a;
/** SP. */
export const SP = 0x20;
/** HTAB. */
export const HTAB = 0x09;

/** True when b[s..e) equals `lower` ignoring ASCII case; `lower` holds only lowercase letters, digits and '-'. */
export function equalsLower(b: Buffer, s: number, e: number, lower: string): boolean {
  if (e - s !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    if ((b[s + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** Field names the parsers act on, by number (0: any other field). */
export const enum Field {
  Other = 0,
  Host = 1,
  ContentLength = 2,
  TransferEncoding = 3,
  Connection = 4,
  Upgrade = 5,
  Expect = 6,
}

/** Which of the fields the parsers act on b[s..e) names (case-insensitive), by length first so most names cost one compare. */
export function fieldOf(b: Buffer, s: number, e: number): Field {
  switch (e - s) {
    case 4:
      return equalsLower(b, s, e, 'host') ? Field.Host : Field.Other;
    case 6:
      return equalsLower(b, s, e, 'expect') ? Field.Expect : Field.Other;
    case 7:
      return equalsLower(b, s, e, 'upgrade') ? Field.Upgrade : Field.Other;
    case 10:
      return equalsLower(b, s, e, 'connection') ? Field.Connection : Field.Other;
    case 14:
      return equalsLower(b, s, e, 'content-length') ? Field.ContentLength : Field.Other;
    case 17:
      return equalsLower(b, s, e, 'transfer-encoding') ? Field.TransferEncoding : Field.Other;
    default:
      return Field.Other;
  }
}

/** Connection option bits found in a Connection value. */
export const enum ConnOpt {
  Close = 1,
  KeepAlive = 2,
  Upgrade = 4,
}

/** The close / keep-alive / upgrade options in the comma list b[s..e): whole elements only, OWS trimmed (other options ignored). */
export function connectionOptions(b: Buffer, s: number, e: number): number {
  let bits = 0;
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === SP || b[i] === HTAB)) i++;
    const ts = i;
    while (i < e && b[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && (b[te - 1] === SP || b[te - 1] === HTAB)) te--;
    const n = te - ts;
    if (n === 5 && equalsLower(b, ts, te, 'close')) bits |= ConnOpt.Close;
    else if (n === 10 && equalsLower(b, ts, te, 'keep-alive')) bits |= ConnOpt.KeepAlive;
    else if (n === 7 && equalsLower(b, ts, te, 'upgrade')) bits |= ConnOpt.Upgrade;
    i++;
  }
  return bits;
}

const MAX_SAFE_DIV10 = Math.floor(Number.MAX_SAFE_INTEGER / 10);

/** A Content-Length value b[s..e) as a number: 1*DIGIT up to 2^53 - 1, else -1. */
export function parseDecimal(b: Buffer, s: number, e: number): number {
  if (s === e) return -1;
  let n = 0;
  for (let i = s; i < e; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    if (n > MAX_SAFE_DIV10) return -1;
    n = n * 10 + d;
    if (n > Number.MAX_SAFE_INTEGER) return -1;
  }
  return n;
}

/** Whether b[s..e) is a valid Host value: uri-host [":" port], uri-host an IP-literal or reg-name (may be empty). */
export function validHost(b: Buffer, s: number, e: number): boolean {
  let i = s;
  if (i < e && b[i] === 0x5b) {
    i++;
    const ls = i;
    while (i < e && IP_LITERAL[b[i]!] === 1) i++;
    if (i === ls || i >= e || b[i] !== 0x5d) return false;
    i++;
  } else {
    while (i < e && REG_NAME[b[i]!] === 1) i++;
  }
  if (i === e) return true;
  if (b[i] !== 0x3a) return false;
  for (i++; i < e; i++) if (b[i]! < 0x30 || b[i]! > 0x39) return false;
  return true;
}

interface Latin1Sliceable {
  latin1Slice(start: number, end: number): string;
}

/** b[s..e) as a latin1 string (one byte, one char: what llhttp/node:http give), skipping toString's encoding dispatch. */
export function latin1(b: Buffer, s: number, e: number): string {
  return (b as unknown as Latin1Sliceable).latin1Slice(s, e);
}
