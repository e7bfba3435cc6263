// Finds CRLF-terminated head lines across execute() calls. A line that is whole in the input is
// read in place; only a line split across inputs is copied, into a stash that grows to the head
// limit at most, and every input byte is searched once (memchr), so 1-byte pieces cost O(n).

import { CR, latin1, LF } from './tokens.js';

const CRLF2 = Buffer.from('\r\n\r\n');

/** Where the last line found lies: lb[ls..le), le the index of its LF. */
export class LineReader {
  /** The buffer holding the line (the input, or the stash for a split line). */
  lb: Buffer = EMPTY;
  /** Start of the line in lb. */
  ls = 0;
  /** Index of the line's LF in lb. */
  le = 0;
  private stash: Buffer | null = null;
  private stashLen = 0;

  /** True when the unfinished line holds a CR followed by something other than LF (a bare CR, known before the line ends). */
  bareCr = false;

  /** Bytes of an unfinished line kept so far (0: at a line start). */
  get pending(): number {
    return this.stashLen;
  }

  // The head as one string, when it is whole in one input: one latin1 conversion per head, then
  // substrings and string searches, instead of a native call per line and per name and value.
  private hs = '';
  private hsBuf: Buffer | null = null;
  private hsBase = 0;
  private hsEnd = 0;

  /** At the start of a head at buf[pos]: when the head (up to CRLFCRLF, at most maxBytes) is whole in buf, reads it as one string for next() and str(). */
  prime(buf: Buffer, pos: number, maxBytes: number): void {
    this.hsBuf = null;
    if (this.stashLen !== 0) return;
    const h = buf.indexOf(CRLF2, pos);
    if (h < 0 || h + 4 - pos > maxBytes) return;
    this.hs = latin1(buf, pos, h + 4);
    this.hsBuf = buf;
    this.hsBase = pos;
    this.hsEnd = h + 4;
  }

  /** Drops the head string (the head is parsed). */
  unprime(): void {
    this.hsBuf = null;
    this.hs = '';
  }

  /** b[s..e) as a latin1 string: a substring of the primed head when it lies there. */
  str(b: Buffer, s: number, e: number): string {
    if (b === this.hsBuf && s >= this.hsBase && e <= this.hsEnd) return this.hs.substring(s - this.hsBase, e - this.hsBase);
    return latin1(b, s, e);
  }

  /** Finds the line that starts at buf[pos] (or continues the stashed one); returns the index after its LF, or -1 when buf ends first (then the partial line is stashed). */
  next(buf: Buffer, pos: number): number {
    if (buf === this.hsBuf && pos >= this.hsBase && pos < this.hsEnd) {
      // Inside the primed head: its string ends in CRLFCRLF, so an LF is always found.
      const lf = this.hs.indexOf('\n', pos - this.hsBase) + this.hsBase;
      this.lb = buf;
      this.ls = pos;
      this.le = lf;
      return lf + 1;
    }
    const lf = buf.indexOf(LF, pos);
    if (lf < 0) {
      this.keep(buf, pos, buf.length);
      return -1;
    }
    if (this.stashLen === 0) {
      this.lb = buf;
      this.ls = pos;
      this.le = lf;
      return lf + 1;
    }
    this.keep(buf, pos, lf + 1);
    this.lb = this.stash!;
    this.ls = 0;
    this.le = this.stashLen - 1;
    this.stashLen = 0;
    this.bareCr = false;
    return lf + 1;
  }

  /** Forgets a partial line (the parser failed or was reset). */
  clear(): void {
    this.unprime();
    this.stashLen = 0;
    this.bareCr = false;
    this.lb = EMPTY;
  }

  private keep(buf: Buffer, s: number, e: number): void {
    const n = e - s;
    if (n === 0) return;
    // Only the new bytes are searched: a CR inside them, or the stash's last byte, followed by a non-LF.
    if (this.stashLen > 0 && this.stash![this.stashLen - 1] === CR && buf[s] !== LF) this.bareCr = true;
    const cr = buf.indexOf(CR, s);
    if (cr >= 0 && cr < e - 1 && buf[cr + 1] !== LF) this.bareCr = true;
    const need = this.stashLen + n;
    let st = this.stash;
    if (st === null || st.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(256, need * 2));
      if (st !== null && this.stashLen > 0) st.copy(grown, 0, 0, this.stashLen);
      st = this.stash = grown;
    }
    buf.copy(st, this.stashLen, s, e);
    this.stashLen = need;
  }
}

const EMPTY = Buffer.alloc(0);
