import type { Dispatcher } from 'undici';
import type { Clock } from '../../util/clock.js';
import type { NotifierConfig } from './config.js';
import type { BalancerInfo, Notification } from './notification.js';

/** What channels need besides their config. */
export interface ChannelDeps {
  readonly balancer: BalancerInfo;
  readonly clock: Clock;
  /** Connection pool for notifications, separate from the proxy's. */
  readonly dispatcher: Dispatcher;
}

/** One destination (a webhook URL, a Telegram chat); makes single delivery attempts. */
export interface Channel {
  /** The notifier's resolved config. */
  readonly config: NotifierConfig;
  /** Where it sends, safe to log (never a bot token or a URL's secret path). */
  readonly target: string;
  /** One attempt; resolves when delivered, rejects with NotifyError (its `retryable` says whether to retry). */
  attempt(n: Notification, signal: AbortSignal): Promise<void>;
}
