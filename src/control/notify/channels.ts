import type { Channel, ChannelDeps } from './channel.js';
import type { NotifierConfig } from './config.js';
import { TelegramChannel } from './telegram.js';
import { WebhookChannel } from './webhook.js';

/** Creates the channel for a notifier config. */
export function createChannel(config: NotifierConfig, deps: ChannelDeps): Channel {
  switch (config.type) {
    case 'webhook':
      return new WebhookChannel(config, deps);
    case 'telegram':
      return new TelegramChannel(config, deps);
  }
}
