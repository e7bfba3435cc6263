import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AcmeConfig } from '../../config/acme.js';
import { systemClock, type Clock, type TimerHandle } from '../../util/clock.js';
import type { LogSink } from '../../util/logger.js';
import { Http01Challenges } from './challenges.js';
import { AcmeSetupError } from './errors.js';
import { orderCertificate, trustForDirectory, type OrderRequest } from './client.js';
import { StorageLock, DEFAULT_LOCK_STALE_MS, type LockHolder } from './lock.js';
import type { CertificateNotice } from './notice.js';
import { backoffMs, MAX_TIMER_MS, NOTIFY_AFTER_FAILURES, renewalTime, warningTime } from './renewal.js';
import { CertificateStorage, describeCertificate, isCertificate, newPrivateKey, type StoredCertificate } from './storage.js';

/** How a certificate came to be served. */
export type CertificateSource = 'storage' | 'ordered' | 'renewed' | 'peer';

/** A certificate to serve from now on (the listener swaps it in without a restart). */
export interface IssuedCertificate extends StoredCertificate {
  /** `storage`: found at start; `ordered`: first one; `renewed`: replaces one; `peer`: stored by another balancer. */
  readonly source: CertificateSource;
}

/** One domain's state, for the admin API and tests. */
export interface AcmeDomainStatus {
  readonly domain: string;
  /** Serial and end of the certificate being served; undefined before the first one. */
  readonly serial?: string;
  readonly notAfter?: number;
  /** When renewal is due, epoch ms. */
  readonly renewAt?: number;
  /** Consecutive failed attempts. */
  readonly failures: number;
  readonly lastError?: string;
  /** When the next attempt or check runs, epoch ms; undefined while one runs. */
  readonly nextAt?: number;
  /** True while this instance orders (or waits on another's lock). */
  readonly busy: boolean;
}

/** What the manager needs. */
export interface AcmeManagerOptions {
  readonly config: AcmeConfig;
  readonly log: LogSink;
  /** Receives every certificate to serve: from storage at start, ordered, renewed, or a peer's. */
  readonly onCertificate: (c: IssuedCertificate) => void;
  /** Receives notices for the notifiers (renewal failing repeatedly, close to expiry). */
  readonly notify?: (n: CertificateNotice) => void;
  /** Injected in tests; the real clock otherwise. Certificate times are compared with `epoch()`. */
  readonly clock?: Clock;
  /** Key authorizations for the HTTP listener (default: in memory and in the storage folder). */
  readonly challenges?: Http01Challenges;
  /** How often an instance waiting on another's lock looks again (default 5 s). */
  readonly lockPollMs?: number;
  /** Age of a lock considered abandoned (default 10 min). */
  readonly lockStaleMs?: number;
  /** First poll interval while the CA validates or issues (tests: short; default 1 s). */
  readonly orderPollMs?: number;
  /** The order itself (default: acme-client against `config.directory`). */
  readonly order?: (r: OrderRequest) => Promise<string>;
}

/** Default poll interval of an instance waiting for another's order. */
export const DEFAULT_LOCK_POLL_MS = 5000;
/** How often the lock holder rewrites the lock's time while it orders. */
const LOCK_REFRESH_MS = 60_000;

interface Domain {
  readonly name: string;
  readonly lock: StorageLock;
  current: StoredCertificate | undefined;
  failures: number;
  lastError: string | undefined;
  timer: TimerHandle | undefined;
  nextAt: number | undefined;
  /** The renewal or retry time the timer is heading for, epoch ms. */
  dueAt: number;
  busy: Promise<void> | undefined;
  /** Serial of the certificate whose expiry warning was sent. */
  warnedSerial: string | undefined;
  /** True once this failing streak was notified. */
  failingNotified: boolean;
  /** Holder last reported as in the way, so a long wait is logged once. */
  waitingOn: string | undefined;
}

/**
 * Gets and renews certificates from an ACME CA for the configured domains, one certificate per
 * domain: loads valid ones from storage at start (no order then), orders missing ones, renews
 * when a third of the lifetime remains, retries failures with exponential backoff (1 min doubling
 * to 1 h), notifies when renewal fails repeatedly or a certificate nears expiry, and hands every
 * new certificate to `onCertificate`. A lock file in storage lets one of several balancers
 * sharing the folder order while the others wait and pick the result up.
 */
