import type { Config } from '../config/load.js';

/** What replaces a secret. */
export const REDACTED = '[redacted]';

// Keys whose values are secrets wherever they appear (notifier tokens, HMAC secrets, admin token).
const SECRET_KEY = /token|secret|password|passwd|hmac|authorization|api[-_]?key/i;

function redact(v: unknown, key: string): unknown {
  if (v instanceof Set) return [...v].map((x) => redact(x, key));
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), redact(x, String(k))]));
  if (Array.isArray(v)) return v.map((x) => redact(x, key));
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x, k)]));
  }
  if (typeof v === 'string') {
    if (SECRET_KEY.test(key)) return REDACTED;
    // Credentials inside URLs (webhook URLs with user:password@, Telegram's /bot<token>/).
    if (/^https?:\/\//i.test(v)) {
      try {
        const u = new URL(v);
        if (u.username !== '' || u.password !== '') {
          u.username = REDACTED;
          u.password = '';
        }
        if (u.search !== '') u.search = '?' + REDACTED;
        return u.href.replace(/\/bot[^/]+/, `/bot${REDACTED}`);
      } catch {
        return v;
      }
    }
  }
  return v;
}

/** The config as JSON-ready data with every secret replaced by "[redacted]" (fallback while src/admin/redact.ts is not in). */
export function redactConfig(config: Config): unknown {
  return redact(config, '');
}
