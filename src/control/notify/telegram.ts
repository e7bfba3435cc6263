import type { TelegramNotifierConfig } from './config.js';
import type { Channel, ChannelDeps } from './channel.js';
import { NotifyError } from './errors.js';
import { postJson } from './http.js';
import { formatMessage } from './message.js';
import type { Notification } from './notification.js';

/** The parts of a Bot API answer we read. */
interface BotAnswer {
  ok?: unknown;
  description?: unknown;
  parameters?: { retry_after?: unknown };
}

function parseAnswer(body: string): BotAnswer | undefined {
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' ? (v as BotAnswer) : undefined;
  } catch {
    return undefined;
  }
}

/** Sends the message text with the Bot API's sendMessage, as plain text. */
export class TelegramChannel implements Channel {
  /** The API host and chat, never the token. */
  readonly target: string;

  /** Creates a Telegram channel. */
  constructor(
    readonly config: TelegramNotifierConfig,
    private readonly deps: ChannelDeps,
  ) {
    this.target = `${new URL(config.apiBase).host} chat ${config.chatId}`;
  }

  /** One sendMessage call; 429 (with retry_after), 5xx and network errors may be retried. */
  async attempt(n: Notification, signal: AbortSignal): Promise<void> {
    // No parse_mode: plain text cannot fail to parse, whatever the server names contain.
    const body = JSON.stringify({ chat_id: this.config.chatId, text: formatMessage(n, this.deps.balancer) });
    const a = await postJson(`${this.config.apiBase}/bot${this.config.botToken}/sendMessage`, body, { 'user-agent': 'balancer-notify' }, {
      timeoutMs: this.config.timeoutMs,
      clock: this.deps.clock,
      dispatcher: this.deps.dispatcher,
      signal,
      label: `telegram ${this.target}`,
    });
    const answer = parseAnswer(a.body);
    if (a.status >= 200 && a.status < 300 && answer?.ok === true) return;
    const desc = typeof answer?.description === 'string' ? answer.description : a.body.trim().slice(0, 200);
    const ra = answer?.parameters?.retry_after;
    const retryAfterMs = typeof ra === 'number' && ra >= 0 ? ra * 1000 : a.retryAfterMs;
    const retryable = a.status === 429 || a.status >= 500;
    const hint = a.status === 401 || a.status === 404 ? ' (check botToken and apiBase)' : a.status === 400 ? ' (check chatId, and that the bot is in the chat)' : '';
    throw new NotifyError(
      'E_NOTIFY_TELEGRAM',
      `telegram ${this.target}: HTTP ${a.status}${desc === '' ? '' : `: ${desc}`}${hint}`,
      retryable,
      retryAfterMs,
    );
  }
}
