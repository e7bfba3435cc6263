import { formatPath, show } from '../../config/format.js';

/** Environment to read `${VAR}` from; normally `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Result of substitution: the new JSON value and every problem as `path: found phrase`. */
export interface Substituted {
  readonly value: unknown;
  readonly problems: readonly string[];
}

// `$${` is an escaped literal `${`; otherwise `${NAME}` with a shell-style name.
const TOKEN = /\$\$\{|\$\{([^}]*)\}?/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Substitutes `${VAR}` in one string; returns the problem phrases instead of throwing. */
function substituteString(s: string, env: Env): { value: string; problems: string[] } {
  const problems: string[] = [];
  const value = s.replace(TOKEN, (whole: string, name: string | undefined) => {
    if (whole === '$${') return '${';
    if (!whole.endsWith('}')) {
      problems.push('has "${" without a closing "}" (write "$${" for a literal "${")');
      return whole;
    }
    if (name === undefined || !NAME.test(name)) {
      problems.push(`has "\${${name ?? ''}}", which is not an environment variable name (letters, digits, _)`);
      return whole;
    }
    const v = env[name];
    if (v === undefined) {
      problems.push(`uses environment variable ${name}, which is not set`);
      return whole;
    }
    return v;
  });
  return { value, problems };
}

/**
 * Replaces `${VAR}` in every string value of parsed JSON with the variable's value, so
 * secrets stay out of config files. Keys are left alone. A missing variable is reported as
 * `path: "…${VAR}…" uses environment variable VAR, which is not set` (path as in format.ts),
 * never as an empty string: a webhook secret silently becoming "" would be worse than failing.
 */
export function substituteEnv(json: unknown, env: Env, path: readonly PropertyKey[] = []): Substituted {
  if (typeof json === 'string') {
    if (!json.includes('${')) return { value: json, problems: [] };
    const r = substituteString(json, env);
    return { value: r.value, problems: r.problems.map((p) => `${formatPath(path)}: ${show(json)} ${p}`) };
  }
  if (Array.isArray(json)) {
    const problems: string[] = [];
    const value = json.map((item: unknown, i) => {
      const r = substituteEnv(item, env, [...path, i]);
      problems.push(...r.problems);
      return r.value;
    });
    return { value, problems };
  }
  if (json !== null && typeof json === 'object') {
    const problems: string[] = [];
    // fromEntries defines own properties, so a "__proto__" key stays data, as JSON.parse made it.
    const value = Object.fromEntries(
      Object.entries(json).map(([k, v]) => {
        const r = substituteEnv(v, env, [...path, k]);
        problems.push(...r.problems);
        return [k, r.value];
      }),
    );
    return { value, problems };
  }
  return { value: json, problems: [] };
}
