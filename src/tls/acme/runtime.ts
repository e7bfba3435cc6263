import type { AcmeConfig } from '../../config/acme.js';
import { ConfigError, type Config } from '../../config/load.js';
import type { HealthEvents } from '../../control/health/events.js';
import type { EngineHooks } from '../../engines/engine.js';
import type { LogSink } from '../../util/logger.js';
import { CertificateSet, type PemPair } from '../certificates.js';
import type { TlsTerminator } from '../terminator.js';
import type { Http01Challenges } from './challenges.js';
import { AcmeSetupError } from './errors.js';
import { AcmeManager, type IssuedCertificate } from './manager.js';
import { certificateEvent, type Counts } from './notice.js';

/** What the CLI gives the ACME runtime. */
export interface AcmeRuntimeOptions {
  readonly config: AcmeConfig;
  /** The config file, for messages. */
  readonly file: string;
  /** The HTTPS listener the certificates go to. */
  readonly terminator: TlsTerminator;
  readonly log: LogSink;
  /** The health event stream the notifiers listen to. */
  readonly events: HealthEvents;
  /** Server counts now, for the notifications. */
  readonly counts: () => Counts;
}

/**
 * ACME in the running balancer: the manager's certificates go into the HTTPS listener (beside the
 * configured ones, swapped in without a restart), its notices onto the event stream the
 * notifiers read, and its key authorizations to the redirect listener (`challenges`).
 */
export class AcmeRuntime implements EngineHooks {
  /** Key authorizations for the redirect listener's `/.well-known/acme-challenge/`. */
  readonly challenges: Http01Challenges;
  private readonly manager: AcmeManager;
  private readonly pairs = new Map<string, { readonly pem: PemPair; readonly notAfter: number }>();

  /** Builds the manager; nothing is read or ordered until start(). */
  constructor(private readonly o: AcmeRuntimeOptions) {
    this.manager = new AcmeManager({
      config: o.config,
      log: o.log,
      onCertificate: (c) => this.install(c),
      notify: (n) => o.events.publish(certificateEvent(n, o.counts())),
    });
    this.challenges = this.manager.challenges;
  }

  /**
   * Serves the stored certificates and schedules orders. A storage folder that cannot be created
   * (or a `ca` file gone since the config was read) is a config error naming the field (exit 2).
   */
  start(): void {
    try {
      this.manager.start();
    } catch (e) {
      if (e instanceof AcmeSetupError) throw new ConfigError('E_CONFIG_INVALID', [`${this.o.file}: ${e.field}: ${e.message}`]);
      throw e;
    }
  }

  /** Stops renewals; resolves when an order in flight has ended. */
  stop(): Promise<void> {
    return this.manager.stop();
  }

  /** Each domain's state (admin API, tests). */
  status() {
    return this.manager.status();
  }

  // ---- EngineHooks: a reload keeps ACME as started, and puts the certificates back. ----

  /** A reload: ACME settings need a restart; the certificates are handed again (new TLS options drop them). */
  apply(next: Config): { kept: string[] } {
    try {
      this.swapIn();
    } catch (e) {
      this.o.log.error({ error: (e as Error).message }, `ACME certificates could not be put back after the reload: ${(e as Error).message}`);
    }
    return { kept: JSON.stringify(next.acme) === JSON.stringify(this.o.config) ? [] : ['tls.acme (still as at start)'] };
  }

  /** Nothing to do: ACME has no per-server state. */
  serverLeft(): void {}

  /** Always ready: a domain without a certificate yet does not hold back the others. */
  ready(): boolean {
    return true;
  }

  private install(c: IssuedCertificate): void {
    const previous = this.pairs.get(c.domain);
    this.pairs.set(c.domain, { pem: { cert: c.cert, key: c.key, source: `acme:${c.domain}` }, notAfter: c.notAfter });
    try {
      this.swapIn();
    } catch (e) {
      if (previous === undefined) this.pairs.delete(c.domain);
      else this.pairs.set(c.domain, previous);
      throw e; // the manager logs that the listener refused it
    }
  }

  // An expired certificate (renewal failing for too long) is left out, so it cannot keep the
  // other domains' certificates from being served; clients of its name get the default one.
  private swapIn(): void {
    const t = this.o.terminator;
    const now = Date.now();
    const live = [...this.pairs.values()].filter((p) => p.notAfter > now).map((p) => p.pem);
    t.setExtra(live.length === 0 ? undefined : CertificateSet.fromPem(live, t.contextOptions));
  }
}
