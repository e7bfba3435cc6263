import type { HealthEvent } from '../../control/health/events.js';

/** Something about a certificate the operator must hear about, for the notifiers. */
export interface CertificateNotice {
  /** `renewal-failing`: attempts failed several times in a row; `expiring`: close to expiry. */
  readonly kind: 'renewal-failing' | 'expiring';
  readonly domain: string;
  /** Consecutive failed attempts so far. */
  readonly failures: number;
  /** The last failure, when there is one. */
  readonly error: string | undefined;
  /** End of the certificate being served, epoch ms; undefined when there is none. */
  readonly notAfter: number | undefined;
  /** When, epoch ms. */
  readonly time: number;
}

/** Server counts at the time, which every notification carries. */
export interface Counts {
  readonly healthy: number;
  readonly total: number;
}

/**
 * The notice as an event on the health event stream, so it reaches every notifier (filtered by
 * their `events`) and the admin event stream. `server` names the domain: certificate events
 * concern a name this balancer serves, not a backend.
 */
export function certificateEvent(n: CertificateNotice, counts: Counts): HealthEvent {
  const until = n.notAfter === undefined ? 'no certificate is served for it yet' : `the certificate expires ${new Date(n.notAfter).toISOString()}`;
  const reason =
    n.kind === 'renewal-failing'
      ? `${n.failures} attempts in a row failed, last: ${n.error ?? 'unknown'}; ${until}`
      : `${until}${n.error === undefined ? '' : `; renewal keeps failing: ${n.error}`}`;
  return {
    type: n.kind === 'renewal-failing' ? 'certificate-failing' : 'certificate-expiring',
    server: { addr: n.domain, name: n.domain },
    reason,
    time: n.time,
    healthy: counts.healthy,
    total: counts.total,
    certificate: { domain: n.domain, notAfter: n.notAfter ?? null, failures: n.failures },
  };
}
