import { z } from 'zod';

// Field builders shared by the config schema's areas (top level, healthCheck, notifications).
// Custom messages are predicate phrases: the formatter prints `path: <found> <phrase>`, and a
// value of the wrong type as `path: <found> is not a number (<type message>)`. Each area keeps
// its own wording, which users and tests rely on; the builders share the checks, the defaults and
// how defaults are described.

/** What a number field says about a bad value. */
export interface NumberWording {
  /** For a value that is not a number at all. */
  readonly type: string;
  /** For a number the field does not allow. */
  readonly range: string;
}

/** Bounds of a seconds field: above 0 (or from 0 with `allowZero`), at most `max` when given. */
export interface SecondsLimits {
  readonly allowZero?: boolean;
  readonly max?: number;
}

/** "<what> (default <dflt>)": how every field describes its default in the JSON Schema. */
export function describeDefault(what: string, dflt: number): string {
  return `${what} (default ${dflt})`;
}

/**
 * A number that passes when `ok` holds, with a default. The check is a refinement, so the JSON
 * Schema shows no bound (unlike `positive`).
 */
export function numberField(what: string, dflt: number, ok: (n: number) => boolean, wording: NumberWording) {
  return z
    .number({ error: wording.type })
    .refine(ok, { message: wording.range })
    .default(dflt)
    .meta({ description: describeDefault(what, dflt) });
}

/** A duration in seconds, fractions allowed, described as "<what>, in seconds (default <dflt>)". */
export function secondsField(what: string, dflt: number, limits: SecondsLimits, wording: NumberWording) {
  const { allowZero = false, max = Infinity } = limits;
  return numberField(`${what}, in seconds`, dflt, (n) => Number.isFinite(n) && (allowZero ? n >= 0 : n > 0) && n <= max, wording);
}

/** A whole number from `min` to `max` (no upper bound when `max` is left out). */
export function wholeNumberField(what: string, dflt: number, min: number, max: number | undefined, wording: NumberWording) {
  const top = max ?? Infinity;
  return numberField(what, dflt, (n) => Number.isInteger(n) && n >= min && n <= top, wording);
}

/** Any number from `min` to `max`, fractions allowed. */
export function rangeField(what: string, dflt: number, min: number, max: number, wording: NumberWording) {
  return numberField(what, dflt, (n) => Number.isFinite(n) && n >= min && n <= max, wording);
}

/** A positive number, checked by zod itself so the JSON Schema shows the bound (exclusiveMinimum 0). */
export function positive(what: string) {
  return z.number({ error: `must be a positive number: ${what}` }).positive({ message: `is not a positive number (${what})` });
}

/** Positive seconds with a default, the bound shown in the JSON Schema (as `positive`). */
export function positiveSeconds(what: string, dflt: number) {
  return positive(`${what}, in seconds; fractions allowed`)
    .default(dflt)
    .meta({ description: describeDefault(`${what}, in seconds`, dflt) });
}

/** Seconds from a config file as whole milliseconds, the unit the runtime works in. */
export function toMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** The phrase for a string that is not an absolute http(s) URL. */
export const NOT_HTTP_URL = 'is not an http:// or https:// URL';

/** True for an absolute http:// or https:// URL with a host, the scheme written out (not "http:/h"). */
export function isHttpUrl(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && /^https?:\/\//i.test(s) && u.hostname !== '' && u.port !== '0';
  } catch {
    return false;
  }
}

/** What is wrong with a string `isHttpUrl` refused, as precisely as can be said (the port, the host), else NOT_HTTP_URL. */
export function httpUrlProblem(s: string): string {
  const m = /^https?:\/\/(\[[^\]]*\]|[^/?#:]*)(?::([^/?#]*))?/i.exec(s);
  if (m === null) return NOT_HTTP_URL;
  const [, host, port] = m;
  if (host === '') return 'has no host (write it as "http://host:port")';
  if (port !== undefined && port !== '') {
    if (!/^\d+$/.test(port)) return `has a port that is not a number (${JSON.stringify(port)}; allowed: 1 to 65535)`;
    const n = Number(port);
    if (n < 1 || n > 65535) return `has port ${port}, out of range (allowed: 1 to 65535)`;
  }
  return NOT_HTTP_URL;
}

/**
 * A superRefine for lists: flags every entry whose key repeats an earlier entry's, at
 * `[i, field]`, as "is a duplicate of <list>[first].<field>". Entries with no key are skipped.
 */
export function noDuplicates<T, F extends keyof T & string>(list: string, field: F, key: (item: T) => string | undefined) {
  return (items: readonly T[], ctx: z.RefinementCtx<T[]>): void => {
    const seen = new Map<string, number>();
    items.forEach((item, i) => {
      const k = key(item);
      if (k === undefined) return;
      const first = seen.get(k);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: [i, field], input: item[field], message: `is a duplicate of ${list}[${first}].${field}` });
      } else seen.set(k, i);
    });
  };
}
