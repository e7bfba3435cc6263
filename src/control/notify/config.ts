import { z, type core } from 'zod';
import { isHttpUrl, noDuplicates, NOT_HTTP_URL, secondsField, toMs, wholeNumberField } from '../../config/fields.js';
import { formatIssue, formatPath } from '../../config/format.js';
import { HEALTH_EVENT_TYPES, type HealthEventType } from '../health/events.js';
import { substituteEnv, type Env } from './env.js';

// Custom messages are predicate phrases: the config formatter prints `path: <found> <phrase>`.

/** Default seconds a notifier waits for one delivery attempt. */
export const DEFAULT_TIMEOUT_S = 5;
/** Default number of retries after a failed first attempt. */
export const DEFAULT_RETRIES = 3;
/** Default wait before the first retry, in seconds; it doubles for each further retry. */
export const DEFAULT_RETRY_DELAY_S = 1;
/** Longest wait between two attempts, in seconds, however many retries. */
export const MAX_RETRY_DELAY_S = 60;
/** Default number of messages a notifier holds while its receiver is slow or down. */
export const DEFAULT_QUEUE_SIZE = 100;
/** Default: more than this many up/down changes of one server within the window is flapping. */
export const DEFAULT_FLAP_CHANGES = 4;
/** Default flapping window, in seconds; also how long a flapping server must be stable. */
export const DEFAULT_FLAP_WINDOW_S = 120;
/** Default Telegram Bot API base URL. */
export const DEFAULT_TELEGRAM_API_BASE = 'https://api.telegram.org';
/** Notifier types, in documentation order. */
export const NOTIFIER_TYPES = ['webhook', 'telegram'] as const;

/** Headers a webhook config may not set, because the notifier sets them itself. */
export const RESERVED_HEADERS: readonly string[] = [
  'content-type',
  'content-length',
  'host',
  'transfer-encoding',
  'connection',
  'x-balancer-signature',
  'x-balancer-timestamp',
  'x-balancer-event',
  'x-balancer-delivery',
];

const TOKEN_CHARS = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

// The notifications wording: the field's purpose in parentheses after the range phrase.
const seconds = (what: string, dflt: number, max: number) =>
  secondsField(what, dflt, { max }, {
    type: `must be a number of seconds: ${what}`,
    range: `is not a number of seconds above 0 and at most ${max} (${what})`,
  });

const wholeNumber = (what: string, dflt: number, min: number, max: number) =>
  wholeNumberField(what, dflt, min, max, {
    type: `must be a whole number: ${what}`,
    range: `is not a whole number from ${min} to ${max} (${what})`,
  });

/** Why a string is not a usable http(s) URL for notifications, or undefined when it is. */
function urlProblem(s: string): string | undefined {
  if (!isHttpUrl(s)) return NOT_HTTP_URL;
  const u = new URL(s);
  if (u.username !== '' || u.password !== '') return 'has a user name or password in it; put credentials in "headers" instead';
  return undefined;
}

const httpUrl = (description: string) =>
  z
    .string()
    .superRefine((s, ctx) => {
      const p = urlProblem(s);
      if (p !== undefined) ctx.addIssue({ code: 'custom', input: s, message: p });
    })
    .meta({ description });

const events = z
  .array(z.enum(HEALTH_EVENT_TYPES as [HealthEventType, ...HealthEventType[]], { error: `is not an event type (allowed: ${HEALTH_EVENT_TYPES.join(', ')})` }))
  .min(1, { message: `is empty; list at least one of ${HEALTH_EVENT_TYPES.join(', ')}, or leave "events" out for all` })
  .default([...HEALTH_EVENT_TYPES])
  .meta({ description: `Events to send (default all: ${HEALTH_EVENT_TYPES.join(', ')})` });

/** Flapping damping settings of one notifier. */
export const flappingSchema = z
  .strictObject({
    enabled: z.boolean().default(true).meta({ description: 'Damp flapping servers (default true)' }),
    changes: wholeNumber('More up/down changes than this within the window is flapping', DEFAULT_FLAP_CHANGES, 1, 1000),
    window: seconds('Flapping window; also how long a flapping server must stay stable', DEFAULT_FLAP_WINDOW_S, 86400),
  })
  .meta({ description: 'Flapping damping, per server' });

