import { EventEmitter } from 'node:events';

/**
 * Kinds of event the balancer publishes: health transitions, and certificate trouble (ACME:
 * renewal failing repeatedly, a certificate close to expiry; see src/tls/acme/notice.ts).
 */
export type HealthEventType = 'server-down' | 'server-up' | 'all-down' | 'recovered' | 'certificate-failing' | 'certificate-expiring';

/** Every event type, in a stable order (used for config validation and defaults). */
export const HEALTH_EVENT_TYPES: readonly HealthEventType[] = ['server-down', 'server-up', 'all-down', 'recovered', 'certificate-failing', 'certificate-expiring'];

/** One health transition, as logged and as sent to notifiers. */
export interface HealthEvent {
  /** What happened. */
  readonly type: HealthEventType;
  /** The server concerned (for all-down / recovered: the server whose change caused it). */
  readonly server: { readonly addr: string; readonly name: string };
  /** Why, e.g. "3 failed checks, last: ECONNREFUSED". */
  readonly reason: string;
  /** When, as epoch milliseconds. */
  readonly time: number;
  /** Servers available after the transition. */
  readonly healthy: number;
  /** Servers configured. */
  readonly total: number;
  /** Certificate events only: the domain (also in `server`), the served certificate's end (epoch ms, null when none) and failures in a row. */
  readonly certificate?: { readonly domain: string; readonly notAfter: number | null; readonly failures: number };
}

/** In-process stream of health events; listeners must not throw or block. */
export class HealthEvents extends EventEmitter<{ event: [HealthEvent] }> {
  /** Publishes one event to every listener. */
  publish(e: HealthEvent): void {
    this.emit('event', e);
  }
}
