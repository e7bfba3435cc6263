import { close, open, openSync, write } from 'node:fs';

/** Options of a LineWriter. */
export interface LineWriterOptions {
  /** Characters waiting to be written beyond which new lines are dropped (default 1 MiB). */
  readonly maxPendingChars?: number;
  /**
   * Largest write. For standard output 4 KiB: a pipe takes a write of up to PIPE_BUF (4096) bytes
   * whole or not at all, so whole lines never interleave with the app log's on the same pipe.
   */
  readonly chunkChars?: number;
}

/** Default bound on what waits to be written. */
export const DEFAULT_MAX_PENDING_CHARS = 1024 * 1024;
// Backoff while the destination takes nothing (EAGAIN: a full pipe; or a failing write).
const FIRST_RETRY_MS = 5;
const MAX_RETRY_MS = 100;

/**
 * Appends lines to a file or to standard output without ever blocking the event loop: lines are
 * queued and written by asynchronous writes, one at a time, batched. When more than
 * `maxPendingChars` wait (a stalled pipe reader, a slow disk) new lines are dropped and counted
 * instead of buffered without limit. `reopen()` opens the path again (after logrotate renamed it).
 */
export class LineWriter {
  private fd: number;
  private pending: string[] = [];
  // Characters queued, the write in flight included (the bound covers both).
  private pendingChars = 0;
  private writing = false;
  private scheduled = false;
  private retryMs = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  // An fd replaced by reopen() while a write to it was in flight: closed when that write ends.
  private retiredFd: number | undefined;
  private closing: (() => void) | undefined;
  private closed = false;
  // A write syscall is in flight: its fd must not be closed (the number could be reused under it).
  private inFlight = false;
  private closeWhenIdle = false;
  private readonly maxPending: number;
  private readonly chunk: number;
  /** Lines dropped and not yet taken by `takeDropped()`. */
  private dropped = 0;
  /** Successful writes so far (a reader that takes lines again). */
  writes = 0;
  /** The error code of the last failed write since `takeDropped()` (EPIPE, ENOSPC...). */
  private lastError: string | undefined;

  /**
   * Opens `path` for appending ("-": standard output, fd 1). Throws the open error (ENOENT,
   * EACCES...), so a path that cannot be written is refused at start.
   */
  constructor(
    /** The file path, or "-". */
    readonly path: string,
    opts: LineWriterOptions = {},
  ) {
    this.fd = path === '-' ? 1 : openSync(path, 'a');
    this.maxPending = opts.maxPendingChars ?? DEFAULT_MAX_PENDING_CHARS;
    this.chunk = opts.chunkChars ?? (path === '-' ? 4096 : 64 * 1024);
  }

  /** Queues `line` (ending in "\n"); drops it when too much is waiting already. */
  write(line: string): void {
    if (this.closed || this.pendingChars + line.length > this.maxPending) {
      this.dropped++;
      return;
    }
    this.pending.push(line);
    this.pendingChars += line.length;
    if (!this.writing && !this.scheduled) {
      // Lines of one event-loop turn go out in one write.
      this.scheduled = true;
      setImmediate(this.flush);
    }
  }

  /** Lines dropped since the last call, and the last write error among them (if any). */
  takeDropped(): { count: number; error: string | undefined } {
    const r = { count: this.dropped, error: this.lastError };
    this.dropped = 0;
    this.lastError = undefined;
    return r;
  }

  /** Characters waiting to be written. */
  get waiting(): number {
    return this.pendingChars;
  }

  /**
   * Opens the path again and writes there from now on (logrotate renamed the file: the new one is
   * created). On failure the old file stays in use and the error is returned.
   */
  reopen(): Promise<NodeJS.ErrnoException | undefined> {
    if (this.path === '-' || this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      open(this.path, 'a', (err, fd) => {
        if (err !== null) return resolve(err);
        if (this.closed) {
          close(fd, () => undefined);
          return resolve(undefined);
        }
        const old = this.fd;
        this.fd = fd;
        if (this.writing) this.retiredFd = old;
        else close(old, () => undefined);
        resolve(undefined);
      });
    });
  }

  /**
   * Writes what is queued (waiting up to `deadlineMs`: a stalled reader cannot hold up an exit),
   * then closes the file; later lines are dropped.
   */
  close(deadlineMs = 1000): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => finish(), deadlineMs);
      timer.unref();
      const finish = (): void => {
        clearTimeout(timer);
        clearTimeout(this.retryTimer);
        this.closing = undefined;
        this.dropped += this.pending.length;
        this.pending = [];
        if (this.inFlight) this.closeWhenIdle = true;
        else this.closeFds();
        resolve();
      };
      if (this.pendingChars === 0) finish();
      else this.closing = finish;
    });
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    if (this.writing || this.pending.length === 0) return;
    let n = 0;
    let size = 0;
    const lines = this.pending;
    while (n < lines.length && (n === 0 || size + (lines[n] as string).length <= this.chunk)) size += (lines[n++] as string).length;
    const batch = n === lines.length ? lines : lines.slice(0, n);
    this.pending = n === lines.length ? [] : lines.slice(n);
    this.writing = true;
    this.send(Buffer.from(batch.join('')), n, size);
  };

  private closeFds(): void {
    if (this.fd !== 1) close(this.fd, () => undefined);
    if (this.retiredFd !== undefined) close(this.retiredFd, () => undefined);
    this.retiredFd = undefined;
  }

  private send(buf: Buffer, lines: number, chars: number): void {
    if (this.closed && this.closing === undefined) return; // closed at its deadline: the rest is dropped
    this.inFlight = true;
    write(this.fd, buf, 0, buf.length, null, (err, written) => {
      this.inFlight = false;
      if (this.closeWhenIdle) {
        this.closeWhenIdle = false;
        this.closeFds();
        return;
      }
      if (err !== null) {
        if (err.code !== 'EAGAIN') {
          // EPIPE (the reader left), ENOSPC...: these lines are lost; later ones may fare better.
          this.lastError = err.code ?? err.message;
          this.dropped += lines;
          this.done(chars, false);
          return;
        }
        // A full pipe: try again shortly (a timer, not a busy loop).
        this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs === 0 ? FIRST_RETRY_MS : this.retryMs * 2);
        this.retryTimer = setTimeout(() => this.send(buf, lines, chars), this.retryMs);
        return;
      }
      if (written < buf.length) {
        this.send(buf.subarray(written), lines, chars);
        return;
      }
      this.writes++;
      this.done(chars, true);
    });
  }

  private done(chars: number, ok: boolean): void {
    this.writing = false;
    this.pendingChars -= chars;
    if (this.retiredFd !== undefined) {
      close(this.retiredFd, () => undefined);
      this.retiredFd = undefined;
    }
    if (ok) this.retryMs = 0;
    if (this.pending.length === 0) {
      this.closing?.();
      return;
    }
    if (ok) this.flush();
    else {
      this.retryMs = Math.min(MAX_RETRY_MS, this.retryMs === 0 ? FIRST_RETRY_MS : this.retryMs * 2);
      this.retryTimer = setTimeout(this.flush, this.retryMs);
    }
  }
}