export class AcmeManager {
  /** Key authorizations to serve on the HTTP listener (`/.well-known/acme-challenge/<token>`). */
  readonly challenges: Http01Challenges;
  private readonly storage: CertificateStorage;
  private readonly clock: Clock;
  private readonly log: LogSink;
  private readonly domains: Domain[];
  private readonly order: (r: OrderRequest) => Promise<string>;
  private stopped = false;

  /** Creates the manager; nothing happens until start(). */
  constructor(private readonly o: AcmeManagerOptions) {
    this.clock = o.clock ?? systemClock;
    this.log = o.log;
    this.storage = new CertificateStorage(o.config.storage);
    this.challenges = o.challenges ?? new Http01Challenges(o.config.storage);
    this.order = o.order ?? orderCertificate;
    const staleMs = o.lockStaleMs ?? DEFAULT_LOCK_STALE_MS;
    this.domains = o.config.domains.map((name) => ({
      name,
      lock: new StorageLock(join(this.storage.dir(name), 'lock'), this.clock, staleMs),
      current: undefined,
      failures: 0,
      lastError: undefined,
      timer: undefined,
      nextAt: undefined,
      dueAt: 0,
      busy: undefined,
      warnedSerial: undefined,
      failingNotified: false,
      waitingOn: undefined,
    }));
  }

  /**
   * Prepares storage (throws AcmeSetupError when the folder or the `ca` file cannot be used),
   * hands over every valid stored certificate, and schedules what is missing or due.
   * Returns without waiting for any order.
   */
  start(): void {
    const { ca, storage, directory } = this.o.config;
    if (ca !== undefined) {
      try {
        trustForDirectory(directory, readFileSync(ca, 'utf8'));
      } catch (e) {
        throw new AcmeSetupError('tls.acme.ca', `${JSON.stringify(ca)} cannot be used: ${errorText(e)}`);
      }
    }
    try {
      for (const d of this.domains) this.storage.prepare(d.name);
    } catch (e) {
      throw new AcmeSetupError('tls.acme.storage', `${JSON.stringify(storage)} cannot be used: ${errorText(e)}`);
    }
    for (const d of this.domains) {
      const stored = this.storage.read(d.name);
      const now = this.clock.epoch();
      if (stored !== undefined && !isCertificate(stored)) {
        this.log.warn({ domain: d.name, storage: this.storage.dir(d.name), problem: stored.problem }, `stored certificate for ${d.name} cannot be used (${stored.problem}); ordering a new one`);
      } else if (stored !== undefined && !stored.covers) {
        this.log.warn({ domain: d.name, storage: this.storage.dir(d.name) }, `stored certificate for ${d.name} is not valid for that name; ordering a new one`);
      } else if (stored !== undefined && stored.notAfter <= now) {
        this.log.warn({ domain: d.name, notAfter: iso(stored.notAfter) }, `stored certificate for ${d.name} expired on ${iso(stored.notAfter)}; ordering a new one`);
      } else if (stored !== undefined) {
        this.adopt(d, stored, 'storage');
        if (now < renewalTime(stored)) {
          this.log.info(
            { domain: d.name, serial: stored.serial, notAfter: iso(stored.notAfter), renewAt: iso(renewalTime(stored)) },
            `certificate for ${d.name} loaded from storage (valid until ${iso(stored.notAfter)}, renewal due ${iso(renewalTime(stored))}); no order needed`,
          );
          this.scheduleAt(d, renewalTime(stored));
          continue;
        }
        this.log.info({ domain: d.name, serial: stored.serial, notAfter: iso(stored.notAfter) }, `certificate for ${d.name} loaded from storage; it is due for renewal (valid until ${iso(stored.notAfter)}): renewing now`);
      }
      this.scheduleAt(d, now);
    }
  }

