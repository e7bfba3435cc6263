import type { WebhookNotifierConfig } from './config.js';
import type { Channel, ChannelDeps } from './channel.js';
import { NotifyError } from './errors.js';
import { postJson } from './http.js';
import type { Notification } from './notification.js';
import { webhookBody } from './payload.js';
import { sign, SIGNATURE_HEADER, TIMESTAMP_HEADER } from './signature.js';

/** Header naming the event type, so receivers can route without parsing the body. */
export const EVENT_HEADER = 'X-Balancer-Event';
/** Header with the delivery id (also the body's `id`), for de-duplicating retries. */
export const DELIVERY_HEADER = 'X-Balancer-Delivery';

/** POSTs the documented JSON body to a URL, signed when a secret is set. */
export class WebhookChannel implements Channel {
  /** Scheme, host and port only: webhook paths often embed secrets. */
  readonly target: string;

  /** Creates a webhook channel. */
  constructor(
    readonly config: WebhookNotifierConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.target = new URL(config.url).origin;
  }

  /** One POST; 2xx is success, 408/429/5xx and network errors may be retried, other answers not. */
  async attempt(n: Notification, signal: AbortSignal): Promise<void> {
    const raw = JSON.stringify(webhookBody(n, this.deps.balancer));
    const headers: Record<string, string> = {
      'user-agent': 'balancer-notify', // a configured User-Agent wins
      ...this.config.headers,
      [EVENT_HEADER]: n.event.type,
      [DELIVERY_HEADER]: n.id,
    };
    if (this.config.secret !== undefined) {
      // Timestamp per attempt: a retry minutes later must still pass the receiver's freshness check.
      const ts = Math.floor(this.deps.clock.epoch() / 1000);
      headers[TIMESTAMP_HEADER] = String(ts);
      headers[SIGNATURE_HEADER] = sign(this.config.secret, ts, raw);
    }
    const a = await postJson(this.config.url, raw, headers, {
      timeoutMs: this.config.timeoutMs,
      clock: this.deps.clock,
      dispatcher: this.deps.dispatcher,
      signal,
      label: `webhook ${this.target}`,
    });
    if (a.status >= 200 && a.status < 300) return;
    const retryable = a.status === 408 || a.status === 429 || a.status >= 500;
    const hint = a.status >= 300 && a.status < 400 ? ' (redirects are not followed; use the final URL)' : '';
    const text = a.body.trim().slice(0, 200);
    throw new NotifyError(
      'E_NOTIFY_HTTP',
      `webhook ${this.target} answered HTTP ${a.status}${hint}${text === '' ? '' : `: ${text}`}`,
      retryable,
      a.retryAfterMs,
    );
  }
}