// Fields every notifier type has.
const common = {
  name: z.string().min(1).optional().meta({ description: 'Name in logs and notify-test output (default "<type>-<n>", n from 1)' }),
  events,
  timeout: seconds('Time for one delivery attempt', DEFAULT_TIMEOUT_S, 300),
  retries: wholeNumber('Retries after a failed attempt', DEFAULT_RETRIES, 0, 20),
  retryDelay: seconds(`Wait before the first retry; doubles per retry, at most ${MAX_RETRY_DELAY_S} s`, DEFAULT_RETRY_DELAY_S, MAX_RETRY_DELAY_S),
  queueSize: wholeNumber('Messages held while the receiver is slow or down; beyond it the oldest are dropped', DEFAULT_QUEUE_SIZE, 1, 10000),
  flapping: flappingSchema.prefault({}),
};

/** A webhook notifier: POSTs a JSON body to `url`. */
export const webhookSchema = z
  .strictObject({
    type: z.literal('webhook'),
    url: httpUrl('Receiver URL, http:// or https://'),
    secret: z.string().min(1).optional().meta({ description: 'Signs each body with HMAC-SHA256 (X-Balancer-Signature); use "${VAR}"' }),
    headers: z
      .record(
        z.string(),
        z
          .string({ error: 'must be a string header value' })
          .refine((v) => !/[\r\n\0]/.test(v), { message: 'has a line break or NUL, which a header value cannot have' }),
      )
      .superRefine((h, ctx) => {
        for (const k of Object.keys(h)) {
          if (!TOKEN_CHARS.test(k)) ctx.addIssue({ code: 'custom', path: [k], input: h[k], message: `is not allowed: "${k}" is not a valid header name` });
          else if (RESERVED_HEADERS.includes(k.toLowerCase())) ctx.addIssue({ code: 'custom', path: [k], input: h[k], message: `is not allowed: the notifier sets "${k}" itself` });
        }
      })
      .default({})
      .meta({ description: 'Extra request headers, e.g. {"Authorization": "Bearer ${HOOK_TOKEN}"}' }),
    ...common,
  })
  .meta({ description: 'Webhook notifier' });