  /** Stops timers; resolves when attempts in flight have ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const d of this.domains) {
      if (d.timer !== undefined) this.clock.clearTimer(d.timer);
      d.timer = undefined;
    }
    await Promise.all(this.domains.map((d) => d.busy));
  }

  /** Each domain's state. */
  status(): AcmeDomainStatus[] {
    return this.domains.map((d) => ({
      domain: d.name,
      ...(d.current !== undefined ? { serial: d.current.serial, notAfter: d.current.notAfter, renewAt: renewalTime(d.current) } : {}),
      failures: d.failures,
      ...(d.lastError !== undefined ? { lastError: d.lastError } : {}),
      ...(d.nextAt !== undefined ? { nextAt: d.nextAt } : {}),
      busy: d.busy !== undefined,
    }));
  }

  // ---- Scheduling: long waits are cut into steps no timer overflows. ----

  private scheduleAt(d: Domain, at: number): void {
    if (this.stopped) return;
    if (d.timer !== undefined) this.clock.clearTimer(d.timer);
    d.dueAt = at;
    d.nextAt = at;
    const step = Math.min(Math.max(0, at - this.clock.epoch()), MAX_TIMER_MS);
    d.timer = this.clock.setTimer(() => this.wake(d), step);
  }

  private wake(d: Domain): void {
    d.timer = undefined;
    if (this.stopped) return;
    this.checkExpiry(d);
    if (this.clock.epoch() < d.dueAt) {
      this.scheduleAt(d, d.dueAt);
      return;
    }
    d.nextAt = undefined;
    d.busy = this.attempt(d).finally(() => {
      d.busy = undefined;
    });
  }

  // ---- One attempt: take the lock, look at storage again, order if still needed. ----

  private async attempt(d: Domain): Promise<void> {
    const got = d.lock.tryAcquire();
    if (!got.acquired) {
      this.waitForPeer(d, got.holder);
      return;
    }
    d.waitingOn = undefined;
    if (got.broke !== undefined) {
      const who = got.broke === 'unreadable' ? 'an unreadable lock' : `the lock of pid ${got.broke.pid} on ${got.broke.host} from ${iso(got.broke.time)}`;
      this.log.warn({ domain: d.name, lock: d.lock.path }, `broke a stale lock for ${d.name}: ${who}`);
    }
    const refresh = setInterval(() => d.lock.refresh(), LOCK_REFRESH_MS).unref();
    try {
      // Another balancer may have stored a fresh certificate while this one waited for the lock.
      if (this.pickUpPeer(d)) return;
      await this.orderFor(d);
    } finally {
      clearInterval(refresh);
      d.lock.release();
    }
  }

  private waitForPeer(d: Domain, holder: LockHolder | undefined): void {
    if (this.pickUpPeer(d)) return;
    const who = holder === undefined ? 'another balancer' : `pid ${holder.pid} on ${holder.host}`;
    if (d.waitingOn !== who) {
      d.waitingOn = who;
      this.log.info({ domain: d.name, lock: d.lock.path, holder }, `another balancer (${who}) holds the lock for ${d.name}: waiting for the certificate it orders`);
    }
    this.scheduleAt(d, this.clock.epoch() + (this.o.lockPollMs ?? DEFAULT_LOCK_POLL_MS));
  }

  // Adopts a certificate in storage that is newer than ours and not due; true when it did.
  private pickUpPeer(d: Domain): boolean {
    const stored = this.storage.read(d.name);
    if (!isCertificate(stored) || !stored.covers || stored.serial === d.current?.serial) return false;
    if (this.clock.epoch() >= renewalTime(stored)) return false;
    if (d.current !== undefined && stored.notAfter <= d.current.notAfter) return false;
    d.waitingOn = undefined;
    this.resetFailures(d);
    this.adopt(d, stored, 'peer');
    this.log.info(
      { domain: d.name, serial: stored.serial, notAfter: iso(stored.notAfter) },
      `picked up the certificate for ${d.name} stored by another balancer (valid until ${iso(stored.notAfter)})`,
    );
    this.scheduleAt(d, renewalTime(stored));
    return true;
  }

