import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Clock } from '../../util/clock.js';
import { KEY_MODE, writeFileAtomic } from './storage.js';

// A lock file in the shared storage folder, so that of several balancers sharing it one orders a
// certificate and the others pick the result up from storage (as Caddy's storage locks do).
// Taken by creating the file exclusively (O_EXCL); it holds who took it and when. A lock older
// than `staleMs`, or held by a process of this host that no longer runs, is stale and broken.
// The holder rewrites the time while it works, so a long order does not go stale.

/** Default age after which a lock is considered abandoned. */
export const DEFAULT_LOCK_STALE_MS = 10 * 60_000;

/** What a lock file says. */
export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** When taken or last refreshed, epoch ms. */
  readonly time: number;
  /** Random, so a holder never releases a lock someone else took after breaking its own. */
  readonly token: string;
}

/** Result of one try. */
export type LockAttempt =
  | { readonly acquired: true; /** Set when a stale lock was broken first. */ readonly broke?: LockHolder | 'unreadable' }
  | { readonly acquired: false; /** The current holder (undefined when the file could not be read). */ readonly holder: LockHolder | undefined };

/** One lock file. */
export class StorageLock {
  private token: string | undefined;

  /** A lock at `path` (not taken yet). */
  constructor(
    readonly path: string,
    private readonly clock: Clock,
    private readonly staleMs = DEFAULT_LOCK_STALE_MS,
  ) {}

  /** True while this object holds the lock. */
  get held(): boolean {
    return this.token !== undefined;
  }

  /** Tries once to take the lock, breaking it first when stale. Never waits. */
  tryAcquire(): LockAttempt {
    if (this.token !== undefined) return { acquired: true };
    if (this.create()) return { acquired: true };
    const holder = this.readHolder();
    if (holder !== undefined && !this.isStale(holder)) return { acquired: false, holder };
    // Stale (or unreadable: a crash while creating it; give it the same grace through its age).
    if (holder === undefined && !this.unreadableIsStale()) return { acquired: false, holder: undefined };
    rmSync(this.path, { force: true });
    return this.create() ? { acquired: true, broke: holder ?? 'unreadable' } : { acquired: false, holder: this.readHolder() };
  }

  /** Rewrites the lock's time (the holder calls it while working). */
  refresh(): void {
    if (this.token === undefined) return;
    const current = this.readHolder();
    if (current?.token !== this.token) {
      this.token = undefined; // broken by someone who thought it stale: it is theirs now
      return;
    }
    writeFileAtomic(this.path, this.content(this.token), KEY_MODE);
  }

  /** Releases the lock if it is still ours. */
  release(): void {
    if (this.token === undefined) return;
    if (this.readHolder()?.token === this.token) rmSync(this.path, { force: true });
    this.token = undefined;
  }

  /** Reads the holder from the file; undefined when absent or unreadable. */
  readHolder(): LockHolder | undefined {
    try {
      const v = JSON.parse(readFileSync(this.path, 'utf8')) as Partial<LockHolder>;
      if (typeof v.pid !== 'number' || typeof v.host !== 'string' || typeof v.time !== 'number' || typeof v.token !== 'string') return undefined;
      return { pid: v.pid, host: v.host, time: v.time, token: v.token };
    } catch {
      return undefined;
    }
  }

  /** True when the holder's lock is abandoned: too old, or its process is gone from this host. */
  isStale(h: LockHolder): boolean {
    if (this.clock.epoch() - h.time > this.staleMs) return true;
    return h.host === hostname() && h.pid !== process.pid && !processRuns(h.pid);
  }

  private create(): boolean {
    const token = randomBytes(8).toString('hex');
    try {
      writeFileSync(this.path, this.content(token), { flag: 'wx', mode: KEY_MODE });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    this.token = token;
    return true;
  }

  private content(token: string): string {
    const h: LockHolder = { pid: process.pid, host: hostname(), time: this.clock.epoch(), token };
    return `${JSON.stringify(h)}\n`;
  }

  // An unreadable lock (its writer died between creating and writing it) is judged by its age.
  private unreadableIsStale(): boolean {
    try {
      return this.clock.epoch() - statSync(this.path).mtimeMs > this.staleMs;
    } catch {
      return true; // gone already
    }
  }
}

function processRuns(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}