/** A Telegram notifier: calls the Bot API's sendMessage itself. */
export const telegramSchema = z
  .strictObject({
    type: z.literal('telegram'),
    botToken: z
      .string()
      .min(1)
      .refine((s) => !/[\s/?#]/.test(s), { message: 'has spaces, "/", "?" or "#", which a bot token never has' })
      .meta({ description: 'Bot token from @BotFather; use "${VAR}"' }),
    chatId: z
      .union([z.int(), z.string().min(1)], { error: 'is not a chat id (a number like -1001234567890, or "@channelname")' })
      .meta({ description: 'Chat to post to: a number, or "@channelname"' }),
    apiBase: httpUrl(`Bot API base URL (default "${DEFAULT_TELEGRAM_API_BASE}"); another URL for a proxy or a test server`).default(
      DEFAULT_TELEGRAM_API_BASE,
    ),
    ...common,
  })
  .meta({ description: 'Telegram notifier' });

/** One notifier entry, chosen by `type`. */
export const notifierSchema = z.discriminatedUnion('type', [webhookSchema, telegramSchema], {
  error: (iss) => (iss.code === 'invalid_union' ? `is not a notifier type (allowed: ${NOTIFIER_TYPES.join(', ')})` : undefined),
});

/** The config's `notifications` array: splice in as `notifications: notificationsSchema`. */
export const notificationsSchema = z
  .array(notifierSchema)
  .superRefine(noDuplicates<z.output<typeof notifierSchema>, 'name'>('notifications', 'name', (n) => n.name))
  .default([])
  .meta({ description: 'Where to send health notifications (default none)' });

/** The `notifications` array as validated from the file (seconds, names optional). */
export type NotificationsFile = z.output<typeof notificationsSchema>;

/** Settings every notifier has, resolved: milliseconds, a name. */
export interface CommonNotifierConfig {
  /** Label in logs and notify-test output. */
  readonly name: string;
  readonly events: readonly HealthEventType[];
  readonly timeoutMs: number;
  readonly retries: number;
  readonly retryDelayMs: number;
  readonly queueSize: number;
  /** Undefined when damping is disabled. */
  readonly flapping: { readonly changes: number; readonly windowMs: number } | undefined;
}

/** A resolved webhook notifier. */
export interface WebhookNotifierConfig extends CommonNotifierConfig {
  readonly type: 'webhook';
  readonly url: string;
  readonly secret: string | undefined;
  readonly headers: Readonly<Record<string, string>>;
}

/** A resolved Telegram notifier. */
export interface TelegramNotifierConfig extends CommonNotifierConfig {
  readonly type: 'telegram';
  readonly botToken: string;
  readonly chatId: string | number;
  /** Without a trailing slash. */
  readonly apiBase: string;
}

/** One resolved notifier. */
export type NotifierConfig = WebhookNotifierConfig | TelegramNotifierConfig;

/** Turns the validated `notifications` array into runtime configs (ms, default names). */
export function resolveNotifications(file: NotificationsFile): NotifierConfig[] {
  return file.map((n, i): NotifierConfig => {
    const c: CommonNotifierConfig = {
      name: n.name ?? `${n.type}-${i + 1}`,
      events: [...new Set(n.events)],
      timeoutMs: toMs(n.timeout),
      retries: n.retries,
      retryDelayMs: toMs(n.retryDelay),
      queueSize: n.queueSize,
      flapping: n.flapping.enabled ? { changes: n.flapping.changes, windowMs: toMs(n.flapping.window) } : undefined,
    };
    if (n.type === 'webhook') return { ...c, type: 'webhook', url: n.url, secret: n.secret, headers: n.headers };
    return { ...c, type: 'telegram', botToken: n.botToken, chatId: n.chatId, apiBase: n.apiBase.replace(/\/+$/, '') };
  });
}

/** Object keys of a schema, for "did you mean" hints. */
function keysOf(schema: z.ZodObject): readonly string[] {
  return Object.keys(schema.shape);
}

/**
 * Keys allowed at a path inside the whole config (`["notifications", 0]`, `[..., "flapping"]`),
 * for load.ts's unknown-key hints; `root` is the config JSON, to see each entry's type.
 */
export function notificationsAllowedKeys(path: readonly PropertyKey[], root: unknown): readonly string[] {
  if (path[0] !== 'notifications' || typeof path[1] !== 'number') return [];
  const list = (root as { notifications?: unknown } | null)?.notifications;
  const entry: unknown = Array.isArray(list) ? list[path[1]] : undefined;
  const type = entry !== null && typeof entry === 'object' ? (entry as { type?: unknown }).type : undefined;
  const schema = type === 'webhook' ? webhookSchema : type === 'telegram' ? telegramSchema : undefined;
  if (schema === undefined) return [];
  if (path.length === 2) return keysOf(schema);
  if (path.length === 3 && path[2] === 'flapping') return keysOf(flappingSchema);
  return [];
}

/**
 * Formats one issue under `notifications` as `path: found phrase` (format.ts style), saying
 * "is required" where a union (type, chatId) found nothing, which the generic formatter cannot.
 */
export function formatNotificationIssue(issue: core.$ZodIssue, root: unknown): string[] {
  if (issue.code === 'invalid_union') {
    let v: unknown = root;
    for (const p of issue.path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[p] : undefined;
    const hint = /\((.*)\)$/.exec(issue.message)?.[1];
    if (v === undefined) return [`${formatPath(issue.path)}: is required${hint === undefined ? '' : ` (${hint})`}`];
  }
  return formatIssue(issue, root, (path) => notificationsAllowedKeys(path, root));
}

/** Result of checking a `notifications` array on its own. */
export interface NotificationsCheck {
  /** The resolved notifiers; undefined when there are problems. */
  readonly notifiers: NotifierConfig[] | undefined;
  /** Every problem as `notifications[i].field: found phrase`. */
  readonly problems: readonly string[];
}

/**
 * Substitutes `${VAR}` from `env`, validates and resolves a `notifications` value as found in
 * a config file. Messages show the value as written (`"${TG_TOKEN}"`), never a substituted secret.
 */
export function checkNotifications(raw: unknown, env: Env): NotificationsCheck {
  const root = { notifications: raw };
  const sub = substituteEnv(root, env);
  if (sub.problems.length > 0) return { notifiers: undefined, problems: sub.problems };
  const r = z.strictObject({ notifications: notificationsSchema }).safeParse(sub.value, { reportInput: true });
  if (r.success) return { notifiers: resolveNotifications(r.data.notifications), problems: [] };
  return { notifiers: undefined, problems: r.error.issues.flatMap((i) => formatNotificationIssue(i, root)) };
}