  private async orderFor(d: Domain): Promise<void> {
    const renewing = d.current !== undefined;
    const started = this.clock.now();
    this.log.info({ domain: d.name, directory: this.o.config.directory }, `${renewing ? 'renewing' : 'ordering'} a certificate for ${d.name} from ${this.o.config.directory} (HTTP-01)`);
    let issued: StoredCertificate;
    try {
      const accountKey = this.storage.accountKey(this.o.config.directory);
      const key = newPrivateKey();
      const chain = await this.order({ directory: this.o.config.directory, email: this.o.config.email, accountKey, domain: d.name, key, challenges: this.challenges, ...(this.o.orderPollMs !== undefined ? { pollMinMs: this.o.orderPollMs } : {}) });
      issued = describeCertificate(d.name, chain, key);
      if (!issued.covers) throw new Error(`the CA issued a certificate that is not valid for ${d.name}`);
      this.storage.write(issued);
    } catch (e) {
      this.failed(d, e);
      return;
    }
    const ms = Math.round(this.clock.now() - started);
    this.resetFailures(d);
    this.adopt(d, issued, renewing ? 'renewed' : 'ordered');
    this.log.info(
      { domain: d.name, serial: issued.serial, notAfter: iso(issued.notAfter), renewAt: iso(renewalTime(issued)), issuer: issued.issuer, ms, storage: this.storage.dir(d.name) },
      `${renewing ? 'renewed the' : 'obtained a'} certificate for ${d.name} in ${ms} ms (valid until ${iso(issued.notAfter)}, renewal due ${iso(renewalTime(issued))}); stored in ${this.storage.dir(d.name)}`,
    );
    this.scheduleAt(d, renewalTime(issued));
  }

  private failed(d: Domain, e: unknown): void {
    d.failures++;
    d.lastError = errorText(e);
    const wait = backoffMs(d.failures);
    const serving = d.current === undefined ? 'no certificate to serve for it yet' : `still serving the current one, valid until ${iso(d.current.notAfter)}`;
    this.log.error(
      { domain: d.name, error: d.lastError, failures: d.failures, retryInMs: wait },
      `could not get a certificate for ${d.name}: ${d.lastError} (failure ${d.failures} in a row; next attempt in ${minutes(wait)}; ${serving})`,
    );
    if (d.failures >= NOTIFY_AFTER_FAILURES && !d.failingNotified) {
      d.failingNotified = true;
      this.o.notify?.({
        kind: 'renewal-failing',
        domain: d.name,
        failures: d.failures,
        error: d.lastError,
        notAfter: d.current?.notAfter,
        time: this.clock.epoch(),
      });
    }
    this.checkExpiry(d);
    this.scheduleAt(d, this.clock.epoch() + wait);
  }

  private resetFailures(d: Domain): void {
    d.failures = 0;
    d.lastError = undefined;
    d.failingNotified = false;
  }

  private adopt(d: Domain, c: StoredCertificate, source: CertificateSource): void {
    d.current = c;
    try {
      this.o.onCertificate({ ...c, source });
    } catch (e) {
      this.log.error({ domain: d.name, error: errorText(e) }, `the listener refused the certificate for ${d.name}: ${errorText(e)}`);
    }
    this.checkExpiry(d);
  }

  // Warns once per certificate when it comes close to expiry (renewal should have replaced it).
  private checkExpiry(d: Domain): void {
    const c = d.current;
    if (c === undefined || d.warnedSerial === c.serial) return;
    const now = this.clock.epoch();
    if (now < warningTime(c)) return;
    d.warnedSerial = c.serial;
    const left = c.notAfter - now;
    const why = d.lastError === undefined ? 'renewal has not succeeded yet' : `renewal keeps failing: ${d.lastError}`;
    this.log.warn({ domain: d.name, notAfter: iso(c.notAfter), failures: d.failures }, `certificate for ${d.name} expires ${left > 0 ? `in ${minutes(left)}` : 'now'} (${iso(c.notAfter)}); ${why}`);
    this.o.notify?.({ kind: 'expiring', domain: d.name, failures: d.failures, error: d.lastError, notAfter: c.notAfter, time: now });
  }
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function minutes(ms: number): string {
  const m = ms / 60_000;
  if (m < 1) return `${Math.max(0, Math.round(ms / 1000))} s`;
  if (m < 120) return `${Math.round(m)} min`;
  if (m < 48 * 60) return `${Math.round(m / 60)} h`;
  return `${Math.round(m / 1440)} days`;
}

// acme-client's errors carry the CA's problem detail in the message; axios errors their code.
function errorText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    const msg = e.message.replace(/\s+/g, ' ').trim();
    return typeof code === 'string' && !msg.includes(code) ? `${code}: ${msg}` : msg;
  }
  return String(e);
}
