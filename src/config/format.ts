import type { core } from 'zod';
import { httpUrlProblem, NOT_HTTP_URL } from './fields.js';

/** Formats a JSON path the way users read it: `servers[1].addr`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out === '' ? String(p) : `.${String(p)}`;
  }
  return out === '' ? '(top level)' : out;
}

/** Shows a found value briefly: strings quoted, long values cut. */
export function show(v: unknown): string {
  let s: string;
  if (v === undefined) s = 'nothing';
  else if (Array.isArray(v)) s = 'an array';
  else if (v !== null && typeof v === 'object') s = 'an object';
  else s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

const ARTICLE: Record<string, string> = {
  number: 'a number',
  string: 'a string',
  boolean: 'true or false',
  object: 'an object',
  array: 'an array',
};

/** Levenshtein distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

/** The closest allowed word to `word`, when it is close enough to be a likely typo. */
export function didYouMean(word: string, allowed: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const a of allowed) {
    const d = editDistance(word, a);
    if (d < bestD) {
      bestD = d;
      best = a;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

/** Walks `root` along `path` to find the value an issue is about. */
function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v: unknown = root;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

/**
 * Turns one zod issue into user-facing lines `path: found phrase`.
 * `allowedKeys` gives the keys allowed at an object path, for unknown-key hints.
 */
export function formatIssue(
  issue: core.$ZodIssue,
  root: unknown,
  allowedKeys: (path: readonly PropertyKey[]) => readonly string[],
): string[] {
  const path = issue.path;
  const found = valueAt(root, path);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = allowedKeys(path);
      return issue.keys.map((k) => {
        const hint = didYouMean(k, allowed);
        return `${formatPath([...path, k])}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; allowed: ${allowed.join(', ')}`;
      });
    }
    case 'invalid_type': {
      if (found === undefined) return [`${formatPath(path)}: is required`];
      // A custom message set on the schema says what is allowed; zod's default does not.
      const allowed = issue.message.startsWith('Invalid input') ? '' : ` (${issue.message})`;
      return [`${formatPath(path)}: ${show(found)} is not ${ARTICLE[issue.expected] ?? issue.expected}${allowed}`];
    }
    case 'too_small':
      if (issue.origin === 'array') return [`${formatPath(path)}: ${issue.message}`];
      // A custom message set on the schema says what is allowed; prefer it.
      if (!issue.message.startsWith('Too small')) return [`${formatPath(path)}: ${show(found)} ${issue.message}`];
      if (issue.origin === 'string') return [`${formatPath(path)}: ${show(found)} is empty`];
      return [`${formatPath(path)}: ${show(found)} is too small (minimum ${String(issue.minimum)})`];
    case 'too_big':
      return [`${formatPath(path)}: ${show(found)} is too large (maximum ${String(issue.maximum)})`];
    default:
      // The schema only knows "not an http(s) URL"; say what exactly is wrong (the port, the host).
      if (issue.message === NOT_HTTP_URL && typeof found === 'string') return [`${formatPath(path)}: ${show(found)} ${httpUrlProblem(found)}`];
      return [`${formatPath(path)}: ${show(found)} ${issue.message}`];
  }
}
