import type { HealthEventType } from '../health/events.js';
import { formatMessage } from './message.js';
import type { BalancerInfo, Notification } from './notification.js';

/** The JSON body a webhook notifier POSTs; documented in README.md (Notifications). */
export interface WebhookBody {
  /** Delivery id (UUID), the same across retries of one message. */
  readonly id: string;
  readonly event: HealthEventType;
  readonly server: { readonly name: string; readonly addr: string };
  readonly reason: string;
  /** ISO 8601, UTC. */
  readonly time: string;
  readonly healthy: number;
  readonly total: number;
  readonly balancer: { readonly name: string; readonly addr: string };
  /** Ready-to-post text, e.g. for a chat message. */
  readonly message: string;
  /** True only for `balancer notify-test`. */
  readonly test: boolean;
  /** Null unless the server is flapping (`started`) or its flapping summary (`ended`). */
  readonly flapping: {
    readonly state: 'started' | 'ended';
    readonly changes: number;
    readonly seconds: number;
    readonly windowSeconds: number;
  } | null;
  /** Certificate events only (absent otherwise): the domain, the served certificate's end (ISO 8601, null when none) and failures in a row. */
  readonly certificate?: { readonly domain: string; readonly notAfter: string | null; readonly failures: number };
}

/** Builds the webhook body of a notification. */
export function webhookBody(n: Notification, balancer: BalancerInfo): WebhookBody {
  const e = n.event;
  const f = n.flapping;
  return {
    id: n.id,
    event: e.type,
    server: { name: e.server.name, addr: e.server.addr },
    reason: e.reason,
    time: new Date(e.time).toISOString(),
    healthy: e.healthy,
    total: e.total,
    balancer: { name: balancer.name, addr: balancer.addr },
    message: formatMessage(n, balancer),
    test: n.test === true,
    flapping:
      f === undefined
        ? null
        : { state: f.state, changes: f.changes, seconds: Math.round(f.spanMs / 1000), windowSeconds: Math.round(f.windowMs / 1000) },
    ...(e.certificate === undefined
      ? {}
      : {
          certificate: {
            domain: e.certificate.domain,
            notAfter: e.certificate.notAfter === null ? null : new Date(e.certificate.notAfter).toISOString(),
            failures: e.certificate.failures,
          },
        }),
  };
}
