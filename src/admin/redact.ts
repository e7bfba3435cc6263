// `GET /api/config` shows the config in force without its secrets: an admin API that leaks
// credentials (Traefik, CVE-2018-15598) turns a read-only view into a takeover. Secrets are
// found by field name, wherever they are, so a field added later with such a name is covered too.

/** What every secret is replaced with. */
export const REDACTED = '[redacted]';

// Field names whose string values are secrets: tokens (admin, Telegram botToken), HMAC secrets,
// passwords, API keys, credentials.
const SECRET_KEY = /token|secret|password|passwd|api_?key|credential|authorization|cookie/i;

// A path segment that looks generated rather than named (Slack's /services/T0/B0/XXXX, Discord's
// /api/webhooks/ID/TOKEN): long, with letters and digits mixed.
const TOKEN_LIKE = /^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_\-.~]{20,}$/;

/**
 * An http(s) URL without its secrets: user name and password, every query value, and path
 * segments that look like tokens. Other strings are returned as they are.
 */
export function redactUrl(s: string): string {
  if (!/^https?:\/\//i.test(s)) return s;
  let u: URL;
  try {
    u = new URL(s);
  } catch {
    return s;
  }
  let changed = false;
  if (u.username !== '' || u.password !== '') {
    u.username = 'redacted';
    u.password = '';
    changed = true;
  }
  if (u.search !== '') {
    const params = [...u.searchParams.keys()];
    u.search = '';
    for (const k of params) u.searchParams.append(k, REDACTED);
    changed = true;
  }
  const segments = u.pathname.split('/');
  if (segments.some((p) => TOKEN_LIKE.test(p))) {
    u.pathname = segments.map((p) => (TOKEN_LIKE.test(p) ? REDACTED : p)).join('/');
    changed = true;
  }
  // URL encodes "[redacted]" in paths and queries; show it as written.
  return changed ? u.toString().replaceAll('%5Bredacted%5D', REDACTED) : s;
}

/**
 * A JSON-ready copy of `config` (a loaded Config or a config file) with every secret replaced by
 * "[redacted]": values of fields named like token/secret/password/apiKey, every value of a
 * `headers` object (webhook headers carry credentials), and the secret parts of URLs.
 */
export function redactConfig(config: unknown): unknown {
  return walk(config, undefined);
}

function walk(v: unknown, key: string | undefined): unknown {
  if (typeof v === 'string') return key !== undefined && SECRET_KEY.test(key) ? REDACTED : redactUrl(v);
  if (typeof v === 'number' || typeof v === 'boolean' || v === null) return v;
  if (Array.isArray(v)) return v.map((item: unknown) => walk(item, undefined));
  if (typeof v === 'object') {
    if (key !== undefined && key.toLowerCase() === 'headers') {
      return Object.fromEntries(Object.keys(v).map((k) => [k, REDACTED]));
    }
    const out: Record<string, unknown> = {};
    for (const [k, item] of Object.entries(v)) {
      // Undefined fields are left out, as JSON.stringify would.
      if (item === undefined || typeof item === 'function') continue;
      const r = walk(item, k);
      // A secret that is not a string (a number) is redacted all the same.
      out[k] = SECRET_KEY.test(k) && r !== null && typeof r !== 'object' ? REDACTED : r;
    }
    return out;
  }
  return undefined;
}
